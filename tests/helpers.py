"""What the tests of every app share: signing in, raw SQL in a database scope, and racing
transactions. One copy each, so a fix to one reaches every app's tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from prm.errors import ApplicationError
from prm.tenancy import Actor, Scope, tenant_scope


# --- signing in ----------------------------------------------------------------------------------
def login(who: Any, **client_kwargs: Any) -> Client:
    """A fresh test client signed in as ``who`` (a user, or an actor's user). ``client_kwargs`` go to
    ``Client``: ``raise_request_exception=False`` turns a crash into a 500 response to assert on."""
    user = who.user if isinstance(who, Actor) else who
    client = Client(**client_kwargs)
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


# --- raw SQL in a database scope -----------------------------------------------------------------
class _Current:
    def __repr__(self) -> str:
        return "CURRENT"


CURRENT: Any = _Current()  # the scope the test body is in (the vendor's, or an enclosing block's)


def raw(sql: str, params: Sequence[Any] | None = None, *, scope: Scope | None = CURRENT) -> list[tuple]:
    """Run ``sql`` past the ORM, as a hand-written query or a compromised view would, in ``scope``
    (``None``: no scope at all; by default the one the test is in) and return its rows."""
    if scope is CURRENT:
        with connection.cursor() as cursor:
            cursor.execute(sql, None if params is None else list(params))  # None: '%' is literal
            return cursor.fetchall() if cursor.description else []
    with tenant_scope(scope):
        return raw(sql, params)


def count(table: str, where: str = "", params: Sequence[Any] | None = None, **kwargs: Any) -> int:
    """``SELECT count(*) FROM table [WHERE ...]`` in raw SQL (``scope=`` as for :func:`raw`)."""
    sql = f'SELECT count(*) FROM "{table}"' + (f" WHERE {where}" if where else "")
    return raw(sql, params, **kwargs)[0][0]


def clear_scope() -> None:
    """Empty the session's scope settings, as on a connection nobody scoped: no rows at all."""
    from prm.tenancy import SETTINGS

    raw("SELECT " + ", ".join(["set_config(%s, '', false)"] * len(SETTINGS)), list(SETTINGS))


# --- racing transactions -------------------------------------------------------------------------
# Set while racers run: a test's "slow" patch only slows the racers, not its own setup.
RACING = threading.Event()


def race(
    calls: list[Callable[[], Any]], *, scope: Scope | None = None, scopes: list[Scope | None] | None = None
) -> list[tuple[str, Any]]:
    """Run ``calls`` at the same moment, each on its own database connection, in ``scope`` (the
    vendor's by default) or each in its own of ``scopes``, to prove two transactions cannot both
    win. Each result is ``("ok", value)`` or ``("refused", ApplicationError)``; a crash or a
    deadlock fails the test."""
    if scopes is not None:
        assert len(scopes) == len(calls), "one scope per call"
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("pending", None)] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=10)
            with tenant_scope(scopes[index] if scopes is not None else scope or Scope.vendor()):
                results[index] = ("ok", call())
        except ApplicationError as exc:
            results[index] = ("refused", exc)
        except BaseException as exc:  # reported by the main thread
            results[index] = ("crashed", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    RACING.set()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        RACING.clear()
    assert not [r for r in results if r[0] in {"crashed", "pending"}], results
    return results


def slow_while_racing(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, *, seconds: float, before: bool = False
) -> None:
    """Hold a race window open: ``owner.name`` sleeps ``seconds`` after (or ``before``) it runs,
    only while racers run, so two racers would both pass a check they must not both pass."""
    original = getattr(owner, name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        if before and RACING.is_set():
            time.sleep(seconds)
        value = original(*args, **kwargs)
        if not before and RACING.is_set():
            time.sleep(seconds)
        return value

    monkeypatch.setattr(owner, name, slow)
