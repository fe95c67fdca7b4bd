"""The pipeline pages read the maintained figures (deals.pipeline over deals.rollup), and what they
show is what summing the deals gives (``selectors.live_pipeline_report``): for a program admin with
every filter, a channel account manager (the portfolio only), a partner's admin (drafts included),
before and after a fold; a money-blind role sees no figure at all. The vendor's ranking of partners
is shown a page at a time and can be searched; long lists count up to a cap."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deals import pipeline, rollup, selectors
from deals.models import Deal, DealStage, DealStatus, Product
from prm.models import ExchangeRate
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as f
from tests.deals.test_query_counts import VENDOR_VISIBLE, bulk_deals
from tests.helpers import login

pytestmark = pytest.mark.django_db

KEYS = {
    "by_status": "status",
    "by_stage": "stage",
    "by_month": "month",
    "by_tier": "partner__tier__name",
    "by_region": "partner__region",
    "by_partner": "partner__legal_name",
    "by_product": "product__name",
}


def shape(report: dict[str, Any], *, products: bool = True) -> dict[str, Any]:
    """The figures of a report, comparable whatever computed them (rows without deals dropped)."""
    shaped: dict[str, Any] = {"currencies": report["currencies"], "unconverted": report["unconverted"]}
    for name, key in KEYS.items():
        if name not in report or (name == "by_product" and not products):
            continue
        shaped[name] = sorted(
            (str(row[key]), row["count"], row["value"], row.get("won") or Decimal(0))
            for row in report[name]
            if row["count"]
        )
    return shaped


@pytest.fixture
def world(team_a: f.Team, team_b: f.Team, vendor_admin: Actor) -> dict[str, Any]:
    """Deals of two partners in every status, two products, three currencies (one without a
    rate), three months; a win and a win awaiting confirmation with amounts."""
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("1.10"))
    firewall = f.product("Firewall X", price="100.00")
    switch = f.product("Core Switch", price="10.00", line="Network")
    a = bulk_deals(team_a, 27, product=firewall)
    b = bulk_deals(team_b, 14, product=switch, statuses=VENDOR_VISIBLE, start=500)
    now = timezone.now()
    # Other months, currencies, stages and amounts, written past the services (the triggers count
    # them all the same).
    Deal.objects.filter(pk__in=[deal.pk for deal in a[::3]]).update(
        created_at=now - timedelta(days=62), currency="EUR", stage=DealStage.PROPOSAL
    )
    Deal.objects.filter(pk__in=[deal.pk for deal in b[::4]]).update(
        created_at=now - timedelta(days=33), currency="CHF", amount=Decimal("1234.56")
    )
    Deal.objects.filter(status=DealStatus.WON).update(won_amount=Decimal("275.00"))
    Deal.objects.filter(status=DealStatus.WON_PENDING).update(won_amount=Decimal("999.00"))
    f.submitted(team_a.sales_actor, customer="Initech", lines=[f.line(firewall, 1), f.line(switch, 3)])
    return {"firewall": firewall, "switch": switch, "a": team_a, "b": team_b}


def months_ago(days: int) -> date:
    return timezone.localdate(timezone.now() - timedelta(days=days)).replace(day=1)


def assert_same(actor: Actor, filters: dict[str, Any] | None = None) -> dict[str, Any]:
    filters = filters or {}
    rolled = selectors.pipeline_report(actor=actor, filters=filters, partners=None)
    live = selectors.live_pipeline_report(actor=actor, filters=filters)
    # With a product chosen the figures give that product's line values only (not the other
    # products of the same deals): compared separately below.
    products = not filters.get("product")
    assert shape(rolled, products=products) == shape(live, products=products), filters
    if actor.is_vendor:
        assert rolled["partner_count"] == len([row for row in live["by_partner"] if row["count"]])
    return rolled


def test_the_program_admins_figures_are_the_deals_sums(world: dict[str, Any], vendor_admin: Actor) -> None:
    a, b = world["a"].partner, world["b"].partner
    choices = [
        {},
        {"tier": a.tier_id},
        {"region": b.region},
        {"partner": b.pk},
        {"month_from": months_ago(40), "month_to": months_ago(20)},
        {"month_from": months_ago(0)},
        {"product": world["switch"].pk},
        {"product": world["firewall"].pk, "month_to": months_ago(40)},
    ]
    for folded in (False, True):
        if folded:
            rollup.fold()
        for filters in choices:
            report = assert_same(vendor_admin, filters)
            if filters.get("product"):
                assert {row["product__name"] for row in report["by_product"]} <= {
                    Product.objects.get(pk=filters["product"]).name
                }
    report = assert_same(vendor_admin)
    assert report["unconverted"] == ["CHF"]
    assert {row["partner__legal_name"] for row in report["by_partner"]} == {a.legal_name, b.legal_name}


def test_a_cam_sees_the_portfolio_only(world: dict[str, Any], cam: Actor) -> None:
    a = world["a"].partner
    for folded in (False, True):
        if folded:
            rollup.fold()
        for filters in ({}, {"product": world["switch"].pk}, {"month_from": months_ago(40)}):
            report = assert_same(cam, filters)
            assert {row["partner__legal_name"] for row in report["by_partner"]} == {a.legal_name}
        # A partner outside the portfolio chosen by hand (an edited link): nothing.
        report = selectors.pipeline_report(actor=cam, filters={"partner": world["b"].partner.pk})
        assert report["by_partner"] == [] and not any(row["count"] for row in report["by_status"])


def test_a_cams_ranking_reads_the_partner_totals(world: dict[str, Any]) -> None:
    """A portfolio's ranking of partners comes from PartnerTotal (1-2 rows a partner) plus the
    changes not folded yet, not from the partners' month rows (about one per deal); with months
    or a product chosen, from those rows as before. Either way the figures are the deals' sums,
    a page at a time, and nothing outside the portfolio."""
    a, b = world["a"].partner, world["b"].partner
    outsider = f.team("Outsider Ltd")
    bulk_deals(outsider, 5, product=world["switch"], statuses=VENDOR_VISIBLE, start=700)
    cam = f.cam_for(a, b)

    def ranking_sql(filters: dict[str, Any]) -> str:
        with CaptureQueriesContext(connection) as context:
            selectors.pipeline_report(actor=cam, filters=filters, partners=1, partners_offset=1)
        return "\n".join(sql["sql"] for sql in context.captured_queries if "rate (currency" in sql["sql"])

    for folded in (False, True):
        if folded:
            rollup.fold()
        for filters in ({}, {"region": b.region}, {"tier": a.tier_id}):
            names = {row["partner__legal_name"] for row in assert_same(cam, filters)["by_partner"]}
            assert outsider.partner.legal_name not in names
        assert "deals_partnertotal" in ranking_sql({})
        assert "deals_partnertotal" not in ranking_sql({"month_from": months_ago(40)})
        assert_same(cam, {"month_from": months_ago(40)})
        whole = [row["partner__legal_name"] for row in selectors.pipeline_report(actor=cam)["by_partner"]]
        assert sorted(whole) == sorted([a.legal_name, b.legal_name])
        second = selectors.pipeline_report(actor=cam, partners=1, partners_offset=1)
        assert [row["partner__legal_name"] for row in second["by_partner"]] == whole[1:]
        assert second["partner_count"] == 2


def test_a_portfolios_products_are_grouped_without_sorting_them(
    world: dict[str, Any], cam: Actor, vendor_admin: Actor
) -> None:
    """A portfolio's product rows (75,000 for 500 partners at full size) are summed in a hash:
    sorting is off for that statement alone, and back on after it; the figures stay the deals'."""

    def statements(actor: Actor) -> list[str]:
        with CaptureQueriesContext(connection) as context:
            selectors.pipeline_report(actor=actor)
        return [query["sql"] for query in context.captured_queries]

    sql = statements(cam)
    off = sql.index("SET LOCAL enable_sort = off")
    assert "deals_product product" in sql[off + 1] and sql[off + 2] == "SET LOCAL enable_sort TO DEFAULT"
    assert not any("enable_sort" in query for query in statements(vendor_admin))
    assert_same(cam, {})


