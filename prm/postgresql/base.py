"""Django's PostgreSQL backend, with a health check that costs no round trip when nothing is wrong.

With persistent connections (``CONN_MAX_AGE``) and ``CONN_HEALTH_CHECKS``, Django checks a reused
connection before the first query of every request by sending ``SELECT 1``: one round trip to
PostgreSQL per request (of the seven a signed-in request made before any view work, issue 11). An
idle connection has nothing to say: anything the server sends between our queries means it is
going away (a restart, ``pg_terminate_backend``, an idle timeout: an error message then the end
of the stream) or, rarely, a notice. So the check first asks the socket, without waiting, whether
anything arrived: nothing, and the connection is as good as Django's ``SELECT 1`` would have found
it; something, and Django's own check decides (it fails on a closed connection, which Django then
replaces before the request's first query, as before).

With prepared statements (``DATABASE_PREPARED_STATEMENTS``: server-side binding and psycopg's
``prepare_threshold``), a statement run often enough on a connection is prepared, and PostgreSQL may
keep one (generic) plan for it. A kept plan is not made again when planner settings change
(``enable_sort``, ``max_parallel_workers_per_gather``: prm.pagination's ``Planner`` and ``planner``),
so a statement prepared under the vendor lists' settings would be run with their plan outside
them, and the other way round. While such settings are held (:meth:`DatabaseWrapper.hold_planner_settings`),
each statement's text starts with a comment naming them: each combination of settings is a
statement of its own to psycopg and PostgreSQL, planned under those settings only.

Timestamps (``timestamptz``) are read by psycopg's C loader: Django registers a loader of its own,
written in Python, that parses each value with a regular expression and then sets its time zone
(6-7 µs a value, against 0.4 µs; a changelist's 50 rows read some 90 timestamps a request).
With ``USE_TZ`` and the database in UTC, which is how Django sets up every connection, psycopg's
loader gives the same values with the same ``datetime.timezone.utc`` (:class:`UtcTimestampLoader`).

Everything else is Django's backend: ``ENGINE = "prm.postgresql"`` (prm/settings/base.py).
"""

from __future__ import annotations

import datetime
import re
import select
from functools import lru_cache
from typing import Any

from django.db.backends.postgresql.base import CursorDebugWrapper
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from django.db.backends.postgresql.psycopg_any import BaseTzLoader
from django.db.backends.utils import CursorWrapper
from psycopg import adapt, adapters
from psycopg.abc import AdaptContext, Buffer
from psycopg.adapt import Loader
from psycopg.pq import Format, TransactionStatus

from prm.lookups import IDS_KEPT_FROM, Ids

# What a setting's name or value may hold to be written into a comment of the SQL: nothing that
# could end the comment or be read as a placeholder (%).
_COMMENT_SAFE = re.compile(r"^[A-Za-z0-9_.]+$")


def _sends_a_portfolio(params: Any) -> bool:
    """Whether a statement sends a list of ids as long as a channel account manager's portfolio.
    PostgreSQL's kept (generic) plan for ``partner_id = ANY($1::bigint[])`` cannot know how many
    ids it gets: for the count and page keys of a manager's 500 partners it made a plan 4-5 times
    slower than the one made for the ids at hand (the deal review queue's statement 3.0 -> 11.3 ms,
    the fund request changelist's 2.8 -> 14.2 ms, at full size), more than all the planning it
    saves. Those statements are planned for their ids every time, as without prepared statements."""
    return isinstance(params, list | tuple) and any(
        isinstance(param, Ids) and len(param) >= IDS_KEPT_FROM for param in params
    )


def _c_timestamptz_loader() -> type[Loader]:
    """psycopg's own loader of ``timestamptz`` text: its C one with psycopg's binary package, which
    the project installs (pyproject.toml: psycopg[binary]); its Python one otherwise."""
    return adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)  # type: ignore[return-value]


class UtcTimestampLoader(Loader):
    """Django's loader for ``USE_TZ`` with the database in UTC (``timezone`` is what Django's
    ``create_cursor`` compares), loading through psycopg's own: on a connection whose time zone
    is UTC it gives ``datetime.timezone.utc`` itself, as Django's does. On a connection in any
    other time zone (never one Django opened) it is Django's loader, value for value."""

    timezone = datetime.UTC

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        connection = self.connection
        if connection is not None and connection.info.timezone is datetime.UTC:
            # The instance's own attribute: psycopg calls the C loader's method directly.
            self.load = _c_timestamptz_loader()(oid, context).load  # type: ignore[method-assign]
        else:
            self.load = _DjangosUtcLoader(oid, context).load  # type: ignore[method-assign]

    def load(self, data: Buffer) -> datetime.datetime:  # replaced per instance in __init__
        raise NotImplementedError


