"""prm.postgresql with prepared statements (server-side binding, psycopg's prepare_threshold):
PostgreSQL keeps a prepared statement's plan and does not make it again when planner settings
change, so a statement run under prm.pagination's planner settings must be a prepared statement of
its own, never the one run without them (and the other way round)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections

from prm import pagination
from prm.lookups import IDS_KEPT_FROM, Ids
from prm.pagination import Planner, planner
from prm.postgresql.base import DatabaseWrapper
from prm.tenancy import Scope
from tests import factories
from tests.helpers import raw
from tests.prm.test_rls import _deal

pytestmark = pytest.mark.django_db

# No parameter: PostgreSQL plans such a prepared statement once (its generic plan) and keeps it.
# With sorting allowed the planner reads the table and sorts it (the index is in random order);
# with sorting made the last resort it walks the index instead.
ORDERED = "SELECT n FROM planner_probe ORDER BY v"


@pytest.fixture
def prepared(monkeypatch: Any) -> Iterator[DatabaseWrapper]:
    """A connection of its own that prepares every statement at once, in a transaction, with
    prm.pagination's planner settings sent on it."""
    settings = copy.deepcopy(connections.settings["default"])
    settings["OPTIONS"].update(server_side_binding=True, prepare_threshold=0)
    wrapper = DatabaseWrapper(settings, "default")
    wrapper.ensure_connection()
    try:
        yield from _probing(wrapper, monkeypatch)
    finally:
        wrapper.close()


def _probing(wrapper: DatabaseWrapper, monkeypatch: Any) -> Iterator[DatabaseWrapper]:
    wrapper.set_autocommit(False)
    monkeypatch.setattr(pagination, "connection", wrapper)
    # Planner sets its settings only inside a transaction (Django's atomic block, on the test's
    # own connection): this one's transaction is the server's, opened by the first statement.
    monkeypatch.setattr(wrapper, "in_atomic_block", True, raising=False)
    with wrapper.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE planner_probe (n int PRIMARY KEY, v int NOT NULL, filler text NOT NULL)"
        )
        # Wide rows, the index in random order: walking it costs more than reading and sorting.
        cursor.execute(
            "INSERT INTO planner_probe SELECT n, mod(n * 7919, 10007), repeat('x', 200)"
            " FROM generate_series(1, 5000) n"
        )
        cursor.execute("CREATE INDEX ON planner_probe (v)")
        cursor.execute("ANALYZE planner_probe")
    yield wrapper
    wrapper.in_atomic_block = False
    wrapper.rollback()


def _plans(wrapper: DatabaseWrapper) -> dict[str, str]:
    """Each prepared statement that reads the probe table, by its text: the plan PostgreSQL kept."""
    with wrapper.cursor() as cursor:
        cursor.execute(
            "SELECT name, statement FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%FROM planner_probe ORDER BY v"],
        )
        found = cursor.fetchall()
        plans = {}
        for name, statement in found:
            cursor.execute(f'EXPLAIN EXECUTE "{name}"')
            plans[statement] = "\n".join(line for (line,) in cursor.fetchall())
    return plans


def _read(wrapper: DatabaseWrapper) -> list[int]:
    with wrapper.cursor() as cursor:
        cursor.execute(ORDERED)
        return [n for (n,) in cursor.fetchall()]


@pytest.mark.parametrize("under_settings", ["planner", "Planner"])
def test_a_statement_prepared_under_planner_settings_is_not_run_without_them(
    prepared: DatabaseWrapper, under_settings: str
) -> None:
    settings_held = planner(enable_sort="off") if under_settings == "planner" else Planner(enable_sort="off")
    with settings_held:
        walked = _read(prepared)
    read_and_sorted = _read(prepared)
    assert walked == read_and_sorted

    plans = _plans(prepared)
    # Without them: planned without them (sorted), not the index walk made under them.
    assert "Sort" in plans[ORDERED]
    assert set(plans) == {ORDERED, f"/* planner: enable_sort=off */ {ORDERED}"}
    assert "Sort" not in plans[f"/* planner: enable_sort=off */ {ORDERED}"]
    assert "Index Scan" in plans[f"/* planner: enable_sort=off */ {ORDERED}"]


