"""Training pages run the same number of queries for 1 row as for 50 (no N+1), each under a sane
bound: the catalogue (courses), the team progress page and its CSV (enrollments), my
certifications (awards) and the vendor report and its CSV (partners). The single row is made with
the real services; the rest are bulk-inserted with progress, attempts, awards, learning paths and
certifications, so every column and panel the pages show has data to fetch."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from partners.models import PartnerRole
from prm.tenancy import Actor
from tests import factories
from tests.helpers import assert_constant_queries, assert_shows, body_text, in_element, login
from tests.training import factories as f
from training.models import (
    CertificationAward,
    Course,
    Enrollment,
    LearningPath,
    LearningPathCourse,
    LessonCompletion,
    QuizAttempt,
)

pytestmark = pytest.mark.django_db


def csv_count(response: Any) -> int:
    return len(list(csv.reader(io.StringIO(response.content.decode())))) - 1


def titles(**filters: Any) -> Callable[[], list[str]]:
    """The titles of the courses matching ``filters``: each must be on the page."""
    return lambda: list(Course.objects.filter(**filters).values_list("title", flat=True))


def course_cards() -> list[re.Pattern[str]]:
    return [in_element(f"course-{pk}", title) for pk, title in Course.objects.values_list("pk", "title")]


def award_cards(user: Any) -> Callable[[], list[re.Pattern[str]]]:
    return lambda: [
        in_element(f"award-{pk}", name)
        for pk, name in CertificationAward.objects.filter(user=user).values_list("pk", "certification__name")
    ]


def progress_rows(partner: Any, *, export: bool) -> Callable[[], list[str | re.Pattern[str]]]:
    """Each enrollment of ``partner``'s people: the person's e-mail address next to the course."""

    def rows() -> list[str | re.Pattern[str]]:
        pairs = Enrollment.objects.filter(partner=partner).values_list("user__email", "course__title")
        if export:
            return [f"{email},{title}" for email, title in pairs]
        return [
            re.compile(rf"{re.escape(email)}</div></td>\s*<td[^>]*>{re.escape(title)}</td>")
            for email, title in pairs
        ]

    return rows


def partner_rows(*, export: bool) -> list[str | re.Pattern[str]]:
    """Each partner whose people enrolled, by name (in the report's first column)."""
    names = set(Enrollment.objects.values_list("partner__legal_name", flat=True))
    if export:
        return list(names)
    return [re.compile(rf'<td class="fw-semibold">{re.escape(name)}</td>') for name in names]


# --- bulk builders --------------------------------------------------------------------------------
def bulk_progress(
    pairs: list[tuple[Any, int, f.Built]], *, completed_every: int = 2, with_attempts: bool = True
) -> list[Enrollment]:
    """An enrollment per (user, partner id, course): every lesson done, a graded attempt, and
    every ``completed_every``-th one completed."""
    now = timezone.now()
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(
            user=user,
            partner_id=partner_id,
            course=built.course,
            started_at=now - timedelta(days=10 + n),
            completed_at=now - timedelta(days=n) if n % completed_every == 0 else None,
            last_lesson=built.lessons[-1],
        )
        for n, (user, partner_id, built) in enumerate(pairs)
    )
    LessonCompletion.objects.bulk_create(
        LessonCompletion(
            enrollment=enrollment,
            partner_id=enrollment.partner_id,
            lesson=lesson,
            completed_at=now - timedelta(days=5, hours=n),
        )
        for n, ((_user, _partner, built), enrollment) in enumerate(zip(pairs, enrollments, strict=True))
        for lesson in built.lessons
    )
    if with_attempts:
        QuizAttempt.objects.bulk_create(
            QuizAttempt(
                enrollment=enrollment,
                partner_id=enrollment.partner_id,
                quiz=built.quiz,
                number=1,
                question_order=[q.pk for q in built.questions],
                choice_order=built.choices,
                started_at=now - timedelta(days=1, hours=n),
                submitted_at=now - timedelta(hours=n),
                answers=built.answers(),
                score_percent=Decimal("100.00"),
                passed=True,
            )
            for n, ((_user, _partner, built), enrollment) in enumerate(zip(pairs, enrollments, strict=True))
            if built.quiz is not None and enrollment.completed_at is not None
        )
    return enrollments


