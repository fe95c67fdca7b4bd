"""The training admin's enrollments and the quiz-attempt reset, driven through the real admin views
as signed-in people: the action's confirmation page, then its POST, then the message; the button
on an enrollment's page; refusals reported per row, never a 500. A channel account manager sees and
resets only their portfolio's learners (another partner's enrollment is a 404 and a crafted POST
changes nothing); finance and partner users, a partner admin included, cannot reach it at all; the
enrollment list runs the same number of queries for 1 row as for 50."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partners.models import Partner, PartnerRole
from partners.services import partner_assign_channel_manager
from prm import audit
from prm.models import AuditEvent, Notification, User
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as df
from tests.helpers import login
from tests.isolation import built_once
from tests.training import factories as f
from training.models import Enrollment, QuizAttempt

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:training_enrollment_changelist"
ACTION = "reset_quiz_attempts"
REASON = "Outage during the exam window (ticket 4711)."


@dataclass
class World:
    course: f.Built
    partner_a: Partner
    partner_b: Partner
    lena: Enrollment  # A's learner, all three attempts failed
    paul: Enrollment  # A's learner, failed once then passed
    bob: Enrollment  # B's learner, all three attempts failed
    partner_admin_a: User
    program_admin: User
    content_manager: User
    cam: User  # works partner A only
    finance: User


def _stuck(partner: Partner, built: f.Built, **user: Any) -> Enrollment:
    learner = f.learner(partner, **user)
    f.complete_lessons(learner, built)
    for seed in (1, 2, 3):
        f.take_quiz(learner, built, n_right=0, seed=seed)
    return Enrollment.objects.get(user=learner.user, course=built.course)


@built_once
def enrollment_world() -> World:
    """Built once for the module (tests/isolation.py): each test runs in a savepoint of its own."""
    built = f.course("Zero Trust Fundamentals", lessons=2, max_attempts=3)
    partner_a = factories.PartnerFactory(legal_name="Northwind Resellers")
    partner_b = factories.PartnerFactory(legal_name="Southwind Systems")
    paul = f.learner(partner_a, full_name="Paul Passwell", email="paul@northwind.example")
    f.complete_lessons(paul, built)
    f.take_quiz(paul, built, n_right=0, seed=1)
    f.take_quiz(paul, built, seed=2)
    return World(
        course=built,
        partner_a=partner_a,
        partner_b=partner_b,
        lena=_stuck(partner_a, built, full_name="Lena Learner", email="lena@northwind.example"),
        paul=Enrollment.objects.get(user=paul.user),
        bob=_stuck(partner_b, built, full_name="Boris Beginner", email="boris@southwind.example"),
        partner_admin_a=factories.partner_user(
            partner_a, role=PartnerRole.ADMIN, email="quinta@northwind.example"
        ),
        program_admin=factories.vendor_user(VendorRole.PROGRAM_ADMIN, email="ada.admin@prm.example"),
        content_manager=factories.vendor_user(VendorRole.CONTENT_MANAGER, email="tess.training@prm.example"),
        cam=df.cam_for(partner_a).user,
        finance=factories.vendor_user(VendorRole.FINANCE, email="fiona.finance@prm.example"),
    )


@pytest.fixture
def world(enrollment_world: World) -> World:
    # A copy: what a test changes on the objects in memory (a login's last_login, a refresh) must
    # not reach the next test.
    return copy.deepcopy(enrollment_world)


def messages_of(response: Any) -> list[str]:
    return [str(message.message) for message in response.context["messages"]]


def shown(response: Any) -> list[Enrollment]:
    return list(response.context["cl"].result_list)


def action_post(enrollments: list[Enrollment], **fields: Any) -> dict[str, Any]:
    return {"action": ACTION, "_selected_action": [e.pk for e in enrollments], **fields}


def reset_url(enrollment: Enrollment) -> str:
    return reverse("admin:training_enrollment_reset_attempts", args=[enrollment.pk])


def change_url(enrollment: Enrollment) -> str:
    return reverse("admin:training_enrollment_change", args=[enrollment.pk])


def state(enrollment: Enrollment) -> dict[str, Any]:
    """The enrollment's attempts, and the audit events and notifications about it."""
    attempts = list(QuizAttempt.objects.filter(enrollment=enrollment).order_by("pk"))
    return {
        "attempts": list(QuizAttempt.objects.filter(enrollment=enrollment).order_by("pk").values()),
        "audit": sum(audit.history_for(target=target).count() for target in [enrollment, *attempts]),
        "notifications": Notification.objects.filter(recipient=enrollment.user).count(),
    }


def attempts_left(enrollment: Enrollment, built: f.Built) -> int:
    return f.attempts_left(enrollment, built.quiz)


# --- the changelist --------------------------------------------------------------------------------
def test_the_list_shows_attempts_used_and_offers_the_reset(world: World) -> None:
    response = login(world.content_manager).get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert set(shown(response)) == {world.lena, world.paul, world.bob}
    body = response.content.decode()
    assert "3 of 3" in body and "2 of 3" in body
    assert f'value="{ACTION}"' in body


