"""Scheduled MDF jobs: thin and idempotent, one transaction per row."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from prm.tenancy import system_scope

from . import services
from .models import FundPeriod, FundRequest, RequestStatus


@shared_task(acks_late=True)
def expire_unclaimed_requests() -> int:
    today = timezone.localdate()
    with system_scope():
        ids = list(
            FundRequest.objects.filter(status=RequestStatus.APPROVED, claim_deadline__lt=today).values_list(
                "pk", flat=True
            )
        )
    done = 0
    for pk in ids:
        with system_scope():
            done += services.request_expire(fund_request=FundRequest.objects.get(pk=pk), today=today)
    return done


@shared_task(acks_late=True)
def close_ended_periods() -> int:
    today = timezone.localdate()
    with system_scope():
        ids = list(
            FundPeriod.objects.filter(ends_on__lt=today, closed_at__isnull=True).values_list("pk", flat=True)
        )
    forfeited = 0
    for pk in ids:
        with system_scope():
            forfeited += services.period_close(period=FundPeriod(pk=pk), today=today)
    return forfeited
