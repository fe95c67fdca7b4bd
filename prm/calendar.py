"""Business-day arithmetic for SLAs (Monday to Friday; public holidays are not modelled yet)."""

from __future__ import annotations

from datetime import datetime, timedelta


def add_business_days(start: datetime, days: int) -> datetime:
    """``start`` moved forward by ``days`` working days, keeping the time of day."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def business_days_between(start: datetime, end: datetime) -> int:
    """Whole working days from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    if end < start:
        return -business_days_between(end, start)
    days = 0
    current = start
    while current + timedelta(days=1) <= end:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days += 1
    return days
