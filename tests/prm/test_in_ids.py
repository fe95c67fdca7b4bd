"""prm.lookups.InIds (``__in_ids``): a list of ids as one array parameter, the same rows as
``__in``; and prm.statements keeping a statement whose portfolio is such a list."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from psycopg import ClientCursor

from deals.models import Deal, DealLine, Lead
from deals.policies import deal_policy
from partners.models import Partner
from prm.lookups import IDS_KEPT_FROM, Ids
from prm.roles import VendorRole
from prm.statements import Statement
from tests import factories
from tests.deals import factories as f
from tests.scoping import acting

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    teams = [f.team(name) for name in ("Northwind", "Southwind", "Eastwind")]
    deals = [f.submitted(team.admin_actor, title=f"{team.partner.legal_name} deal") for team in teams]
    admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    return {"teams": teams, "partners": [team.partner for team in teams], "deals": deals, "admin": admin}


def _ids(queryset: Any) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def test_same_rows_as_in_along_each_kind_of_path(world: dict[str, Any]) -> None:
    first, second, _third = world["partners"]
    wanted = [first.pk, second.pk, first.pk]  # a repeated id is harmless
    with acting(world["admin"]):
        for queryset, path in (
            (Partner.objects.all(), "pk"),
            (Deal.objects.all(), "partner"),
            (Deal.objects.all(), "partner_id"),
            (DealLine.objects.all(), "deal__partner"),
        ):
            by_array = queryset.filter(**{f"{path}__in_ids": wanted})
            assert _ids(by_array) == _ids(queryset.filter(**{f"{path}__in": wanted})), path
            assert _ids(by_array)
            # Negated, also across a nullable foreign key: NOT IN's rows.
            assert _ids(queryset.exclude(**{f"{path}__in_ids": wanted})) == _ids(
                queryset.exclude(**{f"{path}__in": wanted})
            ), path
        leads = Lead.objects.all()
        assert _ids(leads.exclude(assigned_partner__in_ids=wanted)) == _ids(
            leads.exclude(assigned_partner__in=wanted)
        )


def test_one_array_parameter_and_an_empty_list_matches_nothing(world: dict[str, Any]) -> None:
    partners = world["partners"]
    with acting(world["admin"]):
        sql, params = Deal.objects.filter(partner__in_ids=[p.pk for p in partners]).query.sql_with_params()
        assert "= ANY(%s::bigint[])" in sql
        assert [p.pk for p in partners] in list(params)
        with CaptureQueriesContext(connection) as queries:
            assert list(Deal.objects.filter(partner__in_ids=[])) == []
        assert len(queries) == 1  # valid SQL (where __in=[] sends nothing)


def test_a_portfolio_is_one_parameter_of_the_scope(world: dict[str, Any]) -> None:
    first, second, _third = world["partners"]
    cam = f.cam_for(first, second)
    with acting(cam):
        scope = deal_policy.scope(cam)
        sql, _params = scope.query.sql_with_params()
        assert "= ANY(%s::bigint[])" in sql and " IN (" not in sql
        assert _ids(scope) == {world["deals"][0].pk, world["deals"][1].pk}


def _titles(actor: Any) -> Any:
    return deal_policy.scope(actor).filter(~Q(title="")).order_by("pk").values_list("pk", "title")


def test_a_statement_keeps_the_portfolio_as_a_list_slot(world: dict[str, Any], settings: Any) -> None:
    """Two channel account managers with portfolios of one length share one kept statement; each
    gets its own portfolio's rows (checked against the ORM by VERIFY_STATEMENTS as well)."""
    settings.PRM = {**settings.PRM, "VERIFY_STATEMENTS": True}
    first, second, third = world["partners"]
    north, south, east = world["deals"]
    one = f.cam_for(first, second)
    other = f.cam_for(third, second)
    statement = Statement("test.portfolio_titles", _titles)
    with acting(one):
        assert {row[0] for row in statement.rows(one)} == {north.pk, south.pk}
        assert statement.is_kept(one)
    with acting(other):
        assert {row[0] for row in statement.rows(other)} == {east.pk, south.pk}
    assert statement.kept_shapes() == 1


def test_the_ids_are_written_as_one_bigint_array(world: dict[str, Any]) -> None:
    """prm.lookups.Ids: the lookup's parameter, written by IdsDumper (kept from IDS_KEPT_FROM ids
    on): the same rows as __in, for a short list and for a long one written twice (kept)."""
    partners = world["partners"]
    wanted = [partners[0].pk, partners[2].pk]
    padding = list(range(10**9, 10**9 + IDS_KEPT_FROM))  # ids no partner has: a long list
    with acting(world["admin"]):
        _sql, params = Deal.objects.filter(partner__in_ids=wanted).query.sql_with_params()
        assert [type(param) for param in params] == [Ids]
        # Written as a client-side bound parameter with its type (psycopg's ClientCursor: what
        # Django's cursors are unless DATABASE_PREPARED_STATEMENTS binds on the server) ...
        assert ClientCursor(connection.connection).mogrify("SELECT %s", [Ids(wanted)]) == (
            f"SELECT '{{{wanted[0]},{wanted[1]}}}'::int8[]"
        )
        # ... and as the cursor binds it (on the server, the type as the parameter's oid).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_typeof(%s)::text, %s", [Ids(wanted), Ids(wanted)])
            assert cursor.fetchone() == ("bigint[]", wanted)
        expected = {world["deals"][0].pk, world["deals"][2].pk}
        assert _ids(Deal.objects.filter(partner__in_ids=wanted)) == expected
        for _ in range(2):
            assert _ids(Deal.objects.filter(partner__in_ids=[*padding, *wanted])) == expected
        assert _ids(Deal.objects.filter(partner__in_ids=padding)) == set()
