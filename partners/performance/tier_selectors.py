"""Reads of the tier program: a partner's tier progress (its home page), and the vendor's lists of
tier change proposals and running grace periods. Each runs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import JSONField, QuerySet, Subquery
from django.utils import timezone

from partners.models import (
    Partner,
    Tier,
    TierChangeProposal,
    TierGracePeriod,
    TierGraceStatus,
    TierProposalStatus,
)
from partners.policies import partner_scope_q
from prm.models import reporting_rates
from prm.money import Rates
from prm.policies import PermissionDenied
from prm.tenancy import Actor

from . import tiers
from .policies import sees_money_figures, snapshot_policy, tier_grace_policy, tier_proposal_policy


@dataclass(frozen=True)
class ProgressRow:
    """One requirement of a tier against the partner's figure. ``hidden``: a money figure the
    reader may not see (a learner reads whether it is met, not the amounts)."""

    key: str
    required: Decimal
    value: Decimal | None
    currency: str
    hidden: bool

    @property
    def label(self) -> str:
        return str(tiers.LABELS[self.key])

    @property
    def icon(self) -> str:
        return tiers.ICONS[self.key]

    @property
    def met(self) -> bool:
        return self.value is not None and self.value >= self.required

    @property
    def missing(self) -> Decimal:
        return max(self.required - (self.value or 0), Decimal(0))

    @property
    def percent(self) -> int:
        if self.required <= 0:
            return 100
        return int(min(Decimal(100), (self.value or 0) * 100 / self.required))


@dataclass
class TierProgress:
    partner: Partner
    tiers: list[Tier]
    current: Tier
    next_tier: Tier | None
    as_of: date | None  # of the figures; None: no recent scorecard, the requirements alone
    # The next tier's requirements (empty at the top); the current tier's, when the partner is short.
    rows: list[ProgressRow] = field(default_factory=list)
    current_rows: list[ProgressRow] = field(default_factory=list)
    grace: TierGracePeriod | None = None
    money: bool = True

    @property
    def short(self) -> list[ProgressRow]:
        return [row for row in self.current_rows if not row.met]

    @property
    def grace_missing(self) -> list[str]:
        """What the grace period started for (when no recent figures say what is missing today)."""
        if self.grace is None:
            return []
        return [tiers.Shortfall.from_json(item).describe(money=self.money) for item in self.grace.shortfalls]

    @property
    def grace_days_left(self) -> int | None:
        if self.grace is None:
            return None
        return max((self.grace.ends_on - timezone.localdate()).days, 0)


def _rows(tier: Tier, figures: dict[str, Decimal | None], rates: Rates, money: bool) -> list[ProgressRow]:
    reqs, _unconvertible = tiers.requirements(tier, rates)
    return [
        ProgressRow(
            key=req.key,
            required=req.required,
            value=figures.get(req.key),
            currency=req.currency,
            hidden=req.money and not money,
        )
        for req in reqs
    ]


# A scorecard older than this is not shown as the partner's current figures (the nightly run
# stopped): the panel then shows the requirements alone.
FIGURES_MAX_AGE_DAYS = 3


def _rates_for(tier_list: list[Tier]) -> Rates:
    """The exchange rates, read only when a tier's revenue requirement is in another currency than
    the reporting one (the usual program needs no query)."""
    reporting = settings.PRM["REPORTING_CURRENCY"]
    if any(tier.min_trailing_revenue and tier.revenue_currency != reporting for tier in tier_list):
        return reporting_rates()
    return Rates(currency=reporting, rates={reporting: Decimal(1)})


def tier_progress(*, actor: Actor, partner: Partner) -> TierProgress:
    """``partner``'s figures (its latest nightly scorecard: the trailing twelve months to the end of
    yesterday, the figures the evaluation reads) against the next tier's requirements and its own
    tier's, and its running grace period. Two queries (the tiers; the partner's latest scorecard and
    running grace period, as subqueries of one), however many tiers, deals or scorecards; one more
    when a tier's revenue requirement is in another currency (the exchange rates)."""
    if actor.is_partner:
        if actor.partner_id != partner.pk:
            raise PermissionDenied("A partner sees its own tier progress only.")
    elif not (
        actor.is_vendor and Partner.objects.filter(partner_scope_q(actor, "pk"), pk=partner.pk).exists()
    ):
        raise PermissionDenied("Not one of your partners.")
    tier_list = list(Tier.objects.order_by("rank"))
    by_id = {tier.pk: tier for tier in tier_list}
    current = by_id[partner.tier_id]
    next_tier = next((tier for tier in tier_list if tier.rank > current.rank), None)
    today = timezone.localdate()
    latest = (
        snapshot_policy.scope(actor)
        .filter(partner_id=partner.pk, as_of__gte=today - timedelta(days=FIGURES_MAX_AGE_DAYS))
        .order_by("-as_of")
    )
    grace = tier_grace_policy.scope(actor).filter(partner_id=partner.pk, status=TierGraceStatus.RUNNING)
    row = (
        Partner.objects.filter(pk=partner.pk)
        .annotate(
            figures_as_of=Subquery(latest.values("as_of")[:1]),
            figures=Subquery(latest.values("values")[:1], output_field=JSONField()),
            score=Subquery(latest.values("total_score")[:1]),
            grace_id=Subquery(grace.values("pk")[:1]),
            grace_tier_id=Subquery(grace.values("tier_id")[:1]),
            grace_started_on=Subquery(grace.values("started_on")[:1]),
            grace_ends_on=Subquery(grace.values("ends_on")[:1]),
            grace_shortfalls=Subquery(grace.values("shortfalls")[:1], output_field=JSONField()),
        )
        .values(
            "figures_as_of",
            "figures",
            "score",
            "grace_id",
            "grace_tier_id",
            "grace_started_on",
            "grace_ends_on",
            "grace_shortfalls",
        )
        .first()
    ) or {}
    figures: dict[str, Decimal | None] = {}
    if row.get("figures_as_of"):
        values = row["figures"] or {}
        figures = {key: None if values.get(key) is None else Decimal(values[key]) for key in tiers.KPI_KEYS}
        figures[tiers.SCORE] = row["score"]
    running = None
    if row.get("grace_id"):
        running = TierGracePeriod(
            pk=row["grace_id"],
            partner=partner,
            tier=by_id[row["grace_tier_id"]],
            status=TierGraceStatus.RUNNING,
            started_on=row["grace_started_on"],
            ends_on=row["grace_ends_on"],
            shortfalls=row["grace_shortfalls"] or [],
        )
    rates = _rates_for(tier_list)
    money = sees_money_figures(actor)
    return TierProgress(
        partner=partner,
        tiers=tier_list,
        current=current,
        next_tier=next_tier,
        as_of=row.get("figures_as_of"),
        rows=_rows(next_tier, figures, rates, money) if next_tier else [],
        current_rows=_rows(current, figures, rates, money) if figures else [],
        grace=running,
        money=money,
    )


