"""What a run was measured on: CPUs, memory and the PostgreSQL settings that matter for the
figures."""

from __future__ import annotations

import os


def machine() -> dict[str, str]:
    from django.db import connection

    with open("/proc/meminfo") as meminfo:
        total_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    with connection.cursor() as c:
        c.execute("SELECT current_setting('server_version'), current_setting('shared_buffers'), "
                  "current_setting('work_mem'), current_setting('pg_trgm.similarity_threshold', true), "
                  "current_setting('jit')")  # fmt: skip
        version, shared_buffers, work_mem, threshold, jit = c.fetchone()
    return {
        "cpus": str(os.cpu_count()),
        "ram": f"{total_kb / 1024 / 1024:.1f} GiB",
        "postgres": version,
        "shared_buffers": shared_buffers,
        "work_mem": work_mem,
        "pg_trgm.similarity_threshold": threshold or "0.3 (default)",
        "jit": jit,
    }
