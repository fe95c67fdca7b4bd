"""prm.postgresql: the health check of a reused connection asks the socket, and the server only
when something arrived on it; a connection the server closed is still found unusable."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections

from prm.postgresql.base import DatabaseWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture
def spare() -> Iterator[Any]:
    """A connection of its own, outside the test's transaction, as a web worker holds one."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def test_the_portal_uses_the_backend() -> None:
    assert isinstance(connections["default"], DatabaseWrapper)
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]


def test_the_portal_connections_never_jit_compile() -> None:
    """prm.settings.base: no statement is compiled, however costly PostgreSQL estimates it (on
    PostgreSQL 15-17 a sort planned with sorting made the last resort, as the vendor lists plan
    their index walks, is estimated above 10^10). With JIT on, a threshold of 0 would compile this
    one."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
        cursor.execute("SET LOCAL jit_above_cost = 0")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) SELECT sum(g) FROM generate_series(1, 10) g")
        [[plan]] = cursor.fetchone()
    assert "JIT" not in plan


def test_an_idle_healthy_connection_is_usable_without_a_query(spare: Any, monkeypatch: Any) -> None:
    def no_round_trip(self: Any) -> bool:
        raise AssertionError("asked the server")

    monkeypatch.setattr("django.db.backends.postgresql.base.DatabaseWrapper.is_usable", no_round_trip)
    assert spare.is_usable()


def test_a_connection_the_server_closed_is_not_usable(spare: Any) -> None:
    with spare.connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        assert cursor.fetchone()[0]
    deadline = time.monotonic() + 10
    while spare.is_usable() and time.monotonic() < deadline:
        time.sleep(0.05)  # the server's goodbye travels to the socket
    assert not spare.is_usable()


def test_a_request_replaces_a_closed_connection(spare: Any) -> None:
    """Django's own path: the failed health check closes the connection, the next query opens a
    new one."""
    with spare.connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.2)
    spare.health_check_enabled, spare.health_check_done = True, False
    spare.close_if_health_check_failed()
    with spare.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
