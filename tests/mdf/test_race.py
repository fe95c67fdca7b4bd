"""Concurrent approvals on separate connections: nothing ever commits more than is available, and
one request is committed once however many people click "approve"."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from mdf import ledger, services
from mdf.models import Budget, FundRequest, LedgerEntry, LedgerKind, RequestStatus
from prm.tenancy import Actor
from tests import factories
from tests.helpers import race, slow_while_racing
from tests.mdf import factories as m


@pytest.fixture
def slow_balances(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the window between "read the balance" and "commit" open while the racers run: without
    the allocation lock both would read the same balance and both would commit."""
    slow_while_racing(monkeypatch, ledger, "balances_of", seconds=0.15)


def _approve(actor: Actor, fund_request: FundRequest) -> Callable[[], FundRequest]:
    return lambda: services.request_approve(actor=actor, fund_request=fund_request)


def _race_two_requests(run: int, fund_budget: Budget) -> None:
    team = m.team(f"Racer {run}")
    allocation = m.fund(team.partner, fund_budget, "10000.00")
    # Each fits the 10000.00 available on its own; together (12000.00) they do not.
    requests = [
        m.submitted(
            team.marketing_actor,
            title=f"Activity {n}",
            total_cost=Decimal("12000.00"),
            requested_amount=Decimal("6000.00"),
        )
        for n in (1, 2)
    ]
    admins = [m.program_admin(), m.program_admin()]
    results = race([_approve(admin, r) for admin, r in zip(admins, requests, strict=True)])

    outcomes = sorted(kind for kind, _value in results)
    assert outcomes == ["ok", "refused"], f"run {run}: {results}"
    refused = next(value for kind, value in results if kind == "refused")
    assert "has only 4000.00 USD available" in str(refused), f"run {run}: {refused}"
    statuses = sorted(
        FundRequest.objects.filter(pk__in=[r.pk for r in requests]).values_list("status", flat=True)
    )
    assert statuses == [RequestStatus.APPROVED, RequestStatus.SUBMITTED], f"run {run}"
    commits = list(
        LedgerEntry.objects.filter(allocation=allocation, kind=LedgerKind.COMMITTED).values_list(
            "amount", flat=True
        )
    )
    assert commits == [Decimal("6000.00")], f"run {run}: {commits}"
    balances = m.balances(allocation)
    assert balances.committed <= balances.allocated
    assert balances.available == Decimal("4000.00"), f"run {run}: {balances}"


@pytest.mark.django_db(transaction=True)
def test_two_admins_approving_two_requests_at_once_never_overcommit(slow_balances: None) -> None:
    factories.default_tiers()
    fund_budget = m.budget(amount="100000.00")
    for run in range(3):
        _race_two_requests(run, fund_budget)


@pytest.mark.django_db(transaction=True)
def test_two_admins_approving_the_same_request_at_once_commit_it_once(slow_balances: None) -> None:
    factories.default_tiers()
    team = m.team("Double Click Ltd")
    allocation = m.fund(team.partner, m.budget(), "10000.00")
    fund_request = m.submitted(team.marketing_actor)
    results = race([_approve(m.program_admin(), fund_request), _approve(m.program_admin(), fund_request)])

    assert sorted(kind for kind, _value in results) == ["ok", "refused"], results
    refused = next(value for kind, value in results if kind == "refused")
    assert "cannot become approved" in str(refused)
    assert list(
        LedgerEntry.objects.filter(fund_request=fund_request).values_list("kind", "amount", "idempotency_key")
    ) == [(LedgerKind.COMMITTED, Decimal("4000.00"), f"commit:request:{fund_request.pk}")]
    stored = FundRequest.objects.get(pk=fund_request.pk)
    assert (stored.status, stored.approved_amount) == (RequestStatus.APPROVED, Decimal("4000.00"))
    assert m.balances(allocation).available == Decimal("6000.00")
