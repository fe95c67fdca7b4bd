"""Who is acting, and the database-side tenant scope.

The ORM filter (policies + selectors) is the primary isolation path. As defence in depth every
tenant-owned table carries a PostgreSQL row-level-security policy (see ``prm/rls.py``) that reads
two transaction-local settings written here:

* ``prm.scope``      -- ``'partner'`` or ``'vendor'``; unset or empty means *no rows at all*;
* ``prm.partner_id`` -- the acting partner's id when the scope is ``'partner'``;
* ``prm.portfolio``  -- in the vendor scope, which partners' rows: ``'*'`` for every partner, or an
  array literal of partner ids (``'{3,7}'``) for a channel account manager's portfolio; unset or
  anything else means none;
* ``prm.money``      -- ``'on'`` when the vendor scope may read money tables (deals, funds, earnings);
  content / training managers work without it.

Vendor staff are bound by the database too, not only partner users: a channel account manager's
raw SQL sees no partner outside the portfolio, and a content manager's sees no money rows.

Requests get their scope from ``partners.middleware.ActorMiddleware``; Celery tasks, management
commands and the few public token look-ups open it explicitly with :func:`tenant_scope`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from django.db import Error, connections, transaction

if TYPE_CHECKING:
    from prm.models import User

SCOPE_SETTING = "prm.scope"
PARTNER_SETTING = "prm.partner_id"
PORTFOLIO_SETTING = "prm.portfolio"
MONEY_SETTING = "prm.money"
SETTINGS = (SCOPE_SETTING, PARTNER_SETTING, PORTFOLIO_SETTING, MONEY_SETTING)
EVERY_PARTNER = "*"


@dataclass(frozen=True)
class Scope:
    """What the database lets the current transaction see.

    ``portfolio`` (vendor scope only): ``None`` means every partner, a tuple only those partners.
    ``money`` (vendor scope only): whether money tables are readable at all.
    """

    kind: Literal["partner", "vendor"]
    partner_id: int | None = None
    portfolio: tuple[int, ...] | None = None
    money: bool = True

    @classmethod
    def vendor(cls, *, portfolio: Iterable[int] | None = None, money: bool = True) -> Scope:
        return cls(
            kind="vendor",
            portfolio=None if portfolio is None else tuple(sorted({int(pk) for pk in portfolio})),
            money=money,
        )

    @classmethod
    def partner(cls, partner_id: int) -> Scope:
        if not partner_id:
            raise ValueError("a partner scope needs a partner id")
        return cls(kind="partner", partner_id=int(partner_id))

    def settings(self) -> tuple[str, str, str, str]:
        """The four setting values, in the order of ``SETTINGS``."""
        if self.kind == "partner":
            return ("partner", str(self.partner_id), "", "")
        if self.portfolio is None:
            portfolio = EVERY_PARTNER
        else:
            portfolio = "{" + ",".join(str(pk) for pk in self.portfolio) + "}"
        return ("vendor", "", portfolio, "on" if self.money else "")


NO_SCOPE_SETTINGS = ("", "", "", "")


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
    # A channel account manager's portfolio (partner ids), resolved with the actor; None for the
    # vendor roles that see every partner.
    portfolio: tuple[int, ...] | None = None
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
            # Role names are kernel constants (prm.roles); which roles read money is PRODUCT.md's
            # table: content / training managers never see deal amounts, funds or earnings.
            from prm.roles import MONEY_BLIND_ROLES, VendorRole

            if self.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER:
                return Scope.vendor(portfolio=self.portfolio or ())
            if self.vendor_role in MONEY_BLIND_ROLES:
                return Scope.vendor(money=False)
            if self.vendor_role in VendorRole.values:
                return Scope.vendor()
            return None
        if self.is_partner:
            return Scope.partner(self.partner_id)
        return None


ANONYMOUS = Actor(user=None)


_SET_SCOPE = "SELECT " + ", ".join(f"set_config(%s, %s, true) AS s{n}" for n in range(len(SETTINGS)))


def _write(cursor: Any, values: tuple[str, ...], along: tuple[str, Sequence[Any]] | None = None) -> Any:
    """Write the scope's settings; with ``along`` (a read's SQL and parameters: one row, one
    column), read it in the same statement, under the settings just written, and return its value.

    The read is a subquery of the outer SELECT, correlated with the row of the settings' subquery,
    which OFFSET 0 keeps a subquery of its own (never merged into the outer one): PostgreSQL
    produces that row (running every set_config) before it evaluates the outer row's subquery, so
    row-level security sees the new scope, as it would in a statement sent after this one.
    """
    params = [item for pair in zip(SETTINGS, values, strict=True) for item in pair]
    if along is None:
        cursor.execute(_SET_SCOPE, params)
        return None
    sql, along_params = along
    cursor.execute(
        f"SELECT (SELECT prm_along.* FROM ({sql}) prm_along WHERE prm_scope.s0 IS NOT NULL)"  # noqa: S608
        f" FROM ({_SET_SCOPE} OFFSET 0) prm_scope",
        [*along_params, *params],
    )
    return cursor.fetchone()[0]


def current_scope_settings(using: str = "default") -> tuple[str, ...]:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(["coalesce(current_setting(%s, true), '')"] * len(SETTINGS)),
            list(SETTINGS),
        )
        return tuple(cursor.fetchone())


@contextmanager
def tenant_scope(
    scope: Scope | None, *, using: str = "default", along: tuple[str, Sequence[Any]] | None = None
) -> Iterator[Any]:
    """Run the block in a transaction whose RLS settings are ``scope`` (``None``: no rows).

    Settings are transaction-local (``set_config(..., true)``), so they can never leak to the next
    request on a pooled connection. When nested inside an outer transaction (a service called from
    a request, or a test), the outer scope is restored on the way out.

    ``along``: a read (SQL and parameters, one row of one column) sent in the statement that
    writes the settings and read under them (:func:`_write`); its value is what the block gets
    (``with tenant_scope(scope, along=...) as value``), else None. It saves the read a round trip
    of its own (the bell's unread count, read as every page's request begins).
    """
    connection = connections[using]
    nested = connection.in_atomic_block
    with transaction.atomic(using=using):
        previous = current_scope_settings(using) if nested else None
        with connection.cursor() as cursor:
            value = _write(cursor, scope.settings() if scope else NO_SCOPE_SETTINGS, along)
        # Counted on the connection so that a caller can tell whether code has opened a scope
        # (the test suite gives its own statements one only outside every open scope).
        connection.prm_open_scopes = getattr(connection, "prm_open_scopes", 0) + 1
        try:
            yield value
        finally:
            connection.prm_open_scopes -= 1
    # Reached only when the block succeeded; on an exception the savepoint rollback has already
    # undone our SET LOCAL.
    if previous is not None and connection.in_atomic_block and not connection.needs_rollback:
        with connection.cursor() as cursor:
            _write(cursor, previous)


def system_scope(*, using: str = "default") -> Any:
    """The vendor-wide scope for background jobs, migrations-time data and public token look-ups.

    Every caller is a place to review: it sees all tenants' rows at the database level, so the
    ORM query inside must still be narrowed to exactly what is needed.
    """
    return tenant_scope(Scope.vendor(), using=using)


# --- The request's one transaction -----------------------------------------------------------
# A request runs in one transaction, opened by ``partners.middleware.ActorMiddleware`` around
# everything after it (the view, the template rendered after it, the error page). Django's
# ATOMIC_REQUESTS is off (prm/settings/base.py): nested inside that transaction it would only add
# a SAVEPOINT and its RELEASE to every request. What it did for a failing view is done here
# instead: when the view raises (or anything inside the transaction raises an error that becomes a
# 500, or the API answers an error), everything the request wrote is rolled back and the
# transaction starts again in the same scope, so that the error page is rendered, and committed,
# in a clean one.
REQUEST_ATTRIBUTE = "_prm_request_transaction"


class RequestTransaction:
    """What :func:`request_transaction` needs to undo a request's writes (see above)."""

    def __init__(self, scope: Scope | None, using: str) -> None:
        self.scope = scope
        self.using = using
        connection = connections[using]
        # The block ``tenant_scope`` opened is the innermost one now. Outside any other transaction
        # (production) it is the transaction itself; inside one (a test's) it is a savepoint.
        self.outermost = not connection.savepoint_ids and connection.commit_on_exit
        self.depth = len(connection.savepoint_ids)
        # False for a view marked ``@transaction.non_atomic_requests``: it manages its writes
        # itself, and an error it raises undoes nothing (as with ATOMIC_REQUESTS).
        self.atomic = True

    def roll_back(self) -> None:
        """Undo everything written since the request's transaction began; carry on in a new
        transaction with the same scope."""
        connection = connections[self.using]
        if not connection.in_atomic_block or connection.closed_in_transaction:
            return
        if len(connection.savepoint_ids) != self.depth:
            # An atomic block of the view is still open (an API view's own ``atomic``, while DRF
            # handles its error): mark that block for rollback, as DRF itself would.
            connection.set_rollback(True)
            return
        try:
            if self.outermost:
                # Django refuses ``rollback()`` inside an atomic block; the request's block stays
                # open and the driver begins the next transaction at the next statement. Callbacks
                # waiting for the commit belong to the writes rolled back: they never run.
                connection._rollback()
                connection.run_on_commit = []
            else:
                sid = connection.savepoint_ids[-1] if connection.savepoint_ids else None
                if sid is None:
                    connection.set_rollback(True)
                    return
                connection.savepoint_rollback(sid)  # drops that savepoint's callbacks too
            connection.needs_rollback = False
            # The rollback undid the scope's settings with everything else.
            with connection.cursor() as cursor:
                _write(cursor, self.scope.settings() if self.scope else NO_SCOPE_SETTINGS)
        except Error:
            # The connection itself is broken: the block rolls back (or closes it) on its way out.
            connection.needs_rollback = True


@contextmanager
def request_transaction(
    request: Any,
    scope: Scope | None,
    *,
    using: str = "default",
    along: tuple[str, Sequence[Any]] | None = None,
) -> Iterator[Any]:
    """The request's transaction in ``scope`` (:func:`tenant_scope`, with its ``along`` read,
    whose value the block gets), which :func:`roll_back_request` can undo while it is open."""
    with tenant_scope(scope, using=using, along=along) as value:
        setattr(request, REQUEST_ATTRIBUTE, RequestTransaction(scope, using))
        try:
            yield value
        finally:
            setattr(request, REQUEST_ATTRIBUTE, None)


def roll_back_request(request: Any) -> None:
    """Undo what ``request`` wrote, if its transaction is open and its view is atomic."""
    state: RequestTransaction | None = getattr(request, REQUEST_ATTRIBUTE, None)
    if state is not None and state.atomic:
        state.roll_back()


def mark_non_atomic(request: Any, view_func: Any) -> None:
    """Called with the view about to run: ``@transaction.non_atomic_requests`` opts out."""
    state: RequestTransaction | None = getattr(request, REQUEST_ATTRIBUTE, None)
    if state is not None and state.using in getattr(view_func, "_non_atomic_requests", ()):
        state.atomic = False
