"""No message left untranslated, no text left unmarked (issue 14, "Languages").

For German, French and Spanish: the committed catalog is complete (no untranslated or fuzzy entry,
``msgfmt --check`` passes) and up to date (a fresh ``makemessages`` finds no message it lacks),
and every page the demo personas reach (tests/prm/page_walk.py) shows none of the portal's
messages in English. In a pseudo-language whose every message reads ``⟦n:text⟧``, the pages show
no text outside markers that is not the world's data: a text nobody marked for translation.

How a page tells which of its texts are messages: the same page rendered in the pseudo-language
names each message it shows (the ``n`` of its marker). A message of the portal's catalog shown on
a page is untranslated in a language when the language's catalog has no translation for it (none,
empty or fuzzy: what Django would show is the English text) and its English text is on the
language's page. A translation identical to the English (German "Status", "Partner") is a
translator's choice and counts as translated.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.template import engines
from django.test import override_settings
from django.utils import translation

from tests.isolation import built_once
from tests.prm import catalogs, page_walk

pytestmark = pytest.mark.django_db


@built_once
def demo() -> Iterator[None]:
    yield from page_walk.build_demo()


@pytest.fixture(scope="module")
def fresh() -> polib.POFile:
    return catalogs.extract()


# --- the walk, rendered once per language in this process ------------------------------------------
_PAGES: dict[str, list[page_walk.Page]] = {}
_PSEUDO: dict[str, catalogs.Pseudo] = {}
_FOLDERS: list[tempfile.TemporaryDirectory] = []  # removed when the process ends


def walked(
    language: str,
    locale_paths: list[str] | None = None,
    personas: list[str] | None = None,
    *,
    replace: bool = False,
) -> list[page_walk.Page]:
    paths = [*(locale_paths or [])] if replace else [*(locale_paths or []), *settings.LOCALE_PATHS]
    languages = [*settings.LANGUAGES, (catalogs.PSEUDO, "Pseudo")]
    with override_settings(LOCALE_PATHS=paths, LANGUAGES=languages), translation.override(language):
        return list(page_walk.every_page(language, personas))


@contextmanager
def without_committed_catalogs() -> Iterator[None]:
    """Django reads prm/locale twice: from LOCALE_PATHS and as the prm app's own locale folder.
    Inside this block it skips the app's copy (walk with ``replace=True`` to skip the other)."""
    from django.utils.translation import trans_real

    original = trans_real.DjangoTranslation._add_installed_apps_translations
    committed = catalogs.COMMITTED.resolve()

    def other_apps_only(self: Any) -> None:
        for app_config in reversed(apps.get_app_configs()):
            localedir = Path(app_config.path) / "locale"
            if localedir.exists() and localedir.resolve() != committed:
                self.merge(self._new_gnu_trans(str(localedir)))

    trans_real.DjangoTranslation._add_installed_apps_translations = other_apps_only
    trans_real._translations = {}
    try:
        yield
    finally:
        trans_real.DjangoTranslation._add_installed_apps_translations = original
        trans_real._translations = {}


def pseudo(fresh: polib.POFile) -> tuple[catalogs.Pseudo, list[page_walk.Page]]:
    if "pages" not in _PAGES:
        _FOLDERS.append(tempfile.TemporaryDirectory(prefix="prm-pseudo-"))
        root = Path(_FOLDERS[-1].name)
        _PSEUDO["catalog"] = catalogs.write_pseudo(fresh, root)
        _PAGES["pages"] = walked(catalogs.PSEUDO, [str(root)])
    return _PSEUDO["catalog"], _PAGES["pages"]


# --- what is data ------------------------------------------------------------------------------
TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, ArrayField)
WORD = re.compile(r"[^\W\d_]{2,}")
# Not words: an address, a secret shown masked ("wu******").
URL = re.compile(r"\w+://\S+|\w*\*{4,}")


