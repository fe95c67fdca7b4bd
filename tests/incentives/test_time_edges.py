"""Incentive dates at their edges, on a fixed clock (time-machine): rebate brackets count the
calendar quarter of the close date (the quarter starts over at 00:00 on 1 April and on 1 January),
a SPIF window holds both its first and its last day, co-op accrues into the half-year holding the
close date, and the monthly settlement on the 1st covers the previous calendar month to its last
second (29 February in a leap year). The portal's TIME_ZONE is UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings

from deals.models import Deal
from incentives import services, tasks
from incentives.models import EarningEntry, Statement
from mdf.models import Allocation, LedgerEntry, LedgerKind
from prm.tenancy import Actor
from tests.deals import factories as df
from tests.incentives import factories as f
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db


def at(*args: int) -> time_machine.travel:
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)


def won_now(team: df.Team, reviewer: Actor, amount: str, customer: str) -> Deal:
    """Approved and won (closed today) at the travelled-to moment; accrued as the task would."""
    deal = f.won(team, reviewer, amount, customer=customer, domain=f"{customer.lower()}.example")
    f.accrue(deal)
    return deal


def earned(deal: Deal) -> list[Decimal]:
    return list(EarningEntry.objects.filter(deal=deal).order_by("pk").values_list("amount", flat=True))


# --- quarters ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        (date(2028, 2, 29), (date(2028, 1, 1), date(2028, 3, 31))),
        (date(2027, 3, 31), (date(2027, 1, 1), date(2027, 3, 31))),
        (date(2027, 4, 1), (date(2027, 4, 1), date(2027, 6, 30))),
        (date(2027, 9, 30), (date(2027, 7, 1), date(2027, 9, 30))),
        (date(2027, 10, 1), (date(2027, 10, 1), date(2027, 12, 31))),
        (date(2027, 12, 31), (date(2027, 10, 1), date(2027, 12, 31))),
        (date(2028, 1, 1), (date(2028, 1, 1), date(2028, 3, 31))),
    ],
)
def test_quarter_of_at_its_edges(day: date, quarter: tuple[date, date]) -> None:
    assert services.quarter_of(day) == quarter


@pytest.mark.parametrize(
    ("last_second", "first_second"),
    [((2027, 3, 31, 23, 59, 59), (2027, 4, 1, 0, 0, 0)), ((2027, 12, 31, 23, 59, 59), (2028, 1, 1, 0, 0, 0))],
    ids=["q1-q2", "q4-q1"],
)
def test_the_rebate_bracket_starts_over_with_the_quarter(
    team_a: df.Team,
    vendor_admin: Actor,
    last_second: tuple[int, ...],
    first_second: tuple[int, ...],
) -> None:
    f.rebate(percent="2", brackets=[["50000", "5"]], starts_on=date(2027, 1, 1), ends_on=date(2028, 12, 31))
    with at(*last_second):
        big = won_now(team_a, vendor_admin, "60000.00", "Initech")
    with at(*first_second):
        small = won_now(team_a, vendor_admin, "10000.00", "Globex")
        bigger = won_now(team_a, vendor_admin, "45000.00", "Hooli")
    assert earned(big) == [Decimal("3000.00")]  # 60000 in its quarter: 5 %
    assert earned(small) == [Decimal("200.00")]  # a new quarter: 10000, base 2 %
    assert earned(bigger) == [Decimal("2250.00")]  # 55000 in the new quarter: 5 %


def test_a_spif_window_holds_its_first_and_last_day_and_nothing_outside(
    team_a: df.Team, vendor_admin: Actor
) -> None:
    f.spif(amount="250.00", starts_on=date(2027, 4, 1), ends_on=date(2027, 6, 30))
    with at(2027, 3, 31, 23, 59, 59):
        before = won_now(team_a, vendor_admin, "1000.00", "Before")
    with at(2027, 4, 1, 0, 0, 0):
        first = won_now(team_a, vendor_admin, "1000.00", "First")
    with at(2027, 6, 30, 23, 59, 59):
        last = won_now(team_a, vendor_admin, "1000.00", "Last")
    with at(2027, 7, 1, 0, 0, 0):
        after = won_now(team_a, vendor_admin, "1000.00", "After")
    assert [earned(deal) for deal in (before, first, last, after)] == [
        [],
        [Decimal("250.00")],
        [Decimal("250.00")],
        [],
    ]


# --- co-op into the half-year of the close date --------------------------------------------------
def test_co_op_accrues_into_the_half_year_holding_the_close_date(
    team_a: df.Team, vendor_admin: Actor
) -> None:
    first_half = m.budget(m.period(starts_on=date(2027, 1, 1), ends_on=date(2027, 6, 30), name="FY2027 H1"))
    second_half = m.budget(m.period(starts_on=date(2027, 7, 1), ends_on=date(2027, 12, 31), name="FY2027 H2"))
    assert team_a.partner.tier.mdf_accrual_percent == Decimal("2")
    with at(2027, 6, 30, 23, 59, 59):
        june = f.won(team_a, vendor_admin, "1000.00", customer="June", domain="june.example")
        tasks.accrue_coop(june.pk)
    with at(2027, 7, 1, 0, 0, 0):
        july = f.won(team_a, vendor_admin, "2000.00", customer="July", domain="july.example")
        tasks.accrue_coop(july.pk)
    accrued = LedgerEntry.objects.filter(kind=LedgerKind.ACCRUED, partner=team_a.partner).order_by("pk")
    assert list(accrued.values_list("source", "allocation__budget", "amount")) == [
        (f"deal:{june.pk}", first_half.pk, Decimal("20.00")),
        (f"deal:{july.pk}", second_half.pk, Decimal("40.00")),
    ]
    assert Allocation.objects.filter(partner=team_a.partner).count() == 2


# --- the monthly settlement ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("today", "period_end"),
    [
        (date(2027, 3, 1), date(2027, 2, 28)),
        (date(2028, 3, 1), date(2028, 2, 29)),
        (date(2028, 3, 31), date(2028, 2, 29)),
        (date(2027, 1, 1), date(2026, 12, 31)),
        (date(2027, 5, 1), date(2027, 4, 30)),
    ],
)
def test_the_previous_month_ends_on_its_last_day(today: date, period_end: date) -> None:
    assert services.previous_month_end(today) == period_end


def test_the_settlement_runs_at_two_on_the_first_of_the_month() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE["incentives-settlement-monthly"]
    assert schedule["task"] == "incentives.tasks.run_settlement"
    crontab = schedule["schedule"]
    assert (crontab.day_of_month, crontab.hour, crontab.minute) == ({1}, {2}, {0})


def test_the_run_on_the_first_settles_the_previous_month_to_its_last_second(
    team_a: df.Team, vendor_admin: Actor
) -> None:
    f.spif(amount="100.00", starts_on=date(2028, 1, 1), ends_on=date(2028, 12, 31))
    with at(2028, 2, 29, 23, 59, 59):
        leap_day = won_now(team_a, vendor_admin, "1000.00", "Leapday")
    with at(2028, 3, 1, 0, 0, 0):
        march = won_now(team_a, vendor_admin, "1000.00", "March")
    with at(2028, 3, 1, 2, 0, 0):
        assert tasks.run_settlement() == 1
        assert tasks.run_settlement() == 0  # the same run again pays nothing twice
    (february,) = Statement.objects.filter(partner=team_a.partner)
    assert (february.period_end, february.total) == (date(2028, 2, 29), Decimal("100.00"))
    assert february.number == f"ST-20280229-{team_a.partner.pk}-USD"
    assert list(february.lines.values_list("entry__deal", flat=True)) == [leap_day.pk]

    with at(2028, 4, 1, 2, 0, 0):
        assert tasks.run_settlement() == 1
    march_statement = Statement.objects.get(partner=team_a.partner, period_end=date(2028, 3, 31))
    assert list(march_statement.lines.values_list("entry__deal", flat=True)) == [march.pk]


def test_the_run_on_new_years_day_settles_december(team_a: df.Team, vendor_admin: Actor) -> None:
    f.spif(amount="100.00", starts_on=date(2026, 12, 1), ends_on=date(2027, 1, 31))
    with at(2026, 12, 31, 23, 59, 59):
        december = won_now(team_a, vendor_admin, "1000.00", "December")
    with at(2027, 1, 1, 0, 0, 0):
        won_now(team_a, vendor_admin, "1000.00", "January")
    with at(2027, 1, 1, 2, 0, 0):
        assert tasks.run_settlement() == 1
    (statement,) = Statement.objects.filter(partner=team_a.partner)
    assert statement.period_end == date(2026, 12, 31)
    assert list(statement.lines.values_list("entry__deal", flat=True)) == [december.pk]
