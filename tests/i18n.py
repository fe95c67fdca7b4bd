"""A tiny German catalog compiled for the test, first in LOCALE_PATHS, so the language tests prove
the mechanism without depending on how far the translators of prm/locale have got. Django's own
shipped German (month names, form errors) still applies underneath."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from django.conf import settings
from django.test import override_settings

GERMAN = {
    "Notification settings": "Benachrichtigungseinstellungen",
    "Sign in to the partner portal": "Im Partnerportal anmelden",
    "Language": "Sprache",
    "Your language was saved.": "Ihre Sprache wurde gespeichert.",
    "Your role is now %(role)s": "Ihre Rolle ist jetzt %(role)s",
    "Marketing": "Marketingteam",
    "Hello %(name)s,": "Hallo %(name)s,",
    "Hello,": "Hallo,",
    "MDF request %(ref)s approved: %(amount)s %(currency)s. Claim by %(deadline)s.": (
        "MDF-Antrag %(ref)s genehmigt: %(amount)s %(currency)s. Nachweis bis %(deadline)s."
    ),
    "You are invited to the %(partner)s partner portal": (
        "Sie sind zum Partnerportal von %(partner)s eingeladen"
    ),
    "Your password was changed": "Ihr Passwort wurde geändert",
    "Certificate of Achievement": "Leistungszertifikat",
    "This certifies that": "Hiermit wird bestätigt, dass",
    "Incentive statement": "Provisionsabrechnung",
    "Period end": "Periodenende",
    "Total": "Gesamtsumme",
    "New recovery codes were made for your account": (
        "Für Ihr Konto wurden neue Wiederherstellungscodes erstellt"
    ),
}


def compile_catalog(root: Path, language: str, messages: dict[str, str]) -> Path:
    catalog = Catalog(locale=language)
    for msgid, text in messages.items():
        catalog.add(msgid, text)
    folder = root / language / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "django.mo", "wb") as out:
        write_mo(out, catalog)
    return root


@pytest.fixture
def german(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The test catalog in force (Django clears its translation cache on LOCALE_PATHS changes)."""
    root = compile_catalog(tmp_path / "locale", "de", GERMAN)
    with override_settings(LOCALE_PATHS=[root, *settings.LOCALE_PATHS]):
        yield GERMAN
