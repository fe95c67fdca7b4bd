"""A paginator for lists that grow with the program (a million deals): it counts at most ``cap``
rows, so the count costs the same for a vendor's whole program as for a small filter."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page, Paginator
from django.db import connection, connections
from django.utils.functional import cached_property

from prm.statements import Prepared

# 400 pages of 25: further than anyone pages; past it, filters narrow the list.
COUNT_CAP = 10_000
# A whole table (a program-wide role's list without a filter) that PostgreSQL's estimate puts at
# this many rows or more is past the cap without being counted: see estimated_or_counted.
ESTIMATED_PAST_CAP = 10 * COUNT_CAP


def estimated_or_counted(
    count_sql: str, count_params: Sequence[Any], table: str, cap: int = COUNT_CAP
) -> tuple[str, tuple]:
    """An expression for a capped count (``count_sql``: the first cap + 1 rows counted) of a list
    that is all of ``table``'s rows: cap + 1 without counting where PostgreSQL's estimate of the
    table's rows (``pg_class.reltuples``, kept by ANALYZE and autovacuum) is ESTIMATED_PAST_CAP or
    more, else the count. The count is an uncorrelated subquery in the CASE's other branch, which
    PostgreSQL runs only when that branch is taken. Reading 10,001 index entries was a third of
    the program admin's fund request changelist's PostgreSQL time (0.9 of 3 ms at full size). An
    estimate ten times the cap is not off by enough to matter (the page then says "more than
    10,000"); a table never analysed (reltuples -1) is counted."""
    estimate = "(SELECT reltuples FROM pg_class WHERE oid = %s::regclass)"
    return (
        # The count's SQL is a kept statement's (the ORM's); the table's name travels as a value.
        f"CASE WHEN {estimate} >= %s THEN %s ELSE ({count_sql}) END",
        (table, ESTIMATED_PAST_CAP, cap + 1, *count_params),
    )


@contextmanager
def planner(**settings: str) -> Iterator[None]:
    """PostgreSQL planner settings for the statements inside (SET LOCAL: this transaction only,
    and set back to their defaults on the way out). Requests run in a transaction (their
    row-level-security scope); outside one, SET LOCAL has no effect."""
    with connection.cursor() as cursor:
        # All of them in one round trip each way (several statements, no parameters).
        if settings:
            cursor.execute("; ".join(f"SET LOCAL {name} = {value}" for name, value in settings.items()))
        # The statements inside are planned under them: prepared as statements of their own
        # (prm/postgresql/base.py). Outside a transaction SET LOCAL sets nothing: none to name.
        held = connection.hold_planner_settings(settings) if settings and connection.in_atomic_block else None
        try:
            yield
        finally:
            if settings:
                try:
                    cursor.execute("; ".join(f"SET LOCAL {name} TO DEFAULT" for name in settings))
                finally:
                    if held is not None:
                        connection.release_planner_settings(held)


def is_whole_table(queryset: Any) -> bool:
    """Whether ``queryset`` is every row of its table: no condition (a program-wide role's list
    without a filter, whose scope adds none), nothing distinct, combined or sliced."""
    query = queryset.query
    return not (query.where or query.distinct or query.combinator or query.is_sliced)


def capped_count(queryset: Any, cap: int) -> int:
    """``queryset``'s rows counted up to ``cap + 1`` (the keys of the first cap + 1, counted), in
    one statement; for the whole table, past the cap by PostgreSQL's estimate where it is far past
    (estimated_or_counted)."""
    limited = queryset.order_by().values("pk")[: cap + 1]
    try:
        sql, params = limited.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        return 0
    counted_sql = f"SELECT COUNT(*) FROM ({sql}) capped"  # noqa: S608 -- the ORM's SQL, values apart
    if is_whole_table(queryset):
        counted_sql, params = estimated_or_counted(counted_sql, params, queryset.model._meta.db_table, cap)
        counted_sql = f"SELECT {counted_sql}"
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(counted_sql, params)
        return cursor.fetchone()[0]


def page_bounds(paginator: Paginator, number: Any) -> tuple[int, int, int]:
    """The valid page ``number`` and its rows' slice ``[bottom:top]``, as Django's
    ``Paginator.page`` computes them (orphans join the last page): for the paginators that read a
    page's keys themselves."""
    number = paginator.validate_number(number)
    bottom = (number - 1) * paginator.per_page
    top = bottom + paginator.per_page
    if top + paginator.orphans >= paginator.count:
        top = paginator.count
    return number, bottom, top


class CappedPaginator(Paginator):
    """``count`` is the number of rows up to ``cap``; ``more`` says there are more than that
    (pages then stop at the cap). A plain COUNT(*) over a million rows under row-level security
    took 0.3-1 s on every page of the vendor's deal list and the admin changelist; counting the
    first ``cap + 1`` rows of the list's own (indexed) order takes a few milliseconds."""

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        # Without the list's order: any scan may stop after cap + 1 rows (with it, PostgreSQL
        # sorted every matching row first when it took another index than the order's).
        # Serial: PostgreSQL, expecting a handful of rows under row-level security, counted the
        # whole table in parallel instead of stopping after cap + 1 rows (170 ms for 900,000).
        with planner(max_parallel_workers_per_gather="0"):
            counted = capped_count(self.object_list, self.cap)
        self.more = counted > self.cap
        return min(counted, self.cap)

    # Set by ``count``; read before it only by templates, which ask for the count first.
    more = False


class KeysInSubqueryPaginator(Paginator):
    """A page's rows through its keys, in one statement: ``WHERE pk IN (the page's keys, ordered
    and limited)``, then the rows with their joins and per-row subqueries.

    For a list whose rows join other tables under row-level security: PostgreSQL expects one row
    of every scan there, so for ``ORDER BY ... LIMIT 25`` over the joined rows it joined all of
    them first (10,000 partners to their tier and manager: 80-110 ms for the vendor's partner
    list) and sorted after. The keys alone are a scan of one table and a top-N sort (or an index
    walk); the joins then touch the page's rows only. The ordering must end with a unique column,
    as any paginated ordering should."""

    def page(self, number: Any) -> Page:
        number, bottom, top = page_bounds(self, number)
        keys = self.object_list.values("pk")[bottom:top]
        return self._get_page(list(self.object_list.filter(pk__in=keys)), number, self)


class CappedKeysInSubqueryPaginator(KeysInSubqueryPaginator, CappedPaginator):
    """Both: the count stops at the cap, and a page's rows come through its keys (an admin
    changelist of partners, whose rows join their tier and manager)."""


class Planner:
    """PostgreSQL planner settings for the statements inside, this transaction only, in one
    statement each way (prm.pagination.planner spends two per setting): the list pays these on
    every page. Outside a transaction (SET LOCAL would not hold) nothing is set.

    The way back may travel with the last read inside (:meth:`restore_with`): one round trip less.
    A setting only changes how later statements are planned, so the read that carries it is planned
    as every statement inside was."""

    def __init__(self, **settings: str) -> None:
        self.settings = settings
        self.previous: list[tuple[str, str]] | None = None
        # The connection's record that the settings are in effect (prm/postgresql/base.py): taken
        # once a statement has set them, given back once one has set them back. A statement that
        # sets them is planned before they change, and one that sets them back while they hold.
        self._held: object | None = None

    def __enter__(self) -> Planner:
        if self.settings and connection.in_atomic_block and self.previous is None:
            sql, params = self._set()
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {sql}", params)
                self._took(cursor.fetchone())
        return self

    def _set(self) -> tuple[str, list[str]]:
        # The target list is evaluated in order: each old value is read before it is set.
        names = list(self.settings)
        return (
            ", ".join("current_setting(%s), set_config(%s, %s, true)" for _ in names),
            [value for name in names for value in (name, name, self.settings[name])],
        )

    def _took(self, row: Sequence[Any]) -> None:
        self.previous = list(zip(self.settings, row[: 2 * len(self.settings) : 2], strict=True))
        self._held = connection.hold_planner_settings(self.settings)

    def _given_back(self) -> None:
        if self._held is not None:
            connection.release_planner_settings(self._held)
            self._held = None

    def set_with(self, statement: Prepared) -> list[tuple]:
        """``statement``'s rows, read in the statement that sets the settings (then held until
        :meth:`restore_with` or the end of the ``with`` block): the settings' one row, left-joined
        to the rows. The read is planned before the settings change, as if sent before them. Its
        first column must never be null (a count, a key)."""
        if statement.sql is None:
            return []
        with connection.cursor() as cursor:
            if not (self.settings and connection.in_atomic_block):
                cursor.execute(statement.sql, statement.params)
                return statement.convert(cursor.fetchall())
            sql, params = self._set()
            # Both parts are SQL of this module and of the ORM; every value travels as a parameter.
            cursor.execute(
                f"SELECT settings.*, found.* FROM (SELECT {sql}) settings "  # noqa: S608
                f"LEFT JOIN ({statement.sql}) found ON true",
                (*params, *statement.params),
            )
            fetched = cursor.fetchall()
        self._took(fetched[0])
        width = 2 * len(self.settings)
        return statement.convert([row[width:] for row in fetched if row[width] is not None])

    def _restore(self) -> tuple[str, list[str]]:
        previous, self.previous = self.previous or [], None
        return ", ".join("set_config(%s, %s, true)" for _ in previous), [v for pair in previous for v in pair]

    def restore_with(self, statement: Prepared) -> list[tuple]:
        """``statement``'s rows (as Statement.rows gives them), read in the statement that sets the
        settings back: the settings' one row, left-joined to the rows (so it is there, and the
        settings set back, whether or not the read finds a row)."""
        if statement.sql is None:
            return []
        with connection.cursor() as cursor:
            if self.previous is None:
                cursor.execute(statement.sql, statement.params)
                return statement.convert(cursor.fetchall())
            restore, params = self._restore()
            try:
                cursor.execute(
                    f"SELECT found.* FROM (SELECT {restore}) restored "  # noqa: S608
                    f"LEFT JOIN ({statement.sql}) found ON true",
                    (*params, *statement.params),
                )
            finally:
                self._given_back()
            # A row of the read has its key first, never null; the settings' row alone has none.
            return statement.convert([row for row in cursor.fetchall() if row[0] is not None])

    def __exit__(self, *exc_info: object) -> None:
        if self.previous is not None:
            restore, params = self._restore()
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT {restore}", params)
            finally:
                self._given_back()
