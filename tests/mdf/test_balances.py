"""The allocation balances PostgreSQL keeps from the ledger (models.AllocationBalance, a trigger on
its inserts): every path that writes entries keeps them equal to the ledger's sums, whoever writes,
in the writer's own scope; mdf.balances.mismatches() notices a balance that drifted; row-level
security keeps a partner's balances to its own scope and a channel account manager's portfolio."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q

from mdf import balances, ledger, services, tasks
from mdf.admin.common import _available_subquery
from mdf.models import Allocation, AllocationBalance, LedgerEntry, LedgerKind
from prm.tenancy import Actor, Scope, system_scope, tenant_scope
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> Actor:
    return m.program_admin()


def _maintained(allocation: Allocation) -> Decimal | None:
    with system_scope():
        row = AllocationBalance.objects.filter(allocation_id=allocation.pk).first()
    return row.available if row is not None else None


def _listed(allocation: Allocation) -> Decimal:
    """What the fund request changelist prints for the allocation (its ``available`` column)."""
    with system_scope():
        return (
            Allocation.objects.filter(pk=allocation.pk)
            .annotate(available_funds=_available_subquery("pk"))
            .values_list("available_funds", flat=True)
            .get()
        )


def _mismatches() -> list[balances.Mismatch]:
    with system_scope():
        return balances.mismatches()


def test_every_path_that_writes_the_ledger_keeps_the_balances_exact(
    admin: Actor, settings: Any, tmp_path: Path
) -> None:
    m.media_storage(settings, tmp_path)
    finance = m.finance()
    team = m.team("Balance Co")
    cam = m.cam_for(team.partner)
    ended = m.period(starts_on=m.today() - timedelta(days=180), ends_on=m.today() - timedelta(days=1))

    # Allocate (a program admin), twice into the running period and once into the ended one.
    running = m.fund(team.partner, m.budget(), "10000.00", admin)
    m.fund(team.partner, Allocation.objects.get(pk=running.pk).budget, "2500.25", admin)
    closing = m.fund(team.partner, m.budget(ended, "50000.00"), "8000.00", admin)
    # A co-op accrual from a won deal (a task, in the system scope).
    with system_scope():
        services.allocation_accrue(
            partner=team.partner, amount=Decimal("333.33"), currency="USD", on=m.today(), source="deal:bal-1"
        )
    # Commit on approval: a channel account manager (the portfolio's scope) and a program admin.
    by_cam = m.approved(team.marketing_actor, cam, requested_amount=Decimal("1000.00"), **m.past_dates())
    rejected = m.approved(team.marketing_actor, admin, requested_amount=Decimal("700.00"), **m.past_dates())
    paid = m.approved(team.marketing_actor, admin, requested_amount=Decimal("1500.00"), **m.past_dates())
    # Claim (release the commitment, claim what finance approves), reject a claim (release), pay.
    assert {m.fresh(r).allocation_id for r in (by_cam, rejected, paid)} == {closing.pk}
    claims = [
        m.claim(team.marketing_actor, approved, claimed_amount=approved.approved_amount)
        for approved in (by_cam, rejected, paid)
    ]
    with m.acting(finance):
        services.claim_approve(actor=finance, claim=claims[0], amount=Decimal("900"))
        services.claim_reject(actor=finance, claim=claims[1], reason="No invoice")
        services.claim_approve(actor=finance, claim=claims[2])
    with m.acting(admin):  # four eyes: not the claim's approver
        services.claim_mark_paid(actor=admin, claim=claims[2], payment_reference="PAY-1")
    # Expire an unclaimed approval in the ended period (release, then forfeit: it has closed by
    # then), and forfeit at the period's end (both tasks, in the system scope).
    overdue = m.approved(team.marketing_actor, admin, "3000.00", **m.past_dates(ended_days_ago=70))
    assert m.fresh(overdue).allocation_id == closing.pk
    assert tasks.close_ended_periods() == 1
    assert tasks.expire_unclaimed_requests() == 1
    # A bulk insert, one statement for two allocations (a loader's COPY fires the same trigger),
    # one of them new to it.
    other = m.team("Other Co")
    with system_scope():
        fresh = services.allocation_for(
            partner=other.partner, budget=Allocation.objects.get(pk=running.pk).budget
        )
    bulk = [
        (running, LedgerKind.ALLOCATED, "100.00"),
        (fresh, LedgerKind.ALLOCATED, "70.00"),
        (running, LedgerKind.COMMITTED, "40.00"),
        (fresh, LedgerKind.COMMITTED, "20.00"),
        (running, LedgerKind.RELEASED, "15.00"),
        (running, LedgerKind.CLAIMED, "5.50"),
        (running, LedgerKind.PAID, "5.50"),
        (running, LedgerKind.FORFEITED, "0.01"),
    ]
    with system_scope():
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(
                    allocation=allocation,
                    partner_id=allocation.partner_id,
                    kind=kind,
                    amount=Decimal(amount),
                    currency="USD",
                    idempotency_key=f"bulk:{index}",
                )
                for index, (allocation, kind, amount) in enumerate(bulk)
            ]
        )

    kinds = set(LedgerEntry.objects.values_list("kind", flat=True))
    assert kinds == set(LedgerKind.values)  # every kind was written
    assert _mismatches() == []
    for allocation in (running, closing, fresh):
        summed = m.balances(allocation).available
        assert _maintained(allocation) == summed
        assert _listed(allocation) == summed
    assert m.balances(closing).available == Decimal("0.00")
    # The requests (dated in the ended period) drew on ``closing``, emptied when it closed;
    # ``running`` has 10000 + 2500.25 + 333.33 accrued, and the bulk rows + 100 - 40 + 15 - 5.50
    # - 0.01.
    assert _maintained(running) == Decimal("12903.07")
    assert _maintained(fresh) == Decimal("50.00")


def test_an_allocation_without_entries_has_no_balance_and_lists_zero() -> None:
    team = m.team("Empty Co")
    with system_scope():
        allocation = services.allocation_for(partner=team.partner, budget=m.budget())
    assert _maintained(allocation) is None
    assert _listed(allocation) == Decimal("0.00")
    # Paid entries move no available funds, so they write no balance either.
    with system_scope():
        ledger.post(allocation=allocation, kind=LedgerKind.PAID, amount=Decimal("5"), idempotency_key="p:1")
    assert _maintained(allocation) is None
    assert _mismatches() == []


def test_the_check_reports_a_balance_that_drifted_or_went_missing(admin: Actor) -> None:
    drifted = m.fund(m.team("Drift Co").partner, m.budget(), "100.00", admin)
    missing = m.fund(m.team("Gone Co").partner, m.budget(), "50.00", admin)
    assert _mismatches() == []
    # Nothing in the application writes these rows; a hand-run statement stands for a bug.
    with system_scope(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE mdf_allocationbalance SET available = available + 1 WHERE allocation_id = %s",
            [drifted.pk],
        )
        cursor.execute("DELETE FROM mdf_allocationbalance WHERE allocation_id = %s", [missing.pk])
    assert _mismatches() == [
        balances.Mismatch(*sorted_row)
        for sorted_row in sorted(
            [(drifted.pk, Decimal("101.00"), Decimal("100.00")), (missing.pk, None, Decimal("50.00"))]
        )
    ]


def test_a_partners_balances_are_its_own_and_the_portfolios(admin: Actor) -> None:
    ours, theirs, elsewhere = m.team("Ours Co"), m.team("Theirs Co"), m.team("Elsewhere Co")
    own = m.fund(ours.partner, m.budget(), "1000.00", admin)
    foreign = m.fund(theirs.partner, m.budget(), "2000.00", admin)
    outside = m.fund(elsewhere.partner, m.budget(), "3000.00", admin)
    cam = m.cam_for(ours.partner, theirs.partner)

    def seen(scope: Scope | None) -> set[int]:
        with tenant_scope(scope):
            return set(AllocationBalance.objects.values_list("allocation_id", flat=True))

    assert seen(Scope.partner(ours.partner.pk)) == {own.pk}
    assert seen(Scope.partner(theirs.partner.pk)) == {foreign.pk}
    assert seen(cam.scope) == {own.pk, foreign.pk}
    assert outside.pk in seen(Scope.vendor())
    assert seen(Scope.vendor(money=False)) == set()  # content / training managers: no money
    assert seen(None) == set()
    # Not even asked by its key.
    with tenant_scope(Scope.partner(ours.partner.pk)):
        assert not AllocationBalance.objects.filter(Q(pk=foreign.pk) | Q(pk=outside.pk)).exists()


@pytest.mark.parametrize("who", ["partner", "cam"])
def test_the_trigger_writes_in_the_writers_own_scope(admin: Actor, who: str) -> None:
    """The balance row passes the same policy as the entry: a partner's scope writing its own
    entry, a channel account manager's writing a portfolio partner's, both update the balance
    (no privileged function needed)."""
    team = m.team("Scoped Co")
    allocation = m.fund(team.partner, m.budget(), "500.00", admin)
    scope = Scope.partner(team.partner.pk) if who == "partner" else m.cam_for(team.partner).scope
    with tenant_scope(scope):
        ledger.post(
            allocation=allocation,
            kind=LedgerKind.COMMITTED,
            amount=Decimal("120"),
            idempotency_key=f"scoped:{who}",
        )
        assert AllocationBalance.objects.get(pk=allocation.pk).available == Decimal("380.00")
    assert _mismatches() == []