# --- the action: confirmation page, POST, message ------------------------------------------------------
def test_the_action_asks_for_the_reason_then_resets_and_says_so(world: World) -> None:
    client = login(world.content_manager)

    page = client.post(reverse(CHANGELIST), action_post([world.lena]))

    assert page.status_code == 200
    assert "training/admin/reset_attempts.html" in [t.name for t in page.templates]
    body = page.content.decode()
    assert "Lena Learner" in body and "Northwind Resellers" in body
    assert "Quiz: Zero Trust Fundamentals" in body and "3 of 3" in body
    assert "3 failed attempts will stop counting" in body
    assert "has seen the right answers" in body
    assert 'name="reason"' in body
    assert attempts_left(world.lena, world.course) == 0  # nothing happens before the confirmation

    response = client.post(
        reverse(CHANGELIST), action_post([world.lena], apply="1", reason=REASON), follow=True
    )

    assert response.redirect_chain[-1][0] == reverse(CHANGELIST)
    assert messages_of(response) == ["Quiz attempts reset for 1 learner; they were notified."]
    assert attempts_left(world.lena, world.course) == 3
    assert QuizAttempt.objects.filter(enrollment=world.lena, reset_by=world.content_manager).count() == 3
    event = AuditEvent.objects.get(action="training.quiz_attempts_reset")
    assert (event.target_id, event.actor_id, event.reason) == (
        str(world.lena.pk),
        world.content_manager.pk,
        REASON,
    )
    assert Notification.objects.filter(
        recipient=world.lena.user, kind="training.quiz_attempts_reset"
    ).exists()
    # The list now says so too.
    assert "0 of 3" in client.get(reverse(CHANGELIST)).content.decode()


def test_without_a_reason_the_page_comes_back_with_the_error(world: World) -> None:
    before = state(world.lena)

    response = login(world.program_admin).post(
        reverse(CHANGELIST), action_post([world.lena], apply="1", reason="  ")
    )

    assert response.status_code == 200
    assert "training/admin/reset_attempts.html" in [t.name for t in response.templates]
    assert "This field is required." in response.content.decode()
    assert state(world.lena) == before


def test_each_refusal_is_reported_on_its_own_row(world: World) -> None:
    client = login(world.program_admin)

    page = client.post(reverse(CHANGELIST), action_post([world.lena, world.paul]))
    assert "Passed the quiz in this cycle: will not be reset." in page.content.decode()
    paul_before = state(world.paul)

    response = client.post(
        reverse(CHANGELIST), action_post([world.lena, world.paul], apply="1", reason=REASON), follow=True
    )

    assert response.status_code == 200
    [refusal, success] = messages_of(response)
    assert "Paul Passwell already passed" in refusal
    assert success == "Quiz attempts reset for 1 learner; they were notified."
    assert state(world.paul) == paul_before
    assert attempts_left(world.lena, world.course) == 3

    # Again: nothing left to reset, so the same action only reports it, and changes nothing.
    lena_after = state(world.lena)
    again = client.post(reverse(CHANGELIST), action_post([world.lena], apply="1", reason=REASON), follow=True)
    assert [m for m in messages_of(again) if "no used attempts to reset" in m]
    assert state(world.lena) == lena_after


def test_a_course_without_a_quiz_is_reported_not_a_500(world: World) -> None:
    no_quiz = f.course("Reading only", quiz=False)
    learner = f.learner(world.partner_a)
    f.complete_lessons(learner, no_quiz)
    enrollment = Enrollment.objects.get(user=learner.user)
    client = login(world.program_admin)

    assert "reset-attempts-link" not in client.get(change_url(enrollment)).content.decode()
    page = client.post(reverse(CHANGELIST), action_post([enrollment]))
    assert "This course has no quiz" in page.content.decode()
    response = client.post(
        reverse(CHANGELIST), action_post([enrollment], apply="1", reason=REASON), follow=True
    )
    assert response.status_code == 200
    assert any("has no quiz" in m for m in messages_of(response))


# --- the button on the enrollment's page -------------------------------------------------------------
def test_the_button_on_the_enrollment_opens_the_same_page_and_comes_back(world: World) -> None:
    client = login(world.cam)

    page = client.get(change_url(world.lena))
    assert page.status_code == 200
    body = page.content.decode()
    assert reset_url(world.lena) in body
    assert 'id="reset-attempts-link"' in body

    confirm = client.get(reset_url(world.lena))
    assert confirm.status_code == 200
    assert "Lena Learner" in confirm.content.decode()
    assert change_url(world.lena) in confirm.content.decode()  # cancel goes back to the enrollment

    response = client.post(reset_url(world.lena), {"apply": "1", "reason": REASON}, follow=True)

    assert response.redirect_chain[-1][0] == change_url(world.lena)
    assert messages_of(response) == ["Quiz attempts reset for 1 learner; they were notified."]
    assert attempts_left(world.lena, world.course) == 3
    assert QuizAttempt.objects.filter(enrollment=world.lena, reset_by=world.cam).count() == 3


