"""The catalogue every partner user of a role sees alike is kept (training.selectors.training_catalogue,
prm.catalogue_cache): never another role's, and a change to a course, a lesson, a certification or
a learning path shows on the next request. The learner's own progress is never kept: two learners
of the same role see each their own."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from partners.models import Partner, PartnerRole
from tests.helpers import login
from tests.training import factories as f
from training.models import Course, LearningPath, LearningPathCourse, Lesson, PublishStatus

pytestmark = pytest.mark.django_db


def page(actor: Any) -> str:
    response = login(actor).get(reverse("training:catalogue"))
    assert response.status_code == 200
    return response.content.decode()


def test_each_role_gets_its_own_catalogue(partner: Partner) -> None:
    sales = f.learner(partner, role=PartnerRole.SALES)
    marketing = f.learner(partner, role=PartnerRole.MARKETING)
    f.course("For sales", roles=[PartnerRole.SALES])
    f.course("For marketing", roles=[PartnerRole.MARKETING])
    for _ in range(2):  # read, then kept
        assert "For sales" in page(sales) and "For marketing" not in page(sales)
        assert "For marketing" in page(marketing) and "For sales" not in page(marketing)


def test_a_change_to_the_catalogue_shows_on_the_next_request(partner: Partner) -> None:
    me = f.learner(partner, role=PartnerRole.LEARNER)
    built = f.course("First title", lessons=1)
    cert = f.certification("The certificate", courses=[built])
    assert "First title" in page(me)

    course = Course.objects.get(pk=built.course.pk)
    course.title = "Second title"
    course.save()
    assert "Second title" in page(me)

    Lesson.objects.create(course=course, position=2, title="Another")
    assert "2 lessons" in page(me)
    Lesson.objects.filter(course=course, position=2).get().delete()
    assert "1 lesson" in page(me) and "2 lessons" not in page(me)

    other = f.course("Also required", lessons=1)
    cert.courses.add(other.course)
    assert "0 of 2 courses" in page(me)

    path = LearningPath.objects.create(name="The path", partner_role=PartnerRole.LEARNER)
    assert "Learning path: The path" not in page(me)  # no step offered yet
    LearningPathCourse.objects.create(path=path, course=course, position=1)
    assert "Learning path: The path" in page(me)

    course.status = PublishStatus.DRAFT
    course.save()
    assert f'id="course-{course.pk}"' not in page(me)


def test_the_learners_own_progress_is_never_kept(partner: Partner, other_partner: Partner) -> None:
    ann = f.learner(partner, role=PartnerRole.LEARNER)
    bob = f.learner(other_partner, role=PartnerRole.LEARNER)
    colleague = f.learner(partner, role=PartnerRole.LEARNER)
    built = f.course("Shared course", lessons=1, quiz=False)
    assert f'id="start-{built.course.pk}"' in page(ann)
    f.complete_lessons(ann, built)
    assert "course-done" in page(ann)
    # The same role, the catalogue kept: each sees their own progress.
    assert "course-done" not in page(bob) and f'id="start-{built.course.pk}"' in page(bob)
    assert "course-done" not in page(colleague)


@pytest.mark.parametrize("role", [PartnerRole.LEARNER, PartnerRole.ADMIN])
def test_the_learners_reads_are_statements_compiled_once_and_kept(
    partner: Partner, role: str, settings: Any
) -> None:
    """The learner's progress and awards are kept statements (prm.statements; each call checked
    against the ORM's own, PRM["VERIFY_STATEMENTS"]), not built again on every request: a silent
    fall back to building would go unnoticed otherwise."""
    from training import selectors

    assert settings.PRM["VERIFY_STATEMENTS"]
    me = f.learner(partner, role=role)
    built = f.course("A course", lessons=1, quiz=False, roles=[role])
    f.certification("The certificate", courses=[built])
    f.complete_lessons(me, built)  # the course done, and with it the certification
    html = page(me)
    assert "course-done" in html and "The certificate" in html
    assert selectors._PROGRESS.is_kept(me)
    assert selectors._LISTED_AWARDS.is_kept(me)
    assert [award.certification_name for award in selectors.my_awards_listed(actor=me)] == ["The certificate"]


def test_the_rendered_body_is_kept_only_for_the_same_catalogue_progress_and_awards(partner: Partner) -> None:
    """The body is rendered again whenever the catalogue, the learner's progress or awards (or the
    language) change; the same for two learners with the same role and no progress."""
    from training import views

    ann = f.learner(partner, role=PartnerRole.LEARNER)
    bob = f.learner(partner, role=PartnerRole.LEARNER)
    built = f.course("Kept course", lessons=1, quiz=False)
    f.certification("Kept certificate", courses=[built])

    def body(actor: Any, **headers: Any) -> str:
        response = login(actor).get(reverse("training:catalogue"), **headers)
        assert response.status_code == 200
        return str(response.context["body"])

    views._BODIES.clear()
    first = body(ann)
    assert body(ann) == first == body(bob) and len(views._BODIES) == 1  # kept, and shared
    assert body(ann, HTTP_ACCEPT_LANGUAGE="de") != first
    f.complete_lessons(ann, built)  # progress, and with it the certification's award
    done = body(ann)
    assert done != first and "course-done" in done and "award-valid" in done
    assert body(bob) == first  # Bob's own, unchanged
    course = Course.objects.get(pk=built.course.pk)
    course.title = "Renamed course"
    course.save()
    assert "Renamed course" in body(ann) and "Renamed course" in body(bob)
