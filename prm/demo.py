"""Demo holidays for the vendor's calendar (business-day SLAs skip them); idempotent."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from .models import Holiday

# Fixed-date holidays most vendors observe; a real vendor edits the list in the admin.
FIXED = [
    (1, 1, "New Year's Day"),
    (12, 24, "Christmas Eve"),
    (12, 25, "Christmas Day"),
    (12, 26, "Boxing Day"),
]


def seed(*, stdout: Any) -> None:
    year = timezone.localdate().year
    created = 0
    for each_year in (year, year + 1):
        for month, day, name in FIXED:
            _, new = Holiday.objects.get_or_create(date=date(each_year, month, day), defaults={"name": name})
            created += new
    stdout.write(f"Holidays demo: {Holiday.objects.count()} holidays ({created} new).\n")
