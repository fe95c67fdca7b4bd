"""Training and certification: courses of ordered lessons with a quiz, certifications that
require courses, learner progress, quiz attempts graded on the server, awarded certificates with a
public verification code."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import Partner, PartnerRole
from prm.search_vectors import search_vector_field
from prm.transitions import StateMachine


class PublishStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


# A course is published (checked for lessons and right answers) and taken back to draft by its
# authors; services.course_publish / course_unpublish are the only moves.
PUBLISH_TRANSITIONS: dict[str, set[str]] = {
    PublishStatus.DRAFT: {PublishStatus.PUBLISHED},
    PublishStatus.PUBLISHED: {PublishStatus.DRAFT},
}


def _roles_default() -> list[str]:
    return list(PartnerRole.values)


class Course(models.Model):
    """Vendor content, not tenant-owned: every entitled partner user takes the same course."""

    TRANSITIONS = StateMachine(
        PUBLISH_TRANSITIONS, refusal=_("A course that is %(current)s cannot become %(target)s.")
    )

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    summary = models.TextField(_("summary"), blank=True)
    status = models.CharField(max_length=12, choices=PublishStatus.choices, default=PublishStatus.DRAFT)
    partner_roles = ArrayField(
        models.CharField(max_length=16, choices=PartnerRole.choices),
        default=_roles_default,
        help_text=_("Partner roles the course is meant for."),
    )
    estimated_minutes = models.PositiveIntegerField(_("estimated minutes"), default=30)
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # The one search box (prm.search).
    search_vector = search_vector_field("title", "summary")

    class Meta:
        ordering = ["title"]
        indexes = [
            models.Index(fields=["status"], name="course_status_idx"),
            GinIndex(fields=["search_vector"], name="course_search_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class Lesson(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lessons")
    position = models.PositiveSmallIntegerField(_("position"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("content (HTML)"), blank=True, help_text=_("Sanitised when saved."))
    video_url = models.URLField(_("video link"), blank=True)
    attachment = models.FileField(_("downloadable file"), upload_to="training/lessons/", blank=True)

    class Meta:
        ordering = ["course", "position"]
        constraints = [models.UniqueConstraint(fields=["course", "position"], name="lesson_unique_position")]

    def __str__(self) -> str:
        return f"{self.course}: {self.position}. {self.title}"


class Quiz(models.Model):
    course = models.OneToOneField(Course, on_delete=models.CASCADE, related_name="quiz")
    pass_mark_percent = models.PositiveSmallIntegerField(
        _("pass mark %"), default=80, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    max_attempts = models.PositiveSmallIntegerField(
        _("attempts allowed"), default=3, validators=[MinValueValidator(1)]
    )
    time_limit_minutes = models.PositiveSmallIntegerField(_("time limit (minutes)"), null=True, blank=True)

    class Meta:
        verbose_name_plural = _("quizzes")

    def __str__(self) -> str:
        return _("Quiz: %(course)s") % {"course": self.course}


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")


class Question(models.Model):
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    kind = models.CharField(max_length=10, choices=QuestionKind.choices, default=QuestionKind.SINGLE)

    class Meta:
        ordering = ["quiz", "position"]

    def __str__(self) -> str:
        return self.text[:80]


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(max_length=300)
    # Never sent to the browser before the attempt is graded.
    is_correct = models.BooleanField(default=False)

    class Meta:
        ordering = ["question", "pk"]

    def __str__(self) -> str:
        return self.text


class Certification(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    courses = models.ManyToManyField(
        Course, related_name="certifications", verbose_name=_("required courses")
    )
    validity_months = models.PositiveSmallIntegerField(
        _("valid for (months)"),
        null=True,
        blank=True,
        choices=[(12, "12"), (24, "24"), (36, "36")],
        help_text=_("Empty: does not expire."),
    )
    partner_roles = ArrayField(
        models.CharField(max_length=16, choices=PartnerRole.choices), default=_roles_default
    )
    status = models.CharField(max_length=12, choices=PublishStatus.choices, default=PublishStatus.DRAFT)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class LearningPath(models.Model):
    name = models.CharField(max_length=200)
    partner_role = models.CharField(max_length=16, choices=PartnerRole.choices)
    courses = models.ManyToManyField(Course, through="LearningPathCourse", related_name="paths")

    class Meta:
        ordering = ["partner_role", "name"]

    def __str__(self) -> str:
        return self.name


class LearningPathCourse(models.Model):
    path = models.ForeignKey(LearningPath, on_delete=models.CASCADE)
    course = models.ForeignKey(Course, on_delete=models.CASCADE)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["path", "position"]
        constraints = [models.UniqueConstraint(fields=["path", "course"], name="learningpath_course_once")]

    def __str__(self) -> str:
        return f"{self.path} {self.position}: {self.course}"


# --- Progress (tenant-owned) ---------------------------------------------------------------------
class Enrollment(models.Model):
    """A learner in a course. ``cycle`` grows when a certification expires and the learner must
    take its courses again; completions and attempts belong to one cycle."""

    TENANT_COLUMN = "partner_id"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="enrollments")
    cycle = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    last_lesson = models.ForeignKey(
        Lesson, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [models.UniqueConstraint(fields=["user", "course"], name="enrollment_once_per_course")]
        indexes = [models.Index(fields=["partner", "course"], name="enrollment_partner_idx")]

    def __str__(self) -> str:
        return f"{self.user} in {self.course}"


class LessonCompletion(models.Model):
    TENANT_COLUMN = "partner_id"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="completions")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="+")
    cycle = models.PositiveSmallIntegerField(default=1)
    completed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "lesson", "cycle"], name="lesson_completed_once_per_cycle"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enrollment}: lesson {self.lesson_id}"


class QuizAttempt(models.Model):
    """One attempt. The question and choice order is fixed when it starts (shuffled), and the
    page gets no hint of which choice is right; grading happens on the server.

    A training manager may reset a learner's failed attempts (``services.attempts_reset``). The
    rows stay, as evidence of what was answered and scored; ``reset_at`` only takes them out of
    the count against ``Quiz.max_attempts``."""

    TENANT_COLUMN = "partner_id"

    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="attempts")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    quiz = models.ForeignKey(Quiz, on_delete=models.PROTECT, related_name="attempts")
    cycle = models.PositiveSmallIntegerField(default=1)
    number = models.PositiveSmallIntegerField()
    question_order = models.JSONField(default=list)
    choice_order = models.JSONField(default=dict)
    started_at = models.DateTimeField(default=timezone.now)
    deadline_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    score_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    passed = models.BooleanField(null=True)
    reset_at = models.DateTimeField(_("reset"), null=True, blank=True)
    # SET_NULL: the attempt is the learner's evidence and outlives the manager's account; the
    # audit event keeps who reset it by name.
    reset_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("reset by"),
    )

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "cycle", "number"], name="attempt_number_once"),
            # Only a graded, failed attempt can be reset: a pass is never taken back this way, and
            # an attempt still running is never voided under the learner.
            models.CheckConstraint(
                condition=models.Q(reset_at__isnull=True)
                | models.Q(submitted_at__isnull=False, passed=False),
                name="attempt_reset_only_when_failed",
            ),
        ]

    def __str__(self) -> str:
        return f"Attempt {self.number} of {self.enrollment}"

    @property
    def is_reset(self) -> bool:
        return self.reset_at is not None


def _verification_code() -> str:
    return secrets.token_hex(6).upper()


class AwardStatus(models.TextChoices):
    ACTIVE = "active", _("Valid")
    EXPIRED = "expired", _("Expired")


# An award expires once (services.award_expire); recertifying is a new award in a new cycle.
AWARD_TRANSITIONS: dict[str, set[str]] = {
    AwardStatus.ACTIVE: {AwardStatus.EXPIRED},
    AwardStatus.EXPIRED: set(),
}


class CertificationAward(models.Model):
    TENANT_COLUMN = "partner_id"
    TRANSITIONS = StateMachine(
        AWARD_TRANSITIONS, refusal=_("A certificate that is %(current)s cannot become %(target)s.")
    )

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certifications"
    )
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    certification = models.ForeignKey(Certification, on_delete=models.PROTECT, related_name="awards")
    cycle = models.PositiveSmallIntegerField(default=1)
    awarded_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=AwardStatus.choices, default=AwardStatus.ACTIVE)
    verification_code = models.CharField(max_length=16, unique=True, default=_verification_code)
    reminders_sent = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-awarded_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "certification", "cycle"], name="award_once_per_cycle")
        ]
        indexes = [
            models.Index(fields=["partner", "status"], name="award_partner_status_idx"),
            models.Index(fields=["status", "expires_at"], name="award_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.certification} — {self.user}"

    @property
    def is_valid(self) -> bool:
        return self.status == AwardStatus.ACTIVE and (
            self.expires_at is None or self.expires_at > timezone.now()
        )
