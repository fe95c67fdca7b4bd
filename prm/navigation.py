"""The main navigation, rendered once per (side and role, page, language) and kept in the process.

The navigation bar's links are the same for everybody of one role on one page in one language: a
few dozen links, translations and conditions that every page rendered again (about a millisecond
and a half of each partner page). The layout (templates/jinja2/layout/chrome.html, prm/layout.py)
renders its ``"main"`` list and the links of its user menu (``"user"``) once per key through
:func:`fragment` and reuses the HTML; the Django tag ``{% cached_navigation %}``
(prm/templatetags/prm_navigation.py) does the same for a block of a Django template.

What the key holds is everything the block may read, and the block may read nothing else: the
actor's side (vendor / partner / neither) and roles, the partner's gate (onboarding or suspended:
partners.middleware.partner_gate), whether the user has admin access, the
current URL's namespace and name (the active link), the language and the URL prefix. **No tenant
or personal data goes inside** (a partner's name, the user's e-mail, unread counts, the CSRF
token stay outside the block in the layout), so the same HTML is right for every partner and
person with that key; tests/prm/test_navigation_cache.py checks both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix
from django.utils import translation

from prm.kept import EVERY_SETTING, Kept

# Roles × pages × languages: a few thousand at most; past this the cache starts again.
MAX_ENTRIES = 4096

_fragments: Kept[tuple, str] = Kept(MAX_ENTRIES, forget_on=EVERY_SETTING)


def clear() -> None:
    _fragments.clear()


def navigation_key_of(request: Any, actor: Any) -> tuple:
    """The key of a page's navigation: everything the blocks may read (see above)."""
    user = getattr(request, "user", None)
    match = getattr(request, "resolver_match", None)
    return (
        bool(getattr(actor, "is_vendor", False)),
        bool(getattr(actor, "is_partner", False)),
        getattr(actor, "vendor_role", "") or "",
        getattr(actor, "partner_role", "") or "",
        getattr(request, "partner_gate", None) or "",
        bool(getattr(user, "is_staff", False)),
        getattr(match, "namespace", None),
        getattr(match, "url_name", None),
        translation.get_language(),
        get_script_prefix(),
    )


def fragment(name: str, key: tuple, render: Callable[[], str]) -> str:
    """The block ``name`` for ``key`` (navigation_key_of), rendered by ``render`` the first time and
    kept; the Django tag (prm/templatetags/prm_navigation.py) and the Jinja2 layout (prm/layout.py)
    share the store."""
    if settings.DEBUG:  # templates change while developing
        return render()
    full_key = (name, *key)
    html = _fragments.get(full_key)
    if html is None:
        html = _fragments.keep(full_key, str(render()))
    return html
