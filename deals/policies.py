"""Who may see and do what with deals and leads.

Partner side: a partner admin sees all the company's deals; a sales user the deals they
registered; other partner roles none. Vendor side through ``business_scope_q``: channel account
managers their portfolio, content managers nothing (deal amounts are none of their business), other
vendor staff everything — but never a partner's drafts, which are the partner's work in progress
until submitted. Reviewing is for program admins and the partner's channel account manager.
"""

from __future__ import annotations

from django.db.models import Q

from partners.models import Partner, PartnerRole, PartnerStatus
from partners.policies import business_scope_q, can_work_partner, partner_scope_q, sees_partner_business
from prm.policies import NOTHING, Policy
from prm.roles import VendorRole
from prm.tenancy import Actor

from .models import (
    Deal,
    DealConflict,
    DealExtensionRequest,
    DealStatus,
    Lead,
    LeadStatus,
    PartnerAuthorization,
)

DEAL_ROLES = {PartnerRole.ADMIN, PartnerRole.SALES}
REVIEWER_ROLES = {VendorRole.PROGRAM_ADMIN, VendorRole.CHANNEL_ACCOUNT_MANAGER}


def _is_deal_owner(actor: Actor, deal: Deal) -> bool:
    if not actor.is_partner or deal.partner_id != actor.partner_id:
        return False
    return actor.partner_role == PartnerRole.ADMIN or (
        actor.partner_role == PartnerRole.SALES and deal.registered_by_id == actor.user.pk
    )


class DealPolicy(Policy[Deal]):
    model = Deal

    def visible(self, actor: Actor) -> Q:
        if actor.is_partner:
            if actor.partner_role == PartnerRole.ADMIN:
                return Q(partner_id=actor.partner_id)
            if actor.partner_role == PartnerRole.SALES:
                return Q(partner_id=actor.partner_id, registered_by_id=actor.user.pk)
            return NOTHING
        if actor.is_vendor and actor.portfolio is not None and sees_partner_business(actor):
            # A channel account manager: the portfolio as resolved with the actor, the very ids
            # row-level security holds them to (prm.tenancy), rather than a subquery of the
            # permission table. The planner knows how many deals those partners have; of the
            # subquery it expected one row (row-level security), so it read every portfolio
            # deal partner by partner before any other condition (a product, a customer name),
            # 1-2 s a list (bench/README.md, "Vendor pages at full size").
            return Q(partner_id__in_ids=actor.portfolio) & ~Q(status=DealStatus.DRAFT)
        return business_scope_q(actor) & ~Q(status=DealStatus.DRAFT)

    def can(self, actor: Actor, action: str, obj: Deal | None = None) -> bool:
        if action == "register":
            return (
                actor.is_partner
                and actor.partner_role in DEAL_ROLES
                and actor.partner.status == PartnerStatus.ACTIVE
            )
        if obj is None:
            return False
        if action in {"edit", "submit"}:
            return _is_deal_owner(actor, obj) and obj.is_editable
        if action == "request_extension":
            return _is_deal_owner(actor, obj) and obj.status == DealStatus.APPROVED
        if action in {"mark_won", "mark_lost", "update_stage"}:
            return _is_deal_owner(actor, obj) and obj.status == DealStatus.APPROVED
        if action == "review":
            return (
                actor.is_vendor
                and actor.vendor_role in REVIEWER_ROLES
                and can_work_partner(actor, obj.partner)
            )
        if action == "decide_won":
            # Confirming or turning down a reported win is a review: never the partner's own call.
            return obj.status == DealStatus.WON_PENDING and self.can(actor, "review", obj)
        return False


class DealConflictPolicy(Policy[DealConflict]):
    """The evidence of a possible conflict is for the deal's reviewers only: a program admin, or
    the partner's channel account manager (the same people as ``DealPolicy.can(.., "review")``).
    The rows are vendor-only in the database too, so selectors read them in the system scope."""

    model = DealConflict

    def visible(self, actor: Actor) -> Q:
        if not (actor.is_vendor and actor.vendor_role in REVIEWER_ROLES):
            return NOTHING
        return business_scope_q(actor, "deal__partner")


class DealExtensionRequestPolicy(Policy[DealExtensionRequest]):
    """An extension request is seen by whoever sees its deal."""

    model = DealExtensionRequest

    def visible(self, actor: Actor) -> Q:
        return Q(deal__in=deal_policy.scope(actor).values("pk"))


class LeadPolicy(Policy[Lead]):
    model = Lead

    def visible(self, actor: Actor) -> Q:
        if actor.is_partner:
            if actor.partner_role in DEAL_ROLES:
                return Q(
                    assigned_partner_id=actor.partner_id, status__in=[LeadStatus.OFFERED, LeadStatus.ACCEPTED]
                )
            return NOTHING
        if actor.is_vendor and actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER:
            # Their portfolio's leads, and the unassigned pool they may distribute.
            return business_scope_q(actor, "assigned_partner") | Q(assigned_partner__isnull=True)
        return business_scope_q(actor, "assigned_partner")

    def can(self, actor: Actor, action: str, obj: Lead | None = None) -> bool:
        if action in {"create", "distribute", "import"}:
            return actor.is_vendor and actor.vendor_role in REVIEWER_ROLES
        if obj is None:
            return False
        if action in {"accept", "decline"}:
            return (
                actor.is_partner
                and actor.partner_role in DEAL_ROLES
                and obj.assigned_partner_id == actor.partner_id
                and obj.status == LeadStatus.OFFERED
            )
        return False


class PartnerAuthorizationPolicy(Policy[PartnerAuthorization]):
    """A partner's product authorizations: its own people see them (the company page; they say what
    the partner may sell, no money), vendor staff through the one scoping path. Granting and
    revoking by hand is for program admins and the partner's channel account manager."""

    model = PartnerAuthorization

    def visible(self, actor: Actor) -> Q:
        return partner_scope_q(actor)

    def can(self, actor: Actor, action: str, obj: PartnerAuthorization | Partner | None = None) -> bool:
        if action in {"grant", "revoke"}:
            # By id: the partner row itself may be outside the actor's database scope.
            partner = Partner(pk=obj.partner_id) if isinstance(obj, PartnerAuthorization) else obj
            return (
                partner is not None
                and actor.is_vendor
                and actor.vendor_role in REVIEWER_ROLES
                and can_work_partner(actor, partner)
            )
        return False


deal_policy = DealPolicy()
conflict_policy = DealConflictPolicy()
extension_policy = DealExtensionRequestPolicy()
lead_policy = LeadPolicy()
authorization_policy = PartnerAuthorizationPolicy()
