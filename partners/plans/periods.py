"""The periods a joint business plan covers: fiscal half-years. The fiscal year starts in the month
``PRM["FISCAL_YEAR_START_MONTH"]`` (January unless set) and is named after the calendar year it
ends in, so with a July start "FY2027 H1" runs from July 2026 to December 2026."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings


@dataclass(frozen=True)
class Period:
    key: str  # "2027H1"
    label: str  # "FY2027 H1"
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _start_month() -> int:
    return int(settings.PRM.get("FISCAL_YEAR_START_MONTH", 1))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_of(day: date) -> Period:
    """The fiscal half-year ``day`` falls in."""
    first = _start_month()
    year_start = date(day.year if day.month >= first else day.year - 1, first, 1)
    half = 1 if day < _add_months(year_start, 6) else 2
    start = _add_months(year_start, 6 * (half - 1))
    fiscal_year = _add_months(year_start, 11).year
    end = _add_months(start, 6) - timedelta(days=1)
    return Period(f"{fiscal_year}H{half}", f"FY{fiscal_year} H{half}", start, end)


def period_choices(today: date) -> list[Period]:
    """What a new plan may cover: the current half-year, the one before (a plan drafted late) and the
    next two."""
    current = period_of(today)
    before = period_of(current.start - timedelta(days=1))
    after = period_of(current.end + timedelta(days=1))
    return [before, current, after, period_of(after.end + timedelta(days=1))]


def period_by_key(key: str, today: date) -> Period | None:
    return next((p for p in period_choices(today) if p.key == key), None)
