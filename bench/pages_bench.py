"""Page benchmark: the portal's hot pages as users get them, gunicorn with production settings,
side by side in one run with a bare Django page served by the same gunicorn (issue 11).

    DATABASE_URL=postgres://prm_app@127.0.0.1:5432/prm_bench REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/pages_bench.py [--pages deals,admin-] [--personas busiest,cam] \\
        [--duration 15] [--connections 8] [--json out.json] [--markdown]

It runs against the database in ``DATABASE_URL`` as it is (a loaded benchmark data set: see
bench/README.md; nothing is loaded here), and:

1. sets up the production environment (``bench.fleet.production_env``: DEBUG off, a random secret
   key, allowed hosts, mail to files) for itself and the servers; applies missing migrations and
   collects the static files (production serves them hashed, from the manifest);
2. creates and fills the bare page's table ``bench_bare_row`` (1,000,000 rows, no RLS) if absent;
3. finds the personas (``bench.personas``: the busiest and a typical partner's admin, the program
   admin, the channel account manager with the largest portfolio), gives the vendor ones what the
   portal gives vendor staff (MFA, admin access, portfolio permissions) when the data lacks it,
   and signs each in by creating a session in the session store;
4. starts gunicorn (``bench.bare.wsgi``: the portal, plus ``/bench-bare/`` on a bare Django
   handler) with 2 sync workers on a free port, and checks that every page answers 200 to its
   persona (not a redirect to the login, MFA or agreement page) before timing anything;
5. measures the bare page, then each page, then the bare page again: a sequential pass (warm-up,
   then up to ``--requests`` requests) for the server time, SQL time and number of queries
   (counted in the server, see ``bench.bare.dispatch``), then wrk for ``--duration`` seconds with
   ``--threads``/``--connections``, ``X-Forwarded-Proto: https`` (as from the TLS proxy) and the
   session cookie;
6. prints requests/s, p50, p99 and the ratio to the bare page's requests/s (with ``--paired``,
   the bare page measured under wrk just before each page; else the mean of its two
   measurements in this run), and the sequential figures.

Other processes on the machine change the absolute figures; the ratios within one run are what
counts. wrk must be installed (Debian/Ubuntu: ``sudo apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

if not __package__:
    # Run as a script: import the bench modules as the package ``bench`` from the repository root
    # (which also makes the portal's apps importable), as bench/deals_bench.py does.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench import pages as pages_module
from bench import personas as personas_module
from bench import wrk
from bench.bare.dispatch import BARE_PATH, MEASURE_HEADER
from bench.fleet import BASE_DIR, Fleet, free_port, get, production_env
from bench.log import log
from bench.stats import percentile

# gunicorn's default worker timeout, which the Dockerfile keeps: a request still running after it
# is answered with an error and its worker restarted.
GUNICORN_TIMEOUT = 30


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--pages", help="comma-separated page keys or prefixes (default: all); see bench/pages.py"
    )
    parser.add_argument(
        "--personas",
        default=",".join(personas_module.PARTNER_PERSONAS + personas_module.VENDOR_PERSONAS),
        help="comma-separated: busiest, typical, program_admin, cam (default: all four)",
    )
    parser.add_argument("--duration", type=int, default=15, help="seconds of wrk per page")
    parser.add_argument(
        "--paired",
        action="store_true",
        help="also measure the bare page right before each page and take that as the page's ratio base "
        "(on a machine whose speed drifts within a run, the start and end runs' mean is minutes away)",
    )
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--timeout", default="2s", help="wrk's request timeout")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, help="gunicorn's port (default: a free one)")
    parser.add_argument("--requests", type=int, default=30, help="requests of the sequential pass per page")
    parser.add_argument(
        "--sequential-budget",
        type=float,
        default=30.0,
        help="stop a page's sequential pass after this many seconds (at least 3 requests)",
    )
    parser.add_argument(
        "--warmup", type=int, default=5, help="seconds of wrk on the bare page before measuring it"
    )
    parser.add_argument("--skip-wrk", action="store_true", help="sequential pass only (quick checks)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument(
        "--from-json", type=Path, help="print the table (and --markdown) of a saved run; measure nothing"
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table for bench/README.md")
    parser.add_argument(
        "--run-dir", type=Path, default=BASE_DIR / "var" / "bench" / "pages", help="logs, mail"
    )
    return parser.parse_args(argv)


# --- set-up ----------------------------------------------------------------------------------------
def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        started = time.monotonic()
        call_command("migrate", interactive=False, verbosity=0)
        log(f"applied the missing migrations in {time.monotonic() - started:.1f}s")
    collect_static()


def collect_static() -> None:
    """Production serves the static files hashed, from the manifest ``collectstatic`` writes.
    Collected again only when the sources changed since the last run (it takes minutes on a busy
    machine)."""
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.core.management import call_command

    sources = sorted(
        f"{path}\0{os.stat(storage.path(path)).st_size}\0{os.stat(storage.path(path)).st_mtime_ns}"
        for finder in finders.get_finders()
        for path, storage in finder.list([])
    )
    fingerprint = hashlib.sha256("\n".join(sources).encode()).hexdigest()
    root = Path(settings.STATIC_ROOT)
    stamp = root / ".bench-sources"
    if (root / "staticfiles.json").exists() and stamp.exists() and stamp.read_text() == fingerprint:
        log("static files unchanged since they were last collected")
        return
    started = time.monotonic()
    call_command("collectstatic", interactive=False, verbosity=0)
    stamp.write_text(fingerprint)
    log(f"collected the static files in {time.monotonic() - started:.1f}s")


def data_size() -> dict[str, int]:
    from deals.models import Deal
    from partners.models import Partner
    from prm.models import User
    from prm.tenancy import system_scope

    with system_scope():
        return {
            "partners": Partner.objects.count(),
            "users": User.objects.count(),
            "deals": Deal.objects.count(),
        }


# --- measuring ------------------------------------------------------------------------------------
def sign_in(port: int, persona: personas_module.Persona) -> str:
    """A new session for the persona, checked on a page only a signed-in user of its side gets
    (the partner home, for one, answers 200 to anybody)."""
    cookie = personas_module.cookie_header(personas_module.create_session(persona.user_id))
    if failure := check(port, pages_module.signed_in_path(persona.side), cookie):
        raise RuntimeError(f"the session of {persona.key} ({persona.label}) is refused: {failure}")
    return cookie


def headers_for(cookie: str | None) -> dict[str, str]:
    # As the TLS proxy forwards a browser's request: SECURE_SSL_REDIRECT lets it through.
    headers = {"X-Forwarded-Proto": "https"}
    if cookie:
        headers["Cookie"] = cookie
    return headers


def fetch(port: int, path: str, headers: dict[str, str]) -> tuple[int | None, dict, bytes, float]:
    """(status, headers, body, seconds); status None when the server dropped the connection (a
    worker killed at gunicorn's timeout)."""
    started = time.perf_counter()
    try:
        status, response_headers, body = get(port, path, headers, timeout=GUNICORN_TIMEOUT + 60)
    except (OSError, http.client.HTTPException):
        return None, {}, b"", time.perf_counter() - started
    return status, response_headers, body, time.perf_counter() - started


def check(port: int, path: str, cookie: str | None) -> str | None:
    """None when the page answers 200, else what it answered."""
    status, headers, _, seconds = fetch(port, path, headers_for(cookie))
    if status == 200:
        return None
    if status is None or (status >= 500 and seconds >= GUNICORN_TIMEOUT - 1):
        return f"no answer within gunicorn's {GUNICORN_TIMEOUT} s worker timeout"
    if 300 <= status < 400:
        return f"{status} to {headers.get('location', '?')}"
    return str(status)


def sequential(
    port: int, path: str, cookie: str | None, *, requests: int, budget: float, warmup: int
) -> dict:
    """Requests one after the other, each measured in the server (time, SQL time, queries):
    ``warmup`` untimed ones first, then up to ``requests``, within ``budget`` seconds for both
    (at least one of each: a page of 20 s gets no more)."""
    headers = {**headers_for(cookie), MEASURE_HEADER: "1"}
    deadline = time.monotonic() + budget
    for n in range(warmup):
        if n and time.monotonic() > deadline - 2 * budget / 3:
            break
        fetch(port, path, headers)
    server, sql, client, queries, sizes, statuses = [], [], [], [], [], Counter()
    while len(client) < requests and (not client or time.monotonic() < deadline):
        status, response_headers, body, seconds = fetch(port, path, headers)
        client.append(seconds * 1000)
        statuses[status or "no answer"] += 1
        if status is None:
            continue
        server.append(float(response_headers.get("x-bench-time-ms", "nan")))
        sql.append(float(response_headers.get("x-bench-sql-ms", "nan")))
        queries.append(int(response_headers.get("x-bench-queries", "-1")))
        sizes.append(len(body))
    return {
        "n": len(client),
        "statuses": dict(statuses),
        "server_p50_ms": percentile(server, 50),
        "server_p95_ms": percentile(server, 95),
        "server_max_ms": max(server, default=float("nan")),
        "client_p95_ms": percentile(client, 95),
        "sql_p50_ms": percentile(sql, 50),
        "queries": int(statistics.median(queries)) if queries else -1,
        "queries_min": min(queries, default=-1),
        "queries_max": max(queries, default=-1),
        "bytes": int(statistics.median(sizes)) if sizes else 0,
    }


def drain(port: int) -> float:
    """Wait until gunicorn has served what wrk left queued (its sync workers serve every accepted
    connection, even one the client has closed), so that it does not slow the next page down;
    the seconds waited."""
    started = time.monotonic()
    fast = 0
    while fast < 2 and time.monotonic() - started < 5 * GUNICORN_TIMEOUT:
        status, _, _, seconds = fetch(port, "/healthz", headers_for(None))
        fast = fast + 1 if status == 200 and seconds < 0.2 else 0
    return time.monotonic() - started


def wrk_timeout_seconds(timeout: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0}
    for unit in ("ms", "s", "m"):
        if timeout.endswith(unit):
            return float(timeout.removesuffix(unit)) * units[unit]
    return float(timeout)


def measure(port: int, path: str, cookie: str | None, args: argparse.Namespace) -> dict:
    result: dict[str, Any] = {"path": path}
    result["sequential"] = seq = sequential(
        port, path, cookie, requests=args.requests, budget=args.sequential_budget, warmup=2 * args.workers
    )
    if args.skip_wrk:
        return result
    if not seq["server_p50_ms"] < wrk_timeout_seconds(args.timeout) * 1000:
        # wrk would count every request as a timeout, and leave gunicorn minutes of queued work.
        result["wrk_skipped"] = f"server p50 above wrk's {args.timeout} timeout"
        return result
    load_before = os.getloadavg()[0]
    result["wrk"] = run_wrk(port, path, cookie, args)
    result["load1"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    result["drained_s"] = round(drain(port), 2)
    # A session that ended under load would turn every later request into a redirect, which wrk
    # counts as a success.
    result["after"] = check(port, path, cookie)
    return result


def set_ratios(report: dict) -> None:
    """Each measured page's ratio: its requests/s to the bare page's measured just before it
    (``--paired``), else to the mean of the bare page's runs at the start and the end."""
    for row in report["pages"]:
        if "wrk" not in row:
            continue
        paired = row.get("bare_before", {}).get("requests_per_s")
        if paired:
            row["ratio"] = row["wrk"]["requests_per_s"] / paired
        elif report["bare"]["rps_mean"]:
            row["ratio"] = row["wrk"]["requests_per_s"] / report["bare"]["rps_mean"]


def run_wrk(port: int, path: str, cookie: str | None, args: argparse.Namespace) -> dict:
    """wrk on ``path`` for ``--duration`` seconds with the run's threads, connections and timeout."""
    measured = wrk.run(
        f"http://127.0.0.1:{port}{path}",
        headers=headers_for(cookie),
        threads=args.threads,
        connections=args.connections,
        duration=args.duration,
        timeout=args.timeout,
    )
    return measured.as_dict()


def measure_bare(port: int, args: argparse.Namespace) -> dict:
    """The bare page under wrk alone (no sequential pass), as the base of the page measured next
    (``--paired``)."""
    measured = run_wrk(port, BARE_PATH, None, args)
    drain(port)
    return measured


# --- reporting ------------------------------------------------------------------------------------
def _num(value: float | None, digits: int = 1) -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{value:,.{digits}f}"


def flags(row: dict) -> list[str]:
    """Targets missed and errors, for the last column."""
    out = []
    if row.get("failed"):
        return [f"not timed: {row['failed']}"]
    seq = row["sequential"]
    target = pages_module.P95_TARGET_MS[row["side"]]
    if seq["server_p95_ms"] > target:
        out.append(f"p95 > {target:.0f} ms")
    if row.get("ratio_target") and row.get("ratio") is not None and row["ratio"] < pages_module.RATIO_TARGET:
        out.append(f"ratio < {pages_module.RATIO_TARGET}")
    if row.get("bare_before"):
        out.append(f"bare page just before: {_num(row['bare_before'].get('requests_per_s'), 0)} req/s")
    if row.get("wrk_skipped"):
        out.append(f"not under wrk: {row['wrk_skipped']}")
    if "wrk" in row:
        errors = row["wrk"]["non_2xx_3xx"] + sum(row["wrk"]["socket_errors"].values())
        if errors:
            timeouts = row["wrk"]["socket_errors"].get("timeout", 0)
            out.append(f"{errors} errors ({timeouts} timeouts)" if timeouts else f"{errors} errors")
        if row.get("after"):
            out.append(f"afterwards {row['after']}")
    if {str(status) for status in seq["statuses"]} != {"200"}:  # keys are strings once saved as JSON
        out.append(f"statuses {seq['statuses']}")
    return out


def _cells(measured: dict, seq: dict) -> tuple[list[str], list[str]]:
    queries = str(seq["queries"])
    if seq["queries_min"] != seq["queries_max"]:
        queries = f"{seq['queries_min']}–{seq['queries_max']}"
    rps = measured.get("requests_per_s")
    if measured and not any(measured.get("latency_ms", {}).values()):
        measured = {**measured, "p50_ms": None, "p99_ms": None}  # every answer after wrk's timeout
    return [
        _num(rps, 0 if rps is not None and rps >= 10 else 1),
        _num(measured.get("p50_ms")),
        _num(measured.get("p99_ms")),
    ], [
        f"{_num(seq['server_p50_ms'])} / {_num(seq['server_p95_ms'])}",
        queries,
        _num(seq["bytes"] / 1024),
    ]


def table_rows(report: dict) -> list[list[str]]:
    rows = []
    bare_runs = report["bare"]["runs"]
    for when, run in zip(("start", "end"), bare_runs, strict=False):
        wrk_cells, seq_cells = _cells(run.get("wrk", {}), run["sequential"])
        load = _num(run["load1"][1], 1) if "load1" in run else "—"
        rows.append(
            ["—", f"bare Django page `{BARE_PATH}` ({when})", *wrk_cells, "base", *seq_cells, load, ""]
        )
    for row in report["pages"]:
        if row.get("failed"):
            rows.append(
                [row["persona"], f"{row['label']} `{row['path']}`", *["—"] * 8, "; ".join(flags(row))]
            )
            continue
        wrk_cells, seq_cells = _cells(row.get("wrk", {}), row["sequential"])
        load = _num(row["load1"][1], 1) if "load1" in row else "—"
        rows.append(
            [
                row["persona"],
                f"{row['label']} `{row['path']}`",
                *wrk_cells,
                _num(row.get("ratio"), 2),
                *seq_cells,
                load,
                "; ".join(flags(row)),
            ]
        )
    return rows


HEADER = [
    "persona",
    "page",
    "req/s",
    "p50 ms",
    "p99 ms",
    "ratio",
    "server p50 / p95 ms",
    "queries",
    "KB",
    "load",
    "notes",
]


def print_table(report: dict) -> None:
    rows = table_rows(report)
    widths = [max(len(str(r[i])) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    print()
    for r in [HEADER, *rows]:
        print("  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(r)).rstrip())


def markdown(report: dict) -> str:
    info = report["machine"]
    bare = report["bare"]
    setup = report["settings"]
    data = report["data"]
    runs = ", ".join(_num(run.get("wrk", {}).get("requests_per_s"), 0) for run in bare["runs"])
    lines = [
        f"Measured {report['date']} on {info['cpus']} vCPU, {info['ram']}; PostgreSQL {info['postgres']} at "
        f"127.0.0.1 (shared_buffers {info['shared_buffers']}); gunicorn {report['gunicorn']} with "
        f"{setup['workers']} sync workers, `prm.settings.production`; wrk {setup['threads']} threads / "
        f"{setup['connections']} connections / {setup['duration']} s on loopback. Data: "
        f"{data['partners']:,} partners, {data['users']:,} users, {data['deals']:,} deals. Load average "
        f"(1 min) at the start / end: {report['load']['start'][0]:.2f} / {report['load']['end'][0]:.2f}.",
        "",
        f"Command: `{report['command']}`",
        "",
        (
            f"Bare page: {runs} requests/s at the start and the end of the run; each page's ratio is to "
            "the bare page measured just before it (`--paired`, in the notes)."
            if any(row.get("bare_before") for row in report["pages"])
            else f"Bare page: {runs} requests/s at the start and the end of the run (ratio base: their "
            f"mean, {_num(bare['rps_mean'], 0)})."
        ),
        "",
        "| " + " | ".join(HEADER) + " |",
        "| " + " | ".join("---" for _ in HEADER) + " |",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(report)]
    lines += [
        "",
        "Personas: "
        + "; ".join(f"{p['key']}: {p['label']} (user {p['user_id']})" for p in report["personas"]),
    ]
    return "\n".join(lines)


def machine_info() -> dict[str, str]:
    from bench.machine import machine

    return machine()


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=BASE_DIR, capture_output=True, text=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=BASE_DIR, capture_output=True, text=True)
        return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except OSError:
        return "?"


# --- the run --------------------------------------------------------------------------------------
def stop_on_signal(*_: object) -> None:
    raise KeyboardInterrupt  # so that the servers are stopped on the way out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json:
        report = json.loads(args.from_json.read_text())
        print_table(report)
        if args.markdown:
            print("\n" + markdown(report))
        return 0
    if not args.skip_wrk:
        wrk.require_wrk()
    persona_keys = tuple(k.strip() for k in args.personas.split(",") if k.strip())
    known = personas_module.PARTNER_PERSONAS + personas_module.VENDOR_PERSONAS
    if unknown := [k for k in persona_keys if k not in known]:
        raise SystemExit(f"unknown persona(s) {', '.join(unknown)}; known: {', '.join(known)}")
    selected_pages = pages_module.select(args.pages)

    os.environ.update(production_env(run_dir=args.run_dir))
    signal.signal(signal.SIGTERM, stop_on_signal)
    setup_django()
    from bench.bare.table import ensure_table, read_through

    ensure_table()
    personas = personas_module.find_personas(persona_keys)
    report: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(
            shlex.quote(a) for a in [".venv/bin/python", "bench/pages_bench.py", *sys.argv[1:]]
        ),
        "git": git_commit(),
        "machine": machine_info(),
        "gunicorn": version("gunicorn"),
        "data": data_size(),
        "settings": {
            k: getattr(args, k)
            for k in ("duration", "connections", "threads", "timeout", "workers", "requests")
        },
        "load": {"start": [round(x, 2) for x in os.getloadavg()]},
        "personas": [vars(p) for p in personas],
        "pages": [],
    }
    log("data: " + ", ".join(f"{v:,} {k}" for k, v in report["data"].items()))
    for persona in personas:
        log(f"persona {persona.key}: {persona.label}, user {persona.user_id}")

    fleet = Fleet(env=dict(os.environ), run_dir=args.run_dir)
    port = args.port or free_port()
    try:
        fleet.start_web(port, workers=args.workers, app="bench.bare.wsgi:application")
        targets: dict[str, list[dict]] = {}
        for persona in personas:
            cookie = sign_in(port, persona)
            for page in selected_pages:
                if page.side != persona.side:
                    continue
                path = page.path()
                row = {
                    "persona": persona.key,
                    "page": page.key,
                    "label": page.label,
                    "path": path,
                    "side": page.side,
                    "ratio_target": page.ratio_target,
                }
                report["pages"].append(row)
                if failure := check(port, path, cookie):
                    log(f"{persona.key} {path}: answers {failure}; not timed")
                    row["failed"] = failure
                else:
                    targets.setdefault(persona.key, []).append(row)
        log(f"{sum(map(len, targets.values()))} page(s) answer 200 to their persona; measuring")

        read_through()
        if not args.skip_wrk and args.warmup:
            # The gunicorn workers' first requests and the table's first reads are not the bare
            # page's steady state (the portal's pages get theirs from their sequential pass).
            wrk.run(f"http://127.0.0.1:{port}{BARE_PATH}", headers=headers_for(None), duration=args.warmup)
            drain(port)
        bare_runs = [measure(port, BARE_PATH, None, args)]
        log(f"bare page: {summary(bare_runs[0])}")
        for persona in personas:
            # A fresh session for the timing (the first one may have idled past the vendor
            # side's 30 minutes while other personas were timed).
            cookie = sign_in(port, persona)
            for row in targets.get(persona.key, []):
                if args.paired and not args.skip_wrk:
                    row["bare_before"] = measure_bare(port, args)
                row.update(measure(port, row["path"], cookie, args))
                log(f"{row['persona']} {row['path']}: {summary(row)}")
            if failure := check(port, pages_module.signed_in_path(persona.side), cookie):
                raise RuntimeError(f"{persona.key}'s session ended while timed ({failure}): figures void")
        bare_runs.append(measure(port, BARE_PATH, None, args))
        log(f"bare page again: {summary(bare_runs[1])}")
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        fleet.stop_all()

    rps = [run["wrk"]["requests_per_s"] for run in bare_runs if "wrk" in run]
    report["bare"] = {"runs": bare_runs, "rps_mean": statistics.mean(rps) if rps else None}
    set_ratios(report)
    report["load"]["end"] = [round(x, 2) for x in os.getloadavg()]

    print_table(report)
    if args.markdown:
        print("\n" + markdown(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str))
        log(f"wrote {args.json}")
    return 0


def summary(result: dict) -> str:
    seq = result["sequential"]
    text = (
        f"server p50 {seq['server_p50_ms']:.1f} / p95 {seq['server_p95_ms']:.1f} ms, {seq['queries']} queries"
    )
    if "wrk" in result:
        w = result["wrk"]
        text += f"; wrk {w['requests_per_s']:.1f} req/s, p50 {w['p50_ms']:.1f} / p99 {w['p99_ms']:.1f} ms"
        errors = w["non_2xx_3xx"] + sum(w["socket_errors"].values())
        if errors:
            text += f", {errors} errors"
    return text


if __name__ == "__main__":
    sys.exit(main())
