"""The load run of issue 11: simulated people on two web processes, two Celery workers and beat,
then the checks that every side effect happened exactly once.

    DATABASE_URL=postgres://prm_app@127.0.0.1:5432/prm REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/load/run.py --users 200 --run-time 10m

What it does, in order:

1. a fresh database ``<database of DATABASE_URL>_load`` on the same server (dropped and created
   again; kept afterwards for a look), migrated and seeded (``bench/load/seed.py``), and the static
   files collected (production serves them from the manifest);
2. the webhook receiver; two gunicorn processes on two ports (``--web-workers`` sync workers each:
   Django's work here is CPU-bound and the machine has two cores, so more concurrency per process
   only queues inside it; sync workers keep a slow request from holding up others in the same
   process); two Celery workers (``--concurrency`` child processes each) and one beat, all with
   the production settings as ``bench/load/settings.py`` adapts them and the production
   environment as ``bench/fleet.py`` makes it (a random secret key, allowed hosts), with one
   trusted proxy; ``bench/fleet.py`` starts and stops them;
3. locust, headless (``bench/load/locustfile.py``), for ``--run-time``;
4. waits until the queues are empty and nothing is left to send (``--drain-timeout``), stops beat,
   waits again, stops everything;
5. ``bench/load/verify.py``: 0 failed requests, p95, notifications / e-mails / webhooks / beat
   jobs exactly once. Prints the tables and exits non-zero on any violation.

Everything the run produced stays in ``var/load/<time>/`` (logs, locust's CSV and HTML report,
the e-mail, receiver and task logs, ``verify.txt``).

``REDIS_URL`` must be a Redis database of the run's own: the run refuses a non-empty one unless
``--flush-redis`` says it may empty it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))

from bench.fleet import PYTHON, Fleet, production_env  # noqa: E402
from bench.log import log  # noqa: E402
from bench.stats import percentile  # noqa: E402


def load_database_url(url: str) -> tuple[str, str]:
    """(the run's database URL, its name): the database of ``url`` with ``_load`` appended."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_load"
    return urlunsplit(parts._replace(path="/" + name)), name


def load_env(run_dir: Path, database_url: str, ports: list[int], *, beat_scale: float) -> dict[str, str]:
    """The environment of every process of the run: production's (``bench.fleet.production_env``,
    the one the page benchmark uses too), with the load run's settings module, its own database,
    its mail backend and the logs the checks read."""
    env = production_env(
        run_dir=run_dir,
        DJANGO_SETTINGS_MODULE="bench.load.settings",
        DATABASE_URL=database_url,
        PRM_SITE_URL=f"https://127.0.0.1:{ports[0]}",
        # Behind one TLS proxy (the simulated users send X-Forwarded-For as it would).
        PRM_TRUSTED_PROXY_COUNT="1",
        PRM_MEDIA_ROOT=str(run_dir / "media"),
        PRM_BENCH_BEAT_SCALE=str(beat_scale),
        EMAIL_BACKEND="bench.load.mailbox.JsonLinesBackend",
        PRM_BENCH_MAIL_LOG=str(run_dir / "mail.jsonl"),
        PRM_BENCH_TASK_LOG=str(run_dir / "tasks.jsonl"),
        PRM_LOAD_DIR=str(run_dir),
        PRM_LOAD_PORTS=",".join(str(port) for port in ports),
    )
    env.pop("EMAIL_FILE_PATH")  # the JSON-lines mailbox writes PRM_BENCH_MAIL_LOG instead
    return env


def recreate_database(url: str, name: str) -> None:
    import psycopg

    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SystemExit(f"refusing an unusual database name: {name!r}")
    maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres")).replace(
        "postgres://", "postgresql://", 1
    )
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    log(f"created a fresh database {name}")


def vendor_connection(url: str):  # type: ignore[no-untyped-def]
    """A psycopg connection that sees every partner's rows (the vendor scope, as prm.tenancy
    writes it: this process never sets up Django)."""
    import psycopg

    conn = psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)
    conn.execute(
        "SELECT set_config('prm.scope', 'vendor', false), set_config('prm.portfolio', '*', false),"
        " set_config('prm.money', 'on', false)"
    )
    return conn


def redis_client(url: str):  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(url)


