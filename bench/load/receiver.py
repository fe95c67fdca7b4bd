"""The partners' webhook receiver for the load run: a small threaded HTTP server on 127.0.0.1 that
answers 200 to every POST and writes one JSON line per request to the log (path, the X-PRM-*
headers, the body), so the verifier can count each event id and check its signature.

Run as ``python -m bench.load.receiver --port 18906 --log receiver.jsonl`` (``run.py`` does); like
``tests/webhook_receiver.py``, but a process of its own that outlives no run.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HEADERS = ("X-PRM-Event", "X-PRM-Delivery", "X-PRM-Timestamp", "X-PRM-Signature")


def serve(port: int, log_path: str) -> None:
    lock = threading.Lock()
    log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 (open for the server's lifetime)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            record = {
                "at": time.time(),
                "path": self.path,
                "headers": {name: self.headers.get(name) for name in HEADERS},
                "body": body.decode("utf-8", "replace"),
            }
            with lock:
                log.write(json.dumps(record) + "\n")
                log.flush()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # a readiness probe for run.py
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    finally:
        server.server_close()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    serve(args.port, args.log)


if __name__ == "__main__":
    main()
