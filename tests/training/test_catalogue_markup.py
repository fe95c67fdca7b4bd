"""The training catalogue's body, rendered by Jinja2 from the kept catalogue (templates/jinja2/training/
catalogue.html, training.selectors.training_catalogue), is the markup the Django template made from
the database (kept in tests/prm/markup_before/training_catalogue.html, with the context the view
built before, rebuilt here from the same selectors): with courses in every state (new, started,
completed, at the last lesson), learning paths, certifications with courses not offered or not yet
published, awards valid, expiring and expired, and with nothing at all; in English and in German,
compared as HTML (attributes, text, nesting; not the whitespace between tags)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.template import engines
from django.test.html import parse_html
from django.urls import reverse
from django.utils import timezone, translation

from partners.models import PartnerRole
from prm.tenancy import Actor
from tests.helpers import login
from tests.training import factories as f
from training import selectors, services
from training.models import Enrollment, LearningPath, LearningPathCourse, PublishStatus
from training.views import EXPIRY_WARNING_DAYS

pytestmark = pytest.mark.django_db

BEFORE = Path(__file__).parent.parent / "prm" / "markup_before" / "training_catalogue.html"


def context_before(actor: Actor) -> dict[str, Any]:
    """What training.views.catalogue gave the Django template before (its code as it was)."""
    enrollments = {
        enrollment.course_id: enrollment
        for enrollment in selectors.team_progress(actor=actor, partner=actor.partner).filter(user=actor.user)
    }
    courses = []
    for course in selectors.catalogue(actor=actor):
        enrollment = enrollments.get(course.pk)
        lesson_ids = course.lesson_ids
        done = enrollment.done if enrollment else 0
        last = enrollment.last_lesson_id if enrollment is not None else None
        if last:
            following = lesson_ids.index(last) + 1 if last in lesson_ids else len(lesson_ids)
            resume_id = lesson_ids[following] if following < len(lesson_ids) else None
        else:
            resume_id = lesson_ids[0] if lesson_ids else None
        courses.append(
            {
                "course": course,
                "done": done,
                "percent": round(100 * done / course.lesson_count) if course.lesson_count else 0,
                "resume_id": resume_id,
            }
        )
    paths = []
    for path in selectors.learning_path_steps(actor=actor):
        steps = [
            {
                "course": step.course,
                "done": bool(enrollments.get(step.course_id) and enrollments[step.course_id].completed_at),
            }
            for step in path.steps
        ]
        paths.append({"path": path, "steps": steps, "done": sum(1 for s in steps if s["done"])})
    awards = list(selectors.my_awards(actor=actor))
    award_rows = []
    for award in awards[:6]:
        days_left = (award.expires_at - timezone.now()).days if award.expires_at else None
        award_rows.append(
            {
                "award": award,
                "valid": award.is_valid,
                "days_left": days_left,
                "expiring": award.is_valid and days_left is not None and days_left <= EXPIRY_WARNING_DAYS,
            }
        )
    held = {a.certification_id: a for a in sorted(awards, key=lambda a: a.awarded_at) if a.is_valid}
    certifications = []
    for certification in selectors.certifications_offered(actor=actor):
        items = [
            {
                "course": course,
                "done": bool(enrollments.get(course.pk) and enrollments[course.pk].completed_at),
                "published": course.status == PublishStatus.PUBLISHED,
                "for_role": (actor.partner_role or "") in course.partner_roles,
            }
            for course in certification.courses.all()
        ]
        certifications.append(
            {
                "certification": certification,
                "courses": items,
                "done": sum(1 for item in items if item["done"]),
                "award": held.get(certification.pk),
            }
        )
    return {
        "actor": actor,
        "courses": courses,
        "awards": award_rows,
        "certifications": certifications,
        "paths": paths,
        "completed_count": sum(1 for item in courses if item["course"].completed),
        "in_progress_count": sum(
            1 for item in courses if item["course"].enrolled and not item["course"].completed
        ),
    }


def assert_same_body(actor: Actor, language: str) -> None:
    response = login(actor).get(reverse("training:catalogue"))
    assert response.status_code == 200
    with translation.override(language):
        old = engines["django"].from_string(BEFORE.read_text()).render(context_before(actor))
    new = str(response.context["body"])
    assert parse_html(old) == parse_html(new), f"\n--- before\n{old}\n--- now\n{new}"
    # The page around it is still the Django frame, with the body once.
    assert response.content.decode().count('id="my-awards"') == 1


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("role", [PartnerRole.ADMIN, PartnerRole.SALES])
def test_the_catalogue_is_the_markup_the_template_made(partner: Any, language: str, role: str) -> None:
    me = f.learner(partner, role=role, full_name="Lena <Learner>", language=language)
    fresh = f.course('A "fresh" course & more', lessons=3)
    fresh.course.summary = " ".join(f"word{n}" for n in range(40)) + " <b>bold</b>"
    fresh.course.save()
    halfway = f.course("Halfway through", lessons=3)
    at_the_end = f.course("At the last lesson", lessons=2)
    done = f.course("Done and dusted", lessons=1, quiz=False)
    f.course("Empty", lessons=0, quiz=False)
    other_role = f.course("Only for marketing", roles=[PartnerRole.MARKETING])
    draft = f.course("Coming later", published=False)
    for built, last in ((halfway, halfway.lessons[0]), (at_the_end, at_the_end.lessons[-1])):
        Enrollment.objects.create(
            user=me.user,
            partner_id=me.partner_id,
            course=built.course,
            started_at=timezone.now(),
            last_lesson=last,
        )
    f.complete_lessons(me, done)
    with f.acting(me):
        services.lesson_complete(actor=me, lesson=halfway.lessons[0])
    path = LearningPath.objects.create(name="Getting <started>", partner_role=role)
    for position, built in enumerate((fresh, done, other_role, halfway), 1):
        LearningPathCourse.objects.create(path=path, course=built.course, position=position)
    kept = f.certification("Kept forever", courses=[done], validity=None)
    long_one = f.certification("The long one", courses=[fresh, done, other_role, draft], validity=24)
    long_one.description = " ".join(f"text{n}" for n in range(30))
    long_one.save()
    lapsed = f.certification("Lapsed", courses=[halfway])
    f.award(me, kept, expires_in=None)
    f.award(me, long_one, expires_in=timedelta(days=10))
    f.award(me, lapsed, expires_in=timedelta(days=-3))
    f.award(me, f.certification("Renewed", courses=[at_the_end]), expires_in=timedelta(days=200))
    assert_same_body(me, language)
    # Kept now: the second request renders from the cache, and still the same.
    assert_same_body(me, language)


@pytest.mark.parametrize("language", ["en", "de"])
def test_an_empty_catalogue_is_the_markup_the_template_made(partner: Any, language: str) -> None:
    me = f.learner(partner, role=PartnerRole.LEARNER, language=language)
    f.course("Only for marketing", roles=[PartnerRole.MARKETING])
    assert_same_body(me, language)
