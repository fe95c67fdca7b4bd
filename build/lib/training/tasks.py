"""Certification reminders (60, 30, 7 days before expiry, each once) and expiry."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from prm.tenancy import system_scope

from . import services
from .models import AwardStatus, CertificationAward


@shared_task(acks_late=True)
def send_expiry_reminders() -> int:
    now = timezone.now()
    thresholds = sorted(services.reminder_days())  # nearest first: 7, 30, 60
    with system_scope():
        rows = list(
            CertificationAward.objects.filter(
                status=AwardStatus.ACTIVE,
                expires_at__gt=now,
                expires_at__lte=now + timedelta(days=max(thresholds)),
            ).values_list("pk", "expires_at", "reminders_sent")
        )
    sent = 0
    for pk, expires_at, already in rows:
        due = next(days for days in thresholds if expires_at - now <= timedelta(days=days))
        # Only the nearest threshold that applies, once; a nearer one already sent covers it.
        if due in already or any(days in already for days in thresholds if days < due):
            continue
        with system_scope():
            sent += services.award_remind(award=CertificationAward(pk=pk), days=due)
    return sent


@shared_task(acks_late=True)
def expire_certifications() -> int:
    now = timezone.now()
    with system_scope():
        ids = list(
            CertificationAward.objects.filter(status=AwardStatus.ACTIVE, expires_at__lte=now).values_list(
                "pk", flat=True
            )
        )
    done = 0
    for pk in ids:
        with system_scope():
            done += services.award_expire(award=CertificationAward(pk=pk), now=now)
    return done
