"""What the partner deal list's Jinja2 templates (templates/jinja2/deals/deal_list.html and
_deal_rows.html) are given to write a row's amount and dates, and the page's fixed wording.

Django's formatting helpers look the language and the time zone up on every call (an
``asgiref.local.Local`` read, some 5 µs each): ``floatformat`` of an amount was 20-25 µs, a date
through ``|date`` 40 µs and its time zone conversion 14 µs more, about 2.5 ms for a page of 25
rows. :class:`ListFormats` looks them up once per render and writes the same text as Django's
filters (tests/deals/test_list_markup.py compares the page with the Django template's).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import engines
from django.template.defaultfilters import floatformat
from django.utils import dateformat, formats, numberformat, timezone, translation
from markupsafe import Markup

from prm.kept import TRANSLATION_SETTINGS, Kept
from prm.markup import escape as escape_text

_CENT = Decimal("0.01")
_ONE = Decimal(1)

# A day as DATE_FORMAT writes it, by (language, format, day): days repeat across rows, pages and
# requests, and writing one is a pure function of those three (the month names are the language's
# catalog, fixed for the process). Bounded: emptied when it grows past DAYS_KEPT.
DAYS_KEPT = 20_000
# What this module keeps is written in a language and its formats: forgotten when a test changes
# the catalogs or the formats (it may read otherwise).
_WRITTEN_WITH = TRANSLATION_SETTINGS | {"FORMAT_MODULE_PATH", "DATE_FORMAT"}
_days: Kept[tuple[str, str, date], str] = Kept(DAYS_KEPT, forget_on=_WRITTEN_WITH)


class ListFormats:
    """A list's amounts and days in the current language and time zone, both looked up once (make
    one per render, inside the request's language and time zone)."""

    def __init__(self) -> None:
        self.language = translation.get_language() or ""
        self.zone = timezone.get_current_timezone()
        self.day_format = formats.get_format("DATE_FORMAT")
        self.decimal_separator = formats.get_format("DECIMAL_SEPARATOR")
        self.grouping = formats.get_format("NUMBER_GROUPING")
        self.thousand_separator = formats.get_format("THOUSAND_SEPARATOR")

    def amount(self, value: Any) -> str:
        """``{{ value|floatformat:"2g" }}``: a Decimal rounded half up to two places, grouped, in
        the language's separators (prm.jinja2._floatformat's short way); anything else Django's."""
        if type(value) is not Decimal or not value.is_finite():
            return floatformat(value, "2g")
        try:
            rounded = value.quantize(_CENT, ROUND_HALF_UP)
        except InvalidOperation:  # more digits than the context holds: Django's way copes
            return floatformat(value, "2g")
        return numberformat.format(
            rounded if rounded else abs(rounded),  # Django writes no sign on a zero
            self.decimal_separator,
            2,
            self.grouping,
            self.thousand_separator,
            force_grouping=True,
            use_l10n=True,
        )

    def whole(self, value: Any) -> str:
        """``{{ value|floatformat:"0g" }}``: a Decimal rounded half up to a whole number, grouped;
        anything else Django's."""
        if type(value) is not Decimal or not value.is_finite():
            return floatformat(value, "0g")
        try:
            rounded = int(value.quantize(_ONE, ROUND_HALF_UP))
        except InvalidOperation:  # more digits than the context holds: Django's way copes
            return floatformat(value, "0g")
        return numberformat.format(
            rounded,
            self.decimal_separator,
            0,
            self.grouping,
            self.thousand_separator,
            force_grouping=True,
            use_l10n=True,
        )

    def count(self, value: int) -> str:
        """``{{ value }}`` of an integer as Django's template engine writes it (``localize``)."""
        return numberformat.format(
            value, self.decimal_separator, None, self.grouping, self.thousand_separator, use_l10n=True
        )

    def day(self, value: Any) -> str:
        """``{{ value|date:"DATE_FORMAT" }}``, an aware datetime in the current time zone first (as
        Django's template engine passes it); "" for None."""
        if value is None or value == "":
            return ""
        local = None
        if isinstance(value, datetime):
            if timezone.is_naive(value):
                return dateformat.format(value, self.day_format)
            local = value.astimezone(self.zone)
            value = local.date()
        elif not isinstance(value, date):
            return ""  # as Django's filter, for a value that is not a date
        key = (self.language, self.day_format, value)
        text = _days.get(key)
        if text is None:
            try:
                text = dateformat.format(value, self.day_format)
            except TypeError:  # a DATE_FORMAT with the time in it: not a day's text, not kept
                return dateformat.format(local or value, self.day_format)
            _days.keep(key, text)
        return text


# The deal list's fixed wording, by language: translated once per language and process, not on
# every request (some 60 messages a page, 5-9 µs each through Django's gettext).
_texts: dict[str, dict[str, Any]] = {}


