"""Consumers of the lower apps' events. Each hands the work to a Celery task (the events are
sent after commit, so the task sees the committed row)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from deals.signals import deal_won


@receiver(deal_won, dispatch_uid="incentives.accrue_coop_on_deal_won")
def accrue_coop_on_deal_won(sender: Any, deal_id: int, **kwargs: Any) -> None:
    from .tasks import accrue_coop

    accrue_coop.delay(deal_id)


@receiver(deal_won, dispatch_uid="incentives.accrue_incentives_on_deal_won")
def accrue_incentives_on_deal_won(sender: Any, deal_id: int, **kwargs: Any) -> None:
    from .tasks import accrue_incentives

    accrue_incentives.delay(deal_id)
