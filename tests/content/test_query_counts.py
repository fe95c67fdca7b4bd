"""Content pages run the same number of queries for 1 row as for 50 (no N+1), under a sane bound:
the partner library (assets with categories, versions, tags), the home page panel, the vendor
report per asset, its per-partner view and both CSV exports."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import reverse

from content import services
from content.models import Announcement, Asset, AssetEvent, AssetKind, AssetStatus, AssetVersion, EventKind
from partners.models import PartnerRole
from tests import factories
from tests.content import factories as f
from tests.helpers import assert_constant_queries, in_element, login

pytestmark = pytest.mark.django_db


def visible_assets(**filters: Any) -> Callable[[], list[re.Pattern[str]]]:
    """The cards of the published assets this Registered partner may see (the Silver-only ones
    are hidden from it) matching ``filters``: each card must show its asset's title."""
    return lambda: [
        in_element(f"asset-{pk}", title)
        for pk, title in Asset.objects.filter(status=AssetStatus.PUBLISHED, tiers__isnull=True, **filters)
        .distinct()
        .values_list("pk", "title")
    ]


def csv_count(response: Any) -> int:
    return len(list(csv.reader(io.StringIO(response.content.decode())))) - 1


def bulk_assets(n: int, *, category: Any, cobrandable: bool = False) -> list[Asset]:
    """``n`` published assets, half files with a version and half links, with tags and tiers."""
    silver = factories.tier("Silver")
    assets = Asset.objects.bulk_create(
        Asset(
            title=f"Bulk asset {i}",
            category=category,
            kind=AssetKind.FILE if i % 2 else AssetKind.LINK,
            url="" if i % 2 else "https://example.com/x",
            status=AssetStatus.PUBLISHED,
            tags=[f"tag{i % 5}", "bulk"],
            cobrandable=cobrandable,
            cobrand_template="<p>{{ partner.legal_name }}</p>" if cobrandable else "",
        )
        for i in range(n)
    )
    versions = AssetVersion.objects.bulk_create(
        AssetVersion(
            asset=asset,
            number=1,
            file=f"content/assets/{asset.pk}/x.pdf",
            original_filename="x.pdf",
            size=100,
            content_type="application/pdf",
        )
        for asset in assets
        if asset.kind == AssetKind.FILE
    )
    for version in versions:
        Asset.objects.filter(pk=version.asset_id).update(current_version=version)
    for asset in assets:
        services.refresh_search(asset)
    Asset.tiers.through.objects.bulk_create(
        Asset.tiers.through(asset_id=asset.pk, tier_id=silver.pk) for asset in assets[::3]
    )
    return assets


def test_library_query_count_is_constant(partner: Any) -> None:
    me = f.member(partner, PartnerRole.MARKETING)
    f.asset("The first one", tags=["first"])
    category = f.category("Bulk")
    client = login(me.user)
    # Assets restricted to Silver are hidden from this Registered partner: 49 bulk assets, of which
    # every third is Silver-only (17), leaves 32 more for it; a 24-row page either way is full (the
    # other 9 are on the second page, where they are looked for too).
    assert_constant_queries(
        client,
        reverse("content:library"),
        lambda: bulk_assets(49, category=category),
        rows=lambda response: len(response.context["page"].object_list),
        shows=visible_assets(),
        small=1,
        large=24,
        warm=False,
    )
    assert_constant_queries(
        client,
        reverse("content:library"),
        lambda: None,
        rows=lambda response: len(response.context["page"].object_list),
        shows=visible_assets(kind=AssetKind.FILE, tags__contains=["bulk"]),
        small=16,
        large=16,
        params={"q": "bulk", "kind": "file"},
        warm=False,
    )


def test_partner_home_query_count_is_constant(partner: Any, partner_admin: Any, settings: Any) -> None:
    # The panel's own reads, not the minute the home keeps them (partners.panels.home_cached):
    # with the cache on, the grown list would show from the next minute on.
    settings.PRM = {**settings.PRM, "HOME_CACHE_SECONDS": 0}
    f.announcement("One")
    f.asset("First")
    category = f.category("Bulk")

    def grow() -> None:
        bulk_assets(49, category=category)
        for i in range(10):
            f.announcement(f"More {i}")

    def panel(response: Any) -> tuple[int, int]:
        """How many announcements and new assets the content panel shows."""
        text = response.content.decode().split('id="content-panel"', 1)[1]
        announcements = text.split("</ul>", 1)[0].count('class="list-group-item announcement"')
        newest = text.split("New in your library", 1)[1].split("</ul>", 1)[0].count("<li")
        return announcements, newest

    def shows() -> list[re.Pattern[str]]:
        """The five newest announcements, and the newest asset made through the services."""
        newest = Announcement.objects.order_by("-publish_at", "-pk")[:5]
        return [
            *(in_element(f"announcement-{item.pk}", item.title) for item in newest),
            re.compile(r'id="content-panel".*>First</a>', re.S),
        ]

    assert_constant_queries(
        login(partner_admin),
        reverse("home"),
        grow,
        rows=panel,
        shows=shows,
        small=(1, 1),
        large=(5, 3),
        warm=False,
    )


def _events(assets: list[Asset], partners: list[Any]) -> None:
    users = {p.pk: factories.partner_user(p) for p in partners}
    AssetEvent.objects.bulk_create(
        AssetEvent(partner=p, user=users[p.pk], asset=a, kind=kind)
        for a in assets
        for p in partners
        for kind in (EventKind.VIEW, EventKind.DOWNLOAD)
    )


@pytest.mark.parametrize("url_name", ["content:vendor_report", "content:vendor_report_export"])
def test_vendor_report_query_count_is_constant(partner: Any, url_name: str) -> None:
    first = f.asset("First")
    _events([first], [partner])
    category = f.category("Bulk")
    client = login(factories.vendor_user())

    def grow() -> None:
        _events(bulk_assets(49, category=category), [partner, factories.PartnerFactory()])

    def rows(response: Any) -> int:
        if url_name.endswith("export"):
            return csv_count(response)
        return len(response.context["page"].object_list)

    def shows() -> list[str | re.Pattern[str]]:
        """Each asset: its row (by id and title), or its id and title in the CSV."""
        assets = Asset.objects.values_list("pk", "title")
        if url_name.endswith("export"):
            return [f"{pk},{title}" for pk, title in assets]
        return [in_element(f"report-row-{pk}", title) for pk, title in assets]

    assert_constant_queries(
        client, reverse(url_name), grow, rows=rows, shows=shows, small=1, large=50, warm=False
    )


@pytest.mark.parametrize("url_name", ["content:vendor_report", "content:vendor_report_export"])
def test_vendor_report_per_partner_query_count_is_constant(partner: Any, url_name: str) -> None:
    deck = f.asset("Deck")
    _events([deck], [partner])
    client = login(factories.vendor_user())

    def rows(response: Any) -> int:
        if url_name.endswith("export"):
            return csv_count(response)
        return len(response.context["partner_rows"])

    def shows() -> list[str | re.Pattern[str]]:
        """Each partner that used the deck, by name."""
        names = set(AssetEvent.objects.filter(asset=deck).values_list("partner__legal_name", flat=True))
        if url_name.endswith("export"):
            return [f"Deck,{name}" for name in names]
        return [re.compile(rf"<tr><td>{re.escape(name)}</td>") for name in names]

    assert_constant_queries(
        client,
        reverse(url_name),
        lambda: _events([deck], factories.PartnerFactory.create_batch(49)),
        rows=rows,
        shows=shows,
        small=1,
        large=50,
        params={"asset": deck.pk},
        warm=False,
    )