# --- the vendor side -------------------------------------------------------------------------------------
def proposal_list(*, actor: Actor, status: str | None = None) -> QuerySet[TierChangeProposal]:
    proposals = tier_proposal_policy.scope(actor).select_related(
        "partner", "partner__channel_account_manager", "from_tier", "to_tier", "decided_by", "grace_period"
    )
    if status == "pending":
        proposals = proposals.filter(status=TierProposalStatus.PENDING)
    elif status == "decided":
        proposals = proposals.exclude(status=TierProposalStatus.PENDING)
    return proposals.order_by("-created_at", "-pk")


def proposal_get(*, actor: Actor, pk: int) -> TierChangeProposal:
    return tier_proposal_policy.get_or_404(
        actor, TierChangeProposal.objects.select_related("partner", "from_tier", "to_tier"), pk=pk
    )


def pending_proposal_count(*, actor: Actor) -> int:
    return tier_proposal_policy.scope(actor).filter(status=TierProposalStatus.PENDING).count()


def running_grace_list(*, actor: Actor) -> QuerySet[TierGracePeriod]:
    """Running grace periods the vendor side may see (a CAM's portfolio), the nearest end first."""
    if not actor.is_vendor:
        return TierGracePeriod.objects.none()
    return (
        tier_grace_policy.scope(actor)
        .filter(status=TierGraceStatus.RUNNING)
        .select_related("partner", "partner__channel_account_manager", "tier")
        .order_by("ends_on", "pk")
    )


def shortfalls_of(row: TierGracePeriod | TierChangeProposal) -> list[tiers.Shortfall]:
    return [tiers.Shortfall.from_json(item) for item in row.shortfalls]
