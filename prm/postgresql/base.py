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

from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLDatabaseWrapper
from psycopg.pq import TransactionStatus


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
