"""Deal-registration benchmark: bulk-load partners and deals, then time the conflict check at
submission and the partner deal list page.

    .venv/bin/python bench/deals_bench.py [--partners 10000] [--deals 1000000] [--samples 300] [--keep]

Without ``DATABASE_URL`` it starts the embedded PostgreSQL and Redis exactly like ``bin/portal``
(``bin/launcher.py``'s ``EmbeddedServices``, state under ``var/bench``), creates a fresh
``prm_bench`` database owned by the application role (a non-superuser, RLS binds it), migrates,
loads the data with COPY, measures, and drops the database (and the cluster in ``var/bench``)
again unless ``--keep``. With
``DATABASE_URL`` set it uses that database as it is: it loads only into an empty one and never
drops it. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
from pathlib import Path

if not __package__:
    # Run as a script (the documented command): Python put bench/ first on the path, where the
    # bench's modules would pass for top-level ones; import them as the package ``bench`` from the
    # repository root instead, which also makes the portal's apps importable.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import conflict_check, deal_list
from bench.django_setup import setup_django
from bench.loaders import deal_registration
from bench.log import log
from bench.machine import machine
from bench.pg import index_sizes, table_sizes
from bench.servers import Services
from bench.stats import fmt


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=300_000, help="distinct customer names")
    parser.add_argument("--samples", type=int, default=300, help="conflict checks to time")
    parser.add_argument("--warmup", type=int, default=10, help="untimed conflict checks first")
    parser.add_argument(
        "--check-budget",
        type=int,
        default=900,
        help="stop timing conflict checks after this many seconds (at least 20 checks)",
    )
    parser.add_argument("--page-partners", type=int, default=4, help="partners whose list page is timed")
    parser.add_argument("--page-requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--page-warmup", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=50_000, help="deals per COPY transaction")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the loaded database")
    parser.add_argument("--skip-check", action="store_true", help="do not time the conflict check")
    parser.add_argument("--skip-page", action="store_true", help="do not time the deal list page")
    parser.add_argument("--load-only", action="store_true", help="load (use with --keep) and stop")
    return parser.parse_args(argv)


def print_summary(
    args: argparse.Namespace,
    info: dict,
    load: dict | None,
    sizes: list,
    check: dict | None,
    page: dict | None,
) -> None:
    print("\n" + "=" * 100)
    print("SUMMARY")
    print("=" * 100)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    print(f"data: {args.partners:,} partners, {args.deals:,} deals")
    if load:
        print("load:   " + ", ".join(f"{k} {v:.1f}s" for k, v in load.items()))
    else:
        print("load:   reused (--keep)")
    for name, heap, indexes, total, rows in sizes:
        print(f"  {name:<22} rows~{rows:>10,}  heap {heap:>8}  indexes {indexes:>8}  total {total:>8}")
    if check:
        conflict_check.print_check(check)
    if page:
        deal_list.print_page(page)
    print("=" * 100)


def stop_on_signal(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Clean up (stop the servers, drop the database) on Ctrl-C and on kill, also when started in
    # the background (where SIGINT arrives ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop_on_signal)
    rng = random.Random(args.seed)
    services = Services(keep=args.keep)
    try:
        services.start(partners=args.partners, deals=args.deals)
        setup_django()
        info = machine()
        log("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
        load = None
        if not services.reuse:
            from deals.models import Deal
            from partners.models import Partner
            from prm.tenancy import system_scope

            with system_scope():
                n_deals, n_partners = Deal.objects.count(), Partner.objects.count()
            if args.keep and (n_partners, n_deals) == (args.partners, args.deals):
                log(f"--keep: reusing the data in DATABASE_URL ({n_partners} partners, {n_deals} deals)")
            elif n_deals or n_partners:
                raise SystemExit(
                    f"the database already holds {n_partners} partners and {n_deals} deals: use an empty "
                    "one (or --keep with the same --partners/--deals to reuse a bench load)"
                )
            else:
                load = deal_registration.load(
                    rng=rng,
                    partners=args.partners,
                    deals=args.deals,
                    companies=args.companies,
                    chunk=args.chunk,
                )
                log(f"loaded in {load['total']:.1f}s")
        sizes = table_sizes(deal_registration.TABLES)
        for name, heap, indexes, total, rows in sizes:
            log(f"{name}: ~{rows:,} rows, heap {heap}, indexes {indexes}, total {total}")
        for name, size in index_sizes("deals_deal"):
            log(f"  index {name}: {size}")
        if args.load_only:
            return 0

        check = None
        if not args.skip_check:
            log(f"conflict check: {args.samples} samples ...")
            check = conflict_check.ConflictBench(
                rng=rng, samples=args.samples, warmup=args.warmup, check_budget=args.check_budget
            ).run()
            log("conflict check " + fmt(check["total"]))
            conflict_check.print_plans(check)
        page = None
        if not args.skip_page:
            log("deal list page ...")
            page = deal_list.PageBench(
                rng=rng, partners=args.page_partners, requests=args.page_requests, warmup=args.page_warmup
            ).run()
            deal_list.print_details(page)
        print_summary(args, info, load, sizes, check, page)
        return 0
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
