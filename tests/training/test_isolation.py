"""Tenant isolation of training progress through the real request path.

Partner A ("Northwind Resellers") has a learner with an enrollment in two courses, lesson
completions, quiz attempts (a failed and a passed one in the first course, an open one in the
second) and a certification award. Partner B ("Southwind Systems") has its own learner with
progress and an award. Courses and lessons are vendor content that every entitled partner user
opens; attempts and certificates (and their PDFs) are tenant-owned: B's admin and learner, asking
for A's ids, get the same 404 as for an id that does not exist, and nothing of A's changes. A's own
sales colleague gets 404 on A's learner's certificate and PDF while A's partner admin gets them.
B's lists, exports and pages show nothing of A; a channel account manager without A in the
portfolio sees nothing of A in the vendor report; anonymous users are sent to sign in, except on
the public verification page.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from partners.models import Partner, PartnerRole
from prm.models import AuditEvent, Notification
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as deal_f
from tests.exports import exported, get_or_export
from tests.helpers import login
from tests.isolation import PARTNERS_OUT_OF_THE_ADMIN, Case, admin_cases, built_once, foreign_id_test
from tests.training import factories as f
from training import services
from training.models import CertificationAward, Enrollment, LessonCompletion, QuizAttempt

pytestmark = pytest.mark.django_db

MISSING_PK = 987_654_321


# --- helpers ------------------------------------------------------------------------------------
def body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def normalised(text: str) -> str:
    """A page without its per-request CSRF tokens, to compare two 404 pages."""
    return re.sub(r"[A-Za-z0-9]{64}", "<token>", text)


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response))))


# --- the world ----------------------------------------------------------------------------------
@dataclass
class Side:
    partner: Partner
    admin: Any
    learner: Any
    sales: Any
    awards: list[CertificationAward] = field(default_factory=list)
    attempts: list[QuizAttempt] = field(default_factory=list)

    @property
    def learner_actor(self) -> Actor:
        return factories.actor_for(self.learner)

    @property
    def secrets(self) -> list[str]:
        """Strings that identify this partner's people and progress."""
        values = [self.partner.legal_name]
        for user in (self.admin, self.learner, self.sales):
            values += [user.full_name, user.email]
        values += [award.verification_code for award in self.awards]
        return values


@dataclass
class World:
    a: Side
    b: Side
    course: f.Built
    second: f.Built


def _side(name: str, people: tuple[str, str, str], domain: str) -> Side:
    partner = factories.PartnerFactory(legal_name=name, website_domain=domain)
    admin, learner, sales = people
    return Side(
        partner=partner,
        admin=factories.partner_user(
            partner, role=PartnerRole.ADMIN, full_name=admin, email=f"{admin.split()[0].lower()}@{domain}"
        ),
        learner=factories.partner_user(
            partner,
            role=PartnerRole.LEARNER,
            full_name=learner,
            email=f"{learner.split()[0].lower()}@{domain}",
        ),
        sales=factories.partner_user(
            partner, role=PartnerRole.SALES, full_name=sales, email=f"{sales.split()[0].lower()}@{domain}"
        ),
    )


@built_once
def world_once() -> World:
    """Built once for the module's tests."""
    return _world()


@pytest.fixture
def world(world_once: World) -> World:
    """The module's world, as built (each test's writes are rolled back), on objects of its own."""
    return copy.deepcopy(world_once)


