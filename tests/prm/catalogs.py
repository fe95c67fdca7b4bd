"""The portal's message catalogs as tests read them: the committed ones (prm/locale), a fresh
extraction of the code (``makemessages``, Jinja2 fragments included), a pseudo-language whose every
message is wrapped in markers, and the text of a page split into marked messages and the rest."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polib
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

APPS = ("prm", "partners", "deals", "mdf", "training", "content", "incentives")
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
COMMITTED = Path(settings.BASE_DIR) / "prm" / "locale"
# What ``makemessages`` does not read: the tests, the benchmark, the catalogs themselves and
# what is not the portal's source. The command the catalogs are made with, from the project
# root: ``manage.py makemessages -l de -l fr -l es -e html,txt,py`` with these as ``--ignore``.
IGNORED = ["tests", "bench", "node_modules", "var", "static", "docker", "bin", ".venv", "prm/locale"]
EXTENSIONS = ["html", "txt", "py"]

Key = tuple[str, str]  # (msgctxt or "", msgid)


def key(entry: polib.POEntry) -> Key:
    return (entry.msgctxt or "", entry.msgid)


def committed(language: str, root: Path = COMMITTED) -> polib.POFile:
    return polib.pofile(str(root / language / "LC_MESSAGES" / "django.po"))


def extract(base: Path | None = None) -> polib.POFile:
    """The catalog ``makemessages`` makes from the code as it is now (our command: Jinja2 fragments
    and derived names included), in a copy of the source tree (``base``, the project's by
    default) so the checkout is never written to."""
    base = base or Path(settings.BASE_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "src"
        shutil.copytree(
            base,
            tree,
            ignore=shutil.ignore_patterns(
                ".git", "__pycache__", "*.pyc", *(p for p in IGNORED if "/" not in p)
            ),
        )
        shutil.rmtree(tree / "prm" / "locale", ignore_errors=True)
        out = Path(tmp) / "locale"
        out.mkdir()
        with override_settings(LOCALE_PATHS=[str(out)]), _cwd(tree):
            call_command(
                "makemessages",
                locale=["de"],
                extensions=EXTENSIONS,
                ignore_patterns=list(IGNORED),
                verbosity=0,
            )
        return polib.pofile(str(out / "de" / "LC_MESSAGES" / "django.po"))


@contextmanager
def _cwd(path: Path) -> Iterator[None]:
    import os

    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


# --- the pseudo-language -------------------------------------------------------------------------
PSEUDO = "en-xa"  # a language code nobody speaks; Django reads its formats as English ones
OPEN, CLOSE = "⟦", "⟧"


def third_party_catalogs() -> list[Path]:
    """The ``.po`` files Django and the installed apps bring (their German ones: each lists
    every message of its package)."""
    import sysconfig

    import django

    # Installed packages, wherever the virtualenv is: inside the project (a clean clone's .venv)
    # as well as outside it; the project's own apps are installed in place, never in there.
    installed = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    folders = [Path(django.__file__).parent / "conf" / "locale"]
    folders += [Path(config.path) / "locale" for config in apps.get_app_configs()]
    return [
        folder / "de" / "LC_MESSAGES" / "django.po"
        for folder in folders
        if (folder / "de" / "LC_MESSAGES" / "django.po").is_file()
        and any(folder.resolve().is_relative_to(site) for site in installed)
    ]


def pseudo_entry(entry: polib.POEntry, number: int) -> polib.POEntry:
    """``entry`` translated as its English text between markers, with its number in the catalog
    (``⟦12:Deals⟧``), placeholders kept."""

    def wrap(text: str) -> str:
        return f"{OPEN}{number}:{text}{CLOSE}"

    pseudo = polib.POEntry(msgid=entry.msgid, msgctxt=entry.msgctxt, flags=[])
    if entry.msgid_plural:
        pseudo.msgid_plural = entry.msgid_plural
        pseudo.msgstr_plural = {0: wrap(entry.msgid), 1: wrap(entry.msgid_plural)}
    else:
        pseudo.msgstr = wrap(entry.msgid)
    return pseudo


@dataclass
class Pseudo:
    """A compiled pseudo-language catalog: ``entries[n]`` is the message marked ``⟦n:…⟧``; those
    of the portal's own catalog are ``own``."""

    entries: list[polib.POEntry]
    own: set[int]
    shared: set[Key]  # messages Django or an installed app translates too


def write_pseudo(portal: polib.POFile, root: Path) -> Pseudo:
    """Compile the pseudo-language into ``root`` (a LOCALE_PATHS folder): every message of the
    portal's catalog ``portal`` and of Django's and the installed apps' catalogs."""
    entries: list[polib.POEntry] = []
    seen: set[Key] = set()
    own: set[int] = set()
    catalogs = [portal] + [polib.pofile(str(path)) for path in third_party_catalogs()]
    shared = {key(entry) for catalog in catalogs[1:] for entry in catalog if not entry.obsolete}
    for number, catalog in enumerate(catalogs):
        for entry in catalog:
            if entry.obsolete or not entry.msgid or key(entry) in seen:
                continue
            seen.add(key(entry))
            if number == 0:
                own.add(len(entries))
            entries.append(entry)
    mo = polib.POFile()
    mo.metadata = {
        "Content-Type": "text/plain; charset=UTF-8",
        "Language": PSEUDO,
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
    }
    for number, entry in enumerate(entries):
        mo.append(pseudo_entry(entry, number))
    folder = root / "en_XA" / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    mo.save_as_mofile(str(folder / "django.mo"))
    return Pseudo(entries, own, shared)


MARKED = re.compile(rf"{OPEN}(\d+):([^{OPEN}{CLOSE}]*){CLOSE}")


def split_marked(text: str) -> tuple[list[tuple[int, str]], str]:
    """The messages marked in ``text`` (number, shown text), innermost first, and what is left of
    ``text`` outside every marker."""
    found: list[tuple[int, str]] = []
    while True:
        match = MARKED.search(text)
        if not match:
            return found, text
        found.append((int(match.group(1)), match.group(2)))
        text = text[: match.start()] + "\x00" + text[match.end() :]