def data_words() -> set[str]:
    """Every word stored in the world's text columns (names, titles, descriptions, e-mail
    addresses, audit values...): a page showing one shows data."""
    words: set[str] = set()
    for model in apps.get_models():
        fields = [f.attname for f in model._meta.concrete_fields if isinstance(f, TEXT_FIELDS)]
        if not fields or model._meta.proxy:
            continue
        for row in model._default_manager.values_list(*fields).iterator():
            for value in row:
                if value:
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    words.update(word.casefold() for word in WORD.findall(text))
    return words


# Words a page shows that are neither messages nor stored data: the product's name.
NOT_MESSAGES = {"prm"}
# Installed apps' own admin pages, with their own (partial) translations: not the portal's words.
THIRD_PARTY_ADMIN = re.compile(r"^/admin/(django_celery_beat|mfa|account|guardian)/")


def unmarked_texts(pages: list[page_walk.Page], known: set[str]) -> dict[str, set[str]]:
    """The texts of pseudo-language pages outside every marker with a word that is not data."""
    unmarked: dict[str, set[str]] = {}
    for page in pages:
        if THIRD_PARTY_ADMIN.match(page.url):
            continue
        _found, rest = catalogs.split_marked("\x01".join(page_walk.visible_texts(page.html)))
        for text in rest.split("\x01"):
            if any(word.casefold() not in known for word in WORD.findall(URL.sub(" ", text))):
                unmarked.setdefault(" ".join(text.replace("\x00", "…").split()), set()).add(page.name)
    return unmarked


def listed(found: dict[str, set[str]]) -> str:
    return "\n".join(
        f"  {text!r} on {sorted(where)[0]} (+{len(where) - 1})" for text, where in sorted(found.items())
    )


@pytest.mark.usefixtures("demo")
def test_no_page_shows_text_left_unmarked(fresh: polib.POFile) -> None:
    _catalog, pages = pseudo(fresh)
    unmarked = unmarked_texts(pages, data_words() | NOT_MESSAGES)
    assert not unmarked, f"text not marked for translation (pseudo-language pages):\n{listed(unmarked)}"


# --- untranslated messages on the pages of a language ---------------------------------------------
def translated_keys(catalog: polib.POFile) -> set[catalogs.Key]:
    return {catalogs.key(entry) for entry in catalog if not entry.obsolete and entry.translated()}


def english_pattern(english: str) -> re.Pattern[str] | None:
    """A message as a pseudo-language page shows it (a message inside it: ``\\x00``)."""
    parts = [re.escape(part) for part in english.split("\x00")]
    if not WORD.search(english.replace("\x00", "")):
        return None  # only placeholders or punctuation: it reads the same in every language
    return re.compile(r"(?<![^\W\d_])" + ".*?".join(parts) + r"(?![^\W\d_])", re.S)


def untranslated(
    shown: list[page_walk.Page],
    pseudo_pages: list[page_walk.Page],
    marked: catalogs.Pseudo,
    catalog: polib.POFile,
) -> dict[str, set[str]]:
    """The portal's messages each page of ``shown`` (a language's walk) shows in English: those the
    same page in the pseudo-language shows, that ``catalog`` does not translate, and whose English
    text is on the language's page."""
    done = translated_keys(catalog)
    by_name = {page.name: page for page in shown}
    found: dict[str, set[str]] = {}
    for page in pseudo_pages:
        other = by_name.get(page.name)
        if other is None:
            continue
        text = "\x01".join(page_walk.visible_texts(other.html))
        messages, _rest = catalogs.split_marked("\x01".join(page_walk.visible_texts(page.html)))
        for number, english in messages:
            entry = marked.entries[number]
            if number not in marked.own or catalogs.key(entry) in done:
                continue
            pattern = english_pattern(english)
            if pattern is not None and pattern.search(text):
                found.setdefault(entry.msgid, set()).add(page.name)
    return found


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("language", catalogs.LANGUAGES)
def test_no_page_shows_a_message_left_untranslated(language: str, fresh: polib.POFile) -> None:
    marked, pseudo_pages = pseudo(fresh)
    found = untranslated(walked(language), pseudo_pages, marked, catalogs.committed(language))
    assert not found, f"{len(found)} messages shown in English on {language} pages:\n{listed(found)}"


