"""The world a module builds once for its tests (tests/isolation.py, ``built_once``): built a
single time, seen by each test as built, never by a test that does not ask for it, and each
test's writes undone before the next one."""

from __future__ import annotations

from typing import Any

import pytest

from partners.models import Partner
from tests import factories
from tests.isolation import built_once

pytestmark = pytest.mark.django_db

BUILDS: list[str] = []
NAME = "Built Once Networks"
ON_TOP = "Built On Top Systems"


@built_once
def shared() -> dict[str, Any]:
    BUILDS.append("shared")
    return {"partner": factories.PartnerFactory(legal_name=NAME)}


@built_once
def on_top(shared: dict[str, Any]) -> dict[str, Any]:
    BUILDS.append("on top")
    return {**shared, "second": factories.PartnerFactory(legal_name=ON_TOP)}


def test_a_world_built_on_top_of_another_sees_both_and_its_tests_run_last(on_top: dict[str, Any]) -> None:
    assert BUILDS == ["shared", "on top"]
    assert Partner.objects.filter(legal_name__in=[NAME, ON_TOP]).count() == 2
    assert not Partner.objects.filter(legal_name__startswith="Written by").exists()


@pytest.mark.parametrize("turn", [1, 2, 3])
def test_each_test_sees_the_world_as_built_and_writes_only_its_own(shared: dict[str, Any], turn: int) -> None:
    assert BUILDS == ["shared"], "the world is built once for the module"
    assert not Partner.objects.filter(legal_name=ON_TOP).exists(), "the world on top is built later"
    partner = shared["partner"]
    assert Partner.objects.filter(pk=partner.pk).values_list("legal_name", flat=True).get() == NAME
    assert not Partner.objects.filter(legal_name__startswith="Written by").exists()
    Partner.objects.filter(pk=partner.pk).update(legal_name=f"Written by {turn}")
    factories.PartnerFactory(legal_name=f"Written by {turn} too")


@pytest.mark.parametrize("turn", [1, 2])
def test_a_failed_statement_is_undone_with_its_test(shared: dict[str, Any], turn: int) -> None:
    """A refused statement aborts the test's savepoint only: the world is still there after it."""
    from django.db import IntegrityError, transaction

    partner = shared["partner"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Partner.objects.create(pk=partner.pk, legal_name="A second row with the same id")
    assert Partner.objects.filter(pk=partner.pk).exists()


def test_a_test_without_the_world_runs_first_and_sees_none_of_it() -> None:
    """Declared last, run first (tests/conftest.py orders the tests of the world after the rest):
    no row of the world exists for it."""
    assert BUILDS == []
    assert not Partner.objects.filter(legal_name=NAME).exists()