def in_flight(task_log: Path) -> int:
    """Tasks started and not yet ended, from the probe's log."""
    open_runs: set[tuple[str, int]] = set()
    if task_log.exists():
        for line in task_log.read_text().splitlines():
            event = json.loads(line)
            key = (event.get("id"), event.get("retries"))
            if event["kind"] == "start":
                open_runs.add(key)
            elif event["kind"] == "end":
                open_runs.discard(key)
    return len(open_runs)


def outstanding(database_url: str, redis_url: str, task_log: Path) -> dict[str, int]:
    """What is still to be done: queued messages, running tasks, notifications not yet e-mailed,
    webhook deliveries due."""
    with vendor_connection(database_url) as conn:
        (unsent,) = conn.execute(
            "SELECT count(*) FROM prm_notification n JOIN prm_user u ON u.id = n.recipient_id"
            " WHERE n.emailed_at IS NULL AND u.email_notifications AND u.is_active"
        ).fetchone()
        (webhooks,) = conn.execute(
            "SELECT count(*) FROM prm_webhookdelivery WHERE status = 'pending'"
        ).fetchone()
    return {
        "queued": int(redis_client(redis_url).llen("celery")),
        "running": in_flight(task_log),
        "notifications not e-mailed": int(unsent),
        "webhooks pending": int(webhooks),
    }


def drain(database_url: str, redis_url: str, task_log: Path, *, timeout: float, quiet: float = 10) -> bool:
    """Wait until nothing is outstanding for ``quiet`` seconds in a row."""
    deadline = time.monotonic() + timeout
    calm_since: float | None = None
    while True:
        left = outstanding(database_url, redis_url, task_log)
        if not any(left.values()):
            calm_since = calm_since or time.monotonic()
            if time.monotonic() - calm_since >= quiet:
                return True
        else:
            calm_since = None
        if time.monotonic() > deadline:
            log(f"still outstanding after {timeout:.0f} s: {left}")
            return False
        time.sleep(2)


class LoadSampler(threading.Thread):
    """The machine's 1-minute load average every 5 s (other work shares these two cores)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(5):
            self.samples.append(os.getloadavg()[0])


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def warm_up(ports: list[int], *, rounds: int = 3) -> None:
    """A few requests to every web worker before the clock starts: each gunicorn worker compiles
    its templates and resolves its URLs on first use, which no person should be timed on."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.request import Request, urlopen

    def fetch(port: int) -> None:
        for path in ("/accounts/login/", "/healthz", "/verify/unknown/"):
            request = Request(f"http://127.0.0.1:{port}{path}", headers={"X-Forwarded-Proto": "https"})
            try:
                with urlopen(request, timeout=30) as response:
                    response.read()
            except OSError:
                pass  # a 404 or a refusal warms up just as well

    with ThreadPoolExecutor(max_workers=4 * len(ports)) as pool:
        list(pool.map(fetch, [port for port in ports for _ in range(4 * rounds)]))


def server_times(run_dir: Path, ports: list[int], *, since: float) -> dict[str, list[float]]:
    """Milliseconds each request spent inside a gunicorn worker, per page (from the access logs:
    the time from the worker taking the request to its answer, without the wait for a free
    worker that the users' timings include), for requests from ``since`` (a Unix time) on."""
    times: dict[str, list[float]] = {}
    pattern = re.compile(r"^\[([^\]]+)\] (\S+) (\S+) (\d{3}) (\d+)$")
    for port in ports:
        path = run_dir / f"access-{port}.log"
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            match = pattern.search(line)
            if match:
                when, method, url, _status, micros = match.groups()
                if datetime.strptime(when, "%d/%b/%Y:%H:%M:%S %z").timestamp() < int(since):
                    continue  # the warm-up
                name = method + " " + re.sub(r"/\d+(?=/|$)", "/<id>", url)
                times.setdefault(name, []).append(int(micros) / 1000)
    return times


