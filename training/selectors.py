"""Reads for training, scoped by policy: every page's reads come through here, the tenant-owned
ones through the policy's scope (the same 404 for "not yours" and "does not exist"), the course
catalogue through the course policy's rules. Functions that take an object (an enrollment, an
attempt, a course) expect one the caller already obtained through a selector."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Exists, F, Max, OuterRef, Prefetch, Q, QuerySet, Value
from django.http import Http404
from django.template.defaultfilters import truncatewords
from django.utils import timezone, translation

from prm import catalogue_cache
from prm.statements import Statement
from prm.tenancy import Actor, system_scope

from .models import (
    AwardStatus,
    Certification,
    CertificationAward,
    Course,
    Enrollment,
    LearningPath,
    LearningPathCourse,
    Lesson,
    LessonCompletion,
    PublishStatus,
    Question,
    Quiz,
    QuizAttempt,
)
from .policies import (
    award_policy,
    certification_policy,
    course_policy,
    enrollment_policy,
    learning_path_policy,
    lesson_policy,
)


def catalogue(*, actor: Actor) -> QuerySet[Course]:
    """Published courses for the user's role, with their progress (no query per course) and
    ``lesson_ids``, their lessons' ids in order (where to start or resume, without a second query
    for every lesson of every course)."""
    mine = enrollment_policy.scope(actor).filter(user=actor.user, course=OuterRef("pk"))
    return (
        Course.objects.filter(course_policy.offered(actor))
        .defer("search_vector")  # only the search box reads it
        .annotate(
            lesson_count=Count("lessons", distinct=True),
            lesson_ids=ArrayAgg(
                "lessons__id",
                filter=Q(lessons__isnull=False),
                order_by=("lessons__position", "lessons__id"),
                default=Value([]),
            ),
            enrolled=Exists(mine),
            completed=Exists(mine.filter(completed_at__isnull=False)),
        )
        .order_by("title")
    )


# --- The catalogue page: what every partner user of a role sees alike, kept (prm.catalogue_cache) --
@dataclass(frozen=True, slots=True)
class OfferedCourse:
    """A course offered to a role, as the catalogue shows it. ``summary``: cut to the catalogue's
    30 words (in the language it was kept for: the cut ends with a translated ellipsis)."""

    pk: int
    title: str
    summary: str
    lesson_count: int
    estimated_minutes: int
    lesson_ids: tuple[int, ...]  # in order: where to start, or resume after a lesson


@dataclass(frozen=True, slots=True)
class CourseRef:
    """A course named in a learning path or required by a certification. ``published`` and
    ``for_role``: whether the role is offered it (else a certification shows why not)."""

    pk: int
    title: str
    published: bool = True
    for_role: bool = True


@dataclass(frozen=True, slots=True)
class OfferedPath:
    pk: int
    name: str
    steps: tuple[CourseRef, ...]  # only the courses offered to the role, in order


@dataclass(frozen=True, slots=True)
class OfferedCertification:
    pk: int
    name: str
    description: str  # cut to 25 words, as ``OfferedCourse.summary``
    validity_months: int | None
    courses: tuple[CourseRef, ...]  # every required course, by title


@dataclass(frozen=True, slots=True)
class TrainingCatalogue:
    courses: tuple[OfferedCourse, ...]
    paths: tuple[OfferedPath, ...]
    certifications: tuple[OfferedCertification, ...]


# The models the catalogue is read from: a change to any shows on the next request.
CATALOGUE_CACHE = "training"


def _read_catalogue(actor: Actor) -> TrainingCatalogue:
    role = actor.partner_role or ""
    courses = tuple(
        OfferedCourse(
            pk=course.pk,
            title=course.title,
            summary=truncatewords(course.summary, 30),
            lesson_count=course.lesson_count,
            estimated_minutes=course.estimated_minutes,
            lesson_ids=tuple(course.lesson_ids),
        )
        for course in Course.objects.filter(course_policy.offered(actor))
        .annotate(
            lesson_count=Count("lessons", distinct=True),
            lesson_ids=ArrayAgg(
                "lessons__id",
                filter=Q(lessons__isnull=False),
                order_by=("lessons__position", "lessons__id"),
                default=Value([]),
            ),
        )
        .order_by("title")
        .only("pk", "title", "summary", "estimated_minutes")
    )
    paths = tuple(
        OfferedPath(
            pk=path.pk,
            name=path.name,
            steps=tuple(CourseRef(pk=step.course.pk, title=step.course.title) for step in path.steps),
        )
        for path in learning_path_steps(actor=actor)
    )
    certifications = tuple(
        OfferedCertification(
            pk=certification.pk,
            name=certification.name,
            description=truncatewords(certification.description, 25),
            validity_months=certification.validity_months,
            courses=tuple(
                CourseRef(
                    pk=course.pk,
                    title=course.title,
                    published=course.status == PublishStatus.PUBLISHED,
                    for_role=role in course.partner_roles,
                )
                for course in certification.courses.all()
            ),
        )
        for certification in certification_policy.scope(actor).prefetch_related(
            Prefetch("courses", queryset=Course.objects.only("pk", "title", "status", "partner_roles"))
        )
    )
    return TrainingCatalogue(courses=courses, paths=paths, certifications=certifications)


def training_catalogue(*, actor: Actor) -> TrainingCatalogue:
    """The published courses, learning paths and certifications offered to the actor's role, with
    no learner's progress: the same for every partner user of the role, so kept for all of them
    (prm.catalogue_cache) until the catalogue changes. The key names all it depends on: the role
    (what the policies offer) and the language (the cut texts' ellipsis)."""
    if not actor.is_partner:
        return TrainingCatalogue(courses=(), paths=(), certifications=())
    return catalogue_cache.cached(
        CATALOGUE_CACHE,
        ("role", actor.partner_role or "", translation.get_language()),
        lambda: (_read_catalogue(actor), None),
    )


@dataclass(frozen=True, slots=True)
class CourseProgress:
    done: int  # lessons completed in the current cycle
    completed_at: datetime | None
    last_lesson_id: int | None


def _progress_rows(actor: Actor) -> QuerySet[Enrollment]:
    return (
        enrollment_policy.scope(actor)
        .filter(partner=actor.partner_id, user=actor.user)
        .order_by()
        # Grouped by the enrollment's key, so its cycle may be read in the count's filter.
        .values_list("pk", "course_id", "completed_at", "last_lesson_id")
        # One row per completion joined (no other join): nothing to count twice.
        .annotate(done=Count("completions", filter=Q(completions__cycle=F("cycle"))))
    )


# The catalogue's two personal reads, compiled once per shape (prm.statements): building them
# through the ORM on every request was a sixth of the page's CPU.
_PROGRESS = Statement("training.my_progress", _progress_rows)


def my_progress(*, actor: Actor) -> dict[int, CourseProgress]:
    """The learner's own progress in each course they enrolled in, by course id (one query
    through the enrollment policy; never kept)."""
    return {
        course_id: CourseProgress(done=done, completed_at=completed_at, last_lesson_id=last_lesson_id)
        for _pk, course_id, completed_at, last_lesson_id, done in _PROGRESS.rows(actor)
    }


def course_get(*, actor: Actor, pk: Any) -> Course:
    """A course with its lessons: for a partner user one offered to them, for an author any
    (their preview); anything else is a 404."""
    return course_policy.get_or_404(actor, Course.objects.prefetch_related("lessons"), pk=pk)


def lesson_get(*, actor: Actor, pk: Any) -> Lesson:
    """A lesson of a course the actor may open (only its id and course: the page reads the
    lessons with the course); anything else is a 404."""
    return lesson_policy.get_or_404(actor, Lesson.objects.only("pk", "course_id"), pk=pk)


def quiz_of(*, course: Course) -> Quiz | None:
    """The quiz of a course the caller obtained through :func:`course_get`, with its number of
    questions."""
    return (
        Quiz.objects.filter(course=course)
        .select_related("course")
        .annotate(question_count=Count("questions"))
        .first()
    )


def attempt_questions(*, attempt: QuizAttempt) -> dict[int, Question]:
    """The questions (with their choices) of an attempt obtained through :func:`attempt_get`."""
    return {
        question.pk: question
        for question in Question.objects.filter(pk__in=attempt.question_order).prefetch_related("choices")
    }


def course_certifications(*, course: Course) -> list[Certification]:
    """The published certifications that require a course (the course page lists them)."""
    return list(course.certifications.filter(status=PublishStatus.PUBLISHED))


def certifications_offered(*, actor: Actor) -> QuerySet[Certification]:
    """The certifications shown to the actor, with their required courses."""
    return certification_policy.scope(actor).prefetch_related("courses")


def learning_paths(*, actor: Actor) -> QuerySet[LearningPath]:
    """The learning paths of the actor's role; each path's ``steps`` are only the courses
    offered to the actor, in order (a draft or another role's course is left out)."""
    steps = LearningPathCourse.objects.filter(course_policy.offered(actor, prefix="course__")).select_related(
        "course"
    )
    return learning_path_policy.scope(actor).prefetch_related(
        Prefetch("learningpathcourse_set", queryset=steps, to_attr="steps")
    )


def learning_path_steps(*, actor: Actor) -> list[LearningPath]:
    """:func:`learning_paths` in one query, keeping only the paths with a course offered to the
    actor (what the catalogue shows): the steps with their path and course, grouped in order."""
    steps = (
        LearningPathCourse.objects.filter(
            course_policy.offered(actor, prefix="course__"), path__in=learning_path_policy.scope(actor)
        )
        .select_related("path", "course")
        .order_by("path__partner_role", "path__name", "path_id", "position")
    )
    paths: dict[int, LearningPath] = {}
    for step in steps:
        path = paths.setdefault(step.path_id, step.path)
        if not hasattr(path, "steps"):
            path.steps = []
        path.steps.append(step)
    return list(paths.values())


def lesson_totals(*, course_ids: list[int]) -> dict[int, int]:
    """The number of lessons of each course."""
    return dict(
        Lesson.objects.filter(course_id__in=course_ids)
        .order_by()
        .values_list("course_id")
        .annotate(n=Count("pk"))
    )


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


class ListedAward(NamedTuple):
    """An award as a list of them shows it (the catalogue's panels): the certification's name,
    when, until when, whether valid."""

    pk: int
    certification_id: int
    certification_name: str
    awarded_at: datetime
    expires_at: datetime | None
    status: str

    @property
    def is_valid(self) -> bool:
        """As CertificationAward.is_valid."""
        return self.status == AwardStatus.ACTIVE and (
            self.expires_at is None or self.expires_at > timezone.now()
        )


# ListedAward's fields as the ORM names them.
_LISTED_AWARD_COLUMNS = (
    "pk",
    "certification_id",
    "certification__name",
    "awarded_at",
    "expires_at",
    "status",
)


def _listed_award_rows(actor: Actor) -> QuerySet[CertificationAward]:
    # The model's ordering (newest first) is kept.
    return award_policy.scope(actor).filter(user=actor.user).values_list(*_LISTED_AWARD_COLUMNS)


_LISTED_AWARDS = Statement("training.my_awards_listed", _listed_award_rows)


def my_awards_listed(*, actor: Actor) -> list[ListedAward]:
    """The actor's own awards (:func:`my_awards`), newest first, with only what a list of them
    shows: the catalogue reads them on every request, as a kept statement (prm.statements)."""
    return [ListedAward._make(row) for row in _LISTED_AWARDS.rows(actor)]


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


def team_by_course(*, actor: Actor, partner: Any) -> list[dict[str, Any]]:
    """The partner's enrollments and completions per course (the team progress chart)."""
    return list(
        enrollment_policy.scope(actor)
        .filter(partner=partner)
        .order_by("course__title")
        .values("course__title")
        .annotate(enrolled=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False)))
    )


