"""``{% trend_chart chart label=... %}``: a scorecard trend chart as inline SVG
(partners.performance.display.chart_svg), for the scorecard pages and the summary panel."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString

from partners.performance.display import chart_svg

register = template.Library()


@register.simple_tag
def trend_chart(
    chart: Any, *, label: Any, css: str = "", axis_labels: bool = False, target: Any = "", dot: float = 1.8
) -> SafeString:
    if chart is None:
        return SafeString("")
    return chart_svg(
        chart, label=str(label), css=css, axis_labels=axis_labels, target_label=str(target), dot=dot
    )
