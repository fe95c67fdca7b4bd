"""Scorecard benchmark: the nightly scorecards of every partner on the deal data set.

    DATABASE_URL=postgres://prm_app@127.0.0.1:5432/prm_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/scorecards.py [--as-of 2026-12-05] [--runs 2]

It needs a database already holding the deal data set (``bench/deals_bench.py --keep`` leaves one;
10,000 partners and 1,000,000 deals), migrates it, adds what the other KPIs read at the same scale
(``bench/loaders/performance.py``: lead offers, MDF activities, certifications, downloads, earnings,
ratings, exchange rates and a ten-KPI template; each table once), then times
``partners.tasks.compute_scorecards`` (Celery's task, run in this process) for the as-of day: the
first run, and again (the idempotent recomputation, which replaces the day's rows). Before that it
computes the previous month-end, so the task does not make up for it inside the timed runs.

Target (issue 12): the nightly scorecards for 10,000 partners in 60 s or less on this 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

if not __package__:
    # Run as a script: import the bench modules as the package ``bench`` from the repository root.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.django_setup import setup_django
from bench.log import log
from bench.machine import machine

TARGET_SECONDS = 60


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--as-of", type=date.fromisoformat, default=None, help="default: yesterday")
    parser.add_argument("--runs", type=int, default=2, help="timed runs of the nightly task")
    parser.add_argument("--skip-load", action="store_true", help="do not add the other apps' rows")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.environ.get("DATABASE_URL"):
        print("Set DATABASE_URL to a database holding the deal data set (bench/deals_bench.py --keep).")
        return 2
    setup_django()
    from django.db import connection
    from django.utils import timezone

    from bench.loaders import performance
    from bench.loaders.bulk import vacuum_analyze
    from partners import tasks
    from partners.models import Partner, ScorecardSnapshot
    from partners.performance import services
    from partners.performance.kpis import month_end_before
    from prm.tenancy import system_scope

    info = machine()
    log("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    today = timezone.localdate()
    as_of = args.as_of or today - timedelta(days=1)
    with system_scope():
        partners = Partner.objects.count()
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM deals_deal")
            (deals,) = cursor.fetchone()
    log(f"data: {partners:,} partners, {deals:,} deals")
    if not partners:
        print("The database holds no partners: load the deal data set first (bench/deals_bench.py --keep).")
        return 2

    if not args.skip_load:
        started = time.monotonic()
        performance.load(now=timezone.now())
        with system_scope():
            performance.template()
        vacuum_analyze()
        log(f"the other apps' rows ready in {time.monotonic() - started:.1f}s (VACUUM ANALYZE included)")

    month_end = month_end_before(today)
    started = time.monotonic()
    with system_scope():
        previous = services.snapshots_compute(as_of=month_end, today=today)
    log(
        f"month-end {month_end}: {previous.written:,} rows"
        + (" (frozen already)" if previous.frozen else "")
        + f" in {time.monotonic() - started:.1f}s"
    )

    timings = []
    for run in range(1, args.runs + 1):
        started = time.monotonic()
        written = tasks.compute_scorecards.apply(args=[as_of.isoformat()]).get()
        seconds = time.monotonic() - started
        timings.append(seconds)
        log(f"run {run}: compute_scorecards({as_of}) wrote {written} in {seconds:.1f}s")
    with system_scope():
        detail = services.snapshots_compute(as_of=as_of, today=today)
    log("one more run, per step: " + ", ".join(f"{k} {v:.2f}s" for k, v in detail.seconds.items()))

    with system_scope(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(total_score), min(total_score), avg(total_score)::numeric(5,2),"
            " max(total_score), pg_size_pretty(sum(pg_column_size(t.*))) FROM partners_scorecardsnapshot t"
            " WHERE as_of = %s",
            [as_of],
        )
        rows, scored, low, mean, high, size = cursor.fetchone()
        kpi_coverage = {
            key: ScorecardSnapshot.objects.filter(as_of=as_of).exclude(**{f"values__{key}": None}).count()
            for key in (
                "won_revenue",
                "win_rate",
                "approval_days",
                "lead_response_hours",
                "mdf_roi",
                "cam_rating",
            )
        }
    log(f"snapshots of {as_of}: {rows:,} rows ({size}), {scored:,} scored")
    log(f"total score: min {low}, average {mean}, max {high}")
    log("partners with a value: " + ", ".join(f"{k} {v:,}" for k, v in kpi_coverage.items()))

    print("\n" + "=" * 100)
    print("SUMMARY")
    print("=" * 100)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    print(f"data: {partners:,} partners, {deals:,} deals; as of {as_of}")
    print(
        "nightly scorecards (partners.tasks.compute_scorecards): " + ", ".join(f"{t:.1f}s" for t in timings)
    )
    slowest = sorted(detail.seconds.items(), key=lambda item: -item[1])[:6]
    print("slowest steps: " + ", ".join(f"{k} {v:.2f}s" for k, v in slowest))
    worst = max(timings)
    verdict = "met" if worst <= TARGET_SECONDS else "MISSED"
    print(f"target <= {TARGET_SECONDS}s: {verdict} (slowest run {worst:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
