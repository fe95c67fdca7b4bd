"""Who sees what in training, answered by training/policies.py alone: the course a partner user
may open (published, for their role), the author's preview of any course (drafts too), lessons
that follow their course, certifications and learning paths for the role, and the team progress
pages for the partner admin. The pages read only through selectors that apply these rules, so
training/views.py queries no model itself."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.http import Http404

from partners.models import PartnerRole
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.training import factories as f
from training import selectors
from training.models import Course, LearningPath, LearningPathCourse, Lesson
from training.policies import (
    AUTHOR,
    VIEW_TEAM_PROGRESS,
    certification_policy,
    course_policy,
    enrollment_policy,
    learning_path_policy,
    lesson_policy,
)

pytestmark = pytest.mark.django_db

AUTHORS = [VendorRole.PROGRAM_ADMIN, VendorRole.CONTENT_MANAGER]
NOT_AUTHORS = [VendorRole.CHANNEL_ACCOUNT_MANAGER, VendorRole.FINANCE]
ANONYMOUS = Actor(user=None)


@pytest.fixture
def courses() -> dict[str, f.Built]:
    return {
        "offered": f.course("For learners", roles=[PartnerRole.LEARNER, PartnerRole.SALES], quiz=False),
        "other_role": f.course("For sales only", roles=[PartnerRole.SALES], quiz=False),
        "draft": f.course("Still a draft", roles=[PartnerRole.LEARNER], published=False, quiz=False),
    }


def titles(queryset: Any) -> set[str]:
    return {str(row) for row in queryset}


# --- courses ------------------------------------------------------------------------------------
def test_a_partner_user_opens_the_published_courses_for_their_role_only(
    partner: Any, courses: dict[str, f.Built]
) -> None:
    learner = f.learner(partner)
    assert titles(course_policy.scope(learner)) == {"For learners"}
    assert selectors.course_get(actor=learner, pk=courses["offered"].course.pk) == courses["offered"].course
    for name in ("other_role", "draft"):
        with pytest.raises(Http404):
            selectors.course_get(actor=learner, pk=courses[name].course.pk)
    with pytest.raises(Http404):  # "does not exist" is the same 404
        selectors.course_get(actor=learner, pk=0)


@pytest.mark.parametrize("role", AUTHORS)
def test_authors_open_every_course_drafts_included(role: str, courses: dict[str, f.Built]) -> None:
    author = factories.vendor_actor(role)
    assert course_policy.can(author, AUTHOR)
    assert titles(course_policy.scope(author)) == set(Course.objects.values_list("title", flat=True))
    assert selectors.course_get(actor=author, pk=courses["draft"].course.pk) == courses["draft"].course


@pytest.mark.parametrize("role", NOT_AUTHORS)
def test_other_vendor_staff_open_no_course(role: str, courses: dict[str, f.Built]) -> None:
    staff = factories.vendor_actor(role)
    assert not course_policy.can(staff, AUTHOR)
    assert list(course_policy.scope(staff)) == []
    for built in courses.values():
        with pytest.raises(Http404):
            selectors.course_get(actor=staff, pk=built.course.pk)


def test_anonymous_opens_nothing(courses: dict[str, f.Built]) -> None:
    for policy in (course_policy, lesson_policy, certification_policy, learning_path_policy):
        assert list(policy.scope(ANONYMOUS)) == []
    assert not course_policy.can(ANONYMOUS, AUTHOR)


@pytest.mark.parametrize("role", AUTHORS)
def test_an_author_previews_courses_but_is_offered_none(role: str, courses: dict[str, f.Built]) -> None:
    assert list(selectors.catalogue(actor=factories.vendor_actor(role))) == []


# --- lessons follow their course ------------------------------------------------------------------
def test_a_lesson_is_visible_exactly_when_its_course_is(partner: Any, courses: dict[str, f.Built]) -> None:
    learner = f.learner(partner)
    author = factories.vendor_actor(VendorRole.CONTENT_MANAGER)
    assert set(lesson_policy.scope(learner)) == set(courses["offered"].lessons)
    assert set(lesson_policy.scope(author)) == set(Lesson.objects.all())
    draft_lesson = courses["draft"].lessons[0]
    assert selectors.lesson_get(actor=author, pk=draft_lesson.pk).course_id == draft_lesson.course_id
    for name in ("other_role", "draft"):
        with pytest.raises(Http404):
            selectors.lesson_get(actor=learner, pk=courses[name].lessons[0].pk)
    with pytest.raises(Http404):
        selectors.lesson_get(actor=factories.vendor_actor(VendorRole.FINANCE), pk=draft_lesson.pk)


# --- certifications and learning paths ------------------------------------------------------------
def test_certifications_shown_are_the_published_ones_for_the_role(
    partner: Any, courses: dict[str, f.Built]
) -> None:
    f.certification("Learner cert", courses=[courses["offered"]])
    f.certification("Unpublished cert", courses=[courses["offered"]], published=False)
    sales_only = f.certification("Sales cert", courses=[courses["other_role"]])
    sales_only.partner_roles = [PartnerRole.SALES]
    sales_only.save(update_fields=["partner_roles"])
    assert titles(certification_policy.scope(f.learner(partner))) == {"Learner cert"}
    assert titles(certification_policy.scope(f.learner(partner, role=PartnerRole.SALES))) == {
        "Learner cert",
        "Sales cert",
    }
    # Vendor staff manage certifications in the admin, not through the partner pages.
    assert list(certification_policy.scope(factories.vendor_actor())) == []


def test_learning_paths_are_for_their_role_and_show_only_the_courses_offered(
    partner: Any, courses: dict[str, f.Built]
) -> None:
    path = LearningPath.objects.create(name="Learner path", partner_role=PartnerRole.LEARNER)
    for position, name in enumerate(("draft", "offered", "other_role"), 1):
        LearningPathCourse.objects.create(path=path, course=courses[name].course, position=position)
    LearningPath.objects.create(name="Sales path", partner_role=PartnerRole.SALES)
    learner = f.learner(partner)
    assert titles(learning_path_policy.scope(learner)) == {"Learner path"}
    assert titles(learning_path_policy.scope(f.learner(partner, role=PartnerRole.SALES))) == {"Sales path"}
    assert list(learning_path_policy.scope(factories.vendor_actor())) == []
    [shown] = selectors.learning_paths(actor=learner)
    assert [step.course.title for step in shown.steps] == ["For learners"]


# --- team progress ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (PartnerRole.ADMIN, True),
        (PartnerRole.SALES, False),
        (PartnerRole.MARKETING, False),
        (PartnerRole.LEARNER, False),
    ],
)
def test_only_the_partner_admin_views_team_progress(partner: Any, role: str, allowed: bool) -> None:
    assert enrollment_policy.can(f.learner(partner, role=role), VIEW_TEAM_PROGRESS) is allowed


@pytest.mark.parametrize("role", list(VendorRole))
def test_vendor_staff_do_not_view_team_progress(role: str) -> None:
    assert not enrollment_policy.can(factories.vendor_actor(role), VIEW_TEAM_PROGRESS)
    assert not enrollment_policy.can(ANONYMOUS, VIEW_TEAM_PROGRESS)


# --- the pages read through selectors only ------------------------------------------------------
def test_training_views_query_no_model_themselves() -> None:
    """Every read of training/views.py goes through a selector (and so through a policy): the
    module never names a manager (``Model.objects``) or a policy's ``scope``."""
    source = Path(settings.BASE_DIR, "training", "views.py").read_text()
    found = [
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute) and node.attr in {"objects", "_default_manager", "scope"}
    ]
    assert found == []
