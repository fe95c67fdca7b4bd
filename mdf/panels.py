"""What mdf contributes to pages of the partners app (see partners.panels.app_panels): the funds
panel of the partner 360 page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from partners.policies import sees_partner_business

from . import ledger
from .models import RequestStatus
from .policies import allocation_policy, fund_request_policy

# Requests waiting for somebody at the vendor: a decision on the request, or on its claim.
AWAITING_VENDOR = (RequestStatus.SUBMITTED, RequestStatus.CLAIM_SUBMITTED)
AWAITING_ROWS = 5
ZERO = Decimal("0.00")


def partner_360_panel(request: HttpRequest, *, partner: Any) -> dict[str, Any] | None:
    """The partner's funds in the fund period(s) running today, per currency (amounts in different
    currencies are never added): allocated (with co-op accruals, after forfeits), requested (every
    request submitted against them), paid, and what is still available; then the requests waiting
    for the vendor. Three queries: the balances from the ledger, the requests' totals, the oldest
    requests waiting."""
    actor = request.actor
    if not sees_partner_business(actor):
        return None  # money-blind roles never see funds
    today = timezone.localdate()
    current = Q(budget__period__starts_on__lte=today, budget__period__ends_on__gte=today)
    balances = list(
        allocation_policy.scope(actor)
        .filter(current, partner_id=partner.pk)
        .order_by()
        .values("currency")
        .annotate(periods=ArrayAgg("budget__period__name", distinct=True), **ledger.balance_annotations())
        .order_by("currency")
    )
    # Drafts are the partner's work in progress: the vendor never sees them (mdf.policies).
    requests = (
        fund_request_policy.scope(actor).filter(partner_id=partner.pk).exclude(status=RequestStatus.DRAFT)
    )
    in_period = Q(
        allocation__budget__period__starts_on__lte=today, allocation__budget__period__ends_on__gte=today
    )
    requested = {
        row["currency"]: row
        for row in requests.order_by()
        .values("currency")
        .annotate(
            requested=Coalesce(Sum("requested_amount", filter=in_period), ZERO),
            count=Count("pk", filter=in_period),
            # Waiting whatever the period: a claim on last period's activity still needs an answer.
            waiting=Count("pk", filter=Q(status__in=AWAITING_VENDOR)),
        )
    }
    awaiting_count = sum(row["waiting"] for row in requested.values())
    rows = []
    for balance in balances:
        asked = requested.pop(balance["currency"], {})
        rows.append(_row(balance["currency"], balance, asked))
    for currency, asked in sorted(requested.items()):  # no current allocation in that currency
        if asked["count"]:
            rows.append(_row(currency, {}, asked))
    awaiting = list(
        requests.filter(status__in=AWAITING_VENDOR).order_by("submitted_at", "pk")[:AWAITING_ROWS]
    )
    return {
        "template": "mdf/_partner_360_panel.html",
        "partner": partner,
        "rows": rows,
        "periods": sorted({name for balance in balances for name in balance["periods"]}),
        "awaiting": awaiting,
        "awaiting_count": awaiting_count,
    }


def _row(currency: str, balance: dict[str, Any], asked: dict[str, Any]) -> dict[str, Any]:
    allocated = balance.get("balance_allocated", ZERO)
    committed = balance.get("balance_committed", ZERO)
    claimed = balance.get("balance_claimed", ZERO)
    return {
        "currency": currency,
        "allocated": allocated,
        "requested": asked.get("requested", ZERO),
        "request_count": asked.get("count", 0),
        "paid": balance.get("balance_paid", ZERO),
        "available": allocated - committed - claimed,
        "used_percent": round((committed + claimed) * 100 / allocated) if allocated > 0 else None,
    }
