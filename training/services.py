"""Writes for training: authoring lessons, publishing, progress, quiz attempts graded on the server,
certification awards, reminders and expiry. Tampering with an attempt gets a clear refusal and
changes nothing.

Every audited change of an existing row (publishing, completing a course, grading or timing out an
attempt, a reset, an expiry) goes through the kernel's mechanism (prm.transitions: lock, allowed
move, audit, side effects after commit) plus its own rules. Courses and awards have a status and
declare their moves on the model; an enrollment and an attempt have none (completion and grading
are timestamps and a score), so theirs are audited changes without a state move."""

from __future__ import annotations

import random
import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import nh3
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, QuerySet
from django.urls import reverse
from django.utils import timezone

from prm import audit, transitions
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.i18n import ngettext
from prm.notifications import notify
from prm.policies import PermissionDenied
from prm.tenancy import Actor

from .models import (
    AwardStatus,
    Certification,
    CertificationAward,
    Course,
    Enrollment,
    Lesson,
    LessonCompletion,
    PublishStatus,
    Question,
    QuestionKind,
    Quiz,
    QuizAttempt,
)
from .policies import AUTHOR, RESET_ATTEMPTS, course_policy, enrollment_policy

# A submission this late after the time limit still counts (network, a slow click).
GRACE = timedelta(seconds=30)
ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "ul",
    "ol",
    "li",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "code",
    "pre",
    "a",
    "img",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
    "span",
}


# Attributes that make the browser fetch something as soon as the lesson is shown (only ``img``'s
# ``src`` is allowed today; the others are listed so that allowing a tag later cannot open a way).
FETCHING_ATTRIBUTES = {"src", "srcset", "poster", "background", "data", "lowsrc", "dynsrc"}
# Characters a browser drops from a URL before reading it ("/\t/host" is "//host").
_URL_IGNORED = re.compile(r"[\t\n\r]")
_URL_TRIMMED = "".join(chr(code) for code in range(0x21))


def _own_file_prefixes() -> tuple[str, ...]:
    """Where the portal's own files are: static files and our storage's URL, as paths on this
    site (or the absolute base a deployment configured for them)."""
    prefixes = []
    for base in (settings.STATIC_URL, settings.MEDIA_URL):
        if not base:
            continue
        if not base.startswith(("/", "http://", "https://")):
            base = "/" + base
        prefixes.append(base if base.endswith("/") else base + "/")
    return tuple(prefixes)


def _keep_own_files_only(element: str, attribute: str, value: str) -> str | None:
    """Lesson pages load nothing from elsewhere: a remote image (or a protocol-relative one) would
    tell its owner who read which lesson, and when. A fetching attribute keeps its value only when
    it points into the portal's own static files or storage; ``srcset`` lists several URLs and is
    never kept."""
    if attribute not in FETCHING_ATTRIBUTES:
        return value
    if attribute == "srcset":
        return None
    url = _URL_IGNORED.sub("", value).strip(_URL_TRIMMED)
    if url.startswith("//") or url.startswith("/\\"):
        return None
    return url if url.startswith(_own_file_prefixes()) else None


# nh3 writes every attribute as name="value" with any '"' (and '>') in the value escaped, so these
# match exactly the <img> tags of its output and, read from the left, their attribute names.
_IMG_TAG = re.compile(r'<img(?:\s+[^\s="]+="[^"]*")*\s*/?>')
_ATTRIBUTE = re.compile(r'\s([^\s="]+)="[^"]*"')


def sanitise_html(html: str) -> str:
    clean = nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        url_schemes={"http", "https", "mailto"},
        attribute_filter=_keep_own_files_only,
    )
    # An image whose source was removed above shows nothing worth keeping: drop the whole tag.
    return _IMG_TAG.sub(lambda tag: tag.group(0) if "src" in _ATTRIBUTE.findall(tag.group(0)) else "", clean)


def _require_author(actor: Actor) -> None:
    if not course_policy.can(actor, AUTHOR):
        raise PermissionDenied(_("Only training managers and program admins author courses."))


