"""Reads for the scorecard pages: a partner's latest scorecard, its trend over twelve months, what
would move its score most, and rankings. Each goes through the snapshot policy (a partner sees its
own, a channel account manager the portfolio's) and runs a fixed number of queries whatever the
number of partners or lines. Money figures are left out for those who may not see them
(``policies.sees_money_figures``): learners and content / training managers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import DecimalField, F, Max, Q, QuerySet, Subquery, Window
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Rank
from django.utils import timezone

from partners.models import Partner, PartnerAssessment, ScorecardSnapshot
from partners.models import ScorecardLine as TemplateLine
from prm.policies import PermissionDenied
from prm.tenancy import Actor

from .kpis import Kpi, kpi_registry
from .policies import assessment_policy, sees_money_figures, snapshot_policy

TREND_MONTHS = 12
RANKINGS_PER_PAGE = 50


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


@dataclass(frozen=True)
class ScorecardLine:
    """One KPI of a partner's scorecard as the page shows it. ``hidden``: a money figure the reader
    may not see (value, target and the value of the next band are then None; points and score are
    not money and stay)."""

    kpi: str
    label: str
    unit: str
    lower_is_better: bool
    money: bool
    hidden: bool
    weight: Decimal
    target: Decimal | None
    value: Decimal | None
    attainment: Decimal | None
    points: Decimal
    score: Decimal
    max: Decimal
    next_points: Decimal | None
    next_value: Decimal | None

    @property
    def gap(self) -> Decimal:
        """Points of the total this line leaves on the table."""
        return self.max - self.score

    @property
    def next_gain(self) -> Decimal | None:
        """Points of the total the next band would add."""
        if self.next_points is None or self.points >= 100:
            return None
        return (self.next_points - self.points) * self.max / 100


@dataclass(frozen=True)
class Scorecard:
    partner_id: int
    as_of: date
    template_name: str
    total_score: Decimal | None
    lines: list[ScorecardLine]
    # Every KPI measured that day the reader may see: key -> (label, unit, value).
    values: dict[str, tuple[str, str, Decimal | None]] = field(default_factory=dict)

    @property
    def biggest_gap(self) -> ScorecardLine | None:
        return biggest_gap(self)


def biggest_gap(scorecard: Scorecard) -> ScorecardLine | None:
    """ "What would move the score most": the line with the largest weighted gap (the most points
    of the total still to win), the heavier line first on a tie; None when every line is full."""
    candidates = [line for line in scorecard.lines if line.gap > 0]
    if not candidates:
        return None
    return max(candidates, key=lambda line: (line.gap, line.weight))


def _label(key: str, registry: dict[str, Kpi]) -> tuple[str, str, bool, bool]:
    kpi = registry.get(key)
    if kpi is None:  # a KPI that no longer exists (a certification track removed)
        return key, "", False, True
    return str(kpi.label), kpi.unit, kpi.lower_is_better, kpi.money


def _scorecard(snapshot: ScorecardSnapshot, registry: dict[str, Kpi], money: bool) -> Scorecard:
    lines = []
    for raw in snapshot.lines:
        label, unit, lower, is_money = _label(raw["kpi"], registry)
        hidden = is_money and not money
        lines.append(
            ScorecardLine(
                kpi=raw["kpi"],
                label=label,
                unit=unit,
                lower_is_better=lower,
                money=is_money,
                hidden=hidden,
                weight=Decimal(raw["weight"]),
                target=None if hidden else _decimal(raw["target"]),
                value=None if hidden else _decimal(raw["value"]),
                attainment=_decimal(raw["attainment"]),
                points=Decimal(raw["points"]),
                score=Decimal(raw["score"]),
                max=Decimal(raw["max"]),
                next_points=_decimal(raw["next_points"]),
                next_value=None if hidden else _decimal(raw["next_value"]),
            )
        )
    values = {}
    for key, value in snapshot.values.items():
        label, unit, _lower, is_money = _label(key, registry)
        if money or not is_money:
            values[key] = (label, unit, _decimal(value))
    return Scorecard(
        partner_id=snapshot.partner_id,
        as_of=snapshot.as_of,
        template_name=snapshot.template_name,
        total_score=snapshot.total_score,
        lines=lines,
        values=values,
    )


def _snapshots(actor: Actor, partner: Partner) -> QuerySet[ScorecardSnapshot]:
    return snapshot_policy.scope(actor).filter(partner_id=partner.pk)


def scorecard_latest(*, actor: Actor, partner: Partner) -> Scorecard | None:
    """The partner's most recent scorecard (None before the first nightly run, or when the actor may
    not see it). Two queries: the snapshot, and the certification tracks for the KPIs' labels."""
    snapshot = _snapshots(actor, partner).order_by("-as_of").first()
    if snapshot is None:
        return None
    return _scorecard(snapshot, kpi_registry(), sees_money_figures(actor))


