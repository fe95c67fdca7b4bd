"""Suite-wide fixtures.

Tenant tables have PostgreSQL row-level security that fails closed. A test body arranges and
checks data as the whole vendor would (every partner, money included), so each database test's
own statements run in that scope. The code under test never inherits it: every request through
the test client runs in its own transaction-local scope (the actor's, or none for anonymous),
every Celery task starts from no scope at all (``prm.celery.EmptyScopeTask``), partner-side
services are called in their actor's scope (``tests/scoping.py``), and the RLS tests set scopes
explicitly.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.db import connection

from tests import factories

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + ORM in browser tests

_DB_FIXTURES = {
    "db",
    "transactional_db",
    "live_server",
    "django_db_reset_sequences",
    "django_db_serialized_rollback",
}


@pytest.fixture(autouse=True)
def _vendor_scope_for_test_body(request: pytest.FixtureRequest) -> Any:
    uses_db = request.node.get_closest_marker("django_db") or _DB_FIXTURES & set(request.fixturenames)
    if not uses_db:
        yield
        return
    request.getfixturevalue(
        "transactional_db"
        if "live_server" in request.fixturenames or "transactional_db" in request.fixturenames
        else "db"
    )
    from prm.tenancy import SETTINGS, Scope

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(["set_config(%s, %s, false)"] * len(SETTINGS)),
            [item for pair in zip(SETTINGS, Scope.vendor().settings(), strict=True) for item in pair],
        )
    yield
    # In a `db` test the rollback undoes the setting anyway; a transactional test must reset it.
    # After a database error inside the test, the connection cannot run anything: leave it.
    if not connection.in_atomic_block or not connection.needs_rollback:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT " + ", ".join(["set_config(%s, '', false)"] * len(SETTINGS)), list(SETTINGS)
            )


@pytest.fixture(autouse=True)
def _clear_cache() -> Any:
    from django.core.cache import cache

    cache.clear()  # rate-limit counters must not leak from one test into the next
    yield


@pytest.fixture
def partner(db: Any) -> Any:
    return factories.PartnerFactory(legal_name="Acme Networks")


@pytest.fixture
def other_partner(db: Any) -> Any:
    return factories.PartnerFactory(legal_name="Globex Systems")


@pytest.fixture
def partner_admin(partner: Any) -> Any:
    return factories.partner_user(partner, email="alice@acme.example")


@pytest.fixture
def other_partner_admin(other_partner: Any) -> Any:
    return factories.partner_user(other_partner, email="bob@globex.example")


@pytest.fixture
def program_admin(db: Any) -> Any:
    return factories.vendor_user(email="ada@prm.example")


@pytest.fixture
def channel_manager(db: Any) -> Any:
    from prm.roles import VendorRole

    return factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="carl@prm.example")


@pytest.fixture
def client_for(client: Any) -> Any:
    """``client_for(user)`` -> the test client signed in as ``user``."""

    def login(user: Any) -> Any:
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client

    return login


@pytest.fixture(autouse=True, scope="session")
def _running_with_test_settings() -> None:
    """The suite must never run on development settings (real hashing, console e-mail, ...)."""
    from django.conf import settings

    assert settings.SETTINGS_MODULE == "prm.settings.test", settings.SETTINGS_MODULE
