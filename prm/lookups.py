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

import psycopg
from django.db.models import BooleanField, ForeignKey, Func, IntegerField, Lookup
from psycopg.adapt import Dumper

from prm.kept import Kept


class Ids(list[int]):
    """The ids of an ``in_ids`` lookup, as the one parameter it sends: written as one array literal
    by :class:`IdsDumper`. A plain list of ints is written by psycopg's list dumper one item at a
    time in Python (each dumped, checked for quoting, appended): a channel account manager's 500
    partners cost some 0.3 ms per statement, seven statements a page (the fund request changelist:
    3 of the 8 ms of CPU of a request, bench/profile_pages.py --profile)."""

    __slots__ = ()


class IdsDumper(Dumper):
    """:class:`Ids` as PostgreSQL's text of a ``bigint[]`` (``{3,7}``), built by ``str.join``: the
    items are ints (``int()`` refuses anything else), so nothing in it needs quoting. Sent as
    the literal ``'{3,7}'::int8[]`` (a client-side bound parameter with its type), where psycopg's
    list dumper wrote ``'{3,7}'::int2[]`` or ``int4[]`` by the largest id: the SQL casts it to
    ``bigint[]`` either way."""

    oid = psycopg.postgres.types["int8"].array_oid

    def dump(self, obj: Ids) -> bytes:
        if len(obj) < IDS_KEPT_FROM:
            return _array_text(obj)
        # A portfolio is sent by every statement of a page, the same ids each time: its text is
        # kept (a tuple and its hash cost a tenth of writing it again).
        key = tuple(obj)
        text = _kept_texts.get(key)
        if text is None:
            text = _kept_texts.keep(key, _array_text(obj))
        return text


def _array_text(ids: Iterable[Any]) -> bytes:
    return ("{" + ",".join(map(str, map(int, ids))) + "}").encode()


# Lists of ids from this length on (a portfolio; not a page's 50 keys) have their text kept, at
# most TEXTS_KEPT of them per process (past it they are forgotten and written again).
IDS_KEPT_FROM = 100
TEXTS_KEPT = 256
_kept_texts: Kept[tuple[Any, ...], bytes] = Kept(TEXTS_KEPT)


class InIds(Lookup):
    lookup_name = "in_ids"
    # The list goes to the database as it is: a field's get_prep_value would take it for one id.
    prepare_rhs = False

    def get_db_prep_lookup(self, value: Iterable[Any], connection: Any) -> tuple[str, list[Any]]:
        ids = Ids(int(item) for item in value)  # TypeError for None: no row has a NULL id
        return "%s", [ids]

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        rhs_sql, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs_sql} = ANY({rhs_sql}::bigint[])", (*lhs_params, *rhs_params)


def register() -> None:
    for field_class in (IntegerField, ForeignKey):
        field_class.register_lookup(InIds)
    # On psycopg's global adapters: copied by each connection made from now on (Django's first
    # connection is made after the apps are ready).
    psycopg.adapters.register_dumper(Ids, IdsDumper)


class IsAnyOf(Func):
    """``value = ANY(array)`` as a condition, the array an expression (an ``ArraySubquery``):
    Django's lookups would write ``= (ANY(...))``, which PostgreSQL does not take."""

    output_field = BooleanField()

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, tuple]:
        value, array = self.get_source_expressions()
        value_sql, value_params = compiler.compile(value)
        array_sql, array_params = compiler.compile(array)
        return f"{value_sql} = ANY({array_sql})", (*value_params, *array_params)


class PositionIn(Func):
    """``array_position(array, value)``: a row's place in an array of keys, to give rows the order
    their keys were read in (an order no index supplies, so a sort of the few rows is the plan
    whatever the planner settings)."""

    function = "array_position"
    output_field = IntegerField()

    def __init__(self, array: Any, value: Any) -> None:
        super().__init__(array, value)
