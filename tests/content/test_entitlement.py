"""Which assets and announcements a partner is entitled to: published, inside the window, and
matching every non-empty rule of tier, partner type and region. The policy is the one place that
decides, so the matrix runs through ``asset_list``/``asset_get`` and the announcement selector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.http import Http404
from django.utils import timezone

from content import selectors, services
from content.models import AssetStatus
from partners.models import PartnerType, Region
from tests import factories
from tests.content import factories as f

pytestmark = pytest.mark.django_db

NOW = timezone.now


def _gold_msp_emea() -> Any:
    return f.member(f.partner("Gold", PartnerType.MSP, Region.EMEA))


@pytest.mark.parametrize(
    ("rules", "entitled"),
    [
        ({}, True),
        ({"tiers": ["Gold"]}, True),
        ({"tiers": ["Gold", "Platinum"]}, True),
        ({"tiers": ["Silver"]}, False),
        ({"partner_types": [PartnerType.MSP]}, True),
        ({"partner_types": [PartnerType.RESELLER, PartnerType.MSP]}, True),
        ({"partner_types": [PartnerType.RESELLER]}, False),
        ({"regions": [Region.EMEA]}, True),
        ({"regions": [Region.APAC, Region.NORTH_AMERICA]}, False),
        ({"tiers": ["Gold"], "partner_types": [PartnerType.MSP], "regions": [Region.EMEA]}, True),
        ({"tiers": ["Gold"], "partner_types": [PartnerType.MSP], "regions": [Region.APAC]}, False),
        ({"tiers": ["Silver"], "partner_types": [PartnerType.MSP], "regions": [Region.EMEA]}, False),
        ({"publish_at": "past"}, True),
        ({"publish_at": "future"}, False),
        ({"expires_at": "future"}, True),
        ({"expires_at": "past"}, False),
    ],
)
def test_audience_rules_matrix(rules: dict[str, Any], entitled: bool) -> None:
    rules = dict(rules)
    for key in ("publish_at", "expires_at"):
        if key in rules:
            rules[key] = NOW() + (timedelta(days=3) if rules[key] == "future" else -timedelta(days=3))
    asset = f.asset("Matrix asset", **rules)
    actor = _gold_msp_emea()
    listed = list(selectors.asset_list(actor=actor))
    assert (asset in listed) is entitled
    assert _opens(actor, asset) is entitled


def _opens(actor: Any, asset: Any) -> bool:
    """Whether ``asset_get`` gives the asset (True) or the usual 404 (False)."""
    try:
        return selectors.asset_get(actor=actor, pk=asset.pk) == asset
    except Http404:
        return False


def test_the_window_opens_at_publish_at_and_closes_at_expires_at_to_the_second() -> None:
    opens, closes = datetime(2027, 12, 31, 23, 0, tzinfo=UTC), datetime(2028, 3, 1, 0, 0, tzinfo=UTC)
    with time_machine.travel(opens - timedelta(days=1), tick=False):
        asset = f.asset("Windowed asset", publish_at=opens, expires_at=closes)
        actor = _gold_msp_emea()
    for moment, visible in [
        (opens - timedelta(seconds=1), False),
        (opens, True),
        (closes - timedelta(seconds=1), True),  # 29 February 2028, 23:59:59
        (closes, False),
    ]:
        with time_machine.travel(moment, tick=False):
            assert (asset in selectors.asset_list(actor=actor), _opens(actor, asset)) == (visible, visible), (
                moment
            )


def test_asset_open_to_several_tiers_is_listed_once() -> None:
    asset = f.asset(tiers=["Registered", "Silver", "Gold", "Platinum"])
    assert list(selectors.asset_list(actor=_gold_msp_emea())) == [asset]


@pytest.mark.parametrize("status", [AssetStatus.DRAFT, AssetStatus.ARCHIVED])
def test_only_published_assets_are_visible_to_partners(status: str) -> None:
    asset = f.asset(publish=False)
    if status == AssetStatus.ARCHIVED:
        services.asset_archive(actor=f.manager(), asset=asset)
    actor = _gold_msp_emea()
    assert not selectors.asset_list(actor=actor).exists()
    with pytest.raises(Http404):
        selectors.asset_get(actor=actor, pk=asset.pk)
    # Vendor staff see every asset, whatever its status and audience.
    assert selectors.asset_get(actor=factories.vendor_actor(), pk=asset.pk) == asset


def test_missing_and_not_entitled_are_the_same_404() -> None:
    actor = f.member(f.partner("Silver"))
    gold_only = f.asset(tiers=["Gold"])
    for pk in (gold_only.pk, 987_654_321, "not-a-number"):
        with pytest.raises(Http404):
            selectors.asset_get(actor=actor, pk=pk)


@pytest.mark.parametrize(
    ("rules", "entitled"),
    [
        ({}, True),
        ({"tiers": ["Gold"]}, True),
        ({"tiers": ["Registered"]}, False),
        ({"regions": [Region.EMEA]}, True),
        ({"regions": [Region.LATIN_AMERICA]}, False),
        ({"partner_types": [PartnerType.ISV]}, False),
        ({"publish_at": "future"}, False),
        ({"expires_at": "past"}, False),
    ],
)
def test_announcements_follow_the_same_rules(rules: dict[str, Any], entitled: bool) -> None:
    rules = dict(rules)
    for key in ("publish_at", "expires_at"):
        if key in rules:
            rules[key] = NOW() + (timedelta(days=3) if rules[key] == "future" else -timedelta(days=3))
    if rules.get("expires_at") and "publish_at" not in rules:
        rules["publish_at"] = NOW() - timedelta(days=10)
    item = f.announcement("Kick-off", **rules)
    assert (item in selectors.announcements_for(actor=_gold_msp_emea())) is entitled
