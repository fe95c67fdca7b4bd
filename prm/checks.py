"""System checks that keep the security posture from eroding silently."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register
from django.db import connections
from django.db.utils import OperationalError


@register(Tags.database, deploy=True)
def check_role_cannot_bypass_rls(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list:
    """Row-level security means nothing if the application connects as a role that bypasses it."""
    if not databases or "default" not in databases:
        return []
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            is_superuser, bypasses = cursor.fetchone()
    except OperationalError:
        return []
    if is_superuser or bypasses:
        return [
            Error(
                "The database role is a superuser or has BYPASSRLS, so tenant row-level security is off.",
                hint="Connect as the application role (see README, 'Database roles').",
                id="prm.E001",
            )
        ]
    return []
