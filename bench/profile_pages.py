"""Where a page's time goes, in-process: the CPU a request costs the web process, and a profile.

Runs the portal's WSGI application in this process under production settings (as gunicorn does,
without the socket), against a loaded benchmark database, for the pages and personas of
``bench/pages_bench.py``. For each page it prints the CPU time per request of this process
(``time.process_time``: what limits a web worker's throughput; PostgreSQL's own time is another
process's), the wall time, the queries and the page's size, and with ``--profile N`` the N costliest
functions of a cProfile run (CPU timer).

    DATABASE_URL=postgres://prm_app@127.0.0.1:5432/prm_bench_full REDIS_URL=redis://127.0.0.1:6379/2 \\
        .venv/bin/python bench/profile_pages.py --pages deals,home --personas busiest --profile 40

A page costs a gunicorn sync worker its CPU time here plus the socket and HTTP parsing (about
0.3 ms). The bare page of ``bench/pages_bench.py`` (bench/bare: one indexed query, 50 rows through
a Django template) is measured the same way first, and each page's "cpu ratio" is the bare page's
CPU time over the page's: the share of the ratio under wrk that this process decides, steadier
from one machine to another than requests/s (PostgreSQL's time, wrk's and the kernel's are not in
it).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import secrets
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from bench import pages as pages_module  # noqa: E402
from bench import personas as personas_module  # noqa: E402
from bench.fleet import ALLOWED_HOSTS  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pages", help="page keys or prefixes (bench/pages.py); all by default")
    parser.add_argument("--personas", default="busiest,typical,program_admin,cam")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="also profile and print the N costliest functions"
    )
    parser.add_argument("--sort", default="cumulative", help="order of --profile: cumulative, tottime")
    parser.add_argument(
        "--sql", action="store_true", help="also print each query of one request (its wall time, shortened)"
    )
    parser.add_argument("--no-bare", action="store_true", help="do not measure the bare page first")
    parser.add_argument(
        "--callers", metavar="PATTERN", help="with --profile: also who calls the functions matching PATTERN"
    )
    return parser.parse_args(argv)


def setup() -> None:
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            raise SystemExit(f"{name} is not set: point it at the benchmark's database / Redis")
    os.environ["DJANGO_SETTINGS_MODULE"] = "prm.settings.production"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", ALLOWED_HOSTS)
    import django

    django.setup()
    from bench.pages_bench import collect_static

    collect_static()


def environ_for(path: str, cookie: str) -> dict:
    from urllib.parse import urlsplit

    parts = urlsplit(path)
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "HTTP_HOST": "localhost",
        "HTTP_COOKIE": cookie,
        "HTTP_X_FORWARDED_PROTO": "https",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def request(app, path: str, cookie: str) -> tuple[str, bytes]:
    status_seen: list[str] = []

    def start_response(status, headers, exc_info=None):
        status_seen.append(status)

    body = b"".join(app(environ_for(path, cookie), start_response))
    return status_seen[0], body


def count_queries(connection, call, seen: list[str] | None = None) -> int:
    """The statements ``call`` sends; with ``seen``, each one's SQL and wall time (ms) are listed
    there (the time from sending it to its rows: PostgreSQL's work plus the round trip)."""
    seen = [] if seen is None else seen

    def counting(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append(f"{(time.perf_counter() - started) * 1000:6.2f} ms  {sql}")

    with connection.execute_wrapper(counting):
        call()
    return len(seen)


def cpu_per_request(app, path: str, cookie: str, requests: int, warmup: int) -> tuple[float, float]:
    """CPU and wall time (ms) of one request to ``path``, the mean of ``requests`` after
    ``warmup``."""
    for _ in range(warmup):
        request(app, path, cookie)
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    for _ in range(requests):
        request(app, path, cookie)
    cpu = (time.process_time() - cpu_started) * 1000 / requests
    wall = (time.perf_counter() - wall_started) * 1000 / requests
    return cpu, wall


def measure_bare(requests: int, warmup: int) -> float:
    """The bare page's CPU time a request (ms), through the same handler gunicorn serves it with."""
    from django.urls import set_urlconf

    from bench.bare.dispatch import BARE_PATH
    from bench.bare.handler import BareHandler

    bare = BareHandler()
    status, _body = request(bare, BARE_PATH, "")
    if not status.startswith("200"):
        raise SystemExit(f"the bare page answered {status}: is the benchmark's data loaded?")
    cpu, wall = cpu_per_request(bare, BARE_PATH, "", requests, warmup)
    # The bare handler's URLconf stays the thread's until a request resets it: the pages' URLs are
    # reversed with the portal's.
    set_urlconf(None)
    print(f"{'—':13} {BARE_PATH:45} cpu {cpu:6.2f} ms  wall {wall:6.2f} ms  (the yardstick)", flush=True)
    return cpu


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup()
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    app = get_wsgi_application()
    bare_cpu = None if args.no_bare else measure_bare(args.requests, args.warmup)
    wanted = tuple(args.personas.split(","))
    personas = personas_module.find_personas(wanted)
    for persona in personas:
        cookie = personas_module.cookie_header(personas_module.create_session(persona.user_id))
        for page in pages_module.select(args.pages):
            if page.side != persona.side:
                continue
            path = page.path()
            status, body = request(app, path, cookie)
            if not status.startswith("200"):
                print(f"{persona.key:13} {path:45} {status}: not timed")
                continue
            cpu, wall = cpu_per_request(app, path, cookie, args.requests, args.warmup)
            statements: list[str] = []
            queries = count_queries(connection, lambda: request(app, path, cookie), statements)  # noqa: B023
            line = (
                f"{persona.key:13} {path:45} cpu {cpu:6.2f} ms  wall {wall:6.2f} ms"
                f"  queries {queries:2}  {len(body) / 1024:6.1f} KB"
            )
            if bare_cpu is not None:
                line += f"  cpu ratio {bare_cpu / cpu:4.2f}"
            if args.sql:
                shortened = (" ".join(sql.split())[:220] for sql in statements)
                line += "".join(f"\n    {n}. {sql}" for n, sql in enumerate(shortened, 1))
            if args.profile:
                profile = cProfile.Profile(time.process_time)
                calls = max(args.requests // 2, 20)
                profile.enable()
                for _ in range(calls):
                    request(app, path, cookie)
                profile.disable()
                out = io.StringIO()
                # Under the profiler a request costs several times its real CPU: read the shares.
                stats = pstats.Stats(profile, stream=out).sort_stats(args.sort)
                stats.print_stats(args.profile)
                if args.callers:
                    stats.print_callers(args.callers)
                line += f"\n  profile of {calls} requests:\n" + out.getvalue()
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
