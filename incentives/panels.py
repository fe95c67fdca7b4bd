"""What incentives contributes to the MDF pages (see partners.panels.app_panels): on a fund
request, the deals the activity sourced with the forms to attribute and detach them; on the
vendor's MDF report and in its CSV export, the return on investment by activity. And on the
partner 360 page, the partner's earnings. Attribution joins
deals to MDF activities, so it lives here, above both: mdf imports neither deals nor incentives."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from deals.models import DealStatus
from deals.policies import DEAL_ROLES
from mdf.models import FundRequest
from mdf.policies import MDF_ROLES
from partners.policies import sees_partner_business

from . import selectors
from .forms import AttributeDealForm
from .models import StatementStatus
from .policies import earning_policy
from .services import ATTRIBUTABLE_REQUESTS

ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=16, decimal_places=2))
# The report's table shows the most recent activities; the CSV export has them all.
ROI_TABLE_ROWS = 50
# The chart ranks the activities with won revenue and shows the best ones.
ROI_CHART_BARS = 15


def mdf_request_panel(request: HttpRequest, *, fund_request: FundRequest) -> dict[str, Any]:
    actor = request.actor
    attributions = list(selectors.attributions_for(actor=actor, fund_request=fund_request))
    won = [attribution.deal for attribution in attributions if attribution.deal.status == DealStatus.WON]
    won_currencies = {deal.currency for deal in won}
    # Only the people who work the partner's funds attribute deals (the service checks it again).
    may_attribute = (
        fund_request.status in ATTRIBUTABLE_REQUESTS and actor.is_partner and actor.partner_role in MDF_ROLES
    )
    attribute_form, has_deal_choices = None, False
    if may_attribute:
        candidates = selectors.attributable_deals(actor=actor, fund_request=fund_request)
        attribute_form = AttributeDealForm(deals=candidates)
        has_deal_choices = candidates.exists()
    return {
        "template": "incentives/_mdf_request_panel.html",
        "fund_request": fund_request,
        "attributions": attributions,
        "won_revenue": sum((deal.won_amount or Decimal("0") for deal in won), Decimal("0")),
        # One total only when the won deals share a currency: amounts are never added across them.
        "won_currency": won_currencies.pop() if len(won_currencies) == 1 else "",
        "may_attribute": may_attribute,
        "attribute_form": attribute_form,
        "has_deal_choices": has_deal_choices,
        "sees_deals": actor.partner_role in DEAL_ROLES,
    }


def mdf_report_panel(request: HttpRequest) -> dict[str, Any]:
    roi = selectors.roi_by_request(actor=request.actor)
    ranked = sorted((row for row in roi if row["roi"]), key=lambda row: row["roi"], reverse=True)
    ranked = ranked[:ROI_CHART_BARS]
    return {
        "template": "incentives/_mdf_report_panel.html",
        "roi": roi[:ROI_TABLE_ROWS],
        "roi_count": len(roi),
        "roi_table_rows": ROI_TABLE_ROWS,
        # Merged into the report's chart data, which the page's script draws.
        "charts": {
            "roi": {
                "labels": [f"{row['request'].reference} · {row['partner']}" for row in ranked],
                "values": [float(row["roi"]) for row in ranked],
                "height": 70 + 38 * len(ranked),
            }
        },
    }


def mdf_report_csv_rows(request: HttpRequest) -> list[dict[str, Any]]:
    """The export's "roi" section, keyed by the export's column names."""
    return [
        {
            "section": "roi",
            "reference": row["request"].reference,
            "activity": row["request"].title,
            "partner": row["partner"],
            "currency": row["currency"],
            "spent": row["spent"],
            "deals": row["deals"],
            "won_revenue": row["won_revenue"],
            "revenue_per_mdf": row["roi"],
        }
        for row in selectors.roi_by_request(actor=request.actor)
    ]


def partner_360_panel(request: HttpRequest, *, partner: Any) -> dict[str, Any] | None:
    """The partner's incentive earnings per currency (never added across currencies): earned this
    calendar year (net of reversals), and owed -- everything earned that no paid statement has
    settled yet, in a statement awaiting payment or not in one yet. One query."""
    actor = request.actor
    if not sees_partner_business(actor):
        return None  # money-blind roles never see earnings
    year_start = timezone.localtime().replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    paid = Q(settlement_line__statement__status=StatementStatus.PAID)
    in_statement = Q(settlement_line__isnull=False) & ~paid
    rows = list(
        earning_policy.scope(actor)
        .filter(partner_id=partner.pk)
        .order_by()
        .values("currency")
        .annotate(
            this_year=Coalesce(Sum("amount", filter=Q(created_at__gte=year_start)), ZERO),
            earned=Coalesce(Sum("amount"), ZERO),
            paid=Coalesce(Sum("amount", filter=paid), ZERO),
            in_statements=Coalesce(Sum("amount", filter=in_statement), ZERO),
            entries=Count("*"),
        )
        .order_by("currency")
    )
    for row in rows:
        row["unpaid"] = row["earned"] - row["paid"]
    return {
        "template": "incentives/_partner_360_panel.html",
        "partner": partner,
        "year": year_start.year,
        "rows": rows,
    }
