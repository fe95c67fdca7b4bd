"""Celery tasks of the partners app: the nightly scorecards and the tier evaluation."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from prm.tenancy import system_scope

from .models import ScorecardSnapshot
from .performance import services
from .performance.kpis import month_end_before


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=3, retry_backoff=True)
def compute_scorecards(as_of: str | None = None) -> dict[str, int]:
    """Every partner's scorecard as of ``as_of`` (by default yesterday, the last complete day).

    Idempotent: the day's rows are replaced, a frozen month-end is left alone. When the last
    month-end has no snapshot at all (the worker was down that night), it is computed too, so the
    trend never misses a month."""
    today = timezone.localdate()
    day = date.fromisoformat(as_of) if as_of else today - timedelta(days=1)
    written = {}
    with system_scope():
        run = services.snapshots_compute(as_of=day, today=today)
        written[day.isoformat()] = run.written
        month_end = month_end_before(today)
        if month_end != day and not ScorecardSnapshot.objects.filter(as_of=month_end).exists():
            written[month_end.isoformat()] = services.snapshots_compute(as_of=month_end, today=today).written
    return written


# The support cases' SLA checks (partners.support.tasks), registered with the worker through this
# module, which Celery discovers.
# The tier evaluation's task is defined beside its service (partners.performance.tier_services),
# which queues it for a program admin's request: the package may not import this module back.
from .performance.tier_services import evaluate_tiers  # noqa: E402,F401
from .support.tasks import check_support_slas  # noqa: E402, F401
