"""The notification kinds the incentives app sends (registered in prm.notification_kinds)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from partners.models import PartnerRole
from prm.notification_kinds import kind

EARNINGS = _("Earnings")
# Who at a partner hears about these (the services' recipients).
ADMINS = (PartnerRole.ADMIN,)

KINDS = [
    kind(
        "incentives.statement_approved",
        _("Settlement statement approved"),
        _("Your company's settlement statement of earnings was approved."),
        partner_roles=ADMINS,
        group=EARNINGS,
    ),
    kind(
        "incentives.statement_paid",
        _("Settlement statement paid"),
        _("Your company's settlement statement was paid."),
        partner_roles=ADMINS,
        group=EARNINGS,
    ),
]
