"""Content pages run the same number of queries for 1 row as for 50 (no N+1), under a sane bound:
the partner library (assets with categories, versions, tags), the home page panel, the vendor
report per asset, its per-partner view and both CSV exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from content import services
from content.models import Asset, AssetEvent, AssetKind, AssetStatus, AssetVersion, EventKind
from partners.models import PartnerRole
from tests import factories
from tests.content import factories as f
from tests.exports import exported_with_queries, is_export

pytestmark = pytest.mark.django_db

SANE_BOUND = 30


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


def count_queries(client: Client, url: str) -> tuple[int, Any]:
    if is_export(url):
        return exported_with_queries(client, url)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response
    return len(context.captured_queries), response


def assert_constant(
    client: Client, url: str, grow: Callable[[], None], rows: Callable[[Any], int], sizes: tuple[int, int]
) -> None:
    small, small_response = count_queries(client, url)
    grow()
    large, large_response = count_queries(client, url)
    assert rows(small_response) == sizes[0]
    assert rows(large_response) == sizes[1]
    assert small == large, f"{url}: {small} queries for {sizes[0]} row(s), {large} for {sizes[1]}"
    assert large <= SANE_BOUND, f"{url}: {large} queries"


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
    # every third is Silver-only (17), leaves 32 more for it; a 24-row page either way is full.
    assert_constant(
        client,
        reverse("content:library"),
        lambda: bulk_assets(49, category=category),
        lambda response: len(response.context["page"].object_list),
        (1, 24),
    )
    assert_constant(
        client,
        reverse("content:library") + "?q=bulk&kind=file",
        lambda: None,
        lambda response: len(response.context["page"].object_list),
        (16, 16),
    )


def test_partner_home_query_count_is_constant(partner: Any, partner_admin: Any) -> None:
    f.announcement("One")
    f.asset("First")
    category = f.category("Bulk")

    def grow() -> None:
        bulk_assets(49, category=category)
        for i in range(10):
            f.announcement(f"More {i}")

    client = login(partner_admin)
    small, _ = count_queries(client, reverse("home"))
    grow()
    large, response = count_queries(client, reverse("home"))
    assert small == large
    assert 'id="content-panel"' in response.content.decode()


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
            return len(list(csv.reader(io.StringIO(response.content.decode())))) - 1
        return len(response.context["page"].object_list)

    assert_constant(client, reverse(url_name), grow, rows, (1, 50))


@pytest.mark.parametrize("url_name", ["content:vendor_report", "content:vendor_report_export"])
def test_vendor_report_per_partner_query_count_is_constant(partner: Any, url_name: str) -> None:
    deck = f.asset("Deck")
    _events([deck], [partner])
    client = login(factories.vendor_user())

    def rows(response: Any) -> int:
        if url_name.endswith("export"):
            return len(list(csv.reader(io.StringIO(response.content.decode())))) - 1
        return len(response.context["partner_rows"])

    assert_constant(
        client,
        reverse(url_name) + f"?asset={deck.pk}",
        lambda: _events([deck], factories.PartnerFactory.create_batch(49)),
        rows,
        (1, 50),
    )