def test_a_partner_admins_figures_include_its_drafts(world: dict[str, Any]) -> None:
    admin = world["a"].admin_actor
    rollup.fold()
    report = assert_same(admin)
    assert any(row["status"] == DealStatus.DRAFT for row in report["by_status"])
    # A sales user sees the deals they registered: summed from the deals, as before.
    assert not pipeline.uses_rollup(world["a"].sales_actor)
    assert shape(selectors.pipeline_report(actor=world["a"].sales_actor)) == shape(
        selectors.live_pipeline_report(actor=world["a"].sales_actor)
    )


def test_a_money_blind_role_sees_no_figure(world: dict[str, Any]) -> None:
    manager = factories.vendor_actor(VendorRole.CONTENT_MANAGER)
    report = selectors.pipeline_report(actor=manager)
    assert shape(report) == shape(pipeline.empty_report(manager))
    response = login(manager.user).get(reverse("deals:vendor_pipeline"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="stat-open"' not in body and world["a"].partner.legal_name not in body


def test_the_partner_ranking_pages_and_searches(
    world: dict[str, Any], vendor_admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("deals.vendor_views.PARTNERS_PER_PAGE", 1)
    client = login(vendor_admin.user)
    a, b = world["a"].partner, world["b"].partner
    ranking = [
        row["partner__legal_name"] for row in selectors.pipeline_report(actor=vendor_admin)["by_partner"]
    ]
    first = client.get(reverse("deals:vendor_pipeline"))
    table = first.content.decode().split('id="partner-ranking"')[1]
    assert ranking[0] in table and ranking[1] not in table.split("</table>")[0]
    assert "partners_page=2" in table
    second = client.get(reverse("deals:vendor_pipeline"), {"partners_page": 2, "region": a.region})
    table = second.content.decode().split('id="partner-ranking"')[1].split("</table>")[0]
    assert ranking[1] in table and ranking[0] not in table
    found = client.get(reverse("deals:vendor_pipeline"), {"partner_q": b.legal_name[:6].lower()})
    table = found.content.decode().split('id="partner-ranking"')[1].split("</table>")[0]
    assert b.legal_name in table and a.legal_name not in table
    # The chart's top ten stay the whole ranking's.
    assert found.context["charts"]["partner"]["labels"][:2] == ranking
    nothing = client.get(reverse("deals:vendor_pipeline"), {"partner_q": "zzz-no-such"})
    assert "Show every partner" in nothing.content.decode()
    assert client.get(reverse("deals:vendor_pipeline"), {"partners_page": "x"}).status_code == 200


def test_pipeline_queries_do_not_grow_with_partners_or_deals(
    world: dict[str, Any], vendor_admin: Actor, cam: Actor
) -> None:
    """However many deals and partners, the report is five queries (rates, breakdowns, tiers,
    products, ranking), and one more when the ranking is paged or searched."""

    def report_queries(**kwargs: Any) -> int:
        with CaptureQueriesContext(connection) as context:
            selectors.pipeline_report(**kwargs)
        # Leave out what opening the actor's scope costs (savepoint, settings), and the planner
        # settings of a portfolio's product rows (SET LOCAL, no read).
        return sum(
            not re.match(
                r"\s*(SAVEPOINT|RELEASE|SET LOCAL|SELECT (set_config|coalesce\(current_setting))",
                query["sql"],
            )
            for query in context.captured_queries
        )

    for actor in (vendor_admin, cam):
        before = report_queries(actor=actor)
        bulk_deals(
            f.team(f"Eastwind {actor.vendor_role}", tier="Gold"), 30, product=world["switch"], start=900
        )
        assert before == report_queries(actor=actor) == 5
    assert report_queries(actor=vendor_admin, partners=1, partners_offset=1) == 6


def test_the_month_filters_and_the_list_link(world: dict[str, Any], vendor_admin: Actor) -> None:
    client = login(vendor_admin.user)
    start, end = months_ago(40), months_ago(0)
    response = client.get(
        reverse("deals:vendor_pipeline"),
        {"month_from": start.strftime("%Y-%m"), "month_to": end.strftime("%Y-%m")},
    )
    assert response.status_code == 200
    assert f"created_from={start.isoformat()}" in response.context["list_querystring"]
    assert response.context["list_querystring"].count("created_to=") == 1
    backwards = client.get(
        reverse("deals:vendor_pipeline"),
        {"month_from": end.strftime("%Y-%m"), "month_to": start.strftime("%Y-%m")},
    )
    assert backwards.status_code == 200
    assert "The end month is before the start month." in backwards.content.decode()
    listed = client.get(reverse("deals:vendor_list"), {"created_from": start.isoformat()})
    assert f"month_from={start.strftime('%Y-%m')}" in listed.context["pipeline_querystring"]


# --- capped counts ---------------------------------------------------------------------------------
@pytest.fixture
def capped(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("prm.pagination.CappedPaginator.cap", 5)
    return 5


@pytest.mark.parametrize("url_name", ["deals:vendor_list", "deals:review_queue"])
def test_long_lists_count_up_to_the_cap(
    world: dict[str, Any], vendor_admin: Actor, capped: int, url_name: str
) -> None:
    client = login(vendor_admin.user)
    response = client.get(reverse(url_name), {"page": 2})
    page = response.context["page"]
    assert page.paginator.count == capped and page.paginator.more
    assert page.number == 1  # 5 rows: one page of 25, whatever the real number
    assert re.search(r"More than 5 ", response.content.decode())
    one = client.get(reverse(url_name), {"q": "Initech"})
    assert one.context["page"].paginator.count == 1 and not one.context["page"].paginator.more


def test_the_admin_changelist_counts_up_to_the_cap(
    world: dict[str, Any], vendor_admin: Actor, capped: int
) -> None:
    client = login(vendor_admin.user)
    response = client.get(reverse("admin:deals_deal_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == capped
    assert "More than 5 deals" in response.content.decode()
    searched = client.get(reverse("admin:deals_deal_changelist"), {"q": "Initech"})
    assert "1 deal" in searched.content.decode() and "More than" not in searched.content.decode()
