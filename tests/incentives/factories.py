"""Builders for incentive tests: programs (active by default, wide window around today) and won
deals walked through the real deal services."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from deals import services as deal_services
from deals.models import Deal, DealStatus
from incentives import services
from incentives.models import EarningEntry, IncentiveProgram, ProgramKind, ProgramStatus, Statement
from prm.tenancy import Actor, system_scope
from tests.deals import factories as df


def today() -> date:
    return timezone.localdate()


def spif(name: str = "Q SPIF", amount: str = "250.00", **kwargs: Any) -> IncentiveProgram:
    tiers = kwargs.pop("tiers", [])
    program = IncentiveProgram.objects.create(
        name=name,
        kind=ProgramKind.SPIF,
        status=kwargs.pop("status", ProgramStatus.ACTIVE),
        currency=kwargs.pop("currency", "USD"),
        spif_amount=Decimal(amount),
        starts_on=kwargs.pop("starts_on", today() - timedelta(days=400)),
        ends_on=kwargs.pop("ends_on", today() + timedelta(days=30)),
        **kwargs,
    )
    program.tiers.set(tiers)
    return program


def rebate(
    name: str = "Growth rebate", percent: str = "2", brackets: list | None = None, **kwargs: Any
) -> IncentiveProgram:
    program = IncentiveProgram.objects.create(
        name=name,
        kind=ProgramKind.REBATE,
        status=kwargs.pop("status", ProgramStatus.ACTIVE),
        currency=kwargs.pop("currency", "USD"),
        rebate_percent=Decimal(percent),
        brackets=brackets or [],
        starts_on=kwargs.pop("starts_on", today() - timedelta(days=400)),
        ends_on=kwargs.pop("ends_on", today() + timedelta(days=30)),
        **kwargs,
    )
    return program


def won(
    team: df.Team,
    reviewer: Actor,
    amount: str = "10000.00",
    closed_on: date | None = None,
    product_line: str = "Security",
    **deal_kwargs: Any,
) -> Deal:
    """A deal registered at ``amount`` and won at it. A close date outside the approved window (the
    deal is approved today) waits for the vendor: ``reviewer`` confirms it, as a CAM would."""
    deal_kwargs.setdefault("lines", [df.line(df.product(line=product_line), quantity=1, unit_price=amount)])
    deal = df.approved(team.sales_actor, reviewer, **deal_kwargs)
    with df.acting(team.sales_actor):
        deal = deal_services.deal_mark_won(
            actor=team.sales_actor, deal=deal, won_amount=Decimal(amount), closed_on=closed_on or today()
        )
    if deal.status == DealStatus.WON_PENDING:
        with df.acting(reviewer):
            deal = deal_services.deal_confirm_won(actor=reviewer, deal=deal)
    return deal


def accrue(deal: Deal) -> list[EarningEntry]:
    """The accrual job's work for one won deal (``tasks.accrue_incentives``), in the scope that job
    gives it; the entries it returns are what the tests look at."""
    with system_scope():
        return services.accrue_for_deal(deal_id=deal.pk)


def settle(period_end: date) -> list[Statement]:
    """The settlement job's run (``tasks.run_settlement``), in the scope that job gives it."""
    with system_scope():
        return services.settlement_run(period_end=period_end)
