"""Reads for training, scoped by policy."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from partners.policies import partner_scope_q
from prm.tenancy import Actor, system_scope

from .models import (
    AwardStatus,
    CertificationAward,
    Course,
    Enrollment,
    LessonCompletion,
    PublishStatus,
    QuizAttempt,
)
from .policies import award_policy, enrollment_policy


def catalogue(*, actor: Actor) -> QuerySet[Course]:
    """Published courses for the user's role, with their progress (no query per course)."""
    role = actor.partner_role or ""
    mine = Enrollment.objects.filter(user=actor.user, course=OuterRef("pk"))
    return (
        Course.objects.filter(status=PublishStatus.PUBLISHED, partner_roles__contains=[role])
        .annotate(
            lesson_count=Count("lessons", distinct=True),
            enrolled=Exists(mine),
            completed=Exists(mine.filter(completed_at__isnull=False)),
        )
        .order_by("title")
    )


def course_get(*, actor: Actor, pk: Any) -> Course:
    course = Course.objects.filter(pk=pk, status=PublishStatus.PUBLISHED).prefetch_related("lessons").first()
    if course is None or (actor.is_partner and actor.partner_role not in course.partner_roles):
        raise Http404
    return course


def enrollment_for(*, actor: Actor, course: Course) -> Enrollment | None:
    return enrollment_policy.scope(actor).filter(user=actor.user, course=course).first()


def completed_lesson_ids(*, enrollment: Enrollment | None) -> set[int]:
    if enrollment is None:
        return set()
    return set(
        LessonCompletion.objects.filter(enrollment=enrollment, cycle=enrollment.cycle).values_list(
            "lesson_id", flat=True
        )
    )


def my_awards(*, actor: Actor) -> QuerySet[CertificationAward]:
    return award_policy.scope(actor).filter(user=actor.user).select_related("certification", "partner")


def award_get(*, actor: Actor, pk: Any) -> CertificationAward:
    return award_policy.get_or_404(
        actor, CertificationAward.objects.select_related("certification", "partner", "user"), pk=pk
    )


def team_progress(*, actor: Actor, partner: Any) -> QuerySet[Enrollment]:
    return (
        enrollment_policy.scope(actor)
        .filter(partner=partner)
        .select_related("user", "course")
        .annotate(done=Count("completions", filter=Q(completions__cycle=F("cycle")), distinct=True))
        .order_by("user__full_name", "course__title")
    )


def verify(*, code: str) -> CertificationAward | None:
    """Public: look one award up by its code. Runs in the vendor scope (the code is the secret)
    and returns only what the public page shows."""
    code = (code or "").strip().upper()
    if not code or len(code) > 16:
        return None
    with system_scope():
        return (
            CertificationAward.objects.filter(verification_code=code)
            .select_related("certification", "partner", "user")
            .first()
        )


def certified_people_count(*, partner_ids: list[int] | None = None) -> dict[int, int]:
    """Currently certified people per partner (for tiers and scorecards)."""
    now = timezone.now()
    awards = CertificationAward.objects.filter(status=AwardStatus.ACTIVE).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    if partner_ids is not None:
        awards = awards.filter(partner_id__in=partner_ids)
    rows = awards.order_by().values("partner_id").annotate(people=Count("user", distinct=True))
    return {row["partner_id"]: row["people"] for row in rows}


def completion_report(*, actor: Actor) -> list[dict[str, Any]]:
    """Vendor view: enrolments, completions and certified people per partner."""
    enrollments = Enrollment.objects.filter(partner_scope_q(actor))
    rows = (
        enrollments.order_by()
        .values("partner_id", "partner__legal_name", "partner__tier__name")
        .annotate(enrolled=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False)))
        .order_by("partner__legal_name")
    )
    return list(rows)


def completion_by_course(*, actor: Actor) -> list[dict[str, Any]]:
    return list(
        Enrollment.objects.filter(partner_scope_q(actor))
        .order_by("course__title")
        .values("course_id", "course__title")
        .annotate(enrolled=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False)))
    )


def _valid_awards(actor: Actor) -> QuerySet[CertificationAward]:
    now = timezone.now()
    return CertificationAward.objects.filter(partner_scope_q(actor), status=AwardStatus.ACTIVE).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def certified_by_certification(*, actor: Actor) -> list[dict[str, Any]]:
    """Currently certified people per certification (the vendor report)."""
    return list(
        _valid_awards(actor)
        .order_by()
        .values("certification__name")
        .annotate(people=Count("user", distinct=True), partners=Count("partner", distinct=True))
        .order_by("certification__name")
    )


def certified_by_tier(*, actor: Actor) -> list[dict[str, Any]]:
    return list(
        _valid_awards(actor)
        .order_by()
        .values("partner__tier__name", "partner__tier__rank")
        .annotate(people=Count("user", distinct=True), partners=Count("partner", distinct=True))
        .order_by("partner__tier__rank")
    )


def expiring_awards_count(*, actor: Actor, within_days: int) -> int:
    now = timezone.now()
    return _valid_awards(actor).filter(expires_at__lte=now + timezone.timedelta(days=within_days)).count()


def attempts_of(*, enrollment: Enrollment) -> list[QuizAttempt]:
    """The attempts of an enrollment the caller already obtained through the policy."""
    return list(QuizAttempt.objects.filter(enrollment=enrollment, cycle=enrollment.cycle).order_by("number"))


def attempt_get(*, actor: Actor, pk: Any) -> QuizAttempt:
    """The learner's own attempt; any other id, a colleague's included, is the same 404."""
    attempt = (
        QuizAttempt.objects.select_related("quiz", "quiz__course", "enrollment")
        .filter(pk=pk, enrollment__in=enrollment_policy.scope(actor).filter(user=actor.user))
        .first()
    )
    if attempt is None:
        raise Http404
    return attempt


def passed_in_cycle(*, enrollment: Enrollment) -> bool:
    return QuizAttempt.objects.filter(enrollment=enrollment, cycle=enrollment.cycle, passed=True).exists()


def last_activity(*, enrollments: list[Enrollment]) -> dict[int, Any]:
    """The latest lesson completion or quiz submission per enrollment (two aggregate queries),
    for enrollments the caller already obtained through the policy."""
    ids = [enrollment.pk for enrollment in enrollments]
    latest = {enrollment.pk: enrollment.started_at for enrollment in enrollments}
    for rows in (
        LessonCompletion.objects.filter(enrollment_id__in=ids)
        .order_by()
        .values_list("enrollment_id")
        .annotate(last=Max("completed_at")),
        QuizAttempt.objects.filter(enrollment_id__in=ids, submitted_at__isnull=False)
        .order_by()
        .values_list("enrollment_id")
        .annotate(last=Max("submitted_at")),
    ):
        for enrollment_id, moment in rows:
            if moment and moment > latest[enrollment_id]:
                latest[enrollment_id] = moment
    return latest
