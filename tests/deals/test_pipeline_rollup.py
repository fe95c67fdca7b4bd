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
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deals import pipeline, rollup, selectors
from deals.models import (
    Deal,
    DealLine,
    DealRollup,
    DealStage,
    DealStatus,
    PartnerMonthTotal,
    PartnerPack,
    PartnerProductTotal,
    PartnerStatusTotal,
    Product,
)
from prm import catalogue_cache
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
        cache.clear()  # the statements that make the figures, not the figures kept (deals.pipeline)
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
        cache.clear()  # the statements that make the figures, not the figures kept (deals.pipeline)
        with CaptureQueriesContext(connection) as context:
            selectors.pipeline_report(actor=actor)
        return [query["sql"] for query in context.captured_queries]

    sql = statements(cam)
    # The breakdowns (GROUPING SETS) and the products, hashed with sorting off for those two.
    off = sql.index("SET LOCAL enable_sort = off")
    # (The products' statement sums by product id; their names are read after, deals.pipeline._names.)
    assert "GROUPING SETS" in sql[off + 1] and "SELECT src.product_id" in sql[off + 2]
    assert sql[off + 3] == "SET LOCAL enable_sort TO DEFAULT"
    assert sql.count("SET LOCAL enable_sort = off") == 1
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
    """However many deals and partners, the report is five queries (the figures' version with the
    rates, breakdowns, products, ranking, names), and one more when the ranking is paged or
    searched; two (version and rates, names) while the figures are kept in the cache
    (deals.pipeline)."""

    def report_queries(*, kept: bool = False, **kwargs: Any) -> int:
        if not kept:
            cache.clear()  # the statements that make the figures, not the figures kept
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
        assert report_queries(actor=actor, kept=True) == 2
    assert report_queries(actor=vendor_admin, partners=1, partners_offset=1) == 6
    assert report_queries(actor=vendor_admin, partners=1, partners_offset=1, kept=True) == 2


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


# --- a portfolio's products from each partner's totals (deals.models.PartnerProductTotal) ---------
def live_partner_products() -> dict[tuple, tuple[int, Decimal]]:
    """Each partner's non-draft deals by product, straight from the deals and lines: (partner,
    product, the partner's tier and region now, currency) -> (deals with a line of it, the lines'
    value)."""
    deals: dict[tuple, set[int]] = {}
    values: dict[tuple, Decimal] = {}
    lines = DealLine.objects.exclude(deal__status=DealStatus.DRAFT).values_list(
        "deal__partner_id", "product_id", "deal__partner__tier_id", "deal__partner__region",
        "deal__currency", "deal_id", "amount",
    )  # fmt: skip
    for *key, deal_id, amount in lines:
        deals.setdefault(tuple(key), set()).add(deal_id)
        values[tuple(key)] = values.get(tuple(key), Decimal(0)) + amount
    return {key: (len(deals[key]), values[key]) for key in deals}


def held_partner_products() -> dict[tuple, tuple[int, Decimal]]:
    """The same figures as a reader gets them: the totals plus the product rows not folded yet."""
    held: dict[tuple, list] = {}
    rows = [
        *PartnerProductTotal.objects.values_list(
            "partner_id", "product_id", "tier_id", "region", "currency", "deals", "line_amount"
        ),
        *DealRollup.objects.filter(folded=False, product__isnull=False)
        .exclude(status=DealStatus.DRAFT)
        .values_list("partner_id", "product_id", "tier_id", "region", "currency", "deals", "line_amount"),
    ]
    for *key, deals, value in rows:
        entry = held.setdefault(tuple(key), [0, Decimal(0)])
        entry[0] += deals
        entry[1] += value
    return {key: (deals, value) for key, (deals, value) in held.items() if deals or value}


