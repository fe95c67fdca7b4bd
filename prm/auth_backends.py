"""The portal's authentication backends.

``AuthenticationBackend``: allauth's (the same sign-in by e-mail and password, the same
``is_active`` check) with a cheaper ``get_user``, the user row every signed-in request reads, which
also reads whether vendor staff have a TOTP authenticator (the MFA gate's question on every vendor
page: ``LoadedUserState``) and whether they hold any permission of their own or any group (when
they hold none, Django's ModelBackend is told so and sends nothing on an admin page's first
``has_perm``).

``VendorRoleBackend``: model permissions for vendor staff come from their vendor role, not from
hand-edited groups. Each app's AppConfig may declare ``vendor_role_permissions = {role:
{"app.codename", ...}}``; program admins hold every permission. Django's admin asks this backend,
so an admin page and the vendor console agree on who may do what.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from allauth.account.auth_backends import AuthenticationBackend as AllauthAuthenticationBackend
from django.apps import apps
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import BooleanField, Case, Exists, Expression, OuterRef, Q, Value, When

from .models import User, VendorRole


@dataclass(frozen=True)
class LoadedUserState:
    """What the user row statement read about the user besides the row itself, as the row was
    read: kept on the user as ``user._prm_loaded_state`` (see :func:`loaded_state`).

    ``has_totp``: whether the user has a TOTP authenticator (allauth's ``mfa_authenticator``, no
    tenant table): the MFA gate of every vendor page asks it (partners.middleware). Read for vendor
    staff only (a CASE on the row's vendor role): None for anyone else, as for a user not loaded
    by this backend, and the gate then asks the database.
    """

    has_totp: bool | None


_LOADED_STATE_ATTRIBUTE = "_prm_loaded_state"


def loaded_state(user: Any) -> LoadedUserState | None:
    """What :class:`AuthenticationBackend` read with ``user``'s row in this request; None for a
    user loaded otherwise (another backend, the ORM) or after :func:`forget_loaded_state`."""
    return getattr(user, _LOADED_STATE_ATTRIBUTE, None)


def forget_loaded_state(*, user: Any = None, **_kwargs: Any) -> None:
    """Drop what was read with the row (allauth's authenticator_added / authenticator_removed:
    the TOTP flag would be stale for the rest of the request); asked again, it comes from the
    database."""
    if user is not None and hasattr(user, _LOADED_STATE_ATTRIBUTE):
        delattr(user, _LOADED_STATE_ATTRIBUTE)


def _has_totp_column() -> Expression:
    """``EXISTS`` (a TOTP authenticator of the row's user), evaluated for vendor staff only."""
    from allauth.mfa.models import Authenticator

    totp = Authenticator.objects.filter(user=OuterRef("pk"), type=Authenticator.Type.TOTP)
    return Case(
        When(~Q(vendor_role=""), then=Exists(totp)),
        default=Value(None),
        output_field=BooleanField(null=True),
    )


def _has_own_permissions_column() -> Expression:
    """Whether the row's user holds a permission of their own or belongs to any group (a group
    with no permission counts: ModelBackend then reads as it always has), for vendor staff only
    (roles give them their permissions, VendorRoleBackend; these are normally empty); NULL for
    anyone else."""
    through_permissions = User.user_permissions.through.objects.filter(user_id=OuterRef("pk"))
    through_groups = User.groups.through.objects.filter(user_id=OuterRef("pk"))
    vendor_staff = ~Q(vendor_role="")
    return Case(
        When(vendor_staff & (Q(Exists(through_permissions)) | Q(Exists(through_groups))), then=Value(True)),
        When(vendor_staff, then=Value(False)),
        default=Value(None),
        output_field=BooleanField(null=True),
    )


# ModelBackend's per-user caches of the permissions it reads from user_permissions and from the
# user's groups (django.contrib.auth.backends.ModelBackend._get_permissions: "_%s_perm_cache" for
# "user" and "group"); absent, its first has_perm reads each with a statement of its own.
_MODEL_BACKEND_PERMISSION_CACHES = ("_user_perm_cache", "_group_perm_cache")


def _tell_model_backend_there_is_nothing_to_read(user: User) -> None:
    """What ModelBackend would read for a user with no permission of their own and no group: two
    empty sets. Not for a superuser (ModelBackend gives them every permission in the table)."""
    if user.is_superuser:
        return
    for attribute in _MODEL_BACKEND_PERMISSION_CACHES:
        setattr(user, attribute, set())


@dataclass(frozen=True)
class _UserRowStatement:
    """The ORM's own statement for ``User._default_manager.get(pk=...)`` with the columns of
    :class:`LoadedUserState` and the own-permissions flag after the model's, compiled once."""

    sql: str
    # The statement's parameters, the user's pk at ``pk_slot`` and constants elsewhere (the
    # authenticator type, the empty vendor role).
    params: tuple[Any, ...]
    pk_slot: int
    attnames: list[str]
    # (position in the row, the converters the ORM applies there, the column they are given)
    converters: list[tuple[int, Sequence[Callable[..., Any]], Expression]]


# One per connection object (Django keeps one per thread and alias), so a converter bound to a
# connection is only ever used with that connection.
_statements: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _UserRowStatement] = weakref.WeakKeyDictionary()


def _user_row_statement(connection: BaseDatabaseWrapper) -> _UserRowStatement:
    statement = _statements.get(connection)
    if statement is not None:
        return statement
    # The same queryset ModelBackend.get_user runs (the default manager; .get() drops the
    # Meta.ordering), compiled by the ORM itself: the same columns, the same SQL, the same
    # converters (the JSON field's), so the user built from the row equals the ORM's.
    # The marker: a pk no row has, to find where the pk goes among the parameters.
    marker = -7_000_000_000_000_000_001
    queryset = (
        User._default_manager.filter(pk=marker)
        .order_by()
        .annotate(prm_has_totp=_has_totp_column(), prm_has_own_permissions=_has_own_permissions_column())
    )
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    slots = [position for position, value in enumerate(params) if value == marker]
    if len(slots) != 1 or params[-1] != marker:  # a manager that adds conditions of its own
        raise RuntimeError(f"Unexpected parameters for the user row statement: {params!r}")
    fields = len(User._meta.concrete_fields)
    columns = [column for column, _sql, _alias in compiler.select]
    attnames = [getattr(getattr(column, "target", None), "attname", None) for column in columns[:fields]]
    if attnames != [field.attname for field in User._meta.concrete_fields] or len(columns) != fields + 2:
        # User.from_db would mark the missing ones deferred: a later save() would then write only
        # some fields. Every concrete field (then the two flags) or nothing.
        raise RuntimeError(f"The user row statement does not read every field: {attnames!r}")
    converters = [
        (position, functions, expression)
        for position, (functions, expression) in compiler.get_converters(columns[:fields]).items()
    ]
    statement = _UserRowStatement(
        sql=sql, params=tuple(params), pk_slot=slots[0], attnames=attnames, converters=converters
    )
    _statements[connection] = statement
    return statement


class AuthenticationBackend(AllauthAuthenticationBackend):
    """allauth's backend whose ``get_user`` sends one statement compiled once per connection.

    Django's ``get_user`` (``ModelBackend``) builds a queryset, compiles it and builds the model
    through the ORM's iterator on every request: about 0.4 ms of CPU where sending the same SQL
    costs 0.035 ms (issue 11, bench/README.md "Before any view"). Here the SQL, the column list and
    the converters come from the ORM once; each request sends the statement with the pk and builds
    the user with ``User.from_db``, as the ORM's iterator does: every concrete field loaded (the
    password for the session hash check, actor_version for the actor cache, language, ...), the
    same ``is_active`` check (``user_can_authenticate``), None for a user that is gone.

    The same statement reads, after the model's columns, whether a vendor user has a TOTP
    authenticator (``LoadedUserState``, kept on the user for this request): the MFA gate of every
    vendor page (partners.middleware.has_totp) then sends no statement of its own; and whether a
    vendor user holds any permission of their own or any group: with none, ModelBackend's caches
    are filled with what it would read (nothing), and an admin page sends two statements fewer.

    Listed first in AUTHENTICATION_BACKENDS, so a new sign-in stores this path in its session
    (``authenticate`` sets it, allauth's ``login`` prefers a subclass of its backend); sessions
    that stored Django's or allauth's path keep working through those, still listed.
    """

    def authenticate(self, request: Any, **credentials: Any) -> Any:
        user = super().authenticate(request, **credentials)
        if user is None and "password" in credentials:
            # Refused here, refused by Django's and allauth's backends listed after this one too
            # (they check the same password against the same user): PermissionDenied makes
            # django.contrib.auth.authenticate stop instead of hashing the password twice more,
            # which would triple what a wrong password costs the server (and an attacker nothing).
            raise PermissionDenied
        return user

    def get_user(self, user_id: Any) -> User | None:
        connection = connections[User._default_manager.db]
        statement = _user_row_statement(connection)
        # As the ORM's pk=... lookup prepares it (a bad value raises as it would there).
        pk = User._meta.pk.get_prep_value(user_id)
        params = list(statement.params)
        params[statement.pk_slot] = pk
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        has_own_permissions = values.pop()
        has_totp = values.pop()
        for position, functions, expression in statement.converters:
            value = values[position]
            for function in functions:
                value = function(value, expression, connection)
            values[position] = value
        user = User.from_db(connection.alias, statement.attnames, values)
        if not self.user_can_authenticate(user):
            return None
        setattr(user, _LOADED_STATE_ATTRIBUTE, LoadedUserState(has_totp=has_totp))
        if has_own_permissions is False:  # vendor staff with none (None: not asked)
            _tell_model_backend_there_is_nothing_to_read(user)
        return user


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
