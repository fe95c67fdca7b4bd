"""``in_ids``: the ``__in`` of a list of ids, sent as one array (``column = ANY(%s::bigint[])``).

Why: a channel account manager's portfolio (500 partners at a large vendor) is in every statement
of their pages. As Django's ``__in`` writes it, ``partner_id IN (%s, %s, …)``, PostgreSQL parses and
plans 500 constants each time: 2.3 ms of planning for one such condition at full size, against
0.6 ms for the same ids as one array constant (``EXPLAIN (SUMMARY)``, bench/README.md, "A
portfolio as one array"). The plan is the same (PostgreSQL turns an IN list into ``= ANY(array)``
itself, and still estimates the rows from each id's statistics); only the parse and the
expression's transformation are saved, and Django's building and quoting of 500 parameters.

Registered on integer fields (the primary keys) and foreign keys (prm.apps), so that any path a
scope names works as with ``__in``: ``partner__in_ids``, ``deal__partner__in_ids``, ``pk__in_ids``.
The values are ids (ints): repeated ones are harmless, ``None`` is refused, and an empty list
matches no row (``= ANY('{}')``), where ``__in`` raises EmptyResultSet.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import ForeignKey, IntegerField, Lookup


class InIds(Lookup):
    lookup_name = "in_ids"
    # The list goes to the database as it is: a field's get_prep_value would take it for one id.
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Iterable[Any], connection: Any) -> tuple[str, list[Any]]:
        ids = [int(item) for item in value]  # TypeError for None: no row has a NULL id
        return "%s", [ids]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs_sql} = ANY({rhs_sql}::bigint[])", (*lhs_params, *rhs_params)


def register() -> None:
    for field_class in (IntegerField, ForeignKey):
        field_class.register_lookup(InIds)
