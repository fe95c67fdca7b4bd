"""The maintained allocation balances (models.AllocationBalance) checked against the ledger.

PostgreSQL keeps each allocation's available funds in a row of its own, written by a trigger on the
ledger in each entry's transaction (migration ``0008_allocation_balance_trigger``), so that lists
read one row per allocation instead of summing its entries. :func:`mismatches` recomputes them from
the ledger (the source of truth, ``mdf.ledger``) and says which differ.
"""

# ruff: noqa: S608 -- the SQL here is built from this module's constants only, never from input.
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from .models import LedgerKind

# mdf.ledger's "available": these kinds add to it, these take from it ("paid" does neither).
ADDING = (LedgerKind.ALLOCATED, LedgerKind.ACCRUED, LedgerKind.RELEASED)
TAKING = (LedgerKind.FORFEITED, LedgerKind.COMMITTED, LedgerKind.CLAIMED)


@dataclass(frozen=True)
class Mismatch:
    allocation_id: int
    maintained: Decimal | None  # None: no balance row
    summed: Decimal  # from the ledger's entries


def _kinds(kinds: tuple[str, ...]) -> str:
    return ", ".join(f"'{kind}'" for kind in kinds)


MISMATCHES_SQL = f"""
SELECT coalesce(b.allocation_id, s.allocation_id), b.available, coalesce(s.available, 0)
  FROM mdf_allocationbalance b
  FULL JOIN (
      SELECT allocation_id,
             sum(CASE WHEN kind IN ({_kinds(ADDING)}) THEN amount
                      WHEN kind IN ({_kinds(TAKING)}) THEN -amount ELSE 0 END) AS available
        FROM mdf_ledgerentry GROUP BY allocation_id
  ) s ON s.allocation_id = b.allocation_id
 WHERE coalesce(b.available, 0) <> coalesce(s.available, 0)
 ORDER BY 1
"""


def mismatches() -> list[Mismatch]:
    """The allocations whose maintained balance differs from their ledger's sum (a missing row
    counts as 0, as the lists read it). Reads what the current scope sees: call it in
    ``system_scope()`` to check every allocation."""
    with connection.cursor() as cursor:
        cursor.execute(MISMATCHES_SQL)
        return [Mismatch(allocation_id, maintained, summed) for allocation_id, maintained, summed in cursor]


__all__ = ["ADDING", "TAKING", "Mismatch", "mismatches"]
