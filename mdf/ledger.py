"""The fund ledger: balances are sums of append-only entries, never a number stored by the code.

allocated  = allocated + accrued - forfeited
committed  = committed - released          (approved requests not yet claimed)
claimed    = claimed                       (approved claims: spent)
paid       = paid                          (claims finance has paid)
available  = allocated - committed - claimed

These sums are the source of truth: every money decision (an approval, a claim) reads them over
the locked allocation (:func:`lock`). PostgreSQL also keeps each allocation's available funds in
``models.AllocationBalance`` (a trigger on this ledger, in each entry's transaction), a maintained
projection for lists that print it on every row (the fund request changelist);
``mdf.balances.mismatches`` checks it against these sums.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, DecimalField, F, Sum, Value, When
from django.db.models.functions import Coalesce

from prm.money import quantize

from .models import Allocation, LedgerEntry, LedgerKind

ZERO = Decimal("0.00")
_DEC = DecimalField(max_digits=16, decimal_places=2)


@dataclass(frozen=True)
class Balances:
    currency: str
    allocated: Decimal = ZERO
    committed: Decimal = ZERO
    claimed: Decimal = ZERO
    paid: Decimal = ZERO
    forfeited: Decimal = ZERO

    @property
    def available(self) -> Decimal:
        return self.allocated - self.committed - self.claimed

    @property
    def payable(self) -> Decimal:
        return self.claimed - self.paid


def _signed(kind_plus: list[str], kind_minus: list[str]) -> Any:
    return Coalesce(
        Sum(
            Case(
                When(entries__kind__in=kind_plus, then=F("entries__amount")),
                When(entries__kind__in=kind_minus, then=-F("entries__amount")),
                default=Value(ZERO),
                output_field=_DEC,
            )
        ),
        Value(ZERO),
        output_field=_DEC,
    )


def balance_annotations() -> dict[str, Any]:
    """Annotations for an Allocation queryset: every balance in one aggregate query."""
    return {
        "balance_allocated": _signed([LedgerKind.ALLOCATED, LedgerKind.ACCRUED], [LedgerKind.FORFEITED]),
        "balance_committed": _signed([LedgerKind.COMMITTED], [LedgerKind.RELEASED]),
        "balance_claimed": _signed([LedgerKind.CLAIMED], []),
        "balance_paid": _signed([LedgerKind.PAID], []),
        "balance_forfeited": _signed([LedgerKind.FORFEITED], []),
    }


def available_expression() -> Any:
    return F("balance_allocated") - F("balance_committed") - F("balance_claimed")


def balances_of(allocation: Allocation) -> Balances:
    totals = {
        row["kind"]: row["total"]
        for row in LedgerEntry.objects.filter(allocation=allocation)
        .values("kind")
        .annotate(total=Sum("amount"))
    }

    def total(kind: str) -> Decimal:
        return totals.get(kind) or ZERO

    return Balances(
        currency=allocation.currency,
        allocated=total(LedgerKind.ALLOCATED) + total(LedgerKind.ACCRUED) - total(LedgerKind.FORFEITED),
        committed=total(LedgerKind.COMMITTED) - total(LedgerKind.RELEASED),
        claimed=total(LedgerKind.CLAIMED),
        paid=total(LedgerKind.PAID),
        forfeited=total(LedgerKind.FORFEITED),
    )


def balances_from_annotations(allocation: Allocation) -> Balances:
    return Balances(
        currency=allocation.currency,
        allocated=allocation.balance_allocated,
        committed=allocation.balance_committed,
        claimed=allocation.balance_claimed,
        paid=allocation.balance_paid,
        forfeited=allocation.balance_forfeited,
    )


def lock(allocation: Allocation) -> Allocation:
    """Serialise every movement on this account: concurrent approvals wait here, then see the
    committed entries of the one before them."""
    return (
        Allocation.objects.select_for_update(of=("self",))
        .select_related("budget__period", "partner")
        .get(pk=allocation.pk)
    )


def post(
    *,
    allocation: Allocation,
    kind: str,
    amount: Decimal,
    idempotency_key: str,
    actor: Any = None,
    fund_request: Any = None,
    source: str = "",
    memo: str = "",
) -> tuple[LedgerEntry, bool]:
    """Append one entry; a second post with the same key returns the first and changes nothing."""
    existing = LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    amount = quantize(amount, allocation.currency)
    if amount <= 0:
        raise ValueError("ledger amounts are positive; the kind gives the direction")
    try:
        with transaction.atomic():
            entry = LedgerEntry.objects.create(
                allocation=allocation,
                partner_id=allocation.partner_id,
                kind=kind,
                amount=amount,
                currency=allocation.currency,
                idempotency_key=idempotency_key,
                actor=actor,
                fund_request=fund_request,
                source=source,
                memo=memo[:255],
            )
    except IntegrityError:
        return LedgerEntry.objects.get(idempotency_key=idempotency_key), False
    return entry, True


__all__ = ["Balances", "available_expression", "balance_annotations", "balances_of", "lock", "post"]
