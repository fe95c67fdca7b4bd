"""The plan's progress chart as server-rendered SVG (no JavaScript, nothing for the CSP to allow):
one row per goal, its actual as a bar against the target (100 %), with the pace expected by today
as a marker, so "behind the pace" reads at a glance. Texts escaped; coordinates written with a dot
in every locale, as partners.performance.display.chart_svg writes its trend charts."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .progress import PlanProgress

LEFT, RIGHT, ROW, BAR = 170, 70, 34, 14
SCALE_MAX = Decimal(150)  # bars beyond 150 % of the target are drawn at 150 %


def progress_svg(progress: PlanProgress, *, width: int = 640) -> SafeString:
    goals = progress.goals
    height = 28 + ROW * max(len(goals), 1)
    inner = width - LEFT - RIGHT

    def x(percent: Decimal) -> float:
        return LEFT + float(min(max(percent, Decimal(0)), SCALE_MAX)) / float(SCALE_MAX) * inner

    summary = "; ".join(
        _("%(goal)s: %(actual)s of %(target)s, %(expected)s expected by today")
        % {"goal": g.label, "actual": g.actual_text, "target": g.target_text, "expected": g.expected_text}
        for g in goals
    )
    # Outside the f-strings: xgettext does not read a message inside one.
    chart_label = _("Actual against target pace")
    expected_label = _("Expected by today")
    parts = [
        f'<svg class="plan-chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(chart_label)}: {escape(summary)}" '
        'preserveAspectRatio="xMinYMin meet">'
    ]
    for tick in (Decimal(0), Decimal(50), Decimal(100), Decimal(150)):
        parts.append(
            f'<line class="plan-grid{" plan-grid-target" if tick == 100 else ""}" x1="{x(tick):.1f}" '
            f'x2="{x(tick):.1f}" y1="14" y2="{height - 4}"/>'
            f'<text class="plan-axis" x="{x(tick):.1f}" y="10" text-anchor="middle">{tick} %</text>'
        )
    for n, goal in enumerate(goals):
        top = 22 + n * ROW
        of_target = goal.of_target or Decimal(0)
        pace = (goal.expected * 100 / goal.target) if goal.target else Decimal(0)
        css = "plan-bar-behind" if goal.behind else "plan-bar-ok"
        parts.append(
            f'<text class="plan-label" x="{LEFT - 8}" y="{top + BAR - 3}" text-anchor="end">'
            f"{escape(goal.label[:28])}</text>"
            f'<rect class="plan-track" x="{LEFT}" y="{top}" width="{inner}" height="{BAR}" rx="3"/>'
            f'<rect class="plan-bar {css}" x="{LEFT}" y="{top}" width="{x(of_target) - LEFT:.1f}" '
            f'height="{BAR}" rx="3"><title>{escape(goal.actual_text)} / {escape(goal.target_text)}'
            "</title></rect>"
            f'<line class="plan-pace" x1="{x(pace):.1f}" x2="{x(pace):.1f}" y1="{top - 3}" '
            f'y2="{top + BAR + 3}"><title>{escape(expected_label)}: {escape(goal.expected_text)}'
            "</title></line>"
            f'<text class="plan-value" x="{width - RIGHT + 6}" y="{top + BAR - 3}">{of_target} %</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- numbers we computed, and texts escaped above
