"""The panels hook: how an app contributes a panel to a page of an app below it without that app
importing it (the ladder in ARCHITECTURE.md).

An app's config names a function for a hook, as a dotted path in a class attribute (or a list of
them, in order, when the app has more than one panel for the page)::

    class DealsConfig(AppConfig):
        partner_home_panel = "deals.panels.partner_home_panel"

and the page calls ``app_panels("partner_home_panel", request)``. Each function takes the request
and the keyword arguments the page passes for that hook (``fund_request=`` on an MDF request) and
returns a dict with the ``template`` to include (and whatever that template shows), or None to show
nothing. The hooks in use:

* ``partner_home_panel(request)``, ``vendor_home_panel(request)``: the partner home and the vendor
  dashboard (partners);
* ``company_panel(request, *, partner)``: the partner's company page (partners);
* ``mdf_request_panel(request, *, fund_request)``: an MDF request's page;
* ``mdf_report_panel(request)``, ``mdf_report_csv_rows(request)``: the vendor's MDF report and its
  CSV export (a list of rows keyed by the export's column names). The export is built by Celery
  (prm.exports), so ``mdf_report_csv_rows`` gets a request that carries only ``actor`` and ``user``;
* ``partner_360_panel(request, *, partner)``: a card on the partner 360 page (partners.vendor_360),
  for vendor staff looking at one partner they may see. The panel scopes its own reads with its
  app's policies (a channel account manager's portfolio), returns None for a role that has no
  business with it (money panels: the money-blind roles, ``partners.policies.sees_partner_business``)
  and keeps to two or three queries whatever the partner's size. Its template is a whole card;
  ``columns`` (optional) are its grid classes, "col-lg-6 col-xxl-4" by default.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.module_loading import import_string

T = TypeVar("T")

# How long the partner home keeps what changes rarely (the content panel, the tier progress): a
# new announcement or asset, or the nightly scorecard's figures, show within this many seconds.
HOME_CACHE_SECONDS = 60


def app_panels(hook: str, request: HttpRequest, **context: Any) -> list[Any]:
    """What every installed app contributes to ``hook``, in INSTALLED_APPS order; empty answers
    are left out."""
    panels = []
    for config in apps.get_app_configs():
        paths = getattr(config, hook, None) or ()
        # One dotted path, or a list of them when an app has more than one panel for a page.
        for path in [paths] if isinstance(paths, str) else paths:
            panel = _imported(path)(request, **context)
            if panel:
                panels.append(panel)
    return panels


@functools.cache
def _imported(path: str) -> Callable[..., Any]:
    """The function at a dotted path, imported once per process, not on every page."""
    return import_string(path)


# The names the partner home keeps (home_cached): its panels' data and markup and the tier figures.
HOME_CACHED_NAMES = ("content", "content:html", "plan", "plan:html", "tier", "tier:html")


def _home_cache_key(request: HttpRequest, name: str, partner: Any, seconds: int) -> str | None:
    """home_cached's key for ``name``, or None where nothing is kept (not the actor's partner)."""
    actor = request.actor
    partner = partner if partner is not None else actor.partner
    if not seconds or not actor.is_partner or partner is None or partner.pk != actor.partner_id:
        return None
    window = int(timezone.now().timestamp() // seconds)
    return ":".join(
        str(part)
        for part in (
            "home",
            name,
            partner.pk,
            partner.tier_id,
            partner.partner_type,
            partner.region,
            actor.partner_role,
            translation.get_language(),
            window,
        )
    )


def home_cache_prefetch(request: HttpRequest, names: tuple[str, ...] = HOME_CACHED_NAMES) -> None:
    """Reads what the home keeps under ``names`` in one round trip (a Redis MGET) instead of one
    GET each (six on the home: about a millisecond of its CPU); home_cached then takes them from
    the request. A key not found is read as not kept, as a GET would have said."""
    seconds = settings.PRM.get("HOME_CACHE_SECONDS", HOME_CACHE_SECONDS)
    keys = [key for key in (_home_cache_key(request, name, None, seconds) for name in names) if key]
    if keys:
        found = cache.get_many(keys)
        request._home_kept = {key: found.get(key) for key in keys}  # type: ignore[attr-defined]


def home_cached(request: HttpRequest, name: str, compute: Callable[[], T], *, partner: Any = None) -> T:
    """``compute()`` for the partner home, kept for the current window of HOME_CACHE_SECONDS.

    For reads that change rarely and cost the home a query or two each (the content panel, the
    tier progress). The key names everything the answer may depend on, so no one else ever gets
    it: the partner (``partner``, else the actor's), the partner's tier, type and region (which
    content and the tier figures follow: a tier move shows at once), the actor's partner role
    (money-blind roles see less), the language, and the window (``timezone.now()`` in whole
    periods of HOME_CACHE_SECONDS), so what a write changes shows at the latest when the next
    window starts. PRM["HOME_CACHE_SECONDS"] = 0 turns it off. What home_cache_prefetch read for
    this request under the same key is taken from the request (once) instead of Redis."""
    seconds = settings.PRM.get("HOME_CACHE_SECONDS", HOME_CACHE_SECONDS)
    key = _home_cache_key(request, name, partner, seconds)
    if key is None:
        return compute()
    prefetched: dict[str, Any] = getattr(request, "_home_kept", {})
    kept = prefetched.pop(key) if key in prefetched else cache.get(key)
    if kept is None:
        # Kept in a 1-tuple: a panel that shows nothing (None) is an answer worth keeping too.
        kept = (compute(),)
        cache.set(key, kept, seconds)
    return kept[0]
