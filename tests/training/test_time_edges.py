"""Certification validity at its edges, on a fixed clock (time-machine).

PRODUCT.md promises a validity of 12/24/36 *months* (not 365 days): a certification earned on
1 March 2027 is valid until 1 March 2028 although 2028 has a 29 February, and one earned on the
leap day 2028-02-29 until 28 February of the following year (there is no 29th). It is valid up to
that instant and not a second longer; the reminders go out when exactly 60, 30 and 7 days are left.
The portal's TIME_ZONE is UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from prm.models import Notification
from prm.tenancy import Actor
from tests.training import factories as f
from training import tasks
from training.models import AwardStatus, CertificationAward

pytestmark = pytest.mark.django_db


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def me(partner: Any) -> Actor:
    return f.learner(partner)


def certify(me: Actor, validity: int | None, when: datetime) -> CertificationAward:
    built = f.course()
    cert = f.certification(courses=[built], validity=validity)
    with at(when):
        f.pass_course(me, built)
    return CertificationAward.objects.get(user=me.user, certification=cert)


@pytest.mark.parametrize(
    ("awarded", "validity", "expires"),
    [
        # Twelve months, where 365 days would end a day early (2028 is a leap year) ...
        (datetime(2027, 3, 1, 10, 0), 12, datetime(2028, 3, 1, 10, 0)),
        # ... or a day late (from the leap day: there is no 29 February 2029).
        (datetime(2028, 2, 29, 10, 0), 12, datetime(2029, 2, 28, 10, 0)),
        (datetime(2028, 2, 29, 10, 0), 24, datetime(2030, 2, 28, 10, 0)),
        (datetime(2028, 2, 29, 10, 0), 36, datetime(2031, 2, 28, 10, 0)),
        (datetime(2027, 1, 31, 23, 59, 59), 12, datetime(2028, 1, 31, 23, 59, 59)),
        (datetime(2027, 12, 31, 23, 59, 59), 24, datetime(2029, 12, 31, 23, 59, 59)),
    ],
)
def test_validity_is_whole_calendar_months(
    me: Actor, awarded: datetime, validity: int, expires: datetime
) -> None:
    award = certify(me, validity, awarded.replace(tzinfo=UTC))
    assert (award.awarded_at, award.expires_at) == (awarded.replace(tzinfo=UTC), expires.replace(tzinfo=UTC))


def test_a_certification_without_validity_never_expires(me: Actor) -> None:
    award = certify(me, None, datetime(2028, 2, 29, 10, 0, tzinfo=UTC))
    assert award.expires_at is None
    with at(datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)):
        assert award.is_valid
        assert tasks.expire_certifications() == 0


def test_valid_up_to_the_instant_it_expires_and_expired_by_the_job_then(me: Actor) -> None:
    award = certify(me, 12, datetime(2028, 2, 29, 10, 0, tzinfo=UTC))
    end = datetime(2029, 2, 28, 10, 0, tzinfo=UTC)
    with at(end - timedelta(seconds=1)):
        assert award.is_valid
        assert tasks.expire_certifications() == 0
    assert CertificationAward.objects.get(pk=award.pk).status == AwardStatus.ACTIVE
    with at(end):
        assert not award.is_valid
        assert tasks.expire_certifications() == 1
    assert CertificationAward.objects.get(pk=award.pk).status == AwardStatus.EXPIRED


def test_reminders_go_out_when_exactly_60_30_and_7_days_are_left(me: Actor) -> None:
    award = certify(me, 12, datetime(2028, 2, 29, 10, 0, tzinfo=UTC))
    end = award.expires_at
    for days in (60, 30, 7):
        with at(end - timedelta(days=days, seconds=1)):
            assert tasks.send_expiry_reminders() == 0, days
        with at(end - timedelta(days=days)):
            assert tasks.send_expiry_reminders() == 1, days
    assert CertificationAward.objects.get(pk=award.pk).reminders_sent == [60, 30, 7]
    titles = Notification.objects.filter(recipient=me.user, kind="training.expiring").order_by("pk")
    assert [title.split(" expires ")[1] for title in titles.values_list("title", flat=True)] == [
        "in 60 days",
        "in 30 days",
        "in 7 days",
    ]
