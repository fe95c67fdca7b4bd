"""Suite-wide fixtures.

Tenant tables have PostgreSQL row-level security that fails closed, and no scope is set for the
session: code under test runs with no scope unless it opens one, as in a worker process. A test
body's own statements (factories, assertions) each run in the vendor-wide scope, and a service
called straight from a test runs in its actor's scope, as under a request (tests/scoping.py).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import translation

from tests import scoping

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + ORM in browser tests

# Before any test module (or the factories) imports a service by name.
scoping.open_actor_scope_for_code_called_by_tests()

from prm import jinja2 as prm_jinja2  # noqa: E402
from tests import factories  # noqa: E402
from tests.i18n import german  # noqa: E402, F401  (the language tests' catalog, any module)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """In each run of one module's tests, those that use a world built once (tests/isolation.py,
    ``built_once``) after the others, and those of a world built on top of it after them: each
    world then lives from its first test to its last and is rolled back before any test that did
    not ask for it. Only adjacent tests of the same module move: the order pytest-django gives
    (transactional tests last) stands."""
    from tests.isolation import BUILT_ONCE

    def depth(item: pytest.Item) -> int:
        module = getattr(getattr(item, "module", None), "__name__", "")
        names = getattr(item, "fixturenames", ())
        return max((BUILT_ONCE.get((module, name), 0) for name in names), default=0)

    ordered: list[pytest.Item] = []
    start = 0
    for end in range(1, len(items) + 1):
        if end < len(items) and items[end].path == items[start].path:
            continue
        ordered += sorted(items[start:end], key=depth)  # stable: same depth, same order
        start = end
    items[:] = ordered


def _jinja2_pages_give_their_context(*, template: Any, context: Any, **kwargs: Any) -> None:
    """A page written in Jinja2 (prm.jinja2.render_page) gives the test client its
    ``response.context`` and ``response.templates``, as Django's instrumented templates do."""
    from django.test.signals import template_rendered

    template_rendered.send(sender=template, template=template, context=context)


prm_jinja2.page_rendered.connect(_jinja2_pages_give_their_context, dispatch_uid="tests.jinja2_pages")


@pytest.fixture(autouse=True)
def _test_body_statements_see_everything() -> Any:
    # Installed on the test thread's connection only: a live server's thread serves requests on
    # its own connection, untouched.
    with scoping.test_body_scope(connection):
        yield


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    # A request by a user whose profile language is German activates German for the thread, and
    # Django leaves it active after the response: the next test would read German messages.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


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


@pytest.fixture(autouse=True, scope="session")
def _running_with_test_settings() -> None:
    """The suite must never run on development settings (real hashing, console e-mail, ...)."""
    from django.conf import settings

    assert settings.SETTINGS_MODULE == "prm.settings.test", settings.SETTINGS_MODULE
