"""The bare page's table: 1,000,000 rows in 20,000 buckets of 50, an index on (bucket, created_at),
no row-level security. Created and filled by the benchmark when absent or of another size."""

from __future__ import annotations

import time

from bench.log import log

TABLE = "bench_bare_row"
ROWS = 1_000_000
ROWS_PER_GROUP = 50
GROUPS = ROWS // ROWS_PER_GROUP


def ensure_table(*, rows: int = ROWS) -> int:
    """Create and fill the table unless it holds ``rows`` rows already; the number of rows.

    Each bucket's rows are spread over the whole table (row g is in bucket g mod GROUPS), so a
    page reads 50 heap pages, as a partner's deals are spread over the deals table.
    """
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLE])
        if cursor.fetchone()[0]:
            cursor.execute(f"SELECT count(*) FROM {TABLE}")
            if cursor.fetchone()[0] == rows:
                return rows
            cursor.execute(f"DROP TABLE {TABLE}")
        started = time.monotonic()
        groups = max(1, rows // ROWS_PER_GROUP)
        cursor.execute(
            f"""
            CREATE TABLE {TABLE} (
                id bigint PRIMARY KEY,
                bucket integer NOT NULL,
                name varchar(100) NOT NULL,
                amount numeric(12, 2) NOT NULL,
                created_at timestamptz NOT NULL
            )"""
        )
        cursor.execute(
            f"""
            INSERT INTO {TABLE} (id, bucket, name, amount, created_at)
            SELECT g, 1 + g %% %s, 'Customer ' || g || ' ' || left(md5(g::text), 12),
                   ((g * 7919) %% 10000000) / 100.0, timestamptz '2026-01-01' - g * interval '1 minute'
            FROM generate_series(1::bigint, %s) AS g""",
            [groups, rows],
        )
        cursor.execute(f"CREATE INDEX {TABLE}_bucket_created ON {TABLE} (bucket, created_at DESC)")
    with connection.cursor() as cursor:
        # Hint bits and statistics now, so that the first requests do not write every page they
        # read. VACUUM cannot run inside a transaction (a test's): ANALYZE alone there.
        cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM ANALYZE'} {TABLE}")
    log(f"created {TABLE} with {rows:,} rows in {time.monotonic() - started:.1f}s")
    return rows


def read_through() -> None:
    """Read the whole table once, so that the first measurement of the bare page does not pay
    for reading it from disk (the portal's tables get the same from the requests before)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), sum(amount) FROM {TABLE}")