class _DjangosUtcLoader(BaseTzLoader):
    timezone = datetime.UTC


@lru_cache(maxsize=4)
def _adapters_with_c_timestamps(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    """Django's adapters for its connections (``template``, one per time zone), with
    :class:`UtcTimestampLoader` for ``timestamptz``; one map for every connection, as Django's."""
    context = adapt.AdaptersMap(template)
    context.register_loader("timestamptz", UtcTimestampLoader)
    return context


class _PreparedStatementsMixin:
    """With server-side binding: starts the SQL with the planner settings held, if any (see the
    module's docstring), and keeps a statement that sends a portfolio from being prepared. Below
    Django's execute wrappers and its query log: those see the statement as it was written."""

    db: DatabaseWrapper
    cursor: Any

    def _execute(self, sql: str, params: Any, *ignored_wrapper_args: Any) -> Any:
        if not self.db.features.uses_server_side_binding:
            return super()._execute(sql, params, *ignored_wrapper_args)  # type: ignore[misc]
        sql = self.db.planner_settings_tag + sql
        if params is None or not _sends_a_portfolio(params):
            return super()._execute(sql, params, *ignored_wrapper_args)  # type: ignore[misc]
        # Django's CursorWrapper._execute, with psycopg's prepare=False.
        self.db.validate_no_broken_transaction()
        with self.db.wrap_database_errors:
            return self.cursor.execute(sql, params, prepare=False)

    def _executemany(self, sql: str, param_list: Any, *ignored_wrapper_args: Any) -> Any:
        # psycopg prepares what it runs many times: planned under the settings held, named by them.
        sql = self.db.planner_settings_tag + sql
        return super()._executemany(sql, param_list, *ignored_wrapper_args)  # type: ignore[misc]


class PreparedStatementsCursorWrapper(_PreparedStatementsMixin, CursorWrapper):
    pass


class PreparedStatementsCursorDebugWrapper(_PreparedStatementsMixin, CursorDebugWrapper):
    pass


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The planner settings held, in the order they were set (a later one wins), by token.
        self._planner_settings_held: dict[object, dict[str, str]] = {}
        self.planner_settings_tag = ""

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if self.timezone is datetime.UTC and "context" in params:
            params["context"] = _adapters_with_c_timestamps(params["context"])
        return params

    def hold_planner_settings(self, settings: dict[str, str]) -> object:
        """Say that ``settings`` are in effect on this connection from now on, until
        :meth:`release_planner_settings` with the token returned (or the transaction's end, which
        undoes them: they are set for the transaction only)."""
        token = object()
        self._planner_settings_held[token] = dict(settings)
        self._retag()
        return token

    def release_planner_settings(self, token: object) -> None:
        if self._planner_settings_held.pop(token, None) is not None:
            self._retag()

    def _retag(self) -> None:
        if not (self._planner_settings_held and self.features.uses_server_side_binding):
            # Client-side binding prepares nothing: the SQL stays as written.
            self.planner_settings_tag = ""
            return
        effective: dict[str, str] = {}
        for settings in self._planner_settings_held.values():
            effective.update(settings)
        words = []
        for name, value in sorted(effective.items()):
            if not (_COMMENT_SAFE.match(name) and _COMMENT_SAFE.match(str(value))):
                raise ValueError(f"planner setting not safe to name in SQL: {name!r} = {value!r}")
            words.append(f"{name}={value}")
        self.planner_settings_tag = f"/* planner: {' '.join(words)} */ "

    def _forget_planner_settings(self) -> None:
        # The transaction's end undid them (set_config(..., true), SET LOCAL): a Planner left
        # held by mistake must not tag the statements of the next request on this connection.
        if self._planner_settings_held:
            self._planner_settings_held.clear()
            self._retag()

    def _commit(self) -> None:
        self._forget_planner_settings()
        super()._commit()

    def _rollback(self) -> None:
        self._forget_planner_settings()
        super()._rollback()

    def _close(self) -> None:
        self._forget_planner_settings()
        super()._close()

    def make_cursor(self, cursor: Any) -> CursorWrapper:
        return PreparedStatementsCursorWrapper(cursor, self)

    def make_debug_cursor(self, cursor: Any) -> CursorDebugWrapper:
        return PreparedStatementsCursorDebugWrapper(cursor, self)

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return super().is_usable()  # in a transaction or unknown: ask the server
        try:
            # poll(), not select(): no limit on the descriptor's number.
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
            arrived = poller.poll(0)
        except (OSError, ValueError):
            return super().is_usable()
        if arrived:
            return super().is_usable()
        return True
