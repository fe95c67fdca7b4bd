"""How the scorecard pages show a scorecard: KPI values in words ("12,000 USD", "42.5 %"), and the
trend charts as server-rendered SVG geometry (``templates/partners/performance/_trend_chart.html``
draws it). Pure Python over what the selectors return: no queries, no JavaScript, nothing that a
Content-Security-Policy has to allow."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .kpis import Unit, is_month_end
from .selectors import ScorecardLine, ScorecardOverview, TrendPoint, scorecard_overview

SCORE = "score"  # a total score out of 100 (no KPI unit)
_UNIT_DECIMALS = {Unit.MONEY: 0, Unit.COUNT: 0, Unit.PERCENT: 1, Unit.DAYS: 1, Unit.HOURS: 1, SCORE: 1}


def value_text(value: Decimal | None, unit: str, *, round_up: bool = False) -> str:
    """A KPI value as the pages write it; "—" for no value. ``round_up``: a count to reach (1.2
    certified people to reach a band is 2 people)."""
    if value is None:
        return "—"
    places = _UNIT_DECIMALS.get(unit, 2)
    if round_up and unit == Unit.COUNT:
        value = value.to_integral_value(rounding=ROUND_CEILING)
    # number_format cuts extra decimals off; a figure is rounded (12,345.68 is 12,346).
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    number = formats.number_format(value, places, use_l10n=True, force_grouping=True)
    if unit == Unit.MONEY:
        return f"{number} {settings.PRM['REPORTING_CURRENCY']}"
    if unit == Unit.PERCENT:
        return f"{number} %"
    if unit == Unit.DAYS:
        return _("%(n)s days") % {"n": number}
    if unit == Unit.HOURS:
        return _("%(n)s h") % {"n": number}
    if unit == Unit.RATING:
        return _("%(n)s / 5") % {"n": number}
    if unit == Unit.RATIO:
        return f"{number}×"
    return number


# --- trend charts ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    day: date
    text: str  # the value, for the point's tooltip and the chart's text alternative


@dataclass(frozen=True)
class Gridline:
    y: float
    text: str


@dataclass(frozen=True)
class TrendChart:
    """An SVG line chart's geometry in its own coordinates (``width`` x ``height``)."""

    width: int
    height: int
    points: list[ChartPoint]
    gridlines: list[Gridline]
    target_y: float | None
    left: int = 0  # where the plot starts (room for the gridlines' labels)
    floor: float = 0  # the y of the value axis' bottom

    @property
    def right(self) -> int:
        return self.width - PAD

    @property
    def line(self) -> str:
        return " ".join(f"{point.x:.1f},{point.y:.1f}" for point in self.points)

    @property
    def area(self) -> str:
        """The polygon under the line, down to the chart's floor."""
        if len(self.points) < 2:
            return ""
        first, last = self.points[0], self.points[-1]
        return f"{first.x:.1f},{self.floor:.1f} {self.line} {last.x:.1f},{self.floor:.1f}"

    @property
    def last(self) -> ChartPoint | None:
        return self.points[-1] if self.points else None


PAD = 4
TARGET_REACH = Decimal(2)  # a target up to twice the highest value is drawn on a KPI's chart


