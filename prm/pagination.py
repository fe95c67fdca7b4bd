"""A paginator for lists that grow with the program (a million deals): it counts at most ``cap``
rows, so the count costs the same for a vendor's whole program as for a small filter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.paginator import Page, Paginator
from django.db import connection
from django.utils.functional import cached_property

# 400 pages of 25: further than anyone pages; past it, filters narrow the list.
COUNT_CAP = 10_000


@contextmanager
def planner(**settings: str) -> Iterator[None]:
    """PostgreSQL planner settings for the statements inside (SET LOCAL: this transaction only,
    and set back to their defaults on the way out). Requests run in a transaction (their
    row-level-security scope); outside one, SET LOCAL has no effect."""
    with connection.cursor() as cursor:
        # All of them in one round trip each way (several statements, no parameters).
        if settings:
            cursor.execute("; ".join(f"SET LOCAL {name} = {value}" for name, value in settings.items()))
        try:
            yield
        finally:
            if settings:
                cursor.execute("; ".join(f"SET LOCAL {name} TO DEFAULT" for name in settings))


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
            counted = self.object_list.order_by()[: self.cap + 1].count()
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
