"""Who may see and do what with incentive earnings and statements.

Partner side: earnings are the company's money, so partner admins alone see them (and download
statements); other partner roles see none. Vendor side: program admins and finance see everything,
channel account managers their portfolio, content managers nothing. Finance approves statements
and marks them paid; finance and program admins reverse and adjust earnings and download
statements.
"""

from __future__ import annotations

from django.db.models import Q

from partners.models import PartnerRole
from partners.policies import business_scope_q
from prm.policies import NOTHING, Policy
from prm.roles import VendorRole
from prm.tenancy import Actor

from .models import EarningEntry, Statement, StatementStatus

MONEY_ROLES = {VendorRole.FINANCE, VendorRole.PROGRAM_ADMIN}


def money_visible(actor: Actor, partner_field: str = "partner") -> Q:
    """Rows of partner money (``partner_field`` is the path to the partner) this actor may see."""
    if actor.is_partner:
        if actor.partner_role != PartnerRole.ADMIN:
            return NOTHING
        return Q(**{f"{partner_field}_id": actor.partner_id})
    # Content managers: nothing (they see every partner's content, never their money).
    return business_scope_q(actor, partner_field)


class EarningPolicy(Policy[EarningEntry]):
    model = EarningEntry

    def visible(self, actor: Actor) -> Q:
        return money_visible(actor)

    def can(self, actor: Actor, action: str, obj: EarningEntry | None = None) -> bool:
        if action in {"reverse", "adjust"}:
            return actor.is_vendor and actor.vendor_role in MONEY_ROLES
        if action == "view":
            return actor.is_partner and actor.partner_role == PartnerRole.ADMIN
        return False


class StatementPolicy(Policy[Statement]):
    model = Statement

    def visible(self, actor: Actor) -> Q:
        return money_visible(actor)

    def can(self, actor: Actor, action: str, obj: Statement | None = None) -> bool:
        finance = actor.is_vendor and actor.vendor_role == VendorRole.FINANCE
        if action == "run":
            return actor.is_vendor and actor.vendor_role in MONEY_ROLES
        if action == "approve":
            return finance and (obj is None or obj.status == StatementStatus.DRAFT)
        if action == "mark_paid":
            return finance and (obj is None or obj.status == StatementStatus.APPROVED)
        if action == "download":
            if obj is None:
                return False
            if actor.is_partner:
                return actor.partner_role == PartnerRole.ADMIN and obj.partner_id == actor.partner_id
            return actor.is_vendor and actor.vendor_role in MONEY_ROLES
        return False


earning_policy = EarningPolicy()
statement_policy = StatementPolicy()