# What a lesson's author edits (the course admin's lesson rows), in the audit trail's before/after.
LESSON_FIELDS = ["position", "title", "body", "video_url", "attachment"]


def lesson_save(*, actor: Actor, lesson: Lesson) -> Lesson:
    """Create or edit a lesson of a course. The body is sanitised before it is stored, so what a
    learner's page shows is what the audit trail shows was saved."""
    _require_author(actor)
    lesson.body = sanitise_html(lesson.body)
    if lesson.pk is None:
        lesson.save()
        audit.record(
            actor=actor.user,
            action="training.lesson_created",
            target=lesson,
            after=audit.snapshot(lesson, LESSON_FIELDS),
        )
        return lesson
    before = Lesson.objects.select_for_update().get(pk=lesson.pk)
    changed = [name for name in LESSON_FIELDS if getattr(before, name) != getattr(lesson, name)]
    lesson.save()
    if changed:
        audit.record(
            actor=actor.user,
            action="training.lesson_changed",
            target=lesson,
            before=audit.snapshot(before, changed),
            after=audit.snapshot(lesson, changed),
        )
    return lesson


def lesson_delete(*, actor: Actor, lesson: Lesson) -> None:
    """Remove a lesson from its course; the audit trail keeps what it was."""
    _require_author(actor)
    audit.record(
        actor=actor.user,
        action="training.lesson_deleted",
        target=lesson,
        before=audit.snapshot(lesson, LESSON_FIELDS),
    )
    lesson.delete()


def course_publish(*, actor: Actor, course: Course) -> Course:
    _require_author(actor)
    course = transitions.lock(course)
    if not course.lessons.exists():
        raise ApplicationError(_("Add at least one lesson before publishing."))
    quiz = Quiz.objects.filter(course=course).first()
    if quiz is not None and not quiz.questions.exists():
        raise ApplicationError(_("Add at least one question to the quiz, or remove the quiz."))
    if quiz is not None:
        for question in quiz.questions.prefetch_related("choices"):
            correct = sum(1 for c in question.choices.all() if c.is_correct)
            if correct == 0 or (question.kind == QuestionKind.SINGLE and correct != 1):
                raise ApplicationError(
                    _(
                        "Question “%(q)s” needs exactly one right answer (single choice) "
                        "or at least one (multiple choice)."
                    )
                    % {"q": question.text[:60]}
                )
    if course.status == PublishStatus.PUBLISHED:
        return course  # publishing twice (a double click, two authors) is done once
    with transitions.transition(
        course, to=PublishStatus.PUBLISHED, actor=actor.user, action="training.course_published"
    ) as change:
        change.set(published_at=timezone.now())
    return course


def course_unpublish(*, actor: Actor, course: Course) -> Course:
    _require_author(actor)
    course = transitions.lock(course)
    if course.status == PublishStatus.DRAFT:
        return course
    with transitions.transition(
        course, to=PublishStatus.DRAFT, actor=actor.user, action="training.course_unpublished"
    ):
        pass  # taking a course back to draft has no rules beyond who may author it
    return course


# --- Learning ------------------------------------------------------------------------------------
def _require_learner(actor: Actor, course: Course) -> None:
    if not actor.is_partner:
        raise PermissionDenied(_("Courses are taken by partner users."))
    if course.status != PublishStatus.PUBLISHED or actor.partner_role not in course.partner_roles:
        raise ApplicationError(_("This course is not available."))


def enroll(*, actor: Actor, course: Course) -> Enrollment:
    """Idempotent: the learner's one enrollment in the course."""
    _require_learner(actor, course)
    enrollment = Enrollment.objects.filter(user=actor.user, course=course).first()
    if enrollment is not None:
        return enrollment
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(
                user=actor.user, partner_id=actor.partner_id, course=course
            )
    except IntegrityError:
        return Enrollment.objects.get(user=actor.user, course=course)
    audit.record(actor=actor.user, action="training.enrolled", target=enrollment, partner_id=actor.partner_id)
    return enrollment


