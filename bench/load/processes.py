"""The processes of a load run, started and stopped in order: gunicorn web processes, Celery
workers, Celery beat, the webhook receiver (and anything else by its command line). Each child runs
in its own process group with its output in ``<run dir>/<name>.log``; ``stop_all()`` stops them
newest first (SIGTERM: gunicorn and Celery finish what they are doing), killing what does not
stop in time. Only the processes started here are ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from bench.log import log

PYTHON = sys.executable
BASE_DIR = Path(__file__).resolve().parents[2]
BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_APP = "bench.load.celery_probe"  # prm.celery's app, plus the bench-only task probe


class Fleet:
    def __init__(self, *, run_dir: Path, env: Mapping[str, str]) -> None:
        self.run_dir = run_dir
        self.env = dict(env)
        self.children: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, object] = {}
        # CPU time each child's process group used, measured as it is stopped.
        self.cpu_seconds: dict[str, float] = {}

    # --- generic ---------------------------------------------------------------------------
    def start(
        self, name: str, command: list[str], *, env: Mapping[str, str] | None = None
    ) -> subprocess.Popen:
        if name in self.children:
            raise ValueError(f"{name} is already running")
        log_file = (self.run_dir / f"{name}.log").open("ab")
        child = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env={**self.env, **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: signalled as a whole, never ours
        )
        self.children[name] = child
        self._logs[name] = log_file
        log(f"started {name} (pid {child.pid}): {' '.join(command[1:6])} ...")
        return child

    def stop(self, name: str, *, timeout: float = 30) -> int | None:
        child = self.children.pop(name, None)
        if child is None:
            return None
        self.cpu_seconds[name] = group_cpu_seconds(child.pid)
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop within {timeout:.0f} s: killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        log_file = self._logs.pop(name, None)
        if log_file is not None:
            log_file.close()
        log(f"stopped {name} (exit code {child.returncode})")
        return child.returncode

    def stop_all(self) -> None:
        for name in reversed(list(self.children)):
            self.stop(name)

    def dead(self) -> list[str]:
        """Children that exited on their own."""
        return [name for name, child in self.children.items() if child.poll() is not None]

    # --- the portal's processes --------------------------------------------------------------
    def start_web(self, port: int, *, workers: int = 2, worker_class: str = "sync", threads: int = 1) -> None:
        command = [
            PYTHON, "-m", "gunicorn", "prm.wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", worker_class,
            "--name", f"prm-load-web-{port}",
            # Server time per request (%(D)s, microseconds), apart from the wait for a free worker.
            "--access-logfile", str(self.run_dir / f"access-{port}.log"),
            "--access-logformat", "%(t)s %(m)s %(U)s %(s)s %(D)s",
        ]  # fmt: skip
        if worker_class == "gthread":
            command += ["--threads", str(threads)]
        self.start(f"web-{port}", command)
        wait_for_http(f"http://127.0.0.1:{port}/healthz", headers={"X-Forwarded-Proto": "https"})

    def start_worker(self, name: str, *, concurrency: int = 2) -> None:
        self.start(
            f"worker-{name}",
            [PYTHON, "-m", "celery", "-A", CELERY_APP, "worker", "-n", f"{name}@%h",
             "-c", str(concurrency), "-l", "info"],
            env={"PRM_BENCH_ROLE": "worker"},
        )  # fmt: skip

    def start_beat(self) -> None:
        self.start(
            "beat",
            [PYTHON, "-m", "celery", "-A", CELERY_APP, "beat", "-l", "info", "--scheduler", BEAT_SCHEDULER,
             "-s", str(self.run_dir / "celerybeat-schedule")],
            env={"PRM_BENCH_ROLE": "beat"},
        )  # fmt: skip

    def start_receiver(self, port: int, log_path: Path) -> None:
        self.start(
            "receiver", [PYTHON, "-m", "bench.load.receiver", "--port", str(port), "--log", str(log_path)]
        )
        wait_for_http(f"http://127.0.0.1:{port}/")


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


def wait_for_http(url: str, *, headers: Mapping[str, str] | None = None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(url, headers=dict(headers or {}))
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status < 500:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.5)
