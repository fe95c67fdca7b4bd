"""Who may see and do what with funds.

Partner side: partner admins and marketing users work the company's fund requests and claims;
other partner roles see none. Vendor side: program admins everything; channel account managers
their portfolio (approve requests up to their approval limit); finance everything, and they alone
approve claims and mark payouts paid; content managers nothing (``business_scope_q``).
"""

from __future__ import annotations

from django.db.models import Q

from partners.models import PartnerRole, PartnerStatus
from partners.policies import business_scope_q, can_work_partner
from prm.policies import NOTHING, Policy
from prm.roles import VendorRole
from prm.tenancy import Actor

from .models import Allocation, FundClaim, FundRequest, RequestStatus

MDF_ROLES = {PartnerRole.ADMIN, PartnerRole.MARKETING}
EDITABLE = {RequestStatus.DRAFT, RequestStatus.RETURNED}


def _partner_side(actor: Actor) -> Q | None:
    if actor.is_partner:
        return Q(partner_id=actor.partner_id) if actor.partner_role in MDF_ROLES else NOTHING
    return None


def _vendor_side(actor: Actor) -> Q:
    if (
        actor.is_vendor
        and actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER
        and actor.portfolio is not None
    ):
        # A channel account manager: the portfolio as resolved with the actor, the very ids
        # row-level security holds them to (prm.tenancy), rather than a subquery of the
        # permission table, of which the planner expects one row under row-level security (as
        # deals.policies.DealPolicy).
        return Q(partner_id__in_ids=actor.portfolio)
    return business_scope_q(actor)


class AllocationPolicy(Policy[Allocation]):
    model = Allocation

    def visible(self, actor: Actor) -> Q:
        return _partner_side(actor) or _vendor_side(actor)

    def can(self, actor: Actor, action: str, obj: Allocation | None = None) -> bool:
        if action == "allocate":
            return actor.is_vendor and actor.vendor_role == VendorRole.PROGRAM_ADMIN
        return False


class FundRequestPolicy(Policy[FundRequest]):
    model = FundRequest

    def visible(self, actor: Actor) -> Q:
        side = _partner_side(actor)
        return side if side is not None else _vendor_side(actor)

    def can(self, actor: Actor, action: str, obj: FundRequest | None = None) -> bool:
        if action == "request":
            return (
                actor.is_partner
                and actor.partner_role in MDF_ROLES
                and actor.partner.status == PartnerStatus.ACTIVE
            )
        if obj is None:
            return False
        own = actor.is_partner and actor.partner_role in MDF_ROLES and obj.partner_id == actor.partner_id
        if action in {"edit", "submit"}:
            return own and obj.status in EDITABLE
        if action == "claim":
            return own and obj.status == RequestStatus.APPROVED
        if action == "review":
            return actor.is_vendor and (
                actor.vendor_role == VendorRole.PROGRAM_ADMIN
                or (
                    actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER
                    and can_work_partner(actor, obj.partner)
                )
            )
        if action in {"review_claim", "mark_paid"}:
            return actor.is_vendor and actor.vendor_role in {VendorRole.FINANCE, VendorRole.PROGRAM_ADMIN}
        if action == "view_proof":
            return self.scope(actor).filter(pk=obj.pk).exists()
        return False


class FundClaimPolicy(Policy[FundClaim]):
    model = FundClaim

    def visible(self, actor: Actor) -> Q:
        side = _partner_side(actor)
        return side if side is not None else _vendor_side(actor)


allocation_policy = AllocationPolicy()
fund_request_policy = FundRequestPolicy()
fund_claim_policy = FundClaimPolicy()
