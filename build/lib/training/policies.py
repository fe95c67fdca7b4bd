"""Training progress is tenant-owned: a learner sees their own; a partner admin their company's;
vendor staff through the one scoping path."""

from __future__ import annotations

from django.db.models import Q

from partners.models import PartnerRole
from partners.policies import partner_scope_q
from prm.policies import NOTHING, Policy
from prm.roles import VendorRole
from prm.tenancy import Actor

from .models import CertificationAward, Enrollment

# Who may give a learner their quiz attempts back: the people who run training (any partner), and
# the channel account manager the partner turns to ("ask your channel account manager"), for the
# partners in their portfolio only. Finance sees training data but does not manage it.
ATTEMPT_RESET_ROLES = frozenset(
    {VendorRole.PROGRAM_ADMIN, VendorRole.CONTENT_MANAGER, VendorRole.CHANNEL_ACCOUNT_MANAGER}
)
RESET_ATTEMPTS = "reset_quiz_attempts"


def _learner_q(actor: Actor) -> Q:
    if actor.is_partner:
        if actor.partner_role == PartnerRole.ADMIN:
            return Q(partner_id=actor.partner_id)
        return Q(partner_id=actor.partner_id, user_id=actor.user.pk)
    if actor.is_vendor:
        return partner_scope_q(actor)
    return NOTHING


class EnrollmentPolicy(Policy[Enrollment]):
    model = Enrollment

    def visible(self, actor: Actor) -> Q:
        return _learner_q(actor)

    def can(self, actor: Actor, action: str, obj: Enrollment | None = None) -> bool:
        if action == RESET_ATTEMPTS:
            if not (actor.is_vendor and actor.vendor_role in ATTEMPT_RESET_ROLES):
                return False
            # Without an object: may this actor reset anybody's attempts at all (the admin action
            # is offered)? With one: through the same scope as every list, so a CAM's portfolio
            # decides and a list and a reset can never disagree.
            return obj is None or self.scope(actor).filter(pk=obj.pk).exists()
        return False


class AwardPolicy(Policy[CertificationAward]):
    model = CertificationAward

    def visible(self, actor: Actor) -> Q:
        return _learner_q(actor)

    def can(self, actor: Actor, action: str, obj: CertificationAward | None = None) -> bool:
        if action == "download" and obj is not None:
            return self.scope(actor).filter(pk=obj.pk).exists()
        return False


enrollment_policy = EnrollmentPolicy()
award_policy = AwardPolicy()
