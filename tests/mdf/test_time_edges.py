"""MDF dates at their edges, on a fixed clock (time-machine): the half-year boundary decides which
period's funds a request draws on and when unused funds forfeit; the claim deadline is 60 *days*
after the activity ends (PRODUCT.md), not two months; "10 business days before the activity" is
a count of days, the same at 00:00 and at 23:59.

The portal's TIME_ZONE is UTC, so local midnight and UTC midnight are the same instant here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine

from mdf import services, tasks
from mdf.models import Allocation, FundPeriod, LedgerKind, RequestStatus
from prm.errors import ApplicationError
from prm.models import Holiday
from prm.tenancy import Actor
from tests.mdf import factories as m
from tests.mdf.factories import acting

pytestmark = pytest.mark.django_db

H1 = (date(2026, 1, 1), date(2026, 6, 30))
H2 = (date(2026, 7, 1), date(2026, 12, 31))


def at(*args: int) -> time_machine.travel:
    return time_machine.travel(datetime(*args, tzinfo=UTC), tick=False)


@pytest.fixture
def admin() -> Actor:
    return m.program_admin()


@pytest.fixture
def team() -> m.Team:
    return m.team("Northwind Resellers")


def half_year(starts_on: date, ends_on: date) -> FundPeriod:
    return m.period(starts_on=starts_on, ends_on=ends_on, name=f"FY{starts_on.year} {starts_on:%m}")


# --- the half-year boundary ------------------------------------------------------------------------
def test_the_start_date_on_either_side_of_the_half_year_picks_that_periods_funds(
    team: m.Team, admin: Actor
) -> None:
    with at(2026, 5, 4, 10):
        first = m.fund(team.partner, m.budget(half_year(*H1)), "10000.00", admin)
        second = m.fund(team.partner, m.budget(half_year(*H2)), "8000.00", admin)
        last_day = m.draft(team.marketing_actor, start_date=date(2026, 6, 30), end_date=date(2026, 7, 2))
        first_day = m.draft(team.marketing_actor, start_date=date(2026, 7, 1), end_date=date(2026, 7, 1))
    assert (last_day.allocation, first_day.allocation) == (first, second)


def test_a_start_date_after_the_last_period_is_refused(team: m.Team, admin: Actor) -> None:
    with at(2026, 5, 4, 10):
        m.fund(team.partner, m.budget(half_year(*H1)), "10000.00", admin)
        with acting(team.marketing_actor), pytest.raises(ApplicationError) as excinfo:
            services.request_save_draft(
                actor=team.marketing_actor, data=m.request_data(start_date=date(2026, 7, 1))
            )
    assert excinfo.value.field == "start_date"
    assert "no marketing funds for the period of July 1, 2026" in str(excinfo.value)


def test_a_half_year_closes_at_midnight_after_its_last_day_not_before(team: m.Team, admin: Actor) -> None:
    with at(2026, 5, 4, 10):
        ending = half_year(*H1)
        first = m.fund(team.partner, m.budget(ending), "10000.00", admin)
        second = m.fund(team.partner, m.budget(half_year(*H2)), "8000.00", admin)

    with at(2026, 6, 30, 23, 59, 59):
        assert tasks.close_ended_periods() == 0
    assert FundPeriod.objects.get(pk=ending.pk).closed_at is None
    assert m.balances(first).forfeited == Decimal("0.00")

    with at(2026, 7, 1, 0, 0, 0):
        assert tasks.close_ended_periods() == 1
    assert FundPeriod.objects.get(pk=ending.pk).closed_at == datetime(2026, 7, 1, tzinfo=UTC)
    assert (m.balances(first).available, m.balances(first).forfeited) == (
        Decimal("0.00"),
        Decimal("10000.00"),
    )
    assert m.balances(second).available == Decimal("8000.00")  # H2 has just begun
    assert FundPeriod.objects.get(pk=second.budget.period_id).closed_at is None


# --- the claim deadline: 60 days, not two months ---------------------------------------------------
@pytest.mark.parametrize(
    ("ends", "deadline"),
    [
        (date(2026, 12, 31), date(2027, 3, 1)),  # two months would say 28 February
        (date(2028, 2, 29), date(2028, 4, 29)),  # from a leap day
        (date(2027, 12, 31), date(2028, 2, 29)),  # onto a leap day
    ],
)
def test_the_claim_deadline_is_sixty_days_after_the_activity_ends(
    team: m.Team, admin: Actor, ends: date, deadline: date
) -> None:
    with at(ends.year - 1, 6, 1, 9):
        period = m.period(starts_on=date(ends.year - 1, 1, 1), ends_on=date(ends.year + 1, 12, 31))
        m.fund(team.partner, m.budget(period), "10000.00", admin)
        approved = m.approved(team.marketing_actor, admin, start_date=ends, end_date=ends)
    assert m.fresh(approved).claim_deadline == deadline


@pytest.fixture
def claimable(team: m.Team, admin: Actor, settings: Any, tmp_path: Path) -> Any:
    """An approved activity that ended on 2026-12-31: claims are due by 2027-03-01."""
    m.media_storage(settings, tmp_path)
    with at(2026, 11, 2, 9):
        period = m.period(starts_on=date(2026, 7, 1), ends_on=date(2027, 6, 30))
        allocation = m.fund(team.partner, m.budget(period), "10000.00", admin)
        approved = m.approved(
            team.marketing_actor, admin, start_date=date(2026, 12, 30), end_date=date(2026, 12, 31)
        )
    assert m.fresh(approved).claim_deadline == date(2027, 3, 1)
    return approved, allocation


def test_a_claim_is_taken_until_the_last_second_of_the_deadline_day(team: m.Team, claimable: Any) -> None:
    approved, _allocation = claimable
    with at(2027, 3, 1, 23, 59, 59):
        m.claim(team.marketing_actor, approved)
    assert m.fresh(approved).status == RequestStatus.CLAIM_SUBMITTED


def test_a_claim_a_second_after_the_deadline_day_is_refused(team: m.Team, claimable: Any) -> None:
    approved, _allocation = claimable
    with (
        at(2027, 3, 2, 0, 0, 0),
        pytest.raises(ApplicationError, match=r"deadline \(March 1, 2027\) has passed"),
    ):
        m.claim(team.marketing_actor, approved)
    assert m.fresh(approved).status == RequestStatus.APPROVED


def test_a_claim_before_the_activity_ended_is_refused_and_on_its_last_day_taken(
    team: m.Team, claimable: Any
) -> None:
    approved, _allocation = claimable
    with at(2026, 12, 30, 23, 59, 59), pytest.raises(ApplicationError, match="after the activity has ended"):
        m.claim(team.marketing_actor, approved)
    with at(2026, 12, 31, 0, 0, 0):
        m.claim(team.marketing_actor, approved)
    assert m.fresh(approved).status == RequestStatus.CLAIM_SUBMITTED


def test_an_unclaimed_request_expires_the_day_after_its_deadline(claimable: Any) -> None:
    approved, allocation = claimable
    with at(2027, 3, 1, 23, 59, 59):
        assert tasks.expire_unclaimed_requests() == 0
    assert m.fresh(approved).status == RequestStatus.APPROVED
    with at(2027, 3, 2, 0, 0, 0):
        assert tasks.expire_unclaimed_requests() == 1
    assert m.fresh(approved).status == RequestStatus.EXPIRED
    assert m.balances(allocation).committed == Decimal("0.00")
    released = allocation.entries.filter(kind=LedgerKind.RELEASED).values_list("amount", flat=True)
    assert list(released) == [Decimal("4000.00")]


# --- "10 business days before the activity" --------------------------------------------------------
@pytest.fixture
def allocation(team: m.Team, admin: Actor) -> Allocation:
    with at(2026, 1, 5, 9):
        return m.fund(team.partner, m.budget(half_year(*H1)), "10000.00", admin)


def _submit(actor: Actor, start: date) -> ApplicationError | None:
    fund_request = m.draft(actor, start_date=start)
    try:
        with acting(actor):
            services.request_submit(actor=actor, fund_request=fund_request)
    except ApplicationError as error:
        assert m.fresh(fund_request).status == RequestStatus.DRAFT
        return error
    assert m.fresh(fund_request).status == RequestStatus.SUBMITTED
    return None


@pytest.mark.parametrize("clock", [(0, 0, 0), (0, 0, 1), (10, 0, 0), (23, 59, 59)])
def test_ten_business_days_ahead_is_in_good_time_all_day_and_nine_is_not(
    team: m.Team, allocation: Allocation, clock: tuple[int, int, int]
) -> None:
    """Monday 16 March minus 10 business days is Monday 2 March: a request on the 2nd, at any time
    of the day, is in good time; one on the 3rd, at any time, is not."""
    with at(2026, 3, 2, *clock):
        assert _submit(team.marketing_actor, date(2026, 3, 16)) is None
    with at(2026, 3, 3, *clock):
        error = _submit(team.marketing_actor, date(2026, 3, 16))
    assert error is not None
    assert error.extra == {"needs_confirmation": True}
    assert "The activity starts in 9 business days" in str(error)


def test_a_weekend_or_a_holiday_is_not_a_business_day_of_notice(team: m.Team, allocation: Allocation) -> None:
    # Friday 20 March minus 10 business days is Friday 6 March; Saturday the 7th is too late.
    with at(2026, 3, 6, 23, 59, 59):
        assert _submit(team.marketing_actor, date(2026, 3, 20)) is None
    with at(2026, 3, 7, 0, 0, 0):
        assert _submit(team.marketing_actor, date(2026, 3, 20)) is not None
    # An event on Saturday 21 March: Monday the 9th is 10 business days ahead (9th to 20th).
    with at(2026, 3, 9, 18):
        assert _submit(team.marketing_actor, date(2026, 3, 21)) is None
    # A holiday in between costs a day of notice.
    Holiday.objects.create(date=date(2026, 3, 25), name="Closure")
    with at(2026, 3, 16, 9):
        error = _submit(team.marketing_actor, date(2026, 3, 30))
    assert error is not None and "starts in 9 business days" in str(error)
