"""Resetting a learner's quiz attempts (``services.attempts_reset``): who may do it (training
managers and program admins for every partner, a channel account manager for their portfolio only,
nobody else), what it refuses (a passed quiz, nothing to reset, no reason) without changing
anything, that the failed attempts stay as history but stop counting, how an open attempt is
treated, the audit event and the learner's notification, what the learner then sees, and that two
resets, or a reset and a submission, racing each other leave consistent counts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from partners.models import PartnerRole
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as df
from tests.helpers import login, race, slow_while_racing
from tests.training import factories as f
from training import services
from training.models import Enrollment, QuizAttempt

pytestmark = pytest.mark.django_db

REASON = "Learner lost the connection during the last two attempts (ticket 4711)."


@pytest.fixture
def built() -> f.Built:
    return f.course("Firewall Basics", lessons=2, max_attempts=3)


@pytest.fixture
def me(partner: Any) -> Actor:
    return f.learner(partner, full_name="Lena Learner", email="lena@acme.example")


@pytest.fixture
def stuck(me: Actor, built: f.Built) -> Enrollment:
    """``me`` failed all three attempts: ``attempts_left`` is 0 and starting again is refused."""
    f.complete_lessons(me, built)
    for seed in (1, 2, 3):
        f.take_quiz(me, built, n_right=0, seed=seed)
    enrollment = Enrollment.objects.get(user=me.user, course=built.course)
    assert f.attempts_left(enrollment, built.quiz) == 0
    return enrollment


def reset(actor: Actor, enrollment: Enrollment, built: f.Built, reason: str = REASON) -> int:
    """The reset as the admin runs it: in the actor's scope, in a savepoint of its own."""
    with f.acting(actor), transaction.atomic():
        return services.attempts_reset(actor=actor, enrollment=enrollment, quiz=built.quiz, reason=reason)


def state(enrollment: Enrollment) -> dict[str, Any]:
    """Everything a refused reset must leave as it was."""
    return {
        "enrollment": Enrollment.objects.filter(pk=enrollment.pk).values().get(),
        "attempts": list(QuizAttempt.objects.filter(enrollment=enrollment).order_by("pk").values()),
        "audit": AuditEvent.objects.filter(partner_id=enrollment.partner_id).count(),
        "notifications": Notification.objects.filter(recipient=enrollment.user).count(),
    }


def reset_events(enrollment: Enrollment) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(action="training.quiz_attempts_reset", target_id=str(enrollment.pk))
    )


def reset_notifications(enrollment: Enrollment) -> list[Notification]:
    return list(Notification.objects.filter(recipient=enrollment.user, kind="training.quiz_attempts_reset"))


# --- who may reset -------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [VendorRole.PROGRAM_ADMIN, VendorRole.CONTENT_MANAGER])
def test_training_managers_and_program_admins_reset_and_history_is_kept(
    role: str, me: Actor, built: f.Built, stuck: Enrollment
) -> None:
    manager = factories.vendor_actor(role)
    before = list(QuizAttempt.objects.filter(enrollment=stuck).order_by("number").values())

    assert reset(manager, stuck, built) == 3

    stuck.refresh_from_db()
    assert f.attempts_left(stuck, built.quiz) == 3
    attempts = list(QuizAttempt.objects.filter(enrollment=stuck).order_by("number"))
    # Nothing deleted, nothing graded differently: only the reset marks were added.
    assert [a.number for a in attempts] == [1, 2, 3]
    for old, attempt in zip(before, attempts, strict=True):
        assert attempt.reset_at is not None and attempt.reset_by_id == manager.user.pk
        assert (attempt.submitted_at, attempt.score_percent, attempt.passed, attempt.answers) == (
            old["submitted_at"],
            old["score_percent"],
            False,
            old["answers"],
        )
    assert stuck.completed_at is None and stuck.cycle == 1


def test_a_channel_manager_resets_for_a_partner_in_the_portfolio(
    partner: Any, built: f.Built, stuck: Enrollment
) -> None:
    cam = df.cam_for(partner)
    assert reset(cam, stuck, built) == 3
    assert f.attempts_left(stuck, built.quiz) == 3
    assert QuizAttempt.objects.filter(enrollment=stuck, reset_by=cam.user).count() == 3


def _refused_role(actor: Actor, stuck: Enrollment, built: f.Built) -> None:
    before = state(stuck)
    with pytest.raises(PermissionDenied):
        reset(actor, stuck, built)
    assert state(stuck) == before


@pytest.mark.parametrize("who", ["finance", "cam_of_another_partner", "cam_without_portfolio"])
def test_other_vendor_staff_cannot_reset(
    who: str, other_partner: Any, built: f.Built, stuck: Enrollment
) -> None:
    actor = {
        "finance": lambda: factories.vendor_actor(VendorRole.FINANCE),
        "cam_of_another_partner": lambda: df.cam_for(other_partner),
        "cam_without_portfolio": lambda: factories.vendor_actor(VendorRole.CHANNEL_ACCOUNT_MANAGER),
    }[who]()
    _refused_role(actor, stuck, built)