@dataclass(frozen=True)
class TrendPoint:
    as_of: date
    month_end: bool
    total_score: Decimal | None
    values: dict[str, Decimal | None]


def _trend_start(months: int) -> date:
    """The first day of the month ``months`` months before this one."""
    first_month = timezone.localdate().replace(day=1)
    for _step in range(months):
        first_month = (first_month - timedelta(days=1)).replace(day=1)
    return first_month


def _trend_point(snapshot: ScorecardSnapshot, registry: dict[str, Kpi], money: bool) -> TrendPoint:
    values = {
        key: _decimal(value)
        for key, value in snapshot.values.items()
        if money or not (registry.get(key) and registry[key].money)
    }
    return TrendPoint(snapshot.as_of, snapshot.month_end, snapshot.total_score, values)


def scorecard_trend(*, actor: Actor, partner: Partner, months: int = TREND_MONTHS) -> list[TrendPoint]:
    """The month-end scorecards of the last ``months`` months, oldest first, then the latest one if
    it is newer. Two queries (the points, the KPI registry)."""
    first_month = _trend_start(months)
    snapshots = _snapshots(actor, partner)
    latest_day = snapshots.aggregate(latest=Max("as_of"))["latest"]
    if latest_day is None:
        return []
    rows = snapshots.filter(Q(month_end=True, as_of__gte=first_month) | Q(as_of=latest_day)).order_by("as_of")
    registry = kpi_registry()
    money = sees_money_figures(actor)
    return [
        _trend_point(snapshot, registry, money)
        for snapshot in rows.only("as_of", "month_end", "total_score", "values")
    ]


@dataclass(frozen=True)
class ScorecardOverview:
    """A partner's latest scorecard with its trend: what the scorecard page shows, and the summary
    panel other pages include (``partners/performance/_scorecard_summary.html``)."""

    scorecard: Scorecard
    trend: list[TrendPoint]
    registry: dict[str, Kpi]

    def series(self, key: str) -> list[tuple[date, Decimal | None]]:
        """One KPI's value at each point of the trend (None where it was not measured or is hidden)."""
        return [(point.as_of, point.values.get(key)) for point in self.trend]

    @property
    def score_series(self) -> list[tuple[date, Decimal | None]]:
        return [(point.as_of, point.total_score) for point in self.trend]

    @property
    def previous_month_end(self) -> TrendPoint | None:
        """The last month-end before the latest scorecard (what "since last month" compares with)."""
        earlier = [point for point in self.trend[:-1] if point.month_end]
        return earlier[-1] if earlier else None

    @property
    def score_change(self) -> Decimal | None:
        previous = self.previous_month_end
        if previous is None or previous.total_score is None or self.scorecard.total_score is None:
            return None
        return self.scorecard.total_score - previous.total_score


def scorecard_overview(
    *, actor: Actor, partner: Partner, months: int = TREND_MONTHS
) -> ScorecardOverview | None:
    """The partner's latest scorecard and its trend (the month-ends of the last ``months`` months,
    then the latest day), or None before the first nightly run or when the actor may not see it.

    Two queries whatever the number of KPIs and months: the snapshots (the latest day found by a
    subquery), and the KPI registry. The scorecard page and the partner 360 page's panel use it."""
    snapshots = _snapshots(actor, partner)
    latest_day = snapshots.order_by("-as_of").values("as_of")[:1]
    rows = list(
        snapshots.filter(
            Q(month_end=True, as_of__gte=_trend_start(months)) | Q(as_of=Subquery(latest_day))
        ).order_by("as_of")
    )
    if not rows:
        return None
    registry = kpi_registry()
    money = sees_money_figures(actor)
    return ScorecardOverview(
        scorecard=_scorecard(rows[-1], registry, money),
        trend=[_trend_point(snapshot, registry, money) for snapshot in rows],
        registry=registry,
    )


# --- rankings ------------------------------------------------------------------------------------
RANKING_FILTERS = {
    "tier": "partner__tier_id",
    "region": "partner__region",
    "partner_type": "partner__partner_type",
    "cam": "partner__channel_account_manager_id",
}
_SORTS = {"score": F("total_score"), "name": F("partner__legal_name"), "tier": F("partner__tier__rank")}
_KPI_KEY = re.compile(r"^[a-z0-9_.]{1,100}$")


def _order(sort: str) -> list[Any]:
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name.startswith("kpi:") and _KPI_KEY.match(name[4:]):
        expression = Cast(
            KeyTextTransform(name[4:], "values"), DecimalField(max_digits=30, decimal_places=10)
        )
    else:
        expression = _SORTS.get(name, _SORTS["score"])
        if name not in _SORTS:
            descending = True
    ordered = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
    return [ordered, "partner__legal_name", "partner_id"]