# --- the catalogs --------------------------------------------------------------------------------
@pytest.mark.parametrize("language", catalogs.LANGUAGES)
def test_catalog_is_complete(language: str) -> None:
    catalog = catalogs.committed(language)
    fuzzy_header = bool(catalog.metadata_is_fuzzy)
    assert not fuzzy_header, f"{language}: the catalog's header is marked fuzzy"
    assert catalog.metadata.get("Language") == language, (
        f"{language}: the header's Language is not {language!r}"
    )
    missing = [entry.msgid for entry in catalog.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalog.fuzzy_entries()]
    assert not missing, f"{language}: {len(missing)} untranslated, the first: {missing[:10]}"
    assert not fuzzy, f"{language}: {len(fuzzy)} fuzzy, the first: {fuzzy[:10]}"
    assert_msgfmt_check(catalogs.COMMITTED / language / "LC_MESSAGES" / "django.po")


def assert_msgfmt_check(path: Path) -> None:
    result = subprocess.run(
        ["msgfmt", "--check", "--output-file=/dev/null", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"msgfmt --check {path}:\n{result.stderr}"


@pytest.mark.parametrize("language", catalogs.LANGUAGES)
def test_catalog_has_every_message_of_the_code(language: str, fresh: polib.POFile) -> None:
    """Run ``manage.py makemessages -l de -l fr -l es -e html,txt,py`` (tests/prm/catalogs.py:
    the folders it ignores) after adding or changing a message, then translate what it added."""
    have = {catalogs.key(entry) for entry in catalogs.committed(language) if not entry.obsolete}
    missing = sorted({catalogs.key(entry) for entry in fresh} - have)
    assert not missing, (
        f"{language}: {len(missing)} messages of the code are not in the catalog: {missing[:20]}"
    )


# --- Jinja2 fragments and derived names reach the catalog --------------------------------------------
def test_jinja2_fragments_messages_are_in_the_extraction(fresh: polib.POFile) -> None:
    engine = engines["jinja2"]
    keys = {catalogs.key(entry) for entry in fresh}
    for folder in engine.template_dirs:
        for path in Path(folder).rglob("*.html"):
            for _line, function, message in engine.env.extract_translations(path.read_text()):
                strings = message if isinstance(message, tuple) else (message,)
                if function in ("pgettext", "npgettext"):
                    assert (strings[0], strings[1]) in keys, (path, message)
                elif strings[0] is not None:
                    assert ("", strings[0]) in keys, (path, message)


def test_makemessages_reads_jinja2_blocks_and_derived_names(tmp_path: Path) -> None:
    tree = tmp_path / "src"
    (tree / "templates" / "jinja2" / "deals").mkdir(parents=True)
    (tree / "templates" / "jinja2" / "deals" / "_rows.html").write_text(
        "<tr>\n<td>{% trans %}Only a Jinja2 block says this{% endtrans %}</td>\n"
        '<td>{{ ngettext("%(num)s row of Jinja2", "%(num)s rows of Jinja2", n) }}</td></tr>\n'
    )
    shutil.copytree(
        Path(settings.BASE_DIR) / "mdf", tree / "mdf", ignore=shutil.ignore_patterns("__pycache__")
    )
    extracted = {entry.msgid: entry for entry in catalogs.extract(tree)}
    assert extracted["Only a Jinja2 block says this"].occurrences == [
        ("templates/jinja2/deals/_rows.html", "2")
    ]
    assert extracted["%(num)s row of Jinja2"].msgid_plural == "%(num)s rows of Jinja2"
    # Django's names for a model and a field declared without one (prm/derived_names.py).
    assert "fund claims" in extracted and "fund claim" in extracted
    source = (tree / "mdf" / "models.py").read_text().splitlines()
    file, line = extracted["fund claims"].occurrences[0]
    assert file == "mdf/models.py" and source[int(line) - 1].startswith("class FundClaim(")


def test_derived_names_are_translated_at_run_time(tmp_path: Path) -> None:
    from mdf.models import FundClaim

    catalog = polib.POFile()
    catalog.metadata = {"Content-Type": "text/plain; charset=UTF-8", "Language": "de"}
    catalog.append(polib.POEntry(msgid="fund claims", msgstr="Mittelabrufe"))
    (tmp_path / "de" / "LC_MESSAGES").mkdir(parents=True)
    catalog.save_as_mofile(str(tmp_path / "de" / "LC_MESSAGES" / "django.mo"))
    with override_settings(LOCALE_PATHS=[str(tmp_path)]), translation.override("de"):
        assert str(FundClaim._meta.verbose_name_plural) == "Mittelabrufe"
    with translation.override("en"):
        assert str(FundClaim._meta.verbose_name_plural) == "fund claims"


# --- the checks themselves, against a fully translated fake catalog -----------------------------------
PLACEHOLDER = re.compile(r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%.|\{[^{}]*\}|<[^>]*>|&#?\w+;")


def fake(text: str) -> str:
    """``text`` in a made-up language: its letters' case swapped, its placeholders and tags kept."""
    kept = [match.span() for match in PLACEHOLDER.finditer(text)]
    out, at = [], 0
    for start, end in kept:
        out += [text[at:start].swapcase(), text[start:end]]
        at = end
    return "".join([*out, text[at:].swapcase()])


def fake_catalog(fresh: polib.POFile, language: str, leave_out: catalogs.Key | None = None) -> polib.POFile:
    catalog = polib.POFile()
    catalog.metadata = {
        "Project-Id-Version": "PRM",
        "PO-Revision-Date": "2026-12-06 12:00+0000",
        "Last-Translator": "Tests <tests@prm.example>",
        "Language-Team": "Tests <tests@prm.example>",
        "Language": language,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=2; plural=(n != 1);",
    }
    for entry in fresh:
        copy = polib.POEntry(
            msgid=entry.msgid, msgctxt=entry.msgctxt, flags=[f for f in entry.flags if f != "fuzzy"]
        )
        if entry.msgid_plural:
            copy.msgid_plural = entry.msgid_plural
            copy.msgstr_plural = (
                {0: "", 1: ""}
                if catalogs.key(entry) == leave_out
                else {0: fake(entry.msgid), 1: fake(entry.msgid_plural)}
            )
        elif catalogs.key(entry) != leave_out:
            copy.msgstr = fake(entry.msgid)
        catalog.append(copy)
    return catalog


PROOF_PERSONA = "alice.admin@acme.example"


@pytest.mark.usefixtures("demo")
def test_checks_pass_with_a_complete_catalog_and_name_a_missing_message(
    fresh: polib.POFile, tmp_path: Path
) -> None:
    marked, pseudo_pages = pseudo(fresh)
    # A message the partner admin's pages show (her own pages: vendor staff walked the shared ones)
    # that only the portal's catalog has (without it, Django's would translate "Home").
    shown = [
        (number, english)
        for page in pseudo_pages
        if page.who == PROOF_PERSONA
        for number, english in catalogs.split_marked("\x01".join(page_walk.visible_texts(page.html)))[0]
        if number in marked.own
        and catalogs.key(marked.entries[number]) not in marked.shared
        and english_pattern(english)
        and "\x00" not in english
        and "\x01" not in english
    ]
    leave_out = catalogs.key(marked.entries[shown[0][0]])
    complete = fake_catalog(fresh, "de")
    folder = tmp_path / "de" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    complete.save(str(folder / "django.po"))
    assert_msgfmt_check(folder / "django.po")
    assert not complete.untranslated_entries() and not complete.fuzzy_entries()
    assert not set(map(catalogs.key, fresh)) - translated_keys(complete)

    almost = fake_catalog(fresh, "de", leave_out=leave_out)
    almost.save_as_mofile(str(folder / "django.mo"))
    # Only the fake catalog speaks for the portal: the committed one (prm/locale, which Django also
    # reads as the prm app's own) would translate the message left out, and nothing would be
    # missing to find.
    with without_committed_catalogs():
        found = untranslated(
            walked("de", [str(tmp_path)], [PROOF_PERSONA], replace=True), pseudo_pages, marked, almost
        )
    assert set(found) == {leave_out[1]}, listed(found)


# --- messages xgettext cannot see ----------------------------------------------------------------
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}


def test_no_message_is_translated_inside_an_f_string() -> None:
    """xgettext does not read into an f-string: ``f"{_('Statement')} {number}"`` shows the word
    translated only if the catalog has it, and makemessages never puts it there."""
    import ast

    base = Path(settings.BASE_DIR)
    found = []
    for app in catalogs.APPS:
        for path in (base / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.JoinedStr):
                    continue
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Call) and getattr(inner.func, "id", None) in GETTEXT_NAMES:
                        found.append(f"{path.relative_to(base)}:{inner.lineno}")
    assert not found, f"a message inside an f-string (take it out into a variable): {found}"


# --- templates: e-mails, PDFs and every page, read rather than rendered ---------------------------------
READ_ATTRIBUTES = re.compile(r'\b(?:title|alt|placeholder|aria-label|aria-description)="([^"]*)"')
# Not words a person reads: a block's CSS class or icon name ("bi-tools", "app-…"), an address.
NOT_TEXT = re.compile(r"\b[a-z0-9]+(?:-[a-z0-9]*)+|\w+://\S+")


def template_literals(source: str) -> list[str]:
    """Text of a Django template outside ``{% translate %}`` / ``{% blocktranslate %}``, comments,
    scripts and styles, with letters in it: what would show in English whatever the language."""
    from django.template.base import Lexer, TokenType

    pieces, inside, comment = [], 0, False
    for token in Lexer(source).tokenize():
        name = token.contents.split()[0] if token.token_type == TokenType.BLOCK and token.contents else ""
        if name in ("blocktranslate", "blocktrans"):
            inside += 1
        elif name in ("endblocktranslate", "endblocktrans"):
            inside -= 1
        elif name in ("comment", "endcomment"):
            comment = name == "comment"
        if token.token_type == TokenType.TEXT and not inside and not comment:
            pieces.append(token.contents)
        else:
            pieces.append("\x02")  # a variable or a tag: not literal text
    text = re.sub(r"<(script|style)\b.*?</\1>|<!--.*?-->", " ", "".join(pieces), flags=re.S | re.I)
    found = [
        value
        for value in READ_ATTRIBUTES.findall(text)
        if WORD.search(NOT_TEXT.sub(" ", value.replace("\x02", " ")))
    ]
    for piece in re.sub(r"<[^>]*>", "\x01", text, flags=re.S).split("\x01"):
        plain = NOT_TEXT.sub(" ", html.unescape(piece.replace("\x02", " ")))
        words = [word for word in WORD.findall(plain) if word != "PRM"]
        if words:
            found.append(" ".join(piece.replace("\x02", "…").split()))
    return found


def test_no_template_shows_text_left_unmarked() -> None:
    """Every template of the portal, e-mails and PDFs included (the walk renders pages only)."""
    base = Path(settings.BASE_DIR)
    found = {}
    for folder in [base / "templates", *(base / app / "templates" for app in catalogs.APPS)]:
        for path in folder.rglob("*"):
            if path.suffix in (".html", ".txt") and "jinja2" not in path.parts and path.is_file():
                literals = template_literals(path.read_text())
                if literals:
                    found[str(path.relative_to(base))] = literals
    assert not found, f"template text not marked for translation: {found}"


def test_template_check_finds_a_literal() -> None:
    assert template_literals(
        '{% load i18n %}<p title="Open it">{% translate "Fine" %}</p><b>Not fine</b>'
    ) == [
        "Open it",
        "Not fine",
    ]
    assert not template_literals(
        "{% blocktranslate %}Fine {{ x }}{% endblocktranslate %}<i>{{ name }}</i> · 42"
    )
