"""prm.pagination.capped_count: a list's rows counted up to the cap, in one statement; a whole
table that PostgreSQL's estimate puts far past the cap is past it without being counted, and
nothing narrower ever is (a scoped or filtered list). ANALYZE writes the estimate in place (not
undone with the test's transaction): the line the tests set is theirs alone."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partners.models import Partner
from prm import pagination
from prm.pagination import capped_count, is_whole_table
from prm.tenancy import Scope, tenant_scope
from tests import factories

pytestmark = pytest.mark.django_db


def counted(queryset: Any, cap: int) -> int:
    # As a program-wide role's page counts it (code under test runs in no scope of its own).
    with tenant_scope(Scope.vendor()):
        return capped_count(queryset, cap)


def _analyse() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Partner._meta.db_table}")


@pytest.fixture
def partners() -> list[Partner]:
    return [factories.PartnerFactory(legal_name=f"Counted {n}") for n in range(7)]


def test_it_counts_up_to_the_cap_plus_one_in_one_statement(partners: list[Partner]) -> None:
    everyone = Partner.objects.count()
    with tenant_scope(Scope.vendor()), CaptureQueriesContext(connection) as queries:
        assert capped_count(Partner.objects.all(), 100) == everyone
    assert len(queries.captured_queries) == 1
    assert counted(Partner.objects.all(), 3) == 4  # cap + 1: "more than 3"
    assert counted(Partner.objects.filter(legal_name__startswith="Counted"), 100) == 7
    assert counted(Partner.objects.none(), 100) == 0


def test_a_whole_table_far_past_the_cap_by_the_estimate_is_not_counted(
    partners: list[Partner], monkeypatch: pytest.MonkeyPatch
) -> None:
    _analyse()
    monkeypatch.setattr(pagination, "ESTIMATED_PAST_CAP", 5)
    with tenant_scope(Scope.vendor()), CaptureQueriesContext(connection) as queries:
        assert capped_count(Partner.objects.all(), 100) == 101  # past the cap, though fewer
    [statement] = [query["sql"] for query in queries.captured_queries]
    assert "reltuples" in statement
    # A condition (a filter, a scope): counted, whatever the table's size.
    filtered = Partner.objects.filter(legal_name__startswith="Counted")
    assert not is_whole_table(filtered)
    assert counted(filtered, 100) == 7
    # Below the estimate's line: counted.
    monkeypatch.setattr(pagination, "ESTIMATED_PAST_CAP", 10_000)
    assert counted(Partner.objects.all(), 100) == Partner.objects.count()
