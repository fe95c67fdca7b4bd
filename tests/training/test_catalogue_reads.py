"""The training catalogue reads a fixed, small number of times whatever the catalogue holds (issue
11): the courses with their lessons' ids in one read, the learning paths with their steps in one,
the learner's awards once for both panels. And the buttons still lead where the learner stopped."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from partners.models import PartnerRole
from prm.tenancy import Actor
from tests.helpers import login
from tests.training import factories as f
from tests.training.test_query_counts import bulk_awards, bulk_progress
from training.models import Enrollment, LearningPath, LearningPathCourse

pytestmark = pytest.mark.django_db

# Under the test settings (session, user, scope, the page's reads), when the catalogue was just
# changed and is read again (prm.catalogue_cache; kept, it is 4 fewer: test_query_counts.py).
# Before: 24, then 21 (every lesson of every course, the paths apart from their steps, the awards
# twice, then the catalogue itself on every request).
CATALOGUE_QUERIES = 19


@pytest.fixture
def me(partner: Any) -> Actor:
    return f.learner(partner, role=PartnerRole.LEARNER, full_name="Lena Learner")


def test_catalogue_runs_a_fixed_number_of_queries(me: Actor, django_assert_max_num_queries: Any) -> None:
    first = f.course("Course 000", lessons=2)
    cert = f.certification(courses=[first])
    path = LearningPath.objects.create(name="Getting started", partner_role=PartnerRole.LEARNER)
    LearningPathCourse.objects.create(path=path, course=first.course, position=1)
    f.award(me, cert, expires_in=timedelta(days=30))
    client = login(me.user)
    client.get(reverse("training:catalogue"))
    with django_assert_max_num_queries(CATALOGUE_QUERIES):
        few = client.get(reverse("training:catalogue"))

    more = [f.course(f"Course {n:03d}", lessons=1 + n % 3, questions=[f.SINGLE]) for n in range(1, 50)]
    bulk_progress([(me.user, me.partner_id, built) for built in more[::2]], completed_every=3)
    cert.courses.add(*[built.course for built in more[:10]])
    for position, built in enumerate(more[10:20], 2):
        LearningPathCourse.objects.create(path=path, course=built.course, position=position)
    other = LearningPath.objects.create(name="Advanced", partner_role=PartnerRole.LEARNER)
    for position, built in enumerate(more[20:30], 1):
        LearningPathCourse.objects.create(path=other, course=built.course, position=position)
    bulk_awards(
        [(me.user, me.partner_id)], [f.certification(courses=more[n : n + 3]) for n in range(30, 45, 3)]
    )
    with django_assert_max_num_queries(CATALOGUE_QUERIES):
        many = client.get(reverse("training:catalogue"))

    assert len(few.context["courses"]) == 1 and len(many.context["courses"]) == 50
    assert [len(item["steps"]) for item in many.context["paths"]] == [10, 11]  # Advanced, Getting started
    assert len(many.context["awards"]) == 6
    assert sum(1 for row in many.context["certifications"] if row["award"]) == 6


def test_the_buttons_lead_where_the_learner_stopped(me: Actor) -> None:
    fresh = f.course("A fresh course", lessons=3)
    halfway = f.course("Halfway through", lessons=3)
    at_the_end = f.course("At the last lesson", lessons=3)
    for built, last in ((halfway, halfway.lessons[0]), (at_the_end, at_the_end.lessons[-1])):
        Enrollment.objects.create(
            user=me.user,
            partner_id=me.partner_id,
            course=built.course,
            started_at=timezone.now(),
            last_lesson=last,
        )
    page = login(me.user).get(reverse("training:catalogue"))
    resume = {item["course"].pk: item["resume_id"] for item in page.context["courses"]}
    assert resume == {
        fresh.course.pk: fresh.lessons[0].pk,
        halfway.course.pk: halfway.lessons[1].pk,
        at_the_end.course.pk: None,
    }
    html = page.content.decode()
    lesson, course = "training:lesson", "training:course"
    assert f'href="{reverse(lesson, args=[fresh.lessons[0].pk])}" id="start-{fresh.course.pk}"' in html
    assert f'href="{reverse(lesson, args=[halfway.lessons[1].pk])}" id="continue-{halfway.course.pk}"' in html
    assert (
        f'href="{reverse(course, args=[at_the_end.course.pk])}" id="continue-{at_the_end.course.pk}"' in html
    )