# --- scoping and who may reach it ------------------------------------------------------------------------
def test_a_channel_manager_sees_and_resets_only_the_portfolio(world: World) -> None:
    client = login(world.cam)
    bob_before = state(world.bob)

    listing = client.get(reverse(CHANGELIST))
    assert set(shown(listing)) == {world.lena, world.paul}
    assert "Southwind" not in listing.content.decode()
    assert "Boris" not in listing.content.decode()

    for url in (change_url(world.bob), reset_url(world.bob)):
        assert client.get(url).status_code == 404, url
    assert client.post(reset_url(world.bob), {"apply": "1", "reason": REASON}).status_code == 404

    # A crafted bulk action with B's id: the scoped queryset drops it; nothing happens to B.
    response = client.post(
        reverse(CHANGELIST), action_post([world.bob, world.lena], apply="1", reason=REASON), follow=True
    )
    assert response.status_code == 200
    assert messages_of(response) == ["Quiz attempts reset for 1 learner; they were notified."]
    assert state(world.bob) == bob_before
    assert attempts_left(world.bob, world.course) == 0
    assert attempts_left(world.lena, world.course) == 3


def test_finance_cannot_reach_the_enrollments_or_the_reset(world: World) -> None:
    client = login(world.finance)
    before = state(world.lena)

    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(reset_url(world.lena)).status_code == 403
    assert client.post(reset_url(world.lena), {"apply": "1", "reason": REASON}).status_code == 403
    assert (
        client.post(reverse(CHANGELIST), action_post([world.lena], apply="1", reason=REASON)).status_code
        == 403
    )
    assert state(world.lena) == before


@pytest.mark.parametrize(
    ("who", "answer"),
    [
        ("partner_admin", (302, True)),  # sent to the admin's login page
        ("learner", (302, True)),
        ("partner_admin_with_staff_flag", (403, False)),
    ],
)
def test_partner_users_cannot_reach_the_reset(world: World, who: str, answer: tuple[int, bool]) -> None:
    """Partner users are not admin users; even one wrongly flagged as staff has no permission
    there (permissions come from vendor roles) and the service would refuse them anyway."""
    user = world.lena.user if who == "learner" else world.partner_admin_a
    if who == "partner_admin_with_staff_flag":
        User.objects.filter(pk=user.pk).update(is_staff=True)
        user.refresh_from_db()
    client = login(user)
    before = state(world.lena)
    login_url = reverse("admin:login")

    for response in (
        client.get(reverse(CHANGELIST)),
        client.get(change_url(world.lena)),
        client.get(reset_url(world.lena)),
        client.post(reset_url(world.lena), {"apply": "1", "reason": REASON}),
        client.post(reverse(CHANGELIST), action_post([world.lena], apply="1", reason=REASON)),
    ):
        assert (response.status_code, response.get("Location", "").startswith(login_url)) == answer
    assert state(world.lena) == before
    assert attempts_left(world.lena, world.course) == 0


# --- query count -------------------------------------------------------------------------------------------
def _bulk_failed(partners: list[Partner], built: f.Built) -> None:
    """An enrollment with one failed attempt per new learner (bulk-inserted)."""
    now = timezone.now()
    users = [factories.partner_user(partner, role=PartnerRole.LEARNER) for partner in partners]
    enrollments = Enrollment.objects.bulk_create(
        Enrollment(user=user, partner=partner, course=built.course, started_at=now - timedelta(days=n))
        for n, (user, partner) in enumerate(zip(users, partners, strict=True))
    )
    QuizAttempt.objects.bulk_create(
        QuizAttempt(
            enrollment=enrollment,
            partner_id=enrollment.partner_id,
            quiz=built.quiz,
            number=1,
            question_order=[q.pk for q in built.questions],
            choice_order=built.choices,
            submitted_at=now,
            answers=built.answers(0),
            score_percent=Decimal("0"),
            passed=False,
            reset_at=now if n % 2 else None,
        )
        for n, enrollment in enumerate(enrollments)
    )


@pytest.mark.parametrize("who", ["program_admin", "cam"])
def test_the_enrollment_list_query_count_is_constant(who: str) -> None:
    built = f.course("Course 000")
    partner = factories.PartnerFactory()
    _bulk_failed([partner], built)
    user = factories.vendor_user() if who == "program_admin" else df.cam_for(partner).user
    client = login(user)
    url = reverse(CHANGELIST)

    def measure() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as context:
            response = client.get(url)
        assert response.status_code == 200
        return len(context.captured_queries), response.context["cl"].result_count

    measure()  # warm caches (content types, session)
    small, small_rows = measure()
    others = [factories.PartnerFactory() for _ in range(6)]
    for n in range(1, 8):
        _bulk_failed([partner, *others], f.course(f"Course {n:03d}", questions=[f.SINGLE]))
    if who == "cam":
        admin = factories.vendor_actor()
        for other in others:
            partner_assign_channel_manager(actor=admin, partner=other, manager=user)
    large, large_rows = measure()

    assert (small_rows, large_rows) == (1, 50)
    assert small == large, f"{small} queries for 1 row, {large} for {large_rows}"
    assert large <= 30
