"""Business-day arithmetic for SLAs: Monday to Friday in the portal's time zone, minus the
vendor's holidays (``prm.models.Holiday``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def holidays_between(first: date, last: date) -> set[date]:
    from .models import Holiday

    return set(Holiday.objects.filter(date__range=(first, last)).values_list("date", flat=True))


def is_business_day(day: date, holidays: set[date]) -> bool:
    return day.weekday() < 5 and day not in holidays


def add_business_days(start: datetime, days: int) -> datetime:
    """``start`` moved forward by ``days`` working days, keeping the time of day."""
    current = _local(start)
    remaining = days
    # One query for a window that holds the answer unless holidays pile up; then the next one.
    window_end = current.date()
    holidays: set[date] = set()
    while remaining > 0:
        current += timedelta(days=1)
        if current.date() > window_end:
            window_start, window_end = current.date(), current.date() + timedelta(days=2 * days + 31)
            holidays = holidays_between(window_start, window_end)
        if is_business_day(current.date(), holidays):
            remaining -= 1
    return current


def business_days_ahead(today: date, day: date) -> int:
    """How many business days ahead of ``day`` ``today`` is: the business days from ``today``
    (counted) up to ``day`` (not counted), negative when ``day`` is earlier. ``day`` minus N
    business days is ``today`` (or an earlier non-business day) exactly when this is at least N.
    Dates, not times: a request made at 00:00 and one made at 23:59 of the same day are the same
    number of days ahead."""
    if day < today:
        return -business_days_ahead(day, today)
    holidays = holidays_between(today, day)
    return sum(
        is_business_day(today + timedelta(days=offset), holidays) for offset in range((day - today).days)
    )


def business_days_between(start: datetime, end: datetime) -> int:
    """Whole working days from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    if end < start:
        return -business_days_between(end, start)
    start, end = _local(start), _local(end)
    holidays = holidays_between(start.date(), end.date())
    days = 0
    current = start
    while current + timedelta(days=1) <= end:
        current += timedelta(days=1)
        if is_business_day(current.date(), holidays):
            days += 1
    return days
