"""Which database scope each statement of a test runs in.

Tenant tables have PostgreSQL row-level security that fails closed: no scope, no rows. In
production a request's middleware opens its actor's scope and a Celery task opens its own, so the
rule for the suite is the one a worker lives by: **code under test runs with no scope unless it
opens one**. Nothing is set for the session.

A test body still has to arrange rows for several partners and check what came out, so its *own*
statements -- the ones no application code is running, such as a factory's INSERT or an assertion's
SELECT -- each run in the vendor-wide scope, set just before the statement and cleared just after
(:func:`test_body_statements_see_everything`). Which code issued a statement is read off the call
stack: the innermost frame that belongs to the project decides (application code, or a request
through Django's test client: no help; tests/: the vendor scope), and inside any scope opened by
``prm.tenancy.tenant_scope`` (a request, a task, :func:`acting`) every statement runs as it would
in production.

Services, selectors and policies are what a view calls inside its actor's scope; a test calling one
directly plays the request's part, so :func:`open_actor_scope_for_code_called_by_tests` gives each
such call *made from a test* its actor's scope (one made by other application code, a
task for instance, gets nothing from the suite).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import pkgutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from psycopg.pq import TransactionStatus

from prm.tenancy import SETTINGS, Actor, Scope, tenant_scope

ROOT = Path(__file__).resolve().parents[1]
TESTS = str(ROOT / "tests") + "/"
APPS = ("prm", "partners", "deals", "mdf", "training", "content", "incentives")
APP_DIRS = tuple(str(ROOT / app) + "/" for app in APPS)
# A request made through Django's test client is served the way production serves it.
SERVED = ("/django/test/client.py",)

_TEST, _APP, _NEITHER = "test", "app", None
_kind_of_code: dict[CodeType, str | None] = {}


@contextmanager
def acting(actor: Actor | None) -> Iterator[None]:
    """Run the block in ``actor``'s database scope (``None`` or anonymous: no rows at all)."""
    with tenant_scope(actor.scope if actor is not None else None):
        yield


def _kind(code: CodeType) -> str | None:
    kind = _kind_of_code.get(code, "?")
    if kind == "?":
        filename = code.co_filename
        if filename.startswith(TESTS):
            kind = _TEST
        elif filename.startswith(APP_DIRS) or filename.endswith(SERVED):
            kind = _APP
        else:
            kind = _NEITHER
        _kind_of_code[code] = kind
    return kind


def _issued_by_test_code(depth: int = 2) -> bool:
    """True when the innermost project frame on the stack is a test's (not application code)."""
    frame = sys._getframe(depth)
    while frame is not None:
        kind = _kind(frame.f_code)
        if kind is not None:
            return kind == _TEST
        frame = frame.f_back
    return False


_VENDOR = Scope.vendor().settings()
_SET_VENDOR = "SELECT " + ", ".join(["set_config(%s, %s, false)"] * len(SETTINGS))
_SET_VENDOR_PARAMS = [item for pair in zip(SETTINGS, _VENDOR, strict=True) for item in pair]
# Savepoints and their rollbacks read no table: they need no scope (and after a refused statement,
# a scope could not be set anyway).
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")
_CLEAR = "SELECT " + ", ".join(["set_config(%s, '', false)"] * len(SETTINGS))


def test_body_statements_see_everything(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """``connection.execute_wrapper``: the vendor-wide scope for a test body's own statements only.

    The settings go straight to the driver (not through Django's cursor), so query-count
    assertions count the statement and nothing else. Session-level settings, cleared right after,
    work alike in a test's transaction and in autocommit (transactional and browser tests); if the
    statement fails inside a transaction, the rollback that must follow undoes the setting.
    """
    connection = context["connection"]
    if (
        getattr(connection, "prm_open_scopes", 0)
        or sql.startswith(_TRANSACTION_CONTROL)
        or not _issued_by_test_code(depth=2)
    ):
        return execute(sql, params, many, context)
    driver = connection.connection
    if driver.info.transaction_status == TransactionStatus.INERROR:
        # After a refused statement only a rollback can run; let the database say so itself.
        return execute(sql, params, many, context)
    # A cursor of its own: the statement's cursor must keep the statement's result.
    driver.execute(_SET_VENDOR, _SET_VENDOR_PARAMS)
    failed = False
    try:
        return execute(sql, params, many, context)
    except Exception:
        failed = True
        raise
    finally:
        if not failed or not connection.in_atomic_block:
            driver.execute(_CLEAR, list(SETTINGS))


def _in_actor_scope_when_called_by_a_test(service: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(service)

    @functools.wraps(service)
    def call(*args: Any, **kwargs: Any) -> Any:
        if not _issued_by_test_code(depth=2):
            return service(*args, **kwargs)
        try:
            actor = signature.bind_partial(*args, **kwargs).arguments.get("actor")
        except TypeError:
            actor = None
        if not isinstance(actor, Actor):
            return service(*args, **kwargs)
        with acting(actor):
            return service(*args, **kwargs)

    call.__wrapped_for_tests__ = True  # type: ignore[attr-defined]
    return call


# Application code that a view calls inside its actor's scope, and a test may call directly.
CALLED_BY_VIEWS = ("services", "selectors", "policies", "leads", "imports", "history", "webhooks")


def _modules_called_by_views() -> Iterator[ModuleType]:
    for app in APPS:
        for part in CALLED_BY_VIEWS:
            try:
                module = importlib.import_module(f"{app}.{part}")
            except ModuleNotFoundError:
                continue
            yield module
            for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
                yield importlib.import_module(f"{module.__name__}.{info.name}")


def _belongs_to(function: Any, module: ModuleType) -> bool:
    home = getattr(function, "__module__", "") or ""
    return home == module.__name__ or home.startswith(module.__name__ + ".")


def _takes_an_actor(function: Any) -> bool:
    try:
        return "actor" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def open_actor_scope_for_code_called_by_tests() -> None:
    """Wrap, once and for the whole run, each public function or policy method that takes an
    ``actor`` in every app's services, selectors and policies, so that a test calling it gets the
    actor's scope as a request would. Done before test modules import them, so
    ``from deals.services import x`` binds the wrapped function too; application code calling
    them gets nothing from the suite (the wrapper looks at who called)."""
    from prm.policies import Policy

    for module in _modules_called_by_views():
        for name, member in inspect.getmembers(module):
            if name.startswith("_") or not _belongs_to(member, module):
                continue
            if inspect.isclass(member) and issubclass(member, Policy):
                _wrap_methods(member)
            elif (
                inspect.isfunction(member)
                and not getattr(member, "__wrapped_for_tests__", False)
                and _takes_an_actor(member)
            ):
                wrapped = _in_actor_scope_when_called_by_a_test(member)
                # A package re-exports its modules' functions: rebind the name in both.
                for holder in (sys.modules[member.__module__], module):
                    if getattr(holder, name, None) is member:
                        setattr(holder, name, wrapped)
    _wrap_methods(Policy)


def _wrap_methods(cls: type) -> None:
    for name, member in list(vars(cls).items()):
        if name.startswith("_") or not inspect.isfunction(member):
            continue
        if getattr(member, "__wrapped_for_tests__", False) or not _takes_an_actor(member):
            continue
        setattr(cls, name, _in_actor_scope_when_called_by_a_test(member))
