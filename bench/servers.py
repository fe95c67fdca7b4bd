"""The servers a benchmark runs against, and its database.

Without ``DATABASE_URL`` the embedded PostgreSQL starts exactly as ``bin/portal`` starts it
(``bin/launcher.py``'s ``EmbeddedServices``, with the application role: neither superuser nor
BYPASSRLS, so row-level security binds it), with its state under ``var/bench``, and the benchmark
gets a fresh database of its own, dropped again (with the cluster) unless kept. With
``DATABASE_URL`` set that database is used as it is and never dropped. Redis likewise: embedded
unless ``REDIS_URL`` is set.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Any

from bench.log import log

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DB = "prm_bench"


def load_launcher() -> Any:
    spec = importlib.util.spec_from_file_location("prm_launcher", BASE_DIR / "bin" / "launcher.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Services:
    """The embedded servers (only what the environment does not provide) and the bench database."""

    def __init__(self, *, keep: bool, database: str = BENCH_DB) -> None:
        self.keep = keep
        # Each data set keeps its own database, so a kept deals-only load is never taken for
        # another benchmark's.
        self.database = database
        self.embedded = None
        self.admin_uri: str | None = None
        self.own_database = False
        self.reuse = False

    def start(
        self, *, partners: int | None = None, deals: int | None = None, expected: dict[str, int] | None = None
    ) -> None:
        """``expected``: the row count of each table a kept database must hold to be reused
        (default: ``partners`` partners and ``deals`` deals)."""
        expected = expected or {"partners_partner": partners or 0, "deals_deal": deals or 0}
        launcher = load_launcher()
        self.embedded = launcher.EmbeddedServices(BASE_DIR / "var" / "bench")
        self.embedded.state_dir.mkdir(parents=True, exist_ok=True)
        if not os.environ.get("DATABASE_URL"):
            app_url = self.embedded.start_postgres()  # also creates the app role (no BYPASSRLS)
            self.admin_uri = self.embedded.postgres.get_uri()
            app_url = app_url.rsplit("/", 1)[0] + "/" + self.database
            self.own_database = True
            self.reuse = self.keep and self._holds_data(app_url, expected)
            if self.reuse:
                held = ", ".join(f"{table} {count:,}" for table, count in expected.items())
                log(f"--keep: reusing database {self.database} ({held})")
            else:
                self._recreate(launcher.APP_ROLE)
            os.environ["DATABASE_URL"] = app_url
        else:
            log("using the PostgreSQL database in DATABASE_URL (never dropped by this script)")
        if not os.environ.get("REDIS_URL"):
            os.environ["REDIS_URL"] = self.embedded.start_redis()

    @staticmethod
    def _holds_data(app_url: str, expected: dict[str, int]) -> bool:
        import psycopg

        try:
            with psycopg.connect(app_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
                # The whole vendor scope (every partner, money tables included), as prm.tenancy
                # writes it; this runs before Django is set up, so the values are spelled out.
                conn.execute(
                    "SELECT set_config('prm.scope', 'vendor', false),"
                    " set_config('prm.portfolio', '*', false), set_config('prm.money', 'on', false)"
                )
                held = {
                    table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in expected
                }
        except psycopg.Error:
            return False
        return held == expected

    def _recreate(self, owner: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {self.database} OWNER {owner}")
        log(f"created a fresh database {self.database}")

    def stop(self) -> None:
        others: list[str] = []
        if self.own_database and not self.keep and self.admin_uri:
            import psycopg

            try:
                with psycopg.connect(self.admin_uri, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
                    # Another benchmark's kept database lives in the same cluster.
                    others = [
                        row[0]
                        for row in conn.execute(
                            "SELECT datname FROM pg_database WHERE datname LIKE 'prm_bench%'"
                        ).fetchall()
                    ]
                log(f"dropped database {self.database}")
            except psycopg.Error as exc:
                log(f"could not drop {self.database}: {exc}")
        if self.embedded is not None:
            self.embedded.stop()
            log("stopped the embedded servers")
            if self.own_database and not self.keep and not others:
                # The cluster holds nothing else, but its WAL is ~1 GB after a full load.
                for name in ("pgdata", "redis"):
                    shutil.rmtree(self.embedded.state_dir / name, ignore_errors=True)
                log(f"removed {self.embedded.state_dir.relative_to(BASE_DIR)}/pgdata and redis")