def bulk_awards(
    holders: list[tuple[Any, int]], certifications: list[Any], *, expiring_every: int = 3
) -> None:
    """One award per (user, partner id) and certification; some expire soon, some have expired."""
    now = timezone.now()
    CertificationAward.objects.bulk_create(
        CertificationAward(
            user=user,
            partner_id=partner_id,
            certification=certification,
            awarded_at=now - timedelta(days=300 + n),
            expires_at=now + timedelta(days=20 if n % expiring_every == 0 else 400 - n),
            status="expired" if n % 7 == 6 else "active",
        )
        for n, ((user, partner_id), certification) in enumerate(
            (holder, certification) for holder in holders for certification in certifications
        )
    )


# --- partner side -------------------------------------------------------------------------------
@pytest.fixture
def me(partner: Any) -> Actor:
    return f.learner(partner, role=PartnerRole.LEARNER, full_name="Lena Learner")


def catalogue_growth(me: Actor) -> Callable[[], None]:
    """One course (with progress, a certification, a learning path and an award) now; 49 more
    courses, progress, certifications, paths and awards when the returned ``grow`` is called."""
    first = f.course("Course 000", lessons=2)
    cert = f.certification(courses=[first])
    path = LearningPath.objects.create(name="Getting started", partner_role=PartnerRole.LEARNER)
    LearningPathCourse.objects.create(path=path, course=first.course, position=1)
    with f.acting(me):
        from training import services

        services.lesson_complete(actor=me, lesson=first.lessons[0])
    f.award(me, f.certification(courses=[first]), expires_in=timedelta(days=30))

    def grow() -> None:
        more = [f.course(f"Course {n:03d}", lessons=1 + n % 3, questions=[f.SINGLE]) for n in range(1, 50)]
        bulk_progress([(me.user, me.partner_id, built) for built in more[::2]], completed_every=3)
        cert.courses.add(*[built.course for built in more[:10]])
        for n, built in enumerate(more[10:20], 2):
            LearningPathCourse.objects.create(path=path, course=built.course, position=n)
        other = LearningPath.objects.create(name="Advanced", partner_role=PartnerRole.LEARNER)
        for n, built in enumerate(more[20:30], 1):
            LearningPathCourse.objects.create(path=other, course=built.course, position=n)
        extra = [f.certification(courses=more[n : n + 3]) for n in range(30, 45, 3)]
        bulk_awards([(me.user, me.partner_id)], extra)

    return grow


def test_catalogue_query_count_is_constant(me: Actor, settings: Any) -> None:
    # The page's own reads, the catalogue's included: not kept (prm.catalogue_cache) here, so that
    # the request before growing and the one after both read it.
    settings.PRM = {**settings.PRM, "CATALOGUE_CACHE_SECONDS": 0}
    assert_constant_queries(
        login(me.user),
        reverse("training:catalogue"),
        grow=catalogue_growth(me),
        rows=lambda response: len(response.context["courses"]),
        shows=course_cards,
    )


def test_catalogue_query_count_is_constant_with_the_catalogue_kept(me: Actor) -> None:
    """With the catalogue kept (the default), a request reads only the learner's own progress and
    awards, however large the catalogue: 4 queries fewer than above, and the same for 1 course as
    for 50. (The grown catalogue is read once, by the request after the change, then kept.)"""
    client, url = login(me.user), reverse("training:catalogue")
    grow = catalogue_growth(me)

    def grow_and_read_once() -> None:
        grow()
        assert len(client.get(url).context["courses"]) == 50

    assert_constant_queries(
        client,
        url,
        grow=grow_and_read_once,
        rows=lambda response: len(response.context["courses"]),
        shows=course_cards,
        bound=15,
    )