def _ranked(
    actor: Actor, snapshots: QuerySet[ScorecardSnapshot], filters: dict[str, Any]
) -> QuerySet[ScorecardSnapshot]:
    """The scorecards of the day ranked (``rank``), filtered; refuses who may not rank."""
    if not snapshot_policy.can(actor, "rank"):
        raise PermissionDenied("Rankings are for vendor staff.")
    as_of = filters.get("as_of") or snapshots.aggregate(latest=Max("as_of"))["latest"]
    rows = snapshots.filter(as_of=as_of)
    for name, lookup in RANKING_FILTERS.items():
        if filters.get(name):
            rows = rows.filter(**{lookup: filters[name]})
    return rows.annotate(rank=Window(Rank(), order_by=F("total_score").desc(nulls_last=True)))


def scorecard_rankings(
    *,
    actor: Actor,
    filters: dict[str, Any] | None = None,
    sort: str = "-score",
    page: Any = 1,
    per_page: int = RANKINGS_PER_PAGE,
) -> Page:
    """Partners by their scorecards of the latest day computed (or ``filters["as_of"]``), ranked by
    total score (``rank``: 1 is the best, equal scores share a rank; among the filtered partners).
    Filters: tier, region, partner_type, cam (a user id). Sorts: score, name, tier or
    ``kpi:<key>``, with "-" for descending. A channel account manager ranks the portfolio only.

    Four queries: the day, the count, the page's ids and ranks, then its rows. Ranking and sorting
    narrow rows and fetching the 50 wide ones afterwards is what keeps it fast: ranking the whole
    rows (their KPI values are kilobytes each) took 300-490 ms for 10,000 partners on the benchmark
    data, this 60-100 ms."""
    snapshots = snapshot_policy.scope(actor)
    ranked = _ranked(actor, snapshots, filters or {}).order_by(*_order(sort)).values_list("pk", "rank")
    result = Paginator(ranked, per_page).get_page(page)
    ranks = list(result.object_list)
    details = (
        snapshots.filter(pk__in=[pk for pk, _rank in ranks])
        .select_related("partner", "partner__tier", "partner__channel_account_manager")
        .defer("lines")
        .in_bulk()
    )
    for pk, rank in ranks:
        details[pk].rank = rank
    result.object_list = [details[pk] for pk, _rank in ranks]
    return result


def visible_values(snapshot: ScorecardSnapshot, *, actor: Actor, registry: dict[str, Kpi]) -> dict[str, Any]:
    """A ranking row's KPI values the actor may see (money left out for those who may not)."""
    money = sees_money_figures(actor)
    return {
        key: _decimal(value)
        for key, value in snapshot.values.items()
        if money or not (registry.get(key) and registry[key].money)
    }


def scorecard_ranking_rows(
    *, actor: Actor, filters: dict[str, Any] | None = None, sort: str = "-score"
) -> QuerySet[ScorecardSnapshot]:
    """Every ranked row of :func:`scorecard_rankings` (same filters, sort and ranks), unpaginated,
    with the partner, tier and manager joined: the rankings' CSV export streams it in Celery."""
    ranked = _ranked(actor, snapshot_policy.scope(actor), filters or {})
    return (
        ranked.order_by(*_order(sort))
        .select_related("partner", "partner__tier", "partner__channel_account_manager")
        .defer("lines")
    )


@dataclass(frozen=True)
class RankingColumn:
    key: str
    label: str
    unit: str
    money: bool


def ranking_columns(*, actor: Actor, registry: dict[str, Kpi]) -> list[RankingColumn]:
    """The KPIs the rankings show as columns: those the active templates score, in the templates'
    order, without money figures for whoever may not see them. One query."""
    money = sees_money_figures(actor)
    keys = (
        TemplateLine.objects.filter(template__is_active=True)
        .order_by("template__name", "position", "pk")
        .values_list("kpi", flat=True)
    )
    columns: dict[str, RankingColumn] = {}
    for key in keys:
        kpi = registry.get(key)
        if key in columns or kpi is None or (kpi.money and not money):
            continue
        columns[key] = RankingColumn(key, str(kpi.label), kpi.unit, kpi.money)
    return list(columns.values())


def assessment_list(*, actor: Actor, partner: Partner) -> QuerySet[PartnerAssessment]:
    """The partner's quarterly ratings the actor may read, newest quarter first (the rater joined)."""
    return (
        assessment_policy.scope(actor)
        .filter(partner_id=partner.pk)
        .select_related("assessed_by")
        .order_by("-period_start", "-pk")
    )
