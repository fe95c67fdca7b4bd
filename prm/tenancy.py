"""Who is acting, and the database-side tenant scope.

The ORM filter (policies + selectors) is the primary isolation path. As defence in depth every
tenant-owned table carries a PostgreSQL row-level-security policy (see ``prm/rls.py``) that reads
two transaction-local settings written here:

* ``prm.scope``      -- ``'partner'`` or ``'vendor'``; unset or empty means *no rows at all*;
* ``prm.partner_id`` -- the acting partner's id when the scope is ``'partner'``.

Requests get their scope from ``partners.middleware.ActorMiddleware``; Celery tasks, management
commands and the few public token look-ups open it explicitly with :func:`tenant_scope`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from django.db import connections, transaction

if TYPE_CHECKING:
    from prm.models import User

SCOPE_SETTING = "prm.scope"
PARTNER_SETTING = "prm.partner_id"


@dataclass(frozen=True)
class Scope:
    kind: Literal["partner", "vendor"]
    partner_id: int | None = None

    @classmethod
    def vendor(cls) -> Scope:
        return cls(kind="vendor")

    @classmethod
    def partner(cls, partner_id: int) -> Scope:
        if not partner_id:
            raise ValueError("a partner scope needs a partner id")
        return cls(kind="partner", partner_id=int(partner_id))


class Side:
    VENDOR = "vendor"
    PARTNER = "partner"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Actor:
    """The person acting, resolved once per request or task.

    ``partner`` is the acting partner company (a ``partners.Partner``) for partner users; the
    kernel types it loosely because it must not import the partners app.
    """

    user: User | None
    side: str = Side.ANONYMOUS
    vendor_role: str = ""
    partner: Any = None
    partner_role: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def partner_id(self) -> int | None:
        return self.partner.pk if self.partner is not None else None

    @property
    def is_vendor(self) -> bool:
        return self.side == Side.VENDOR

    @property
    def is_partner(self) -> bool:
        return self.side == Side.PARTNER and self.partner is not None

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None and self.user.is_authenticated

    @property
    def scope(self) -> Scope | None:
        if self.is_vendor:
            return Scope.vendor()
        if self.is_partner:
            return Scope.partner(self.partner_id)
        return None


ANONYMOUS = Actor(user=None)


def _write(cursor: Any, scope_kind: str, partner_id: str) -> None:
    cursor.execute(
        "SELECT set_config(%s, %s, true), set_config(%s, %s, true)",
        [SCOPE_SETTING, scope_kind, PARTNER_SETTING, partner_id],
    )


def current_scope_settings(using: str = "default") -> tuple[str, str]:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting(%s, true), ''), coalesce(current_setting(%s, true), '')",
            [SCOPE_SETTING, PARTNER_SETTING],
        )
        kind, partner_id = cursor.fetchone()
    return kind, partner_id


@contextmanager
def tenant_scope(scope: Scope | None, *, using: str = "default") -> Iterator[None]:
    """Run the block in a transaction whose RLS settings are ``scope`` (``None``: no rows).

    Settings are transaction-local (``set_config(..., true)``), so they can never leak to the next
    request on a pooled connection. When nested inside an outer transaction (a service called from
    a request, or a test), the outer scope is restored on the way out.
    """
    connection = connections[using]
    nested = connection.in_atomic_block
    with transaction.atomic(using=using):
        previous = current_scope_settings(using) if nested else None
        with connection.cursor() as cursor:
            _write(cursor, scope.kind if scope else "", str(scope.partner_id or "") if scope else "")
        yield
    # Reached only when the block succeeded; on an exception the savepoint rollback has already
    # undone our SET LOCAL.
    if previous is not None and connection.in_atomic_block and not connection.needs_rollback:
        with connection.cursor() as cursor:
            _write(cursor, *previous)


def system_scope(*, using: str = "default") -> Any:
    """The vendor-wide scope for background jobs, migrations-time data and public token look-ups.

    Every caller is a place to review: it sees all tenants' rows at the database level, so the
    ORM query inside must still be narrowed to exactly what is needed.
    """
    return tenant_scope(Scope.vendor(), using=using)
