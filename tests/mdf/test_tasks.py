"""Scheduled MDF jobs: unclaimed approvals expire after their deadline, and unused funds forfeit at
the end of the period. Both are idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mdf import services, tasks
from mdf.models import FundPeriod, FundRequest, LedgerEntry, LedgerKind, RequestStatus
from prm.models import AuditEvent, Notification
from prm.tenancy import Actor, system_scope
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> Actor:
    return m.program_admin()


def _entries(**filters: object) -> list[tuple[str, Decimal]]:
    return list(LedgerEntry.objects.filter(**filters).order_by("pk").values_list("kind", "amount"))


# --- expiry --------------------------------------------------------------------------------------
def test_an_unclaimed_request_past_its_deadline_expires_once(admin: Actor) -> None:
    team = m.team()
    allocation = m.fund(team.partner, m.budget(), "10000.00", admin)
    overdue = m.approved(team.marketing_actor, admin, **m.past_dates(ended_days_ago=61))  # due yesterday
    on_time = m.approved(team.marketing_actor, admin, **m.past_dates(ended_days_ago=60))  # due today
    assert m.balances(allocation).available == Decimal("2000.00")

    assert tasks.expire_unclaimed_requests() == 1
    assert m.fresh(overdue).status == RequestStatus.EXPIRED
    assert m.fresh(on_time).status == RequestStatus.APPROVED
    assert _entries(fund_request=overdue) == [
        (LedgerKind.COMMITTED, Decimal("4000.00")),
        (LedgerKind.RELEASED, Decimal("4000.00")),
    ]
    assert m.balances(allocation).available == Decimal("6000.00")
    assert AuditEvent.objects.filter(action="mdf.request_expired", target_id=str(overdue.pk)).count() == 1
    notified = Notification.objects.filter(kind="mdf.request_expired").values_list("recipient", flat=True)
    assert set(notified) == {team.admin.pk, team.marketing.pk}

    assert tasks.expire_unclaimed_requests() == 0
    assert LedgerEntry.objects.filter(kind=LedgerKind.RELEASED).count() == 1
    assert m.balances(allocation).available == Decimal("6000.00")
    # Called again directly (a redelivered job), the service changes nothing either.
    with system_scope():  # in the scope the job gives it, per row
        assert services.request_expire(fund_request=overdue) is False
    assert LedgerEntry.objects.filter(kind=LedgerKind.RELEASED).count() == 1


def test_claimed_and_draft_requests_never_expire(admin: Actor, settings: Any, tmp_path: Path) -> None:
    m.media_storage(settings, tmp_path)
    team = m.team()
    m.fund(team.partner, m.budget(), "10000.00", admin)
    claimed = m.approved(team.marketing_actor, admin, **m.past_dates(ended_days_ago=59))
    m.claim(team.marketing_actor, claimed)
    FundRequest.objects.filter(pk=claimed.pk).update(claim_deadline=m.today() - timedelta(days=5))
    draft = m.draft(team.marketing_actor, **m.past_dates(ended_days_ago=100))
    assert tasks.expire_unclaimed_requests() == 0
    assert m.fresh(claimed).status == RequestStatus.CLAIM_SUBMITTED
    assert m.fresh(draft).status == RequestStatus.DRAFT
    assert LedgerEntry.objects.filter(kind=LedgerKind.RELEASED).count() == 0


# --- period close --------------------------------------------------------------------------------
@pytest.fixture
def ended_period() -> FundPeriod:
    return m.period(starts_on=m.today() - timedelta(days=180), ends_on=m.today() - timedelta(days=1))


def test_an_ended_period_forfeits_exactly_what_is_available(admin: Actor, ended_period: FundPeriod) -> None:
    fund_budget = m.budget(ended_period, "50000.00")
    running = m.budget(m.period(), "50000.00")
    a, b = m.team("Northwind Resellers"), m.team("Southwind Systems")
    a_allocation = m.fund(a.partner, fund_budget, "10000.00", admin)
    b_allocation = m.fund(b.partner, fund_budget, "5000.50", admin)
    current = m.fund(a.partner, running, "7000.00", admin)
    # An approved activity late in the period; its claim deadline is still ahead.
    open_request = m.approved(a.marketing_actor, admin, "3000.00", **m.past_dates(ended_days_ago=10))
    assert m.fresh(open_request).allocation == a_allocation

    assert tasks.close_ended_periods() == 2
    a_after, b_after = m.balances(a_allocation), m.balances(b_allocation)
    assert _entries(allocation=a_allocation, kind=LedgerKind.FORFEITED) == [
        (LedgerKind.FORFEITED, Decimal("7000.00"))
    ]
    assert _entries(allocation=b_allocation, kind=LedgerKind.FORFEITED) == [
        (LedgerKind.FORFEITED, Decimal("5000.50"))
    ]
    assert (a_after.available, a_after.committed, a_after.forfeited) == (
        Decimal("0.00"),
        Decimal("3000.00"),  # the open commitment is untouched
        Decimal("7000.00"),
    )
    assert (b_after.available, b_after.forfeited) == (Decimal("0.00"), Decimal("5000.50"))
    assert m.balances(current).available == Decimal("7000.00")  # a running period is left alone
    ended_period.refresh_from_db()
    assert ended_period.closed_at is not None
    assert running.period.closed_at is None
    assert AuditEvent.objects.filter(action="mdf.forfeited").count() == 2

    closed_at = ended_period.closed_at
    assert tasks.close_ended_periods() == 0
    with system_scope():  # in the scope the job gives it
        assert services.period_close(period=ended_period) == 0
    assert LedgerEntry.objects.filter(kind=LedgerKind.FORFEITED).count() == 2
    ended_period.refresh_from_db()
    assert ended_period.closed_at == closed_at
    assert m.fresh(open_request).status == RequestStatus.APPROVED


def test_a_period_ending_today_is_not_closed_yet(admin: Actor) -> None:
    period = m.period(starts_on=m.today() - timedelta(days=30), ends_on=m.today())
    allocation = m.fund(m.team().partner, m.budget(period), "1000.00", admin)
    assert tasks.close_ended_periods() == 0
    with system_scope():  # in the scope the job gives it
        assert services.period_close(period=period) == 0
    assert m.balances(allocation).available == Decimal("1000.00")
    period.refresh_from_db()
    assert period.closed_at is None


def test_funds_released_after_the_period_closed_forfeit_too(admin: Actor, ended_period: FundPeriod) -> None:
    """A commitment stays open over the period end (claim or expiry comes later). When it is
    released afterwards, the money is unused funds of a period that has ended: it must forfeit,
    not reappear as available in a closed period (from where a request dated inside that period
    could still draw on it)."""
    team = m.team()
    allocation = m.fund(team.partner, m.budget(ended_period, "50000.00"), "10000.00", admin)
    overdue = m.approved(team.marketing_actor, admin, "3000.00", **m.past_dates(ended_days_ago=70))
    assert tasks.close_ended_periods() == 1
    assert m.balances(allocation).available == Decimal("0.00")

    assert tasks.expire_unclaimed_requests() == 1  # its claim deadline passed 10 days ago
    assert m.fresh(overdue).status == RequestStatus.EXPIRED
    balances = m.balances(allocation)
    assert balances.committed == Decimal("0.00")
    assert balances.available == Decimal("0.00"), (
        f"{balances.available} released into a closed period stays available"
    )


# --- the task opens its own scope ----------------------------------------------------------------
def test_the_period_close_does_nothing_without_its_own_scope(
    admin: Actor, ended_period: FundPeriod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker starts with no database scope: if the job forgot ``system_scope()``, row-level
    security would show it no period and no allocation. The suite must notice, so tasks never
    inherit the test body's scope (prm.celery.EmptyScopeTask)."""
    import contextlib

    a = m.team("Northwind Resellers")
    m.fund(a.partner, m.budget(ended_period, "50000.00"), "10000.00", admin)
    monkeypatch.setattr(tasks, "system_scope", contextlib.nullcontext)
    # Silently wrong, as it would be in a worker: nothing forfeited (the same call with its scope
    # forfeits 10,000.00: test_an_ended_period_forfeits_exactly_what_is_available).
    assert tasks.close_ended_periods() == 0
    assert LedgerEntry.objects.filter(kind=LedgerKind.FORFEITED).count() == 0
