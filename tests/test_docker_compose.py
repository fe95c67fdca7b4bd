"""The container setup (Dockerfile, docker-compose.yml, docker/postgres-init.sql) and the production
settings' deploy checks. No Docker engine and no database are needed: the files are parsed, and
``check --deploy`` runs in a subprocess without touching the database."""

from __future__ import annotations

import os
import re
import secrets
import string
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("web", "worker", "beat")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """Compose accepts a mapping or a list of ``KEY=value``; compare them as a mapping."""
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def _command(service: dict[str, Any]) -> str:
    command = service.get("command") or ""
    return " ".join(command) if isinstance(command, list) else command


def _init_sql_mount(postgres: dict[str, Any]) -> Path:
    for volume in postgres.get("volumes", []):
        source = volume["source"] if isinstance(volume, dict) else volume.split(":", 1)[0]
        if source.endswith(".sql"):
            return ROOT / source
    raise AssertionError("the postgres service mounts no init .sql script")


def test_compose_services_share_one_app_definition_and_a_non_superuser_role() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)

    web, worker, beat = (services[name] for name in APP_SERVICES)
    for key in ("image", "build", "environment", "depends_on"):
        assert web.get(key), f"web has no {key}"
        assert web.get(key) == worker.get(key) == beat.get(key), f"web/worker/beat differ in {key}"
    assert set(web["depends_on"]) == {"postgres", "redis"}

    environment = _environment(web)
    assert environment["DJANGO_SETTINGS_MODULE"] == "prm.settings.production"

    database_url = urlsplit(environment["DATABASE_URL"])
    assert database_url.scheme in {"postgres", "postgresql"}
    assert database_url.username, "DATABASE_URL names no role"
    assert database_url.username != "postgres", "the application must not connect as the superuser"
    database_name = database_url.path.lstrip("/")

    # The init script creates exactly that role, unable to bypass row-level security, with the
    # password in DATABASE_URL, and the database it connects to, owned by it.
    sql = _init_sql_mount(services["postgres"]).read_text()
    statements = [" ".join(s.split()) for s in re.sub(r"--[^\n]*", "", sql).split(";") if s.strip()]
    role = re.escape(database_url.username)
    create_role = [s for s in statements if re.match(rf"(?i)CREATE ROLE {role}\b", s)]
    assert len(create_role) == 1, f"{sql!r} does not create the role {database_url.username}"
    assert re.search(r"(?i)\bNOSUPERUSER\b", create_role[0])
    assert re.search(r"(?i)\bNOBYPASSRLS\b", create_role[0])
    assert re.search(r"(?i)\bLOGIN\b", create_role[0])
    granted = [s for s in statements if re.search(r"(?i)(?<!NO)\b(SUPERUSER|BYPASSRLS)\b", s)]
    assert not granted, f"the init script grants what row-level security cannot bind: {granted}"
    assert f"'{database_url.password}'" in create_role[0], "the role's password differs from DATABASE_URL"
    create_database = rf"(?i)CREATE DATABASE {re.escape(database_name)} OWNER {role}\b"
    assert any(re.match(create_database, s) for s in statements), f"{sql!r} does not create {database_name}"

    assert "migrate" in _command(web)
    worker_command = _command(worker)
    assert "celery" in worker_command and "worker" in worker_command
    beat_command = _command(beat)
    assert "beat" in beat_command and "DatabaseScheduler" in beat_command


def test_dockerfile_does_not_run_as_root() -> None:
    dockerfile = ROOT / "Dockerfile"
    assert dockerfile.is_file()
    users = re.findall(r"(?im)^\s*USER\s+(\S+)", dockerfile.read_text())
    assert users, "the Dockerfile has no USER line, so the container runs as root"
    # The last USER line is the one the container runs as.
    assert users[-1].split(":", 1)[0] not in {"root", "0"}


def test_production_settings_pass_the_deploy_checks() -> None:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    environment = {
        **{key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "prm.settings.production",
        "DJANGO_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(60)),
        "DJANGO_ALLOWED_HOSTS": "prm.example.com",
    }
    for key in ("DATABASE_URL", "REDIS_URL"):
        if key in os.environ:
            environment[key] = os.environ[key]
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output, output
