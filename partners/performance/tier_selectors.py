"""Reads of the tier program: a partner's tier progress (its home page), and the vendor's lists of
tier change proposals and running grace periods. Each runs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet
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
from prm.policies import PermissionDenied
from prm.tenancy import Actor

from . import tiers
from .policies import sees_money_figures, tier_grace_policy, tier_proposal_policy


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
    as_of: date
    # The next tier's requirements (empty at the top); the current tier's, when the partner is short.
    rows: list[ProgressRow] = field(default_factory=list)
    current_rows: list[ProgressRow] = field(default_factory=list)
    grace: TierGracePeriod | None = None

    @property
    def short(self) -> list[ProgressRow]:
        return [row for row in self.current_rows if not row.met]

    @property
    def grace_days_left(self) -> int | None:
        if self.grace is None:
            return None
        return max((self.grace.ends_on - timezone.localdate()).days, 0)


def _rows(tier: Tier, figures: dict[str, Decimal | None], rates: object, money: bool) -> list[ProgressRow]:
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


def tier_progress(*, actor: Actor, partner: Partner) -> TierProgress:
    """``partner``'s figures now (the trailing twelve months to the end of today) against the next
    tier's requirements and its own tier's, and its running grace period: 5 queries (6 when a tier
    asks for a minimum score), however many tiers and deals."""
    if actor.is_partner:
        if actor.partner_id != partner.pk:
            raise PermissionDenied("A partner sees its own tier progress only.")
    elif not (
        actor.is_vendor and Partner.objects.filter(partner_scope_q(actor, "pk"), pk=partner.pk).exists()
    ):
        raise PermissionDenied("Not one of your partners.")
    tier_list = list(Tier.objects.order_by("rank"))
    current = next(tier for tier in tier_list if tier.pk == partner.tier_id)
    next_tier = next((tier for tier in tier_list if tier.rank > current.rank), None)
    rates = reporting_rates()
    as_of = timezone.localdate()
    measured = tiers.measure_figures(
        as_of=as_of,
        rates=rates,
        partner_ids=[partner.pk],
        with_score=any(tier.min_score is not None for tier in tier_list),
    )
    figures = tiers.with_zeros(measured.get(partner.pk))
    money = sees_money_figures(actor)
    grace = (
        tier_grace_policy.scope(actor)
        .filter(partner_id=partner.pk, status=TierGraceStatus.RUNNING)
        .select_related("tier")
        .first()
    )
    return TierProgress(
        partner=partner,
        tiers=tier_list,
        current=current,
        next_tier=next_tier,
        as_of=as_of,
        rows=_rows(next_tier, figures, rates, money) if next_tier else [],
        current_rows=_rows(current, figures, rates, money),
        grace=grace,
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