def trend_chart(
    series: Sequence[tuple[date, Decimal | None]],
    *,
    unit: str,
    target: Decimal | None = None,
    width: int = 160,
    height: int = 40,
    left: int = PAD,
    bottom: int = PAD,
    low: Decimal | None = None,
    high: Decimal | None = None,
    gridlines: Sequence[Decimal] = (),
) -> TrendChart | None:
    """The chart of ``series`` (oldest first; days without a value are left out), evenly spaced: the
    month-ends, then the latest day (its label says the day, not the month). The value axis
    runs from 0 (or the lowest value, if negative) to a little above the highest value, or the
    target when it is near (``TARGET_REACH``); ``low``/``high`` fix it (a score: 0 to 100). None
    when there is nothing to draw."""
    known = [(day, value) for day, value in series if value is not None]
    if not known:
        return None
    values = [value for _day, value in known]
    axis_low = low if low is not None else min(Decimal(0), *values)
    axis_high = high
    if axis_high is None:
        # The target joins the axis only when it is near the values: a target ten times the value
        # would flatten the line, and the line's shape is what a trend chart is for.
        near = target is not None and target <= max(values) * TARGET_REACH
        axis_high = max(*values, target if near else values[0])
        axis_high = axis_high * Decimal("1.1") if axis_high > 0 else Decimal(1)
    span = float(axis_high - axis_low) or 1.0
    steps = len(known) - 1

    def x(index: int) -> float:
        if steps == 0:
            return left + (width - left - PAD) / 2
        return left + (width - left - PAD) * index / steps

    def y(value: Decimal) -> float:
        ratio = float(value - axis_low) / span
        return PAD + (height - PAD - bottom) * (1 - min(max(ratio, 0.0), 1.0))

    points = [
        ChartPoint(x(index), y(value), day, value_text(value, unit))
        for index, (day, value) in enumerate(known)
    ]
    target_y = y(target) if target is not None and axis_low <= target <= axis_high else None
    grid = [Gridline(y(mark), formats.number_format(mark, 0, use_l10n=True)) for mark in gridlines]
    return TrendChart(width, height, points, grid, target_y, left=left, floor=float(height - bottom))


@lru_cache(maxsize=512)
def _day_text(day: date, pattern: str, language: str | None) -> str:
    """A day formatted (``language`` keys the cache: the same day reads differently in French)."""
    return formats.date_format(day, pattern)


