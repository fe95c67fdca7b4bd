"""Recertification reminders (60/30/7 days, each once, only the nearest that applies) and expiry
(which restarts the required courses in a new cycle), with time controlled through expires_at."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from prm.models import Notification
from prm.tenancy import Actor
from tests.training import factories as f
from training import tasks
from training.models import AwardStatus, CertificationAward, Enrollment, LessonCompletion, QuizAttempt

pytestmark = pytest.mark.django_db


@pytest.fixture
def me(partner: Any) -> Actor:
    return f.learner(partner)


@pytest.fixture
def cert() -> Any:
    return f.certification("Certified Security Pro", courses=[f.course()], validity=12)


def _move(award: CertificationAward, days: float) -> None:
    CertificationAward.objects.filter(pk=award.pk).update(expires_at=timezone.now() + timedelta(days=days))


def _reminders(award: CertificationAward) -> list[int]:
    return CertificationAward.objects.get(pk=award.pk).reminders_sent


def _expiring_notes(actor: Actor) -> list[str]:
    return list(
        Notification.objects.filter(recipient=actor.user, kind="training.expiring")
        .order_by("pk")
        .values_list("title", flat=True)
    )


def test_reminders_at_60_30_and_7_days_each_once(me: Actor, cert: Any) -> None:
    award = f.award(me, cert, expires_in=timedelta(days=50))
    assert tasks.send_expiry_reminders() == 1
    assert _reminders(award) == [60]
    assert tasks.send_expiry_reminders() == 0

    _move(award, 25)
    assert tasks.send_expiry_reminders() == 1
    assert _reminders(award) == [60, 30]
    assert tasks.send_expiry_reminders() == 0

    _move(award, 5)
    assert tasks.send_expiry_reminders() == 1
    assert _reminders(award) == [60, 30, 7]
    assert tasks.send_expiry_reminders() == 0

    assert _expiring_notes(me) == [
        "Certified Security Pro expires in 60 days",
        "Certified Security Pro expires in 30 days",
        "Certified Security Pro expires in 7 days",
    ]
    assert set(
        Notification.objects.filter(kind="training.expiring").values_list("partner_id", flat=True)
    ) == {me.partner_id}


def test_an_award_five_days_out_gets_only_the_7_day_reminder(me: Actor, cert: Any) -> None:
    award = f.award(me, cert, expires_in=timedelta(days=5))
    assert tasks.send_expiry_reminders() == 1
    assert _reminders(award) == [7]
    _move(award, 2)
    assert tasks.send_expiry_reminders() == 0
    assert _expiring_notes(me) == ["Certified Security Pro expires in 7 days"]


def test_no_reminder_far_out_past_due_expired_or_never_expiring(me: Actor, partner: Any, cert: Any) -> None:
    f.award(me, cert, expires_in=timedelta(days=61))
    f.award(f.learner(partner), cert, expires_in=None)
    f.award(f.learner(partner), cert, expires_in=timedelta(days=-1))
    f.award(f.learner(partner), cert, expires_in=timedelta(days=10), status=AwardStatus.EXPIRED)
    assert tasks.send_expiry_reminders() == 0
    assert Notification.objects.filter(kind="training.expiring").count() == 0


def test_expiry_expires_past_due_awards_restarts_courses_and_is_idempotent(me: Actor, partner: Any) -> None:
    a, b, other = f.course(), f.course(), f.course()
    cert = f.certification(courses=[a, b], validity=12)
    for built in (a, b, other):
        f.pass_course(me, built)
    award = CertificationAward.objects.get(user=me.user)
    assert award.cycle == 1
    _move(award, -1)
    fresh = f.award(f.learner(partner), cert, expires_in=timedelta(days=3))
    never = f.award(f.learner(partner), cert, expires_in=None)

    assert tasks.expire_certifications() == 1
    award.refresh_from_db()
    assert award.status == AwardStatus.EXPIRED
    assert not award.is_valid
    assert CertificationAward.objects.get(pk=fresh.pk).status == AwardStatus.ACTIVE
    assert CertificationAward.objects.get(pk=never.pk).status == AwardStatus.ACTIVE
    rows = {
        e.course_id: (e.cycle, e.completed_at, e.last_lesson_id)
        for e in Enrollment.objects.filter(user=me.user)
    }
    assert rows[a.course.pk] == (2, None, None)
    assert rows[b.course.pk] == (2, None, None)
    assert rows[other.course.pk][0] == 1 and rows[other.course.pk][1] is not None
    assert Notification.objects.filter(recipient=me.user, kind="training.expired").count() == 1

    assert tasks.expire_certifications() == 0
    assert sorted(Enrollment.objects.filter(user=me.user).values_list("cycle", flat=True)) == [1, 2, 2]
    assert Notification.objects.filter(recipient=me.user, kind="training.expired").count() == 1


def test_after_expiry_completing_the_courses_again_awards_a_new_cycle(me: Actor) -> None:
    built = f.course(lessons=2)
    f.certification(courses=[built], validity=24)
    f.pass_course(me, built)
    first = CertificationAward.objects.get(user=me.user)
    _move(first, -1)
    assert tasks.expire_certifications() == 1

    # The new cycle starts from nothing: old completions and the passed attempt belong to cycle 1.
    f.complete_lessons(me, built)
    enrollment = Enrollment.objects.get(user=me.user)
    assert enrollment.cycle == 2 and enrollment.completed_at is None
    assert LessonCompletion.objects.filter(enrollment=enrollment, cycle=2).count() == 2
    assert CertificationAward.objects.filter(user=me.user).count() == 1

    attempt = f.take_quiz(me, built, seed=3)
    assert (attempt.cycle, attempt.number, attempt.passed) == (2, 1, True)
    assert QuizAttempt.objects.filter(enrollment=enrollment).count() == 2

    enrollment.refresh_from_db()
    assert enrollment.completed_at is not None
    awards = {a.cycle: a for a in CertificationAward.objects.filter(user=me.user)}
    assert set(awards) == {1, 2}
    assert awards[1].status == AwardStatus.EXPIRED
    assert awards[2].status == AwardStatus.ACTIVE and awards[2].is_valid
    assert awards[2].verification_code != awards[1].verification_code
    assert awards[2].reminders_sent == []


def test_after_expiry_lessons_alone_do_not_recertify(me: Actor) -> None:
    built = f.course(lessons=2)
    f.certification(courses=[built], validity=12)
    f.pass_course(me, built)
    _move(CertificationAward.objects.get(user=me.user), -1)
    tasks.expire_certifications()
    f.complete_lessons(me, built)
    assert Enrollment.objects.get(user=me.user).completed_at is None
    assert CertificationAward.objects.filter(user=me.user, cycle=2).count() == 0
