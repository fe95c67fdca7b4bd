"""The main navigation, rendered once per (side and role, page, language) and kept in the process.

The navigation bar's links are the same for everybody of one role on one page in one language: a
few dozen ``{% url %}``, ``{% translate %}`` and ``{% if %}`` that every page rendered again (about
a millisecond and a half of each partner page). The layout (templates/jinja2/layout/chrome.html,
prm/layout.py) renders its ``"main"`` list and the links of its user menu (``"user"``) once per key
through :func:`fragment` and reuses the HTML; ``{% cached_navigation "name" %}…{% endcached_navigation %}``
does the same for a block of a Django template.

What the key holds is everything the block may read, and the block may read nothing else: the
actor's side (vendor / partner / neither) and roles, the partner's gate (onboarding or suspended:
partners.middleware.partner_gate), whether the user has admin access, the
current URL's namespace and name (the active link), the language and the URL prefix. **No tenant
or personal data goes inside** (a partner's name, the user's e-mail, unread counts, the CSRF
token stay outside the block in the layout), so the same HTML is right for every partner and
person with that key; tests/prm/test_navigation_cache.py checks both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django import template
from django.conf import settings
from django.core.signals import setting_changed
from django.urls import get_script_prefix
from django.utils import translation

register = template.Library()

# Roles × pages × languages: a few thousand at most; past this the cache starts again.
MAX_ENTRIES = 4096

_fragments: dict[tuple, str] = {}
_lock = threading.Lock()


def clear() -> None:
    with _lock:
        _fragments.clear()


def _clear_on_setting_change(**kwargs: Any) -> None:
    clear()


setting_changed.connect(_clear_on_setting_change, dispatch_uid="prm.navigation_cache")


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


def navigation_key(context: template.Context) -> tuple:
    return navigation_key_of(context.get("request"), context.get("actor"))


def fragment(name: str, key: tuple, render: Callable[[], str]) -> str:
    """The block ``name`` for ``key`` (navigation_key_of), rendered by ``render`` the first time and
    kept; the Django tag below and the Jinja2 layout (prm/layout.py) share the store."""
    if settings.DEBUG:  # templates change while developing
        return render()
    full_key = (name, *key)
    html = _fragments.get(full_key)
    if html is None:
        html = str(render())
        with _lock:
            if len(_fragments) >= MAX_ENTRIES:
                _fragments.clear()
            _fragments[full_key] = html
    return html


class CachedNavigationNode(template.Node):
    def __init__(self, nodelist: template.NodeList, name: str) -> None:
        self.nodelist = nodelist
        self.name = name

    def render(self, context: template.Context) -> str:
        return fragment(self.name, navigation_key(context), lambda: self.nodelist.render(context))


@register.tag("cached_navigation")
def cached_navigation(parser: template.base.Parser, token: template.base.Token) -> CachedNavigationNode:
    """``{% cached_navigation "name" %}…{% endcached_navigation %}``: each named block of links is
    kept apart (the main menu, the links of the user menu)."""
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError('Use {% cached_navigation "name" %}')
    nodelist = parser.parse(("endcached_navigation",))
    parser.delete_first_token()
    return CachedNavigationNode(nodelist, bits[1][1:-1])
