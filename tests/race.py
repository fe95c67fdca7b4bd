"""Running calls at the same moment on separate database connections, for the tests that prove
two transactions cannot both win (budgets, settlements)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection

from prm.errors import ApplicationError
from prm.tenancy import Scope, tenant_scope

# Set while racers run: a test's "slow" patch only slows the racers, not its own setup.
RACING = threading.Event()


def race(calls: list[Callable[[], Any]], *, scope: Scope | None = None) -> list[tuple[str, Any]]:
    """Run ``calls`` at once, each on its own connection in ``scope`` (the vendor's by default).
    Each result is ``("ok", value)`` or ``("refused", ApplicationError)``; a crash fails the test."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("pending", None)] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=10)
            with tenant_scope(scope or Scope.vendor()):
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
