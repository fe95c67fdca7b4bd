"""A translation is safe to print unescaped.

Jinja2's ``_()`` (prm/jinja2.py, the layout and the hot pages' bodies under templates/jinja2/)
marks the translated text safe and escapes only the values put into it, where Django's
``{% translate %}`` escapes the text too. So a translation may bring no markup character its
English message does not have: a ``<``, ``&`` or ``"`` a translator adds would reach the page
as markup (or end an attribute) in German, French or Spanish only."""

from __future__ import annotations

import pytest

from tests.prm.catalogs import LANGUAGES, committed

MARKUP = ("<", "&", '"')


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_translation_adds_a_markup_character(language: str) -> None:
    added = []
    catalog = committed(language)
    assert len(catalog) > 1000  # the real catalog, not an empty one
    for entry in catalog:
        english = [entry.msgid, entry.msgid_plural or ""]
        translated = [entry.msgstr, *entry.msgstr_plural.values()]
        for character in MARKUP:
            in_english = any(character in text for text in english)
            if not in_english and any(character in text for text in translated):
                added.append(f"{entry.msgid!r}: {character!r}")
    assert not added, f"{language} translations add markup characters: {added}"
