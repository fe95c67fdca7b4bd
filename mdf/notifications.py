"""The notification kinds the MDF app sends (registered in prm.notification_kinds)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from partners.models import PartnerRole
from prm.notification_kinds import VENDOR, kind

FUNDS = _("Marketing funds")
# Who at a partner hears about these (the services' recipients).
MARKETERS = (PartnerRole.ADMIN, PartnerRole.MARKETING)

KINDS = [
    kind(
        "mdf.allocated",
        _("Marketing funds allocated"),
        _("Your company received a marketing fund allocation it can request funds from."),
        partner_roles=MARKETERS,
        group=FUNDS,
    ),
    kind(
        "mdf.request_submitted",
        _("Fund request submitted"),
        _("A partner submitted a marketing fund request you review."),
        group=FUNDS,
        audiences=(VENDOR,),
    ),
    kind(
        "mdf.request_escalated",
        _("Fund request escalated"),
        _("A fund request waited too long for a decision and was escalated to you."),
        group=FUNDS,
        audiences=(VENDOR,),
    ),
    kind(
        "mdf.request_approved",
        _("Fund request approved"),
        _("A marketing fund request of your company was approved."),
        partner_roles=MARKETERS,
        group=FUNDS,
    ),
    kind(
        "mdf.request_rejected",
        _("Fund request rejected"),
        _("A marketing fund request of your company was rejected, with the reason."),
        partner_roles=MARKETERS,
        group=FUNDS,
    ),
    kind(
        "mdf.request_returned",
        _("Fund request returned for changes"),
        _("A reviewer sent a fund request back to you with questions or changes to make."),
        partner_roles=MARKETERS,
        group=FUNDS,
    ),
    kind(
        "mdf.request_expired",
        _("Fund request expired"),
        _("An approved fund request was not claimed in time and its funds were released."),
        partner_roles=MARKETERS,
        group=FUNDS,
    ),
    kind(
        "mdf.claim_submitted",
        _("Fund claim submitted"),
        _("A partner submitted a claim with proof of performance for you to check."),
        group=FUNDS,
        audiences=(VENDOR,),
    ),
    kind(
        "mdf.claim_approved",
        _("Fund claim approved"),
        _("A claim of your company was approved and will be paid."),
        partner_roles=MARKETERS,
        group=FUNDS,
    ),
    kind(
        "mdf.claim_rejected",
        _("Fund claim rejected"),
        _("A claim of your company was rejected, with the reason."),
        partner_roles=MARKETERS,
        group=FUNDS,
    ),
    kind(
        "mdf.claim_paid",
        _("Fund claim paid"),
        _("A claim of your company was paid."),
        partner_roles=MARKETERS,
        group=FUNDS,
    ),
]
