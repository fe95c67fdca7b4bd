"""Model permissions for vendor staff come from their vendor role, not from hand-edited groups.

Each app's AppConfig may declare ``vendor_role_permissions = {role: {"app.codename", ...}}``;
program admins hold every permission. Django's admin asks this backend, so an admin page and the
vendor console agree on who may do what.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.apps import apps

from .models import User, VendorRole


@cache
def role_permissions() -> dict[str, frozenset[str]]:
    collected: dict[str, set[str]] = {}
    for config in apps.get_app_configs():
        for role, permissions in getattr(config, "vendor_role_permissions", {}).items():
            collected.setdefault(role, set()).update(permissions)
    return {role: frozenset(perms) for role, perms in collected.items()}


class VendorRoleBackend:
    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def _allowed(self, user: Any) -> bool:
        return isinstance(user, User) and user.is_active and bool(user.vendor_role)

    def get_all_permissions(self, user: Any, obj: Any = None) -> set[str]:
        if not self._allowed(user) or obj is not None:
            return set()
        return set(role_permissions().get(user.vendor_role, ()))

    def has_perm(self, user: Any, perm: str, obj: Any = None) -> bool:
        if not self._allowed(user):
            return False
        if user.vendor_role == VendorRole.PROGRAM_ADMIN:
            return True
        return obj is None and perm in role_permissions().get(user.vendor_role, ())

    def has_module_perms(self, user: Any, app_label: str) -> bool:
        if not self._allowed(user):
            return False
        if user.vendor_role == VendorRole.PROGRAM_ADMIN:
            return True
        return any(perm.startswith(f"{app_label}.") for perm in role_permissions().get(user.vendor_role, ()))
