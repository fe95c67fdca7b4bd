"""Tags for deal pages that render once per row of a list, so they are written in Python: an
``{% include %}`` or a form widget template per row costs several milliseconds on a full page."""

from __future__ import annotations

from django import template
from django.forms import BoundField
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from deals.models import ConflictStatus, Deal, DealStatus

register = template.Library()

_CONFLICT_SHOWN_WHILE = {DealStatus.SUBMITTED, DealStatus.RETURNED}


@register.simple_tag
def deal_status_badges(deal: Deal) -> SafeString:
    """The status badge, plus the neutral conflict badge while the deal is under review. The
    partner side only ever learns that a possible conflict is under review — never with whom."""
    badge = format_html(
        '<span class="badge status-badge status-{}">{}</span>', deal.status, deal.get_status_display()
    )
    if deal.conflict_status == ConflictStatus.UNDER_REVIEW and deal.status in _CONFLICT_SHOWN_WHILE:
        badge += format_html(
            ' <span class="badge conflict-badge" title="{}"><i class="bi bi-exclamation-diamond" '
            'aria-hidden="true"></i> {}</span>',
            gettext(
                "Another registration may claim this customer. The vendor reviews it; you need to do nothing."
            ),
            gettext("Possible conflict under review"),
        )
    return badge


@register.simple_tag
def choice_select(field: BoundField) -> SafeString:
    """A filter form's ``<select>`` for a choice field, with the widget's attributes."""
    current = str(field.value() or "")
    attrs = {**field.field.widget.attrs, "name": field.html_name, "id": field.id_for_label}
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (value, " selected" if str(value) == current else "", label)
            for value, label in field.field.choices
        ),
    )
    return format_html("<select{}>{}</select>", flatatt(attrs), options)