def live_partner_deals() -> tuple[dict[tuple, tuple], dict[tuple, tuple]]:
    """Each partner's non-draft deals straight from the deals: by (partner, tier, region, status,
    stage, currency) -> (deals, amount, won amount), and by (partner, tier, region, currency,
    month) -> (deals, amount)."""
    statuses: dict[tuple, list] = {}
    months: dict[tuple, list] = {}
    rows = Deal.objects.exclude(status=DealStatus.DRAFT).values_list(
        "partner_id", "partner__tier_id", "partner__region", "status", "stage", "currency", "created_at",
        "amount", "won_amount",
    )  # fmt: skip
    for partner, tier, region, status, stage, currency, created_at, amount, won in rows:
        entry = statuses.setdefault(
            (partner, tier, region, status, stage, currency), [0, Decimal(0), Decimal(0)]
        )
        entry[0], entry[1], entry[2] = entry[0] + 1, entry[1] + amount, entry[2] + (won or 0)
        month = timezone.localtime(created_at).date().replace(day=1)
        entry = months.setdefault((partner, tier, region, currency, month), [0, Decimal(0)])
        entry[0], entry[1] = entry[0] + 1, entry[1] + amount
    return (
        {key: tuple(values) for key, values in statuses.items()},
        {key: tuple(values) for key, values in months.items()},
    )


def held_partner_deals() -> tuple[dict[tuple, tuple], dict[tuple, tuple]]:
    """The same as readers get them: PartnerStatusTotal and PartnerMonthTotal plus the deal rows
    not folded yet."""
    pending = list(
        DealRollup.objects.filter(folded=False, product__isnull=True)
        .exclude(status=DealStatus.DRAFT)
        .values_list(
            "partner_id", "tier_id", "region", "status", "stage", "currency", "month", "deals", "amount",
            "won_amount",
        )
    )  # fmt: skip
    statuses = [
        *PartnerStatusTotal.objects.values_list(
            "partner_id", "tier_id", "region", "status", "stage", "currency", "deals", "amount", "won_amount"
        ),
        *((p, t, r, s, st, c, d, a, w) for p, t, r, s, st, c, _m, d, a, w in pending),
    ]
    months = [
        *PartnerMonthTotal.objects.values_list(
            "partner_id", "tier_id", "region", "currency", "month", "deals", "amount"
        ),
        *((p, t, r, c, m, d, a) for p, t, r, _s, _st, c, m, d, a, _w in pending),
    ]

    def summed(rows: list[tuple], size: int) -> dict[tuple, tuple]:
        held: dict[tuple, list] = {}
        for row in rows:
            entry = held.setdefault(tuple(row[:-size]), [0] * size)
            for index, value in enumerate(row[-size:]):
                entry[index] += value
        return {key: tuple(values) for key, values in held.items() if any(values)}

    return summed(statuses, 3), summed(months, 2)


def assert_products_exact(step: str) -> None:
    """Every per-partner total (by product, by status, by month) is the deals' own sum, and what
    ``manage.py deals_rollup --check`` compares agrees."""
    assert held_partner_products() == live_partner_products(), step
    assert held_partner_deals() == live_partner_deals(), step
    for sums in rollup.PARTNER_SUMS:
        assert (
            rollup.differences(rollup.partner_sums_expected(sums), rollup.partner_sums_current(sums)) == []
        ), step
    # What a portfolio's pipeline reads: the same figures packed a row per partner and kind.
    assert rollup.pack_differences() == [], step


def test_partner_totals_follow_every_change(world: dict[str, Any], vendor_admin: Actor) -> None:
    """Each partner's totals by product, by status and stage, and by month equal the deals and
    lines after inserts, updates and deletes (folded or not), a partner's change of tier, and a
    rebuild."""
    from partners import services as partner_services

    a, b = world["a"], world["b"]
    assert_products_exact("inserted, not folded")
    rollup.fold()
    assert PartnerProductTotal.objects.exists()
    assert_products_exact("folded")
    deals = list(Deal.objects.filter(partner=a.partner).exclude(status=DealStatus.DRAFT).order_by("pk"))
    DealLine.objects.filter(deal=deals[0]).update(amount=Decimal("77.70"))
    Deal.objects.filter(pk=deals[1].pk).update(currency="EUR")
    Deal.objects.filter(pk=deals[2].pk).update(status=DealStatus.DRAFT)  # out of the vendor's sight
    DealLine.objects.filter(deal=deals[3]).delete()
    DealLine.objects.create(
        deal=deals[4], partner=a.partner, product=world["switch"], quantity=3, unit_price=Decimal("10.00"),
        amount=Decimal("30.00"),
    )  # fmt: skip
    Deal.objects.filter(pk=deals[5].pk).delete()
    Deal.objects.filter(pk=deals[6].pk).update(
        stage=DealStage.PROPOSAL, created_at=timezone.now() - timedelta(days=400), amount=Decimal("5.00")
    )
    assert_products_exact("updated and deleted, not folded")
    rollup.fold()
    assert_products_exact("updated and deleted, folded")
    with f.acting(vendor_admin):
        partner_services.partner_change_tier(
            actor=vendor_admin, partner=b.partner, tier=factories.tier("Platinum")
        )
    assert_products_exact("tier changed, not folded")
    rollup.fold()
    assert_products_exact("tier changed, folded")
    assert set(
        PartnerProductTotal.objects.filter(partner=b.partner).values_list("tier__name", flat=True)
    ) == {"Platinum"}
    before = held_partner_products()
    held = held_partner_deals()
    PartnerProductTotal.objects.update(deals=99)  # drift, on purpose
    PartnerStatusTotal.objects.update(amount=1)
    PartnerMonthTotal.objects.filter(partner=a.partner).delete()
    assert rollup.all_differences()
    rollup.rebuild()
    assert held_partner_products() == before and held_partner_deals() == held
    assert_products_exact("rebuilt")
    assert rollup.all_differences() == []