@receiver(setting_changed)
def _forget_texts(*, setting: str, **kwargs: Any) -> None:
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _texts.clear()


def deal_list_texts() -> dict[str, Any]:
    """The wording of the partner deal list in the current language: the status and stage labels,
    the filters' options (as DealFilterForm has them), the column names (each cell's label when
    the table stacks on a phone) and the conflict badge's."""
    from .forms import DealFilterForm  # the forms import the models, which import this app's parts
    from .models import DealStage, DealStatus

    language = translation.get_language() or ""
    texts = _texts.get(language)
    if texts is None:
        fields = DealFilterForm.base_fields
        texts = {
            "statuses": {value: str(label) for value, label in DealStatus.choices},
            "stages": {value: str(label) for value, label in DealStage.choices},
            "status_options": [(str(value), str(label)) for value, label in fields["status"].choices],
            "stage_options": [(str(value), str(label)) for value, label in fields["stage"].choices],
            "labels": {
                "reference": translation.gettext("Reference"),
                "customer": translation.gettext("Customer"),
                "amount": translation.gettext("Amount"),
                "status": translation.gettext("Status"),
                "stage": translation.gettext("Stage"),
                "close": translation.gettext("Expected close"),
                "protected": translation.gettext("Protected until"),
            },
            "conflict_title": translation.gettext(
                "Another registration may claim this customer. The vendor reviews it; you need to do nothing."
            ),
            "conflict_label": translation.gettext("Possible conflict under review"),
            "strip_label": translation.gettext("Deals by status"),
            "all_label": translation.gettext("All"),
        }
        _texts[language] = texts
    return texts


# A row of the deal list as deals/_deal_rows.html wrote it, by everything that decides what it
# writes: the row itself (every column it prints, its key among them), the language (the
# wording, the formats), the time zone (the protection's day), whether the registrant is shown,
# and the detail URL's prefix. A page's rows are mostly the ones the same people saw a moment
# ago (the list's first page, paging back and forth): each was some 80 µs to write again. Only
# what this actor already read through the list's scope is written from, so a row kept for one
# partner is nothing another could ask for (its key holds the row). Bounded: emptied when full.
ROWS_KEPT = 5_000
_rows: Kept[tuple[Any, ...], str] = Kept(ROWS_KEPT, forget_on=_WRITTEN_WITH)


def deal_rows_html(rows: list[Any], context: dict[str, Any]) -> Markup:
    """The ``<tr>`` of each row (deals.selectors.PartnerDealRow) of the partner deal list, from
    templates/jinja2/deals/_deal_rows.html's ``deal_row`` with ``context`` (``fmt``, the wording of
    deal_list_texts, ``show_registrant``, ``detail_url``), each written once and kept."""
    fmt: ListFormats = context["fmt"]
    shown = (fmt.language, str(fmt.zone), bool(context["show_registrant"]), context["detail_url"].before)
    template = None
    written = []
    for row in rows:
        key = (shown, row)
        html = _rows.get(key)
        if html is None:
            if template is None:  # every row kept already: the template is not even set up
                template = engines["jinja2"].env.get_template("deals/_deal_rows.html").make_module(context)
            html = _rows.keep(key, str(template.deal_row(row)))
        written.append(html)
    return Markup("".join(written))  # noqa: S704 -- each row autoescaped by Jinja2 (prm/jinja2.py)


# --- The review queue (templates/jinja2/deals/_review_rows.html) ---------------------------------
# Its fixed wording, by language: a row printed three of these through gettext (5-9 µs each).
_queue_texts: dict[str, dict[str, Any]] = {}


@receiver(setting_changed)
def _forget_queue_texts(*, setting: str, **kwargs: Any) -> None:
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _queue_texts.clear()


def _as_jinja_writes(message: str) -> Markup:
    """``{{ _(message) }}`` as Jinja2's i18n extension writes it (prm/jinja2.py): the translation,
    taken as markup, formatted with the template's variables (none here)."""
    return Markup(translation.gettext(message)) % {}  # noqa: S704 -- the catalog's own text


def review_queue_texts() -> dict[str, Any]:
    """The review queue's wording in the current language. ``ago``: ``_("%(since)s ago")`` as
    markup, to be formatted with ``{"since": ...}`` (which escapes it), as Jinja2 does."""
    language = translation.get_language() or ""
    texts = _queue_texts.get(language)
    if texts is None:
        texts = {
            "ago": Markup(translation.gettext("%(since)s ago")),  # noqa: S704 -- the catalog's own text
            "conflict": _as_jinja_writes("Possible conflict"),
            "overdue": _as_jinja_writes("overdue"),
            "due_soon": _as_jinja_writes("due soon"),
            "review": translation.gettext("Review"),
            "view": translation.gettext("View"),
        }
        _queue_texts[language] = texts
    return texts