def _world() -> World:
    course = f.course("Zero Trust Fundamentals", lessons=2)
    second = f.course("Firewall Operations", lessons=2)
    f.certification("Certified Zero Trust Associate", courses=[course], validity=24)
    a = _side(
        "Northwind Resellers", ("Quinta Adminova", "Quentin Learnwell", "Quincy Salesby"), "northwind.example"
    )
    b = _side("Southwind Systems", ("Bella Bossman", "Boris Beginner", "Bruno Broker"), "southwind.example")

    # A's learner: failed once, then passed the first course (certified); lessons done and an open
    # attempt in the second.
    learner = a.learner_actor
    f.complete_lessons(learner, course)
    failed = f.take_quiz(learner, course, n_right=0, seed=1)
    passed = f.take_quiz(learner, course, seed=2)
    f.complete_lessons(learner, second)
    open_attempt = f.start(learner, second, seed=3)
    a.attempts = [failed, passed, open_attempt]
    a.awards = list(CertificationAward.objects.filter(user=a.learner))

    # B's learner passes the first course too (B's own rows for the control checks).
    b_learner = b.learner_actor
    f.pass_course(b_learner, course)
    b.attempts = list(QuizAttempt.objects.filter(enrollment__user=b.learner))
    b.awards = list(CertificationAward.objects.filter(user=b.learner))

    assert [(x.passed, x.submitted_at is not None) for x in a.attempts] == [
        (False, True),
        (True, True),
        (None, False),
    ]
    assert len(a.awards) == 1 and len(b.awards) == 1
    return World(a=a, b=b, course=course, second=second)


def state_of(side: Side) -> dict[str, Any]:
    """Everything a request by somebody else must leave untouched."""
    partner = side.partner
    return {
        "enrollments": list(Enrollment.objects.filter(partner=partner).order_by("pk").values()),
        "completions": list(LessonCompletion.objects.filter(partner=partner).order_by("pk").values()),
        "attempts": list(QuizAttempt.objects.filter(partner=partner).order_by("pk").values()),
        "awards": list(CertificationAward.objects.filter(partner=partner).order_by("pk").values()),
        "audit": AuditEvent.objects.filter(partner_id=partner.pk).count(),
        "notifications": Notification.objects.filter(partner_id=partner.pk).count(),
    }


# --- every URL that takes an id -----------------------------------------------------------------
# Tenant-owned: (url name, method, which of A's ids).
TENANT_URLS: list[tuple[str, str, str]] = [
    ("training:attempt", "get", "attempt"),
    ("training:attempt_submit", "post", "attempt"),
    ("training:certificate", "get", "award"),
    ("training:certificate_pdf", "get", "award"),
]
# Vendor content: the same course and lessons for every entitled partner user.
CONTENT_URLS = {"training:course", "training:lesson", "training:lesson_complete", "training:quiz_start"}


def ids_of(side: Side, kind: str) -> list[int]:
    return {
        "attempt": [attempt.pk for attempt in side.attempts],
        "award": [award.pk for award in side.awards],
    }[kind]


def answers_for(world: World, attempt: QuizAttempt) -> dict[str, list[str]]:
    """The right answers to the attempt, as the form posts them: if a foreign attempt were
    accepted, this would pass it."""
    built = world.course if attempt.quiz_id == world.course.quiz.pk else world.second
    return {f"q-{qid}": [str(c) for c in cids] for qid, cids in built.answers().items()}


def call(client: Client, method: str, url: str, data: Any = None) -> Any:
    response = client.get(url) if method == "get" else client.post(url, data or {})
    response.page = body(response)
    return response


def _ids(kind: str) -> Any:
    def targets(world: World, _who: str) -> list[Any]:
        if kind == "enrollment":
            return list(Enrollment.objects.filter(partner=world.a.partner).order_by("pk"))
        model = QuizAttempt if kind == "attempt" else CertificationAward
        return list(model.objects.filter(pk__in=ids_of(world.a, kind)).order_by("pk"))

    return targets


def _right_answers(world: World, objects: dict[str, Any]) -> dict[str, list[str]]:
    return answers_for(world, objects["pk"])


