"""A channel account manager's deal lists at scale (bench/README.md, "Vendor pages at full size"):
the portfolio is read by the ids resolved with the actor (what row-level security holds them to),
a tier, region or customer-name filter becomes candidate ids first, a product filter reads the
portfolio's lines. The rows are the program admin's rows of the portfolio for every filter, on
either path (candidate ids, or the join when there are too many), and nothing outside it."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from deals import selectors
from deals.models import Deal
from deals.policies import deal_policy
from prm.tenancy import Actor
from tests.deals import factories as f
from tests.helpers import login
from tests.scoping import acting

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(team_a: f.Team, team_b: f.Team, vendor_admin: Actor) -> dict[str, Any]:
    firewall = f.product("Firewall X", price="100.00")
    switch = f.product("Core Switch", price="10.00", line="Network")
    silver = f.team("Silverline Partners", tier="Silver", region="emea")
    outsider = f.team("Outsider Ltd", tier="Gold")
    deals = {
        "a1": f.submitted(
            team_a.sales_actor,
            customer="Initech Software GmbH",
            domain="c1.example",
            lines=[f.line(firewall, 1)],
        ),
        "a2": f.submitted(
            team_a.sales_actor, customer="Umbrella Software", domain="c2.example", lines=[f.line(switch, 2)]
        ),
        "s1": f.submitted(
            silver.sales_actor, customer="Hooli Software", domain="c3.example", lines=[f.line(firewall, 1)]
        ),
        "s2": f.submitted(
            silver.sales_actor,
            customer="Vandelay Imports",
            domain="c4.example",
            lines=[f.line(firewall, 1), f.line(switch, 1)],
        ),
        "o1": f.submitted(
            outsider.sales_actor,
            customer="Initech Software AG",
            domain="c5.example",
            lines=[f.line(firewall, 1)],
        ),
        "draft": f.draft(
            team_a.sales_actor,
            customer="Initech Draft Software",
            domain="c6.example",
            lines=[f.line(firewall, 1)],
        ),
    }
    cam = f.cam_for(team_a.partner, silver.partner)
    return {"cam": cam, "firewall": firewall, "switch": switch, "silver": silver, "outsider": outsider,
            "deals": deals, "a": team_a}  # fmt: skip


def listed(actor: Actor, filters: dict[str, Any], list_name: str = "deal_list") -> list[int]:
    with acting(actor):
        return list(getattr(selectors, list_name)(actor=actor, filters=filters).values_list("pk", flat=True))


def filter_choices(world: dict[str, Any]) -> list[dict[str, Any]]:
    silver = world["silver"].partner
    return [
        {},
        {"tier": silver.tier_id},
        {"region": silver.region},
        {"tier": world["a"].partner.tier_id, "region": world["a"].partner.region},
        {"product": world["firewall"].pk},
        {"product": world["switch"].pk, "tier": silver.tier_id},
        {"q": "initech"},
        {"q": "software"},
        {"q": world["deals"]["s2"].reference},
    ]


@pytest.mark.parametrize("narrow_ids", [5_000, 0])
@pytest.mark.parametrize("list_name", ["deal_list", "review_queue"])
def test_a_cam_lists_the_program_admins_rows_of_the_portfolio(
    world: dict[str, Any],
    vendor_admin: Actor,
    monkeypatch: pytest.MonkeyPatch,
    narrow_ids: int,
    list_name: str,
) -> None:
    # SEARCH_KEYS 1: "software" matches more names than that, the path where a portfolio's list
    # looks the names' deals up first. NARROW_IDS 0: every filter stays a join instead.
    monkeypatch.setattr(selectors, "SEARCH_KEYS", 1)
    monkeypatch.setattr(selectors, "NARROW_IDS", narrow_ids)
    cam = world["cam"]
    portfolio = set(cam.portfolio)
    outsider = world["deals"]["o1"].pk
    for filters in filter_choices(world):
        everyone = listed(vendor_admin, filters, list_name)
        mine = listed(cam, filters, list_name)
        expected = [pk for pk in everyone if Deal.objects.get(pk=pk).partner_id in portfolio]
        assert mine == expected, filters
        assert outsider not in mine and world["deals"]["draft"].pk not in mine
    assert listed(cam, {"q": "software"}) == [world["deals"][key].pk for key in ("s1", "a2", "a1")]
    assert listed(cam, {"product": world["switch"].pk}) == [world["deals"][key].pk for key in ("s2", "a2")]


def test_the_portfolio_is_read_by_its_resolved_ids(world: dict[str, Any]) -> None:
    """Not a subquery of the permission table, which row-level security made PostgreSQL expect
    one row of (it then read every deal of the portfolio before any other condition); a tier
    filter names the portfolio's partners of that tier instead of joining every deal to its
    partner."""
    cam = world["cam"]
    with acting(cam):
        sql = str(deal_policy.scope(cam).query)
        by_tier = str(
            selectors.deal_list(actor=cam, filters={"tier": world["silver"].partner.tier_id})
            .values_list("pk", flat=True)
            .query
        )
    assert "partneruserobjectpermission" not in sql
    assert "partners_partner" not in by_tier.split(" WHERE ")[0], by_tier
    # An empty portfolio lists nothing.
    nobody = f.cam_for()
    assert nobody.portfolio == ()
    assert listed(nobody, {}) == [] and listed(nobody, {"tier": world["silver"].partner.tier_id}) == []


def test_the_cams_admin_changelist_and_pages_stay_in_the_portfolio(world: dict[str, Any]) -> None:
    client = login(world["cam"].user)
    deals = world["deals"]
    # The changelist reads the portfolio through deal_policy, by its resolved ids.
    changelist = client.get(reverse("admin:deals_deal_changelist")).context["cl"]
    assert "partneruserobjectpermission" not in str(changelist.queryset.query)
    for params in ({}, {"q": "initech"}, {"partner__tier__id__exact": world["silver"].partner.tier_id}):
        body = client.get(reverse("admin:deals_deal_changelist"), params).content.decode()
        assert deals["o1"].reference not in body and deals["draft"].reference not in body, params
    assert deals["a1"].reference in client.get(reverse("admin:deals_deal_changelist")).content.decode()
    outsider = deals["o1"].pk
    assert client.get(reverse("admin:deals_deal_change", args=[outsider])).status_code == 404
    assert client.get(reverse("deals:review_detail", args=[outsider])).status_code == 404
    listed_page = client.get(reverse("deals:vendor_list"), {"product": world["firewall"].pk}).content.decode()
    assert deals["s1"].reference in listed_page and deals["o1"].reference not in listed_page


def test_partner_owned_rows_are_scoped_by_the_resolved_portfolio_too(world: dict[str, Any]) -> None:
    """partners.policies.partner_scope_q (partners, funds, earnings, content, training rows) names
    the portfolio by the ids resolved with the actor, not a permission-table subquery; it lists
    exactly the portfolio's partners, and an empty portfolio none."""
    from partners.policies import can_work_partner, partner_policy

    cam = world["cam"]
    with acting(cam):
        scope = partner_policy.scope(cam)
        sql = str(scope.query)
        seen = set(scope.values_list("pk", flat=True))
    assert "partneruserobjectpermission" not in sql
    assert seen == set(cam.portfolio)
    outsider = world["deals"]["o1"].partner
    assert outsider.pk not in seen and not can_work_partner(cam, outsider)
    assert all(can_work_partner(cam, partner) for partner in scope)
    nobody = f.cam_for()
    with acting(nobody):
        assert list(partner_policy.scope(nobody)) == []
