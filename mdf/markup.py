"""The partner's fund request list's rows, built in Python: the ``<tr>`` of each request, the markup
the Django template's ``{% for %}`` made (tests/mdf/markup_before/request_list.html;
tests/mdf/test_request_list_markup.py compares them).

Even through Jinja2 a row cost about 0.13 ms (a dozen escapes, two dates and two amounts through
Django's formatters, attribute lookups): most of the page body. Here each value is escaped once
(prm.markup.escape), the column labels and the status and activity labels are translated once per
list, and each date and amount is formatted by Django's own functions once per process and
language (the same rows show on every request of the list); each row's markup is kept by the row's
values, the language, and the link's prefix, and written again only when one of them changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.template import defaultfilters
from django.utils import formats
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from prm.jinja2 import url_with_pk
from prm.kept import TRANSLATION_SETTINGS, Kept
from prm.markup import escape

from .models import ActivityType, RequestStatus
from .selectors import RequestRow

_CENT = Decimal("0.01")
EMPTY_CELL = '<span class="text-body-secondary">—</span>'


@lru_cache(maxsize=8192)
def _amount(value: Decimal, language: str | None) -> str:
    """``{{ amount|floatformat:"2g" }}`` of a Decimal in ``language`` (the active language, passed
    so that it is part of the key). Django's filter rounds half up to two places and hands the
    digits to ``formats.number_format``; this does the same, and remembers the answer: a list
    shows the same amounts on every request (and an amount twice, requested and approved)."""
    if not value.is_finite():
        return str(defaultfilters.floatformat(value, "2g"))
    try:
        rounded = value.quantize(_CENT, ROUND_HALF_UP)
    except InvalidOperation:  # more digits than the context holds: Django's way copes
        return str(defaultfilters.floatformat(value, "2g"))
    # Django writes no sign on a zero ("-0.001" is "0.00"); the digits and the language's
    # separators need no escaping (the filter's answer is marked safe).
    return str(
        formats.number_format(rounded if rounded else abs(rounded), 2, use_l10n=True, force_grouping=True)
    )


@lru_cache(maxsize=8192)
def _date(day: date, format_name: str, language: str | None) -> str:
    """``{{ day|date:"<format_name>" }}`` of a date (not a datetime: no time zone) in ``language``,
    escaped as the template escaped it, and remembered: Django's date formatting is some 20 µs a
    call, and a list shows the same dates on every request."""
    return escape(formats.date_format(day, format_name))


@lru_cache(maxsize=32)
def _labels(language: str | None) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """The column labels, statuses and activities in ``language`` (the active one, the key),
    escaped: translated once per process and language, not on every list."""
    # Messages outside the f-strings: xgettext does not read into one (makemessages would miss them).
    labels = [
        escape(gettext(text))
        for text in ("Reference", "Activity", "Dates", "Requested", "Approved", "Status", "Claim by")
    ]
    statuses = {value: escape(str(label)) for value, label in RequestStatus.choices}
    activities = {value: escape(str(label)) for value, label in ActivityType.choices}
    return labels, statuses, activities


# A row as request_rows writes it, by everything that decides what it writes: the row itself
# (every column it prints, its key among them), the language (the wording, the formats: a row's
# dates are days, no time zone), whether the requester is shown and the detail URL's prefix. A
# list's rows are mostly those the same people saw a moment ago (its first page): each was some
# 30 µs to write again. Only what this actor already read through the list's scope is written
# from, so a row kept for one partner is nothing another could ask for (its key holds the row).
# Bounded: emptied when full.
ROWS_KEPT = 5_000
_rows: Kept[tuple[Any, ...], str] = Kept(
    ROWS_KEPT,
    forget_on=TRANSLATION_SETTINGS
    | {
        "FORMAT_MODULE_PATH",
        "DATE_FORMAT",
        "SHORT_DATE_FORMAT",
        "USE_THOUSAND_SEPARATOR",
        "NUMBER_GROUPING",
        "THOUSAND_SEPARATOR",
        "DECIMAL_SEPARATOR",
    },
)


def request_rows(rows: Iterable[RequestRow], *, show_requester: bool) -> SafeString:
    """The ``<tr>`` of each request (selectors.RequestRow), each written once and kept.
    ``show_requester``: the partner's admin also sees who asked for each."""
    language = get_language()
    detail_url = url_with_pk("mdf:request_detail")
    shown = (language, show_requester, detail_url.before, detail_url.after)
    written = []
    for row in rows:
        key = (shown, row)
        html = _rows.get(key)
        if html is None:
            html = _rows.keep(
                key, _row(row, language=language, show_requester=show_requester, detail_url=detail_url)
            )
        written.append(html)
    return mark_safe("".join(written))  # noqa: S308 -- every value escaped (prm.markup.escape)


def _row(row: RequestRow, *, language: str | None, show_requester: bool, detail_url: url_with_pk) -> str:
    """The ``<tr>`` of one request."""
    labels, statuses, activities = _labels(language)
    reference, activity, dates, requested, approved, status, claim_by = labels
    requester = f" · {escape(row.requester_name or row.requester_email)}" if show_requester else ""
    until = (
        f" – {_date(row.end_date, 'SHORT_DATE_FORMAT', language)}" if row.end_date != row.start_date else ""
    )
    currency = f'<span class="text-body-secondary small">{escape(row.currency)}</span>'
    approved_cell = EMPTY_CELL
    if row.approved_amount is not None:
        approved_cell = f"{_amount(row.approved_amount, language)} {currency}"
    claim_cell = (
        _date(row.claim_deadline, "DATE_FORMAT", language)
        if row.status == RequestStatus.APPROVED and row.claim_deadline
        else EMPTY_CELL
    )
    status_value = escape(row.status)
    return f"""
            <tr>
              <td class="text-nowrap" data-label="{reference}"><a class="fw-semibold text-decoration-none" href="{detail_url(row.pk)}">{escape(row.reference)}</a>
                <div class="small text-body-secondary">{escape(row.period_name)}</div></td>
              <td data-label="{activity}">{escape(row.title)}
                <div class="small text-body-secondary">{activities.get(row.activity_type) or escape(row.activity_type)}{requester}</div></td>
              <td class="text-nowrap small" data-label="{dates}">{_date(row.start_date, "SHORT_DATE_FORMAT", language)}{until}</td>
              <td class="text-end text-nowrap" data-label="{requested}">{_amount(row.requested_amount, language)} {currency}</td>
              <td class="text-end text-nowrap" data-label="{approved}">{approved_cell}</td>
              <td data-label="{status}"><span class="badge status-badge mdf-status status-{status_value}">{statuses.get(row.status) or status_value}</span>
</td>
              <td class="text-nowrap small" data-label="{claim_by}">{claim_cell}</td>
            </tr>"""  # noqa: E501 -- the rows' markup, line for line as the template had it
