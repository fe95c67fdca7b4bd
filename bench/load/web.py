"""What a simulated browser needs and locust does not give: the forms and links of a page, and the
TOTP code an authenticator app would show. Standard library only (the locust process never sets up
Django)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any


@dataclass
class Form:
    """One ``<form>`` as a browser would submit it: every successful control's default value."""

    action: str
    method: str
    attrs: dict[str, str]
    # (name, value) in document order; checkboxes and radios only when checked.
    fields: list[tuple[str, str]] = field(default_factory=list)
    # Every option value of each <select>, and every value of each checkbox / radio group.
    options: dict[str, list[str]] = field(default_factory=dict)
    # (name, value) of the submit buttons; only the one clicked is sent.
    buttons: list[tuple[str, str]] = field(default_factory=list)

    def names(self) -> set[str]:
        return {name for name, _ in self.fields} | set(self.options)

    def value(self, name: str) -> str | None:
        return next((value for key, value in self.fields if key == name), None)

    def data(
        self, overrides: dict[str, Any] | None = None, *, button: str | None = None
    ) -> list[tuple[str, str]]:
        """The submission: defaults, with ``overrides`` replacing a field's values (a list gives a
        multi-valued field); ``button`` is the name of the submit button clicked."""
        overrides = overrides or {}
        sent = [(name, value) for name, value in self.fields if name not in overrides]
        for name, value in overrides.items():
            values = value if isinstance(value, (list, tuple)) else [value]
            sent.extend((name, str(each)) for each in values)
        if button is not None:
            sent.extend((name, value) for name, value in self.buttons if name == button)
        return sent


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen: str | None = None
        self._option_value: str | None = None
        self._option_selected = False
        self._option_text: list[str] = []
        self._in_option = False
        self._textarea: str | None = None
        self._textarea_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        if tag == "form":
            self._form = Form(action=a.get("action", ""), method=a.get("method", "get").lower(), attrs=a)
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                form.buttons.append((name, a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                form.options.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    form.fields.append((name, a.get("value", "on")))
            elif kind not in ("button", "reset", "file"):
                form.fields.append((name, a.get("value", "")))
        elif tag == "button" and name and a.get("type", "submit").lower() == "submit":
            form.buttons.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, None
            form.options[name] = []
        elif tag == "option" and self._select is not None:
            self._end_option()  # an <option> without its end tag ends at the next one
            self._in_option, self._option_text = True, []
            self._option_value, self._option_selected = a.get("value"), "selected" in a
        elif tag == "textarea" and name:
            self._textarea, self._textarea_text = name, []

    def _end_option(self) -> None:
        if not self._in_option or self._select is None or self._form is None:
            return
        value = self._option_value if self._option_value is not None else "".join(self._option_text).strip()
        self._form.options[self._select].append(value)
        if self._select_first is None:
            self._select_first = value
        if self._option_selected:
            self._select_chosen = value
        self._in_option = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "option":
            self._end_option()
        elif tag == "select" and self._select is not None and self._form is not None:
            self._end_option()
            chosen = self._select_chosen if self._select_chosen is not None else self._select_first
            if chosen is not None:
                self._form.fields.append((self._select, chosen))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea, "".join(self._textarea_text)))
            self._textarea = None
        elif tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._in_option:
            self._option_text.append(data)
        if self._textarea is not None:
            self._textarea_text.append(data)


def parse(html: str) -> tuple[list[Form], list[str]]:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms, parser.links


def forms(html: str) -> list[Form]:
    return parse(html)[0]


def form_posting_to(html: str, pattern: str) -> Form | None:
    """The first POST form whose action matches ``pattern`` (a regular expression)."""
    return next(
        (form for form in forms(html) if form.method == "post" and re.search(pattern, form.action)), None
    )


def form_with_field(html: str, name: str) -> Form | None:
    return next((form for form in forms(html) if name in form.names()), None)


def links(html: str, pattern: str) -> list[str]:
    """Distinct hrefs matching ``pattern``, in page order."""
    seen: dict[str, None] = {}
    for href in parse(html)[1]:
        if re.search(pattern, href):
            seen.setdefault(href, None)
    return list(seen)


def totp(secret: str, at: float | None = None, *, digits: int = 6, period: int = 30) -> str:
    """RFC 6238 (HMAC-SHA1), as allauth and authenticator apps compute it from a base32 secret."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // period)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


# The words of both of deals.services.deal_submit's duplicate refusals (the user's own deal, a
# colleague's), as the English page shows them (the simulated browsers ask for English); a test
# (tests/deals/test_closed_deals.py) keeps it matching the real page.
DUPLICATE_REGISTRATION = re.compile(r"already ha(?:ve|s) a registration for this customer")