@pytest.mark.parametrize("role", [PartnerRole.ADMIN, PartnerRole.LEARNER])
def test_partner_users_cannot_reset_not_even_their_own_or_their_staffs(
    role: str, partner: Any, me: Actor, built: f.Built, stuck: Enrollment
) -> None:
    _refused_role(f.learner(partner, role=role), stuck, built)
    _refused_role(me, stuck, built)


# --- what is refused -----------------------------------------------------------------------------
def test_a_passed_quiz_is_not_reset(me: Actor, built: f.Built) -> None:
    f.complete_lessons(me, built)
    f.take_quiz(me, built, n_right=0, seed=1)
    f.take_quiz(me, built, seed=2)
    enrollment = Enrollment.objects.get(user=me.user)
    assert enrollment.completed_at is not None
    before = state(enrollment)

    with pytest.raises(ApplicationError, match="already passed"):
        reset(factories.vendor_actor(), enrollment, built)

    assert state(enrollment) == before


def test_nothing_to_reset_is_refused(me: Actor, built: f.Built) -> None:
    f.complete_lessons(me, built)
    enrollment = Enrollment.objects.get(user=me.user)
    before = state(enrollment)
    with pytest.raises(ApplicationError, match="no used attempts to reset"):
        reset(factories.vendor_actor(), enrollment, built)
    assert state(enrollment) == before


def test_a_second_reset_is_refused_and_changes_nothing(built: f.Built, stuck: Enrollment) -> None:
    manager = factories.vendor_actor(VendorRole.CONTENT_MANAGER)
    assert reset(manager, stuck, built) == 3
    after_first = state(stuck)

    with pytest.raises(ApplicationError, match="no used attempts to reset"):
        reset(factories.vendor_actor(), stuck, built)

    assert state(stuck) == after_first
    assert len(reset_events(stuck)) == 1
    assert len(reset_notifications(stuck)) == 1


@pytest.mark.parametrize("reason", ["", "   \n\t"])
def test_a_reset_without_a_reason_is_refused(reason: str, built: f.Built, stuck: Enrollment) -> None:
    before = state(stuck)
    with pytest.raises(ApplicationError, match="reason") as refusal:
        reset(factories.vendor_actor(), stuck, built, reason=reason)
    assert refusal.value.field == "reason"
    assert state(stuck) == before


def test_the_quiz_of_another_course_is_refused(stuck: Enrollment) -> None:
    before = state(stuck)
    other = f.course("Switching 101")
    with pytest.raises(ApplicationError, match="does not belong"):
        reset(factories.vendor_actor(), stuck, other)
    assert state(stuck) == before


def test_attempts_of_an_earlier_certification_cycle_are_not_touched(
    built: f.Built, stuck: Enrollment
) -> None:
    """After a certification expired the learner is in a new cycle with fresh attempts: the old
    cycle's failures are history that no longer counts, and there is nothing to reset."""
    Enrollment.objects.filter(pk=stuck.pk).update(cycle=2)
    stuck.refresh_from_db()
    assert f.attempts_left(stuck, built.quiz) == 3
    with pytest.raises(ApplicationError, match="no used attempts"):
        reset(factories.vendor_actor(), stuck, built)
    assert not QuizAttempt.objects.filter(enrollment=stuck, reset_at__isnull=False).exists()


def test_the_database_refuses_a_reset_mark_on_a_passed_or_open_attempt(me: Actor, built: f.Built) -> None:
    f.complete_lessons(me, built)
    passed = f.take_quiz(me, built)
    manager = factories.vendor_actor(VendorRole.CONTENT_MANAGER)  # who writes reset marks
    for values in ({"pk": passed.pk}, {"pk": passed.pk, "passed": None, "submitted_at": None}):
        pk = values.pop("pk")
        with f.acting(manager), pytest.raises(IntegrityError), transaction.atomic():
            QuizAttempt.objects.filter(pk=pk).update(reset_at=timezone.now(), **values)


# --- audit and notification ----------------------------------------------------------------------
def test_the_reset_is_audited_with_the_reason_and_the_learner_is_notified(
    me: Actor, built: f.Built, stuck: Enrollment, django_capture_on_commit_callbacks: Any
) -> None:
    manager = factories.vendor_actor(VendorRole.CONTENT_MANAGER)
    with django_capture_on_commit_callbacks() as callbacks:
        reset(manager, stuck, built, reason=f"  {REASON}  ")

    [event] = reset_events(stuck)
    assert (event.actor_id, event.partner_id, event.reason) == (manager.user.pk, me.partner_id, REASON)
    assert event.before == {"attempts_left": 0}
    assert event.after == {"attempts_left": 3, "reset_attempts": [1, 2, 3], "quiz": built.quiz.pk, "cycle": 1}

    [notification] = reset_notifications(stuck)
    assert notification.partner_id == me.partner_id
    assert "Firewall Basics" in notification.title
    assert "3 attempts" in notification.body
    assert REASON not in notification.title + notification.body  # the vendor's note stays internal
    assert notification.url == reverse("training:course", args=[built.course.pk])
    assert len(callbacks) == 1  # the e-mail copy goes out after commit


