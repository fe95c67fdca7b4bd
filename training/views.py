"""Training pages: the partner's catalogue, the course player (lessons and the quiz), certificates
and their PDF, the partner admin's team progress, the vendor's completion report, and the public
verification page. Thin: selectors read (scoped by policy), services write, every
ApplicationError becomes a message (never a 500), and ids the actor cannot see are 404s.

Vendor training managers and program admins may open courses (drafts too) read-only, as a preview
from the admin; they never enroll."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlparse

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import engines
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from partners.ratelimit import hit_rate_limit
from prm import catalogue_cache, errors
from prm.jinja2 import url_with_pk
from prm.tenancy import Actor
from prm.views import paginate, partner_required, start_export, vendor_required

from . import certificates, selectors, services
from .forms import parse_answers
from .models import (
    CertificationAward,
    Enrollment,
    Lesson,
    PublishStatus,
    QuestionKind,
    QuizAttempt,
)
from .policies import AUTHOR, VIEW_TEAM_PROGRESS, award_policy, course_policy, enrollment_policy

# Certificates expiring within this many days are flagged on the partner's pages.
EXPIRY_WARNING_DAYS = 60
TEAM_PAGE_SIZE = 50

_YOUTUBE_HOSTS = {"www.youtube.com", "youtube.com", "www.youtube-nocookie.com", "youtube-nocookie.com"}
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{6,20}$")
_VIMEO_ID = re.compile(r"^\d{1,12}$")


# --- helpers ------------------------------------------------------------------------------------
def _is_author(actor: Actor) -> bool:
    return course_policy.can(actor, AUTHOR)


def video_embed_url(url: str) -> str | None:
    """An embeddable player URL for https YouTube and Vimeo links; None for anything else (shown
    as a plain link). The id is re-validated and the URL rebuilt, so nothing else gets through."""
    try:
        parsed = urlparse((url or "").strip())
    except ValueError:
        return None
    if parsed.scheme != "https":
        return None
    host = (parsed.hostname or "").lower()
    parts = [part for part in parsed.path.split("/") if part]
    video_id = ""
    if host in _YOUTUBE_HOSTS:
        if len(parts) == 2 and parts[0] == "embed":
            video_id = parts[1]
        elif parts == ["watch"]:
            video_id = (parse_qs(parsed.query).get("v") or [""])[0]
        if _YOUTUBE_ID.match(video_id):
            return f"https://www.youtube-nocookie.com/embed/{video_id}"
        return None
    if host == "youtu.be" and len(parts) == 1 and _YOUTUBE_ID.match(parts[0]):
        return f"https://www.youtube-nocookie.com/embed/{parts[0]}"
    if host == "player.vimeo.com" and len(parts) == 2 and parts[0] == "video" and _VIMEO_ID.match(parts[1]):
        return f"https://player.vimeo.com/video/{parts[1]}"
    if host in {"vimeo.com", "www.vimeo.com"} and len(parts) == 1 and _VIMEO_ID.match(parts[0]):
        return f"https://player.vimeo.com/video/{parts[0]}"
    return None


def safe_link(url: str) -> str:
    """The URL when it is a plain http(s) link; empty otherwise (no ``javascript:`` and the like)."""
    try:
        scheme = urlparse((url or "").strip()).scheme.lower()
    except ValueError:
        return ""
    return url.strip() if scheme in {"http", "https"} else ""


def _next_lesson(lessons: list[Lesson], current: Lesson | None) -> Lesson | None:
    if current is None:
        return lessons[0] if lessons else None
    return next((lesson for lesson in lessons if lesson.position > current.position), None)


def _previous_lesson(lessons: list[Lesson], current: Lesson) -> Lesson | None:
    earlier = [lesson for lesson in lessons if lesson.position < current.position]
    return earlier[-1] if earlier else None


def _continue_lesson(lessons: list[Lesson], enrollment: Enrollment | None, done: set[int]) -> Lesson | None:
    """Where the learner stopped: the lesson after the last one they opened or finished, else the
    first one not done yet. None when every lesson is done."""
    if enrollment is not None and enrollment.last_lesson_id:
        last = next((lesson for lesson in lessons if lesson.pk == enrollment.last_lesson_id), None)
        following = _next_lesson(lessons, last) if last else None
        if following is not None and following.pk not in done:
            return following
    return next((lesson for lesson in lessons if lesson.pk not in done), None)


def _awarded_since(actor: Actor, since: datetime) -> CertificationAward | None:
    return selectors.my_awards(actor=actor).filter(awarded_at__gte=since).order_by("-awarded_at").first()


def _certified_message(award: CertificationAward) -> str:
    return _("Congratulations, you are now certified: %(name)s.") % {"name": award.certification.name}


def _days_left(moment: datetime | None) -> int | None:
    return (moment - timezone.now()).days if moment else None


def _award_rows(awards: Any) -> list[dict[str, Any]]:
    rows = []
    for award in awards:
        days_left = _days_left(award.expires_at)
        rows.append(
            {
                "award": award,
                "valid": award.is_valid,
                "days_left": days_left,
                "expiring": award.is_valid and days_left is not None and days_left <= EXPIRY_WARNING_DAYS,
            }
        )
    return rows


def _my_enrollments(actor: Actor) -> dict[int, Enrollment]:
    """The learner's enrollments with ``done`` (lessons completed in the current cycle)."""
    return {
        enrollment.course_id: enrollment
        for enrollment in selectors.team_progress(actor=actor, partner=actor.partner).filter(user=actor.user)
    }


