"""The MDF KPI of the partner scorecards (registered in MdfConfig.kpis; the engine is
partners.performance.kpis). MDF return on investment needs the deals an activity sourced, which
incentives records, so it is incentives' KPI."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Case, DecimalField, Q, Sum, Value, When
from django.utils.translation import gettext_lazy as _

from partners.performance.kpis import EXACT, Kpi, KpiContext, Unit, Values, percent

from .models import LedgerEntry, LedgerKind

GRANTED = (LedgerKind.ALLOCATED, LedgerKind.ACCRUED)


def mdf_utilisation(context: KpiContext) -> Values:
    """Funds used (committed to approved requests, or claimed) as a share of the funds granted
    (allocated or accrued) in the fund periods that overlap the window, from the ledger as it stood
    at the end of the as-of day. Forfeits are left out on purpose: at a period's end they take the
    unused funds back, which would make every closed period look fully used."""
    window = context.window
    amount = context.money("amount", "currency")
    used = Case(
        When(kind__in=(LedgerKind.COMMITTED, LedgerKind.CLAIMED), then=amount),
        When(kind=LedgerKind.RELEASED, then=-amount),
        default=Value(None, output_field=EXACT),
        output_field=EXACT,
    )
    granted = Sum(amount, filter=Q(kind__in=GRANTED), output_field=DecimalField())
    return (
        LedgerEntry.objects.filter(
            created_at__lt=window.ends_at,
            allocation__budget__period__starts_on__lte=window.as_of,
            allocation__budget__period__ends_on__gte=window.first_day,
        )
        .order_by()
        .values("partner_id")
        .annotate(granted=granted)
        .filter(granted__gt=0)
        .annotate(value=percent(Sum(used, default=Decimal(0)), granted))
        .values_list("partner_id", "value")
    )


def mdf_spend(context: KpiContext) -> Values:
    """Funds claimed (a proof of performance approved for reimbursement) in the window, in the
    reporting currency: what the partner spent of its MDF (a joint business plan's goal)."""
    window = context.window
    return (
        LedgerEntry.objects.filter(
            kind=LedgerKind.CLAIMED, created_at__gte=window.starts_at, created_at__lt=window.ends_at
        )
        .order_by()
        .values("partner_id")
        .annotate(value=Sum(context.money("amount", "currency")))
        .values_list("partner_id", "value")
    )


KPIS = [
    Kpi(
        key="mdf_utilisation",
        label=_("MDF utilisation"),
        unit=Unit.PERCENT,
        money=True,
        compute=mdf_utilisation,
        description=_(
            "Funds committed or claimed as a share of the funds granted for the last twelve months."
        ),
    ),
    Kpi(
        key="mdf_spend",
        label=_("MDF spend (12 months)"),
        unit=Unit.MONEY,
        money=True,
        compute=mdf_spend,
        description=_("Funds claimed in the last twelve months, in the reporting currency."),
    ),
]
