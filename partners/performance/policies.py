"""Who sees which scorecard and assessment, and who may record a rating or change the program's
scorecards. Everything goes through ``partners.policies.partner_scope_q``: a partner sees its own
rows, a channel account manager the portfolio's, program admins and finance everybody's."""

from __future__ import annotations

from django.db.models import Q

from partners.models import (
    Partner,
    PartnerAssessment,
    PartnerRole,
    ScorecardSnapshot,
    TierChangeProposal,
    TierGracePeriod,
)
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


def can_run_tier_evaluation(actor: Actor) -> bool:
    """The evaluation on demand judges every partner: program admins only."""
    return actor.is_vendor and actor.vendor_role == VendorRole.PROGRAM_ADMIN


# Vendor roles that work with tier changes: they decide them (finance and content managers have no
# part in the tier program's decisions).
TIER_VENDOR_ROLES = {VendorRole.PROGRAM_ADMIN, VendorRole.CHANNEL_ACCOUNT_MANAGER}


class TierGracePolicy(Policy[TierGracePeriod]):
    """A partner's people see their own grace periods (the home page's tier panel; learners without
    the revenue figures); program admins and channel account managers (their portfolio) see them
    to help the partner recover."""

    model = TierGracePeriod

    def visible(self, actor: Actor) -> Q:
        if actor.is_partner or (actor.is_vendor and actor.vendor_role in TIER_VENDOR_ROLES):
            return partner_scope_q(actor)
        return NOTHING


class TierProposalPolicy(Policy[TierChangeProposal]):
    """Tier change proposals are vendor-side: program admins see and decide all of them, a channel
    account manager those of the portfolio. A partner is told about its own through notifications
    and its grace period, never shown the proposal rows."""

    model = TierChangeProposal

    def visible(self, actor: Actor) -> Q:
        if actor.is_vendor and actor.vendor_role in TIER_VENDOR_ROLES:
            return partner_scope_q(actor)
        return NOTHING

    def can(self, actor: Actor, action: str, obj: TierChangeProposal | None = None) -> bool:
        if action == "view":
            return obj is not None and self.scope(actor).filter(pk=obj.pk).exists()
        if action == "decide":
            if not actor.is_vendor or obj is None:
                return False
            if actor.vendor_role == VendorRole.PROGRAM_ADMIN:
                return True
            # By id: outside the portfolio the partner row itself is out of the reader's scope.
            return actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER and can_work_partner(
                actor, Partner(pk=obj.partner_id)
            )
        return False


snapshot_policy = ScorecardSnapshotPolicy()
tier_grace_policy = TierGracePolicy()
tier_proposal_policy = TierProposalPolicy()
assessment_policy = AssessmentPolicy()
