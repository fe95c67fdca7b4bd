"""Tier evaluation benchmark: the monthly evaluation of every partner on the deal data set.

    DATABASE_URL=postgres://prm_app@127.0.0.1:5432/prm_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/tier_evaluation.py [--today 2026-12-01] [--skip-load]

It needs a database already holding the deal data set (``bench/deals_bench.py --keep`` leaves one;
10,000 partners on tiers from the migration and 1,000,000 deals), migrates it, adds the
certifications the "certified people" requirement reads (``bench/loaders/performance.py``, shared
with bench/scorecards.py; each table once), gives Platinum a minimum score (so the scorecard
query runs too) and Gold and Platinum upgrades the approval step, then times
``partners.tasks.evaluate_tiers`` (Celery's task, run in this process) three times:

1. the first evaluation (grace periods start, upgrades apply or are proposed: the most writes);
2. the same day again (idempotent: it must change nothing);
3. the day the grace periods end (recoveries, expiries and the downgrade proposals).

Each run is a new day for the data set only after it is reset: the runs' rows (grace periods,
proposals, tier changes and notifications; the audit trail is append-only) are removed first
and after, so the benchmark can be run again on the same database. The notification e-mails are queued to the
broker (``REDIS_URL``), not sent: the queue is purged at the end.

Target (issue 12): the monthly tier evaluation for 10,000 partners in 30 s or less on this 2-core
machine.
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

TARGET_SECONDS = 30


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="default: today")
    parser.add_argument("--skip-load", action="store_true", help="do not add the certifications")
    parser.add_argument(
        "--all-upgrades-need-approval",
        action="store_true",
        help="every tier's upgrades are proposed, none applied (no partner row changes tier)",
    )
    return parser.parse_args(argv)


def _reset(original_tiers: dict[int, int]) -> None:
    """The tier program as before any run: partners back on their loaded tiers, no grace periods,
    proposals or notifications (the audit trail is append-only: the runs' events stay)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM partners_tierchangeproposal")
        cursor.execute("DELETE FROM partners_tiergraceperiod")
        cursor.execute("DELETE FROM prm_notification WHERE kind LIKE 'tier.%%'")
        if original_tiers:
            cursor.execute(
                "UPDATE partners_partner p SET tier_id = v.tier_id FROM (SELECT unnest(%s::bigint[]) AS id,"
                " unnest(%s::bigint[]) AS tier_id) v WHERE p.id = v.id AND p.tier_id <> v.tier_id",
                [list(original_tiers), list(original_tiers.values())],
            )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not os.environ.get("DATABASE_URL"):
        print("Set DATABASE_URL to a database holding the deal data set (bench/deals_bench.py --keep).")
        return 2
    # E-mails go to the broker as in production (not sent in this process), then are purged.
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "0")
    setup_django()
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import Count
    from django.utils import timezone

    from bench.loaders import performance
    from bench.loaders.bulk import vacuum_analyze
    from partners import tasks
    from partners.models import Partner, Tier, TierChangeProposal, TierGracePeriod
    from partners.performance import tier_services
    from prm.celery import app as celery_app
    from prm.tenancy import system_scope

    info = machine()
    log("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    today = args.today or timezone.localdate()
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
        vacuum_analyze()
        log(f"certifications and the other apps' rows ready in {time.monotonic() - started:.1f}s")

    with system_scope(), transaction.atomic():
        for tier in Tier.objects.all():
            tier.upgrade_needs_approval = args.all_upgrades_need_approval or tier.name in ("Gold", "Platinum")
            tier.min_score = 50 if tier.name == "Platinum" else None
            tier.save(update_fields=["upgrade_needs_approval", "min_score"])
        loaded = dict(Partner.objects.values_list("pk", "tier_id"))
        _reset({})
    with system_scope():
        by_tier = dict(
            Partner.objects.order_by("tier__rank").values_list("tier__name").annotate(n=Count("pk"))
        )

    grace_end = today + timedelta(days=tier_services.grace_days())
    runs = [("first evaluation", today), ("same day again", today), ("grace periods end", grace_end)]
    timings, outcomes = [], []
    for label, day in runs:
        started = time.monotonic()
        counts = tasks.evaluate_tiers.apply(kwargs={"today": day.isoformat()}).get()
        seconds = time.monotonic() - started
        timings.append(seconds)
        outcomes.append(counts)
        log(f"{label} ({day}): {seconds:.1f}s {counts}")
    with system_scope():
        detail = tier_services.tiers_evaluate(today=grace_end)
        rows = (TierGracePeriod.objects.count(), TierChangeProposal.objects.count())
    log(
        "one more run (no change), per step: " + ", ".join(f"{k} {v:.2f}s" for k, v in detail.seconds.items())
    )
    queued = celery_app.control.purge()
    log(f"purged {queued} queued e-mail tasks; {rows[0]:,} grace periods, {rows[1]:,} proposals written")
    with system_scope(), transaction.atomic():
        _reset(loaded)

    print("\n" + "=" * 100)
    print("SUMMARY")
    print("=" * 100)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    print(
        f"data: {partners:,} partners ({by_tier}), {deals:,} deals;"
        f" TIER_GRACE_DAYS {settings.PRM['TIER_GRACE_DAYS']}"
    )
    for (label, day), seconds, counts in zip(runs, timings, outcomes, strict=True):
        changed = {
            key: value for key, value in counts.items() if value and key not in ("partners", "seconds")
        }
        print(f"{label} ({day}): {seconds:.1f}s, {counts['partners']:,} partners, {changed or 'no change'}")
        print("    steps: " + ", ".join(f"{k} {v:.2f}s" for k, v in counts["seconds"].items()))
    print("steps of a run without changes: " + ", ".join(f"{k} {v:.2f}s" for k, v in detail.seconds.items()))
    worst = max(timings)
    verdict = "met" if worst <= TARGET_SECONDS else "MISSED"
    print(f"target <= {TARGET_SECONDS}s: {verdict} (slowest run {worst:.1f}s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
