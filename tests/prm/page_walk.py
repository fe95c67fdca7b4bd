"""Every page each demo persona reaches, rendered in one language: the pages its links lead to
(one of each kind: the first deal's detail page stands for every deal's), each form among them
posted empty (its field errors), and a page that does not exist. tests/prm/test_translations_
complete.py renders the walk in each language the portal offers and in a pseudo-language.

Only GET requests follow links; a form is posted only when it has a required field, with nothing
but its CSRF token, so nothing the walk does changes the world it walks (a refused form saves
nothing)."""

from __future__ import annotations

import html
import io
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import Resolver404, resolve

from prm.models import User
from tests import factories
from tests.demo_personas import PARTNER_PEOPLE, VENDOR_STAFF
from tests.helpers import login

PERSONAS = VENDOR_STAFF + PARTNER_PEOPLE

# Pages not walked: leaving the session, files and feeds that are not HTML pages, and the
# language switch itself.
SKIPPED_PREFIXES = ("/accounts/logout/", "/static/", "/media-not-served/", "/i18n/", "/api/")
NOT_FOUND = "/this-page-does-not-exist/"
# The admin's history and delete-confirmation pages of each table: Django's own words around the
# table's name, which its list and form pages show already. Left out to keep the walk short.
SKIPPED_ADMIN = re.compile(r"^/admin/.+/(history|delete)/$")


def build_demo() -> Iterator[None]:
    """The demo world of ``manage.py seed_demo``, for a ``built_once`` fixture."""
    with tempfile.TemporaryDirectory() as root, override_settings(STORAGES=factories.storages_at(Path(root))):
        factories.default_tiers()
        call_command("seed_demo", stdout=io.StringIO())
        yield


@dataclass(frozen=True)
class Page:
    who: str
    method: str
    url: str
    status: int
    html: str

    @property
    def name(self) -> str:
        return f"{self.who} {self.method} {self.url}"


def _kind(url: str) -> str | None:
    """One page of each kind: the URL pattern it resolves to (``deals:detail``), or None for a
    URL no pattern serves."""
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return f"{match.namespace}:{match.url_name}:{match.route}"


