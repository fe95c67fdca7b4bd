from __future__ import annotations

from celery import shared_task

from prm.tenancy import system_scope

from . import services


@shared_task(acks_late=True, autoretry_for=(OSError,), max_retries=5, retry_backoff=True)
def accrue_coop(deal_id: int) -> bool:
    """Idempotent: the ledger key ``accrue:deal:<id>`` makes a redelivery change nothing."""
    with system_scope():
        return services.accrue_coop_for_deal(deal_id=deal_id) is not None
