"""Tags for deal pages that render once per row of a list, so they are written in Python: an
``{% include %}`` or a form widget template per row costs several milliseconds on a full page."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils import formats
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from deals.models import ConflictStatus, Deal, DealStatus
from prm.markup import escape

register = template.Library()

_CONFLICT_SHOWN_WHILE = {DealStatus.SUBMITTED, DealStatus.RETURNED}


@register.simple_tag
def deal_status_badges(deal: Deal, labels: dict[str, str] | None = None) -> SafeString:
    """The status badge, plus the neutral conflict badge while the deal is under review. The
    partner side only ever learns that a possible conflict is under review — never with whom.
    ``labels``: the status labels translated already (a list translates them once, not per row)."""
    label = labels.get(deal.status, deal.status) if labels is not None else deal.get_status_display()
    # Once per row of a list: escaped without format_html's wrappers (prm.markup).
    badge = mark_safe(  # noqa: S308 -- both values escaped
        f'<span class="badge status-badge status-{escape(deal.status)}">{escape(label)}</span>'
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


_MUTED = ' class="text-body-tertiary"'  # a row with no deals


_ONE = Decimal(1)


def whole(value: Any) -> str:
    """``floatformat(value, "0g")``, a Decimal's the short way (a pipeline's tables write a hundred
    or more a page): Django's filter rounds the same (ROUND_HALF_UP, to a whole number) and hands
    the digits to the same ``number_format``, through strings and tuples that cost three times as
    much. Django writes no sign on a zero ("-0.4" is "0"). tests/deals/test_vendor_markup.py
    compares the two."""
    if type(value) is Decimal and value.is_finite():
        try:
            rounded = value.quantize(_ONE, ROUND_HALF_UP)
        except InvalidOperation:  # more digits than the context holds: Django's way copes
            return floatformat(value, "0g")
        shown = rounded if rounded else abs(rounded)
        return formats.number_format(shown, 0, use_l10n=True, force_grouping=True)
    return floatformat(value, "0g")


def _field(row: Any, name: str) -> Any:
    """``{{ row.name }}``'s lookup: a dict's key, else an attribute ("" when neither)."""
    try:
        return row[name]
    except (TypeError, KeyError, IndexError):
        return getattr(row, name, "")


@register.simple_tag(takes_context=True)
def pipeline_table(context: template.Context, rows: Any, title: Any) -> SafeString:
    """One pipeline breakdown as a table (templates/deals/_pipeline_table.html, the partner's and
    the vendor's pipeline pages): the markup that template wrote, built in Python — its rows (a
    few dozen a page: statuses, stages, months) were a millisecond and a half of the partner
    pipeline through the template engine. ``show_won`` is read from the context, as the include's
    ``with show_won=True`` left it."""
    show_won = bool(context.get("show_won"))
    # Messages outside the f-strings: xgettext does not read into one (makemessages would miss them).
    deals_label, value_label, won_label, no_deals = (
        gettext("Deals"),
        gettext("Value"),
        gettext("Won"),
        gettext("No deals."),
    )
    cells = []
    for row in rows or ():
        count = _field(row, "count")
        won = _field(row, "won") if show_won else None
        won_text = escape(whole(won)) if won else "—"
        won_cell = (
            f'\n          <td class="text-end text-nowrap">{won_text}</td>' if show_won else "\n          "
        )
        value_text = escape(whole(_field(row, "value")))
        cells.append(
            f"\n        <tr{'' if count else _MUTED}>\n"
            f"          <td>{escape(_field(row, 'label'))}</td>\n"
            f'          <td class="text-end">{escape(formats.localize(count))}</td>\n'
            f'          <td class="text-end text-nowrap">{value_text}</td>'
            f"{won_cell}\n        </tr>"
        )
    if not cells:
        cells.append(
            f'\n        <tr><td colspan="{4 if show_won else 3}" '
            f'class="text-center text-body-secondary small py-3">{escape(no_deals)}</td></tr>'
        )
    won_heading = f'<th scope="col" class="text-end">{escape(won_label)}</th>' if show_won else ""
    return mark_safe(  # noqa: S308 -- every value escaped; floatformat writes digits and separators
        '<div class="table-responsive">\n  <table class="table table-sm mb-0 pipeline-table">\n'
        f'    <thead><tr>\n      <th scope="col">{escape(title)}</th>\n'
        f'      <th scope="col" class="text-end">{escape(deals_label)}</th>\n'
        f'      <th scope="col" class="text-end">{escape(value_label)}</th>\n'
        f"      {won_heading}\n    </tr></thead>\n    <tbody>{''.join(cells)}\n"
        "    </tbody>\n  </table>\n</div>"
    )