def lesson_complete(*, actor: Actor, lesson: Lesson) -> Enrollment:
    enrollment = enroll(actor=actor, course=lesson.course)
    enrollment = transitions.lock(enrollment, related=("course",))
    LessonCompletion.objects.get_or_create(
        enrollment=enrollment,
        lesson=lesson,
        cycle=enrollment.cycle,
        defaults={"partner_id": enrollment.partner_id},
    )
    enrollment.last_lesson = lesson
    enrollment.save(update_fields=["last_lesson"])
    _complete_if_done(actor, enrollment)
    return enrollment


def lessons_done(enrollment: Enrollment) -> bool:
    total = enrollment.course.lessons.count()
    done = LessonCompletion.objects.filter(enrollment=enrollment, cycle=enrollment.cycle).count()
    return done >= total


def _quiz_passed(enrollment: Enrollment) -> bool:
    if not Quiz.objects.filter(course_id=enrollment.course_id).exists():
        return True
    return QuizAttempt.objects.filter(enrollment=enrollment, cycle=enrollment.cycle, passed=True).exists()


def _complete_if_done(actor: Actor, enrollment: Enrollment) -> None:
    """Complete the locked ``enrollment`` once its lessons are done and its quiz (if any) passed."""
    if enrollment.completed_at or not lessons_done(enrollment) or not _quiz_passed(enrollment):
        return
    with transitions.transition(
        enrollment,
        actor=actor.user,
        action="training.course_completed",
        snapshot=(),
        partner_id=enrollment.partner_id,
    ) as change:
        change.set(completed_at=timezone.now())
        change.audit_extra["course"] = enrollment.course.title
    award_certifications(user=actor.user, partner_id=enrollment.partner_id)


# --- Quizzes -------------------------------------------------------------------------------------
def counted_attempts(enrollment: Enrollment) -> QuerySet[QuizAttempt]:
    """The attempts of the enrollment's current cycle that count against ``max_attempts``: every
    one started (an open one too), except those a training manager reset."""
    return QuizAttempt.objects.filter(enrollment=enrollment, cycle=enrollment.cycle, reset_at__isnull=True)


def attempts_left(enrollment: Enrollment, quiz: Quiz) -> int:
    return max(quiz.max_attempts - counted_attempts(enrollment).count(), 0)


def attempt_start(*, actor: Actor, quiz: Quiz, rng: random.Random | None = None) -> QuizAttempt:
    enrollment = enroll(actor=actor, course=quiz.course)
    enrollment = transitions.lock(enrollment)
    if not lessons_done(enrollment):
        raise ApplicationError(_("Finish the lessons before taking the quiz."))
    if _quiz_passed(enrollment):
        raise ApplicationError(_("You already passed this quiz."))
    open_attempt = QuizAttempt.objects.filter(
        enrollment=enrollment, cycle=enrollment.cycle, submitted_at__isnull=True
    ).first()
    if open_attempt is not None and (
        open_attempt.deadline_at is None or open_attempt.deadline_at + GRACE > timezone.now()
    ):
        return open_attempt  # resume, do not burn an attempt
    # Refused before anything is written (an open attempt counts already, closing it changes no
    # count): a refused start leaves the database as it was.
    if attempts_left(enrollment, quiz) <= 0:
        raise ApplicationError(
            _("You have used all %(n)s attempts for this quiz.") % {"n": quiz.max_attempts}
        )
    if open_attempt is not None:
        # Ran out of time while away. Locked and read again: a submission that got there first
        # has closed it already.
        open_attempt = transitions.lock(open_attempt)
        if open_attempt.submitted_at is None:
            _close_as_failed(open_attempt, timezone.now())
    rng = rng or random.SystemRandom()
    questions = list(quiz.questions.prefetch_related("choices"))
    rng.shuffle(questions)
    choice_order = {}
    for question in questions:
        ids = [c.pk for c in question.choices.all()]
        rng.shuffle(ids)
        choice_order[str(question.pk)] = ids
    number = (
        QuizAttempt.objects.filter(enrollment=enrollment, cycle=enrollment.cycle).aggregate(n=Max("number"))[
            "n"
        ]
        or 0
    ) + 1
    now = timezone.now()
    attempt = QuizAttempt.objects.create(
        enrollment=enrollment,
        partner_id=enrollment.partner_id,
        quiz=quiz,
        cycle=enrollment.cycle,
        number=number,
        question_order=[q.pk for q in questions],
        choice_order=choice_order,
        started_at=now,
        deadline_at=now + timedelta(minutes=quiz.time_limit_minutes) if quiz.time_limit_minutes else None,
    )
    return attempt