# --- The program's deal list (templates/jinja2/deals/vendor/deal_list.html) ----------------------
_vendor_list_texts: dict[str, dict[str, Any]] = {}


@receiver(setting_changed)
def _forget_vendor_list_texts(*, setting: str, **kwargs: Any) -> None:
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _vendor_list_texts.clear()


def vendor_deal_list_texts() -> dict[str, Any]:
    """The program's deal list's labels in the current language, translated once per language
    and process: the statuses, stages and regions (get_FOO_display, once per row otherwise) and
    the conflict badge."""
    from partners.models import Region  # the models import this app's parts

    from .models import DealStage, DealStatus

    language = translation.get_language() or ""
    texts = _vendor_list_texts.get(language)
    if texts is None:
        texts = {
            "statuses": {value: str(label) for value, label in DealStatus.choices},
            "stages": {value: str(label) for value, label in DealStage.choices},
            "regions": {value: str(label) for value, label in Region.choices},
            "conflict_label": _as_jinja_writes("Possible conflict"),
        }
        _vendor_list_texts[language] = texts
    return texts


# A row of the review queue as deals/_review_rows.html wrote it, by everything that decides what
# it writes: the row itself (every column it prints, its key among them), the time since its
# submission and its deadline's state (both computed for this request), the language (the
# wording, the formats), the time zone (the dates), the review link's prefix and its label. The
# queue's first page is the same rows for every reviewer until one is decided: each was some
# 60 µs to write again. Only what this actor read through the queue's scope is written from,
# and the key holds the row. Bounded: emptied when full.
_queue_rows: Kept[tuple[Any, ...], str] = Kept(ROWS_KEPT, forget_on=_WRITTEN_WITH)


def review_rows_html(rows: list[Any], context: dict[str, Any]) -> Markup:
    """The ``<tr>`` of each row (deals.selectors.ReviewRow) of the review queue, from
    templates/jinja2/deals/_review_rows.html's ``review_row`` with ``context`` (``dates``,
    ``texts``, ``ago``, ``now``, ``due_soon``, ``review_url``, ``action``), each written once and
    kept."""
    dates = context["dates"]
    shown = (dates.language, dates.zone, context["review_url"].before, context["action"])
    now, due_soon, ago = context["now"], context["due_soon"], context["ago"]
    template = None
    written = []
    for row in rows:
        since = ago(row.submitted_at)
        due = row.review_due_at
        sla = None if due is None else "overdue" if due < now else "soon" if due < due_soon else ""
        key = (shown, row, since, sla)
        html = _queue_rows.get(key)
        if html is None:
            if template is None:  # every row kept already: the template is not even set up
                template = engines["jinja2"].env.get_template("deals/_review_rows.html").make_module(context)
            html = _queue_rows.keep(key, str(template.review_row(row, since, sla)))
        written.append(html)
    return Markup("".join(written))  # noqa: S704 -- each row autoescaped by Jinja2 (prm/jinja2.py)


# --- The vendor's pipeline (templates/jinja2/deals/vendor/pipeline.html) --------------------------
_MUTED = ' class="text-body-tertiary"'  # a row with no deals


class PipelineTables:
    """``table(rows, title, show_won=False)``: deals.templatetags.deal_tags.pipeline_table's markup
    (the same text), with the amounts and counts written through one ListFormats and the headings
    translated once per render: six tables of a vendor's pipeline wrote some 200 numbers, each
    looking the language and its formats up again (a fifth of the page's CPU)."""

    def __init__(self, fmt: ListFormats) -> None:
        self.fmt = fmt
        # Messages outside the f-strings: xgettext does not read into one.
        self.deals_label = escape_text(translation.gettext("Deals"))
        self.value_label = escape_text(translation.gettext("Value"))
        self.won_label = escape_text(translation.gettext("Won"))
        self.no_deals = escape_text(translation.gettext("No deals."))

    def __call__(self, rows: Any, title: Any, show_won: bool = False) -> Markup:
        fmt = self.fmt
        cells = []
        for row in rows or ():
            count = _field(row, "count")
            won = _field(row, "won") if show_won else None
            won_text = escape_text(fmt.whole(won)) if won else "—"
            won_cell = (
                f'\n          <td class="text-end text-nowrap">{won_text}</td>'
                if show_won
                else "\n          "
            )
            value_text = escape_text(fmt.whole(_field(row, "value")))
            count_text = escape_text(fmt.count(count) if type(count) is int else formats.localize(count))
            cells.append(
                f"\n        <tr{'' if count else _MUTED}>\n"
                f"          <td>{escape_text(_field(row, 'label'))}</td>\n"
                f'          <td class="text-end">{count_text}</td>\n'
                f'          <td class="text-end text-nowrap">{value_text}</td>'
                f"{won_cell}\n        </tr>"
            )
        if not cells:
            cells.append(
                f'\n        <tr><td colspan="{4 if show_won else 3}" '
                f'class="text-center text-body-secondary small py-3">{self.no_deals}</td></tr>'
            )
        won_heading = f'<th scope="col" class="text-end">{self.won_label}</th>' if show_won else ""
        return Markup(  # noqa: S704 -- every value escaped; the numbers are digits and separators
            '<div class="table-responsive">\n  <table class="table table-sm mb-0 pipeline-table">\n'
            f'    <thead><tr>\n      <th scope="col">{escape_text(title)}</th>\n'
            f'      <th scope="col" class="text-end">{self.deals_label}</th>\n'
            f'      <th scope="col" class="text-end">{self.value_label}</th>\n'
            f"      {won_heading}\n    </tr></thead>\n    <tbody>{''.join(cells)}\n"
            "    </tbody>\n  </table>\n</div>"
        )


