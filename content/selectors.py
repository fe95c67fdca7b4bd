"""Reads for the content library, every one through the policies: a partner's list, search,
detail and download can never disagree about what it is entitled to."""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import Count, F, Func, Max, Q, QuerySet
from django.http import Http404

from partners.policies import partner_scope_q
from prm.tenancy import Actor

from .models import Announcement, Asset, AssetEvent, AssetKind, AssetVersion, Category, EventKind
from .policies import announcement_policy, asset_policy
from .services import SEARCH_CONFIG

MAX_QUERY_LENGTH = 200


def asset_list(*, actor: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Asset]:
    """Assets the actor may see, narrowed by ``category`` (slug), ``kind``, ``tag`` and ``q``
    (full-text, web-search syntax: quoted phrases, ``or``, ``-word``), best match first."""
    filters = filters or {}
    # The search vector is read only by the search (in SQL), never shown.
    assets = asset_policy.scope(actor).select_related("category", "current_version").defer("search")
    if category := (filters.get("category") or "").strip():
        assets = assets.filter(category__slug=category)
    if (kind := filters.get("kind")) in AssetKind.values:
        assets = assets.filter(kind=kind)
    if tag := " ".join((filters.get("tag") or "").split()).lower():
        assets = assets.filter(tags__contains=[tag])
    if q := (filters.get("q") or "").strip()[:MAX_QUERY_LENGTH]:
        query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
        return (
            assets.filter(search=query)
            .annotate(rank=SearchRank(F("search"), query))
            .order_by("-rank", "-published_at", "pk")
        )
    return assets.order_by(F("published_at").desc(nulls_last=True), "title", "pk")


def asset_get(*, actor: Actor, pk: Any) -> Asset:
    """One asset the actor may see; anything else, however it is missing, is the same 404."""
    return asset_policy.get_or_404(actor, Asset.objects.select_related("category", "current_version"), pk=pk)


def asset_versions(*, asset: Asset) -> list[AssetVersion]:
    """The versions of an asset the caller already obtained through the policy, newest first."""
    return list(AssetVersion.objects.filter(asset=asset).select_related("uploaded_by").order_by("-number"))


def library_categories(*, actor: Actor) -> list[Category]:
    """Categories with how many visible assets each holds (empty ones left out), in one pass over
    the visible assets grouped by category: counting every category's assets against a subquery
    of the visible ones read the whole table once per category."""
    rows = (
        asset_policy.scope(actor)
        .order_by()
        .values("category_id", "category__name", "category__slug")
        .annotate(asset_total=Count("pk"))
        .order_by("category__name", "category_id")
    )
    categories = []
    for row in rows:
        category = Category(pk=row["category_id"], name=row["category__name"], slug=row["category__slug"])
        category.asset_total = row["asset_total"]
        categories.append(category)
    return categories


def library_tags(*, actor: Actor, limit: int = 30) -> list[str]:
    """The tags on visible assets, most used first (one query: the arrays are unnested in SQL)."""
    rows = (
        asset_policy.scope(actor)
        .annotate(tag=Func(F("tags"), function="unnest"))
        .order_by()
        .values("tag")
        .annotate(n=Count("pk"))
        .order_by("-n", "tag")[:limit]
    )
    return [row["tag"] for row in rows]


def announcements_for(*, actor: Actor, limit: int = 5) -> list[Announcement]:
    return list(announcement_policy.scope(actor).order_by("-publish_at", "-pk")[:limit])


def newest_assets(*, actor: Actor, limit: int = 3) -> list[Asset]:
    return list(asset_list(actor=actor)[:limit])


# --- Vendor report -------------------------------------------------------------------------------
def usage_by_asset(*, actor: Actor) -> QuerySet[Asset]:
    """Every asset with its view, download and co-branding counts, from the partners the actor
    works (a channel account manager: their portfolio). One grouped query however many rows."""
    events_q = partner_scope_q(actor, "events__partner")
    annotations = {
        f"{kind}_total": Count("events", filter=events_q & Q(events__kind=kind)) for kind in EventKind.values
    }
    return (
        Asset.objects.select_related("category")
        .annotate(**annotations, partner_total=Count("events__partner", filter=events_q, distinct=True))
        .order_by("-download_total", "-view_total", "title", "pk")
    )


def usage_by_partner(*, actor: Actor, asset: Asset) -> list[dict[str, Any]]:
    """One asset's use per partner (and how many of its people), within the actor's scope."""
    rows = (
        AssetEvent.objects.filter(partner_scope_q(actor), asset=asset)
        .order_by()
        .values("partner_id", "partner__legal_name", "partner__tier__name")
        .annotate(
            **{f"{kind}_total": Count("pk", filter=Q(kind=kind)) for kind in EventKind.values},
            people=Count("user", distinct=True),
            last_at=Max("at"),
        )
        .order_by("partner__legal_name", "partner_id")
    )
    return list(rows)


def asset_for_report(*, actor: Actor, pk: Any) -> Asset:
    if not actor.is_vendor:
        raise Http404
    return asset_get(actor=actor, pk=pk)