class _Forms(HTMLParser):
    """The POST forms of a page that have a required field: (action, csrf token)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, str]] = []
        self._form: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            if (attributes.get("method") or "get").lower() == "post":
                self._form = {"action": attributes.get("action") or "", "csrf": "", "required": False}
            return
        if self._form is None or tag not in ("input", "select", "textarea"):
            return
        if attributes.get("name") == "csrfmiddlewaretoken":
            self._form["csrf"] = attributes.get("value") or ""
        elif "required" in attributes and attributes.get("type") != "hidden":
            self._form["required"] = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            if self._form["required"]:
                self.forms.append((self._form["action"], self._form["csrf"]))
            self._form = None


def _links(page: str, base: str) -> list[str]:
    found = []
    for href in re.findall(r'<a\b[^>]*?\bhref="([^"#][^"]*)"', page):
        url = urljoin(base, html.unescape(href))
        parts = urlsplit(url)
        if parts.scheme or parts.netloc or parts.query or not parts.path.startswith("/"):
            continue  # another site, or a filter/sort/page of a list already walked
        if parts.path.startswith(SKIPPED_PREFIXES) or SKIPPED_ADMIN.match(parts.path):
            continue
        found.append(parts.path)
    return found


class Walk:
    """Pages of each kind already rendered, shared by the personas of one walk: a page kind (and a
    form's target) is rendered for the first persona that reaches it only."""

    def __init__(self) -> None:
        self.kinds: set[str | None] = set()
        self.posted: set[str | None] = set()
        self.links: dict[str | None, list[str]] = {}  # a rendered kind's links, for later personas

    def get(self, client: Client, url: str) -> tuple[str, object]:
        """GET ``url``, following redirects that stay in the portal."""
        response = client.get(url)
        for _hop in range(5):
            if response.status_code not in (301, 302, 303, 307, 308):
                break
            target = urlsplit(urljoin(url, response["Location"]))
            if target.scheme or target.netloc:
                break  # a video host's page, say: not ours to render
            url = target.path + (f"?{target.query}" if target.query else "")
            response = client.get(url)
        return url, response

    def pages(self, client: Client, who: str, *, limit: int = 400) -> Iterator[Page]:
        """Breadth first from the start page: each page of a kind not rendered yet, each form with
        a required field (of a target not posted yet) posted empty, then a page that does not
        exist."""
        queue = ["/"]
        seen_urls: set[str] = set()
        while queue and len(seen_urls) < limit:
            url = queue.pop(0)
            if url in seen_urls:
                continue
            seen_urls.add(url)
            if _kind(url) is None:
                continue
            if url != "/" and _kind(url) in self.kinds:
                queue += self.links.get(_kind(url), [])
                continue
            url, response = self.get(client, url)
            kind = _kind(urlsplit(url).path)
            html_page = "text/html" in response.get("Content-Type", "") and not getattr(
                response, "streaming", False
            )
            if getattr(response, "streaming", False):
                # A file sent as it is read: not a page. Read to its end, which closes it the way
                # the test client does (closing it directly would close the database connection).
                b"".join(response.streaming_content)
            queue += _links(response.content.decode(), url) if html_page else []
            if kind in self.kinds or not html_page:
                queue += self.links.get(kind, [])
                continue
            self.kinds.add(kind)
            page = response.content.decode()
            self.links[kind] = _links(page, url)
            yield Page(who, "GET", url, response.status_code, page)
            yield from self.post_forms(client, who, url, page)
        response = client.get(NOT_FOUND)
        yield Page(who, "GET", NOT_FOUND, response.status_code, response.content.decode())

    def post_forms(self, client: Client, who: str, url: str, page: str) -> Iterator[Page]:
        forms = _Forms()
        forms.feed(page)
        for action, csrf in forms.forms:
            target = urlsplit(urljoin(url, html.unescape(action) or url))
            target_kind = _kind(target.path)
            if target_kind in self.posted or target.path.startswith(SKIPPED_PREFIXES):
                continue
            self.posted.add(target_kind)
            path = target.path + (f"?{target.query}" if target.query else "")
            answer = client.post(path, {"csrfmiddlewaretoken": csrf})
            if answer.status_code in (200, 400) and "text/html" in answer.get("Content-Type", ""):
                yield Page(who, "POST", path, answer.status_code, answer.content.decode())


def persona_client(email: str, language: str) -> Client:
    """``email``'s demo login asking for pages in ``language`` (the language cookie, and the
    person's own language setting where the user model has one)."""
    user = User.objects.get(email=email)
    if any(field.name == "language" for field in User._meta.get_fields()):
        User.objects.filter(pk=user.pk).update(language=language)
        user.refresh_from_db()
    client = login(user, HTTP_ACCEPT_LANGUAGE=language)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def every_page(language: str, personas: list[str] | None = None) -> Iterator[Page]:
    walk = Walk()
    for email in personas or PERSONAS:
        yield from walk.pages(persona_client(email, language), email)


# --- visible text ------------------------------------------------------------------------------
# Attributes a person reads (or hears from a screen reader).
SHOWN_ATTRIBUTES = ("title", "alt", "placeholder", "aria-label", "aria-description", "data-label")
HIDDEN_ELEMENTS = ("script", "style", "template")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._hidden = 0
        self._untranslated = 0  # inside translate="no": data the page marks as such
        self._stack: list[tuple[str, bool, bool]] = []
        self._option: str | None = None  # the value of the <option> being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self._option = attributes.get("value") if tag == "option" else None
        hidden = tag in HIDDEN_ELEMENTS
        untranslated = attributes.get("translate") == "no"
        if tag not in ("input", "img", "br", "hr", "meta", "link", "area", "col", "source", "wbr"):
            self._stack.append((tag, hidden, untranslated))
            self._hidden += hidden
            self._untranslated += untranslated
        if self._hidden or self._untranslated or untranslated:
            return
        for name in SHOWN_ATTRIBUTES:
            if attributes.get(name):
                self.texts.append(attributes[name])
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.texts.append(attributes["value"])

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            name, hidden, untranslated = self._stack.pop()
            self._hidden -= hidden
            self._untranslated -= untranslated
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._option is not None and data.strip() == self._option.strip():
            return  # a choice shown as its own value (a time zone, a code): data
        if not self._hidden and not self._untranslated and data.strip():
            self.texts.append(data)


def visible_texts(page: str) -> list[str]:
    """The page's text nodes and read attributes, whitespace collapsed, outside scripts, styles
    and ``translate="no"`` spans."""
    parser = _Text()
    parser.feed(page)
    return [" ".join(text.split()) for text in parser.texts if text.strip()]
