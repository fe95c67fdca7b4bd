"""Scorecards: scoring bands and weights, template validation, the nightly snapshots (which
template applies, idempotent recomputation, history kept, a month-end frozen, a KPI switched off),
the nightly task on a fixed clock, and the selectors the pages will use (latest scorecard, trend,
what would move the score most, rankings), with their query counts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partners import tasks
from partners.models import KpiSetting, PartnerRole, PartnerStatus, ScorecardSnapshot
from partners.performance import scoring, selectors, services
from partners.performance.scoring import LineSpec
from prm.errors import ApplicationError
from prm.models import AuditEvent
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Scope, system_scope
from tests import factories
from tests.deals.factories import cam_for
from tests.helpers import count
from tests.partners import scorecard_factories as sf
from tests.partners.scorecard_factories import at
from tests.scoping import acting

pytestmark = pytest.mark.django_db

D = Decimal
BANDS = scoring.parse_bands([["40", "20"], ["60", "40"], ["80", "60"], ["100", "80"], ["120", "100"]])


# --- scoring -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "lower", "attainment", "points"),
    [
        (D("12000"), False, D("120.0"), D("100")),
        (D("10000"), False, D("100.0"), D("80")),
        (D("9999"), False, D("100.0"), D("80")),  # 99.99 % shown rounded, scored as below 100
        (D("3999"), False, D("40.0"), D("20")),
        (D("3000"), False, D("30.0"), D("0")),  # below the first band
        (None, False, None, D("0")),  # no value, no points
        (D("5"), True, D("200.0"), D("100")),  # lower is better: 5 days against a target of 10
        (D("20"), True, D("50.0"), D("20")),
        (D("0"), True, D("999.9"), D("100")),
    ],
)
def test_a_value_earns_the_points_of_the_highest_band_it_reaches(
    value: Decimal | None, lower: bool, attainment: Decimal | None, points: Decimal
) -> None:
    target = D("10") if lower else D("10000")
    line = LineSpec(kpi="k", weight=D("100"), target=target, bands=tuple(BANDS), lower_is_better=lower)
    total, (scored,) = scoring.score([line], {"k": value})
    if value == D("9999"):
        assert scored["attainment"] == D("100.0") and scoring.points_for(D("99.99"), BANDS) == D("60")
        return
    assert scored["attainment"] == attainment
    assert scored["points"] == points
    assert total == points


def test_the_total_is_the_weighted_average_and_says_what_is_left_to_win() -> None:
    lines = [
        LineSpec("revenue", D("50"), D("10000"), tuple(BANDS)),
        LineSpec("people", D("30"), D("2"), tuple(BANDS)),
        LineSpec("days", D("20"), D("10"), tuple(BANDS), lower_is_better=True),
    ]
    total, scored = scoring.score(lines, {"revenue": D("12000"), "people": D("1"), "days": D("10")})
    # (100 × 50 + 20 × 30 + 80 × 20) / 100
    assert total == D("72.00")
    by_kpi = {line["kpi"]: line for line in scored}
    assert [by_kpi[k]["score"] for k in ("revenue", "people", "days")] == [D("50.00"), D("6.00"), D("16.00")]
    assert by_kpi["people"]["max"] == D("30.00")
    # The next band for 1 person of 2 (50 %): 60 % of the target, 1.2 people, for 40 points.
    assert (by_kpi["people"]["next_points"], by_kpi["people"]["next_value"]) == (D("40"), D("1.20"))
    # Lower is better: 100 % now; 120 % means at most 10 × 100 / 120 days.
    assert (by_kpi["days"]["next_points"], by_kpi["days"]["next_value"]) == (D("100"), D("8.33"))
    assert by_kpi["revenue"]["next_points"] is None  # already at the top
    # Weights that do not add up to 100 (a line switched off) are shared out: 6600 / 70.
    assert scoring.score(lines[:1] + lines[2:], {"revenue": D("12000"), "days": D("10")})[0] == D("94.29")
    assert scoring.score([], {}) == (None, [])


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        ([["40", "20"], ["100", "100"]], ""),
        ([["0", "0"], ["100", "100"]], ""),
        ([], "list of [threshold %, points] pairs"),
        ("100:80", "list of [threshold %, points] pairs"),
        ([["100", "80"], ["40", "20"]], "ascending order of threshold"),
        ([["40", "20"], ["40", "30"]], "ascending order of threshold"),
        ([["40", "50"], ["100", "20"]], "cannot earn fewer points than the band below"),
        ([["40", "120"]], "between 0 and 100"),
        ([["-5", "10"]], "0 or more"),
        ([["40"]], "pair"),
        ([["forty", "20"]], "numbers"),
    ],
)
def test_scoring_bands_are_validated_with_a_clear_message(bands: Any, message: str) -> None:
    error = scoring.bands_error(bands)
    assert (message in error) if message else error == ""


def test_a_template_must_weigh_100_with_known_kpis_once_and_positive_targets() -> None:
    ok = [
        ("won_revenue", D("60"), D("1000"), [["100", "100"]]),
        ("win_rate", D("40"), D("50"), [["100", "100"]]),
    ]
    assert services.template_errors(ok) == []
    errors = services.template_errors(
        [
            ("won_revenue", D("60"), D("1000"), [["100", "100"]]),
            ("won_revenue", D("20"), D("0"), [["100", "100"]]),
            ("no_such_kpi", D("10.5"), D("5"), [["100", "80"], ["50", "20"]]),
        ]
    )
    assert "won_revenue appears twice: each KPI has one line." in errors
    assert "The target of won_revenue must be above 0." in errors
    assert "no_such_kpi is not a KPI of this portal." in errors
    assert any(error.startswith("no_such_kpi: Bands must be in ascending order") for error in errors)
    assert "The weights add up to 90.5; they must add up to 100." in errors
    assert services.template_errors([]) == ["A scorecard template needs at least one KPI."]


# --- the nightly snapshots --------------------------------------------------------------------------
AS_OF = date(2027, 3, 31)
TODAY = date(2027, 4, 1)
STANDARD = [("won_revenue", 50, 10000), ("certified_people", 30, 2), ("win_rate", 20, 50)]


def _scored_partner(name: str = "Acme", **kwargs: Any) -> Any:
    """12,000 won (120 % of 10,000), 1 certified person (50 % of 2), 1 won of 2 closed (100 %)."""
    partner = factories.PartnerFactory(legal_name=name, **kwargs)
    sf.deal(partner, won_amount="12000.00", closed_on=date(2027, 1, 10))
    sf.deal(partner, "lost", closed_on=date(2027, 1, 11))
    certification = sf.certification(f"Cert {name}")
    sf.award(factories.partner_user(partner), partner, certification, at(2026, 1, 1), None)
    return partner


def compute(as_of: date = AS_OF, today: date = TODAY) -> services.SnapshotRun:
    with system_scope():
        return services.snapshots_compute(as_of=as_of, today=today)


def snapshot(partner: Any, as_of: date = AS_OF) -> ScorecardSnapshot:
    return ScorecardSnapshot.objects.get(partner=partner, as_of=as_of)


def test_a_snapshot_holds_every_kpi_the_lines_scored_and_the_total() -> None:
    sf.template("Standard", lines=STANDARD)
    acme, quiet = _scored_partner(), factories.PartnerFactory(legal_name="Quiet")
    factories.PartnerFactory(legal_name="Gone", status=PartnerStatus.TERMINATED)

    run = compute()

    assert run.written == 2 and run.month_end and not run.frozen
    row = snapshot(acme)
    assert row.total_score == D("72.00") and row.template_name == "Standard"
    assert row.values["won_revenue"] == "12000.00" and row.values["certified_people"] == "1"
    assert row.values["approval_days"] is None  # nothing approved: no value
    assert [line["kpi"] for line in row.lines] == ["won_revenue", "certified_people", "win_rate"]
    assert [line["score"] for line in row.lines] == ["50.00", "6.00", "16.00"]
    empty = snapshot(quiet)
    assert empty.values["won_revenue"] == "0" and empty.values["win_rate"] is None
    assert empty.total_score == D("0.00")
    assert row.month_end and row.frozen  # 31 March, computed on 1 April: final


def test_the_most_specific_active_template_applies() -> None:
    gold, silver = factories.tier("Gold"), factories.tier("Silver")
    sf.template("Everybody", lines=[("deals_won", 100, 1)])
    sf.template("Gold", tier=gold, lines=[("deals_won", 100, 2)])
    sf.template("Distributors", partner_type="distributor", lines=[("deals_won", 100, 4)])
    sf.template("Gold distributors", tier=gold, partner_type="distributor", lines=[("deals_won", 100, 8)])
    retired = sf.template("Old silver", tier=silver, lines=[("deals_won", 100, 16)])
    retired.is_active = False
    retired.save()
    partners = {
        "Everybody": factories.PartnerFactory(tier=silver),
        "Gold": factories.PartnerFactory(tier=gold),
        "Distributors": factories.PartnerFactory(tier=silver, partner_type="distributor"),
        "Gold distributors": factories.PartnerFactory(tier=gold, partner_type="distributor"),
    }
    compute()
    assert {name: snapshot(partner).template_name for name, partner in partners.items()} == {
        name: name for name in partners
    }


def test_no_active_template_means_values_without_a_score() -> None:
    partner = _scored_partner()
    compute()
    row = snapshot(partner)
    assert row.total_score is None and row.lines == [] and row.values["won_revenue"] == "12000.00"


def test_recomputing_a_day_replaces_its_rows_exactly_and_keeps_the_days_before() -> None:
    sf.template("Standard", lines=STANDARD)
    acme = _scored_partner()
    yesterday = compute(as_of=date(2027, 3, 29), today=date(2027, 3, 30))
    assert yesterday.written == 1
    before_yesterday = snapshot(acme, date(2027, 3, 29))

    first = compute(as_of=date(2027, 3, 30), today=date(2027, 3, 31))
    sf.deal(acme, won_amount="3000.00", closed_on=date(2027, 3, 30))  # reported late
    newcomer = factories.PartnerFactory()
    second = compute(as_of=date(2027, 3, 30), today=date(2027, 3, 31))
    again = compute(as_of=date(2027, 3, 30), today=date(2027, 3, 31))

    assert (first.written, second.written, again.written) == (1, 2, 2)
    assert ScorecardSnapshot.objects.filter(as_of=date(2027, 3, 30)).count() == 2  # never doubled
    assert snapshot(acme, date(2027, 3, 30)).values["won_revenue"] == "15000.00"
    assert snapshot(newcomer, date(2027, 3, 30)).values["won_revenue"] == "0"
    # History: the day before is as it was computed then.
    kept = snapshot(acme, date(2027, 3, 29))
    assert (kept.pk, kept.values, kept.computed_at) == (
        before_yesterday.pk,
        before_yesterday.values,
        before_yesterday.computed_at,
    )
    assert kept.values["won_revenue"] == "12000.00"


def test_a_month_end_is_frozen_once_its_day_is_over() -> None:
    sf.template("Standard", lines=STANDARD)
    acme = _scored_partner()
    # Computed during the day itself (a manual run): not final yet.
    during = compute(as_of=AS_OF, today=AS_OF)
    assert not snapshot(acme).frozen and during.month_end
    # The nightly run after it: computed again, and now final.
    sf.deal(acme, won_amount="1000.00", closed_on=AS_OF)
    assert compute().written == 1
    final = snapshot(acme)
    assert final.frozen and final.values["won_revenue"] == "13000.00"
    # Anything later leaves it as it is.
    sf.deal(acme, won_amount="50000.00", closed_on=date(2027, 3, 15))
    later = compute(today=date(2027, 6, 1))
    assert later.frozen and later.written == 0
    unchanged = snapshot(acme)
    assert (unchanged.pk, unchanged.values, unchanged.total_score) == (
        final.pk,
        final.values,
        final.total_score,
    )
    # ...while a day that is not a month-end is recomputed.
    assert compute(as_of=date(2027, 3, 30), today=date(2027, 6, 1)).written == 1


def test_a_kpi_switched_off_disappears_from_values_and_scores(program_admin: Any) -> None:
    sf.template("Standard", lines=STANDARD)
    acme = _scored_partner()
    admin = factories.actor_for(program_admin)
    day = date(2027, 3, 30)  # not a month-end: it can be computed again
    with acting(admin):
        services.kpi_setting_set(actor=admin, key="certified_people", enabled=False)
    compute(as_of=day)
    row = snapshot(acme, day)
    assert "certified_people" not in row.values
    assert [line["kpi"] for line in row.lines] == ["won_revenue", "win_rate"]
    assert row.total_score == D("94.29")  # (100 × 50 + 80 × 20) / 70
    setting = KpiSetting.objects.get(key="certified_people")
    assert AuditEvent.objects.filter(action="scorecards.kpi_switched_off", target_id=str(setting.pk)).exists()
    # Switched on again: back in the next computation.
    with acting(admin):
        services.kpi_setting_set(actor=admin, key="certified_people", enabled=True)
    compute(as_of=day)
    assert snapshot(acme, day).total_score == D("72.00")


def test_only_program_admins_switch_kpis(channel_manager: Any) -> None:
    cam = factories.actor_for(channel_manager)
    with acting(cam), pytest.raises(PermissionDenied):
        services.kpi_setting_set(actor=cam, key="won_revenue", enabled=False)
    admin = factories.vendor_actor()
    with acting(admin), pytest.raises(ApplicationError, match="not a KPI"):
        services.kpi_setting_set(actor=admin, key="nothing", enabled=False)
    assert not KpiSetting.objects.exists()


def test_no_snapshot_for_a_day_to_come() -> None:
    with pytest.raises(ApplicationError):
        compute(as_of=TODAY + timedelta(days=1))


# --- the nightly task on a fixed clock -----------------------------------------------------------------
def test_the_nightly_task_scores_yesterday_and_the_window_moves_with_it() -> None:
    """The run of 1 April 01:30 scores 31 March: a deal closed on 1 April 2026 is the window's first
    day; the run of the next night no longer counts it. The month-end is final."""
    sf.template("Standard", lines=STANDARD)
    acme = factories.PartnerFactory()
    sf.deal(acme, won_amount="12000.00", closed_on=date(2026, 4, 1))
    with time_machine.travel(at(2027, 4, 1, 1, 30), tick=False):
        assert tasks.compute_scorecards.delay().get() == {"2027-03-31": 1}
    with time_machine.travel(at(2027, 4, 2, 1, 30), tick=False):
        assert tasks.compute_scorecards.delay().get() == {"2027-04-01": 1}
    assert snapshot(acme, date(2027, 3, 31)).values["won_revenue"] == "12000.00"
    assert snapshot(acme, date(2027, 3, 31)).frozen
    assert snapshot(acme, date(2027, 4, 1)).values["won_revenue"] == "0"
    # Run again for 31 March (a redelivered message, an operator): nothing changes.
    with time_machine.travel(at(2027, 4, 2, 9), tick=False):
        assert tasks.compute_scorecards.delay("2027-03-31").get() == {"2027-03-31": 0}


def test_the_nightly_task_makes_up_for_a_month_end_it_missed() -> None:
    acme = factories.PartnerFactory()
    with time_machine.travel(at(2027, 4, 3, 1, 30), tick=False):  # the nights of 1 and 2 April were lost
        assert tasks.compute_scorecards.delay().get() == {"2027-04-02": 1, "2027-03-31": 1}
    assert snapshot(acme, date(2027, 3, 31)).frozen


# --- the selectors -------------------------------------------------------------------------------------
def _latest(actor: Any, partner: Any) -> selectors.Scorecard | None:
    with acting(actor):
        return selectors.scorecard_latest(actor=actor, partner=partner)


def test_the_latest_scorecard_with_values_targets_scores_and_what_would_move_it() -> None:
    sf.template("Standard", lines=STANDARD)
    acme = _scored_partner()
    admin = factories.actor_for(factories.partner_user(acme))
    compute(as_of=date(2027, 2, 28), today=TODAY)
    compute()

    card = _latest(admin, acme)

    assert card.as_of == AS_OF and card.total_score == D("72.00")
    revenue, people, _rate = card.lines
    assert (revenue.label, revenue.value, revenue.target, revenue.points) == (
        "Won revenue (12 months)",
        D("12000.00"),
        D("10000.00"),
        D("100"),
    )
    assert (people.value, people.score, people.max, people.gap) == (D("1"), D("6.00"), D("30.00"), D("24.00"))
    assert card.biggest_gap == people  # 24 points still to win there, 4 on the win rate
    assert (people.next_points, people.next_value, people.next_gain) == (D("40"), D("1.20"), D("6.00"))
    assert card.values["won_revenue"][2] == D("12000.00")


def test_learners_see_scores_but_no_money_figures() -> None:
    sf.template("Standard", lines=STANDARD)
    acme = _scored_partner()
    compute()
    learner = factories.actor_for(factories.partner_user(acme, role=PartnerRole.LEARNER))
    sales = factories.actor_for(factories.partner_user(acme, role=PartnerRole.SALES))

    hidden = _latest(learner, acme)
    shown = _latest(sales, acme)

    assert hidden.total_score == shown.total_score == D("72.00")
    revenue = hidden.lines[0]
    assert revenue.hidden and revenue.value is None and revenue.target is None and revenue.points == D("100")
    assert not {"won_revenue", "incentive_earnings", "mdf_roi", "mdf_utilisation"} & set(hidden.values)
    assert hidden.lines[1].value == D("1")
    assert not shown.lines[0].hidden and shown.lines[0].value == D("12000.00")


def test_a_partner_sees_only_its_own_scorecard_and_a_cam_the_portfolio() -> None:
    sf.template("Standard", lines=STANDARD)
    acme, globex = _scored_partner("Acme"), _scored_partner("Globex")
    compute()
    acme_admin = factories.actor_for(factories.partner_user(acme))
    cam = cam_for(globex)
    assert _latest(acme_admin, acme) is not None
    assert _latest(acme_admin, globex) is None
    assert _latest(cam, globex) is not None and _latest(cam, acme) is None
    assert _latest(factories.vendor_actor(VendorRole.CONTENT_MANAGER), acme) is None
    assert _latest(factories.vendor_actor(VendorRole.FINANCE), acme) is not None
    # The database agrees, past the ORM: another partner's scope sees none of Acme's rows.
    table = ScorecardSnapshot._meta.db_table
    assert count(table, "partner_id = %s", [acme.pk], scope=Scope.partner(globex.pk)) == 0
    assert count(table, "partner_id = %s", [acme.pk], scope=Scope.partner(acme.pk)) == 1
    assert count(table, scope=Scope.partner(globex.pk)) == 1
    assert count(table, "partner_id = %s", [acme.pk], scope=Scope.vendor(portfolio=[globex.pk])) == 0
    assert count(table, scope=Scope.vendor(money=False)) == 0


def test_the_trend_is_the_last_twelve_month_ends_and_the_latest_day() -> None:
    acme = factories.PartnerFactory()
    sf.template("Standard", lines=[("deals_won", 100, 4)])
    admin = factories.actor_for(factories.partner_user(acme))
    month_ends = []
    day = date(2026, 2, 28)
    while day <= date(2027, 3, 31):  # 14 month-ends, one more deal won in each
        sf.deal(acme, won_amount="10.00", closed_on=day)
        compute(as_of=day, today=date(2027, 4, 16))
        month_ends.append(day)
        day = (day + timedelta(days=33)).replace(day=1) - timedelta(days=1)  # the next month-end
    compute(as_of=date(2027, 4, 14), today=date(2027, 4, 16))  # not a month-end, not the latest
    compute(as_of=date(2027, 4, 15), today=date(2027, 4, 16))

    with time_machine.travel(at(2027, 4, 16, 9), tick=False), acting(admin):
        trend = selectors.scorecard_trend(actor=admin, partner=acme)

    assert [point.as_of for point in trend] == [*month_ends[-12:], date(2027, 4, 15)]
    assert all(point.month_end for point in trend[:-1]) and not trend[-1].month_end
    assert [point.values["deals_won"] for point in trend[:3]] == [D("3"), D("4"), D("5")]


# --- rankings ------------------------------------------------------------------------------------------
def _rankings(actor: Any, **kwargs: Any) -> Any:
    with acting(actor):
        return selectors.scorecard_rankings(actor=actor, **kwargs)


def _ranked_world() -> dict[str, Any]:
    gold, silver = factories.tier("Gold"), factories.tier("Silver")
    sf.template("Deals", lines=[("deals_won", 100, 4)])
    partners = {}
    for name, won, tier, region in [
        ("Alpha", 4, gold, "na"),
        ("Bravo", 2, silver, "emea"),
        ("Charlie", 4, silver, "na"),
        ("Delta", 1, gold, "apac"),
    ]:
        partner = factories.PartnerFactory(legal_name=name, tier=tier, region=region)
        for _ in range(won):
            sf.deal(partner, won_amount="10.00", closed_on=date(2027, 1, 1))
        partners[name] = partner
    compute(as_of=date(2027, 3, 30), today=TODAY)  # an older day: rankings use the latest
    compute()
    return partners


def test_rankings_rank_by_score_filter_sort_and_paginate() -> None:
    partners = _ranked_world()
    admin = factories.vendor_actor()

    page = _rankings(admin)
    assert [(row.partner.legal_name, row.rank) for row in page] == [
        ("Alpha", 1),
        ("Charlie", 1),  # the same score shares the rank; the name orders them
        ("Bravo", 3),
        ("Delta", 4),
    ]
    # 4 of 4 deals: 100 % (80 points); 2 of 4: 50 % (20); 1 of 4: 25 %, below the first band.
    assert [row.total_score for row in page] == [D("80.00"), D("80.00"), D("20.00"), D("0.00")]
    gold = factories.tier("Gold")
    assert [row.partner.legal_name for row in _rankings(admin, filters={"tier": gold.pk})] == [
        "Alpha",
        "Delta",
    ]
    assert [row.rank for row in _rankings(admin, filters={"tier": gold.pk})] == [1, 2]
    assert [row.partner.legal_name for row in _rankings(admin, filters={"region": "na"})] == [
        "Alpha",
        "Charlie",
    ]
    assert [row.partner.legal_name for row in _rankings(admin, sort="name")] == [
        "Alpha",
        "Bravo",
        "Charlie",
        "Delta",
    ]
    by_kpi = _rankings(admin, sort="kpi:deals_won")  # ascending
    assert [row.partner.legal_name for row in by_kpi] == ["Delta", "Bravo", "Alpha", "Charlie"]
    second = _rankings(admin, per_page=3, page=2)
    assert [row.partner.legal_name for row in second] == ["Delta"] and second.paginator.count == 4
    assert all(row.as_of == AS_OF for row in page)
    # A channel account manager ranks the portfolio only, with filters by manager too.
    cam = cam_for(partners["Bravo"], partners["Delta"])
    assert [(row.partner.legal_name, row.rank) for row in _rankings(cam)] == [("Bravo", 1), ("Delta", 2)]
    assert [row.partner.legal_name for row in _rankings(admin, filters={"cam": cam.user.pk})] == [
        "Bravo",
        "Delta",
    ]


def test_rankings_are_for_vendor_staff_who_work_partners() -> None:
    partners = _ranked_world()
    partner_admin = factories.actor_for(factories.partner_user(partners["Alpha"]))
    for actor in (partner_admin, factories.vendor_actor(VendorRole.CONTENT_MANAGER)):
        with pytest.raises(PermissionDenied):
            _rankings(actor)


def _queries(call: Any) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as queries:
        result = call()
        if hasattr(result, "object_list"):
            result = [(row.partner.legal_name, row.partner.tier.name, row.rank) for row in result]
    return len(queries.captured_queries), result


def test_the_selectors_run_the_same_queries_for_1_partner_as_for_50() -> None:
    sf.template("Standard", lines=STANDARD)
    first = _scored_partner("Partner 000")
    admin = factories.vendor_actor()
    partner_admin = factories.actor_for(factories.partner_user(first))
    latest_day = date(2027, 3, 30)
    compute(as_of=date(2027, 2, 28), today=TODAY)
    compute(as_of=latest_day)

    def measured() -> list[tuple[int, Any]]:
        with acting(admin):
            ranks = _queries(lambda: selectors.scorecard_rankings(actor=admin))
        with acting(partner_admin):
            latest = _queries(lambda: selectors.scorecard_latest(actor=partner_admin, partner=first))
            trend = _queries(lambda: selectors.scorecard_trend(actor=partner_admin, partner=first))
        return [ranks, latest, trend]

    few = measured()
    for n in range(1, 50):
        _scored_partner(f"Partner {n:03d}")
    compute(as_of=latest_day)
    many = measured()

    assert len(few[0][1]) == 1 and len(many[0][1]) == 50
    assert len(many[2][1]) == 2  # February's month-end and the latest day
    assert [queries for queries, _result in few] == [queries for queries, _result in many]
    assert [queries for queries, _result in many] == [4, 2, 3]