def _close_as_failed(attempt: QuizAttempt, now: Any) -> None:
    """Close the locked, open ``attempt`` whose time ran out as not passed."""
    with transitions.transition(
        attempt, actor=None, action="training.quiz_timed_out", snapshot=(), partner_id=attempt.partner_id
    ) as change:
        change.set(submitted_at=now, score_percent=Decimal("0"), passed=False)
        change.audit_extra.update({"score": "0", "passed": False, "number": attempt.number})


def grade(attempt: QuizAttempt, answers: dict[str, list[int]]) -> Decimal:
    """Percentage of questions answered exactly right. A multiple-choice question counts only when
    the chosen set equals the right set: partial answers score nothing."""
    questions = Question.objects.filter(pk__in=attempt.question_order).prefetch_related("choices")
    correct = 0
    for question in questions:
        right = {c.pk for c in question.choices.all() if c.is_correct}
        chosen = set(answers.get(str(question.pk), []))
        if chosen == right:
            correct += 1
    total = len(attempt.question_order) or 1
    return (Decimal(correct * 100) / Decimal(total)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def attempt_submit(*, actor: Actor, attempt: QuizAttempt, answers: dict[str, list[int]]) -> QuizAttempt:
    attempt = transitions.lock(attempt, related=("enrollment", "quiz"))
    if attempt.enrollment.user_id != (actor.user.pk if actor.user else None):
        raise PermissionDenied(_("This attempt is not yours."))
    if attempt.submitted_at is not None:
        raise ApplicationError(
            _("This attempt was already submitted; start a new one if you have attempts left.")
        )
    now = timezone.now()
    if attempt.deadline_at and now > attempt.deadline_at + GRACE:
        # Out of time: the attempt closes as not passed, whatever was sent. Returned, not raised,
        # so the caller's transaction keeps the closure; the view tells the learner.
        _close_as_failed(attempt, now)
        attempt.timed_out = True
        return attempt
    allowed = {str(qid): set(choice_ids) for qid, choice_ids in attempt.choice_order.items()}
    clean: dict[str, list[int]] = {}
    for question_id, choice_ids in (answers or {}).items():
        if str(question_id) not in allowed:
            raise ApplicationError(_("The answers do not match this attempt's questions. Reload the quiz."))
        try:
            chosen = sorted({int(c) for c in choice_ids})
        except (TypeError, ValueError) as exc:
            raise ApplicationError(_("The answers could not be read. Reload the quiz.")) from exc
        if not set(chosen) <= allowed[str(question_id)]:
            raise ApplicationError(_("The answers do not match this attempt's questions. Reload the quiz."))
        clean[str(question_id)] = chosen
    score = grade(attempt, clean)
    passed = score >= attempt.quiz.pass_mark_percent
    with transitions.transition(
        attempt,
        actor=actor.user,
        action="training.quiz_submitted",
        snapshot=(),
        partner_id=attempt.partner_id,
    ) as change:
        change.set(answers=clean, submitted_at=now, score_percent=score, passed=passed)
        change.audit_extra.update({"score": score, "passed": passed, "number": attempt.number})
    if attempt.passed:
        _complete_if_done(actor, transitions.lock(attempt.enrollment, related=("course",)))
    return attempt


def attempts_reset(*, actor: Actor, enrollment: Enrollment, quiz: Quiz, reason: str) -> int:
    """Give a learner who failed a quiz their attempts back; returns how many were reset.

    The failed attempts of the current cycle stop counting against ``max_attempts`` but are kept
    (``reset_at``/``reset_by``): what the learner answered and scored is evidence. An attempt whose
    time ran out is closed as not passed first (as the learner's next start would) and reset with
    the others, so it does not cost one of the fresh attempts. An attempt still running is left
    alone: the learner may be answering it right now; it keeps counting and can be resumed, so the
    learner still has ``max_attempts`` tries from here. Refused, changing nothing, when the quiz is
    already passed in this cycle, when nothing is left to reset, or without a reason.
    """
    if not enrollment_policy.can(actor, RESET_ATTEMPTS, enrollment):
        raise PermissionDenied(
            _(
                "Only training managers, program admins and the partner's channel account manager "
                "reset quiz attempts."
            )
        )
    if quiz.course_id != enrollment.course_id:
        raise ApplicationError(_("This quiz does not belong to the learner's course."))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            _("Give a reason for the reset; it is kept in the audit trail."), field="reason"
        )

    # Lock order: the enrollment (which attempt_start and other resets lock first), then the
    # graded attempts. A submission locks its own open attempt and, when it passes, the
    # enrollment; the graded-attempts query never waits on an open attempt (it does not match
    # ``submitted_at IS NOT NULL`` in our snapshot), so the two cannot deadlock.
    enrollment = transitions.lock(enrollment, related=("user", "course"))
    learner = enrollment.user.get_full_name()
    graded = list(
        counted_attempts(enrollment).select_for_update().filter(submitted_at__isnull=False).order_by("number")
    )
    if any(attempt.passed for attempt in graded):
        raise ApplicationError(
            _("%(learner)s already passed the quiz of “%(course)s”; there is nothing to reset.")
            % {"learner": learner, "course": enrollment.course.title}
        )
    left_before = attempts_left(enrollment, quiz)
    now = timezone.now()
    # skip_locked: an expired attempt being submitted right now is closed by that submission.
    for expired in (
        counted_attempts(enrollment)
        .select_for_update(skip_locked=True)
        .filter(submitted_at__isnull=True, deadline_at__lte=now - GRACE)
        .order_by("number")
    ):
        # Already locked by the query above (so this does not wait): lock() marks it for the kernel.
        expired = transitions.lock(expired)
        _close_as_failed(expired, now)
        graded.append(expired)
    to_reset = sorted((attempt for attempt in graded if attempt.passed is False), key=lambda a: a.number)
    if not to_reset:
        raise ApplicationError(
            _("%(learner)s has no used attempts to reset for the quiz of “%(course)s”.")
            % {"learner": learner, "course": enrollment.course.title}
        )

    # The enrollment's own row does not change: the reset marks its attempts, and is audited on
    # the enrollment with how many attempts the learner had before and has now.
    with transitions.transition(
        enrollment,
        actor=actor.user,
        action="training.quiz_attempts_reset",
        snapshot=(),
        partner_id=enrollment.partner_id,
        reason=reason,
    ) as change:
        QuizAttempt.objects.filter(pk__in=[attempt.pk for attempt in to_reset]).update(
            reset_at=now, reset_by=actor.user
        )
        left_after = attempts_left(enrollment, quiz)
        change.audit_before["attempts_left"] = left_before
        change.audit_extra.update(
            {
                "attempts_left": left_after,
                "reset_attempts": [attempt.number for attempt in to_reset],
                "quiz": quiz.pk,
                "cycle": enrollment.cycle,
            }
        )
    # The reason stays in the audit trail: it is the vendor's note, not a message to the learner.
    notify(
        recipient=enrollment.user,
        kind="training.quiz_attempts_reset",
        partner_id=enrollment.partner_id,
        title=_("You can take the quiz of “%(course)s” again") % {"course": enrollment.course.title},
        body=ngettext(
            "Your earlier attempts were reset and no longer count: you have %(n)s attempt.",
            "Your earlier attempts were reset and no longer count: you have %(n)s attempts.",
            left_after,
        )
        % {"n": left_after},
        url=reverse("training:course", args=[enrollment.course_id]),
    )
    return len(to_reset)


