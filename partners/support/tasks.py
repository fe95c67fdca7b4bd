"""Celery beat work for support cases: SLA reminders before a target is due and escalations when
it is missed. Idempotent: each case is checked under its row lock and each reminder is stamped on
the row, so a rerun, an overlap or a redelivered task sends nothing twice."""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from prm.tenancy import system_scope

from ..models import OPEN_STATUSES, SupportCase
from . import services, sla


def due_for_check(now: datetime) -> list[int]:
    soon = now + sla.warning_lead()
    responding = Q(first_responded_at__isnull=True)
    return list(
        SupportCase.objects.filter(status__in=OPEN_STATUSES)
        .filter(
            (responding & Q(response_reminded_at__isnull=True, first_response_due_at__lte=soon))
            | (responding & Q(response_escalated_at__isnull=True, first_response_due_at__lte=now))
            | Q(resolution_reminded_at__isnull=True, resolution_due_at__lte=soon)
            | Q(resolution_escalated_at__isnull=True, resolution_due_at__lte=now)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@shared_task(acks_late=True)
def check_support_slas() -> int:
    now = timezone.now()
    with system_scope():
        ids = due_for_check(now)
    sent = 0
    for pk in ids:
        # One transaction per case: a failure on one leaves the others' reminders sent.
        with system_scope():
            sent += len(services.case_sla_check(case=SupportCase(pk=pk), now=now))
    return sent
