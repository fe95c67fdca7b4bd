"""Reads for incentives: MDF return on investment, earnings, statements and programs."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from deals import selectors as deal_selectors
from deals.models import Deal, DealStatus
from mdf.models import RequestStatus
from mdf.policies import fund_request_policy
from prm.tenancy import Actor

from .models import IncentiveProgram, MdfAttribution, SettlementLine, Statement, StatementStatus
from .policies import earning_policy, money_visible, statement_policy

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


def attributable_deals(*, actor: Actor, fund_request: Any) -> QuerySet[Deal]:
    """The actor's approved or won deals, registered on or after the activity started, that no
    activity claims yet (attribute_deal refuses the others)."""
    started = datetime.combine(fund_request.start_date, time.min, tzinfo=UTC)
    return deal_selectors.deal_list(actor=actor).filter(
        status__in=[DealStatus.APPROVED, DealStatus.WON],
        mdf_attribution__isnull=True,
        created_at__gte=started,
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


# --- Earnings and statements ------------------------------------------------------------------------
def earnings_balances(*, actor: Actor) -> list[dict[str, Any]]:
    """Per currency, in one aggregate query: earned (net of reversals), not yet in a statement,
    in statements awaiting payment, and paid. Currencies are never added together."""
    in_statement = Q(settlement_line__isnull=False)
    paid = Q(settlement_line__statement__status=StatementStatus.PAID)
    rows = (
        earning_policy.scope(actor)
        .values("currency")
        .annotate(
            earned=Coalesce(Sum("amount"), _ZERO),
            in_statements=Coalesce(Sum("amount", filter=in_statement & ~paid), _ZERO),
            paid=Coalesce(Sum("amount", filter=paid), _ZERO),
        )
        .order_by("currency")
    )
    return [{**row, "unsettled": row["earned"] - row["in_statements"] - row["paid"]} for row in rows]


def entry_list(*, actor: Actor, filters: dict[str, Any] | None = None) -> Any:
    filters = filters or {}
    entries = earning_policy.scope(actor).select_related(
        "program", "deal", "partner", "settlement_line__statement"
    )
    if filters.get("currency"):
        entries = entries.filter(currency=filters["currency"])
    if filters.get("program"):
        entries = entries.filter(program_id=filters["program"])
    return entries.order_by("-created_at", "-pk")


def statement_list(*, actor: Actor, status: str | None = None) -> Any:
    statements = statement_policy.scope(actor).select_related("partner").annotate(line_count=Count("lines"))
    if status:
        statements = statements.filter(status=status)
    return statements.order_by("-period_end", "-pk")


def statement_status_counts(*, actor: Actor) -> dict[str, int]:
    rows = statement_policy.scope(actor).order_by().values("status").annotate(n=Count("pk"))
    counts = {row["status"]: row["n"] for row in rows}
    return {value: counts.get(value, 0) for value in StatementStatus.values}


def statement_get(*, actor: Actor, pk: Any) -> Statement:
    """A statement the actor may see; any other id is the same 404."""
    return statement_policy.get_or_404(actor, Statement.objects.select_related("partner"), pk=pk)


def statement_lines(*, statement: Statement) -> Any:
    return (
        SettlementLine.objects.filter(statement=statement)
        .select_related("entry__program", "entry__deal")
        .order_by("entry__created_at", "pk")
    )


def program_list(*, actor: Actor) -> Any:
    """Programs with what they have earned the partners this actor may see (each program has one
    currency, so its sum is in that currency)."""
    visible = money_visible(actor, "entries__partner")
    return (
        IncentiveProgram.objects.prefetch_related("tiers")
        .annotate(
            earned=Coalesce(Sum("entries__amount", filter=visible), _ZERO),
            deal_count=Count("entries__deal", filter=visible & Q(entries__kind="accrual"), distinct=True),
        )
        .order_by("status", "-starts_on", "name")
    )
