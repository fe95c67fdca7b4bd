"""The notification kinds the incentives app sends (registered in prm.notification_kinds)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from prm.notification_kinds import kind

EARNINGS = _("Earnings")

KINDS = [
    kind(
        "incentives.statement_approved",
        _("Settlement statement approved"),
        _("Your company's settlement statement of earnings was approved."),
        group=EARNINGS,
    ),
    kind(
        "incentives.statement_paid",
        _("Settlement statement paid"),
        _("Your company's settlement statement was paid."),
        group=EARNINGS,
    ),
]
