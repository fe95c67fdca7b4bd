"""An e-mail backend for the load run: each message sent becomes one JSON line in
``PRM_BENCH_MAIL_LOG`` (recipients, subject, a digest of the body, who sent it and when), so the
verifier can count every e-mail the workers sent. Selected with
``EMAIL_BACKEND=bench.load.mailbox.JsonLinesBackend`` (production settings read it from the
environment); nothing leaves the machine."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class JsonLinesBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[Any]) -> int:
        path = os.environ["PRM_BENCH_MAIL_LOG"]
        for message in email_messages:
            record = {
                "to": list(message.to),
                "subject": str(message.subject),
                "body_sha256": hashlib.sha256(message.body.encode()).hexdigest(),
                "pid": os.getpid(),
                "at": time.time(),
            }
            # One write() on an O_APPEND descriptor per message: concurrent senders never interleave.
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(descriptor, (json.dumps(record) + "\n").encode())
            finally:
                os.close(descriptor)
        return len(email_messages)
