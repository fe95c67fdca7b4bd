"""Who sees and works a joint business plan. Scoping goes through ``partner_scope_q``: a partner
sees its own plans, a channel account manager the portfolio's, program admins and finance every
partner's. A plan is money (revenue and MDF targets), so learners and the money-blind vendor
roles (content / training managers) see no plan at all; partner sales and marketing read them.

Working a plan (drafting, goals, activities, comments, the review note, signing) is for the two
sides that sign it: the partner's admins, and the partner's channel account manager or a program
admin. Finance reads."""

from __future__ import annotations

from django.db.models import Q

from partners.models import BusinessPlan, Partner, PartnerRole, PlanSide
from partners.policies import can_work_partner, partner_scope_q
from prm.policies import NOTHING, Policy
from prm.roles import VendorRole
from prm.tenancy import Actor

PLAN_VENDOR_ROLES = {VendorRole.PROGRAM_ADMIN, VendorRole.CHANNEL_ACCOUNT_MANAGER, VendorRole.FINANCE}
PLAN_PARTNER_ROLES = {PartnerRole.ADMIN, PartnerRole.SALES, PartnerRole.MARKETING}
SIGNING_VENDOR_ROLES = {VendorRole.PROGRAM_ADMIN, VendorRole.CHANNEL_ACCOUNT_MANAGER}


def reads_plans(actor: Actor) -> bool:
    if actor.is_partner:
        return actor.partner_role in PLAN_PARTNER_ROLES
    return actor.is_vendor and actor.vendor_role in PLAN_VENDOR_ROLES


def side_of(actor: Actor) -> str:
    return PlanSide.PARTNER if actor.is_partner else PlanSide.VENDOR


def can_work_plans_of(actor: Actor, partner: Partner) -> bool:
    """Draft, edit and sign this partner's plans."""
    if actor.is_partner:
        return actor.partner_role == PartnerRole.ADMIN and actor.partner_id == partner.pk
    if actor.is_vendor and actor.vendor_role in SIGNING_VENDOR_ROLES:
        return actor.vendor_role == VendorRole.PROGRAM_ADMIN or can_work_partner(actor, partner)
    return False


class PlanPolicy(Policy[BusinessPlan]):
    model = BusinessPlan

    def visible(self, actor: Actor) -> Q:
        return partner_scope_q(actor) if reads_plans(actor) else NOTHING

    def can(self, actor: Actor, action: str, obj: BusinessPlan | None = None) -> bool:
        if obj is None:
            return action == "list" and reads_plans(actor)
        if action == "view":
            return self.scope(actor).filter(pk=obj.pk).exists()
        if action in {"edit", "sign", "comment", "review"}:
            return can_work_plans_of(actor, obj.partner)
        return False


plan_policy = PlanPolicy()
