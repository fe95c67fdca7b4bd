"""A plan's progress, computed live: each goal's actual for the plan's own period (from its start to
today, or to its end once it is over) against its target and against the pace expected by today.

Nothing is stored: the figures come from the KPI registry (partners.performance.kpis), which each
app fills through its AppConfig, measured over a window that is the plan's period instead of the
scorecards' trailing twelve months. A KPI measures every partner at once, so the plans of one
period cost one query per goal kind whatever their number (a list page groups its plans by period).
Custom goals carry the value the two sides record by hand."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

from partners.models import BusinessPlan, PlanGoal
from partners.performance.display import value_text
from partners.performance.kpis import Kpi, KpiContext, Unit, Window, kpi_registry
from prm.models import reporting_rates

# The KPIs a goal may follow, with the plan's own words for them (the registry's labels speak of
# twelve months; a plan's period is its own). Each must be in the registry to be offered.
GOAL_KINDS: dict[str, str] = {
    "won_revenue": _("Won revenue"),
    "deals_registered": _("Deals registered"),
    "certified_people": _("Certified people"),
    "mdf_spend": _("MDF spend"),
}
BEHIND = Decimal("1")  # under 100 % of the pace expected by today is behind plan
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class PeriodWindow(Window):
    """The plan's period as a KPI window: from ``start`` to ``as_of`` (both included)."""

    start: date = date.min

    @property
    def first_day(self) -> date:
        return self.start


def elapsed_share(start: date, end: date, today: date) -> Decimal:
    """The share of the period gone by the end of ``today`` (0 before it starts, 1 after it ends)."""
    days = (end - start).days + 1
    gone = min(max((today - start).days + 1, 0), days)
    return Decimal(gone) / Decimal(days)


def goal_label(goal: PlanGoal) -> str:
    if goal.kind == PlanGoal.CUSTOM:
        return goal.label
    return str(GOAL_KINDS.get(goal.kind, goal.label or goal.kind))


def goal_kpi(goal: PlanGoal, registry: dict[str, Kpi]) -> Kpi | None:
    return None if goal.kind == PlanGoal.CUSTOM else registry.get(goal.kind)


def _percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (part * HUNDRED / whole).quantize(Decimal(1), rounding=ROUND_HALF_UP)


@dataclass
class GoalProgress:
    goal: PlanGoal
    label: str
    unit: str
    money: bool
    actual: Decimal | None  # None: a custom goal nobody recorded yet
    expected: Decimal  # the target times the share of the period gone

    @property
    def target(self) -> Decimal:
        return self.goal.target

    @property
    def of_target(self) -> Decimal | None:
        return _percent(self.actual or Decimal(0), self.target)

    @property
    def of_pace(self) -> Decimal | None:
        """Actual as a percentage of what today's share of the period expects; None before the
        period starts (nothing expected yet)."""
        return _percent(self.actual or Decimal(0), self.expected)

    @property
    def behind(self) -> bool:
        return self.expected > 0 and (self.actual or Decimal(0)) < self.expected * BEHIND

    def text(self, value: Decimal | None) -> str:
        return value_text(value, self.unit)

    @property
    def actual_text(self) -> str:
        return value_text(self.actual, self.unit)

    @property
    def target_text(self) -> str:
        return value_text(self.target, self.unit)

    @property
    def expected_text(self) -> str:
        return value_text(self.expected, self.unit)


@dataclass
class PlanProgress:
    plan: BusinessPlan
    today: date
    share: Decimal  # of the period gone
    goals: list[GoalProgress] = field(default_factory=list)

    @property
    def pace(self) -> Decimal | None:
        """The goals' average percentage of their pace (each capped at 200 % so one goal far ahead
        does not hide another behind); None before the period starts or without goals."""
        paces = [min(g.of_pace, Decimal(200)) for g in self.goals if g.of_pace is not None]
        if not paces:
            return None
        return (sum(paces) / len(paces)).quantize(Decimal(1), rounding=ROUND_HALF_UP)

    @property
    def behind(self) -> bool:
        return any(g.behind for g in self.goals)

    @property
    def behind_count(self) -> int:
        return sum(1 for g in self.goals if g.behind)

    @property
    def share_percent(self) -> Decimal:
        return (self.share * HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP)

    @property
    def sort_key(self) -> tuple:
        """Behind plan first (the furthest behind first), then plans without a pace yet."""
        pace = self.pace
        return (pace is None, pace if pace is not None else Decimal(0), self.plan.pk)


def _measure(
    kpi: Kpi, *, start: date, as_of: date, partner_ids: set[int], context_memo: dict
) -> dict[int, Decimal]:
    context = KpiContext(window=PeriodWindow(as_of=as_of, start=start), rates=context_memo["rates"])
    found = kpi.compute(context)
    if hasattr(found, "filter"):  # a queryset: let the database leave the other partners out
        found = found.filter(partner_id__in=partner_ids)
    return {pid: kpi.quantize(value) for pid, value in found if pid in partner_ids and value is not None}


def plans_progress(
    plans: Iterable[BusinessPlan], *, today: date, with_money: bool = True
) -> dict[int, PlanProgress]:
    """Progress of ``plans`` (their goals prefetched as ``goals``), in the caller's database scope.
    ``with_money=False`` leaves money goals out (an actor who sees no money figures)."""
    plans = list(plans)
    registry = kpi_registry()
    memo: dict = {}
    # (start, end) -> kind -> partner ids that need it
    needs: dict[tuple[date, date], dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    for plan in plans:
        for goal in plan.goals.all():
            if goal_kpi(goal, registry) is not None:
                needs[(plan.period_start, plan.period_end)][goal.kind].add(plan.partner_id)
    measured: dict[tuple[date, date, str], dict[int, Decimal]] = {}
    for (start, end), kinds in needs.items():
        as_of = min(today, end)
        for kind, partner_ids in kinds.items():
            if as_of < start:
                measured[(start, end, kind)] = {}
                continue
            if "rates" not in memo:
                memo["rates"] = reporting_rates()
            measured[(start, end, kind)] = _measure(
                registry[kind], start=start, as_of=as_of, partner_ids=partner_ids, context_memo=memo
            )
    result = {}
    for plan in plans:
        share = elapsed_share(plan.period_start, plan.period_end, today)
        progress = PlanProgress(plan=plan, today=today, share=share)
        for goal in plan.goals.all():
            kpi = goal_kpi(goal, registry)
            if goal.kind != PlanGoal.CUSTOM and kpi is None:
                continue  # a KPI its app no longer provides
            money = bool(kpi and kpi.money)
            if money and not with_money:
                continue
            if kpi is None:
                actual, unit = goal.manual_value, Unit.COUNT
            else:
                values = measured[(plan.period_start, plan.period_end, goal.kind)]
                actual, unit = values.get(plan.partner_id, kpi.empty_value), kpi.unit
            progress.goals.append(
                GoalProgress(
                    goal=goal,
                    label=goal_label(goal),
                    unit=unit,
                    money=money,
                    actual=actual,
                    expected=(goal.target * share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
                )
            )
        result[plan.pk] = progress
    return result
