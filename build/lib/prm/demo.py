"""Demo holidays for the vendor's calendar (business-day SLAs skip them); idempotent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from .models import ExchangeRate, Holiday

# Fixed-date holidays most vendors observe; a real vendor edits the list in the admin.
FIXED = [
    (1, 1, "New Year's Day"),
    (12, 24, "Christmas Eve"),
    (12, 25, "Christmas Day"),
    (12, 26, "Boxing Day"),
]


# Value of one unit in US dollars (the default reporting currency), roughly as of late 2026.
RATES = {
    "EUR": "1.08",
    "GBP": "1.27",
    "CHF": "1.13",
    "CAD": "0.73",
    "AUD": "0.66",
    "JPY": "0.0067",
    "INR": "0.012",
}


def seed(*, stdout: Any) -> None:
    for currency, rate in RATES.items():
        ExchangeRate.objects.get_or_create(currency=currency, defaults={"rate": Decimal(rate)})
    year = timezone.localdate().year
    created = 0
    for each_year in (year, year + 1):
        for month, day, name in FIXED:
            _, new = Holiday.objects.get_or_create(date=date(each_year, month, day), defaults={"name": name})
            created += new
    stdout.write(f"Holidays demo: {Holiday.objects.count()} holidays ({created} new).\n")
