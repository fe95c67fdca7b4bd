"""The incentive and MDF-return KPIs of the partner scorecards (registered in IncentivesConfig.kpis;
the engine is partners.performance.kpis). MDF return on investment lives here because the link from
an MDF activity to the deals it sourced (MdfAttribution) does."""

from __future__ import annotations

from django.db.models import DecimalField, ExpressionWrapper, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import gettext_lazy as _

from deals.models import DealStatus
from mdf.models import LedgerEntry, LedgerKind
from partners.models import Partner
from partners.performance.kpis import EXACT, Kpi, KpiContext, Unit, Values

from .models import EarningEntry, MdfAttribution


def incentive_earnings(context: KpiContext) -> Values:
    """Earnings accrued in the window, net of reversals, in the reporting currency."""
    window = context.window
    return (
        EarningEntry.objects.filter(created_at__gte=window.starts_at, created_at__lt=window.ends_at)
        .order_by()
        .values("partner_id")
        .annotate(value=Sum(context.money("amount", "currency")))
        .values_list("partner_id", "value")
    )


def mdf_roi(context: KpiContext) -> Values:
    """Won revenue of the deals attributed to the MDF activities paid in the window, per unit of the
    funds paid for them (both in the reporting currency): 4.5 means 4.5 of revenue per 1 of MDF.
    Deals count once closed won, by the end of the as-of day. A partner paid nothing has no value."""
    window = context.window
    paid = LedgerEntry.objects.filter(
        kind=LedgerKind.PAID, created_at__gte=window.starts_at, created_at__lt=window.ends_at
    )
    paid_per_partner = (
        paid.filter(partner_id=OuterRef("pk"))
        .order_by()
        .values("partner_id")
        .annotate(total=Sum(context.money("amount", "currency")))
        .values("total")
    )
    revenue_per_partner = (
        MdfAttribution.objects.filter(
            partner_id=OuterRef("pk"),
            fund_request_id__in=paid.values("fund_request_id"),
            deal__status=DealStatus.WON,
            deal__closed_on__lte=window.as_of,
        )
        .order_by()
        .values("partner_id")
        .annotate(total=Sum(context.money("deal__won_amount", "deal__currency")))
        .values("total")
    )
    # One expression, so each subquery runs once per partner (a filter on an annotation repeats
    # it in WHERE); NULLIF makes "paid nothing" no value, which the engine leaves out.
    revenue = Coalesce(Subquery(revenue_per_partner, output_field=EXACT), 0, output_field=EXACT)
    paid_total = NullIf(Subquery(paid_per_partner, output_field=EXACT), Value(0, output_field=EXACT))
    return (
        Partner.objects.annotate(value=ExpressionWrapper(revenue / paid_total, output_field=DecimalField()))
        .order_by()
        .values_list("pk", "value")
    )


KPIS = [
    Kpi(
        key="incentive_earnings",
        label=_("Incentive earnings (12 months)"),
        unit=Unit.MONEY,
        money=True,
        compute=incentive_earnings,
        description=_("SPIF and rebate earnings accrued in the last twelve months, net of reversals."),
    ),
    Kpi(
        key="mdf_roi",
        label=_("MDF return on investment"),
        unit=Unit.RATIO,
        money=True,
        compute=mdf_roi,
        description=_("Won revenue of attributed deals per unit of MDF paid in the last twelve months."),
    ),
]