# --- Certifications ----------------------------------------------------------------------------
def award_certifications(*, user: Any, partner_id: int) -> list[CertificationAward]:
    """Award every published certification whose required courses the user has completed in the
    current cycle. Idempotent: one award per user, certification and cycle."""
    completed = set(
        Enrollment.objects.filter(user=user, completed_at__isnull=False).values_list("course_id", flat=True)
    )
    awarded = []
    for certification in Certification.objects.filter(status=PublishStatus.PUBLISHED).prefetch_related(
        "courses"
    ):
        required = {c.pk for c in certification.courses.all()}
        if not required or not required <= completed:
            continue
        cycle = max(
            Enrollment.objects.filter(user=user, course_id__in=required).values_list("cycle", flat=True)
        )
        if CertificationAward.objects.filter(user=user, certification=certification, cycle=cycle).exists():
            continue
        now = timezone.now()
        expires = (
            now + relativedelta(months=certification.validity_months)
            if certification.validity_months
            else None
        )
        try:
            with transaction.atomic():
                award = CertificationAward.objects.create(
                    user=user,
                    partner_id=partner_id,
                    certification=certification,
                    cycle=cycle,
                    awarded_at=now,
                    expires_at=expires,
                )
        except IntegrityError:
            continue
        audit.record(
            actor=user,
            action="training.certified",
            target=award,
            partner_id=partner_id,
            after={"certification": certification.name, "expires_at": expires},
        )
        notify(
            recipient=user,
            kind="training.certified",
            partner_id=partner_id,
            title=_("You are now certified: %(name)s") % {"name": certification.name},
            url=reverse("training:certificate", args=[award.pk]),
        )
        awarded.append(award)
    return awarded