def timings_table(results: dict) -> str:
    rows = []
    for name, values in results["timings"].items():
        rows.append((len(values), name, percentile(values, 50), percentile(values, 95), max(values)))
    rows.sort(reverse=True)
    lines = ["| request | n | p50 | p95 | max |", "| --- | --- | --- | --- | --- |"]
    lines += [
        f"| {name} | {n} | {p50:.0f} ms | {p95:.0f} ms | {top:.0f} ms |" for n, name, p50, p95, top in rows
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--spawn-rate", type=float, default=1.0, help="users started per second")
    parser.add_argument("--run-time", default="10m", help="locust's --run-time (e.g. 2m, 10m)")
    parser.add_argument("--ports", default="18601,18602", help="the two web processes' ports")
    parser.add_argument("--receiver-port", type=int, default=18609)
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per web process")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--concurrency", type=int, default=2, help="child processes per Celery worker")
    parser.add_argument(
        "--beat-scale", type=float, default=1.0, help="run beat's intervals this many times faster"
    )
    parser.add_argument("--partners", type=int, default=60)
    parser.add_argument("--cams", type=int, default=16)
    parser.add_argument("--program-admins", type=int, default=4)
    parser.add_argument("--p95-ms", type=float, default=200)
    parser.add_argument("--drain-timeout", type=float, default=240)
    parser.add_argument("--flush-redis", action="store_true", help="empty REDIS_URL's database first")
    args = parser.parse_args()

    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        raise SystemExit(
            "set DATABASE_URL (the server and a base name) and REDIS_URL (a database of its own)"
        )
    database_url, database = load_database_url(os.environ["DATABASE_URL"])
    redis_url = os.environ["REDIS_URL"]
    ports = [int(port) for port in args.ports.split(",")]
    run_dir = BASE_DIR / "var" / "load" / datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True)
    log(f"run directory {run_dir.relative_to(BASE_DIR)}")

    broker = redis_client(redis_url)
    if broker.dbsize() and not args.flush_redis:
        raise SystemExit(
            f"{redis_url} is not empty: give the run a Redis database of its own, or --flush-redis"
        )
    broker.flushdb()

    receiver = f"http://127.0.0.1:{args.receiver_port}/hooks"
    env = load_env(run_dir, database_url, ports, beat_scale=args.beat_scale)
    meta: dict = {"args": vars(args), "database": database, "started": time.time()}

    recreate_database(database_url, database)
    phase = time.monotonic()
    fleet = Fleet(env=env, run_dir=run_dir, celery_app="bench.load.celery_probe")
    sampler = LoadSampler()
    locust_code = None
    cpu_before: dict[str, float] = {}
    try:
        fleet.start_receiver(args.receiver_port, run_dir / "receiver.jsonl")
        subprocess.run(
            [PYTHON, "-m", "bench.load.seed", "--out", str(run_dir), "--receiver", receiver,
             "--partners", str(args.partners), "--cams", str(args.cams),
             "--program-admins", str(args.program_admins)],
            cwd=BASE_DIR, env=env, check=True,
        )  # fmt: skip
        meta["seed_seconds"] = round(time.monotonic() - phase, 1)
        phase = time.monotonic()
        subprocess.run(
            [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=BASE_DIR, env=env, check=True
        )
        meta["collectstatic_seconds"] = round(time.monotonic() - phase, 1)
        for port in ports:
            fleet.start_web(
                port,
                workers=args.web_workers,
                worker_class=args.worker_class,
                threads=args.threads,
                access_log=True,  # server_times() reads it
            )
        fleet.start_worker("w1", concurrency=args.concurrency)
        fleet.start_worker("w2", concurrency=args.concurrency)
        fleet.start_beat()
        meta["beat_started"] = time.time()
        warm_up(ports)
        # The seed's own side effects (notifications, webhooks) go out before the clock starts.
        if not drain(database_url, redis_url, run_dir / "tasks.jsonl", timeout=args.drain_timeout, quiet=3):
            raise RuntimeError("the seed's notifications and webhooks did not go out")
        if fleet.dead():
            raise RuntimeError(f"exited early: {fleet.dead()}")
        cpu_before = fleet.live_cpu_seconds()

        sampler.start()
        log(f"locust: {args.users} users, {args.spawn_rate}/s, {args.run_time}")
        meta["load_started"] = time.time()
        locust_cpu_before = children_cpu_seconds()  # locust is the only child reaped until it ends
        locust = subprocess.Popen(
            [PYTHON, "-m", "locust", "-f", "bench/load/locustfile.py", "--headless",
             "--users", str(args.users), "--spawn-rate", str(args.spawn_rate), "--run-time", args.run_time,
             "--stop-timeout", "30", "--csv", str(run_dir / "locust"), "--html", str(run_dir / "locust.html"),
             "--only-summary"],
            cwd=BASE_DIR, env=env, stdout=(run_dir / "locust.log").open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        while locust.poll() is None:
            if fleet.dead():
                locust.terminate()
                raise RuntimeError(f"exited during the run: {fleet.dead()}")
            time.sleep(2)
        locust_code = locust.returncode
        meta["locust_cpu_seconds"] = round(children_cpu_seconds() - locust_cpu_before, 1)
        meta["load_stopped"] = time.time()
        sampler.stopped.set()
        log(f"locust finished (exit code {locust_code}); waiting for the workers to finish what is queued")

        meta["drained"] = drain(database_url, redis_url, run_dir / "tasks.jsonl", timeout=args.drain_timeout)
        fleet.stop("beat")
        meta["beat_stopped"] = time.time()
        meta["drained_after_beat"] = drain(database_url, redis_url, run_dir / "tasks.jsonl", timeout=120)
    finally:
        sampler.stopped.set()
        fleet.stop_all()
    # CPU seconds from the start of the load to each process's stop (drain included).
    meta["cpu_seconds"] = {
        name: round(seconds - cpu_before.get(name, 0), 1) for name, seconds in fleet.cpu_seconds.items()
    }

    samples = sampler.samples or [os.getloadavg()[0]]
    meta["load_average"] = {"mean": sum(samples) / len(samples), "max": max(samples), "samples": samples}
    meta["locust_exit_code"] = locust_code
    (run_dir / "run.json").write_text(json.dumps(meta, indent=1))

    results = json.loads((run_dir / "locust-results.json").read_text())
    print("\nAs the users saw it (locust; includes the wait for a free web worker):", flush=True)
    print(timings_table(results), flush=True)
    inside = server_times(run_dir, ports, since=meta["load_started"])
    if inside:
        everything = [ms for values in inside.values() for ms in values]
        meta["server_ms"] = {
            "p50": percentile(everything, 50),
            "p95": percentile(everything, 95),
            "p99": percentile(everything, 99),
            "n": len(everything),
        }
        print("\nInside gunicorn (its access logs):", flush=True)
        print(timings_table({"timings": inside}), flush=True)
        print(
            f"server time of all requests: p50 {meta['server_ms']['p50']:.0f} ms, "
            f"p95 {meta['server_ms']['p95']:.0f} ms, p99 {meta['server_ms']['p99']:.0f} ms",
            flush=True,
        )
    spawned = meta["load_started"] + args.users / args.spawn_rate
    steady = [ms for started, ms in results.get("timeline", []) if started >= spawned]
    if steady:
        meta["steady_ms"] = {"p50": percentile(steady, 50), "p95": percentile(steady, 95), "n": len(steady)}
        print(
            f"once every user had started (after {args.users / args.spawn_rate:.0f} s): p50 "
            f"{meta['steady_ms']['p50']:.0f} ms, p95 {meta['steady_ms']['p95']:.0f} ms over {len(steady)}",
            flush=True,
        )
    (run_dir / "run.json").write_text(json.dumps(meta, indent=1))
    outcomes = ", ".join(f"{what} {count}" for what, count in sorted(results["outcomes"].items()))
    print(f"\noutcomes: {outcomes}", flush=True)
    cpu = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in sorted(meta["cpu_seconds"].items()))
    print(
        f"CPU used from the start of the load: {cpu}; locust {meta.get('locust_cpu_seconds')} s", flush=True
    )
    print(
        f"load average (1 min) during the run: mean {meta['load_average']['mean']:.2f}, "
        f"max {meta['load_average']['max']:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    verify = subprocess.run(
        [PYTHON, "-m", "bench.load.verify", "--run-dir", str(run_dir), "--p95-ms", str(args.p95_ms)],
        cwd=BASE_DIR,
        env=env,
    )
    if not meta["drained"] or not meta["drained_after_beat"]:
        log("the workers did not finish everything in time: see run.json")
        return 1
    return verify.returncode


if __name__ == "__main__":
    sys.exit(main())