# --- open attempts -------------------------------------------------------------------------------
def test_an_attempt_in_progress_keeps_running_and_counts(me: Actor, built: f.Built) -> None:
    """Two failed attempts and the last one open: the learner may be answering it right now, so
    the reset leaves it running (it stays resumable and counts); the two failures are reset."""
    f.complete_lessons(me, built)
    f.take_quiz(me, built, n_right=0, seed=1)
    f.take_quiz(me, built, n_right=0, seed=2)
    running = f.start(me, built, seed=3)
    enrollment = Enrollment.objects.get(user=me.user)
    assert f.attempts_left(enrollment, built.quiz) == 0

    assert reset(factories.vendor_actor(), enrollment, built) == 2

    running.refresh_from_db()
    assert (running.submitted_at, running.passed, running.reset_at) == (None, None, None)
    assert f.attempts_left(enrollment, built.quiz) == 2
    assert f.start(me, built, seed=4).pk == running.pk  # resumed, not a new one
    # The learner can still submit it, and pass.
    assert f.submit(me, running, built.answers()).passed is True


def test_an_attempt_whose_time_ran_out_is_closed_as_failed_and_reset(me: Actor) -> None:
    built = f.course(time_limit=10, max_attempts=2)
    f.complete_lessons(me, built)
    f.take_quiz(me, built, n_right=0, seed=1)
    expired = f.start(me, built, seed=2)
    now = timezone.now()
    QuizAttempt.objects.filter(pk=expired.pk).update(
        started_at=now - timedelta(minutes=20), deadline_at=now - timedelta(minutes=10)
    )
    enrollment = Enrollment.objects.get(user=me.user)

    assert reset(factories.vendor_actor(), enrollment, built) == 2

    expired.refresh_from_db()
    assert expired.submitted_at is not None
    assert (expired.score_percent, expired.passed) == (Decimal("0"), False)
    assert expired.reset_at is not None
    assert AuditEvent.objects.filter(action="training.quiz_timed_out", target_id=str(expired.pk)).exists()
    # Both attempts back, not one: the expired attempt does not cost a fresh one.
    assert f.attempts_left(enrollment, built.quiz) == 2
    fresh = f.start(me, built, seed=3)
    assert fresh.pk != expired.pk and fresh.number == 3


# --- after the reset -----------------------------------------------------------------------------
def test_the_learner_gets_max_attempts_again_numbered_after_the_old_ones(
    me: Actor, built: f.Built, stuck: Enrollment
) -> None:
    with pytest.raises(ApplicationError, match="used all 3 attempts"):
        f.start(me, built)
    reset(factories.vendor_actor(), stuck, built)

    numbers = [f.take_quiz(me, built, n_right=0, seed=seed).number for seed in (4, 5, 6)]
    assert numbers == [4, 5, 6]
    with pytest.raises(ApplicationError, match="used all 3 attempts"):
        f.start(me, built)
    assert QuizAttempt.objects.filter(enrollment=stuck).count() == 6
    # ... and a second reset covers the new failures only.
    assert reset(factories.vendor_actor(), stuck, built) == 3
    assert f.attempts_left(stuck, built.quiz) == 3


def test_passing_after_a_reset_completes_the_course(me: Actor, built: f.Built, stuck: Enrollment) -> None:
    reset(factories.vendor_actor(), stuck, built)
    attempt = f.take_quiz(me, built, seed=9)
    assert (attempt.number, attempt.passed) == (4, True)
    stuck.refresh_from_db()
    assert stuck.completed_at is not None