def _field(row: Any, name: str) -> Any:
    """``{{ row.name }}``'s lookup: a dict's key, else an attribute ("" when neither)."""
    try:
        return row[name]
    except (TypeError, KeyError, IndexError):
        return getattr(row, name, "")


# A row of the program's deal list as deals/vendor/_deal_rows.html wrote it, by everything that
# decides what it writes: the row itself (every column it prints, its key among them), the
# language (the labels, the formats), the time zone (the dates) and the review link's prefix.
# Only what this actor read through the list's scope is written from, and the key holds the row.
_vendor_rows: Kept[tuple[Any, ...], str] = Kept(ROWS_KEPT, forget_on=_WRITTEN_WITH)


def vendor_deal_rows_html(rows: list[Any], context: dict[str, Any]) -> Markup:
    """The ``<tr>`` of each row (deals.selectors.VendorDealRow) of the program's deal list, from
    templates/jinja2/deals/vendor/_deal_rows.html's ``vendor_deal_row`` with ``context``
    (``dates``, the labels of vendor_deal_list_texts, ``review_url``), each written once and
    kept (some 40 µs a row otherwise)."""
    dates = context["dates"]
    shown = (dates.language, dates.zone, context["review_url"].before)
    template = None
    written = []
    for row in rows:
        key = (shown, row)
        html = _vendor_rows.get(key)
        if html is None:
            if template is None:  # every row kept already: the template is not even set up
                template = (
                    engines["jinja2"].env.get_template("deals/vendor/_deal_rows.html").make_module(context)
                )
            html = _vendor_rows.keep(key, str(template.vendor_deal_row(row)))
        written.append(html)
    return Markup("".join(written))  # noqa: S704 -- each row autoescaped by Jinja2 (prm/jinja2.py)


# --- The vendor lists' filter bars, kept (templates/jinja2/deals/vendor/) -------------------------
# A filter bar is the same markup for every request with the same language, values and options:
# its eight widgets (the product select of every product above all, the partner chooser through its
# own template) were a fifth of the program's deal list's CPU. Each widget is kept per process,
# keyed by its form and field, the language and the value it shows; a tier or product select also
# by the very catalogue object its options came from (deals.selectors.filter_choices: a new object
# once a tier or product changes), stored with it and compared by identity. Not kept: a widget of a
# field with errors, and a partner chooser with a partner in it (it prints that partner's name).
WIDGETS_KEPT = 512
_widgets: OrderedDict[Hashable, tuple[object, Any]] = OrderedDict()
_widgets_lock = threading.Lock()


@receiver(setting_changed)
def _forget_widgets(*, setting: str, **kwargs: Any) -> None:
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS", "FORM_RENDERER"}:
        _widgets.clear()


def _blank(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return not any(value)
    return value in (None, "")


def kept_widget(field: Any) -> Any:
    """``prm.templatetags.prm_forms.widget_html(field)``, kept (see above). The form's
    ``kept_catalogue`` (set by deals.vendor_views._kept_choices) is the object its tier and
    product options came from."""
    from prm.templatetags.prm_forms import widget_html

    value = field.value()
    if field.errors or (field.name == "partner" and not _blank(value)):
        return widget_html(field)
    catalogue = getattr(field.form, "kept_catalogue", None) if field.name in {"tier", "product"} else None
    key = (type(field.form).__name__, field.name, translation.get_language(), repr(value))
    with _widgets_lock:
        entry = _widgets.get(key)
        if entry is not None and entry[0] is catalogue:
            _widgets.move_to_end(key)
            return entry[1]
    html = widget_html(field)
    with _widgets_lock:
        _widgets[key] = (catalogue, html)
        _widgets.move_to_end(key)
        while len(_widgets) > WIDGETS_KEPT:
            _widgets.popitem(last=False)
    return html
