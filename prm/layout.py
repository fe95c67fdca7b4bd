"""The portal's layout (head, navigation bar, messages, footer, scripts), rendered by Jinja2 for both
template engines from one source: templates/jinja2/layout/chrome.html.

Every page used to pay Django's template engine for the chrome: well over a hundred nodes
(variables, ``{% if %}``, ``{% url %}``, ``{% static %}``, ``{% translate %}``) on every request,
0.7-1 ms of CPU (the navigation lists already kept) of the 6.5 ms a page may cost. Now what the
chrome prints about the request and the person is worked out once per page (:class:`Chrome`),
already escaped as Django escapes it; each part is rendered by Jinja2 once per navigation key as a
"shape" with those values left open, and each page fills them in (:func:`render_part`): 0.05-0.15
ms. The bytes are the ones the Django layout wrote (tests/prm/test_layout.py compares them for every
side, role, gate and language).

How a page gets it:

* A Django page (``{% extends "base.html" %}``, nothing changes for it): templates/base.html is the
  frame with the same blocks as before (title, extra_head, main/content, scripts); between them
  ``{% layout_part "start" %}`` … ``{% layout_part "end" %}`` (prm/templatetags/prm_layout.py) print
  the chrome's macros.
* A page written in Jinja2: ``{% extends "layout/page.html" %}`` with the blocks title, extra_head,
  main/content and scripts, rendered by :func:`prm.jinja2.render_page`, which gives the template
  what Django's context processors give a Django page.

The two navigation lists stay rendered once per role, page and language
(prm/navigation.py: the same fragments and keys whichever engine asks).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.template import engines
from django.templatetags.static import static as django_static
from django.urls import get_script_prefix, reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

from prm.kept import EVERY_SETTING, Kept
from prm.navigation import fragment, navigation_key_of

# --- URLs the chrome prints on every page, computed once per process ------------------------------
_static_urls: dict[str, str] = {}
_page_urls: dict[tuple[str, str], str] = {}
_lock = threading.Lock()


def _forget_urls(**kwargs: Any) -> None:
    # A test that changes STATIC_URL, the storage or the URLconf gets URLs of its own.
    with _lock:
        _static_urls.clear()
        _page_urls.clear()


setting_changed.connect(_forget_urls, dispatch_uid="prm.layout.urls")


def static(path: str) -> SafeString:
    """``{% static path %}``: the same URL (hashed by ManifestStaticFilesStorage in production), found
    once per process and path rather than on every page. Escaped as the tag escapes it."""
    url = _static_urls.get(path)
    if url is None:
        url = conditional_escape(django_static(path))
        if not settings.DEBUG:  # files and their hashes change while developing
            with _lock:
                _static_urls[path] = url
    return url


def page_url(name: str) -> str:
    """``reverse(name)`` of a URL without arguments, once per process and script prefix (the portal
    has no language prefixes in its URLs)."""
    key = (name, get_script_prefix())
    url = _page_urls.get(key)
    if url is None:
        url = reverse(name)
        with _lock:
            _page_urls[key] = url
    return url


# --- what the chrome prints ----------------------------------------------------------------------
CHROME_TEMPLATE = "layout/chrome.html"
PARTS = ("start", "head", "body", "foot", "end")
CSRF_INPUT = '<input type="hidden" name="csrfmiddlewaretoken" value="{}">'


def chrome_macros() -> Any:
    """The macros of templates/jinja2/layout/chrome.html (Jinja2 keeps the compiled module)."""
    return engines["jinja2"].env.get_template(CHROME_TEMPLATE).module


def _escaped(value: Any) -> SafeString:
    # What ``{{ value }}`` printed in the Django layout: str(), then Django's escaping (which differs
    # from Jinja2's in quotes: &#x27; and &quot;), a safe string left as it is.
    return conditional_escape(str(value))


class Chrome:
    """What the layout prints about the request, the actor and the person, worked out once per page
    from the values the context processors give (``request``, ``actor``, ``csrf_token``,
    ``messages``, ``LANGUAGE_CODE``, ``unread_notifications``) and ``error_page`` (prm.views).

    Missing values read as the Django layout read them (empty): a page rendered without a request
    (the server error page when the database is down) gets the signed-out chrome. Nothing here
    touches the database."""

    __slots__ = (
        "_messages",
        "_user",
        "body_class",
        "csrf_input",
        "csrf_token",
        "email",
        "error_page",
        "gate",
        "is_partner",
        "is_staff",
        "is_vendor",
        "language",
        "legal_name",
        "namespace",
        "navigation_key",
        "on_search",
        "on_support",
        "partner_role",
        "search_value",
        "short_name",
        "signed_in",
        "unread",
        "url_name",
        "vendor_role",
    )

    url = staticmethod(page_url)

    def __init__(self, values: Mapping[str, Any]) -> None:
        request = values.get("request")
        actor = values.get("actor")
        self.error_page = bool(values.get("error_page"))
        self.language = _escaped(values.get("LANGUAGE_CODE") or "en")
        self.is_vendor = bool(getattr(actor, "is_vendor", False))
        self.is_partner = bool(getattr(actor, "is_partner", False))
        side = "vendor" if self.is_vendor else "partner" if self.is_partner else "public"
        self.body_class = f"side-{side}"
        self.vendor_role = getattr(actor, "vendor_role", "") or ""
        self.partner_role = getattr(actor, "partner_role", "") or ""
        self.gate = getattr(request, "partner_gate", None) or ""
        user = self._user = getattr(request, "user", None)
        self.signed_in = bool(getattr(user, "is_authenticated", False))
        self.is_staff = bool(getattr(user, "is_staff", False))
        match = getattr(request, "resolver_match", None)
        self.namespace = getattr(match, "namespace", "") if match is not None else ""
        self.url_name = getattr(match, "url_name", "") if match is not None else ""
        self.navigation_key = navigation_key_of(request, actor)

        # {{ csrf_token }} in hx-headers and {% csrf_token %} in the sign-out form, as Django's
        # CsrfTokenNode writes it (nothing for a missing token or the context processor's
        # "NOTPROVIDED"). Reading it marks the CSRF cookie for sending, as the Django layout did.
        token = values.get("csrf_token")
        if token is not None:
            # Once: a lazy token (Django's csrf context processor's, the Jinja2 backend's) masks the
            # secret anew on each use (32 random characters, some 80 µs), three uses here;
            # prm.jinja2.render_page already gives a string.
            token = str(token)
        self.csrf_token = _escaped(token) if token is not None else ""
        if token and str(token) != "NOTPROVIDED":
            self.csrf_input = format_html(CSRF_INPUT, token)
        else:
            self.csrf_input = ""

        self.legal_name = ""
        if self.is_partner and not self.error_page:
            self.legal_name = _escaped(actor.partner.legal_name)
        self.on_search = self.url_name == "search"
        self.on_support = self.namespace == "support"
        self.search_value = self.short_name = self.email = ""
        if self.signed_in:
            if self.on_search:
                self.search_value = _escaped(request.GET.get("q", "")[:100])
            if not self.error_page:
                self.short_name = _escaped(user.get_short_name())
                self.email = _escaped(user.email)
        unread = values.get("unread_notifications")
        self.unread = _escaped(formats.localize(unread)) if unread else ""
        self._messages = values.get("messages")

    def role_display(self) -> SafeString:
        """The person's role under their e-mail: the vendor role's name, or the partner role."""
        if not self.signed_in:
            return SafeString("")
        if self.is_vendor:
            return _escaped(self._user.get_vendor_role_display())
        if self.is_partner:
            return _escaped(capfirst(self.partner_role))
        return SafeString("")

    def nav(self, name: str) -> SafeString:
        """The navigation list ``name`` ("main", "user"), kept per navigation key
        (prm/navigation.py)."""
        macro = getattr(chrome_macros(), f"nav_{name}")
        # The macro's autoescaped markup, with nothing of a tenant or a person in it.
        return mark_safe(fragment(name, self.navigation_key, lambda: macro(self)))  # noqa: S308

    def alerts(self) -> SafeString:
        """The messages (django.contrib.messages) where the layout prints them. Iterating the
        storage marks them shown, as the Django layout's loop did."""
        shown = []
        for message in self._messages or ():
            tags = message.tags
            shown.append((_escaped("danger" if tags == "error" else (tags or "info")), _escaped(message)))
        return chrome_macros().alerts(shown) if shown else SafeString("")

    @staticmethod
    def year() -> str:
        """``{% now "Y" %}``: this year in the current time zone."""
        tz = timezone.get_current_timezone() if settings.USE_TZ else None
        return f"{datetime.now(tz=tz).year:04d}"


