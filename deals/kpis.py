"""The deal and lead KPIs of the partner scorecards (registered in DealsConfig.kpis; the engine is
partners.performance.kpis). Each measures every partner at once for the trailing twelve months that
end with the as-of day: one aggregate query, grouped by partner."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from partners.performance.kpis import Direction, Kpi, KpiContext, Median, Seconds, Unit, Values, percent

from .models import Deal, DealStatus, LeadOffer, OfferOutcome

CLOSED = (DealStatus.WON, DealStatus.LOST)
# Outcomes that answer an offer (a withdrawn or still pending one does not count either way).
DECIDED = (OfferOutcome.ACCEPTED, OfferOutcome.DECLINED, OfferOutcome.TIMED_OUT)
ANSWERED = (OfferOutcome.ACCEPTED, OfferOutcome.DECLINED)


def _closed_in_window(context: KpiContext, *statuses: str) -> object:
    window = context.window
    return Deal.objects.filter(
        status__in=statuses, closed_on__gte=window.first_day, closed_on__lte=window.as_of
    ).order_by()


def won_revenue(context: KpiContext) -> Values:
    """Won amounts of the deals closed won in the window, in the reporting currency."""
    return (
        _closed_in_window(context, DealStatus.WON)
        .values("partner_id")
        .annotate(value=Sum(context.money("won_amount", "currency")))
        .values_list("partner_id", "value")
    )


def deals_won(context: KpiContext) -> Values:
    return (
        _closed_in_window(context, DealStatus.WON)
        .values("partner_id")
        .annotate(value=Count("*"))
        .values_list("partner_id", "value")
    )


def win_rate(context: KpiContext) -> Values:
    """Won deals as a share of the deals closed (won or lost) in the window."""
    return (
        _closed_in_window(context, *CLOSED)
        .values("partner_id")
        .annotate(value=percent(Count("pk", filter=Q(status=DealStatus.WON)), Count("*")))
        .values_list("partner_id", "value")
    )


def deals_registered(context: KpiContext) -> Values:
    """Deals submitted for registration (first submission) in the window; drafts never submitted
    are not registrations."""
    window = context.window
    return (
        Deal.objects.filter(first_submitted_at__gte=window.starts_at, first_submitted_at__lt=window.ends_at)
        .order_by()
        .values("partner_id")
        .annotate(value=Count("*"))
        .values_list("partner_id", "value")
    )


def approval_days(context: KpiContext) -> Values:
    """Median days from the first submission to the approval, of the deals approved in the window
    (a deal returned for information waits longer: the partner's part of the delay counts too)."""
    window = context.window
    return (
        Deal.objects.filter(
            approved_at__gte=window.starts_at,
            approved_at__lt=window.ends_at,
            first_submitted_at__isnull=False,
        )
        .order_by()
        .values("partner_id")
        .annotate(value=Median(Seconds("approved_at", "first_submitted_at")) / 86400)
        .values_list("partner_id", "value")
    )


def _offers_in_window(context: KpiContext, outcomes: tuple[str, ...]) -> object:
    # Offered in the window and answered (or timed out) by the end of the as-of day, so a past day
    # computed again counts what was known that day.
    window = context.window
    return LeadOffer.objects.filter(
        offered_at__gte=window.starts_at,
        offered_at__lt=window.ends_at,
        outcome__in=outcomes,
        responded_at__lt=window.ends_at,
    ).order_by()


def lead_acceptance_rate(context: KpiContext) -> Values:
    """Accepted offers as a share of the offers accepted, declined or left to time out."""
    return (
        _offers_in_window(context, DECIDED)
        .values("partner_id")
        .annotate(value=percent(Count("pk", filter=Q(outcome=OfferOutcome.ACCEPTED)), Count("*")))
        .values_list("partner_id", "value")
    )


def lead_response_hours(context: KpiContext) -> Values:
    """Median hours from the offer to the partner's answer (accepted or declined; an offer left to
    time out has no answer, and shows in the acceptance rate)."""
    return (
        _offers_in_window(context, ANSWERED)
        .values("partner_id")
        .annotate(value=Median(Seconds("responded_at", "offered_at")) / 3600)
        .values_list("partner_id", "value")
    )


KPIS = [
    Kpi(
        key="won_revenue",
        label=_("Won revenue (12 months)"),
        unit=Unit.MONEY,
        money=True,
        compute=won_revenue,
        description=_("Won amounts of deals closed in the last twelve months, in the reporting currency."),
    ),
    Kpi(
        key="deals_won",
        label=_("Deals won (12 months)"),
        unit=Unit.COUNT,
        compute=deals_won,
        description=_("Deals closed won in the last twelve months."),
    ),
    Kpi(
        key="deals_registered",
        label=_("Deals registered (12 months)"),
        unit=Unit.COUNT,
        compute=deals_registered,
        description=_("Deals submitted for registration in the last twelve months."),
    ),
    Kpi(
        key="win_rate",
        label=_("Win rate"),
        unit=Unit.PERCENT,
        compute=win_rate,
        description=_("Won deals as a share of the deals won or lost in the last twelve months."),
    ),
    Kpi(
        key="approval_days",
        label=_("Days from submission to approval"),
        unit=Unit.DAYS,
        direction=Direction.LOWER,
        compute=approval_days,
        description=_("Median days from first submission to approval, last twelve months."),
    ),
    Kpi(
        key="lead_acceptance_rate",
        label=_("Lead acceptance rate"),
        unit=Unit.PERCENT,
        compute=lead_acceptance_rate,
        description=_("Leads accepted as a share of the leads offered and answered or timed out."),
    ),
    Kpi(
        key="lead_response_hours",
        label=_("Lead response time (hours)"),
        unit=Unit.HOURS,
        direction=Direction.LOWER,
        compute=lead_response_hours,
        description=_("Median hours from a lead's offer to the partner's answer."),
    ),
]
