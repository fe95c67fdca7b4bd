"""``COPY`` into the portal's tables, also those with row-level security, and what a bulk load
must do afterwards (sequences, ``VACUUM (ANALYZE)``).

PostgreSQL refuses ``COPY FROM`` into a table with row-level security ("COPY FROM not supported
with row-level security", also in the vendor scope): such rows are copied into a temporary staging
table without RLS and moved with one ``INSERT ... SELECT``, which the vendor scope's ``WITH CHECK``
admits. Nothing is dropped or disabled: all indexes, foreign keys and policies stay in place.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any


def check_columns(model: Any, columns: tuple[str, ...]) -> None:
    """Stop before loading anything when a model's columns and a loader's row layout disagree."""
    from django.db.models import NOT_PROVIDED

    actual = {field.column for field in model._meta.concrete_fields}
    # A column the database fills itself (a db_default, such as prm_user.actor_version) may be left
    # out of the rows, and so is a generated column (the search vectors, prm.search).
    filled = {
        field.column
        for field in model._meta.concrete_fields
        if field.db_default is not NOT_PROVIDED or getattr(field, "generated", False)
    }
    missing, unknown = actual - set(columns) - filled, set(columns) - actual
    if missing or unknown:
        raise SystemExit(
            f"{model._meta.db_table}: the bench's column list is out of date "
            f"(missing {sorted(missing)}, unknown {sorted(unknown)})"
        )


def copy_rows(cursor: Any, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def create_stage(cursor: Any, table: str, *, on_commit: str) -> str:
    """A temporary table like ``table`` without its row-level security; ``on_commit`` is "DROP"
    for one transaction or "DELETE ROWS" for a table reused by every chunk of the session."""
    stage = f"bench_stage_{table}"
    cursor.execute(f"CREATE TEMP TABLE {stage} (LIKE {table}) ON COMMIT {on_commit}")
    return stage


def insert_from_stage(cursor: Any, table: str, stage: str, columns: tuple[str, ...]) -> None:
    cols = ", ".join(columns)
    cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage}")


def copy_into(cursor: Any, table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
    """COPY ``rows`` into ``table``: straight in when the table has no row-level security, else
    through a session-level staging table that is emptied again afterwards. Emptied by hand, not
    at commit, so several batches work inside one transaction too (a test loading in its own)."""
    if not has_row_security(cursor, table):
        return copy_rows(cursor, table, columns, rows)
    stage = f"bench_stage_{table}"
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table})")
    cursor.execute(f"TRUNCATE {stage}")
    count = copy_rows(cursor, stage, columns, rows)
    insert_from_stage(cursor, table, stage, columns)
    cursor.execute(f"TRUNCATE {stage}")
    return count


_ROW_SECURITY: dict[str, bool] = {}


def has_row_security(cursor: Any, table: str) -> bool:
    if table not in _ROW_SECURITY:
        cursor.execute("SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass", [table])
        _ROW_SECURITY[table] = bool(cursor.fetchone()[0])
    return _ROW_SECURITY[table]


def batches(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def load_rows(table: str, columns: tuple[str, ...], rows: Iterable[tuple], *, chunk: int = 100_000) -> int:
    """COPY ``rows`` into ``table`` in the vendor scope, one transaction per ``chunk`` rows (a
    savepoint when the caller already holds a transaction); the number of rows. Foreign keys are
    checked at each commit, so a table's parents must be loaded before it."""
    from django.db import connection

    from prm.tenancy import system_scope

    count = 0
    for batch in batches(rows, chunk):
        with system_scope():
            count += copy_into(connection.connection.cursor(), table, columns, batch)
    return count


def reset_sequences(cursor: Any, tables: Sequence[str]) -> None:
    """Move the id sequences past the loaded ids, so the application's own inserts do not collide."""
    for table in tables:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
        )


def vacuum_analyze() -> None:
    """What autovacuum would have done by the time such tables are in use: statistics for the
    planner and the visibility map for index-only scans."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("VACUUM (ANALYZE)")
