"""The container setup (Dockerfile, docker-compose.yml, docker/postgres-init.sql) and the production
settings' deploy checks. No Docker engine and no database are needed: the files are parsed, and
``check --deploy`` runs in a subprocess without touching the database.

Production never gets demo data (its logins share a published password) nor a secret key that is
written down anywhere: the demo is a separate compose profile under local settings, and
``seed_demo`` refuses production settings."""

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

import pytest
import yaml
from django.core.management import CommandError, call_command

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


def _manage_under_production_settings(*args: str, **environment: str | None) -> subprocess.CompletedProcess:
    """``manage.py *args`` in a subprocess under production settings (a process imports settings
    once); ``environment`` overrides the variables, None removes one."""
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    full = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "PRM_"))},
        "DJANGO_SETTINGS_MODULE": "prm.settings.production",
        "DJANGO_SECRET_KEY": "".join(secrets.choice(alphabet) for _ in range(60)),
        "DJANGO_ALLOWED_HOSTS": "prm.example.com",
    }
    for key in ("DATABASE_URL", "REDIS_URL"):
        if key in os.environ:
            full[key] = os.environ[key]
    for key, value in environment.items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deploy_checks() -> None:
    result = _manage_under_production_settings("check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "no issues" in output, output


def _app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service for name, service in compose["services"].items() if service.get("image") == "prm:latest"
    }


def test_compose_has_no_default_secret_key() -> None:
    compose_text = (ROOT / "docker-compose.yml").read_text()
    # ${VAR:-default} and ${VAR-default} would start the stack with a key anyone can read here.
    assert not re.search(r"\$\{DJANGO_SECRET_KEY:?-", compose_text)
    services = _app_services(_compose())
    assert {"web", "worker", "beat", "demo"} <= set(services)
    for name, service in services.items():
        key = _environment(service)["DJANGO_SECRET_KEY"]
        # Compose stops with this message when the operator has not set the variable.
        assert re.fullmatch(r"\$\{DJANGO_SECRET_KEY:\?[^}]*set DJANGO_SECRET_KEY[^}]*\}", key), (name, key)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"(?im)^\s*(ENV|ARG)\b.*DJANGO_SECRET_KEY", dockerfile), "a key baked into the image"
    # The collectstatic step's throw-away key is random, not written down.
    assert not re.search(r"DJANGO_SECRET_KEY=[\w-]", dockerfile)


def test_the_default_profile_never_seeds_demo_data_and_the_demo_profile_does() -> None:
    compose = _compose()
    seeding = {
        name: service
        for name, service in compose["services"].items()
        if "seed_demo" in f"{_command(service)} {service.get('entrypoint') or ''}"
    }
    assert seeding, "no compose profile loads the demo (docker compose --profile demo up)"
    for name, service in seeding.items():
        assert "demo" in service.get("profiles", []), f"{name} seeds the demo in the default profile"
        # One-shot: a restart policy would load the demo again after every restart.
        assert str(service.get("restart")) == "no", name
        assert _environment(service)["DJANGO_SETTINGS_MODULE"] != "prm.settings.production", name
    for name in APP_SERVICES:
        assert not compose["services"][name].get("profiles"), f"{name} must run in the default profile"


def test_production_settings_refuse_to_start_without_an_operators_secret_key() -> None:
    for key in (None, "", "insecure-development-key-change-me-0123456789abcdef"):
        result = _manage_under_production_settings("check", DJANGO_SECRET_KEY=key)
        assert result.returncode != 0, key
        assert "ImproperlyConfigured: Set DJANGO_SECRET_KEY to a long random value" in result.stderr, key


def test_production_settings_never_allow_demo_data_nor_private_webhook_urls() -> None:
    # The environment asks for private webhook URLs (as a copied development .env might): ignored.
    result = _manage_under_production_settings(
        "shell",
        "-c",
        "from django.conf import settings; "
        "print('demo:', settings.DEMO_DATA_ALLOWED, 'private:', settings.PRM['WEBHOOK_ALLOW_PRIVATE_URLS'])",
        PRM_WEBHOOK_ALLOW_PRIVATE_URLS="true",
    )
    assert "demo: False private: False" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("allowed", [False, None])
def test_seed_demo_refuses_settings_that_do_not_allow_demo_data(settings: Any, allowed: bool | None) -> None:
    if allowed is None:
        del settings.DEMO_DATA_ALLOWED  # settings that never mention it (a new deployment's own)
    else:
        settings.DEMO_DATA_ALLOWED = allowed
    with pytest.raises(CommandError, match="seed_demo refused"):
        call_command("seed_demo")
