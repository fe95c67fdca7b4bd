"""The fund ledger: balances are sums of append-only entries; a key posts once; the database itself
refuses to change or remove an entry.

The ledger opens no scope of its own: its callers (a program admin's or finance's request, a task)
run it vendor-wide, so these tests call it inside ``system_scope()``, the same database view. The
refused writes run there too: vendor-wide, the broadest view the application has, the database still
says no (and the savepoint rolled back after the refusal belongs to that scope)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from mdf import ledger, selectors, services
from mdf.models import Allocation, LedgerEntry, LedgerKind
from prm.tenancy import system_scope
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db


@pytest.fixture
def allocation() -> Allocation:
    team = m.team("Ledger Co")
    with system_scope():
        return services.allocation_for(partner=team.partner, budget=m.budget())


def _post(allocation: Allocation, kind: str, amount: str, key: str) -> LedgerEntry:
    with system_scope():
        entry, created = ledger.post(
            allocation=allocation, kind=kind, amount=Decimal(amount), idempotency_key=key
        )
    assert created
    return entry


def _balances(allocation: Allocation) -> ledger.Balances:
    with system_scope():
        return ledger.balances_of(allocation)


def _post_all(allocation: Allocation, entries: list[tuple[str, str]], prefix: str = "t") -> None:
    for index, (kind, amount) in enumerate(entries):
        _post(allocation, kind, amount, f"{prefix}:{allocation.pk}:{index}")


EVERY_KIND = [
    (LedgerKind.ALLOCATED, "10000.00"),
    (LedgerKind.ACCRUED, "250.50"),
    (LedgerKind.FORFEITED, "100.00"),
    (LedgerKind.COMMITTED, "3000.00"),
    (LedgerKind.RELEASED, "1000.00"),
    (LedgerKind.CLAIMED, "1500.00"),
    (LedgerKind.PAID, "500.00"),
    (LedgerKind.ALLOCATED, "0.01"),
]


def test_balances_are_sums_of_the_entries(allocation: Allocation) -> None:
    _post_all(allocation, EVERY_KIND)
    balances = _balances(allocation)
    assert balances.currency == "USD"
    assert balances.allocated == Decimal("10150.51")  # allocated + accrued - forfeited
    assert balances.committed == Decimal("2000.00")  # committed - released
    assert balances.claimed == Decimal("1500.00")
    assert balances.paid == Decimal("500.00")
    assert balances.forfeited == Decimal("100.00")
    assert balances.available == Decimal("6650.51")  # allocated - committed - claimed
    assert balances.payable == Decimal("1000.00")  # claimed - paid


def test_paying_a_claim_does_not_change_what_is_available(allocation: Allocation) -> None:
    _post_all(allocation, [(LedgerKind.ALLOCATED, "5000.00"), (LedgerKind.CLAIMED, "1200.00")])
    before = _balances(allocation)
    _post(allocation, LedgerKind.PAID, "1200.00", "paid:1")
    after = _balances(allocation)
    assert (before.available, after.available) == (Decimal("3800.00"), Decimal("3800.00"))
    assert (before.payable, after.payable) == (Decimal("1200.00"), Decimal("0.00"))


def test_an_account_without_entries_has_zero_everywhere(allocation: Allocation) -> None:
    balances = _balances(allocation)
    assert (balances.allocated, balances.committed, balances.claimed, balances.paid) == (Decimal("0"),) * 4
    assert balances.available == Decimal("0.00")
    assert balances.payable == Decimal("0.00")


def test_a_second_post_with_the_same_key_returns_the_first_and_posts_nothing(allocation: Allocation) -> None:
    with system_scope():
        first, created = ledger.post(
            allocation=allocation, kind=LedgerKind.ALLOCATED, amount=Decimal("700.00"), idempotency_key="k:1"
        )
    assert created
    assert (first.partner_id, first.currency, first.amount) == (allocation.partner_id, "USD", Decimal("700"))
    with system_scope():
        again, created_again = ledger.post(
            allocation=allocation, kind=LedgerKind.COMMITTED, amount=Decimal("9.99"), idempotency_key="k:1"
        )
    assert created_again is False
    assert again.pk == first.pk
    assert (again.kind, again.amount) == (LedgerKind.ALLOCATED, Decimal("700.00"))
    assert LedgerEntry.objects.filter(allocation=allocation).count() == 1
    assert _balances(allocation).available == Decimal("700.00")


@pytest.mark.parametrize("amount", ["0", "-5.00", "0.004"])
def test_amounts_of_zero_or_less_are_refused(allocation: Allocation, amount: str) -> None:
    with system_scope(), pytest.raises(ValueError, match="positive"):
        ledger.post(
            allocation=allocation, kind=LedgerKind.ALLOCATED, amount=Decimal(amount), idempotency_key="k:0"
        )
    assert LedgerEntry.objects.filter(allocation=allocation).count() == 0


def test_amounts_are_rounded_to_the_currency(allocation: Allocation) -> None:
    entry = _post(allocation, LedgerKind.ALLOCATED, "100.005", "k:round")
    entry.refresh_from_db()
    assert entry.amount == Decimal("100.00")  # banker's rounding, as prm.money does everywhere


def test_the_database_refuses_to_update_an_entry(allocation: Allocation) -> None:
    entry = _post(allocation, LedgerKind.ALLOCATED, "1000.00", "k:u")
    with system_scope(), pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1.00"))
    with system_scope(), pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        entry.memo = "edited"
        entry.save()
    with (
        system_scope(),
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE mdf_ledgerentry SET kind = 'paid' WHERE id = %s", [entry.pk])
    stored = LedgerEntry.objects.get(pk=entry.pk)
    assert (stored.kind, stored.amount, stored.memo) == (LedgerKind.ALLOCATED, Decimal("1000.00"), "")


def test_the_database_refuses_to_delete_an_entry(allocation: Allocation) -> None:
    entry = _post(allocation, LedgerKind.ALLOCATED, "1000.00", "k:d")
    with system_scope(), pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    with (
        system_scope(),
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM mdf_ledgerentry")
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()
    assert _balances(allocation).available == Decimal("1000.00")


def test_balance_annotations_agree_with_balances_of(allocation: Allocation) -> None:
    fund_budget = allocation.budget
    second_partner, empty_partner = m.team("Second Co").partner, m.team("Empty Co").partner
    with system_scope():
        second = services.allocation_for(partner=second_partner, budget=fund_budget)
        empty = services.allocation_for(partner=empty_partner, budget=fund_budget)
    _post_all(allocation, EVERY_KIND, "a")
    _post_all(
        second,
        [
            (LedgerKind.ACCRUED, "33.33"),
            (LedgerKind.ALLOCATED, "2000.00"),
            (LedgerKind.COMMITTED, "1500.00"),
            (LedgerKind.RELEASED, "1500.00"),
            (LedgerKind.COMMITTED, "200.00"),
            (LedgerKind.CLAIMED, "1499.99"),
        ],
        "b",
    )
    annotated = Allocation.objects.annotate(**ledger.balance_annotations()).order_by("pk")
    assert [a.pk for a in annotated] == sorted([allocation.pk, second.pk, empty.pk])
    for row in annotated:
        assert ledger.balances_from_annotations(row) == _balances(row), row.partner
    by_pk = {row.pk: ledger.balances_from_annotations(row) for row in annotated}
    assert by_pk[second.pk].available == Decimal("333.34")
    assert by_pk[empty.pk].available == Decimal("0.00")


def test_the_selector_annotates_the_same_available_balance(allocation: Allocation) -> None:
    _post_all(allocation, EVERY_KIND)
    rows = list(selectors.allocations_with_balances(actor=m.program_admin()))
    assert [(row.pk, row.balance_available) for row in rows] == [(allocation.pk, Decimal("6650.51"))]
    summary = selectors.fund_summary(actor=m.program_admin())
    assert summary == [
        {
            "currency": "USD",
            "allocated": Decimal("10150.51"),
            "committed": Decimal("2000.00"),
            "claimed": Decimal("1500.00"),
            "paid": Decimal("500.00"),
            "available": Decimal("6650.51"),
            "forfeited": Decimal("100.00"),
        }
    ]