def _certification_rows(
    actor: Actor, enrollments: dict[int, Enrollment], awards: list[CertificationAward]
) -> list[dict[str, Any]]:
    """Published certifications for the learner's role and how far the learner is with each
    (``awards``: the learner's awards, from :func:`selectors.my_awards`)."""
    certifications = selectors.certifications_offered(actor=actor)
    # Oldest first, so that the latest valid award of a certification is the one kept.
    held = {
        award.certification_id: award
        for award in sorted(awards, key=lambda award: award.awarded_at)
        if award.is_valid
    }
    rows = []
    for certification in certifications:
        courses = [
            {
                "course": course,
                "done": bool(enrollments.get(course.pk) and enrollments[course.pk].completed_at),
                "published": course.status == PublishStatus.PUBLISHED,
                "for_role": (actor.partner_role or "") in course.partner_roles,
            }
            for course in certification.courses.all()
        ]
        rows.append(
            {
                "certification": certification,
                "courses": courses,
                "done": sum(1 for item in courses if item["done"]),
                "award": held.get(certification.pk),
            }
        )
    return rows


# --- Catalogue ----------------------------------------------------------------------------------
class _Row:
    """A row of the catalogue's context: an object (Jinja2 looks attributes up first, a dict's keys
    only after a failed attribute lookup), read by key too, as the dicts it replaced were."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


@dataclass(slots=True)
class _CourseCard(_Row):
    """A course of the catalogue with the learner's progress in it, and what its card prints
    worked out here once rather than by the template for each card."""

    course: selectors.OfferedCourse
    url: str
    enrolled: bool
    completed: bool
    percent: int
    resume_id: int | None  # the lesson the Start / Continue button opens
    resume_url: str | None
    lessons: str  # "3 lessons"
    minutes: str  # "45 min"


def _course_cards(
    courses: tuple[selectors.OfferedCourse, ...], progress: dict[int, selectors.CourseProgress]
) -> list[_CourseCard]:
    course_url, lesson_url = url_with_pk("training:course"), url_with_pk("training:lesson")
    # The texts of a count, translated once for each count (most courses share theirs); the
    # template escapes them.
    lessons_text: dict[int, str] = {}
    minutes_text: dict[int, str] = {}
    cards = []
    for course in courses:
        mine = progress.get(course.pk)
        lesson_ids = course.lesson_ids
        last = mine.last_lesson_id if mine is not None else None
        if last:
            # The lesson after the last one opened (none after the last lesson, or when the last
            # one opened is no longer in the course).
            following = lesson_ids.index(last) + 1 if last in lesson_ids else len(lesson_ids)
            resume_id = lesson_ids[following] if following < len(lesson_ids) else None
        else:
            resume_id = lesson_ids[0] if lesson_ids else None
        done = mine.done if mine is not None else 0
        count, minutes = course.lesson_count, course.estimated_minutes
        if count not in lessons_text:
            lessons_text[count] = ngettext("%(n)s lesson", "%(n)s lessons", count) % {"n": count}
        if minutes not in minutes_text:
            minutes_text[minutes] = _("%(m)s min") % {"m": minutes}
        cards.append(
            _CourseCard(
                course=course,
                url=course_url(course.pk),
                enrolled=mine is not None,
                completed=mine is not None and mine.completed_at is not None,
                percent=round(100 * done / count) if count else 0,
                resume_id=resume_id,
                resume_url=lesson_url(resume_id) if resume_id else None,
                lessons=lessons_text[count],
                minutes=minutes_text[minutes],
            )
        )
    return cards


@dataclass(slots=True)
class _Step(_Row):
    """A course of a learning path or a certification's list, and whether the learner completed
    it."""

    course: selectors.CourseRef
    done: bool


@dataclass(slots=True)
class _PathRow(_Row):
    path: selectors.OfferedPath
    steps: list[_Step]
    done: int


@dataclass(slots=True)
class _CertificationRow(_Row):
    certification: selectors.OfferedCertification
    courses: list[_Step]
    done: int
    award: selectors.ListedAward | None  # the valid award held, if any
    validity: str | None  # "Valid for 24 months"; None: it does not expire
    progress: str  # "1 of 3 courses"


def _catalogue_paths(paths: tuple[selectors.OfferedPath, ...], completed: set[int]) -> list[_PathRow]:
    rows = []
    for path in paths:
        steps = [_Step(step, step.pk in completed) for step in path.steps]
        rows.append(_PathRow(path, steps, sum(1 for step in steps if step.done)))
    return rows


def _catalogue_certifications(
    certifications: tuple[selectors.OfferedCertification, ...],
    completed: set[int],
    awards: list[selectors.ListedAward],
) -> list[_CertificationRow]:
    """Each certification offered with the learner's progress towards it and the award held."""
    # Oldest first, so that the latest valid award of a certification is the one kept.
    held = {
        award.certification_id: award
        for award in sorted(awards, key=lambda award: award.awarded_at)
        if award.is_valid
    }
    # Translated once for the list; the template escapes the texts.
    valid_for = _("Valid for %(months)s months")
    of_courses = _("%(done)s of %(total)s courses")
    rows = []
    for certification in certifications:
        courses = [_Step(course, course.pk in completed) for course in certification.courses]
        done = sum(1 for item in courses if item.done)
        months = certification.validity_months
        rows.append(
            _CertificationRow(
                certification=certification,
                courses=courses,
                done=done,
                award=held.get(certification.pk),
                validity=valid_for % {"months": months} if months else None,
                progress=of_courses % {"done": done, "total": len(courses)},
            )
        )
    return rows