# B's people, A's sales colleague (certificates and attempts are the learner's own) and vendor
# staff (these are partner pages: even a program admin gets 404).
INTRUDERS = ("b_admin", "b_learner", "a_sales", "vendor_admin")
FOREIGN_IDS = [
    Case("training:attempt", ("GET", "POST"), (*INTRUDERS, "a_admin"), _ids("attempt")),
    Case("training:attempt_submit", ("POST",), (*INTRUDERS, "a_admin"), _ids("attempt"), data=_right_answers),
    Case("training:certificate", ("GET", "POST"), INTRUDERS, _ids("award"), controls=("a_admin",)),
    Case(
        "training:certificate_pdf",
        ("GET", "POST"),
        INTRUDERS,
        _ids("award"),
        absent=("%PDF",),
        controls=("a_admin",),
    ),
    *admin_cases("training.certificationaward", _ids("award"), outsiders=("b_cam",), partners=("b_admin",)),
    *admin_cases("training.enrollment", _ids("enrollment"), outsiders=("b_cam",), partners=("b_admin",)),
    Case(
        "admin:training_enrollment_reset_attempts",
        ("GET", "POST"),
        ("b_cam",),
        _ids("enrollment"),
        args=("object_id",),
        data={"apply": "1", "reason": "Let them try again"},
        label="outsider",
    ),
    Case(
        "admin:training_enrollment_reset_attempts",
        ("GET", "POST"),
        ("b_admin",),
        _ids("enrollment"),
        args=("object_id",),
        data={"apply": "1", "reason": "Let them try again"},
        status=302,
        redirect_to="admin:login",
        why=PARTNERS_OUT_OF_THE_ADMIN,
        label="partner",
    ),
]

PEOPLE = {
    "b_admin": lambda w: w.b.admin,
    "b_learner": lambda w: w.b.learner,
    "a_sales": lambda w: w.a.sales,
    "a_admin": lambda w: w.a.admin,
    "vendor_admin": lambda w: factories.vendor_user(),
    "b_cam": lambda w: deal_f.cam_for(w.b.partner).user,
}


def _secrets(world: World, who: str) -> list[str]:
    """A's people and progress; to A's own people, the learner's (their colleague's) record."""
    if who.startswith("a_"):
        return [world.a.learner.full_name, *[award.verification_code for award in world.a.awards]]
    return world.a.secrets


test_foreign_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    FOREIGN_IDS,
    world="world_once",
    people=PEOPLE,
    secrets=_secrets,
    state=lambda world: (state_of(world.a), state_of(world.b)),
)


def test_the_owner_reaches_every_url_control(world: World) -> None:
    """Positive control: A's learner gets every page the intruders were refused."""
    client = login(world.a.learner)
    for url_name, method, kind in TENANT_URLS:
        if method == "post":
            continue
        for pk in ids_of(world.a, kind):
            response = call(client, method, reverse(url_name, args=[pk]))
            assert response.status_code == 200, (url_name, pk, response.status_code)
    pdf = client.get(reverse("training:certificate_pdf", args=[world.a.awards[0].pk]))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_a_colleague_cannot_open_the_learners_certificate_but_the_partner_admin_can(world: World) -> None:
    award = world.a.awards[0]
    certificate_url = reverse("training:certificate", args=[award.pk])
    pdf_url = reverse("training:certificate_pdf", args=[award.pk])

    sales = login(world.a.sales)
    for name in ("training:certificate", "training:certificate_pdf"):
        missing = call(sales, "get", reverse(name, args=[MISSING_PK]))
        foreign = call(sales, "get", reverse(name, args=[award.pk]))
        assert (missing.status_code, foreign.status_code) == (404, 404), name
        assert normalised(foreign.page) == normalised(missing.page), name
        assert award.verification_code not in foreign.page
        assert world.a.learner.full_name not in foreign.page
    # Nor the learner's attempts.
    for attempt in world.a.attempts:
        assert sales.get(reverse("training:attempt", args=[attempt.pk])).status_code == 404
    assert world.a.learner.full_name not in body(sales.get(reverse("training:certifications")))

    admin = login(world.a.admin)
    page = admin.get(certificate_url)
    assert page.status_code == 200
    text = page.content.decode()
    assert world.a.learner.full_name in text and award.verification_code in text
    assert pdf_url in text  # the download button
    pdf = admin.get(pdf_url)
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # Attempts are the learner's own, even for the admin.
    for attempt in world.a.attempts:
        assert admin.get(reverse("training:attempt", args=[attempt.pk])).status_code == 404