def test_the_course_page_shows_the_fresh_attempts_and_marks_the_reset_ones(
    me: Actor, built: f.Built, stuck: Enrollment
) -> None:
    client = login(me.user)
    course_url = reverse("training:course", args=[built.course.pk])
    before = client.get(course_url)
    assert before.context["attempts_left"] == 0
    assert 'id="quiz-no-attempts"' in before.content.decode()
    last = QuizAttempt.objects.get(enrollment=stuck, number=3)
    # With no attempts left, the attempt page reveals the right answers (why the confirmation
    # page warns the manager).
    assert client.get(reverse("training:attempt", args=[last.pk])).context["reveal"] is True

    reset(factories.vendor_actor(), stuck, built)

    page = client.get(course_url)
    content = page.content.decode()
    assert page.context["attempts_left"] == 3
    assert page.context["may_start_quiz"] is True
    assert 'id="quiz-start"' in content and 'id="quiz-no-attempts"' not in content
    assert "3 of 3" in content
    assert content.count("Reset, not counted") == 3
    attempt_page = client.get(reverse("training:attempt", args=[last.pk]))
    assert attempt_page.context["reveal"] is False  # fresh attempts left: no more answers shown
    assert attempt_page.context["may_retry"] is True
    assert 'id="attempt-reset"' in attempt_page.content.decode()
    assert 'id="quiz-retry"' in attempt_page.content.decode()

    started = client.post(reverse("training:quiz_start", args=[built.course.pk]))
    assert started.status_code == 302
    assert QuizAttempt.objects.filter(enrollment=stuck, number=4, submitted_at__isnull=True).exists()


# --- races ---------------------------------------------------------------------------------------
def _race(calls: list[tuple[Actor, Callable[[], Any]]]) -> list[tuple[str, Any]]:
    """Run each call at the same moment on its own connection, in its actor's scope."""
    return race([call for _actor, call in calls], scopes=[actor.scope for actor, _call in calls])


def _slow(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Hold a service's window open while the racers run."""
    slow_while_racing(monkeypatch, services, name, seconds=0.2)


def _resetting(manager: Actor, enrollment: Enrollment, built: f.Built) -> tuple[Actor, Callable[[], Any]]:
    return manager, lambda: services.attempts_reset(
        actor=manager, enrollment=enrollment, quiz=built.quiz, reason=REASON
    )


def _submitting(learner: Actor, attempt: QuizAttempt, built: f.Built) -> tuple[Actor, Callable[[], Any]]:
    return learner, lambda: services.attempt_submit(actor=learner, attempt=attempt, answers=built.answers())


def _stuck_learner(built: f.Built) -> tuple[Actor, Enrollment]:
    learner = f.learner(factories.PartnerFactory())
    f.complete_lessons(learner, built)
    for seed in (1, 2, 3):
        f.take_quiz(learner, built, n_right=0, seed=seed)
    return learner, Enrollment.objects.get(user=learner.user)


@pytest.mark.django_db(transaction=True)
def test_two_managers_resetting_at_once_reset_once(monkeypatch: pytest.MonkeyPatch) -> None:
    factories.default_tiers()
    _slow(monkeypatch, "attempts_left")  # between reading the attempts and marking them
    built = f.course(max_attempts=3)
    for _run in range(3):
        _learner, enrollment = _stuck_learner(built)
        managers = [factories.vendor_actor(), factories.vendor_actor(VendorRole.CONTENT_MANAGER)]
        results = _race([_resetting(manager, enrollment, built) for manager in managers])
        assert sorted(kind for kind, _value in results) == ["ok", "refused"], results
        assert next(value for kind, value in results if kind == "ok") == 3
        assert "no used attempts" in str(next(value for kind, value in results if kind == "refused"))
        assert QuizAttempt.objects.filter(enrollment=enrollment, reset_at__isnull=False).count() == 3
        assert len({a.reset_by_id for a in QuizAttempt.objects.filter(enrollment=enrollment)}) == 1
        assert len(reset_events(enrollment)) == 1
        assert len(reset_notifications(enrollment)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_reset_racing_a_passing_submission_neither_deadlocks_nor_loses_the_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The submission locks its attempt, grades it (held open here) and, having passed, locks the
    enrollment; the reset locks the enrollment, then the graded attempts. Whichever goes first,
    both finish: the pass stands, and the failures are reset only if the reset went first."""
    factories.default_tiers()
    _slow(monkeypatch, "grade")
    built = f.course(max_attempts=3)
    for _run in range(3):
        learner = f.learner(factories.PartnerFactory())
        f.complete_lessons(learner, built)
        f.take_quiz(learner, built, n_right=0, seed=1)
        f.take_quiz(learner, built, n_right=0, seed=2)
        last = f.start(learner, built, seed=3)
        enrollment = Enrollment.objects.get(user=learner.user)
        manager = factories.vendor_actor()
        results = _race([_submitting(learner, last, built), _resetting(manager, enrollment, built)])
        (submit_kind, submitted), (reset_kind, outcome) = results
        assert submit_kind == "ok" and submitted.passed is True, results
        last.refresh_from_db()
        assert (last.passed, last.reset_at) == (True, None)
        enrollment.refresh_from_db()
        assert enrollment.completed_at is not None
        reset_count = QuizAttempt.objects.filter(enrollment=enrollment, reset_at__isnull=False).count()
        if reset_kind == "ok":
            assert (outcome, reset_count) == (2, 2)
        else:
            assert "already passed" in str(outcome) and reset_count == 0, results