def test_a_statement_prepared_without_planner_settings_is_not_run_under_them(
    prepared: DatabaseWrapper,
) -> None:
    _read(prepared)
    with Planner(enable_sort="off", max_parallel_workers_per_gather="0"), planner(enable_sort="on"):
        _read(prepared)  # the later setting wins: both held, named together
    with Planner(enable_sort="off"):
        _read(prepared)

    plans = _plans(prepared)
    assert set(plans) == {
        ORDERED,
        f"/* planner: enable_sort=on max_parallel_workers_per_gather=0 */ {ORDERED}",
        f"/* planner: enable_sort=off */ {ORDERED}",
    }
    assert "Sort" in plans[ORDERED]
    assert "Sort" not in plans[f"/* planner: enable_sort=off */ {ORDERED}"]


def test_settings_left_held_are_forgotten_at_the_transaction_end(prepared: DatabaseWrapper) -> None:
    """A Planner never set back (a bug) must not tag the next request's statements on a kept
    connection: the transaction's end undid its settings."""
    settings_held = Planner(enable_sort="off")
    settings_held.__enter__()
    assert prepared.planner_settings_tag == "/* planner: enable_sort=off */ "
    prepared.in_atomic_block = False  # the test's stand-in for Django's atomic block ends
    prepared.commit()
    assert prepared.planner_settings_tag == ""
    settings_held.__exit__(None, None, None)  # sets back nothing any more; forgets nothing held
    assert prepared.planner_settings_tag == ""


def test_without_server_side_binding_the_sql_is_as_written(monkeypatch: Any) -> None:
    """Client-side binding prepares nothing: the statements keep their text."""
    settings = copy.deepcopy(connections.settings["default"])
    settings["OPTIONS"].pop("server_side_binding", None)
    settings["OPTIONS"].pop("prepare_threshold", None)
    wrapper = DatabaseWrapper(settings, "default")
    wrapper.hold_planner_settings({"enable_sort": "off"})
    assert wrapper.planner_settings_tag == ""


def test_a_kept_plan_reads_each_scopes_rows(monkeypatch: Any) -> None:
    """Row-level security under prepared statements: the scope is read when the statement runs
    (current_setting), never when it is planned, so one kept (generic) plan run in one partner's
    scope, then another's, then a portfolio's and the whole program's gives each its own rows."""
    # The suite runs as production does: prepared statements on (DATABASE_PREPARED_STATEMENTS).
    assert connection.features.uses_server_side_binding, "run the suite with prepared statements on"
    first, second = factories.PartnerFactory(), factories.PartnerFactory()
    deals = {partner.pk: _deal(partner).pk for partner in (first, second)}
    raw("SET LOCAL plan_cache_mode = force_generic_plan")
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", 1)  # prepared when run again
    read = "SELECT id FROM deals_deal WHERE amount > %s AND id = ANY(%s) ORDER BY id"

    def seen(scope: Scope) -> list[int]:
        runs = [raw(read, [Decimal("1.00"), sorted(deals.values())], scope=scope) for _ in range(3)]
        assert runs[0] == runs[1] == runs[2]
        return [pk for (pk,) in runs[0]]

    assert seen(Scope.partner(first.pk)) == [deals[first.pk]]
    assert seen(Scope.partner(second.pk)) == [deals[second.pk]]
    assert seen(Scope.vendor(portfolio=[second.pk])) == [deals[second.pk]]
    assert seen(Scope.vendor()) == sorted(deals.values())
    assert seen(Scope.vendor(portfolio=[first.pk])) == [deals[first.pk]]
    [(generic_plans,)] = raw(
        "SELECT generic_plans FROM pg_prepared_statements WHERE statement = %s",
        [read.replace("%s", "$1", 1).replace("%s", "$2")],
    )
    assert generic_plans >= 10  # the same plan ran in every scope


def test_a_statement_that_sends_a_portfolio_is_never_prepared(prepared: DatabaseWrapper) -> None:
    """A kept plan cannot know how many ids ``= ANY($1)`` gets: a portfolio's statements are planned
    for their ids every time; a page's keys are prepared as any statement is."""
    read = "SELECT n FROM planner_probe WHERE n = ANY(%s::bigint[])"
    portfolio, page = Ids(range(1, IDS_KEPT_FROM + 1)), Ids(range(1, 26))
    with prepared.cursor() as cursor:
        for ids in (portfolio, portfolio, page, page):
            cursor.execute(read, [ids])
            assert len(cursor.fetchall()) == len(ids)
        cursor.execute(
            "SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%= ANY($1::bigint[])"],
        )
        # One statement to PostgreSQL, run twice: the page's (the portfolio's were not prepared).
        assert cursor.fetchall() == [(2,)]
