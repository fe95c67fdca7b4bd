"""The all-apps benchmark data set (issue 11): load partners, users, deals, market development
funds, training, incentives and content at the issue's volumes, then print the row count of every
loaded table and the load time.

    .venv/bin/python bench/portal_data.py [--scale 0.01] [--keep] [--load-only] [--partners N ...]

Without ``DATABASE_URL`` it starts the embedded PostgreSQL and Redis as ``bin/portal`` does (state
under ``var/bench``), loads into a fresh database ``prm_bench_portal`` owned by the application
role (row-level security binds it) and drops it again afterwards unless ``--keep``. With
``DATABASE_URL`` set it loads into that database when it is empty, reuses it with ``--keep`` when it
already holds this data set (same sizes), and never drops it. ``--load-only`` stops after the load
(the HTTP benchmark runs against the kept database); without it the script also prints the table
sizes. See bench/README.md, "All-apps data set".
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

if not __package__:
    # Run as a script (the documented command): import the bench as the package ``bench`` from the
    # repository root, which also makes the portal's apps importable (as bench/deals_bench.py).
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.django_setup import setup_django
from bench.loaders import portal
from bench.log import log
from bench.machine import machine
from bench.pg import table_sizes
from bench.servers import Services

DATABASE = "prm_bench_portal"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = portal.Sizes()
    for name, value in defaults.as_dict().items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=None, help=f"default {value:,}")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every default volume (0.01 for a quick small load)"
    )
    parser.add_argument("--chunk", type=int, default=50_000, help="deals per COPY transaction")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the loaded database")
    parser.add_argument("--load-only", action="store_true", help="load (with --keep) and stop")
    return parser.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> portal.Sizes:
    sizes = portal.Sizes().scaled(args.scale)
    given = {
        name: getattr(args, name) for name in portal.Sizes().as_dict() if getattr(args, name) is not None
    }
    return portal.Sizes(**{**sizes.as_dict(), **given})


def stop_on_signal(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_from(args)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop_on_signal)
    services = Services(keep=args.keep, database=DATABASE)
    try:
        services.start(
            expected={
                "partners_partner": sizes.partners,
                "prm_user": sizes.users,
                "deals_deal": sizes.deals,
                "mdf_fundrequest": sizes.fund_requests,
                "incentives_earningentry": sizes.earnings,
            }
        )
        setup_django()
        info = machine()
        log("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
        log("sizes: " + ", ".join(f"{k} {v:,}" for k, v in sizes.as_dict().items()))
        loaded = None
        if not services.reuse:
            held = portal.holds(sizes)
            if args.keep and held["same"]:
                log("--keep: reusing the data set in DATABASE_URL")
            elif not held["empty"]:
                raise SystemExit(
                    f"the database already holds other data ({held['counts']}): use an empty one, or --keep "
                    "with the sizes it was loaded with"
                )
            else:
                loaded = portal.load(seed=args.seed, sizes=sizes, chunk=args.chunk)
        counts = portal.row_counts()
        print("\n" + "=" * 80)
        print("All-apps data set")
        print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
        if loaded is not None:
            print(
                "load:    " + ", ".join(f"{name} {seconds:.1f}s" for name, seconds in loaded.timings.items())
            )
            funds = loaded.funds.status_counts
            print("fund requests: " + ", ".join(f"{status} {n:,}" for status, n in sorted(funds.items())))
        else:
            print("load:    reused (--keep)")
        for table, count in counts:
            print(f"  {table:<40} {count:>12,}")
        print(f"  {'(all rows)':<40} {sum(count for _, count in counts):>12,}")
        if not args.load_only:
            for name, heap, indexes, total, _rows in table_sizes(portal.TABLES):
                print(f"  {name:<40} heap {heap:>9}  indexes {indexes:>9}  total {total:>9}")
        print("=" * 80)
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