def award_remind(*, award: CertificationAward, days: int) -> bool:
    award = transitions.lock(award, related=("certification", "user"))
    if award.status != AwardStatus.ACTIVE or days in award.reminders_sent:
        return False
    award.reminders_sent = sorted({*award.reminders_sent, days}, reverse=True)
    award.save(update_fields=["reminders_sent"])
    notify(
        recipient=award.user,
        kind="training.expiring",
        partner_id=award.partner_id,
        title=_("%(name)s expires in %(days)s days") % {"name": award.certification.name, "days": days},
        body=_("Take the required courses again to recertify."),
        url=reverse("training:catalogue"),
    )
    return True


def award_expire(*, award: CertificationAward, now: Any = None) -> bool:
    """Expire a certification and restart its required courses (a new cycle). Idempotent."""
    now = now or timezone.now()
    award = transitions.lock(award, related=("certification", "user"))
    if award.status != AwardStatus.ACTIVE or award.expires_at is None or award.expires_at > now:
        return False  # idempotent: already expired, or not due yet
    with transitions.transition(
        award,
        to=AwardStatus.EXPIRED,
        actor=None,
        action="training.certification_expired",
        partner_id=award.partner_id,
    ):
        # The holder recertifies by taking the required courses again: a new cycle of each.
        course_ids = list(award.certification.courses.values_list("pk", flat=True))
        for enrollment in Enrollment.objects.select_for_update().filter(
            user=award.user, course_id__in=course_ids
        ):
            enrollment.cycle += 1
            enrollment.completed_at = None
            enrollment.last_lesson = None
            enrollment.save(update_fields=["cycle", "completed_at", "last_lesson"])
    notify(
        recipient=award.user,
        kind="training.expired",
        partner_id=award.partner_id,
        title=_("%(name)s has expired") % {"name": award.certification.name},
        body=_("Its courses are open again: complete them to recertify."),
        url=reverse("training:catalogue"),
    )
    return True


def reminder_days() -> list[int]:
    return sorted(settings.PRM["CERTIFICATION_REMINDER_DAYS"], reverse=True)
