"""Who sees what in training. Progress is tenant-owned: a learner sees their own; a partner admin
their company's; vendor staff through the one scoping path. Courses, lessons, certifications and
learning paths are vendor content, not tenant data, but who may open them is a rule all the same:
a partner user opens what is published for their role; the people who author courses open any
course, drafts too, as a read-only preview; everyone else nothing."""

from __future__ import annotations

from django.db.models import Q

from partners.models import PartnerRole
from partners.policies import partner_scope_q
from prm.policies import NOTHING, Policy
from prm.roles import VendorRole
from prm.tenancy import Actor

from .models import (
    Certification,
    CertificationAward,
    Course,
    Enrollment,
    LearningPath,
    Lesson,
    PublishStatus,
)

# Who authors courses (the admin's course pages, publishing) and so may preview any of them.
AUTHOR_ROLES = frozenset({VendorRole.PROGRAM_ADMIN, VendorRole.CONTENT_MANAGER})
AUTHOR = "author"

# Who may give a learner their quiz attempts back: the people who run training (any partner), and
# the channel account manager the partner turns to ("ask your channel account manager"), for the
# partners in their portfolio only. Finance sees training data but does not manage it.
ATTEMPT_RESET_ROLES = frozenset(
    {VendorRole.PROGRAM_ADMIN, VendorRole.CONTENT_MANAGER, VendorRole.CHANNEL_ACCOUNT_MANAGER}
)
RESET_ATTEMPTS = "reset_quiz_attempts"
# The team progress pages: the partner admin's view of the company's learners.
VIEW_TEAM_PROGRESS = "view_team_progress"


def _is_author(actor: Actor) -> bool:
    return actor.is_vendor and actor.vendor_role in AUTHOR_ROLES


def _offered_q(actor: Actor, prefix: str = "") -> Q:
    """Courses offered to a partner user: published and meant for their role (``prefix`` is the
    path to the course from another model)."""
    if not actor.is_partner:
        return NOTHING
    return Q(
        **{
            f"{prefix}status": PublishStatus.PUBLISHED,
            f"{prefix}partner_roles__contains": [actor.partner_role or ""],
        }
    )


def _course_q(actor: Actor, prefix: str = "") -> Q:
    # Authors see every course, drafts included: their preview is read-only and never enrolls.
    return Q() if _is_author(actor) else _offered_q(actor, prefix)


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
        if action == VIEW_TEAM_PROGRESS:
            return actor.is_partner and actor.partner_role == PartnerRole.ADMIN
        return False


class AwardPolicy(Policy[CertificationAward]):
    model = CertificationAward

    def visible(self, actor: Actor) -> Q:
        return _learner_q(actor)

    def can(self, actor: Actor, action: str, obj: CertificationAward | None = None) -> bool:
        if action == "download" and obj is not None:
            return self.scope(actor).filter(pk=obj.pk).exists()
        return False


class CoursePolicy(Policy[Course]):
    model = Course

    def visible(self, actor: Actor) -> Q:
        """Courses this actor may open: a partner user those offered to them; an author any."""
        return _course_q(actor)

    def offered(self, actor: Actor, prefix: str = "") -> Q:
        """Courses offered to this actor as a learner (the catalogue, learning paths): authors
        preview courses but are offered none."""
        return _offered_q(actor, prefix)

    def can(self, actor: Actor, action: str, obj: Course | None = None) -> bool:
        if action == AUTHOR:
            return _is_author(actor)
        return False


class LessonPolicy(Policy[Lesson]):
    """A lesson is visible exactly when its course is."""

    model = Lesson

    def visible(self, actor: Actor) -> Q:
        return _course_q(actor, prefix="course__")


class CertificationPolicy(Policy[Certification]):
    """Certifications are shown to partner users: the published ones meant for their role. Vendor
    staff manage them in the admin (by its model permissions), not through these pages."""

    model = Certification

    def visible(self, actor: Actor) -> Q:
        return _offered_q(actor)


class LearningPathPolicy(Policy[LearningPath]):
    """A learning path is shown to the partner users of the role it was made for."""

    model = LearningPath

    def visible(self, actor: Actor) -> Q:
        if not actor.is_partner:
            return NOTHING
        return Q(partner_role=actor.partner_role or "")


enrollment_policy = EnrollmentPolicy()
award_policy = AwardPolicy()
course_policy = CoursePolicy()
lesson_policy = LessonPolicy()
certification_policy = CertificationPolicy()
learning_path_policy = LearningPathPolicy()
