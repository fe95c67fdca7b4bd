"""Scheduled deal and lead jobs. Thin and idempotent: each finds the due rows and calls a
service per row in its own transaction; running a job twice changes nothing more."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from prm.tenancy import system_scope

from . import authorizations, leads, rollup, services
from .models import Deal, DealStatus, Lead

# A review is "about to be missed" this long before its due time.
REVIEW_REMINDER_LEAD = timedelta(hours=4)


def _each(ids: list[int], work) -> int:
    done = 0
    for pk in ids:
        with system_scope():
            done += bool(work(pk))
    return done


@shared_task(acks_late=True)
def expire_deals() -> int:
    now = timezone.now()
    with system_scope():
        ids = list(
            Deal.objects.filter(status=DealStatus.APPROVED, protection_expires_at__lte=now).values_list(
                "pk", flat=True
            )
        )
    return _each(ids, lambda pk: services.deal_expire(deal=Deal(pk=pk), now=now))


@shared_task(acks_late=True)
def warn_expiring_deals() -> int:
    """One warning per threshold (14 and 3 days by default), the nearest one that applies."""
    now = timezone.now()
    thresholds = sorted(settings.PRM["DEAL_EXPIRY_WARNING_DAYS"])
    horizon = now + timedelta(days=max(thresholds))
    with system_scope():
        rows = list(
            Deal.objects.filter(
                status=DealStatus.APPROVED, protection_expires_at__gt=now, protection_expires_at__lte=horizon
            ).values_list("pk", "protection_expires_at", "expiry_warnings_sent")
        )
    sent = 0
    for pk, expires_at, already in rows:
        remaining = expires_at - now
        due = next(days for days in thresholds if remaining <= timedelta(days=days))
        if due in already or any(days in already for days in thresholds if days < due):
            continue
        with system_scope():
            sent += services.deal_warn_expiry(deal=Deal(pk=pk), days=due)
    return sent


@shared_task(acks_late=True)
def remind_reviewers() -> int:
    soon = timezone.now() + REVIEW_REMINDER_LEAD
    with system_scope():
        ids = list(
            Deal.objects.filter(
                status=DealStatus.SUBMITTED, review_due_at__lte=soon, review_reminder_sent_at__isnull=True
            ).values_list("pk", flat=True)
        )
    return _each(ids, lambda pk: services.deal_remind_reviewer(deal=Deal(pk=pk)))


@shared_task(acks_late=True)
def reassign_unanswered_leads() -> int:
    now = timezone.now()
    with system_scope():
        ids = list(Lead.objects.filter(leads.overdue_offers_q(now)).values_list("pk", flat=True))
    return _each(ids, lambda pk: leads.lead_time_out(lead=Lead(pk=pk), now=now))


@shared_task(acks_late=True)
def fold_pipeline_rollup() -> int:
    """Merge the pipeline figures' recent deltas (deals.rollup). The figures are exact without
    it; folding keeps the rows that readers add up few. Two workers running it take turns."""
    return rollup.fold()


@shared_task(acks_late=True)
def evaluate_authorizations() -> dict[str, int]:
    """Re-evaluate every product authorization rule for every partner (deals.authorizations):
    grant, renew, warn before the qualifying certifications expire, lapse. Opens its own scopes;
    running it twice changes nothing more."""
    return vars(authorizations.evaluate())
