"""System checks that keep the security posture from eroding silently."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.utils import OperationalError

BYPASS_MESSAGE = "The database role is a superuser or has BYPASSRLS, so tenant row-level security is off."
BYPASS_HINT = "Connect as the application role (see README, 'Database roles')."


def role_bypasses_rls(using: str = "default") -> bool:
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        is_superuser, bypasses = cursor.fetchone()
    return bool(is_superuser or bypasses)


def require_role_cannot_bypass_rls(using: str = "default") -> None:
    """Refuse to start a web or worker process whose database role would skip every RLS policy.

    Called at start-up (prm/wsgi.py, prm/asgi.py, the Celery worker's ``worker_init``), so a
    misconfigured deployment fails loudly instead of silently serving every tenant's rows.
    """
    connection = connections[using]
    try:
        bypasses = role_bypasses_rls(using)
    finally:
        # Do not hand a connection opened at import time to the first request or task.
        if not connection.in_atomic_block:
            connection.close()
    if bypasses:
        raise ImproperlyConfigured(f"{BYPASS_MESSAGE} {BYPASS_HINT}")


@register(Tags.database)
def check_role_cannot_bypass_rls(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """Row-level security means nothing if the application connects as a role that bypasses it."""
    if not databases or "default" not in databases:
        return []
    try:
        bypasses = role_bypasses_rls()
    except OperationalError:
        return []
    if bypasses:
        return [Error(BYPASS_MESSAGE, hint=BYPASS_HINT, id="prm.E001")]
    return []
