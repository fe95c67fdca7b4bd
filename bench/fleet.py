"""The portal's processes as production runs them, for benchmarks and the load run: gunicorn web
processes, Celery workers, Celery beat, the load run's webhook receiver (and anything else by its
command line), all with one environment made by :func:`production_env`.

    fleet = Fleet(env=production_env(run_dir=run_dir), run_dir=run_dir)
    try:
        fleet.start_web(8101, workers=2)
        fleet.start_worker("w1")
        fleet.start_beat()
        ...
    finally:
        fleet.stop_all()

``DATABASE_URL`` and ``REDIS_URL`` come from the environment (the benchmark's own database and
Redis); the secret key is random per run, so sessions made by the benchmark process (which must
use the same environment) are valid in the servers and nowhere else.

Each process runs in a session (and so a process group) of its own, with its output in
``<run_dir>/<name>.log``. ``start*`` returns once the process is ready (it answers over HTTP, or its
log says so) and fails with the log's tail if it exits first. ``stop_all()`` stops them newest
first, by their own process group only (SIGTERM: gunicorn and Celery finish what they are doing;
SIGKILL for what does not stop in time), and records the CPU time each group used
(``cpu_seconds``): gunicorn's and Celery's worker processes are in their parent's group.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bench.log import log

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable  # the virtual environment's, where gunicorn, celery and locust live
ALLOWED_HOSTS = "127.0.0.1,localhost"
BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
FILE_MAIL = "django.core.mail.backends.filebased.EmailBackend"
# Variables of a development or test shell that would make the servers behave unlike production.
_NOT_PRODUCTION = (
    "DJANGO_DEBUG",
    "CELERY_TASK_ALWAYS_EAGER",
    "PRM_WEBHOOK_ALLOW_PRIVATE_URLS",
    "PRM_CACHE_PREFIX",
)


def production_env(*, run_dir: Path, base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment of every process of a run, the benchmark's own included.

    Production settings refuse to start without a secret key and allowed hosts; they send mail by
    SMTP unless told otherwise, so mail goes to files in ``<run_dir>/mail`` (a benchmark can count
    what was sent). ``extra`` overrides any of it (the load run: its settings module, its own
    database, its mail backend).
    """
    env = dict(os.environ if base is None else base)
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not env.get(name):
            raise SystemExit(f"{name} is not set: point it at the benchmark's database / Redis")
    for name in _NOT_PRODUCTION:
        env.pop(name, None)
    env.update(
        DJANGO_SETTINGS_MODULE="prm.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=ALLOWED_HOSTS,
        PRM_MEDIA_ROOT=env.get("PRM_MEDIA_ROOT") or str(run_dir / "media"),
        EMAIL_BACKEND=FILE_MAIL,
        EMAIL_FILE_PATH=str(run_dir / "mail"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def free_port() -> int:
    """A TCP port nobody listens on right now (other benchmarks may run on this machine)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(
    port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 120.0
) -> tuple[int, dict, bytes]:
    """One GET over a fresh connection, as a browser behind the TLS proxy sends it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"X-Forwarded-Proto": "https", **(headers or {})})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


def answers_200(port: int, path: str) -> Callable[[], bool]:
    """A readiness condition: ``path`` on ``port`` answers 200."""

    def ready() -> bool:
        try:
            return get(port, path, timeout=5)[0] == 200
        except OSError:
            return False

    return ready


