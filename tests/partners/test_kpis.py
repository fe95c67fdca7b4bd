"""Every KPI of the scorecards against figures worked out by hand: the trailing twelve months at
their edges (the first and last day in, the day before and after out; a leap day), amounts in
several currencies converted at the vendor's rates (a currency without a rate left out), and the
rows each KPI must ignore. The KPIs come from the apps' configs (the registry), and each one is a
fixed number of queries for any number of partners."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partners.performance.kpis import Direction, Unit, Window, kpi_registry
from prm.tenancy import system_scope
from tests import factories
from tests.partners import scorecard_factories as sf
from tests.partners.scorecard_factories import at

pytestmark = pytest.mark.django_db

AS_OF = date(2027, 3, 31)  # the window: 2026-04-01 .. 2027-03-31


def d(value: str) -> Decimal:
    return Decimal(value)


# --- the window --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("as_of", "first_day"),
    [
        (date(2027, 3, 31), date(2026, 4, 1)),
        (date(2028, 2, 29), date(2027, 3, 1)),  # a leap day: the year before has no 29 February
        (date(2029, 2, 28), date(2028, 2, 29)),  # ...and the window after it starts on the leap day
        (date(2027, 1, 1), date(2026, 1, 2)),
    ],
)
def test_the_window_is_the_twelve_months_ending_with_the_as_of_day(as_of: date, first_day: date) -> None:
    window = Window(as_of)
    assert window.first_day == first_day
    assert window.starts_at == at(first_day.year, first_day.month, first_day.day)
    assert window.ends_at == at(as_of.year, as_of.month, as_of.day) + timedelta(days=1)


def test_every_app_contributes_its_kpis_through_its_config() -> None:
    sf.certification("Security Specialist")
    registry = kpi_registry()
    by_app = {}
    for key, kpi in registry.items():
        by_app.setdefault(kpi.app_label, set()).add(key)
    assert by_app["partners"] == {"cam_rating"}
    assert by_app["deals"] == {
        "won_revenue",
        "deals_won",
        "deals_registered",
        "win_rate",
        "approval_days",
        "lead_acceptance_rate",
        "lead_response_hours",
    }
    assert by_app["mdf"] == {"mdf_utilisation", "mdf_spend"}
    assert {"certified_people", "certifications_held"} < by_app["training"]
    assert any(registry[key].label.endswith("Security Specialist") for key in by_app["training"])
    assert by_app["content"] == {"content_downloads", "content_downloaders"}
    assert by_app["incentives"] == {"incentive_earnings", "mdf_roi"}
    assert registry["approval_days"].direction == Direction.LOWER
    assert registry["lead_response_hours"].direction == Direction.LOWER
    money = {key for key, kpi in registry.items() if kpi.money}
    assert money == {"won_revenue", "incentive_earnings", "mdf_roi", "mdf_utilisation", "mdf_spend"}
    assert registry["won_revenue"].unit == Unit.MONEY and registry["win_rate"].unit == Unit.PERCENT


# --- deals ---------------------------------------------------------------------------------------------
def test_won_revenue_deals_won_and_win_rate() -> None:
    sf.rates()
    a, b, c = factories.PartnerFactory(), factories.PartnerFactory(), factories.PartnerFactory()
    sf.deal(a, won_amount="1000.00", closed_on=date(2026, 4, 1))  # the window's first day
    sf.deal(a, won_amount="2000.00", currency="EUR", closed_on=date(2027, 3, 31))  # its last: 2200
    sf.deal(a, won_amount="100000", currency="JPY", closed_on=date(2026, 10, 10))  # 700
    sf.deal(a, won_amount="300.00", currency="GBP", closed_on=date(2026, 6, 1))  # no rate: won, no revenue
    sf.deal(a, won_amount="5000.00", closed_on=date(2026, 3, 31))  # the day before the window
    sf.deal(a, won_amount="7000.00", closed_on=date(2027, 4, 1))  # the day after
    sf.deal(a, "won_pending", won_amount="9000.00", closed_on=date(2026, 7, 1))  # not confirmed
    sf.deal(a, "lost", closed_on=date(2026, 5, 5))
    sf.deal(a, "lost", closed_on=date(2027, 4, 1))  # after the as-of day
    sf.deal(a, "approved")
    sf.deal(b, won_amount="10.00", closed_on=date(2026, 9, 9))

    found = sf.values(AS_OF, "won_revenue", "deals_won", "win_rate")

    # 1000 + 2000 × 1.10 + 100000 × 0.0070 (the GBP deal has no rate)
    assert found["won_revenue"] == {a.pk: d("3900.00"), b.pk: d("10.00")}
    assert found["deals_won"] == {a.pk: 4, b.pk: 1}
    assert found["win_rate"] == {a.pk: d("80.0"), b.pk: d("100.0")}  # 4 won of 5 closed; 1 of 1
    assert c.pk not in found["won_revenue"]  # no row: the snapshot gives it the KPI's empty value
    assert kpi_registry()["won_revenue"].empty_value == 0 and kpi_registry()["win_rate"].empty_value is None


def test_deals_registered_and_days_from_submission_to_approval() -> None:
    a, b = factories.PartnerFactory(), factories.PartnerFactory()
    submitted = at(2026, 6, 1, 9)
    for days in (1, 2, 10):  # approved in the window: the median is 2 days
        sf.deal(a, "approved", first_submitted_at=submitted, approved_at=submitted + timedelta(days=days))
    sf.deal(a, "approved", first_submitted_at=at(2026, 1, 1), approved_at=at(2026, 3, 31, 23, 59, 59))
    sf.deal(a, "submitted", first_submitted_at=at(2026, 4, 1))  # the first second of the window
    sf.deal(a, "submitted", first_submitted_at=at(2027, 3, 31, 23, 59, 59))  # the last
    sf.deal(a, "submitted", first_submitted_at=at(2027, 4, 1))  # the next day
    sf.deal(a, "draft")  # never submitted: not a registration
    for hours in (24, 48):  # the median of an even number of deals sits between the two
        sf.deal(b, "approved", first_submitted_at=submitted, approved_at=submitted + timedelta(hours=hours))

    found = sf.values(AS_OF, "deals_registered", "approval_days")

    # A: the three approved in the window, the two submitted on its edges (not the one before it,
    # first submitted 2026-01-01, nor the one after).
    assert found["deals_registered"] == {a.pk: 5, b.pk: 2}
    assert found["approval_days"] == {a.pk: d("2.0"), b.pk: d("1.5")}


def test_lead_acceptance_rate_and_response_hours() -> None:
    a, b = factories.PartnerFactory(), factories.PartnerFactory()
    offered = at(2026, 11, 2, 8)
    sf.lead_offer(a, offered, "accepted", timedelta(hours=2))
    sf.lead_offer(a, offered, "accepted", timedelta(hours=4))
    sf.lead_offer(a, offered, "declined", timedelta(hours=30))
    sf.lead_offer(a, offered, "timed_out", timedelta(hours=48))  # no answer: counts against acceptance
    sf.lead_offer(a, offered, "withdrawn", timedelta(hours=1))  # taken back by the vendor: not counted
    sf.lead_offer(a, at(2027, 3, 31, 12), "pending")  # not answered yet
    sf.lead_offer(a, at(2026, 3, 31, 23), "accepted", timedelta(hours=1))  # offered before the window
    sf.lead_offer(a, at(2027, 3, 31, 23), "declined", timedelta(hours=2))  # answered after the as-of day
    sf.lead_offer(b, offered, "declined", timedelta(hours=1))

    found = sf.values(AS_OF, "lead_acceptance_rate", "lead_response_hours")

    assert found["lead_acceptance_rate"] == {a.pk: d("50.0"), b.pk: d("0.0")}  # 2 of 4
    assert found["lead_response_hours"] == {a.pk: d("4.0"), b.pk: d("1.0")}  # median of 2, 4, 30


# --- MDF -----------------------------------------------------------------------------------------------
def test_mdf_utilisation() -> None:
    sf.rates()
    a, b = factories.PartnerFactory(), factories.PartnerFactory()
    first_half = sf.fund_period(date(2026, 1, 1), date(2026, 6, 30))  # overlaps the window's start
    earlier = sf.fund_period(date(2025, 7, 1), date(2025, 12, 31))  # ended before the window
    current = sf.fund_period(date(2027, 1, 1), date(2027, 6, 30))
    usd, eur = sf.allocation(a, first_half), sf.allocation(a, current, "EUR")
    moment = at(2026, 5, 1)
    sf.ledger(usd, "allocated", "1000.00", moment)
    sf.ledger(usd, "accrued", "200.00", moment)
    sf.ledger(usd, "committed", "500.00", moment)
    sf.ledger(usd, "released", "500.00", moment)  # the claim below replaced the commitment
    sf.ledger(usd, "claimed", "400.00", moment)
    sf.ledger(usd, "paid", "400.00", moment)  # paying a claim uses nothing more
    sf.ledger(usd, "forfeited", "300.00", at(2026, 7, 1))  # left out: it would fill the period up
    sf.ledger(usd, "committed", "100.00", at(2027, 4, 1))  # after the as-of day
    sf.ledger(eur, "allocated", "1000.00", at(2027, 1, 5))  # 1100
    sf.ledger(eur, "committed", "500.00", at(2027, 2, 5))  # 550
    sf.ledger(sf.allocation(a, earlier), "allocated", "5000.00", at(2025, 7, 1))
    sf.ledger(sf.allocation(b, earlier), "allocated", "5000.00", at(2025, 7, 1))

    found = sf.values(AS_OF, "mdf_utilisation")

    # used (500 - 500 + 400 + 550) of granted (1000 + 200 + 1100): 950 / 2300 = 41.30 %
    assert found["mdf_utilisation"] == {a.pk: d("41.3")}  # B has no funds for the window: no value


def test_mdf_return_on_investment() -> None:
    sf.rates()
    a, b = factories.PartnerFactory(), factories.PartnerFactory()
    period = sf.fund_period(date(2026, 1, 1), date(2027, 12, 31))
    usd, eur = sf.allocation(a, period), sf.allocation(a, period, "EUR")
    roadshow, webinar, old = sf.fund_request(usd), sf.fund_request(eur), sf.fund_request(eur)
    sf.ledger(usd, "paid", "1000.00", at(2026, 8, 1), fund_request=roadshow)
    sf.ledger(eur, "paid", "100.00", at(2027, 1, 10), fund_request=webinar)  # 110
    sf.ledger(eur, "paid", "500.00", at(2026, 3, 1), fund_request=old)  # paid before the window
    sf.attribute(roadshow, sf.deal(a, won_amount="3000.00", closed_on=date(2026, 9, 1)))
    sf.attribute(roadshow, sf.deal(a, won_amount="1000.00", currency="EUR", closed_on=date(2026, 10, 1)))
    sf.attribute(roadshow, sf.deal(a, "approved"))  # not won (yet)
    sf.attribute(roadshow, sf.deal(a, won_amount="9000.00", closed_on=date(2027, 4, 2)))  # after
    sf.attribute(webinar, sf.deal(a, won_amount="400.00", currency="GBP", closed_on=date(2027, 2, 1)))
    sf.attribute(old, sf.deal(a, won_amount="8000.00", closed_on=date(2026, 5, 1)))
    b_funds = sf.allocation(b, period)
    sf.ledger(b_funds, "paid", "200.00", at(2026, 12, 1), fund_request=sf.fund_request(b_funds))

    found = sf.values(AS_OF, "mdf_roi")

    # (3000 + 1000 × 1.10) / (1000 + 100 × 1.10) = 4100 / 1110; B was paid for nothing that sold
    assert found["mdf_roi"] == {a.pk: d("3.69"), b.pk: d("0.00")}


# --- training -------------------------------------------------------------------------------------------
def test_certified_people_certifications_held_and_each_track() -> None:
    a, b = factories.PartnerFactory(), factories.PartnerFactory()
    security, network = sf.certification("Security"), sf.certification("Network")
    u1, u2, u3, u4, u6 = (factories.partner_user(a) for _ in range(5))
    u4.membership.is_active = False
    u4.membership.save()
    moved = factories.partner_user(b)  # certified while at A, now at B
    end_of_day = at(2027, 4, 1)  # the end of the as-of day
    sf.award(u1, a, security, at(2026, 1, 1), None)
    sf.award(u1, a, network, at(2026, 2, 1), end_of_day)  # valid to the last second of the day
    sf.award(u6, a, network, at(2027, 3, 31, 23, 59), None)
    sf.award(u2, a, security, at(2025, 1, 1), end_of_day - timedelta(seconds=1))  # expired that night
    sf.award(u3, a, security, end_of_day, None)  # awarded the next day
    sf.award(u4, a, security, at(2026, 1, 1), None)  # no longer active at A
    sf.award(moved, a, security, at(2026, 1, 1), None)
    sf.award(moved, b, network, at(2026, 1, 1), None)

    tracks = {"Security": f"certified_people.{security.pk}", "Network": f"certified_people.{network.pk}"}
    found = sf.values(AS_OF, "certified_people", "certifications_held", *tracks.values())

    assert found["certified_people"] == {a.pk: 2, b.pk: 1}  # u1 and u6; the one who moved
    assert found["certifications_held"] == {a.pk: 3, b.pk: 1}
    assert found[tracks["Security"]] == {a.pk: 1}
    assert found[tracks["Network"]] == {a.pk: 2, b.pk: 1}


# --- content -------------------------------------------------------------------------------------------
def test_content_downloads_and_the_people_downloading() -> None:
    a, b = factories.PartnerFactory(), factories.PartnerFactory()
    ann, bo = factories.partner_user(a), factories.partner_user(a)
    sf.asset_event(a, ann, "download", at(2026, 4, 1))  # the window's first second
    sf.asset_event(a, ann, "download", at(2026, 9, 9))
    sf.asset_event(a, bo, "cobranded", at(2027, 3, 31, 23, 59, 59))  # a co-branded PDF is a download
    sf.asset_event(a, None, "download", at(2026, 9, 9))  # a person since deleted: a download, nobody
    sf.asset_event(a, bo, "view", at(2026, 9, 9))  # a view is not a download
    sf.asset_event(a, ann, "download", at(2026, 3, 31, 23, 59, 59))
    sf.asset_event(a, ann, "download", at(2027, 4, 1))
    sf.asset_event(b, factories.partner_user(b), "download", at(2026, 12, 24))

    found = sf.values(AS_OF, "content_downloads", "content_downloaders")

    assert found["content_downloads"] == {a.pk: 4, b.pk: 1}
    assert found["content_downloaders"] == {a.pk: 2, b.pk: 1}


# --- incentives ----------------------------------------------------------------------------------------
def test_incentive_earnings_net_of_reversals() -> None:
    sf.rates()
    a, b = factories.PartnerFactory(), factories.PartnerFactory()
    sf.earning(a, "100.00", "USD", at(2026, 4, 1))
    sf.earning(a, "50.00", "EUR", at(2026, 12, 1))  # 55
    sf.earning(a, "-30.00", "USD", at(2027, 3, 31, 23, 59, 59), kind="reversal")
    sf.earning(a, "20.00", "GBP", at(2026, 12, 1))  # no rate
    sf.earning(a, "999.00", "USD", at(2026, 3, 31, 23, 59, 59))
    sf.earning(b, "-10.00", "USD", at(2026, 12, 1), kind="reversal")

    assert sf.values(AS_OF, "incentive_earnings")["incentive_earnings"] == {
        a.pk: d("125.00"),
        b.pk: d("-10.00"),
    }


# --- the channel account manager's rating ----------------------------------------------------------
def test_cam_rating_averages_the_quarters_of_the_window() -> None:
    from partners.models import PartnerAssessment

    a, b = factories.PartnerFactory(), factories.PartnerFactory()
    as_of = date(2027, 5, 15)  # the window starts 2026-05-16, inside the quarter of 2026-04-01

    def rate(partner: object, quarter: date, rating: int, recorded: tuple[int, ...] = (2027, 5, 1)) -> None:
        PartnerAssessment.objects.create(
            partner=partner, period_start=quarter, rating=rating, comment="ok", created_at=at(*recorded)
        )

    rate(a, date(2026, 4, 1), 4)  # overlaps the window
    rate(a, date(2027, 4, 1), 5)  # the current quarter
    rate(a, date(2026, 1, 1), 1)  # ended before the window
    rate(a, date(2027, 1, 1), 1, recorded=(2027, 5, 16))  # recorded after the as-of day
    rate(b, date(2026, 10, 1), 3)

    assert sf.values(as_of, "cam_rating")["cam_rating"] == {a.pk: d("4.50"), b.pk: d("3.00")}


# --- the number of queries --------------------------------------------------------------------------
def test_every_kpi_is_a_fixed_number_of_queries_for_any_number_of_partners() -> None:
    """Set-based: 2 partners or 12 with the same rows each, the same queries."""
    sf.rates()
    network = sf.certification("Network")

    def busy_partner() -> None:
        partner = factories.PartnerFactory()
        sf.deal(partner, won_amount="10.00", closed_on=date(2026, 9, 9), first_submitted_at=at(2026, 9, 1))
        sf.lead_offer(partner, at(2026, 9, 1), "accepted", timedelta(hours=1))
        sf.award(factories.partner_user(partner), partner, network, at(2026, 1, 1), None)
        sf.earning(partner, "5.00", "EUR", at(2026, 9, 9))

    def measured() -> tuple[int, dict]:
        registry = kpi_registry()
        with system_scope(), CaptureQueriesContext(connection) as queries:
            from partners.performance.kpis import measure
            from prm.models import reporting_rates

            found = measure(as_of=AS_OF, kpis=registry, rates=reporting_rates()).values
        return len(queries.captured_queries), found

    for _ in range(2):
        busy_partner()
    few, found_few = measured()
    for _ in range(10):
        busy_partner()
    many, found_many = measured()
    assert len(found_few["won_revenue"]) == 2 and len(found_many["won_revenue"]) == 12
    assert len(found_many["certified_people"]) == 12
    assert few == many
    # One query per KPI, and one for the rates: no query per partner.
    assert many == len(kpi_registry()) + 1