@pytest.mark.parametrize("url_name", ["training:team_progress", "training:team_progress_export"])
def test_team_progress_query_count_is_constant(partner: Any, me: Actor, url_name: str) -> None:
    admin = factories.partner_user(partner, role=PartnerRole.ADMIN)
    first = f.course("Course 000")
    f.certification(courses=[first])
    f.pass_course(me, first)  # one enrollment, completed, with an award
    assert CertificationAward.objects.count() == 1

    def grow() -> None:
        courses = [f.course(f"Course {n:03d}", lessons=1 + n % 3, questions=[f.SINGLE]) for n in range(1, 8)]
        people = [f.learner(partner, role=PartnerRole.SALES).user for _ in range(7)]
        bulk_progress([(user, partner.pk, built) for user in people for built in courses])
        certifications = [f.certification(courses=[built]) for built in courses[:3]]
        bulk_awards([(user, partner.pk) for user in people], certifications)

    assert_constant_queries(
        login(admin),
        reverse(url_name),
        grow=grow,
        rows=(
            (lambda response: response.context["page"].paginator.count)
            if url_name == "training:team_progress"
            else csv_count
        ),
        shows=progress_rows(partner, export=url_name == "training:team_progress_export"),
    )


def test_team_progress_page_shows_every_row_of_a_full_page(partner: Any, me: Actor) -> None:
    """The 50 rows measured above are all on the page (one page of 50), with their awards."""
    admin = factories.partner_user(partner, role=PartnerRole.ADMIN)
    courses = [f.course(f"Course {n:03d}", questions=[f.SINGLE]) for n in range(5)]
    people = [f.learner(partner).user for _ in range(10)]
    bulk_progress([(user, partner.pk, built) for user in people for built in courses])
    response = login(admin).get(reverse("training:team_progress"))
    assert len(response.context["rows"]) == 50
    assert all(row["done"] == row["total"] for row in response.context["rows"])
    assert_shows(body_text(response), progress_rows(partner, export=False)())


def test_my_certifications_query_count_is_constant(me: Actor) -> None:
    first = f.course("Course 000")
    f.award(me, f.certification(courses=[first]), expires_in=timedelta(days=400))

    def grow() -> None:
        courses = [f.course(f"Course {n:03d}", questions=[f.SINGLE]) for n in range(1, 6)]
        bulk_progress([(me.user, me.partner_id, built) for built in courses])
        certifications = [f.certification(courses=courses[n % 5 : n % 5 + 2]) for n in range(49)]
        bulk_awards([(me.user, me.partner_id)], certifications)

    assert_constant_queries(
        login(me.user),
        reverse("training:certifications"),
        grow=grow,
        rows=lambda response: len(response.context["awards"]),
        shows=award_cards(me.user),
    )


# --- vendor side --------------------------------------------------------------------------------
@pytest.mark.parametrize("url_name", ["training:vendor_report", "training:vendor_report_export"])
@pytest.mark.parametrize("who", ["program_admin", "cam"])
def test_vendor_report_query_count_is_constant(partner: Any, me: Actor, url_name: str, who: str) -> None:
    from tests.deals import factories as df

    first = f.course("Course 000")
    f.certification(courses=[first])
    f.pass_course(me, first)
    reviewer = factories.vendor_user() if who == "program_admin" else df.cam_for(partner).user

    def grow() -> None:
        courses = [f.course(f"Course {n:03d}", questions=[f.SINGLE]) for n in range(1, 4)]
        certification = f.certification(courses=courses[:1])
        partners = [factories.PartnerFactory() for _ in range(49)]
        people = [(factories.partner_user(p, role=PartnerRole.LEARNER), p.pk) for p in partners]
        bulk_progress([(user, partner_id, built) for user, partner_id in people for built in courses])
        bulk_awards(people[::2], [certification])
        if who == "cam":
            admin = factories.vendor_actor()
            from partners.services import partner_assign_channel_manager

            for p in partners:
                partner_assign_channel_manager(actor=admin, partner=p, manager=reviewer)

    assert_constant_queries(
        login(reviewer),
        reverse(url_name),
        grow=grow,
        rows=(
            (lambda response: len(response.context["rows"]))
            if url_name == "training:vendor_report"
            else csv_count
        ),
        shows=lambda: partner_rows(export=url_name == "training:vendor_report_export"),
    )