def group_cpu_seconds(pgid: int) -> float:
    """User and system CPU seconds of the live processes in a process group, with their reaped
    children's (gunicorn's and Celery's worker processes are in their parent's group)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        # After the command: state, ppid, pgrp, ..., utime (12), stime, cutime, cstime (15).
        if int(fields[2]) == pgid:
            total += sum(int(value) for value in fields[11:15])
    return total / ticks


def _no_control_socket() -> list[str]:
    """gunicorn's control socket (newer releases) has one default path for every gunicorn of this
    user on the machine: off, where the installed gunicorn has it."""
    from gunicorn import config

    known = {setting.name for setting in config.KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in known else []


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path
    port: int | None = None

    @property
    def pid(self) -> int:
        """Also its process group's id: each process leads a session of its own."""
        return self.popen.pid

    def log_says(self, text: bytes) -> Callable[[], bool]:
        """A readiness condition: the process's log contains ``text`` (the log is new per start)."""
        return lambda: text in self.log_path.read_bytes()

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Fleet:
    env: dict[str, str]
    run_dir: Path
    # ``app`` of the Celery workers and beat (the load run's adds its task probe to prm's).
    celery_app: str = "prm"
    processes: dict[str, Process] = field(default_factory=dict)  # running, oldest first
    # CPU seconds each process group used, measured as it was stopped.
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = dict(self.env)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.env.get("EMAIL_BACKEND") == FILE_MAIL and self.env.get("EMAIL_FILE_PATH"):
            Path(self.env["EMAIL_FILE_PATH"]).mkdir(parents=True, exist_ok=True)

    # --- generic --------------------------------------------------------------------------------
    def start(
        self,
        name: str,
        command: list[str],
        *,
        env: Mapping[str, str] | None = None,
        ready: Callable[[Process], Callable[[], bool]] | None = None,
        timeout: float = 60.0,
    ) -> Process:
        """``command`` as ``name``; returns once ``ready(process)()`` holds (at once without one)."""
        if name in self.processes:
            raise ValueError(f"{name} is already running")
        log_path = self.run_dir / f"{name}.log"
        # Truncated, not appended to: readiness may be read from the log, and an earlier run's
        # "ready" line must not count.
        with open(log_path, "wb") as output:
            # A session of its own: a Ctrl-C in the benchmark's terminal reaches only the benchmark,
            # which then stops each process in order (stop_all), and the whole group is signalled.
            popen = subprocess.Popen(
                command,
                env={**self.env, **(env or {})},
                cwd=BASE_DIR,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        process = Process(name=name, popen=popen, log_path=log_path)
        self.processes[name] = process
        if ready is not None:
            self._wait_for(process, ready(process), timeout)
        log(f"{name} ready, pid {popen.pid}: {' '.join(command[1:6])} ...")
        return process

    def _wait_for(self, process: Process, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(
                    f"{process.name} exited with code {process.popen.returncode}:\n{process.tail()}"
                )
            if ready():
                return
            time.sleep(0.3)
        raise RuntimeError(f"{process.name} not ready after {timeout:.0f}s:\n{process.tail()}")

    def stop(self, name: str, *, timeout: float = 30.0) -> int | None:
        """SIGTERM to the process's group, SIGKILL after ``timeout``; its exit code (None if no
        such process was running)."""
        process = self.processes.pop(name, None)
        if process is None:
            return None
        self.cpu_seconds[name] = group_cpu_seconds(process.pid)
        if process.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop within {timeout:.0f}s: killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.popen.wait()
        log(f"stopped {name} (exit code {process.popen.returncode})")
        return process.popen.returncode

    def stop_all(self, *, timeout: float = 30.0) -> None:
        """Newest first: beat before the workers it feeds, the workers before the receiver their
        webhooks go to."""
        for name in reversed(list(self.processes)):
            self.stop(name, timeout=timeout)

    def dead(self) -> list[str]:
        """Processes that exited on their own."""
        return [name for name, process in self.processes.items() if process.popen.poll() is not None]

    def live_cpu_seconds(self) -> dict[str, float]:
        """CPU seconds each running process group has used so far."""
        return {name: group_cpu_seconds(process.pid) for name, process in self.processes.items()}

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    # --- the portal's processes -----------------------------------------------------------------
    def start_web(
        self,
        port: int,
        *,
        workers: int = 2,
        worker_class: str = "sync",
        threads: int = 1,
        app: str = "prm.wsgi:application",
        access_log: bool = False,
        timeout: float = 60.0,
    ) -> Process:
        """gunicorn on 127.0.0.1:``port``, ready when ``/healthz`` answers 200. ``app`` may be a
        benchmark's own WSGI entry point (bench.bare.wsgi). ``access_log`` writes
        ``access-<port>.log`` with each request's time inside a worker (%(D)s, microseconds: apart
        from the wait for a free worker); off by default, as it costs a write per request."""
        command = [
            PYTHON, "-m", "gunicorn", app,
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", worker_class,
            "--name", f"prm-bench-web-{port}",
            *_no_control_socket(),
        ]  # fmt: skip
        if worker_class == "gthread":
            command += ["--threads", str(threads)]
        if access_log:
            command += [
                "--access-logfile", str(self.run_dir / f"access-{port}.log"),
                "--access-logformat", "%(t)s %(m)s %(U)s %(s)s %(D)s",
            ]  # fmt: skip
        process = self.start(
            f"web-{port}", command, ready=lambda _: answers_200(port, "/healthz"), timeout=timeout
        )
        process.port = port
        return process

    def start_worker(
        self, name: str | None = None, *, concurrency: int = 2, timeout: float = 60.0
    ) -> Process:
        """A Celery worker (prefork, ``concurrency`` processes) with the node name ``<name>@host``,
        ready when it says so. Its process is ``worker-<name>``."""
        name = name or f"w{sum(p.startswith('worker-') for p in self.processes) + 1}"
        return self.start(
            f"worker-{name}",
            [PYTHON, "-m", "celery", "-A", self.celery_app, "worker", "-n", f"{name}@%h",
             "-c", str(concurrency), "-l", "info"],
            env={"PRM_BENCH_ROLE": "worker"},
            ready=lambda process: process.log_says(b" ready."),
            timeout=timeout,
        )  # fmt: skip

    def start_beat(self, *, timeout: float = 60.0) -> Process:
        """Celery beat with the database scheduler (the schedule lives in django-celery-beat's
        tables; the state file and pid file stay in the run directory, not the working directory
        another run shares)."""
        return self.start(
            "beat",
            [PYTHON, "-m", "celery", "-A", self.celery_app, "beat", "-l", "info",
             "--scheduler", BEAT_SCHEDULER, "-s", str(self.run_dir / "celerybeat-schedule"),
             "--pidfile", str(self.run_dir / "celerybeat.pid")],
            env={"PRM_BENCH_ROLE": "beat"},
            ready=lambda process: process.log_says(b"beat: Starting"),
            timeout=timeout,
        )  # fmt: skip

    def start_receiver(self, port: int, log_path: Path, *, timeout: float = 60.0) -> Process:
        """The load run's webhook receiver (bench/load/receiver.py), ready when it answers."""
        process = self.start(
            "receiver",
            [PYTHON, "-m", "bench.load.receiver", "--port", str(port), "--log", str(log_path)],
            ready=lambda _: answers_200(port, "/"),
            timeout=timeout,
        )
        process.port = port
        return process
