"""The portal's processes as production runs them, for benchmarks: gunicorn web processes, Celery
workers and Celery beat, all with ``prm.settings.production`` and one environment.

    fleet = Fleet(production_env(), run_dir=Path("var/bench/run"))
    try:
        fleet.start_web(8101, workers=2)
        fleet.start_worker()
        fleet.start_beat()
        ...
    finally:
        fleet.stop_all()

``DATABASE_URL`` and ``REDIS_URL`` come from the environment (the benchmark's own database and
Redis); the secret key is random per run, so sessions made by the benchmark process (which must
use the same environment, see :func:`production_env`) are valid in the servers and nowhere else.
Each process runs in a session of its own and is stopped by its own id; its output goes to
``<run_dir>/<name>.log``.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.log import log

BASE_DIR = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent  # the virtual environment's bin/, where gunicorn and celery live
ALLOWED_HOSTS = "127.0.0.1,localhost"
# Variables of a development or test shell that would make the servers behave unlike production.
_NOT_PRODUCTION = (
    "DJANGO_DEBUG",
    "CELERY_TASK_ALWAYS_EAGER",
    "PRM_WEBHOOK_ALLOW_PRIVATE_URLS",
    "PRM_CACHE_PREFIX",
)


def production_env(*, run_dir: Path, base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment of every process of a run, the benchmark's own included.

    Production settings refuse to start without a secret key and allowed hosts; they send mail by
    SMTP unless told otherwise, so mail goes to files in ``<run_dir>/mail`` (a load test can count
    what was sent). ``extra`` overrides any of it.
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
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
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

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Fleet:
    env: dict[str, str]
    run_dir: Path
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "mail").mkdir(exist_ok=True)

    def _spawn(self, name: str, command: list[str]) -> Process:
        log_path = self.run_dir / f"{name}.log"
        with open(log_path, "wb") as output:
            # A session of its own: a Ctrl-C in the benchmark's terminal reaches only the benchmark,
            # which then stops each process in order (stop_all).
            popen = subprocess.Popen(
                command,
                env=self.env,
                cwd=BASE_DIR,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        process = Process(name=name, popen=popen, log_path=log_path)
        self.processes.append(process)
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

    def start_web(
        self, port: int, workers: int = 2, *, app: str = "prm.wsgi:application", timeout: float = 60.0
    ) -> Process:
        """gunicorn with sync workers on 127.0.0.1:``port``, ready when ``/healthz`` answers 200.
        ``app`` may be a benchmark's own WSGI entry point (bench.bare.wsgi)."""
        process = self._spawn(
            f"web-{port}",
            [
                str(BIN_DIR / "gunicorn"),
                app,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                *_no_control_socket(),
            ],
        )
        process.port = port

        def answers() -> bool:
            try:
                return get(port, "/healthz", timeout=2)[0] == 200
            except OSError:
                return False

        self._wait_for(process, answers, timeout)
        log(f"gunicorn ({app}, {workers} sync workers) ready on 127.0.0.1:{port}, pid {process.popen.pid}")
        return process

    def start_worker(
        self, *, concurrency: int = 2, name: str | None = None, timeout: float = 60.0
    ) -> Process:
        """A Celery worker (prefork, ``concurrency`` processes), ready when it says so."""
        name = name or f"worker{sum(p.name.startswith('worker') for p in self.processes) + 1}"
        command = [str(BIN_DIR / "celery"), "-A", "prm", "worker", "-l", "info", "-c", str(concurrency)]
        process = self._spawn(name, [*command, "-n", f"{name}@%h"])
        self._wait_for(process, lambda: b" ready." in process.log_path.read_bytes(), timeout)
        log(f"Celery {name} ready (concurrency {concurrency}), pid {process.popen.pid}")
        return process

    def start_beat(self, *, timeout: float = 60.0) -> Process:
        """Celery beat with the database scheduler (the schedule lives in django-celery-beat's
        tables; the state file and pid file stay in the run directory)."""
        process = self._spawn(
            "beat",
            [
                str(BIN_DIR / "celery"),
                "-A",
                "prm",
                "beat",
                "-l",
                "info",
                "-s",
                str(self.run_dir / "celerybeat-schedule"),
                "--pidfile",
                str(self.run_dir / "celerybeat.pid"),
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
            ],
        )
        self._wait_for(process, lambda: b"beat: Starting" in process.log_path.read_bytes(), timeout)
        log(f"Celery beat started, pid {process.popen.pid}")
        return process

    def stop_all(self, *, timeout: float = 20.0) -> None:
        """SIGTERM to each started process (a warm shutdown: gunicorn and Celery finish what they
        are doing), SIGKILL to what is left after ``timeout``. Only the processes started here, by
        their own process group (each is the leader of its session)."""
        running = [p for p in self.processes if p.popen.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in running:
            try:
                process.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{process.name} did not stop within {timeout:.0f}s: killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)
                process.popen.wait()
        if running:
            log("stopped " + ", ".join(p.name for p in running))
        self.processes.clear()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()
