"""The notification kinds the deals app sends (registered in prm.notification_kinds)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from partners.models import PartnerRole
from prm.notification_kinds import PARTNER, VENDOR, kind

DEALS = _("Deal registrations")
LEADS = _("Leads")
AUTHORIZATIONS = _("Product authorizations")
# Who at a partner hears about these (the services' recipients).
SELLERS = (PartnerRole.ADMIN, PartnerRole.SALES)

KINDS = [
    kind(
        "deal.submitted",
        _("Deal submitted for review"),
        _("A partner submitted a deal registration you review."),
        group=DEALS,
        audiences=(VENDOR,),
    ),
    kind(
        "deal.review_due",
        _("Deal review due soon"),
        _("A deal registration you review is close to its review deadline."),
        group=DEALS,
        audiences=(VENDOR,),
    ),
    kind(
        "deal.approved",
        _("Deal approved"),
        _("A deal registration of your company was approved and is protected until its end date."),
        partner_roles=SELLERS,
        group=DEALS,
    ),
    kind(
        "deal.rejected",
        _("Deal rejected"),
        _("A deal registration of your company was rejected, with the reason."),
        partner_roles=SELLERS,
        group=DEALS,
    ),
    kind(
        "deal.returned",
        _("Deal returned for changes"),
        _("A reviewer sent a deal registration back to you with questions or changes to make."),
        partner_roles=SELLERS,
        group=DEALS,
    ),
    kind(
        "deal.extension_requested",
        _("Deal extension requested"),
        _("A partner asks for more time on a protected deal."),
        group=DEALS,
        audiences=(VENDOR,),
    ),
    kind(
        "deal.extension_decided",
        _("Deal extension decided"),
        _("Your request for more time on a deal was granted or refused."),
        partner_roles=SELLERS,
        group=DEALS,
    ),
    kind(
        "deal.won_claimed",
        _("Deal reported won"),
        _("A partner reports a deal as won; you confirm it."),
        group=DEALS,
        audiences=(VENDOR,),
    ),
    kind(
        "deal.won",
        _("Deal won"),
        _("A deal was confirmed as won."),
        partner_roles=SELLERS,
        group=DEALS,
        audiences=(PARTNER, VENDOR),
    ),
    kind(
        "deal.won_rejected",
        _("Won deal not confirmed"),
        _("A deal your company reported as won was not confirmed, with the reason."),
        partner_roles=SELLERS,
        group=DEALS,
    ),
    kind(
        "deal.lost",
        _("Deal lost"),
        _("A partner reports that a deal was lost."),
        group=DEALS,
        audiences=(VENDOR,),
    ),
    kind(
        "deal.expiring",
        _("Deal protection ending soon"),
        _("A protected deal of your company is about to reach its end date."),
        partner_roles=SELLERS,
        group=DEALS,
    ),
    kind(
        "deal.expired",
        _("Deal protection ended"),
        _("A protected deal of your company reached its end date without being won."),
        partner_roles=SELLERS,
        group=DEALS,
    ),
    kind(
        "lead.offered",
        _("Lead offered to you"),
        _("The vendor offers your company a lead; accept or decline it before the offer runs out."),
        partner_roles=SELLERS,
        group=LEADS,
    ),
    kind(
        "lead.accepted",
        _("Lead accepted"),
        _("A partner accepted a lead you created."),
        group=LEADS,
        audiences=(VENDOR,),
    ),
    kind(
        "lead.declined",
        _("Lead declined"),
        _("A partner declined a lead you created; it is offered to the next partner."),
        group=LEADS,
        audiences=(VENDOR,),
    ),
    kind(
        "lead.timed_out",
        _("Lead offer ran out"),
        _("A lead offer was not answered in time and went to another partner."),
        partner_roles=SELLERS,
        group=LEADS,
        audiences=(PARTNER, VENDOR),
    ),
    kind(
        "deals.authorization_granted",
        _("Product authorization granted"),
        _("Your company may now sell a product line."),
        partner_roles=SELLERS,
        group=AUTHORIZATIONS,
        audiences=(PARTNER, VENDOR),
    ),
    kind(
        "deals.authorization_revoked",
        _("Product authorization revoked"),
        _("Your company may no longer sell a product line."),
        partner_roles=SELLERS,
        group=AUTHORIZATIONS,
        audiences=(PARTNER, VENDOR),
    ),
    kind(
        "deals.authorization_lapsing",
        _("Product authorization at risk"),
        _(
            "Your company no longer meets a product line's requirements and will lose the authorization "
            "unless it does again in time."
        ),
        partner_roles=SELLERS,
        group=AUTHORIZATIONS,
        audiences=(PARTNER, VENDOR),
    ),
    kind(
        "deals.authorization_lapsed",
        _("Product authorization lapsed"),
        _("A product authorization lapsed because its requirements were not met in time."),
        partner_roles=SELLERS,
        group=AUTHORIZATIONS,
        audiences=(PARTNER, VENDOR),
    ),
]
