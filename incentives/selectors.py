"""Reads for incentives: MDF return on investment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from deals.models import DealStatus
from mdf.policies import fund_request_policy
from prm.tenancy import Actor

from .models import MdfAttribution

_ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=16, decimal_places=2))


def roi_by_request(*, actor: Actor, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Per MDF activity: funds spent (approved claim, else approved amount), attributed deals and
    won revenue, and revenue per MDF unit of currency."""
    filters = filters or {}
    requests = fund_request_policy.scope(actor).filter(approved_amount__isnull=False)
    if filters.get("partner"):
        requests = requests.filter(partner_id=filters["partner"])
    if filters.get("period"):
        requests = requests.filter(allocation__budget__period_id=filters["period"])
    rows = (
        requests.select_related("partner", "claim")
        .annotate(
            deals=Count("attributions", distinct=True),
            won_revenue=Coalesce(
                Sum("attributions__deal__won_amount", filter=Q(attributions__deal__status=DealStatus.WON)),
                _ZERO,
            ),
        )
        .order_by("-start_date")
    )
    result = []
    for row in rows:
        spent = (
            row.claim.approved_amount
            if hasattr(row, "claim") and row.claim.approved_amount
            else row.approved_amount
        )
        result.append(
            {
                "request": row,
                "partner": row.partner.legal_name,
                "spent": spent,
                "currency": row.currency,
                "deals": row.deals,
                "won_revenue": row.won_revenue,
                "roi": (row.won_revenue / spent).quantize(Decimal("0.01")) if spent else None,
            }
        )
    return result


def attributions_for(*, actor: Actor, fund_request: Any) -> Any:
    return (
        MdfAttribution.objects.filter(fund_request=fund_request)
        .filter(fund_request__in=fund_request_policy.scope(actor).values("pk"))
        .select_related("deal")
    )
