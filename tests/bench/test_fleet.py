"""The benchmarks' process starter (bench/fleet.py), which the page benchmark and the load run
share: one production environment, readiness on a condition, and stopping by each process's own
group, newest first, with the group's CPU time recorded."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from bench.fleet import Fleet, production_env
from bench.load.run import load_env

# Starts a child in its own (inherited) process group, says where it is, then waits.
PARENT_WITH_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("child", child.pid, flush=True)
time.sleep(0.3)
print("ready", flush=True)
time.sleep(600)
"""


def gone(pid: int) -> bool:
    """No such process, or only its zombie (stopped, waiting to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def test_the_load_run_gets_the_production_environment_with_its_own_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One place makes production's environment: the load run's is the page benchmark's, with the
    development switches of the calling shell dropped, a fresh secret key, and its own settings."""
    monkeypatch.setenv("DATABASE_URL", "postgres://x@127.0.0.1/db")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/9")
    monkeypatch.setenv("DJANGO_DEBUG", "1")
    monkeypatch.setenv("CELERY_TASK_ALWAYS_EAGER", "1")
    env = load_env(tmp_path, "postgres://x@127.0.0.1/db_load", [18601, 18602], beat_scale=10)
    pages = production_env(run_dir=tmp_path)

    assert "DJANGO_DEBUG" not in env and "CELERY_TASK_ALWAYS_EAGER" not in env
    assert env["DJANGO_SETTINGS_MODULE"] == "bench.load.settings"
    assert env["DATABASE_URL"].endswith("/db_load") and env["PRM_BENCH_BEAT_SCALE"] == "10"
    assert env["DJANGO_ALLOWED_HOSTS"] == pages["DJANGO_ALLOWED_HOSTS"]
    assert env["DJANGO_SECRET_KEY"] and env["DJANGO_SECRET_KEY"] != pages["DJANGO_SECRET_KEY"]
    assert env["EMAIL_BACKEND"] == "bench.load.mailbox.JsonLinesBackend" and "EMAIL_FILE_PATH" not in env
    monkeypatch.delenv("REDIS_URL")
    with pytest.raises(SystemExit, match="REDIS_URL"):
        production_env(run_dir=tmp_path)


def test_start_waits_for_the_condition_and_stop_ends_the_whole_group(tmp_path: Path) -> None:
    fleet = Fleet(env={}, run_dir=tmp_path)
    try:
        process = fleet.start(
            "parent",
            [sys.executable, "-c", PARENT_WITH_CHILD],
            ready=lambda p: p.log_says(b"ready"),
            timeout=30,
        )
        log = process.log_path.read_text()
        assert process.log_path == tmp_path / "parent.log" and "ready" in log
        child = int(log.split()[1])
        assert not gone(child)

        assert fleet.stop("parent", timeout=10) is not None
        deadline = time.monotonic() + 10
        while not gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gone(child), "the child in the stopped process's group is still running"
        assert "parent" in fleet.cpu_seconds and fleet.processes == {}
    finally:
        fleet.stop_all()


def test_a_process_that_exits_before_it_is_ready_fails_with_its_log(tmp_path: Path) -> None:
    fleet = Fleet(env={}, run_dir=tmp_path)
    command = [sys.executable, "-c", "import sys; print('boom', flush=True); sys.exit(3)"]
    with pytest.raises(RuntimeError, match=r"(?s)code 3.*boom"):
        fleet.start("early", command, ready=lambda p: p.log_says(b"never"), timeout=30)
    fleet.stop_all()


def test_dead_names_what_exited_and_stop_all_goes_newest_first(tmp_path: Path) -> None:
    fleet = Fleet(env={}, run_dir=tmp_path)
    try:
        sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
        fleet.start("first", sleeper)
        quitter = fleet.start("quitter", [sys.executable, "-c", "pass"])
        fleet.start("last", sleeper)
        quitter.popen.wait(30)
        assert fleet.dead() == ["quitter"]
        with pytest.raises(ValueError, match="already running"):
            fleet.start("first", sleeper)
    finally:
        fleet.stop_all(timeout=10)
    assert list(fleet.cpu_seconds) == ["last", "quitter", "first"]
