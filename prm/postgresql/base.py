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

Everything else is Django's backend: ``ENGINE = "prm.postgresql"`` (prm/settings/base.py).
"""

from __future__ import annotations

import select
from functools import lru_cache

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from psycopg import _queries
from psycopg.pq import TransactionStatus

# psycopg splits a statement at its placeholders on every call, and keeps the split (an LRU of 128)
# only for statements of at most 50 parameters and 4 KB: it leaves out the many INSERTs of varying
# length an ORM writes. A channel account manager's statements carry the portfolio, some 500 ids
# and twice in some, so each was split again on every request: 3 ms of CPU per 1,000 placeholders,
# 7 of the 17 ms of the fund request changelist at full size. The same statements come back (the
# kept statements of prm.statements send one SQL per shape), so a second, smaller LRU keeps the
# split of those longer statements up to 32 KB (at most some 13 MB for 32 of the largest).
LONG_STATEMENTS_KEPT = 32
LONG_STATEMENT_BYTES = 32_768
# The function ClientCursor's query conversion calls for a statement past psycopg's own cache, by
# its module's name at each call (psycopg/_queries.py, PostgresClientQuery.convert; psycopg 3.2
# and 3.3). A psycopg without it is left as it is.
_split_anew = getattr(_queries, "_query2pg_client_nocache", None)
_split_kept = lru_cache(maxsize=LONG_STATEMENTS_KEPT)(_split_anew) if _split_anew is not None else None


def _split_long_statement(query: bytes, encoding: str) -> tuple:
    if len(query) <= LONG_STATEMENT_BYTES:
        return _split_kept(query, encoding)
    return _split_anew(query, encoding)


if _split_anew is not None:
    _queries._query2pg_client_nocache = _split_long_statement


class DatabaseWrapper(PostgreSQLDatabaseWrapper):
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
