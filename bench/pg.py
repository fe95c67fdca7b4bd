"""What PostgreSQL says about the loaded data and the measured queries: table and index sizes,
``EXPLAIN (ANALYZE, BUFFERS)`` plans."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def table_sizes(tables: Sequence[str]) -> list[tuple[str, str, str, str, int]]:
    """(table, heap, indexes, total, estimated rows) of ``tables``, largest first."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            """
            SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid)),
                   pg_size_pretty(pg_indexes_size(c.oid)), pg_size_pretty(pg_total_relation_size(c.oid)),
                   c.reltuples::bigint
              FROM pg_class c
             WHERE c.relname = ANY(%s)
             ORDER BY pg_total_relation_size(c.oid) DESC
            """,
            [list(tables)],
        )
        return c.fetchall()


def index_sizes(table: str) -> list[tuple[str, str]]:
    """(index, size) of ``table``'s indexes, largest first."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            """
            SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid))
              FROM pg_stat_user_indexes WHERE relname = %s
             ORDER BY pg_relation_size(indexrelid) DESC
            """,
            [table],
        )
        return c.fetchall()


def explain_analyze(cursor: Any, sql: str, params: Any = None) -> str:
    """The plan of ``sql`` as executed on ``cursor`` (in its scope and transaction), as text.

    Without ``params`` the SQL goes to the server as it is, so a captured query's own ``%``
    (the trigram operator) is not taken for a placeholder."""
    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
    return "\n".join(row[0] for row in cursor.fetchall())
