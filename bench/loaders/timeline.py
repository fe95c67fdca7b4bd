"""Timestamps of generated rows, counted back from one "now" fixed for the whole load, so the
rows of different tables agree with each other."""

from __future__ import annotations

from datetime import UTC, datetime

DAY = 86400.0


class Timeline:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.now_ts = self.now.timestamp()

    def ts(self, seconds_ago: float) -> datetime:
        return datetime.fromtimestamp(self.now_ts - seconds_ago, tz=UTC)