def test_a_cams_pipeline_comes_from_the_portfolios_totals(world: dict[str, Any]) -> None:
    """A CAM's "by product" reads PartnerProductTotal of the portfolio (row-level security and
    the policy both hold it there), its breakdowns PartnerStatusTotal and PartnerMonthTotal, plus
    the changes not folded yet; with months chosen, the partners' rows by month as before. The
    figures are the deals' either way, and the portfolio's only."""
    a = world["a"].partner
    outsider = f.team("Outsider Ltd")
    bulk_deals(outsider, 5, product=world["firewall"], statuses=VENDOR_VISIBLE, start=700)
    cam = f.cam_for(a)

    def product_sql(filters: dict[str, Any]) -> str:
        cache.clear()  # the statements that make the figures, not the figures kept (deals.pipeline)
        with CaptureQueriesContext(connection) as context:
            selectors.pipeline_report(actor=cam, filters=filters)
        return "\n".join(q["sql"] for q in context.captured_queries if "SELECT src.product_id" in q["sql"])

    def main_sql(filters: dict[str, Any]) -> str:
        cache.clear()  # the statements that make the figures, not the figures kept (deals.pipeline)
        with CaptureQueriesContext(connection) as context:
            selectors.pipeline_report(actor=cam, filters=filters)
        return "\n".join(q["sql"] for q in context.captured_queries if "GROUPING SETS" in q["sql"])

    for folded in (False, True):
        if folded:
            rollup.fold()
        with f.acting(cam):
            assert set(PartnerProductTotal.objects.values_list("partner_id", flat=True)) <= {a.pk}
            assert set(PartnerStatusTotal.objects.values_list("partner_id", flat=True)) <= {a.pk}
            assert set(PartnerMonthTotal.objects.values_list("partner_id", flat=True)) <= {a.pk}
            assert set(PartnerPack.objects.values_list("partner_id", flat=True)) <= {a.pk}
        for filters in ({}, {"product": world["firewall"].pk}, {"tier": a.tier_id}, {"region": "apac"}):
            assert_same(cam, filters)
        assert_same(cam, {"month_from": months_ago(40)})
        # Both from the packed totals (a row per partner and kind), unless months or a product
        # are chosen (kept by month and product only in the partners' rows).
        assert "deals_partnerpack" in product_sql({})
        assert "deals_partnerpack" not in product_sql({"month_from": months_ago(40)})
        assert "deals_partnerpack" in main_sql({})
        for filters in ({"month_from": months_ago(40)}, {"product": world["firewall"].pk}):
            assert "deals_partnerpack" not in main_sql(filters)
        for filters in ({"tier": a.tier_id}, {"partner": a.pk}):
            assert "deals_partnerpack" in main_sql(filters)
            assert_same(cam, filters)
    with f.acting(cam):
        for model in (PartnerProductTotal, PartnerStatusTotal, PartnerMonthTotal, PartnerPack):
            assert set(model.objects.values_list("partner_id", flat=True)) == {a.pk}
        assert PartnerStatusTotal.objects.filter(partner=outsider.partner).count() == 0
    with f.acting(world["b"].admin_actor):  # a partner's scope: its own rows alone
        assert set(PartnerStatusTotal.objects.values_list("partner_id", flat=True)) <= {world["b"].partner.pk}
    firewall = next(
        row
        for row in selectors.pipeline_report(actor=cam)["by_product"]
        if row["product__name"] == "Firewall X"
    )
    ours = [
        row
        for key, row in live_partner_products().items()
        if key[0] == a.pk and key[1] == world["firewall"].pk
    ]
    assert firewall["count"] == sum(deals for deals, _value in ours)


