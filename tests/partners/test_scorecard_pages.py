"""The scorecard pages: a partner's own scorecard (values, targets, score, a trend chart per KPI,
what would move the score most, the empty state, no money for learners), the vendor rankings
(filters, sorting, pagination, the CSV export job, a channel account manager's portfolio, vendor
staff only), one partner's scorecard in the console with the channel account manager's quarterly
rating, and their query counts. The foreign-id cases are in test_performance_isolation.py."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from partners.models import PartnerAssessment, PartnerRole, ScorecardLine, ScorecardSnapshot
from partners.performance import display, services
from partners.performance.kpis import Unit
from partners.performance.selectors import TrendPoint
from prm.models import AuditEvent
from prm.roles import VendorRole
from prm.tenancy import system_scope
from tests import factories
from tests.deals.factories import cam_for
from tests.exports import exported
from tests.helpers import assert_constant_queries, body_text, element, login
from tests.partners import scorecard_factories as sf
from tests.partners.scorecard_factories import at
from tests.scoping import acting

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = date(2027, 4, 1)
FEBRUARY, MARCH = date(2027, 2, 28), date(2027, 3, 31)
STANDARD = [("won_revenue", 50, 10000), ("certified_people", 30, 2), ("win_rate", 20, 50)]
SCORECARD = "/scorecard/"
RANKINGS = "/vendor/scorecards/"
RANKINGS_EXPORT = "/vendor/scorecards/export.csv"


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    """The morning after the March month-end was computed: the trend covers April 2026 onward."""
    with time_machine.travel(at(2027, 4, 1, 9), tick=False):
        yield


def scored_partner(name: str = "Acme", *, won: str = "12000.00", **kwargs: Any) -> Any:
    """``won`` won in January (of 10,000 targeted), 1 certified person (of 2), 1 won of 2 closed."""
    partner = factories.PartnerFactory(legal_name=name, **kwargs)
    sf.deal(partner, won_amount=won, closed_on=date(2027, 1, 10))
    sf.deal(partner, "lost", closed_on=date(2027, 1, 11))
    certification = sf.certification(f"Cert {name}")
    sf.award(factories.partner_user(partner), partner, certification, at(2026, 1, 1), None)
    return partner


def compute(*days: date) -> None:
    with system_scope():
        for day in days:
            services.snapshots_compute(as_of=day, today=TODAY)


def section(text: str, start: str, end: str | None = None) -> str:
    """The page from the element with id ``start`` to the one with id ``end`` (or the end)."""
    begin = text.index(f'id="{start}"')
    return text[begin : text.index(f'id="{end}"', begin) if end else len(text)]


def page(client: Any, url: str, params: dict | None = None, status: int = 200) -> str:
    response = client.get(url, params or {})
    assert response.status_code == status, (url, response.status_code)
    return body_text(response)


# --- the partner's scorecard --------------------------------------------------------------------------
def test_a_partner_admin_sees_each_kpi_with_value_target_score_trend_and_what_would_move_it() -> None:
    sf.template("Standard", lines=STANDARD)
    acme = scored_partner()
    compute(FEBRUARY, MARCH)

    text = page(login(factories.partner_user(acme)), SCORECARD)

    total = section(text, "scorecard-total", "score-trend")
    assert "72.0" in element(total, "total-score") and "Standard" in total
    table = element(text, "scorecard-table")
    revenue = element(table, "kpi-won_revenue")
    assert "Won revenue (12 months)" in revenue and "12,000 USD" in revenue and "10,000 USD" in revenue
    assert "Full marks" in revenue and "50.0 of 50.0" in revenue
    people = element(table, "kpi-certified_people")
    # 1 of 2 people: 50 % earns 20 points of 100, 6 of the line's 30; the next band is at 60 %.
    assert "6.0 of 30.0" in people and "Reach 2: +6.0 points." in people
    # A trend chart per KPI (February and March), drawn on the server, with the target dashed.
    assert people.count("<circle") == 2 and 'class="trend-target"' in people
    assert "Feb 2027: 1" in people and "Mar 2027: 1" in people
    gap = section(text, "biggest-gap", "scorecard-lines")
    assert "What would move your score most" in gap and "Certified people" in gap
    assert "24.0 points of the total are still to win here." in gap
    chart = section(text, "score-trend", "biggest-gap")
    assert chart.count("<circle") == 2 and "Mar 2027: 72.0" in chart


def test_the_score_change_since_the_last_month_end_is_shown() -> None:
    sf.template("Standard", lines=STANDARD)
    acme = scored_partner()
    compute(FEBRUARY)
    sf.deal(acme, won_amount="10.00", closed_on=date(2027, 3, 5))  # 2 won of 3: win rate 66.7 %
    compute(MARCH)

    text = page(login(factories.partner_user(acme)), SCORECARD)

    change = ScorecardSnapshot.objects.get(partner=acme, as_of=MARCH).total_score - D("72.00")
    assert change > 0
    assert re.search(rf"\+{change:.1f}\s+since the end of February", element(text, "score-change"))


def test_before_the_first_nightly_run_the_page_says_when_the_scorecard_comes() -> None:
    acme = factories.PartnerFactory()
    for role, deals in ((PartnerRole.ADMIN, True), (PartnerRole.LEARNER, False)):
        text = page(login(factories.partner_user(acme, role=role)), SCORECARD)
        empty = section(text, "scorecard-empty")
        assert "Your first scorecard is computed tonight" in empty
        assert ("winning deals" in empty) is deals


def test_without_a_template_the_values_are_shown_without_a_score() -> None:
    acme = scored_partner()
    compute(MARCH)
    text = page(login(factories.partner_user(acme)), SCORECARD)
    assert "No scorecard template applies to your company yet" in text
    others = element(text, "scorecard-others")
    assert "Won revenue (12 months)" in others and "12,000 USD" in others


def test_learners_see_the_scores_but_no_money_figure() -> None:
    sf.template("Standard", lines=STANDARD)
    acme = scored_partner(won="12345.00")
    sf.earning(acme, "777.00", "USD", at(2027, 2, 1))
    compute(FEBRUARY, MARCH)
    learner = login(factories.partner_user(acme, role=PartnerRole.LEARNER))
    sales = login(factories.partner_user(acme, role=PartnerRole.SALES))

    hidden, shown = page(learner, SCORECARD), page(sales, SCORECARD)

    for amount in ("12,345", "10,000", "777", "USD"):
        assert amount not in hidden, amount
        assert amount in shown, amount
    revenue = element(hidden, "kpi-won_revenue")
    assert "not shown to your role" in revenue and "50.0 of 50.0" in revenue and "<svg" not in revenue
    assert "Incentive earnings" not in hidden  # a money KPI measured but not scored: left out
    assert "72.0" in element(hidden, "total-score")  # the score itself is no money figure


def test_a_partner_sees_its_own_scorecard_only() -> None:
    sf.template("Standard", lines=STANDARD)
    scored_partner("Acme", won="12345.00")
    globex = scored_partner("Globex", won="5432.00")
    compute(MARCH)
    text = page(login(factories.partner_user(globex)), SCORECARD)
    assert "5,432 USD" in text and "12,345" not in text


def test_partner_admins_read_their_channel_managers_latest_rating_sales_do_not() -> None:
    sf.template("Standard", lines=STANDARD)
    acme = scored_partner()
    cam = cam_for(acme)
    with acting(cam):
        services.assessment_record(
            actor=cam,
            partner=acme,
            period_start=date(2027, 1, 1),
            rating=2,
            comment="Slow on leads this quarter",
        )
    compute(MARCH)
    admin_page = page(login(factories.partner_user(acme)), SCORECARD)
    assert "Slow on leads this quarter" in section(admin_page, "latest-assessment")
    sales_page = page(login(factories.partner_user(acme, role=PartnerRole.SALES)), SCORECARD)
    assert "Slow on leads" not in sales_page


def test_the_partner_navigation_links_the_scorecard_and_the_vendor_navigation_the_rankings() -> None:
    acme = factories.PartnerFactory()
    for role in PartnerRole.values:
        assert 'id="nav-scorecard"' in page(login(factories.partner_user(acme, role=role)), "/")
    for role, shown in [
        (VendorRole.PROGRAM_ADMIN, True),
        (VendorRole.CHANNEL_ACCOUNT_MANAGER, True),
        (VendorRole.FINANCE, True),
        (VendorRole.CONTENT_MANAGER, False),
    ]:
        assert ('id="nav-rankings"' in page(login(factories.vendor_user(role)), "/vendor/")) is shown


def test_the_partner_page_and_the_360_page_link_the_scorecard_for_roles_that_see_one() -> None:
    sf.template("Standard", lines=STANDARD)
    acme = scored_partner()
    compute(MARCH)
    detail = reverse("vendor:partner_detail", args=[acme.pk])
    full = reverse("vendor:partner_scorecard", args=[acme.pk])
    admin = login(factories.vendor_user(VendorRole.PROGRAM_ADMIN))
    assert f'href="{full}" id="partner-scorecard-link"' in page(admin, detail)
    assert f'href="{full}" id="p360-full-scorecard"' in page(
        admin, reverse("vendor:partner_360", args=[acme.pk])
    )
    # A content manager opens the partner's page but not its scorecard (money figures): no link.
    assert "partner-scorecard-link" not in page(
        login(factories.vendor_user(VendorRole.CONTENT_MANAGER)), detail
    )


# --- rankings ------------------------------------------------------------------------------------------
def ranked_world() -> dict[str, Any]:
    gold, silver = factories.tier("Gold"), factories.tier("Silver")
    sf.template("Deals", lines=[("deals_won", 100, 4)])
    partners = {}
    for name, won, tier, region in [
        ("Alpha Partners", 4, gold, "na"),
        ("Bravo Partners", 2, silver, "emea"),
        ("Charlie Partners", 3, silver, "na"),
        ("Delta Partners", 1, gold, "apac"),
    ]:
        partner = factories.PartnerFactory(legal_name=name, tier=tier, region=region)
        for _ in range(won):
            sf.deal(partner, won_amount="1000.00", closed_on=date(2027, 1, 1))
        partners[name] = partner
    compute(MARCH)
    return partners


def ranked_names(text: str) -> list[str]:
    return re.findall(r'class="fw-semibold text-decoration-none" href="[^"]+">([^<]+)</a>', text)


def test_rankings_rank_filter_sort_and_paginate() -> None:
    partners = ranked_world()
    client = login(factories.vendor_user())

    text = page(client, RANKINGS)
    assert ranked_names(element(text, "rankings-table")) == [
        "Alpha Partners",
        "Charlie Partners",
        "Bravo Partners",
        "Delta Partners",
    ]
    assert "as of March 31, 2027" in text
    assert ranked_names(page(client, RANKINGS, {"tier": factories.tier("Gold").pk})) == [
        "Alpha Partners",
        "Delta Partners",
    ]
    assert ranked_names(page(client, RANKINGS, {"region": "na", "sort": "name"})) == [
        "Alpha Partners",
        "Charlie Partners",
    ]
    assert ranked_names(page(client, RANKINGS, {"sort": "kpi:deals_won"}))[0] == "Delta Partners"
    # The column headers sort, keeping the filters; the active one says which way.
    sorted_page = page(client, RANKINGS, {"region": "na", "sort": "-kpi:deals_won"})
    assert 'aria-sort="descending"' in sorted_page
    assert 'href="?region=na&sort=kpi%3Adeals_won"' in sorted_page  # (entities decoded)
    # Pagination keeps the filters and the sort.
    cam = cam_for(partners["Bravo Partners"], partners["Delta Partners"])
    assert ranked_names(page(client, RANKINGS, {"cam": cam.user.pk})) == ["Bravo Partners", "Delta Partners"]
    assert "No partners match these filters" in page(client, RANKINGS, {"partner_type": "isv"})


def test_rankings_paginate_by_fifty() -> None:
    sf.template("Deals", lines=[("deals_won", 100, 4)])
    for n in range(51):
        factories.PartnerFactory(legal_name=f"Ranked {n:03d}")
    compute(MARCH)
    client = login(factories.vendor_user())
    first = page(client, RANKINGS, {"sort": "name"})
    second = page(client, RANKINGS, {"sort": "name", "page": 2})
    assert len(ranked_names(first)) == 50 and ranked_names(second) == ["Ranked 050"]
    assert "?sort=name&page=2" in first


def test_bad_ranking_parameters_are_ignored_not_a_500() -> None:
    ranked_world()
    client = login(factories.vendor_user(), raise_request_exception=False)
    for params in (
        {"sort": "kpi:'; DROP TABLE x; --"},
        {"sort": "-" * 500},
        {"tier": "gold"},
        {"cam": "999999"},
        {"region": "mars"},
        {"page": "abc"},
        {"page": "99"},
    ):
        assert len(ranked_names(page(client, RANKINGS, params))) in {4, 0}, params


def test_a_channel_account_manager_ranks_the_portfolio_only() -> None:
    partners = ranked_world()
    cam = cam_for(partners["Bravo Partners"], partners["Delta Partners"])
    text = page(login(cam.user), RANKINGS)
    assert ranked_names(text) == ["Bravo Partners", "Delta Partners"]
    assert "Alpha" not in text and "Charlie" not in text and "Your portfolio only." in text
    # Filtering on another manager does not widen the portfolio.
    other = cam_for(partners["Alpha Partners"])
    assert ranked_names(page(login(cam.user), RANKINGS, {"cam": other.user.pk})) == []


def test_rankings_are_for_vendor_staff_who_work_with_scorecards() -> None:
    partners = ranked_world()
    for user in (
        factories.partner_user(partners["Alpha Partners"]),
        factories.vendor_user(VendorRole.CONTENT_MANAGER),
    ):
        client = login(user)
        assert client.get(RANKINGS).status_code == 404
        assert client.post(RANKINGS_EXPORT).status_code == 404
        assert client.get(f"/vendor/partners/{partners['Alpha Partners'].pk}/scorecard/").status_code == 404
    finance = page(login(factories.vendor_user(VendorRole.FINANCE)), RANKINGS)
    assert len(ranked_names(finance)) == 4 and "Rate</a>" not in finance


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_rankings_export_is_a_job_with_the_pages_filters_in_the_callers_scope() -> None:
    partners = ranked_world()
    admin = login(factories.vendor_user())

    rows = _csv(exported(admin, RANKINGS_EXPORT, {"region": "na"}))
    assert [(row["rank"], row["legal_name"], row["score"]) for row in rows] == [
        ("1", "Alpha Partners", "80.00"),
        ("2", "Charlie Partners", "40.00"),
    ]
    assert rows[0]["won_revenue"] == "4000.00" and rows[0]["tier"] == "Gold"
    everyone = _csv(exported(admin, RANKINGS_EXPORT, {"sort": "name"}))
    assert [row["legal_name"] for row in everyone] == sorted(partners)

    cam = cam_for(partners["Bravo Partners"])
    mine = _csv(exported(login(cam.user), RANKINGS_EXPORT))
    assert [row["legal_name"] for row in mine] == ["Bravo Partners"]


# --- one partner's scorecard in the console, and the quarterly rating --------------------------------
def test_a_channel_account_manager_rates_a_portfolio_partner_from_its_scorecard() -> None:
    sf.template("Standard", lines=STANDARD)
    acme = scored_partner()
    compute(MARCH)
    cam = cam_for(acme)
    client = login(cam.user)
    url = reverse("vendor:partner_scorecard", args=[acme.pk])

    text = page(client, url)
    assert "72.0" in element(text, "total-score") and 'id="assessment-form"' in text
    assert "Not rated yet" in text
    response = client.post(url, {"period_start": "2027-04-01", "rating": "4", "comment": "Joint plan agreed"})

    assert response.status_code == 302 and response["Location"] == url
    assessment = PartnerAssessment.objects.get(partner=acme)
    assert (assessment.period_start, assessment.rating, assessment.comment) == (
        date(2027, 4, 1),
        4,
        "Joint plan agreed",
    )
    assert AuditEvent.objects.filter(action="partner.assessment_recorded", partner_id=acme.pk).count() == 1
    text = page(client, url)
    assert "is recorded" in text and "2027 Q2" in section(text, "assessments")
    # The quarter is rated already: the form starts from that rating, and saving replaces it.
    assert "2027 Q2 is rated already" in text and "Joint plan agreed</textarea>" in text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"rating": "4", "comment": "  "}, "comment", "This field is required"),
        ({"rating": "9", "comment": "Fine"}, "rating", "Select a valid choice"),
        ({"rating": "4", "comment": "Fine", "period_start": "2027-07-01"}, "period_start", "valid choice"),
        ({"rating": "4", "comment": "x" * 2001}, "comment", "at most 2000 characters"),
    ],
)
def test_a_bad_rating_is_refused_on_its_field_and_nothing_is_saved(
    data: dict, field: str, message: str
) -> None:
    acme = factories.PartnerFactory()
    client = login(cam_for(acme).user, raise_request_exception=False)
    response = client.post(
        reverse("vendor:partner_scorecard", args=[acme.pk]), {"period_start": "2027-04-01", **data}
    )
    assert response.status_code == 400
    assert message in str(response.context["form"].errors[field])
    assert not PartnerAssessment.objects.exists()


def test_finance_sees_a_partners_scorecard_but_does_not_rate_it() -> None:
    acme = factories.PartnerFactory()
    client = login(factories.vendor_user(VendorRole.FINANCE))
    url = reverse("vendor:partner_scorecard", args=[acme.pk])
    text = page(client, url)
    assert "assessment-form" not in text and "No scorecard yet" in text
    response = client.post(url, {"period_start": "2027-04-01", "rating": "4", "comment": "Fine"}, follow=True)
    assert "channel account manager or a program admin rates it" in body_text(response)
    assert not PartnerAssessment.objects.exists()


# --- query counts -----------------------------------------------------------------------------------------
def test_the_scorecard_page_runs_the_same_queries_for_1_kpi_as_for_50() -> None:
    acme = factories.PartnerFactory()
    user = factories.partner_user(acme)
    template = sf.template("Tracks", lines=[])
    certifications = []

    def add_tracks(count: int) -> None:
        for _ in range(count):
            certification = sf.certification(f"Track {len(certifications):02d}")
            sf.award(user, acme, certification, at(2026, 1, 1), None)
            ScorecardLine.objects.create(
                template=template,
                kpi=f"certified_people.{certification.pk}",
                weight=D(2),
                target=D(1),
                position=len(certifications),
            )
            certifications.append(certification)
        ScorecardSnapshot.objects.all().delete()
        compute(FEBRUARY, MARCH)

    add_tracks(1)
    assert_constant_queries(
        login(user),
        SCORECARD,
        lambda: add_tracks(49),
        rows=lambda response: body_text(response).count('<tr id="kpi-'),
        shows=lambda: [f"People certified: {c.name}" for c in certifications],
        within="scorecard-table",
    )


def test_the_rankings_page_runs_the_same_queries_for_1_partner_as_for_50() -> None:
    sf.template("Standard", lines=STANDARD)
    gold = factories.tier("Gold")
    manager = cam_for().user
    made = []

    def add_partners(count: int) -> None:
        for _ in range(count):
            made.append(scored_partner(f"Probe {len(made):02d}", tier=gold, channel_account_manager=manager))
        compute(date(2027, 3, 30))  # not a month-end: a month-end computed afterwards is frozen

    add_partners(1)
    assert_constant_queries(
        login(factories.vendor_user()),
        RANKINGS,
        lambda: add_partners(49),
        rows=lambda response: len(ranked_names(body_text(response))),
        shows=lambda: [p.legal_name for p in made],
        within="rankings-table",
    )


def test_the_rankings_export_runs_the_same_queries_for_1_partner_as_for_50() -> None:
    sf.template("Standard", lines=STANDARD)
    made = []

    def add_partners(count: int) -> None:
        for _ in range(count):
            made.append(scored_partner(f"Exported {len(made):02d}"))
        compute(date(2027, 3, 30))

    add_partners(1)
    assert_constant_queries(
        login(factories.vendor_user()),
        RANKINGS_EXPORT,
        lambda: add_partners(49),
        rows=lambda response: len(_csv(response)),
        shows=lambda: [p.legal_name for p in made],
    )


# --- the summary panel other pages include (the partner 360 page) -------------------------------------
def test_the_scorecard_summary_panel_reads_two_queries_and_shows_score_trend_and_gap() -> None:
    sf.template("Standard", lines=STANDARD)
    acme = scored_partner()
    compute(FEBRUARY, MARCH)
    cam = cam_for(acme)

    with acting(cam), CaptureQueriesContext(connection) as queries:
        summary = display.scorecard_summary(actor=cam, partner=acme)
    html = render_to_string(
        "partners/performance/_scorecard_summary.html", {"display": summary, "partner": acme}
    )

    assert len(queries.captured_queries) == 2
    assert "72.0" in html and "Certified people" in html and "24.0 points to win" in html
    assert reverse("vendor:partner_scorecard", args=[acme.pk]) in html
    assert html.count("<circle") == 2 and "<text" not in html  # the compact chart: no axes
    other = factories.PartnerFactory()
    with acting(cam):
        assert display.scorecard_summary(actor=cam, partner=other) is None  # not in the portfolio
    empty = render_to_string("partners/performance/_scorecard_summary.html", {"display": None})
    assert "No scorecard yet" in empty


# --- the display helpers --------------------------------------------------------------------------------
def test_values_are_written_with_their_unit() -> None:
    assert display.value_text(D("12345.678"), Unit.MONEY) == "12,346 USD"
    assert display.value_text(D("42.25"), Unit.PERCENT) == "42.3 %"
    assert display.value_text(D("3.5"), Unit.DAYS) == "3.5 days"
    assert display.value_text(D("1.2"), Unit.COUNT, round_up=True) == "2"
    assert display.value_text(D("3.5"), Unit.RATING) == "3.50 / 5"
    assert display.value_text(None, Unit.MONEY) == "—"


def test_a_trend_chart_spreads_its_points_and_draws_the_target_inside_the_axis() -> None:
    series = [(date(2027, 1, 31), D(2)), (date(2027, 2, 28), None), (date(2027, 3, 31), D(4))]
    chart = display.trend_chart(series, unit=Unit.COUNT, target=D(5), width=100, height=40)
    assert [round(point.x) for point in chart.points] == [4, 96]  # the month without a value is left out
    assert chart.points[0].y > chart.points[1].y > chart.target_y >= 4  # higher values higher up
    assert display.trend_chart([(date(2027, 1, 31), None)], unit=Unit.COUNT) is None
    # A target far above the values would flatten the line: it is left off the chart.
    far = display.trend_chart(series, unit=Unit.COUNT, target=D(50), width=100, height=40)
    assert far.target_y is None and far.points[1].y == pytest.approx(4 + 32 * (1 - 4 / 4.4))
    score = display.score_chart([TrendPoint(date(2027, 3, 31), True, D("50"), {})], width=200, height=100)
    assert score.points[0].y == pytest.approx(4 + (100 - 4 - 18) / 2)


def test_the_svg_escapes_its_texts_and_writes_coordinates_with_a_dot() -> None:
    series = [(date(2027, 2, 28), D("1.5")), (date(2027, 3, 31), D(3))]
    chart = display.trend_chart(series, unit=Unit.RATIO, target=D(4), width=100, height=40)
    with translation.override("de"):
        svg = display.chart_svg(chart, label='People certified: <img src=x onerror="x">', target_label="<b>")
    assert "<img" not in svg and "&lt;img src=x onerror=&quot;x&quot;&gt;" in svg
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert re.search(r'<circle class="trend-dot" cx="4\.0" cy="\d+\.\d"', svg)  # never "4,0"
    assert svg.count("<circle") == 2 and svg.endswith("</svg>")
