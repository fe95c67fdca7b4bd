"""Tags for deal pages that render once per row of a list, so they are written in Python: an
``{% include %}`` or a form widget template per row costs several milliseconds on a full page."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.forms import BoundField
from django.forms.utils import flatatt
from django.template import defaultfilters
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from deals.models import ConflictStatus, Deal, DealStatus
from prm.jinja2 import url_with_pk
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


@register.simple_tag
def deal_status_strip(
    status_counts: list[tuple[str, Any, int]], total_count: int, current: Any
) -> SafeString:
    """The partner deal list's status chips ("All" and one per status with its count), the same
    markup as the ``{% for %}`` it replaces (tests/prm/test_markup_in_python.py): nine chips of a
    few tags each were about a millisecond of the page through the template engine, and still
    half of one through ``format_html``. ``current``: the status filtered on."""
    current = current or ""
    # Messages outside the f-strings: xgettext does not read into one (makemessages would miss them).
    strip_label, all_label = gettext("Deals by status"), gettext("All")
    chips = "".join(
        f'\n  <a role="listitem" class="status-chip{" active" if current == value else ""}'
        f'{"" if count else " is-zero"}" href="?status={escape(value)}" id="count-{escape(value)}">\n'
        f'      <span class="status-chip-count">{escape(formats.localize(count))}</span>'
        f'<span class="status-chip-label"><span class="status-dot status-{escape(value)}" '
        f'aria-hidden="true"></span>{escape(label)}</span>\n    </a>'
        for value, label, count in status_counts
    )
    return mark_safe(  # noqa: S308 -- every value escaped (prm.markup.escape)
        f'<div class="status-strip mb-3" role="list" aria-label="{escape(strip_label)}">\n'
        f'  <a role="listitem" class="status-chip{"" if current else " active"}" '
        f'href="{escape(reverse("deals:list"))}">\n'
        f'    <span class="status-chip-count">{escape(formats.localize(total_count))}</span>'
        f'<span class="status-chip-label">{escape(all_label)}</span>\n  </a>{chips}\n</div>'
    )


@register.simple_tag
def expiring_deal_items(deals: list[Deal]) -> SafeString:
    """The ``<li>`` of each deal in the deal list's "Expiring soon" box (up to five), with the
    wording of the ``{% blocktranslate %}`` it replaces (msgid "protected until %(date)s (in
    %(when)s)"); the date format is looked up and the detail URL reversed once, not per deal."""
    day = formats.get_format("DATE_FORMAT")
    detail_url = url_with_pk("deals:detail")
    wording = gettext("protected until %(date)s (in %(when)s)")
    items = []
    for deal in deals:
        expires = deal.protection_expires_at
        # As {% blocktranslate %} does: the values escaped, the translated sentence not.
        protected = wording % {
            "date": escape(dateformat.format(timezone.template_localtime(expires), day)),
            "when": escape(defaultfilters.timeuntil_filter(expires)),
        }
        items.append(
            '<li class="d-flex flex-wrap gap-2 align-items-center mb-1">\n'
            f'          <a class="fw-semibold" href="{escape(detail_url(deal.pk))}">'
            f"{escape(deal.reference)}</a>\n"
            f"          <span>{escape(deal.customer_name)}</span>\n"
            f'          <span class="text-body-secondary">· {protected}</span>\n'
            "        </li>"
        )
    return mark_safe("\n      ".join(items))  # noqa: S308 -- every value escaped (prm.markup.escape)


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