def test_a_cams_pipeline_page_runs_the_same_queries_at_any_size(
    world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    """The CAM's pipeline page, ranking page and partner search: as many queries for a portfolio
    of two partners as for one of four with twenty more deals each (folded or not)."""
    a, b = world["a"].partner, world["b"].partner
    cam = f.cam_for(a, b)
    pages = ({}, {"partners_page": 2}, {"partner_q": a.legal_name[:5]})

    def counts() -> list[int]:
        # Each round reads the filters' tier and product options first (kept for the next
        # requests: deals.selectors.filter_choices), as each reads the report's figures afresh.
        catalogue_cache.invalidate(selectors.FILTER_CHOICES_CACHE)
        client = login(cam.user)
        found = []
        for query in pages:
            # The session, the actor and its scope, the page's filters and choices, the report's
            # five (six for a page or a search of the ranking), a planner setting around two.
            with django_assert_max_num_queries(30) as context:
                response = client.get(reverse("deals:vendor_pipeline"), query)
            assert response.status_code == 200
            found.append(len(context))
        return found

    small = counts()
    more = [f.team(f"Northwind {number}", tier="Gold") for number in range(2)]
    for number, team in enumerate(more):
        bulk_deals(team, 20, product=world["switch"], statuses=VENDOR_VISIBLE, start=900 + 100 * number)
    cam = f.cam_for(a, b, *(team.partner for team in more))
    rollup.fold()
    bulk_deals(world["a"], 20, product=world["firewall"], statuses=VENDOR_VISIBLE, start=2000)
    assert counts() == small


def test_the_program_admins_product_filter_is_counted_from_the_figures(
    world: dict[str, Any], vendor_admin: Actor, cam: Actor, capped: int
) -> None:
    """With a product chosen (and status, stage, tier or region), the program's list counts its
    deals from the maintained figures, which hold exactly that number, folded or not; other
    filters, and a portfolio, are counted from the deals as before."""
    a = world["a"].partner
    firewall, switch = world["firewall"].pk, world["switch"].pk
    choices = [
        {"product": firewall},
        {"product": switch},
        {"product": firewall, "status": DealStatus.APPROVED},
        {"product": switch, "tier": a.tier_id, "region": a.region, "stage": DealStage.PROPOSAL},
    ]
    for folded in (False, True):
        if folded:
            rollup.fold()
        for filters in choices:
            with f.acting(vendor_admin):
                live = selectors.deal_list(actor=vendor_admin, filters=filters).count()
            assert selectors.vendor_deal_count(actor=vendor_admin, filters=filters) == live, filters
    for filters in ({"product": firewall, "q": "Initech"}, {"product": firewall, "partner": a.pk}, {}):
        assert selectors.vendor_deal_count(actor=vendor_admin, filters=filters) is None
    assert selectors.vendor_deal_count(actor=cam, filters={"product": firewall}) is None

    client = login(vendor_admin.user)
    with CaptureQueriesContext(connection) as context:
        response = client.get(reverse("deals:vendor_list"), {"product": firewall})
    page = response.context["page"]
    assert page.paginator.count == capped and page.paginator.more  # 27 deals, capped at 5
    assert "More than 5 " in response.content.decode()
    # No count of the deal list itself (the navigation's unread count is a count of notifications).
    assert not any(
        q["sql"].startswith("SELECT COUNT(*) FROM (SELECT") and '"deals_deal"' in q["sql"]
        for q in context.captured_queries
    )
    # The page's keys without JIT or parallel workers (see deals.vendor_views.VendorDealListPaginator).
    assert any("set_config('jit', 'off', true)" in q["sql"] for q in context.captured_queries)
    one = client.get(reverse("deals:vendor_list"), {"product": switch, "status": DealStatus.APPROVED})
    with f.acting(vendor_admin):
        approved = selectors.deal_list(
            actor=vendor_admin, filters={"product": switch, "status": DealStatus.APPROVED}
        ).count()
    assert one.context["page"].paginator.count == min(approved, capped)