@pytest.mark.parametrize("who", ["admin", "learner"])
def test_course_pages_show_the_intruders_own_progress_only(world: World, who: str) -> None:
    """Courses and lessons are shared vendor content: B opens them, and sees no trace of A."""
    client = login(getattr(world.b, who))
    pages = [
        reverse("training:course", args=[world.course.course.pk]),
        reverse("training:course", args=[world.second.course.pk]),
        *[reverse("training:lesson", args=[lesson.pk]) for lesson in world.second.lessons],
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert [s for s in world.a.secrets if s in text] == [], url
        for attempt in world.a.attempts:
            assert reverse("training:attempt", args=[attempt.pk]) not in text, url
    second = client.get(pages[1])
    # Opening a lesson enrolled the intruder: their own enrollment, nothing of A's in it.
    assert second.context["enrollment"].user_id == getattr(world.b, who).pk
    assert second.context["attempts"] == []
    assert second.context["open_attempt"] is None
    assert second.context["done"] == set()
    if who == "learner":
        first = client.get(pages[0])
        assert [a.pk for a in first.context["attempts"]] == [a.pk for a in world.b.attempts]


# --- lists, exports and pages -------------------------------------------------------------------
@pytest.mark.parametrize("who", ["admin", "learner"])
def test_lists_and_pages_show_nothing_of_the_other_partner(world: World, who: str) -> None:
    client = login(getattr(world.b, who))
    views = ["training:catalogue", "training:certifications", "notifications"]
    if who == "admin":
        views += ["training:team_progress", "training:team_progress_export"]
    problems = []
    for url_name in views:
        response = get_or_export(client, reverse(url_name))
        assert response.status_code == 200, url_name
        text = body(response)
        problems += [f"{url_name}: shows {s!r}" for s in world.a.secrets if s in text]
        for award in world.a.awards:
            if reverse("training:certificate", args=[award.pk]) in text:
                problems.append(f"{url_name}: links A's certificate")
    assert problems == []

    certifications = client.get(reverse("training:certifications"))
    mine = [row["award"].pk for row in certifications.context["awards"]]
    assert mine == ([a.pk for a in world.b.awards] if who == "learner" else [])


def test_team_progress_and_export_are_the_partners_own(world: World) -> None:
    client = login(world.b.admin)
    page = client.get(reverse("training:team_progress"))
    assert page.status_code == 200
    assert {row["enrollment"].partner_id for row in page.context["rows"]} == {world.b.partner.pk}
    assert [row["enrollment"].user_id for row in page.context["rows"]] == [world.b.learner.pk]
    assert [row["award"].pk for row in page.context["awards"]] == [a.pk for a in world.b.awards]
    assert page.context["people"] == 1 and page.context["certified_people"] == 1
    assert page.context["chart"]["completed"] == [1]
    text = page.content.decode()
    assert world.b.learner.full_name in text and world.b.learner.email in text

    rows = csv_rows(exported(client, reverse("training:team_progress_export")))
    assert rows[0][:3] == ["person", "email", "course"]
    assert [row[:3] for row in rows[1:]] == [
        [world.b.learner.full_name, world.b.learner.email, "Zero Trust Fundamentals"]
    ]

    # A's admin sees A's learner in both courses (control).
    a_page = login(world.a.admin).get(reverse("training:team_progress"))
    assert sorted(row["enrollment"].course.title for row in a_page.context["rows"]) == [
        "Firewall Operations",
        "Zero Trust Fundamentals",
    ]
    assert {row["enrollment"].user_id for row in a_page.context["rows"]} == {world.a.learner.pk}


@pytest.mark.parametrize("who", ["learner", "sales"])
def test_team_progress_is_for_partner_admins_only(world: World, who: str) -> None:
    client = login(getattr(world.a, who))
    for name in ("training:team_progress", "training:team_progress_export"):
        response = get_or_export(client, reverse(name))
        assert response.status_code == 404, name
        assert world.a.learner.email not in body(response)


# --- vendor side --------------------------------------------------------------------------------
def test_a_channel_manager_without_the_partner_sees_nothing_of_it(world: World) -> None:
    cam = deal_f.cam_for(world.b.partner)
    client = login(cam.user)
    problems = []
    for url_name in ("training:vendor_report", "training:vendor_report_export"):
        response = get_or_export(client, reverse(url_name))
        assert response.status_code == 200, url_name
        text = body(response)
        problems += [f"{url_name}: shows {s!r}" for s in world.a.secrets if s in text]
    assert problems == []

    report = client.get(reverse("training:vendor_report"))
    assert [row["partner"] for row in report.context["rows"]] == ["Southwind Systems"]
    assert report.context["totals"]["enrolled"] == 1
    assert report.context["totals"]["certified"] == 1
    assert [(row["course__title"], row["enrolled"]) for row in report.context["by_course"]] == [
        ("Zero Trust Fundamentals", 1)
    ]
    rows = csv_rows(exported(client, reverse("training:vendor_report_export")))
    assert [row[0] for row in rows[1:]] == ["Southwind Systems"]


def test_vendor_staff_who_work_the_partner_see_it_control(world: World) -> None:
    for user in (deal_f.cam_for(world.a.partner).user, factories.vendor_user()):
        report = login(user).get(reverse("training:vendor_report"))
        assert report.status_code == 200
        assert "Northwind Resellers" in [row["partner"] for row in report.context["rows"]]


@pytest.mark.parametrize("who", [("a", "admin"), ("b", "admin"), ("a", "learner")])
def test_partner_users_do_not_reach_the_vendor_report(world: World, who: tuple[str, str]) -> None:
    side, role = who
    client = login(getattr(getattr(world, side), role))
    for name in ("training:vendor_report", "training:vendor_report_export"):
        response = get_or_export(client, reverse(name))
        assert response.status_code == 404, name
        assert "Southwind" not in body(response) and "Northwind" not in body(response)


# --- anonymous ------------------------------------------------------------------------------------
def test_anonymous_users_are_sent_to_sign_in_except_on_verify(world: World) -> None:
    client = Client()
    login_url = reverse(settings.LOGIN_URL)
    lesson = world.course.lessons[0]
    urls = [
        ("get", reverse("training:catalogue")),
        ("get", reverse("training:course", args=[world.course.course.pk])),
        ("get", reverse("training:lesson", args=[lesson.pk])),
        ("post", reverse("training:lesson_complete", args=[lesson.pk])),
        ("post", reverse("training:quiz_start", args=[world.second.course.pk])),
        ("get", reverse("training:certifications")),
        ("get", reverse("training:team_progress")),
        ("get", reverse("training:team_progress_export")),
        ("get", reverse("training:vendor_report")),
        ("get", reverse("training:vendor_report_export")),
    ]
    urls += [
        (method, reverse(url_name, args=[pk]))
        for url_name, method, kind in TENANT_URLS
        for pk in ids_of(world.a, kind)
    ]
    before = state_of(world.a)
    for method, url in urls:
        response = call(client, method, url)
        assert response.status_code == 302, (method, url, response.status_code)
        assert response["Location"].startswith(login_url), (url, response["Location"])
        assert [s for s in world.a.secrets if s in response.page] == [], url
    assert state_of(world.a) == before
    assert not Enrollment.objects.filter(user__isnull=True).exists()

    award = world.a.awards[0]
    verify = client.get(reverse("training:verify", args=[award.verification_code]))
    assert verify.status_code == 200
    text = verify.content.decode()
    assert world.a.learner.full_name in text and "Northwind Resellers" in text
    assert world.a.learner.email not in text


def test_a_foreign_attempt_is_not_resumed_by_starting_the_same_quiz(world: World) -> None:
    """B's learner starting the quiz A's learner has open gets a fresh attempt of their own."""
    b = world.b.learner_actor
    f.complete_lessons(b, world.second)
    client = login(world.b.learner)
    response = client.post(reverse("training:quiz_start", args=[world.second.course.pk]))
    assert response.status_code == 302
    mine = QuizAttempt.objects.get(enrollment__user=world.b.learner, quiz=world.second.quiz)
    assert response["Location"] == reverse("training:attempt", args=[mine.pk])
    assert mine.pk != world.a.attempts[2].pk
    assert mine.partner_id == world.b.partner.pk
    with f.acting(b):
        assert services.attempts_left(mine.enrollment, world.second.quiz) == 2
