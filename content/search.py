"""Content assets in the one search box (prm.search), through the asset policy. The library's own
full-text vector (English, kept by content.services.refresh_search) serves it."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from prm.search import SearchHit, SearchSource
from prm.tenancy import Actor

from .policies import asset_policy
from .services import SEARCH_CONFIG


def _assets(actor: Actor) -> QuerySet:
    return (
        asset_policy.scope(actor)
        .select_related("category")
        .only("pk", "title", "description", "category__name")
    )


def _hits(actor: Actor, assets: list[Any]) -> list[SearchHit]:
    return [
        SearchHit(
            title=asset.title,
            url=reverse("content:asset", args=[asset.pk]),
            detail=" · ".join(
                part for part in (asset.category.name, truncatechars(asset.description, 100)) if part
            ),
        )
        for asset in assets
    ]


def sources() -> list[SearchSource]:
    return [
        SearchSource(
            key="content.asset",
            label=_("Content"),
            rows=_assets,
            hits=_hits,
            vector="search",
            config=SEARCH_CONFIG,
            order_by=("title", "pk"),
            position=60,
        )
    ]
