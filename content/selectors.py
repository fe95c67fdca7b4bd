"""Reads for the content library, every one through the policies: a partner's list, search,
detail and download can never disagree about what it is entitled to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Count, F, Func, Max, Min, Q, QuerySet
from django.http import Http404
from django.template.defaultfilters import filesizeformat, truncatewords
from django.utils import timezone, translation

from partners.policies import partner_scope_q
from prm import catalogue_cache
from prm.tenancy import Actor

from .models import (
    Announcement,
    Asset,
    AssetEvent,
    AssetKind,
    AssetStatus,
    AssetVersion,
    Category,
    EventKind,
)
from .policies import announcement_policy, asset_policy, audience_key
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


# --- The library page: what every partner of an audience sees alike, kept (prm.catalogue_cache) --
@dataclass(frozen=True, slots=True)
class LibraryAsset:
    """An asset as the library's card shows it. ``description``: cut to 24 words and ``size`` the
    version's size as words ("1.2 MB"), in the language it was made for."""

    pk: int
    title: str
    description: str
    category_name: str
    category_slug: str
    kind: str
    content_type: str  # the current version's; empty for a link or a file with no version yet
    size: str  # empty for a link or a file with no version yet
    cobrandable: bool
    tags: tuple[str, ...]

    @classmethod
    def of(cls, asset: Asset) -> LibraryAsset:
        """From an asset read with its category and current version (:func:`asset_list`)."""
        version = asset.current_version
        return cls(
            pk=asset.pk,
            title=asset.title,
            description=truncatewords(asset.description, 24),
            category_name=asset.category.name,
            category_slug=asset.category.slug,
            kind=asset.kind,
            content_type=(version.content_type or "") if version is not None else "",
            size=filesizeformat(version.size) if version is not None else "",
            cobrandable=asset.cobrandable,
            tags=tuple(asset.tags),
        )


@dataclass(frozen=True, slots=True)
class LibraryCategory:
    slug: str
    name: str
    asset_total: int


@dataclass(frozen=True, slots=True)
class Library:
    """Everything the library shows an audience: the assets in the list's order (newest first),
    the categories with their counts and the most used tags."""

    assets: tuple[LibraryAsset, ...]
    categories: tuple[LibraryCategory, ...]
    tags: tuple[str, ...]


LIBRARY_CACHE = "content"


def _next_change_of_window() -> datetime | None:
    """The next moment a published asset enters or leaves its window (``publish_at``,
    ``expires_at``): what a partner sees changes then, with no write to tell."""
    now = timezone.now()
    published = Asset.objects.filter(status=AssetStatus.PUBLISHED)
    moments = published.aggregate(
        opens=Min("publish_at", filter=Q(publish_at__gt=now)),
        closes=Min("expires_at", filter=Q(expires_at__gt=now)),
    )
    return min((moment for moment in moments.values() if moment is not None), default=None)


def _library_fingerprint() -> tuple[int, str, int, int]:
    """How many assets there are, the latest change to one, and how many tier rules (and the
    newest): in the kept library's key, so that a write no signal reports (a bulk insert, an
    ``update`` that sets ``updated_at``) is seen by the next request. Vendor content, counted
    across the program: it tells nothing about any partner."""
    assets, tiers = Asset._meta.db_table, Asset.tiers.through._meta.db_table
    with connection.cursor() as cursor:
        # Plain SQL: this runs on every request, and the ORM would take longer to write it than
        # PostgreSQL to answer it.
        cursor.execute(
            f"SELECT count(*), max(updated_at), (SELECT count(*) FROM {tiers}),"  # noqa: S608 -- the models' tables
            f" (SELECT coalesce(max(id), 0) FROM {tiers}) FROM {assets}"
        )
        count, changed, tier_rules, newest_rule = cursor.fetchone()
    return count, changed.isoformat() if changed else "", tier_rules, newest_rule


def _read_library(actor: Actor) -> tuple[Library, datetime | None]:
    until = _next_change_of_window()
    library = Library(
        assets=tuple(LibraryAsset.of(asset) for asset in asset_list(actor=actor)),
        categories=tuple(
            LibraryCategory(slug=category.slug, name=category.name, asset_total=category.asset_total)
            for category in library_categories(actor=actor)
        ),
        tags=tuple(library_tags(actor=actor)),
    )
    return library, until


def library(*, actor: Actor) -> Library:
    """The assets, categories and tags the actor's partner is entitled to now, kept for every
    partner of the same audience (prm.catalogue_cache) until the library changes or an asset's
    window opens or closes. The key names all it depends on: the audience (content.policies.
    audience_key: tier, partner type, region), the language (the cut descriptions, the sizes) and
    the library's fingerprint. A partner's own use of the library (views, downloads) is not in it."""
    if not actor.is_partner:
        return Library(assets=(), categories=(), tags=())
    return catalogue_cache.cached(
        LIBRARY_CACHE,
        (*audience_key(actor), translation.get_language(), *_library_fingerprint()),
        lambda: _read_library(actor),
    )


def filter_library(assets: tuple[LibraryAsset, ...], filters: dict[str, Any]) -> list[LibraryAsset]:
    """:func:`asset_list`'s ``category``, ``kind`` and ``tag`` filters, on the kept assets (its
    full-text ``q`` is for the database)."""
    listed = list(assets)
    if category := (filters.get("category") or "").strip():
        listed = [asset for asset in listed if asset.category_slug == category]
    if (kind := filters.get("kind")) in AssetKind.values:
        listed = [asset for asset in listed if asset.kind == kind]
    if tag := " ".join((filters.get("tag") or "").split()).lower():
        listed = [asset for asset in listed if tag in asset.tags]
    return listed


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
