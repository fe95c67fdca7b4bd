"""The vendor's deal lists (the review queue, all deals) read their pages from kept statements
(prm.statements, deals.selectors.ListStatements): each call is checked against the ORM's own SQL
(PRM["VERIFY_STATEMENTS"], on in the tests), and these tests check that the usual shapes are
kept, not silently built again on every request."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deals import rollup, selectors, services
from deals.models import Deal, DealStatus, Product
from prm.tenancy import Actor
from tests.deals import factories as f
from tests.deals.test_query_counts import bulk_deals
from tests.helpers import login
from tests.scoping import acting

pytestmark = pytest.mark.django_db


@pytest.fixture
def product(db: Any) -> Product:
    return f.product("Probe Firewall", price="100.00")


@pytest.fixture
def queued(team_a: f.Team, team_b: f.Team, product: Product) -> list[Deal]:
    # Two pages of team A's submitted deals, some of team B's, and deals in other statuses.
    deals = bulk_deals(team_a, 30, product=product, statuses=[DealStatus.SUBMITTED])
    deals += bulk_deals(team_b, 4, product=product, statuses=[DealStatus.SUBMITTED])
    deals += bulk_deals(team_a, 6, product=product, statuses=[DealStatus.APPROVED, DealStatus.WON], start=100)
    return deals


def _actor(request: pytest.FixtureRequest, who: str) -> Actor:
    return request.getfixturevalue(who)


@pytest.mark.parametrize("who", ["vendor_admin", "cam"])
@pytest.mark.parametrize("query", [{}, {"page": "2"}, {"partner": "team_a"}])
def test_the_review_queues_statements_are_compiled_once_and_kept(
    request: pytest.FixtureRequest,
    team_a: f.Team,
    queued: list[Deal],
    who: str,
    query: dict[str, str],
    settings: Any,
) -> None:
    assert settings.PRM["VERIFY_STATEMENTS"]
    actor = _actor(request, who)
    if "partner" in query:
        query = {**query, "partner": str(team_a.partner.pk)}
    response = login(actor.user).get(reverse("deals:review_queue"), query)
    assert response.status_code == 200
    page = response.context["page"]
    shown = {deal.pk: deal for deal in queued if deal.status == DealStatus.SUBMITTED}
    if who == "cam" or "partner" in query:
        shown = {pk: deal for pk, deal in shown.items() if deal.partner_id == team_a.partner.pk}
    assert page.paginator.count == len(shown)
    rows = page.object_list
    assert rows and {row.pk for row in rows} <= set(shown)
    assert all(row.reference == shown[row.pk].reference for row in rows)
    assert [row.submitted_at for row in rows] == sorted(row.submitted_at for row in rows)
    filters = {"partner": team_a.partner.pk if "partner" in query else None}
    statements = selectors.REVIEW_QUEUE
    if who == "vendor_admin" and "partner" not in query:
        # The whole queue, counted from the figures (test_the_whole_queues_length_comes_from_...).
        assert selectors._SUBMITTED_FOLDED.is_kept(actor)
        assert selectors._SUBMITTED_PENDING.is_kept(actor)
    else:
        assert statements.count.is_kept(actor, **filters)
    bottom = 25 if query.get("page") == "2" else 0
    # The keys are read with the count, for a whole page's slice (deals.vendor_views.KeptListPaginator).
    assert statements.keys.is_kept(actor, bottom=bottom, top=bottom + 25, **filters)
    assert statements.rows.is_kept(actor, keys=[row.pk for row in rows])
    assert selectors._WON_WAITING.is_kept(actor)
    assert selectors._PENDING_EXTENSION_KEYS_FIRST.is_kept(actor, limit=6)


@pytest.mark.parametrize("who", ["vendor_admin", "cam"])
def test_the_review_queues_rows_are_read_by_key_with_their_partner_through_its_scope(
    request: pytest.FixtureRequest, team_a: f.Team, queued: list[Deal], who: str
) -> None:
    """A program admin's page rows are read by their keys alone (no join to the partners, which
    under row-level security PostgreSQL read first, every partner's queue in turn), each with its
    partner's name and tier through the partner policy's scope; a channel account manager's are
    the list's own, joined (its scope is the portfolio's list). Keys outside the actor's scope
    give no row (the channel account manager works team A only)."""
    actor = _actor(request, who)
    submitted = [deal for deal in queued if deal.status == DealStatus.SUBMITTED]
    keys = [deal.pk for deal in submitted]
    query = selectors._review_queue_rows(actor, keys).query
    tables = [alias for alias, count in query.alias_refcount.items() if count]
    assert tables == (
        ["deals_deal"] if who == "vendor_admin" else ["deals_deal", "partners_partner", "partners_tier"]
    )
    with acting(actor):
        read = selectors.REVIEW_QUEUE.rows.rows(actor, keys=keys)
    rows = {row[0]: selectors.ReviewRow._make(row) for row in read}
    seen = [deal for deal in submitted if who == "vendor_admin" or deal.partner_id == team_a.partner.pk]
    assert set(rows) == {deal.pk for deal in seen}
    for deal in seen:
        row = rows[deal.pk]
        assert (row.reference, row.partner_id, row.partner_name, row.tier_name) == (
            deal.reference,
            deal.partner_id,
            deal.partner.legal_name,
            deal.partner.tier.name,
        )


def _queue_count_statement(client: Any, query: dict[str, str] | None = None) -> tuple[Any, str]:
    """The review queue's page and the statement that counted it (with the page's keys)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("deals:review_queue"), query or {})
    assert response.status_code == 200
    counted = [query["sql"] for query in queries.captured_queries if "ARRAY(" in query["sql"]]
    assert len(counted) == 1
    return response.context["page"], counted[0]