# --- each part rendered once per shape, then filled in -------------------------------------------
# What a part prints is the same for every page of one navigation key (side, roles, gate, admin
# access, page, language, URL prefix) but for a few values of the person and the request. Those
# are left open in a "shape" of the part, rendered once per key with markers where they go, and
# filled in on each page: a dictionary look-up and a join instead of a Jinja2 render with a dozen
# translations and URLs. The open values (FILLED) are everything of a tenant or a person the
# chrome prints; tests/prm/test_layout.py checks that no shape holds any.
_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: nothing escapes them, no text has them
FILLED: dict[str, Callable[[Chrome], str]] = {
    "language": lambda c: c.language,
    "csrf_token": lambda c: c.csrf_token,
    "csrf_input": lambda c: c.csrf_input,
    "legal_name": lambda c: c.legal_name,
    "search_value": lambda c: c.search_value,
    "unread": lambda c: c.unread,
    "short_name": lambda c: c.short_name,
    "email": lambda c: c.email,
    "nav:main": lambda c: c.nav("main"),
    "nav:user": lambda c: c.nav("user"),
    "alerts": lambda c: c.alerts(),
    "year": lambda c: c.year(),
}
# The values a part may test ({% if c.unread %}): whether each is empty is part of the key.
_TESTED = (
    "language",
    "csrf_token",
    "csrf_input",
    "legal_name",
    "search_value",
    "unread",
    "short_name",
    "email",
)
_MARKERS = re.compile(f"{_OPEN}([^{_CLOSE}]*){_CLOSE}")
MAX_SHAPES = 4096
_shapes: Kept[tuple, tuple[str, ...]] = Kept(MAX_SHAPES, forget_on=EVERY_SETTING)