def chart_svg(
    chart: TrendChart,
    *,
    label: str,
    css: str = "",
    axis_labels: bool = False,
    dot: float = 1.8,
    target_label: str = "",
) -> SafeString:
    """The chart as inline SVG: gridlines, the dashed target, the area and line, a dot per point
    with its value as a tooltip (the last one hollow), and the months below with ``axis_labels``.
    Built in Python with each text escaped: through a template, the twelve points of seven KPIs
    took most of the page's time. Coordinates are written with a dot whatever the locale."""
    language = get_language()
    when = {p.day: _day_text(p.day, "M Y", language) for p in chart.points}
    summary = "; ".join(f"{when[p.day]}: {p.text}" for p in chart.points)
    parts = [
        f'<svg class="trend-chart {escape(css)}" viewBox="0 0 {chart.width} {chart.height}" '
        f'width="{chart.width}" height="{chart.height}" role="img" '
        f'aria-label="{escape(label)}: {escape(summary)}" preserveAspectRatio="xMidYMid meet">'
    ]
    for grid in chart.gridlines:
        parts.append(
            f'<line class="trend-grid" x1="{chart.left}" x2="{chart.right}" y1="{grid.y:.1f}" '
            f'y2="{grid.y:.1f}"/><text class="trend-axis" x="{chart.left - 6}" y="{grid.y:.1f}" dy="3" '
            f'text-anchor="end">{escape(grid.text)}</text>'
        )
    if chart.target_y is not None:
        parts.append(
            f'<line class="trend-target" x1="{chart.left}" x2="{chart.right}" y1="{chart.target_y:.1f}" '
            f'y2="{chart.target_y:.1f}"><title>{escape(target_label)}</title></line>'
        )
    if chart.area:
        parts.append(f'<polygon class="trend-area" points="{chart.area}"/>')
    if len(chart.points) > 1:
        parts.append(f'<polyline class="trend-line" points="{chart.line}"/>')
    last = len(chart.points) - 1
    for n, point in enumerate(chart.points):
        hollow = n == last
        parts.append(
            f'<circle class="trend-dot{" trend-dot-last" if hollow else ""}" cx="{point.x:.1f}" '
            f'cy="{point.y:.1f}" r="{3 if hollow else dot}"><title>{escape(when[point.day])}: '
            f"{escape(point.text)}</title></circle>"
        )
    if axis_labels:
        for point in chart.points:
            tick = _day_text(point.day, "M" if is_month_end(point.day) else "j M", language)
            parts.append(
                f'<text class="trend-axis" x="{point.x:.1f}" y="{chart.height - 3}" '
                f'text-anchor="middle">{escape(tick)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- numbers we computed, and texts escaped above


SCORE_GRID = (Decimal(0), Decimal(25), Decimal(50), Decimal(75), Decimal(100))


def score_chart(
    trend: Sequence[TrendPoint], *, width: int = 640, height: int = 180, axes: bool = True
) -> TrendChart | None:
    """The total score over the trend, on a fixed 0-100 axis; with ``axes``, gridlines and room on
    the left and below for their labels."""
    return trend_chart(
        [(point.as_of, point.total_score) for point in trend],
        unit=SCORE,
        width=width,
        height=height,
        left=32 if axes else PAD,
        bottom=18 if axes else PAD,
        low=Decimal(0),
        high=Decimal(100),
        gridlines=SCORE_GRID if axes else (),
    )


# --- the scorecard as the page shows it ------------------------------------------------------------
@dataclass(frozen=True)
class ScorecardRow:
    """A line of the scorecard with its figures in words and its trend chart."""

    line: ScorecardLine
    value: str
    target: str
    chart: TrendChart | None
    score_percent: int  # the line's share of its maximum, for the bar

    @property
    def next_step(self) -> str:
        """What reaching the next band takes and adds ("" when the line is full or has no band)."""
        line = self.line
        gain = line.next_gain
        if gain is None or gain <= 0:
            return ""
        points = formats.number_format(gain, 1, use_l10n=True)
        if line.hidden or line.next_value is None:
            return _("The next band adds %(points)s points.") % {"points": points}
        verb = _("Bring it down to %(value)s") if line.lower_is_better else _("Reach %(value)s")
        return _("%(reach)s: +%(points)s points.") % {
            "reach": verb % {"value": value_text(line.next_value, line.unit, round_up=True)},
            "points": points,
        }


@dataclass(frozen=True)
class ScorecardDisplay:
    overview: ScorecardOverview
    rows: list[ScorecardRow]
    chart: TrendChart | None
    gap: ScorecardRow | None
    others: list[tuple[str, str]]  # KPIs measured but not scored: (label, value)

    @property
    def scorecard(self) -> Any:
        return self.overview.scorecard

    @property
    def any_hidden(self) -> bool:
        return any(row.line.hidden for row in self.rows)


def scorecard_display(overview: ScorecardOverview, *, compact: bool = False) -> ScorecardDisplay:
    """Everything the scorecard page renders, from one overview; ``compact``: for the summary panel
    (a small score chart without axes, no chart per KPI)."""
    scorecard = overview.scorecard
    rows = []
    for line in scorecard.lines:
        chart = None
        if not compact and not line.hidden:
            chart = trend_chart(overview.series(line.kpi), unit=line.unit, target=line.target)
        share = line.score / line.max * 100 if line.max else Decimal(0)
        rows.append(
            ScorecardRow(
                line=line,
                value=value_text(line.value, line.unit),
                target=value_text(line.target, line.unit),
                chart=chart,
                score_percent=max(0, min(100, math.floor(share))),
            )
        )
    gap_line = scorecard.biggest_gap
    gap = next((row for row in rows if row.line is gap_line), None)
    scored = {line.kpi for line in scorecard.lines}
    others = [
        (label, value_text(value, unit))
        for key, (label, unit, value) in scorecard.values.items()
        if key not in scored
    ]
    return ScorecardDisplay(
        overview=overview,
        rows=rows,
        chart=score_chart(overview.trend, width=200, height=48, axes=False)
        if compact
        else score_chart(overview.trend),
        gap=gap,
        others=others,
    )


def scorecard_summary(*, actor: Any, partner: Any, compact: bool = True) -> ScorecardDisplay | None:
    """The partner's scorecard as ``partners/performance/_scorecard_summary.html`` shows it (a panel
    on another page: the partner 360 page), or None before the first nightly run or when the actor
    may not see it. Two queries whatever the number of KPIs (``selectors.scorecard_overview``).
    ``compact=False``: as the scorecard pages show it in full."""
    overview = scorecard_overview(actor=actor, partner=partner)
    return scorecard_display(overview, compact=compact) if overview is not None else None
