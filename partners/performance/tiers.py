"""Tier evaluation: each partner's figures against the program tiers' requirements.

A tier asks for won revenue over the trailing twelve months (``Tier.min_trailing_revenue`` in
``revenue_currency``, compared in the reporting currency at the vendor's exchange rates), certified
people, deals won in twelve months and, optionally, a minimum scorecard score. The figures are the
KPIs of the registry (``won_revenue``, ``certified_people``, ``deals_won``; whichever app provides
them, switched on or not: a tier's requirements are the program's rules, not a scorecard line) and
the latest scorecard snapshot's total, measured for every partner at once.

This module holds the reads and the rules: what a tier requires, a partner's figures (all
partners in a few queries, or one partner for its home page), what is missing, and what the
evaluation decides for one partner (:func:`decide`, pure). The writes are in ``tier_services``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from partners.models import ScorecardSnapshot, Tier
from prm.money import Rates

from .kpis import KpiContext, Window, kpi_registry

# The figures a tier can ask for, in the order the pages list them.
REVENUE, CERTIFIED, DEALS, SCORE = "won_revenue", "certified_people", "deals_won", "score"
KPI_KEYS = (REVENUE, CERTIFIED, DEALS)
LABELS = {
    REVENUE: _("Won revenue, trailing 12 months"),
    CERTIFIED: _("Certified people"),
    DEALS: _("Deals won, last 12 months"),
    SCORE: _("Scorecard score"),
}
ICONS = {REVENUE: "graph-up-arrow", CERTIFIED: "patch-check", DEALS: "trophy", SCORE: "speedometer2"}
# A scorecard older than this does not count as the partner's current score.
SCORE_MAX_AGE_DAYS = 35


@dataclass(frozen=True)
class Requirement:
    """One requirement of a tier: ``key`` (one of LABELS) at least ``required``; money in the
    reporting currency (``currency``)."""

    key: str
    required: Decimal
    currency: str = ""

    @property
    def label(self) -> str:
        return str(LABELS[self.key])

    @property
    def money(self) -> bool:
        return self.key == REVENUE


@dataclass(frozen=True)
class Shortfall:
    """A requirement a partner misses, with its figure (None: not measured, e.g. no score yet)."""

    key: str
    value: Decimal | None
    required: Decimal
    currency: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": None if self.value is None else str(self.value),
            "required": str(self.required),
            "currency": self.currency,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Shortfall:
        value = data.get("value")
        return cls(
            key=data["key"],
            value=None if value is None else Decimal(value),
            required=Decimal(data["required"]),
            currency=data.get("currency", ""),
        )

    @property
    def label(self) -> str:
        return str(LABELS.get(self.key, self.key))

    @property
    def missing(self) -> Decimal:
        return self.required - (self.value or 0)

    def describe(self, *, money: bool = True) -> str:
        """ "Won revenue, trailing 12 months: 80,000 USD of 100,000 USD (20,000 USD to go)"; without
        ``money``, the amounts are left out (a learner reads what is missing, not how much)."""
        if self.key == REVENUE and not money:
            return _("%(label)s: below the requirement") % {"label": self.label}
        value = _amount(self.value, self.key, self.currency) if self.value is not None else _("none yet")
        return _("%(label)s: %(value)s of %(required)s (%(missing)s to go)") % {
            "label": self.label,
            "value": value,
            "required": _amount(self.required, self.key, self.currency),
            "missing": _amount(self.missing, self.key, self.currency),
        }


def _amount(value: Decimal, key: str, currency: str) -> str:
    if key == REVENUE:
        return f"{number_format(value, decimal_pos=0, force_grouping=True)} {currency}"
    if key == SCORE:
        return number_format(value, decimal_pos=1)
    return number_format(value, decimal_pos=0, force_grouping=True)


def shortfalls_text(shortfalls: Iterable[Shortfall], *, money: bool = True) -> str:
    return "\n".join(f"• {shortfall.describe(money=money)}" for shortfall in shortfalls)


def requirements(tier: Tier, rates: Rates) -> tuple[list[Requirement], list[str]]:
    """What ``tier`` asks for (requirements of 0 are none), and the currencies that could not be
    converted (a revenue requirement in a currency without an exchange rate is left out, and the
    run reports it rather than judging partners on a figure it cannot compare)."""
    found, unconvertible = [], []
    if tier.min_trailing_revenue and tier.min_trailing_revenue > 0:
        converted = rates.convert(tier.min_trailing_revenue, tier.revenue_currency)
        if converted is None:
            unconvertible.append(tier.revenue_currency)
        else:
            found.append(Requirement(REVENUE, converted.quantize(Decimal("0.01")), rates.currency))
    if tier.min_certified_people:
        found.append(Requirement(CERTIFIED, Decimal(tier.min_certified_people)))
    if tier.min_deals_won:
        found.append(Requirement(DEALS, Decimal(tier.min_deals_won)))
    if tier.min_score is not None:
        found.append(Requirement(SCORE, tier.min_score))
    return found, unconvertible


def shortfalls(reqs: Sequence[Requirement], figures: dict[str, Decimal | None]) -> list[Shortfall]:
    """The requirements ``figures`` do not meet (empty: the partner meets them all)."""
    return [
        Shortfall(req.key, figures.get(req.key), req.required, req.currency)
        for req in reqs
        if figures.get(req.key) is None or figures[req.key] < req.required
    ]


# --- the figures ---------------------------------------------------------------------------------------
def measure_figures(
    *, as_of: date, rates: Rates, partner_ids: Iterable[int] | None = None, with_score: bool = True
) -> dict[int, dict[str, Decimal | None]]:
    """``{partner_id: {key: value}}`` for every partner with a figure (one query per KPI, one for
    the scores), as of the end of ``as_of``; or for ``partner_ids`` only (one partner's home page).
    A partner with no row has 0 for the counts and revenue, and no score. The caller opens the
    scope (the evaluation: the system scope; a page: the reader's)."""
    registry = kpi_registry()
    context = KpiContext(window=Window(as_of), rates=rates)
    ids = None if partner_ids is None else list(partner_ids)
    figures: dict[int, dict[str, Decimal | None]] = {}
    for key in KPI_KEYS:
        kpi = registry.get(key)
        if kpi is None:  # the app that provides it is not installed: the requirement cannot be met
            continue
        rows: Any = kpi.compute(context)
        if ids is not None and isinstance(rows, QuerySet):
            rows = rows.filter(partner_id__in=ids)
        for partner_id, value in rows:
            if value is not None:
                figures.setdefault(partner_id, {})[key] = kpi.quantize(value)
    if with_score:
        for partner_id, score in latest_scores(as_of=as_of, partner_ids=ids):
            figures.setdefault(partner_id, {})[SCORE] = score
    return figures


def latest_scores(*, as_of: date, partner_ids: list[int] | None = None) -> QuerySet:
    """(partner_id, total score) of each partner's latest scorecard up to ``as_of`` (not older
    than SCORE_MAX_AGE_DAYS), in one query (DISTINCT ON)."""
    snapshots = ScorecardSnapshot.objects.filter(
        as_of__lte=as_of,
        as_of__gt=as_of - timedelta(days=SCORE_MAX_AGE_DAYS),
        total_score__isnull=False,
    )
    if partner_ids is not None:
        snapshots = snapshots.filter(partner_id__in=partner_ids)
    return (
        snapshots.order_by("partner_id", "-as_of")
        .distinct("partner_id")
        .values_list("partner_id", "total_score")
    )


def with_zeros(values: dict[str, Decimal | None] | None) -> dict[str, Decimal | None]:
    """A partner's figures with 0 for the counts and revenue it has no row for."""
    values = dict(values or {})
    for key in KPI_KEYS:
        values.setdefault(key, Decimal(0))
    values.setdefault(SCORE, None)
    return values


# --- the decision for one partner ----------------------------------------------------------------------
@dataclass
class Decision:
    """What the evaluation does for one partner. ``upgrade_to`` with ``propose`` False is applied at
    once; the others wait for a person."""

    partner_id: int
    end_grace: str = ""  # "recovered" or "ended"
    withdraw: str = ""  # why the pending proposal no longer applies
    upgrade_to: Tier | None = None
    propose_upgrade: bool = False
    start_grace: list[Shortfall] = field(default_factory=list)
    expire_grace: list[Shortfall] = field(default_factory=list)
    downgrade_to: Tier | None = None

    @property
    def changes(self) -> bool:
        return bool(
            self.end_grace or self.withdraw or self.upgrade_to or self.start_grace or self.expire_grace
        )


@dataclass(frozen=True)
class PartnerState:
    partner_id: int
    tier: Tier
    grace: Any = None  # the running TierGracePeriod
    pending: Any = None  # the pending TierChangeProposal
    last_decided_as_of: date | None = None


def qualifying_tier(
    tiers: Sequence[Tier], reqs: dict[int, list[Requirement] | None], figures: dict[str, Decimal | None]
) -> Tier:
    """The highest tier whose requirements ``figures`` meet; the lowest tier when none is met. A
    tier that cannot be judged (``reqs`` None: its revenue currency has no exchange rate) is never
    a partner's qualifying tier."""
    for tier in sorted(tiers, key=lambda t: -t.rank):
        if reqs[tier.pk] is not None and not shortfalls(reqs[tier.pk], figures):
            return tier
    return min(tiers, key=lambda t: t.rank)


def decide(
    state: PartnerState,
    *,
    tiers: Sequence[Tier],
    reqs: dict[int, list[Requirement] | None],
    figures: dict[str, Decimal | None],
    as_of: date,
    today: date,
) -> Decision:
    """The evaluation's rules for one partner (no database access):

    * qualifying for a higher tier: upgraded at once, or proposed when that tier needs approval
      (a proposal already pending for it stays); a running grace period ends;
    * meeting its tier: a running grace period ends (recovered); a pending proposal is withdrawn;
    * below its tier: a grace period starts (unless a downgrade already waits for a decision); when
      the grace period is over and the partner still short, it closes and a downgrade to the
      highest tier the partner meets is proposed, never applied.

    A partner on a tier that cannot be judged (``reqs`` None) is left alone.

    A decision a person made (approved or waived) on figures as of a day stands for those figures:
    the same day's run does not start over what they just settled; the next figures do."""
    decision = Decision(partner_id=state.partner_id)
    tier = state.tier
    if reqs[tier.pk] is None:
        return decision  # its tier cannot be judged until the exchange rate is kept again
    grace = state.grace
    pending = state.pending
    # Rows about a tier the partner no longer holds (changed by hand meanwhile) are closed first.
    if grace is not None and grace.tier_id != tier.pk:
        decision.end_grace, grace = "ended", None
    if pending is not None and pending.from_tier_id != tier.pk:
        decision.withdraw, pending = str(_("The partner's tier changed since the proposal.")), None
    settled = state.last_decided_as_of is not None and state.last_decided_as_of >= as_of

    missing = shortfalls(reqs[tier.pk], figures)
    best = qualifying_tier(tiers, reqs, figures)
    if best.rank > tier.rank:
        if grace is not None:
            decision.end_grace = "recovered" if not missing else "ended"
        if pending is not None and not (pending.direction == "up" and pending.to_tier_id == best.pk):
            decision.withdraw = str(
                _("The partner now qualifies for %(tier)s.") % {"tier": best.name}
                if pending.direction == "up"
                else _("The partner meets its tier's requirements again.")
            )
            pending = None
        if pending is None and not settled:
            decision.upgrade_to = best
            decision.propose_upgrade = best.upgrade_needs_approval
        return decision
    if not missing:
        if grace is not None:
            decision.end_grace = "recovered"
        if pending is not None:
            decision.withdraw = str(
                _("The partner meets its tier's requirements again.")
                if pending.direction == "down"
                else _("The partner no longer qualifies for %(tier)s.") % {"tier": pending.to_tier.name}
            )
        return decision
    # Below its tier's requirements.
    if pending is not None and pending.direction == "up":
        decision.withdraw = str(
            _("The partner no longer qualifies for %(tier)s.") % {"tier": pending.to_tier.name}
        )
        pending = None
    if pending is not None:
        return decision  # a downgrade waits for a person's decision
    if grace is not None:
        if today >= grace.ends_on:
            decision.expire_grace = missing
            decision.downgrade_to = best
        return decision
    if not settled:
        decision.start_grace = missing
    return decision
