"""Reads for incentives: MDF return on investment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from deals.models import DealStatus
from mdf.models import RequestStatus
from mdf.policies import fund_request_policy
from prm.tenancy import Actor

from .models import MdfAttribution

_ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=16, decimal_places=2))


NOTHING_SPENT = {RequestStatus.EXPIRED, RequestStatus.CLAIM_REJECTED, RequestStatus.REJECTED}


def _spent(fund_request: Any) -> Decimal:
    """What the vendor pays for the activity: the approved claim once there is one, nothing when the
    commitment was released, and the committed amount while the claim is still open."""
    if fund_request.status in NOTHING_SPENT:
        return Decimal("0")
    claim = getattr(fund_request, "claim", None) if hasattr(fund_request, "claim") else None
    if claim is not None and claim.approved_amount is not None:
        return claim.approved_amount
    return fund_request.approved_amount or Decimal("0")


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
                Sum(
                    "attributions__deal__won_amount",
                    # Revenue in the activity's own currency only: never add dollars to euros.
                    filter=Q(attributions__deal__status=DealStatus.WON)
                    & Q(attributions__deal__currency=F("currency")),
                ),
                _ZERO,
            ),
        )
        .order_by("-start_date")
    )
    result = []
    for row in rows:
        spent = _spent(row)
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


def attribution_get(*, actor: Actor, pk: Any) -> MdfAttribution:
    """An attribution of an activity the actor may see; any other id is the same 404."""
    from django.http import Http404

    attribution = (
        MdfAttribution.objects.filter(pk=pk, fund_request__in=fund_request_policy.scope(actor).values("pk"))
        .select_related("deal", "fund_request")
        .first()
    )
    if attribution is None:
        raise Http404
    return attribution