@partner_required
def catalogue(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    # What every user of the role sees alike is kept (selectors.training_catalogue); the learner's
    # own progress and awards are read on every request, through the policies.
    offered = selectors.training_catalogue(actor=actor)
    progress = selectors.my_progress(actor=actor)
    completed = {course_id for course_id, mine in progress.items() if mine.completed_at is not None}
    courses = _course_cards(offered.courses, progress)
    # One read of the learner's awards (newest first) for both panels: the latest six, and the
    # certifications held.
    awards = selectors.my_awards_listed(actor=actor)
    context = {
        "actor": actor,
        "courses": courses,
        "awards": _award_rows(awards[:6]),
        "certifications": _catalogue_certifications(offered.certifications, completed, awards),
        "paths": _catalogue_paths(offered.paths, completed),
        "completed_count": sum(1 for card in courses if card.completed),
        "in_progress_count": sum(1 for card in courses if card.enrolled and not card.completed),
    }
    # The page's body through Jinja2 (templates/jinja2/training/catalogue.html): through Django's
    # engine it was over half the page's time. base.html stays the frame. Rendered again only
    # when something it prints changed (_BODIES, prm.catalogue_cache.KeptBodies).
    shown = (
        actor.partner_role,
        translation.get_language(),
        timezone.get_current_timezone_name(),  # the awards' dates
        tuple(sorted(progress.items())),
        tuple((row["award"], row["valid"], row["days_left"], row["expiring"]) for row in context["awards"]),
        tuple((award, award.is_valid) for award in awards),  # the certifications held
    )
    context["body"] = _BODIES.get(offered, shown, lambda: _catalogue_body(request, context))
    return render(request, "training/catalogue.html", context)


# The catalogue bodies this process rendered last (the oldest forgotten first; up to ~70 KB each).
_BODIES = catalogue_cache.KeptBodies(64)


def _catalogue_body(request: HttpRequest, context: dict[str, Any]) -> SafeString:
    template = engines["jinja2"].get_template("training/catalogue.html")
    urls = {
        "course_url": url_with_pk("training:course"),
        "certificate_url": url_with_pk("training:certificate"),
    }
    return mark_safe(  # noqa: S308 -- Jinja2 autoescaped every value (prm/jinja2.py)
        template.render({**context, **urls}, request)
    )


# --- Course player ------------------------------------------------------------------------------
@login_required
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    course = selectors.course_get(actor=actor, pk=pk)
    preview = not actor.is_partner
    lessons = list(course.lessons.all())
    enrollment = None if preview else selectors.enrollment_for(actor=actor, course=course)
    done = selectors.completed_lesson_ids(enrollment=enrollment)
    quiz = selectors.quiz_of(course=course)
    attempts: list[QuizAttempt] = []
    attempts_left = quiz.max_attempts if quiz else 0
    open_attempt = None
    if enrollment is not None and quiz is not None:
        attempts = selectors.attempts_of(enrollment=enrollment)
        attempts_left = services.attempts_left(enrollment, quiz)
        now = timezone.now()
        open_attempt = next(
            (
                attempt
                for attempt in attempts
                if attempt.submitted_at is None
                and (attempt.deadline_at is None or attempt.deadline_at + services.GRACE > now)
            ),
            None,
        )
    all_done = bool(lessons) and all(lesson.pk in done for lesson in lessons)
    quiz_passed = any(attempt.passed for attempt in attempts)
    return render(
        request,
        "training/course_detail.html",
        {
            "course": course,
            "preview": preview,
            "lessons": lessons,
            "done": done,
            "done_count": len(done & {lesson.pk for lesson in lessons}),
            "percent": round(100 * len(done) / len(lessons)) if lessons else 0,
            "enrollment": enrollment,
            "continue_lesson": _continue_lesson(lessons, enrollment, done) if not preview else None,
            "all_done": all_done,
            "quiz": quiz,
            "attempts": attempts,
            "attempts_left": attempts_left,
            "open_attempt": open_attempt,
            "quiz_passed": quiz_passed,
            "may_start_quiz": bool(
                not preview and quiz and all_done and not quiz_passed and (open_attempt or attempts_left > 0)
            ),
            "certifications": selectors.course_certifications(course=course),
        },
    )


@login_required
def lesson(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    current = selectors.lesson_get(actor=actor, pk=pk)
    course = selectors.course_get(actor=actor, pk=current.course_id)
    lessons = list(course.lessons.all())
    current = next(lesson for lesson in lessons if lesson.pk == current.pk)
    preview = not actor.is_partner

    if request.GET.get("download") == "attachment":
        if not current.attachment:
            raise Http404
        return FileResponse(
            current.attachment.open("rb"),
            as_attachment=True,
            filename=PurePosixPath(current.attachment.name).name,
        )

    enrollment = None
    if not preview:
        enrolled, enrollment = errors.attempt(request, lambda: services.enroll(actor=actor, course=course))
        if not enrolled:
            return redirect("training:catalogue")
    done = selectors.completed_lesson_ids(enrollment=enrollment)
    return render(
        request,
        "training/lesson.html",
        {
            "course": course,
            "lesson": current,
            "lessons": lessons,
            "preview": preview,
            "done": done,
            "is_done": current.pk in done,
            # The body was sanitised when saved; sanitising again here keeps any row written
            # another way (a script, a restore) from reaching the page unsanitised.
            "body": services.sanitise_html(current.body),
            "video_embed": video_embed_url(current.video_url),
            "video_link": safe_link(current.video_url),
            "attachment_name": PurePosixPath(current.attachment.name).name if current.attachment else "",
            "previous": _previous_lesson(lessons, current),
            "next": _next_lesson(lessons, current),
            "number": lessons.index(current) + 1,
        },
    )


@require_POST
@partner_required
def lesson_complete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    current = selectors.lesson_get(actor=actor, pk=pk)
    course = selectors.course_get(actor=actor, pk=current.course_id)
    lessons = list(course.lessons.all())
    current = next(lesson for lesson in lessons if lesson.pk == current.pk)
    started = timezone.now()
    done, _result = errors.attempt(request, lambda: services.lesson_complete(actor=actor, lesson=current))
    if not done:
        return redirect("training:lesson", current.pk)
    award = _awarded_since(actor, started)
    if award is not None:
        messages.success(
            request,
            _("Congratulations, you are now certified: %(name)s.") % {"name": award.certification.name},
        )
        return redirect("training:certificate", award.pk)
    following = _next_lesson(lessons, current)
    if following is not None:
        return redirect("training:lesson", following.pk)
    if selectors.quiz_of(course=course) is not None:
        messages.success(request, _("You finished the lessons. Take the quiz to complete the course."))
    else:
        messages.success(request, _("You finished the lessons."))
    return redirect("training:course", course.pk)


# --- Quiz ---------------------------------------------------------------------------------------
@require_POST
@partner_required
def quiz_start(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    course = selectors.course_get(actor=actor, pk=pk)
    quiz = selectors.quiz_of(course=course)
    if quiz is None:
        raise Http404
    started, attempt = errors.attempt(request, lambda: services.attempt_start(actor=actor, quiz=quiz))
    if not started:
        return redirect("training:course", course.pk)
    return redirect("training:attempt", attempt.pk)


def _attempt_for(actor: Actor, pk: Any) -> QuizAttempt:
    """The learner's own attempt; anyone else's id (a colleague's too) is a 404."""
    return selectors.attempt_get(actor=actor, pk=pk)


def _attempt_questions(attempt: QuizAttempt, *, graded: bool, reveal: bool) -> list[dict[str, Any]]:
    """The attempt's questions and choices in the order fixed when it started. Before grading the
    page gets ids and texts only; after it, whether each answer was right (and, with ``reveal``,
    which choices were)."""
    questions = selectors.attempt_questions(attempt=attempt)
    answers = attempt.answers or {}
    items = []
    for question_id in attempt.question_order:
        question = questions.get(question_id)
        if question is None:
            continue
        choices = {choice.pk: choice for choice in question.choices.all()}
        order = [cid for cid in attempt.choice_order.get(str(question_id), []) if cid in choices]
        item: dict[str, Any] = {
            "id": question.pk,
            "number": len(items) + 1,
            "text": question.text,
            "multiple": question.kind == QuestionKind.MULTIPLE,
            "choices": [{"id": cid, "text": choices[cid].text} for cid in order],
        }
        if graded:
            chosen = {int(c) for c in answers.get(str(question_id), [])}
            right = {cid for cid, choice in choices.items() if choice.is_correct}
            item["answered"] = bool(chosen)
            item["right"] = chosen == right
            for choice in item["choices"]:
                choice["chosen"] = choice["id"] in chosen
                if reveal:
                    choice["correct"] = choice["id"] in right
        items.append(item)
    return items


@partner_required
def attempt(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    attempt = _attempt_for(actor, pk)
    quiz = attempt.quiz
    course = quiz.course
    enrollment = attempt.enrollment
    graded = attempt.submitted_at is not None
    now = timezone.now()
    timed_out = not graded and attempt.deadline_at is not None and now > attempt.deadline_at + services.GRACE
    attempts_left = services.attempts_left(enrollment, quiz)
    passed_in_cycle = selectors.passed_in_cycle(enrollment=enrollment)
    current_cycle = attempt.cycle == enrollment.cycle
    # Right answers are shown once they cannot help another attempt: the quiz is passed, or no
    # attempts are left (or the attempt belongs to an earlier certification cycle).
    reveal = graded and (passed_in_cycle or attempts_left == 0 or not current_cycle)
    return render(
        request,
        "training/attempt.html",
        {
            "attempt": attempt,
            "quiz": quiz,
            "course": course,
            "graded": graded,
            "timed_out": timed_out,
            "questions": _attempt_questions(attempt, graded=graded, reveal=reveal),
            "reveal": reveal,
            "attempts_left": attempts_left,
            "may_retry": graded
            and current_cycle
            and not passed_in_cycle
            and attempts_left > 0
            and services.lessons_done(enrollment),
            "seconds_left": max(int((attempt.deadline_at - now).total_seconds()), 0)
            if attempt.deadline_at and not graded
            else None,
            "certificate": _awarded_since(actor, attempt.submitted_at) if graded and attempt.passed else None,
        },
    )


@require_POST
@partner_required
def attempt_submit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    mine = _attempt_for(actor, pk)
    submitted, attempt = errors.attempt(
        request,
        lambda: services.attempt_submit(actor=actor, attempt=mine, answers=parse_answers(request.POST)),
    )
    if not submitted:
        return redirect("training:attempt", mine.pk)
    if getattr(attempt, "timed_out", False):
        messages.error(request, _("The time limit has passed; this attempt counts as not passed."))
        return redirect("training:attempt", attempt.pk)
    score = f"{attempt.score_percent.normalize():f}"
    if not attempt.passed:
        messages.warning(
            request,
            _("You scored %(score)s%%; the pass mark is %(mark)s%%.")
            % {"score": score, "mark": attempt.quiz.pass_mark_percent},
        )
        return redirect("training:attempt", attempt.pk)
    messages.success(
        request,
        _("Passed with %(score)s%%: you completed “%(course)s”.")
        % {"score": score, "course": attempt.quiz.course.title},
    )
    award = _awarded_since(actor, attempt.submitted_at)
    if award is not None:
        messages.success(
            request,
            _("Congratulations, you are now certified: %(name)s.") % {"name": award.certification.name},
        )
        return redirect("training:certificate", award.pk)
    return redirect("training:course", attempt.quiz.course_id)


# --- Certifications -----------------------------------------------------------------------------
@partner_required
def my_certifications(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    enrollments = _my_enrollments(actor)
    awards = list(selectors.my_awards(actor=actor))
    return render(
        request,
        "training/certifications.html",
        {
            "awards": _award_rows(awards),
            "certifications": _certification_rows(actor, enrollments, awards),
            "expiry_warning_days": EXPIRY_WARNING_DAYS,
        },
    )


@partner_required
def certificate(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    award = selectors.award_get(actor=actor, pk=pk)
    row = _award_rows([award])[0]
    return render(
        request,
        "training/certificate.html",
        {
            **row,
            "row": row,
            "holder": award.user.full_name or award.user.email,
            "is_mine": award.user_id == actor.user.pk,
            "verification_url": certificates.verification_url(award),
            "may_download": award_policy.can(actor, "download", award),
            "courses": list(award.certification.courses.all()),
        },
    )


@partner_required
def certificate_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    award = selectors.award_get(actor=actor, pk=pk)
    if not award_policy.can(actor, "download", award):
        raise Http404
    response = HttpResponse(certificates.certificate_pdf(award), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="certificate-{award.verification_code}.pdf"'
    return response


# --- Team progress (partner admin) ----------------------------------------------------------------
def _team_admin(actor: Actor) -> None:
    if not enrollment_policy.can(actor, VIEW_TEAM_PROGRESS):
        raise Http404


@partner_required
def team_progress(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    _team_admin(actor)
    partner = actor.partner
    page = paginate(request, selectors.team_progress(actor=actor, partner=partner), per_page=TEAM_PAGE_SIZE)
    by_course = selectors.team_by_course(actor=actor, partner=partner)
    chart = {
        "labels": [row["course__title"] for row in by_course],
        "completed": [row["completed"] for row in by_course],
        "in_progress": [row["enrolled"] - row["completed"] for row in by_course],
        "series": [_("Completed"), _("In progress")],
    }
    awards = selectors.team_awards(actor=actor, partner=partner)
    return render(
        request,
        "training/team_progress.html",
        {
            "page": page,
            "rows": selectors.team_progress_rows(list(page.object_list)),
            "by_course": by_course,
            "by_certification": selectors.certified_by_certification(actor=actor),
            "by_tier": selectors.certified_by_tier(actor=actor),
            "chart": chart,
            "awards": _award_rows(awards),
            "people": selectors.team_people_count(actor=actor, partner=partner),
            "certified_people": selectors.certified_people_count(partner_ids=[partner.pk]).get(partner.pk, 0),
            "querystring": "",
        },
    )


@partner_required
def team_progress_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "training.team_progress")


# --- Vendor report ------------------------------------------------------------------------------
@vendor_required
def vendor_report(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    rows = selectors.completion_rows(actor=actor)
    by_course = selectors.completion_by_course(actor=actor)
    expiring = selectors.expiring_awards_count(actor=actor, within_days=EXPIRY_WARNING_DAYS)
    enrolled = sum(row["enrolled"] for row in rows)
    completed = sum(row["completed"] for row in rows)
    chart = {
        "labels": [row["partner"] for row in rows],
        "series": [_("Enrolled"), _("Completed"), _("Certified people")],
        "enrolled": [row["enrolled"] for row in rows],
        "completed": [row["completed"] for row in rows],
        "certified": [row["certified"] for row in rows],
    }
    return render(
        request,
        "training/vendor_report.html",
        {
            "rows": rows,
            "by_course": by_course,
            "by_certification": selectors.certified_by_certification(actor=actor),
            "by_tier": selectors.certified_by_tier(actor=actor),
            "chart": chart,
            "totals": {
                "enrolled": enrolled,
                "completed": completed,
                "rate": round(100 * completed / enrolled) if enrolled else 0,
                "certified": sum(row["certified"] for row in rows),
                "expiring": expiring,
            },
            "expiry_warning_days": EXPIRY_WARNING_DAYS,
            "is_author": _is_author(actor),
        },
    )


@vendor_required
def vendor_report_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "training.completion")


# --- Public verification ------------------------------------------------------------------------
def verify(request: HttpRequest, code: str) -> HttpResponse:
    """Public: anyone with a certificate's code may check it. Shows the holder's name, the
    certification, the partner and the dates, nothing else."""
    if hit_rate_limit(request, "verify"):
        response = render(request, "training/verify.html", {"limited": True}, status=429)
    else:
        award = selectors.verify(code=code)
        context: dict[str, Any] = {"code": (code or "").strip().upper()[:16], "status": "unknown"}
        if award is not None:
            context.update(
                {
                    "status": "valid" if award.is_valid else "expired",
                    # The full name only: never the e-mail the account falls back to.
                    "holder": award.user.full_name,
                    "certification_name": award.certification.name,
                    "partner_name": award.partner.legal_name,
                    "awarded_at": award.awarded_at,
                    "expires_at": award.expires_at,
                }
            )
        response = render(request, "training/verify.html", context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
