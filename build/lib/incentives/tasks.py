from __future__ import annotations

from datetime import date

from celery import shared_task

from prm.tenancy import system_scope

from . import services


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def accrue_coop(deal_id: int) -> bool:
    """Idempotent: the ledger key ``accrue:deal:<id>`` makes a redelivery change nothing."""
    with system_scope():
        return services.accrue_coop_for_deal(deal_id=deal_id) is not None


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def accrue_incentives(deal_id: int) -> int:
    """Idempotent: each entry's key ``program:<id>:deal:<id>`` makes a redelivery change nothing."""
    with system_scope():
        return len(services.accrue_for_deal(deal_id=deal_id))


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=3, retry_backoff=True)
def run_settlement(period_end: str | None = None) -> int:
    """Monthly, for the previous calendar month by default. Idempotent: a second run for the same
    period finds every entry already settled and creates nothing."""
    end = date.fromisoformat(period_end) if period_end else services.previous_month_end()
    with system_scope():
        return len(services.settlement_run(period_end=end))
