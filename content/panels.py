"""The content panels (see partners.panels.app_panels): on the partner home page, the announcements
the partner is entitled to now and the newest assets in its library; on the partner 360 page, what
the partner's people downloaded lately."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Max, Q
from django.http import HttpRequest
from django.utils import timezone

from partners.panels import home_cached

from . import selectors
from .kpis import DOWNLOADS
from .models import EventKind
from .policies import asset_event_policy

# The partner 360 page's window and how many assets it ranks.
ENGAGEMENT_DAYS = 90
TOP_ASSETS = 5


def partner_home_panel(request: HttpRequest) -> dict[str, Any] | None:
    actor = request.actor
    if not actor.is_partner:
        return None
    # What the partner is entitled to changes when the vendor publishes: kept per partner, role
    # and language for a minute (partners.panels.home_cached), two queries fewer on most visits.
    return home_cached(request, "content", lambda: _home_panel(actor))


def _home_panel(actor: Any) -> dict[str, Any] | None:
    announcements = selectors.announcements_for(actor=actor)
    newest = selectors.newest_assets(actor=actor)
    if not announcements and not newest:
        return None
    return {
        "template": "content/_home_panel.html",
        # Its markup is kept with its data for the minute (partners.views._panel_html).
        "html_cached_as": "content",
        "announcements": announcements,
        "newest": newest,
    }


def partner_360_panel(request: HttpRequest, *, partner: Any) -> dict[str, Any] | None:
    """Content engagement over the last ENGAGEMENT_DAYS days: downloads (a co-branded PDF is one
    too, as in the scorecard's KPI), views, the people downloading, the last activity, and the most
    downloaded assets. Not money: every vendor role that sees the partner sees it. Two queries."""
    actor = request.actor
    since = timezone.now() - timedelta(days=ENGAGEMENT_DAYS)
    events = asset_event_policy.scope(actor).filter(partner_id=partner.pk, at__gte=since).order_by()
    downloads = Q(kind__in=DOWNLOADS)
    totals = events.aggregate(
        downloads=Count("pk", filter=downloads),
        views=Count("pk", filter=Q(kind=EventKind.VIEW)),
        people=Count("user_id", filter=downloads, distinct=True),
        last=Max("at"),
    )
    top = list(
        events.filter(downloads)
        .values("asset_id", "asset__title")
        .annotate(n=Count("*"))
        .order_by("-n", "asset__title")[:TOP_ASSETS]
    )
    return {
        "template": "content/_partner_360_panel.html",
        "days": ENGAGEMENT_DAYS,
        **totals,
        "top": top,
    }