def team_people_count(*, actor: Actor, partner: Any) -> int:
    """How many of the partner's people are enrolled in anything."""
    return enrollment_policy.scope(actor).filter(partner=partner).values("user").distinct().count()


def team_awards(*, actor: Actor, partner: Any) -> QuerySet[CertificationAward]:
    """The partner's certificates with their holders, by status and then the soonest to expire."""
    return (
        award_policy.scope(actor)
        .filter(partner=partner)
        .select_related("user", "certification")
        .order_by("status", "expires_at", "user__full_name")
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
    enrollments = enrollment_policy.scope(actor)
    rows = (
        enrollments.order_by()
        .values("partner_id", "partner__legal_name", "partner__tier__name")
        .annotate(enrolled=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False)))
        .order_by("partner__legal_name")
    )
    return list(rows)


def completion_by_course(*, actor: Actor) -> list[dict[str, Any]]:
    return list(
        enrollment_policy.scope(actor)
        .order_by("course__title")
        .values("course_id", "course__title")
        .annotate(enrolled=Count("pk"), completed=Count("pk", filter=Q(completed_at__isnull=False)))
    )


def _valid_awards(actor: Actor) -> QuerySet[CertificationAward]:
    now = timezone.now()
    return (
        award_policy.scope(actor)
        .filter(status=AwardStatus.ACTIVE)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
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


# --- rows for the team-progress page and the completion report (also their CSV exports) -------
def team_progress_rows(enrollments: list[Enrollment]) -> list[dict[str, Any]]:
    """Each enrolment with its lessons done of the course's total and the learner's last activity,
    in two queries for the whole page (or export chunk)."""
    totals = lesson_totals(course_ids=list({enrollment.course_id for enrollment in enrollments}))
    last = last_activity(enrollments=enrollments)
    return [
        {
            "enrollment": enrollment,
            "done": enrollment.done,
            "total": totals.get(enrollment.course_id, 0),
            "percent": round(100 * enrollment.done / totals[enrollment.course_id])
            if totals.get(enrollment.course_id)
            else 0,
            "last_activity": last.get(enrollment.pk),
        }
        for enrollment in enrollments
    ]


def completion_rows(*, actor: Actor) -> list[dict[str, Any]]:
    """Completion per partner with its currently certified people (joined by partner id)."""
    report = completion_report(actor=actor)
    certified = certified_people_count(partner_ids=[row["partner_id"] for row in report])
    rows = []
    for row in report:
        enrolled, completed = row["enrolled"], row["completed"]
        rows.append(
            {
                "partner": row["partner__legal_name"],
                "tier": row["partner__tier__name"] or "",
                "enrolled": enrolled,
                "completed": completed,
                "rate": round(100 * completed / enrolled) if enrolled else 0,
                "certified": certified.get(row["partner_id"], 0),
            }
        )
    return rows
