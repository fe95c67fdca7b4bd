"""A real HTTP receiver on 127.0.0.1 for webhook tests: records what arrives (any method), answers
with the status the test chooses; a 3xx answer points to ``location`` (by default /moved on the
same receiver, so a client that follows it is seen doing so)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    url: str
    statuses: list[int] = field(default_factory=list)  # answers to give, in order; then 200
    received: list[dict[str, Any]] = field(default_factory=list)
    location: str = ""  # where a 3xx answer points


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            # The message object: header names are case-insensitive (urllib sends "X-prm-event").
            state.received.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": self.headers,
                    "body": body,
                    "json": json.loads(body) if body else None,
                }
            )
            status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", state.location or f"{state.url.rsplit('/', 2)[0]}/moved")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_PUT = do_POST

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/prm"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
