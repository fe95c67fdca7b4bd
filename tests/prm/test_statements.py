"""prm.statements: a read compiled once per shape returns exactly what the ORM returns for every
actor and value, never reuses one actor's values for another, and refuses to keep a statement whose
SQL holds anything but its declared values (an attribute of the user, a value derived from an
argument, something that changes from one build to the next)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from deals.models import Deal
from deals.policies import deal_policy
from prm.statements import Statement
from prm.tenancy import ANONYMOUS
from tests import factories
from tests.deals import factories as f
from tests.scoping import acting

pytestmark = pytest.mark.django_db


def _titles(actor: Any, *, status: str | None = None) -> Any:
    queryset = deal_policy.scope(actor)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("pk").values_list("pk", "title", "amount")


def _orm_titles(actor: Any, **kwargs: Any) -> list[tuple]:
    with acting(actor):
        return list(_titles(actor, **kwargs))


@pytest.fixture
def teams(db: Any) -> tuple[Any, Any]:
    first, second = f.team("Northwind"), f.team("Southwind")
    for n in range(3):
        f.draft(first.admin_actor, title=f"North {n}")
    f.draft(second.admin_actor, title="South 0")
    return first, second


def _run(statement: Statement, actor: Any, **arguments: Any) -> Any:
    with acting(actor):
        return statement.rows(actor, **arguments)


@pytest.mark.parametrize("verify", [True, False])
def test_rows_are_the_orms_for_each_actor_of_one_shape(teams: Any, settings: Any, verify: bool) -> None:
    settings.PRM = {**settings.PRM, "VERIFY_STATEMENTS": verify}
    first, second = teams
    statement = Statement("test.titles", _titles)
    first_rows = _run(statement, first.admin_actor)
    second_rows = _run(statement, second.admin_actor)
    assert first_rows == _orm_titles(first.admin_actor) and len(first_rows) == 3
    assert second_rows == _orm_titles(second.admin_actor) and len(second_rows) == 1
    # The same shape: one kept statement, the second partner's id filled in.
    assert statement.kept_shapes() == 1
    assert {row[0] for row in first_rows}.isdisjoint(row[0] for row in second_rows)


def test_a_kept_statement_is_built_no_more(teams: Any, settings: Any) -> None:
    settings.PRM = {**settings.PRM, "VERIFY_STATEMENTS": False}
    first, second = teams
    builds = itertools.count()

    def build(actor: Any) -> Any:
        next(builds)
        return _titles(actor)

    statement = Statement("test.counted_builds", build)
    _run(statement, first.admin_actor)
    after_first = next(builds)
    for _ in range(3):
        _run(statement, second.admin_actor)
        _run(statement, first.admin_actor)
    assert next(builds) == after_first + 1  # two probe builds the first time, none since


def test_shape_arguments_and_roles_keep_their_own_statements(teams: Any) -> None:
    first, _second = teams
    sales_actor = first.sales_actor
    statement = Statement("test.by_status", _titles)
    admin = first.admin_actor
    assert _run(statement, admin, status="draft") == _orm_titles(admin, status="draft")
    assert _run(statement, first.admin_actor, status=None) == _orm_titles(first.admin_actor)
    assert _run(statement, sales_actor) == _orm_titles(sales_actor) == []
    assert statement.kept_shapes() == 3


def test_list_values_are_slots_and_their_length_a_shape(teams: Any) -> None:
    first, second = teams
    ids = [row[0] for row in _orm_titles(first.admin_actor)]

    def some(actor: Any, keys: list[int]) -> Any:
        return deal_policy.scope(actor).filter(pk__in=keys).order_by("pk").values_list("pk", "title")

    statement = Statement("test.some", some, values=["keys"])
    assert [row[0] for row in _run(statement, first.admin_actor, keys=ids[:2])] == ids[:2]
    assert [row[0] for row in _run(statement, first.admin_actor, keys=ids[1:])] == ids[1:]
    # Another partner's keys through the same statement: its own scope, nothing of the first's.
    assert _run(statement, second.admin_actor, keys=ids[:2]) == []
    with CaptureQueriesContext(connection) as queries:
        assert _run(statement, first.admin_actor, keys=[]) == []
    assert not [q for q in queries.captured_queries if "deals_deal" in q["sql"]]


def test_count_statement(teams: Any) -> None:
    first, second = teams

    def all_deals(actor: Any, user_id: int) -> Any:
        return deal_policy.scope(actor).filter(registered_by_id=user_id).values_list("pk")

    statement = Statement("test.count", all_deals, values=["user_id"], count=True)
    with acting(first.admin_actor):
        assert statement.count(first.admin_actor, user_id=first.admin.pk) == 3
        assert statement.count(first.admin_actor, user_id=second.admin.pk) == 0
    with acting(second.admin_actor):
        assert statement.count(second.admin_actor, user_id=second.admin.pk) == 1


def test_a_builder_that_reads_the_user_is_not_kept(teams: Any, settings: Any) -> None:
    settings.PRM = {**settings.PRM, "VERIFY_STATEMENTS": False}
    first, _second = teams
    other = factories.partner_user(first.partner, email="zed@north.example")
    other_actor = factories.actor_for(other)

    def by_email(actor: Any) -> Any:
        return Deal.objects.filter(Q(registered_by__email=actor.user.email)).values_list("pk")

    statement = Statement("test.by_email", by_email)
    assert len(_run(statement, first.admin_actor)) == 3
    assert _run(statement, other_actor) == []  # not the first user's e-mail baked in


def test_values_derived_from_probes_or_changing_per_build_are_not_kept(teams: Any, settings: Any) -> None:
    settings.PRM = {**settings.PRM, "VERIFY_STATEMENTS": False}
    first, _second = teams

    def containing(actor: Any, text: str) -> Any:
        return deal_policy.scope(actor).filter(title__icontains=text).order_by("pk").values_list("title")

    statement = Statement("test.containing", containing, values=["text"])
    assert _run(statement, first.admin_actor, text="north 1") == [("North 1",)]
    assert _run(statement, first.admin_actor, text="north 2") == [("North 2",)]

    ticks = itertools.count()

    def moving(actor: Any) -> Any:
        # A value read inside the builder (the clock, say) that a kept statement would freeze.
        return deal_policy.scope(actor).filter(pk__gt=-next(ticks) - 1).values_list("pk")

    moving_statement = Statement("test.moving", moving)
    assert len(_run(moving_statement, first.admin_actor)) == 3
    assert len(_run(moving_statement, first.admin_actor)) == 3
    assert next(ticks) == 4  # two probe builds that differ, then built on each call: never kept


def test_verification_fails_when_the_kept_statement_is_not_the_orms(teams: Any, settings: Any) -> None:
    settings.PRM = {**settings.PRM, "VERIFY_STATEMENTS": True}
    first, _second = teams
    flag = {"narrow": False}

    def switching(actor: Any) -> Any:
        queryset = deal_policy.scope(actor)
        return (queryset.filter(title="North 1") if flag["narrow"] else queryset).values_list("pk")

    statement = Statement("test.switching", switching)
    _run(statement, first.admin_actor)
    flag["narrow"] = True
    with pytest.raises(AssertionError, match="differs from the ORM"):
        _run(statement, first.admin_actor)


def test_a_builder_must_end_in_values_list(teams: Any) -> None:
    first, _second = teams
    statement = Statement("test.flat", lambda actor: deal_policy.scope(actor).values_list("pk", flat=True))
    with pytest.raises(TypeError, match="values_list"):
        _run(statement, first.admin_actor)


def test_anonymous_actor_with_a_user_value(teams: Any) -> None:
    first, _second = teams

    def registered(actor: Any, user_id: int) -> Any:
        return Deal.objects.filter(registered_by_id=user_id).values_list("pk")

    statement = Statement("test.registered", registered, values=["user_id"], count=True)
    with acting(first.admin_actor):
        assert statement.count(ANONYMOUS, user_id=first.admin.pk) == 3


def test_an_empty_or_zero_value_is_a_shape_not_a_probe(teams: Any, settings: Any) -> None:
    """A builder may test a value's truth (``if status:``); a probe is never false, so an empty
    string, a zero or None is part of the shape and never filled into a statement built for a
    present value."""
    settings.PRM = {**settings.PRM, "VERIFY_STATEMENTS": False}
    first, _second = teams

    def by_status(actor: Any, status: str | None) -> Any:
        return _titles(actor, status=status)

    statement = Statement("test.status_value", by_status, values=["status"])
    assert _run(statement, first.admin_actor, status="draft") == _orm_titles(
        first.admin_actor, status="draft"
    )
    assert _run(statement, first.admin_actor, status="") == _orm_titles(first.admin_actor)
    assert len(_run(statement, first.admin_actor, status="")) == 3
    assert _run(statement, first.admin_actor, status="approved") == []
    assert statement.kept_shapes() == 2


def test_a_builder_that_reads_the_database_is_not_kept(teams: Any, settings: Any) -> None:
    """A builder that sends a statement of its own (ids of candidates first, then the rows) would
    send it with the probes, find nothing and keep a statement that matches nothing: refused, and
    each call builds it with the real values."""
    settings.PRM = {**settings.PRM, "VERIFY_STATEMENTS": False}
    first, second = teams

    def candidates_first(actor: Any, user_id: int) -> Any:
        ids = list(Deal.objects.filter(registered_by_id=user_id).values_list("pk", flat=True))
        return deal_policy.scope(actor).filter(pk__in=ids).values_list("pk")

    statement = Statement("test.candidates_first", candidates_first, values=["user_id"])
    assert len(_run(statement, first.admin_actor, user_id=first.admin.pk)) == 3
    assert not statement.is_kept(first.admin_actor, user_id=first.admin.pk)
    assert len(_run(statement, second.admin_actor, user_id=second.admin.pk)) == 1


@pytest.mark.parametrize("verify", [True, False])
def test_a_prepared_call_is_the_kept_statement_unsent(teams: Any, settings: Any, verify: bool) -> None:
    """Statement.prepare: the SQL and values rows() would send (nothing sent), and its convert
    turns what they give into rows()'s rows; for a kept shape, a shape that cannot be kept (built
    with the ORM for the call) and a count alike."""
    settings.PRM = {**settings.PRM, "VERIFY_STATEMENTS": verify}
    first, second = teams

    def containing(actor: Any, text: str) -> Any:
        return (
            deal_policy.scope(actor).filter(title__icontains=text).order_by("pk").values_list("pk", "amount")
        )

    kept = Statement("test.prepared", _titles)
    unkept = Statement("test.prepared_unkept", containing, values=["text"])
    counted = Statement("test.prepared_count", lambda actor: _titles(actor), count=True)
    for actor in (first.admin_actor, second.admin_actor):
        with acting(actor):
            for statement, arguments in ((kept, {}), (unkept, {"text": "north"}), (counted, {})):
                with CaptureQueriesContext(connection) as context:
                    prepared = statement.prepare(actor, **arguments)
                assert not [query for query in context.captured_queries if "deals_deal" in query["sql"]]
                assert prepared.sql is not None
                with connection.cursor() as cursor:
                    cursor.execute(prepared.sql, prepared.params)
                    fetched = prepared.convert(cursor.fetchall())
                assert fetched == statement.rows(actor, **arguments)
    assert kept.is_kept(first.admin_actor)
    assert not unkept.is_kept(first.admin_actor, text="north")
    assert _run(counted, first.admin_actor) == [(3,)]


@pytest.mark.parametrize("verify", [True, False])
def test_constants_are_written_into_the_sql_and_values_stay_parameters(
    teams: Any, settings: Any, verify: bool
) -> None:
    """A string and a whole number the builder writes are literals of the kept SQL (a
    quote and a percent sign in the string included), so PostgreSQL plans with them; the call's
    values stay parameters; the rows are the ORM's."""
    settings.PRM = {**settings.PRM, "VERIFY_STATEMENTS": verify}
    first, second = teams
    with acting(first.admin_actor):
        f.draft(first.admin_actor, title="O'Brien 100% North")

    def quoted(actor: Any, amount: Any) -> Any:
        return (
            deal_policy.scope(actor)
            .filter(Q(title__startswith="O'Brien 100%") | Q(title="North 1"))
            .exclude(pk=-7)
            .filter(amount__gte=amount)
            .order_by("pk")
            .values_list("pk", "title")
        )

    statement = Statement("test.inlined", quoted, values=["amount"])
    for actor, expected in ((first.admin_actor, 2), (second.admin_actor, 0)):
        with acting(actor):
            prepared = statement.prepare(actor, amount=Decimal("0"))
            with connection.cursor() as cursor:
                cursor.execute(prepared.sql, prepared.params)
                fetched = prepared.convert(cursor.fetchall())
            orm = list(quoted(actor, Decimal("0")))
            kept_rows = statement.rows(actor, amount=Decimal("0"))
        assert fetched == orm == kept_rows
        assert len(fetched) == expected
        assert "'O''Brien 100\\%%%%'" in prepared.sql  # LIKE's escape of %, then doubled
        assert "'North 1'" in prepared.sql and "-7" in prepared.sql
        # The partner's id (the actor's) and the amount: the only parameters.
        assert Decimal("0") in prepared.params
        assert not [p for p in prepared.params if isinstance(p, str | bool)]
    assert statement.is_kept(first.admin_actor, amount=Decimal("0"))


def test_a_literal_reads_as_the_parameter_did() -> None:
    from prm.statements import _inlined, _literal

    assert _literal("it's 100%") == "'it''s 100%%'"
    assert _literal(True) == "true" and _literal(False) == "false"
    assert _literal(-7) == "-7"
    assert _literal(Decimal("1.5")) is None and _literal(None) is None
    assert _literal("nul\x00") is None
    sql, params = _inlined('SELECT %s, "a%%b", %s, %s', ("x", 1, Decimal("2")), (0, 1))
    assert sql == "SELECT 'x', \"a%%b\", 1, %s" and params == (Decimal("2"),)
    with connection.cursor() as cursor:
        cursor.execute(*_inlined("SELECT %s, %s, %s, %s", ("it's 100%", True, -7, 5), (0, 1, 2)))
        assert cursor.fetchone() == ("it's 100%", True, -7, 5)
        # Every parameter written in: the percent signs are still read as doubled.
        cursor.execute(*_inlined("SELECT %s", ("100%",), (0,)))
        assert cursor.fetchone() == ("100%",)
