"""A partner's deal counts -- the deal list's status strip, the home's deals panel -- are exact: for a
partner's admin they come from the maintained figures (deals.rollup), folded or not, and equal a
live count of the deals after writes through the services, writes past them and a fold; a sales
user's are their own registrations; one partner's never include another's. The deal list reads
no GROUP BY over the partner's deals for its admin (the busiest partner's 20,000)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deals import rollup, selectors
from deals.models import Deal, DealStatus, Lead, LeadStatus, Product
from deals.policies import deal_policy, lead_policy
from prm.tenancy import Actor
from tests.deals import factories as f
from tests.deals.test_query_counts import VENDOR_VISIBLE, bulk_deals, bulk_leads
from tests.helpers import login
from tests.scoping import acting

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(db: Any) -> Product:
    return f.product("Count Probe", price="100.00")


@pytest.fixture
def world(team_a: f.Team, team_b: f.Team, vendor_admin: Actor, product: Product) -> dict[str, Any]:
    """Partner A: 30 bulk deals in every status and one submitted through the services; partner B:
    12 deals; leads offered to both."""
    a = bulk_deals(team_a, 30, product=product)
    bulk_deals(team_b, 12, product=product, statuses=VENDOR_VISIBLE, start=500)
    f.submitted(team_a.sales_actor, customer="Initech", lines=[f.line(product, 1)])
    bulk_leads(team_a, 7, creator=vendor_admin, deals=a[:2])
    bulk_leads(team_b, 4, creator=vendor_admin)
    return {"a": a}


def live_counts(actor: Actor) -> dict[str, int]:
    """The actor's deals by status, counted from the deals themselves."""
    return dict(Counter(deal_policy.scope(actor).values_list("status", flat=True)))


def live_expiring(actor: Actor) -> int:
    return selectors.expiring_soon(actor=actor).count()


def assert_exact(actor: Actor) -> None:
    with acting(actor):  # row-level security as in a request, on top of the policies
        counts = selectors.deal_counts(actor=actor)
        figures = selectors.partner_home_figures(actor=actor)
    expected = live_counts(actor)
    assert counts == expected
    assert figures["counts"] == expected
    assert figures["expiring"] == live_expiring(actor)
    offered = lead_policy.scope(actor).filter(status=LeadStatus.OFFERED)
    assert figures["leads"] == offered.count()
    first = offered.order_by("respond_by").values_list("respond_by", flat=True).first()
    assert figures["leads_due"] == first


def test_an_admins_counts_are_the_deals_count_through_writes_and_folds(
    world: dict[str, Any], team_a: f.Team, team_b: f.Team, vendor_admin: Actor
) -> None:
    admin = team_a.admin_actor
    assert selectors.rollup_counts_exact(admin)
    assert_exact(admin)
    rollup.fold()
    assert_exact(admin)
    # Written past the services (a bulk update, a delete) and through them, not folded yet.
    deals = world["a"]
    Deal.objects.filter(pk__in=[deal.pk for deal in deals[:5]]).update(status=DealStatus.LOST)
    Deal.objects.filter(pk=deals[6].pk).delete()
    Deal.objects.filter(pk=deals[7].pk).update(
        status=DealStatus.APPROVED, protection_expires_at=timezone.now() + timedelta(days=2)
    )
    f.approved(
        team_a.sales_actor,
        vendor_admin,
        customer="Globex",
        domain="globex.com",
        lines=[f.line(f.product(), 1)],
    )
    assert_exact(admin)
    rollup.fold()
    assert_exact(admin)
    assert_exact(team_b.admin_actor)


def test_a_sales_users_counts_are_their_own_registrations(world: dict[str, Any], team_a: f.Team) -> None:
    sales = team_a.sales_actor
    assert not selectors.rollup_counts_exact(sales)
    assert_exact(sales)
    mine = sum(live_counts(sales).values())
    assert 0 < mine < Deal.objects.filter(partner=team_a.partner).count()


def test_one_partners_counts_never_include_anothers(
    world: dict[str, Any], team_a: f.Team, team_b: f.Team
) -> None:
    rollup.fold()
    for team in (team_a, team_b):
        with acting(team.admin_actor):
            counts = selectors.deal_counts(actor=team.admin_actor)
            figures = selectors.partner_home_figures(actor=team.admin_actor)
        assert sum(counts.values()) == Deal.objects.filter(partner=team.partner).count()
        offered = Lead.objects.filter(assigned_partner=team.partner, status=LeadStatus.OFFERED).count()
        assert figures["leads"] == offered == (5 if team is team_a else 4)  # two of A's accepted


def test_a_partner_without_deals_or_leads_gets_zeros(team_b: f.Team) -> None:
    with acting(team_b.admin_actor):
        figures = selectors.partner_home_figures(actor=team_b.admin_actor)
    assert figures == {"counts": {}, "expiring": 0, "leads": 0, "leads_due": None}


def test_the_deal_list_counts_for_an_admin_without_grouping_the_deals(
    world: dict[str, Any], team_a: f.Team
) -> None:
    client = login(team_a.admin)
    url = reverse("deals:list")
    client.get(url)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    grouped = [
        query["sql"]
        for query in context.captured_queries
        if 'FROM "deals_deal"' in query["sql"] and "GROUP BY" in query["sql"]
    ]
    assert not grouped, grouped
    body = response.content.decode()
    expected = live_counts(team_a.admin_actor)
    for status in DealStatus.values:
        chip = re.search(rf'id="count-{status}">\s*<span class="status-chip-count">(\d+)<', body)
        assert chip and int(chip.group(1)) == expected.get(status, 0), status
    assert response.context["page"].paginator.count == sum(expected.values())
