"""The demo's outbox (``bin/portal`` only, prm.settings.local): every e-mail the portal sends is
kept as a file under ``var/outbox/`` and announced in the terminal by one line (to, subject),
instead of the console backend's full HTML; vendor staff read the messages at /demo/outbox/
(prm.demo_urls). Production settings use neither the backend nor the page."""

from __future__ import annotations

import re
import sys
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage as ParsedMessage
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

# What a kept message's file is called: sortable by time, unguessable beyond it, and the only
# names the page opens (a name from the query string never reaches the file system otherwise).
NAME = re.compile(r"^\d{8}T\d{12}-[0-9a-f]{12}\.eml$")
# The page lists the newest messages only: the seeding alone sends dozens.
LIST_LIMIT = 200


def outbox_dir() -> Path:
    return Path(settings.PRM_DEMO_OUTBOX_DIR)


class OutboxBackend(BaseEmailBackend):
    """Writes each message as an .eml file into the outbox and prints one line about it."""

    def send_messages(self, email_messages: Any) -> int:
        folder = outbox_dir()
        folder.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            name = f"{timezone.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}.eml"
            (folder / name).write_bytes(message.message().as_bytes(linesep="\n"))
            to = ", ".join(message.to or message.recipients())
            print(f"[mail] to {to}: {message.subject}", file=sys.stdout, flush=True)
            sent += 1
        return sent


@dataclass(frozen=True)
class KeptMessage:
    name: str
    to: str
    sender: str
    subject: str
    date: str
    text: str = ""
    html: str = ""


def _parse(path: Path, *, with_body: bool) -> KeptMessage:
    parsed: ParsedMessage = message_from_bytes(path.read_bytes(), policy=policy.default)  # type: ignore[assignment]
    text = html = ""
    if with_body:
        text_part = parsed.get_body(preferencelist=("plain",))
        html_part = parsed.get_body(preferencelist=("html",))
        text = text_part.get_content() if text_part is not None else ""
        html = html_part.get_content() if html_part is not None else ""
    return KeptMessage(
        name=path.name,
        to=str(parsed.get("To", "")),
        sender=str(parsed.get("From", "")),
        subject=str(parsed.get("Subject", "")),
        date=str(parsed.get("Date", "")),
        text=text,
        html=html,
    )


def kept_messages() -> list[KeptMessage]:
    """The newest kept messages, newest first (headers only)."""
    folder = outbox_dir()
    if not folder.is_dir():
        return []
    names = sorted((p.name for p in folder.iterdir() if NAME.match(p.name)), reverse=True)[:LIST_LIMIT]
    return [_parse(folder / name, with_body=False) for name in names]


def kept_message(name: str) -> KeptMessage | None:
    """One kept message with its bodies, or None for a name that is not a kept message's."""
    if not NAME.match(name or ""):
        return None
    path = outbox_dir() / name
    return _parse(path, with_body=True) if path.is_file() else None