def _marker(name: str) -> SafeString:
    return SafeString(f"{_OPEN}{name}{_CLOSE}")


class _Blank:
    """A Chrome with markers for its open values: what a part renders with it is its shape."""

    url = staticmethod(page_url)

    def __init__(self, chrome: Chrome) -> None:
        for name in Chrome.__slots__:
            setattr(self, name, getattr(chrome, name))
        for name in _TESTED:
            setattr(self, name, _marker(name) if getattr(chrome, name) else "")
        self.role_display = chrome.role_display  # the role and the language are in the key

    def nav(self, name: str) -> SafeString:
        return _marker(f"nav:{name}")

    def alerts(self) -> SafeString:
        return _marker("alerts")

    def year(self) -> SafeString:
        return _marker("year")


def shape_key(name: str, chrome: Chrome) -> tuple:
    return (
        name,
        *chrome.navigation_key,
        chrome.error_page,
        chrome.signed_in,
        getattr(chrome._user, "vendor_role", "") or "",
        *(bool(getattr(chrome, field)) for field in _TESTED),
    )


def render_part(name: str, chrome: Chrome) -> SafeString:
    """The part ``name`` of the chrome (a macro of templates/jinja2/layout/chrome.html) for a page."""
    if settings.DEBUG:  # templates change while developing
        return mark_safe(getattr(chrome_macros(), name)(chrome))  # noqa: S308 -- Jinja2's autoescaped output
    key = shape_key(name, chrome)
    shape = _shapes.get(key)
    if shape is None:
        shape = tuple(
            re.split(f"{_OPEN}([^{_CLOSE}]*){_CLOSE}", getattr(chrome_macros(), name)(_Blank(chrome)))
        )
        _shapes.keep(key, shape)
    pieces = [shape[0]]
    for index in range(1, len(shape), 2):
        pieces.append(FILLED[shape[index]](chrome))
        pieces.append(shape[index + 1])
    # The shape is Jinja2's autoescaped markup; what fills it was escaped above (Chrome).
    return mark_safe("".join(pieces))  # noqa: S308


def chrome_values(request: Any) -> dict[str, Any]:
    """What Django's context processors (settings.TEMPLATES: request, auth, messages, i18n,
    prm.context_processors.portal) give a Django page, for a page rendered by Jinja2. The CSRF
    token is the Jinja2 backend's own (``csrf_token`` / ``csrf_input``), and ``request`` too."""
    from django.contrib.auth.context_processors import auth
    from django.contrib.messages.context_processors import messages
    from django.template.context_processors import i18n

    from prm.context_processors import portal

    return {**auth(request), **messages(request), **i18n(request), **portal(request)}
