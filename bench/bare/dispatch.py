"""Sends the bare page's one path to the bare handler and every other request to the portal, and
measures a request server-side when the benchmark asks for it.

Kept free of Django imports at module level so the routing can be checked on its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

BARE_PATH = "/bench-bare/"
# A request carrying this header gets X-Bench-Queries, X-Bench-Sql-Ms and X-Bench-Time-Ms on its
# response. Only the benchmark's sequential pass sends it; under wrk the dispatcher costs one
# dictionary look-up per request.
MEASURE_HEADER = "X-Bench-Measure"
_MEASURE_ENVIRON_KEY = "HTTP_" + MEASURE_HEADER.upper().replace("-", "_")

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]


class QueryCounter:
    """A ``connection.execute_wrapper``: counts the statements of one request and their time."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: dict) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.seconds += time.perf_counter() - started


class Dispatcher:
    def __init__(self, *, bare: WSGIApp, portal: WSGIApp) -> None:
        self.bare = bare
        self.portal = portal

    def route(self, path: str) -> WSGIApp:
        # Exactly one path, compared whole: no prefix of it can shadow a portal URL.
        return self.bare if path == BARE_PATH else self.portal

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        app = self.route(environ.get("PATH_INFO", ""))
        if _MEASURE_ENVIRON_KEY not in environ:
            return app(environ, start_response)
        return self._measured(app, environ, start_response)

    @staticmethod
    def _measured(app: WSGIApp, environ: dict, start_response: Callable) -> Iterable[bytes]:
        from django.db import connection

        counter = QueryCounter()
        started = time.perf_counter()

        def measured_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            # Django calls start_response once the response is complete (its body rendered), so
            # this is the server time of the whole request: handler, middleware, view, template.
            elapsed_ms = (time.perf_counter() - started) * 1000
            headers = [
                *headers,
                ("X-Bench-Queries", str(counter.count)),
                ("X-Bench-Sql-Ms", f"{counter.seconds * 1000:.2f}"),
                ("X-Bench-Time-Ms", f"{elapsed_ms:.2f}"),
            ]
            return start_response(status, headers, exc_info)

        with connection.execute_wrapper(counter):
            return app(environ, measured_start_response)
