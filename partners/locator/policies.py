"""Who keeps a partner's locator listing. The listing is the partner's: its admins edit it, as
they edit the company profile; the vendor staff who may edit that profile (program admins, the
partner's channel account manager) may correct it. Every other member reads it. The public reads
no listing through this policy: it sees the published listings of active partners only, through
``selectors.public_listings`` (no actor, no partner data beyond the listing)."""

from __future__ import annotations

from django.db.models import Q

from partners.models import PartnerListing
from partners.policies import partner_policy, partner_scope_q
from prm.policies import Policy
from prm.tenancy import Actor


class ListingPolicy(Policy[PartnerListing]):
    model = PartnerListing

    def visible(self, actor: Actor) -> Q:
        return partner_scope_q(actor)

    def can(self, actor: Actor, action: str, obj: PartnerListing | None = None) -> bool:
        if obj is None:
            return False
        if action == "view":
            return partner_policy.can(actor, "view", obj.partner)
        if action == "edit":
            return partner_policy.can(actor, "edit_profile", obj.partner)
        return False


listing_policy = ListingPolicy()