def test_the_whole_queues_length_comes_from_the_figures_exactly(
    team_a: f.Team, team_b: f.Team, queued: list[Deal], vendor_admin: Actor, cam: Actor, product: Product
) -> None:
    """A program admin's whole queue is counted from the maintained figures (deals.rollup), folded
    or not, and says what counting the deals says; a filtered queue and a channel account
    manager's portfolio count their deals."""
    submitted = [deal for deal in queued if deal.status == DealStatus.SUBMITTED]
    admin = login(vendor_admin.user)
    page, sql = _queue_count_statement(admin)
    assert "deals_vendorrollup" in sql and "deals_dealrollup" in sql
    assert page.paginator.count == len(submitted)  # none folded yet: the changes' rows
    rollup.fold()
    assert _queue_count_statement(admin)[0].paginator.count == len(submitted)  # all folded
    # A submission after the fold, a decision and a new draft: folded rows plus new changes.
    bulk_deals(team_b, 1, product=product, statuses=[DealStatus.SUBMITTED], start=200)
    with acting(vendor_admin):
        services.deal_reject(actor=vendor_admin, deal=submitted[0], reason="Not a fit")
    bulk_deals(team_b, 1, product=product, statuses=[DealStatus.DRAFT], start=300)
    page, sql = _queue_count_statement(admin)
    assert page.paginator.count == len(submitted)
    with acting(vendor_admin):
        assert page.paginator.count == Deal.objects.filter(status=DealStatus.SUBMITTED).count()

    team_a_waiting = len([deal for deal in submitted[1:] if deal.partner_id == team_a.partner.pk])
    page, sql = _queue_count_statement(admin, {"partner": str(team_a.partner.pk)})
    assert "rollup" not in sql
    assert page.paginator.count == team_a_waiting
    page, sql = _queue_count_statement(login(cam.user))
    assert "rollup" not in sql
    assert page.paginator.count == team_a_waiting


def test_a_searched_review_queue_is_built_each_time_and_still_right(
    team_a: f.Team, queued: list[Deal], vendor_admin: Actor
) -> None:
    """A search reads the name table first (deals.selectors.vendor_search): its statements are
    not kept (kept_filters), the page is read as before; its rows still come as tuples."""
    wanted = queued[3]
    response = login(vendor_admin.user).get(reverse("deals:review_queue"), {"q": wanted.reference})
    assert response.status_code == 200
    assert [row.pk for row in response.context["page"].object_list] == [wanted.pk]
    assert response.context["page"].paginator.count == 1


@pytest.mark.parametrize("who", ["vendor_admin", "cam"])
@pytest.mark.parametrize(
    "query", [{}, {"page": "2"}, {"status": "submitted"}, {"partner": "team_a", "stage": "qualified"}]
)
def test_the_program_deal_lists_statements_are_compiled_once_and_kept(
    request: pytest.FixtureRequest,
    team_a: f.Team,
    queued: list[Deal],
    who: str,
    query: dict[str, str],
    settings: Any,
) -> None:
    assert settings.PRM["VERIFY_STATEMENTS"]
    actor = _actor(request, who)
    if "partner" in query:
        query = {**query, "partner": str(team_a.partner.pk)}
    response = login(actor.user).get(reverse("deals:vendor_list"), query)
    assert response.status_code == 200
    page = response.context["page"]
    listed = selectors.deal_list(actor=actor, filters=response.context["form"].filters())
    with acting(actor):
        expected = list(listed.values_list("pk", flat=True))
    assert page.paginator.count == len(expected)
    bottom = 25 if query.get("page") == "2" else 0
    assert [row.pk for row in page.object_list] == expected[bottom : bottom + 25]
    filters = selectors.kept_filters(actor, response.context["form"].filters(), selectors.KEPT_FILTERS)
    assert filters is not None
    statements = selectors.VENDOR_DEALS
    assert statements.count.is_kept(actor, **filters)
    if expected:
        # The keys are read with the count, for a whole page's slice.
        assert statements.keys.is_kept(actor, bottom=bottom, top=bottom + 25, **filters)
        assert statements.rows.is_kept(actor, keys=[row.pk for row in page.object_list])


def test_a_cams_tier_filter_is_built_each_time(team_a: f.Team, queued: list[Deal], cam: Actor) -> None:
    """A channel account manager's tier becomes candidate ids read by a query of their own
    (deals.selectors._filter_deals): never a kept statement, which would keep those ids."""
    filters = {"tier": team_a.partner.tier_id}
    assert selectors.kept_filters(cam, filters, selectors.KEPT_FILTERS) is None
    response = login(cam.user).get(reverse("deals:vendor_list"), filters)
    assert response.status_code == 200
    assert {row.partner_id for row in response.context["page"].object_list} == {team_a.partner.pk}
