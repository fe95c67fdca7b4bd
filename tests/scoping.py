"""Run code under test in the database scope it has in production, never in the test body's.

A test body arranges and checks rows in the vendor-wide scope (tests/conftest.py). A service,
though, runs under a request whose middleware opened its actor's scope first; calling it straight
from a test body would let it read and write whatever the vendor may, and a service that needs a
row its actor's scope cannot see would pass here and fail in production.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import pytest

from prm.tenancy import Actor, tenant_scope


@contextmanager
def acting(actor: Actor | None) -> Iterator[None]:
    """Run the block in ``actor``'s database scope (``None`` or anonymous: no rows at all)."""
    with tenant_scope(actor.scope if actor is not None else None):
        yield


def _in_actor_scope(service: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(service)
    def call(*args: Any, **kwargs: Any) -> Any:
        actor = kwargs.get("actor")
        if not isinstance(actor, Actor):
            return service(*args, **kwargs)
        with acting(actor):
            return service(*args, **kwargs)

    return call


def services_run_in_their_actors_scope(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> None:
    """Wrap each public function of ``module`` that takes an ``actor`` so that every call, from
    the test or from another service, runs in that actor's scope, as under a request."""
    for name, function in inspect.getmembers(module, inspect.isfunction):
        if name.startswith("_") or function.__module__ != module.__name__:
            continue
        if "actor" in inspect.signature(function).parameters:
            monkeypatch.setattr(module, name, _in_actor_scope(function))
