"""Training progress is tenant-owned: a learner sees their own; a partner admin their company's;
vendor staff through the one scoping path."""

from __future__ import annotations

from django.db.models import Q

from partners.models import PartnerRole
from partners.policies import partner_scope_q
from prm.policies import NOTHING, Policy
from prm.tenancy import Actor

from .models import CertificationAward, Enrollment


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
