"""Who sees which scorecard and assessment, and who may record a rating or change the program's
scorecards. Everything goes through ``partners.policies.partner_scope_q``: a partner sees its own
rows, a channel account manager the portfolio's, program admins and finance everybody's."""

from __future__ import annotations

from django.db.models import Q

from partners.models import Partner, PartnerAssessment, PartnerRole, ScorecardSnapshot
from partners.policies import can_work_partner, partner_scope_q
from prm.policies import NOTHING, Policy
from prm.roles import MONEY_BLIND_ROLES, VendorRole
from prm.tenancy import Actor

# Vendor roles that work with partners' scorecards (PRODUCT.md: CAMs "see scorecards"; finance sees
# partners across the board). Content / training managers never see money, and snapshots hold it.
SCORECARD_VENDOR_ROLES = {
    VendorRole.PROGRAM_ADMIN,
    VendorRole.CHANNEL_ACCOUNT_MANAGER,
    VendorRole.FINANCE,
}


def sees_money_figures(actor: Actor) -> bool:
    """Learners and content / training managers see scores, never money figures (won revenue,
    earnings, MDF) nor targets in money."""
    if actor.is_partner:
        return actor.partner_role != PartnerRole.LEARNER
    return actor.is_vendor and actor.vendor_role not in MONEY_BLIND_ROLES


def can_manage_scorecards(actor: Actor) -> bool:
    """Scorecard templates and KPI switches belong to the program: program admins only."""
    return actor.is_vendor and actor.vendor_role == VendorRole.PROGRAM_ADMIN


class ScorecardSnapshotPolicy(Policy[ScorecardSnapshot]):
    model = ScorecardSnapshot

    def visible(self, actor: Actor) -> Q:
        if actor.is_partner or (actor.is_vendor and actor.vendor_role in SCORECARD_VENDOR_ROLES):
            return partner_scope_q(actor)
        return NOTHING

    def can(self, actor: Actor, action: str, obj: ScorecardSnapshot | None = None) -> bool:
        if action == "view":
            return obj is not None and self.scope(actor).filter(pk=obj.pk).exists()
        if action == "rank":
            # Rankings compare partners: vendor staff only (a CAM's hold the portfolio only).
            return actor.is_vendor and actor.vendor_role in SCORECARD_VENDOR_ROLES
        return False


class AssessmentPolicy(Policy[PartnerAssessment]):
    """A channel account manager rates the portfolio's partners, a program admin any partner. A
    partner's admins read their own company's ratings and comments; no other partner user, and
    no partner ever another's."""

    model = PartnerAssessment

    def visible(self, actor: Actor) -> Q:
        if actor.is_vendor and actor.vendor_role in {
            VendorRole.PROGRAM_ADMIN,
            VendorRole.CHANNEL_ACCOUNT_MANAGER,
        }:
            return partner_scope_q(actor)
        if actor.is_partner and actor.partner_role == PartnerRole.ADMIN:
            return partner_scope_q(actor)
        return NOTHING

    def can(self, actor: Actor, action: str, obj: PartnerAssessment | None = None) -> bool:
        if action == "view":
            return obj is not None and self.scope(actor).filter(pk=obj.pk).exists()
        if action == "record":
            return obj is not None and self.can_record_for(actor, obj.partner)
        return False

    def can_record_for(self, actor: Actor, partner: Partner) -> bool:
        if not actor.is_vendor:
            return False
        if actor.vendor_role == VendorRole.PROGRAM_ADMIN:
            return True
        return actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER and can_work_partner(actor, partner)


snapshot_policy = ScorecardSnapshotPolicy()
assessment_policy = AssessmentPolicy()
