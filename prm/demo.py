"""Demo holidays for the vendor's calendar (business-day SLAs skip them), exchange rates, and one
persona's notification settings (a daily digest); idempotent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import ExchangeRate, Holiday, User
from .notification_kinds import Channel

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
    _seed_notification_settings(stdout=stdout)


# Mia (Acme's marketing) reads her notifications once a day, and certification reminders only in
# the portal: the persona that shows the notification settings page and the digest e-mail.
DIGEST_PERSONA = "mia.marketing@acme.example"


def _seed_notification_settings(*, stdout: Any) -> None:
    from .notifications import save_notification_settings

    user = User.objects.filter(email=DIGEST_PERSONA).first()
    if user is None or user.notification_digest or user.notification_channels:
        return  # not seeded, or already set (by this seeder or by the person)
    resolver = next(c.actor_resolver for c in apps.get_app_configs() if getattr(c, "actor_resolver", None))
    save_notification_settings(
        actor=import_string(resolver)(user),
        channels={"training.expiring": Channel.IN_APP},
        digest=True,
    )
    stdout.write(f"Notifications demo: {DIGEST_PERSONA} gets a daily digest.\n")
