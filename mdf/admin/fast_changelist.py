"""The fund request changelist's common GET (the default list, the status filter, a page) without
Django's template: a page of the admin cost 12-18 ms of CPU, half of it admin/change_list.html
and admin/base.html printed one node at a time, a fifth the ORM building the list's statements.

Here the page is three parts:

* The frame (head, header and user tools, breadcrumbs, navigation sidebar; the footer and the
  icons): Django's own rendering of the page, kept per process for the exact inputs it follows
  from (:func:`frame_key`: the user's name, permissions, role and flags, the language, the time
  zone's offset), with the request's CSP nonce and CSRF tokens put back in. A frame is kept only
  from a page whose middle this module wrote identically for the same request (``capture``), so
  a difference (a new Django, a changed template) means Django's page, never a wrong one.
* The list's reads: the count, the page's keys and its rows as kept statements
  (prm.statements), built through the admin's own scope (fund_request_policy, as
  ``FundRequestAdmin._scoped``): the row-level-security scope and a channel account manager's
  portfolio bind as on Django's path.
* The middle (queue summary, search bar, actions, result table, pagination, filters): written
  here and by mdf/admin/changelist.py with the templates' markup, from a ChangeList whose
  filters, headers and query strings are Django's own code.

Anything else (a search, another filter or ordering, a popup, POST actions, ``?e=1``, messages to
show) is Django's ChangeList as before. tests/mdf/test_admin_fast_changelist.py keeps this page
equal to Django's for each role, query and language it covers.
"""

from __future__ import annotations

import re
import sys
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.contrib.admin.views.main import ALL_VAR, PAGE_VAR, ChangeList
from django.contrib.messages import get_messages
from django.core.paginator import Paginator
from django.db.models import F, Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.defaultfilters import floatformat
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext

from partners.policies import vendor_sees_all
from prm.kept import Kept
from prm.markup import escape
from prm.pagination import COUNT_CAP, Planner, estimated_or_counted
from prm.statements import Prepared, Statement
from prm.tenancy import Actor

from ..models import FundRequest, RequestStatus
from ..policies import fund_request_policy
from . import changelist
from .common import (
    EMPTY,
    AlongRead,
    _available_subquery,
    _date_range,
    _money,
    age,
    filter_choices_reads,
    forget_filter_choices,
    read_filter_choices,
    request_row_labels,
)

# Django admin's own words on the page (its templates' and ModelAdmin's), translated by Django's
# catalog: passed by name so that the project's message extraction leaves them to Django (as
# changelist.DJANGO_MESSAGES). Printed as {% translate %} prints them: not escaped.
DJANGO_TEXTS: dict[str, Any] = {
    "search": "Search",
    "show_all": "Show all",
    "results": ("%(counter)s result", "%(counter)s results"),
    "select_all": "Select all %(total_count)s %(module_name)s",
    "across": "Click here to select the objects across all pages",
    "clear": "Clear selection",
    "run": "Run the selected action",
    "go": "Go",
    "selection": "0 of %(cnt)s selected",
    "selected_all": ("%(total_count)s selected", "All %(total_count)s selected"),
}

# The query parameters this page answers itself; any other (and any repeated) is Django's.
STATUS_PARAM = "status__exact"
COVERED_PARAMS = frozenset({STATUS_PARAM, PAGE_VAR})
_STATUSES = frozenset(RequestStatus.values)
_ORDERING = (F("submitted_at").desc(nulls_last=True), "-pk")


def _listed(actor: Actor, status: str | None) -> QuerySet[FundRequest]:
    """The changelist's rows for ``actor``: the admin's scope (``FundRequestAdmin._scoped``: the
    portal's fund_request_policy over the model's manager) and the status filter's condition
    (ChoicesFieldListFilter: ``status__exact``)."""
    queryset = fund_request_policy.scope(actor, FundRequest._default_manager.get_queryset())
    return queryset if status is None else queryset.filter(status__exact=status)


def _count(actor: Actor, status: str | None) -> QuerySet[FundRequest]:
    # KeysFirstSerialPaginator.count: the first cap + 1 rows' keys, counted.
    return _listed(actor, status).order_by().values_list("pk")[: COUNT_CAP + 1]


def _keys(actor: Actor, status: str | None, bottom: int, top: int) -> QuerySet[FundRequest]:
    return _listed(actor, status).order_by(*_ORDERING).values_list("pk")[bottom:top]


# What the columns print (FundRequestChangeList.get_results: the row, its partner's name and the
# available funds), by the page's keys. The status is not asked again: the keys were read with it.
ROW_FIELDS = (
    "pk",
    "partner_id",
    "reference",
    "title",
    "activity_type",
    "start_date",
    "end_date",
    "status",
    "needs_program_admin",
    "requested_amount",
    "approved_amount",
    "currency",
    "submitted_at",
    "partner__legal_name",
    "available_funds",
)


def _rows(actor: Actor, keys: list[int]) -> QuerySet[FundRequest]:
    return (
        _listed(actor, None)
        .filter(pk__in_ids=keys)
        .order_by()
        .annotate(available_funds=_available_subquery())
        .values_list(*ROW_FIELDS)
    )


def _all_rows(actor: Actor, status: str | None) -> QuerySet[FundRequest]:
    return (
        _listed(actor, status)
        .order_by(*_ORDERING)
        .annotate(available_funds=_available_subquery())
        .values_list(*ROW_FIELDS)
    )


_COUNT = Statement("mdf.admin.fund_request_count", _count, values=("status",), count=True)
_KEYS = Statement("mdf.admin.fund_request_keys", _keys, values=("status",))
_ROWS = Statement("mdf.admin.fund_request_rows", _rows, values=("keys",))
_ALL_ROWS = Statement("mdf.admin.fund_request_all_rows", _all_rows, values=("status",))


class _Partner:
    """A row's partner as its cell prints it (``str(partner)``: Partner.__str__ is its name)."""

    __slots__ = ("legal_name",)

    def __init__(self, legal_name: str) -> None:
        self.legal_name = legal_name

    def __str__(self) -> str:
        return self.legal_name


class ListedRequest:
    """What the changelist's columns (FundRequestAdmin's ``*_display``, the checkbox) read of a
    fund request, from one row of ``_ROWS``; ``str()`` is the model's own."""

    __slots__ = (*(name for name in ROW_FIELDS if name != "partner__legal_name"), "id", "partner", "row")

    def __init__(self, row: tuple) -> None:
        # ROW_FIELDS, in order (tests/mdf/test_admin_fast_changelist_reads.py keeps the two equal):
        # one unpacking, where a setattr per column cost 2 µs a row.
        (
            self.pk,
            self.partner_id,
            self.reference,
            self.title,
            self.activity_type,
            self.start_date,
            self.end_date,
            self.status,
            self.needs_program_admin,
            self.requested_amount,
            self.approved_amount,
            self.currency,
            self.submitted_at,
            partner_name,
            self.available_funds,
        ) = row
        self.partner = _Partner(partner_name)
        self.id = self.pk
        self.row = row

    __str__ = FundRequest.__str__

    # The request it lists, as Model.__eq__ and __hash__ tell a model instance.
    def __eq__(self, other: object) -> bool:
        if isinstance(other, ListedRequest):
            return self.pk == other.pk
        if isinstance(other, Model):
            return other._meta.concrete_model is FundRequest and other.pk == self.pk
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.pk)


class _PageCounter(Paginator):
    """Django's Paginator over a count already read (its page range and number of pages), with
    CappedPaginator's ``more``."""

    def __init__(self, count: int, more: bool, per_page: int) -> None:
        super().__init__(range(count), per_page)
        self.more = more


def _planner_settings(actor: Actor) -> dict[str, str]:
    """KeysFirstSerialPaginator's planner settings for the count and a page's keys: no parallel
    workers; the ordering index walked for the whole program, as WholeProgramIndexWalkMixin
    decides."""
    settings = {"max_parallel_workers_per_gather": "0"}
    if vendor_sees_all(actor):
        settings["enable_sort"] = "off"
    return settings


class FastFundRequestChangeList:
    """Mixed into the admin's ChangeList class for the covered GET: the filters as Django builds
    them (their choices, the "clear all" link), the list read by kept statements.

    Three statements from the filters to the rows: the filters' choices in one, which also sets
    the planner settings (set_config(..., true): this transaction only); the capped count and the
    page's keys in one, which sets them back (planned with them, as a statement is planned before
    it runs); the page's rows, planned without them, as before."""

    _planner: Planner | None = None

    def get_queryset(self: Any, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        self._planner = Planner(**_planner_settings(request.actor))
        reads = filter_choices_reads(request, self.model_admin, self.list_filter)
        along: list[AlongRead] = getattr(request, ALONG_READS, [])
        try:
            along_rows = read_filter_choices(request, reads, self._planner.set_with, along)
            if along_rows is None:
                self._planner.__enter__()  # nothing to read with them: the settings alone
                along_rows = [[] for _ in along]  # none can match a row
            setattr(request, ALONG_ROWS, along_rows)
            (
                self.filter_specs,
                self.has_filters,
                remaining,
                _duplicates,
                self.has_active_filters,
            ) = self.get_filters(request)
        except BaseException:
            self._set_back()  # Django's page follows (a bad filter value): planned as always
            raise
        finally:
            forget_filter_choices(request)
        self.clear_all_filters_qs = self.get_query_string(
            new_params=remaining, remove=self.get_filters_params()
        )
        # Not read: the page's rows come from the statements (get_results).
        return self.root_queryset

    def _set_back(self: Any) -> None:
        if self._planner is not None:
            self._planner.__exit__(None, None, None)

    def get_results(self: Any, request: HttpRequest) -> None:
        try:
            self._get_results(request)
        finally:
            self._set_back()  # only if not yet set back (a list that matches nothing)

    def _count_and_keys(self: Any, actor: Actor, status: str | None, bottom: int) -> tuple[int, list[int]]:
        """The capped count and the keys of the page from ``bottom`` in one statement
        (``SELECT (<count>), ARRAY(<keys>)``, each the kept statement's SQL and values; ARRAY keeps
        the keys in their order), which sets the planner settings back."""
        count = _COUNT.prepare(actor, status=status)
        keys = _KEYS.prepare(actor, status=status, bottom=bottom, top=bottom + self.list_per_page)
        if count.sql is None or keys.sql is None:
            return 0, []  # a list that can match nothing
        counted_sql, counted_params = count.sql, count.params
        if status is None and not fund_request_policy.visible(actor):
            # The whole table (a program-wide role, no filter): past the cap by the estimate.
            counted_sql, counted_params = estimated_or_counted(
                count.sql, count.params, FundRequest._meta.db_table
            )
        both = Prepared(
            f"SELECT ({counted_sql}) AS counted, ARRAY({keys.sql}) AS keys",
            (*counted_params, *keys.params),
            lambda rows: rows,
        )
        [(counted, found)] = self._planner.restore_with(both)
        return counted, [key for (key,) in keys.convert([(key,) for key in found])]

    def _get_results(self: Any, request: HttpRequest) -> None:
        actor = request.actor
        status = self.params.get(STATUS_PARAM)
        per_page = self.list_per_page
        # The page asked for (covered(): a number from 1), within the capped count's pages: the
        # page it turns out to be once counted is that one, or Django's path (InvalidPage).
        asked = min(int(self.page_num), COUNT_CAP // per_page + 1)
        read_from = (asked - 1) * per_page
        counted, read_keys = self._count_and_keys(actor, status, read_from)
        count = min(counted, COUNT_CAP)
        paginator = _PageCounter(count, counted > COUNT_CAP, per_page)
        multi_page = count > per_page
        if multi_page:
            number = paginator.validate_number(self.page_num)  # InvalidPage: Django's path
            bottom = (number - 1) * per_page
            top = bottom + per_page
            if top + paginator.orphans >= count:  # prm.pagination.page_bounds: orphans join
                top = count
            if bottom == read_from and top - bottom <= per_page:
                keys = read_keys[: top - bottom]
            else:
                keys = [key for (key,) in _KEYS.rows(actor, status=status, bottom=bottom, top=top)]
            found = {row[0]: ListedRequest(row) for row in _ROWS.rows(actor, keys=keys)} if keys else {}
            result_list = [found[key] for key in keys if key in found]
        elif count:
            # One page holds them all: read in the list's order (as Django's ChangeList reads a
            # list that fits one page).
            result_list = [ListedRequest(row) for row in _ALL_ROWS.rows(actor, status=status)]
        else:
            result_list = []
        self.paginator = paginator
        self.result_count = count
        self.show_full_result_count = False
        self.show_admin_actions = True
        self.full_result_count = None
        self.result_list = result_list
        self.can_show_all = count <= self.list_max_show_all
        self.multi_page = multi_page


# The admin's reads that come before the list (the queue summary's), as the admin puts them on the
# request (a list of AlongRead), sent with the filters' choices; their rows, put on the request in
# the same order once read.
ALONG_READS = "_mdf_along_reads"
ALONG_ROWS = "_mdf_along_rows"


def fast_changelist_class(base: type[ChangeList]) -> type[ChangeList]:
    return _fast_classes(base)


@lru_cache(maxsize=8)
def _fast_classes(base: type[ChangeList]) -> type[ChangeList]:
    return type(f"Fast{base.__name__}", (FastFundRequestChangeList, base), {})


def covered(request: HttpRequest) -> bool:
    """Whether this module writes the page for ``request``: a GET of the default list, a status
    or a page, nothing else, and no message waiting to be shown."""
    if request.method != "GET":
        return False
    query = request.GET
    for name in query:
        if name not in COVERED_PARAMS or len(query.getlist(name)) != 1:
            return False
    status = query.get(STATUS_PARAM)
    if status is not None and status not in _STATUSES:
        return False
    page = query.get(PAGE_VAR)
    if page is not None and not (page.isdigit() and page == str(int(page)) and int(page) >= 1):
        return False
    return len(get_messages(request)) == 0


# --- The frame ------------------------------------------------------------------------------------
# Frames kept at most (per process; some 50 KB each); past it they are forgotten and captured again.
FRAMES_KEPT = 256
_NONCE = "\x00mdf-nonce\x00"
_CSRF = "\x00mdf-csrf\x00"
_CSRF_VALUE = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
_MIDDLE_START = '<div class="mdf-summary'
_FILTERS = 'id="changelist-filter"'


class _Frame:
    """The page around its middle, each part split at its request's values (the CSP nonce, the
    CSRF tokens): ``head[0] value head[2] value ...``, the values at the odd places."""

    __slots__ = ("head", "tail")

    def __init__(self, head: str, tail: str) -> None:
        self.head, self.tail = _SLOTS.split(head), _SLOTS.split(tail)


_SLOTS = re.compile(f"({re.escape(_NONCE)}|{re.escape(_CSRF)})")
_frames: dict[tuple[Any, ...], _Frame | None] = {}
# Differences from Django's page seen per key; at REFUSALS_KEPT the key is Django's for good.
_refused: dict[tuple[Any, ...], int] = {}
REFUSALS_KEPT = 3


def frame_key(request: HttpRequest) -> tuple[Any, ...]:
    """Everything the frame's markup follows from: the user's name in the header and whether the
    password can be changed; their permissions, role and flags (the sidebar's models and links,
    "change" or "view" in the title); the language; the time zone's offset (``<body>``)."""
    user = request.user
    return (
        user.pk,
        user.get_short_name() or user.get_username(),
        user.has_usable_password(),
        frozenset() if user.is_superuser else frozenset(user.get_all_permissions()),
        getattr(user, "vendor_role", ""),
        user.is_superuser,
        user.is_staff,
        user.is_active,
        get_language(),
        timezone.localtime().utcoffset(),
        hasattr(request, "csp_nonce"),
    )


def _split(html: str) -> tuple[str, str, str] | None:
    """Django's page as (head, middle, tail): the middle is what :func:`middle` writes."""
    start = html.find(_MIDDLE_START)
    filters = html.find(_FILTERS, start)
    if start < 0 or filters < 0:
        return None
    end = html.find("</nav>", filters)
    if end < 0:
        return None
    end += len("</nav>")
    return html[:start], html[start:end], html[end:]


def _nonce(request: HttpRequest) -> str | None:
    nonce = getattr(request, "csp_nonce", None)
    return str(nonce) if nonce is not None else None


def capture(request: HttpRequest, key: tuple[Any, ...], html: str, written: str) -> None:
    """Keep the frame of Django's page ``html`` for ``key`` if this module's middle for the same
    request, ``written``, is Django's; otherwise remember that this key is Django's to render."""
    parts = _split(html)
    if len(_frames) >= FRAMES_KEPT:
        _frames.clear()
        _refused.clear()
    if parts is None or _without_tokens(parts[1]) != _without_tokens(written):
        # Tried again on the next request (an age that turned from "59 minutes" to "1 hour"
        # between the two renderings), given up after a few: Django's page for this key.
        _refused[key] = _refused.get(key, 0) + 1
        if _refused[key] >= REFUSALS_KEPT:
            _frames[key] = None
        return
    head, _middle, tail = parts
    nonce = _nonce(request)
    if nonce:
        head, tail = head.replace(nonce, _NONCE), tail.replace(nonce, _NONCE)
    _frames[key] = _Frame(_without_tokens(head), _without_tokens(tail))


def _without_tokens(html: str) -> str:
    return _CSRF_VALUE.sub(lambda match: f"{match[1]}{_CSRF}{match[2]}", html)


def frame(key: tuple[Any, ...]) -> _Frame | bool | None:
    """The kept frame, None when Django renders this key, False when none is kept yet."""
    return _frames.get(key, False)


_TOKEN = "_mdf_csrf_token"


def _csrf_token(request: HttpRequest) -> str:
    """The page's CSRF token, escaped: one masked token for every form of the page, as Django's
    page prints it (its csrf context processor's token is lazy and read once per rendering);
    masking it costs some 50 µs (32 random characters)."""
    token = getattr(request, _TOKEN, None)
    if token is None:
        token = escape(get_token(request))
        setattr(request, _TOKEN, token)
    return token


def _filled(parts: list[str], request: HttpRequest) -> list[str]:
    """A frame's part (split by _SLOTS) with the request's values in their places: the page is
    then one join, not a copy of it per value replaced and per part added."""
    filled = list(parts)
    for index in range(1, len(parts), 2):
        filled[index] = (_nonce(request) or "") if parts[index] == _NONCE else _csrf_token(request)
    return filled


def page(request: HttpRequest, found: _Frame, middle: str, context: dict[str, Any]) -> HttpResponse:
    """The page: the frame around the middle. Its ``context`` (the changelist and the queue)
    goes to the test client as a template's does (django.test.signals.template_rendered, only
    ever loaded by a test run), so tests read ``response.context["cl"]`` of either path."""
    signals = sys.modules.get("django.test.signals")
    if signals is not None and signals.template_rendered.has_listeners():
        signals.template_rendered.send(sender=_TEMPLATE, template=_TEMPLATE, context=context)
    return HttpResponse("".join((*_filled(found.head, request), middle, *_filled(found.tail, request))))


class _Template:
    """What the test client records of the page's "template" (its name)."""

    name = "admin/mdf/fundrequest/change_list.html"
    origin = None


_TEMPLATE = _Template()


# --- The middle -----------------------------------------------------------------------------------
def middle(request: HttpRequest, cl: ChangeList, context: dict[str, Any]) -> str:
    """admin/mdf/fundrequest/change_list.html's content block from the queue summary to the end of
    the filters, as Django renders it."""
    return "".join(
        (
            _summary(context["queue"]),
            '\n\n  <div id="content-main">\n    \n'
            '        <ul class="object-tools">\n          \n            '
            "\n\n\n  \n\n"  # change_list_object_tools.html, with no "Add" (DecisionAdminMixin)
            "\n          \n        </ul>\n    \n    \n"
            f'    <div class="module{" filtered" if cl.has_filters else ""}" id="changelist">\n'
            '      <div class="changelist-form-container">\n        ',
            _search_form(cl),
            "\n        \n\n",
            '        <form id="changelist-form" method="post" novalidate>',
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{_csrf_token(request)}">\n',
            "        \n\n        \n          ",
            _actions(cl, context) if context["actions_on_top"] else "",
            "\n          ",
            _result_list(cl),
            "\n          ",
            _actions(cl, context) if context["actions_on_bottom"] else "",
            "\n\n        ",
            _pagination(cl),
            "\n        </form>\n      </div>\n      ",
            _filters_block(cl),
        )
    )


# The columns this module writes itself, per row (``_row``); another list_display is
# changelist.result_list's (each column looked up through the admin's machinery).
COLUMNS = (
    "action_checkbox",
    "reference",
    "partner",
    "activity_display",
    "status_display",
    "amount_display",
    "available_display",
    "age_display",
)


def _result_list(cl: ChangeList) -> str:
    """changelist.result_list(cl): its head, and its rows written here for the fund request
    columns with the page's language and moment read once (the admin's methods asked for them
    in every cell: 50-100 µs a row), each row's cells but its age kept (:func:`_cells`)."""
    columns = tuple(cl.list_display)
    if columns not in (COLUMNS, COLUMNS[1:]) or not cl.result_list or not changelist.covered(cl):
        return str(changelist.result_list(cl))
    if tuple(cl.list_display_links) != ("reference", "activity_display"):
        return str(changelist.result_list(cl))
    url = changelist._row_url(cl)
    if url is None:
        return str(changelist.result_list(cl))
    before, after = escape(url[0]), escape(url[1])
    model_admin = cl.model_admin
    language = get_language()
    labels = _row_labels(language)
    now = timezone.now()
    checkbox = columns[0] == "action_checkbox"
    # A row's cells up to its age are kept per process by everything they print (the row's
    # values, the language, the links' query, the checkbox): the same rows come back on every
    # page of a list. Its age, which follows the clock, is written each time.
    page_key = (id(model_admin), language, before, after, checkbox)
    ages: dict[str, str] = {}
    rows = []
    for obj in cl.result_list:
        key = (page_key, obj.row)
        cells = _row_cells.get(key)
        if cells is None:
            cells = _row_cells.keep(key, _cells(obj, model_admin, language, labels, before, after, checkbox))
        age_text = age(obj.submitted_at, now=now, language=language)
        age_cell = ages.get(age_text)
        if age_cell is None:
            age_cell = ages[age_text] = escape(age_text)
        rows.append(f'{cells}<td class="field-age_display">{age_cell}</td></tr>\n')
    return str(changelist.table(cl, "".join(rows), head=_table_head(cl)))


# Rows kept at most (per process; some 1.5 KB each); past it they are forgotten and written again.
ROWS_KEPT = 4096
_row_cells: Kept[tuple[Any, ...], str] = Kept(ROWS_KEPT)


def _cells(
    obj: ListedRequest,
    model_admin: Any,
    language: str | None,
    labels: dict[str, Any],
    before: str,
    after: str,
    checkbox: bool,
) -> str:
    """A row's ``<tr>`` and its cells up to its age, as Django's changelist writes them."""
    pk = obj.pk
    link = f"{before}{pk}{after}"
    status = escape(model_admin.status_display(obj))
    currency = obj.currency
    requested = _escaped_money(obj.requested_amount, currency, language)
    amount = (
        requested
        if obj.approved_amount is None
        else f'{requested}<span class="mdf-sub mdf-approved" title="{labels["approved"]}">'
        f"✓ {_escaped_money(obj.approved_amount, '', language)}</span>"
    )
    activity = labels["escaped_activities"].get(obj.activity_type)
    if activity is None:
        activity = escape(obj.activity_type)
    return (
        "\n<tr>"
        + (
            '<td class="action-checkbox"><input type="checkbox" name="_selected_action" '
            f'value="{escape(str(pk))}" class="action-select" '
            f'aria-label="{labels["checkbox"].format(escape(str(obj)))}"></td>'
            if checkbox
            else ""
        )
        + f'<th class="field-reference"><a href="{link}">{escape(obj.reference)}</a></th>'
        f'<td class="field-partner nowrap">{escape(obj.partner)}</td>'
        f'<td class="field-activity_display"><a href="{link}">{escape(obj.title)}'
        f'<span class="mdf-quiet mdf-sub">{activity} · '
        f"{_escaped_date_range(obj.start_date, obj.end_date, language)}</span></a></td>"
        f'<td class="field-status_display">{status}</td>'
        f'<td class="field-amount_display">{amount}</td>'
        f'<td class="field-available_display">{_available(obj, model_admin, language)}</td>'
    )


# Table heads kept at most (per process); past it they are forgotten and written again.
HEADS_KEPT = 256
_heads: Kept[tuple[Any, ...], str] = Kept(HEADS_KEPT)


def _table_head(cl: ChangeList) -> str:
    """changelist.table_head(cl), kept per what it follows from on the covered GET: the columns
    and their labels (the admin, the language), the ordering (the admin's default: a covered GET
    has no ``o``) and the query each sort link keeps (the status, the page)."""
    key = (
        id(cl.model_admin),
        get_language(),
        tuple(cl.list_display),
        None if cl.sortable_by is None else tuple(cl.sortable_by),
        tuple(sorted(cl.params.items())),
    )
    head = _heads.get(key)
    if head is None:
        head = _heads.keep(key, changelist.table_head(cl))
    return head


def _available(obj: ListedRequest, model_admin: Any, language: str | None) -> str:
    """The available funds cell: the admin's own (``available_display``) when it warns that a
    submitted request asks for more than is available; otherwise the amount, as it prints it."""
    available = obj.available_funds
    if available is None:
        return escape(EMPTY)
    if obj.status == RequestStatus.SUBMITTED and available < obj.requested_amount:
        return escape(model_admin.available_display(obj))
    return _escaped_money(available, obj.currency, language)


# The amounts and date ranges of a page's cells, escaped: the same few on many rows and pages.
@lru_cache(maxsize=16384)
def _escaped_money(amount: Decimal, currency: str, language: str | None) -> str:
    return escape(_money(Decimal(amount), currency, language))


@lru_cache(maxsize=8192)
def _escaped_date_range(start: Any, end: Any, language: str | None) -> str:
    return escape(_date_range(start, end, language))


@lru_cache(maxsize=32)
def _row_labels(language: str | None) -> dict[str, Any]:
    """The words every row prints, in ``language`` (the active one, passed as the key)."""
    from prm.admin import _checkbox_label

    labels = request_row_labels(language)
    return {
        **labels,
        "escaped_activities": {value: escape(label) for value, label in labels["activities"].items()},
        "checkbox": _checkbox_label(language),
    }


# Filter sidebars kept at most (per process); past it they are forgotten and written again.
FILTERS_KEPT = 256
_filters: Kept[tuple[Any, ...], str] = Kept(FILTERS_KEPT)


def _filters_key(cl: ChangeList) -> tuple[Any, ...]:
    """Everything the filter sidebar's markup follows from: the language; the query (each link
    keeps the other parameters; which choice is selected); today in the time zone (the date
    filter's ranges); and each filter's choices read from the database on this request (the
    partners, tiers and periods: a change there is a new key in every process). The rest (the
    titles, the status and activity choices, Yes / No) is the code's, per language."""
    now = timezone.localtime()
    return (
        get_language(),
        tuple(sorted(cl.params.items())),
        now.date(),
        now.utcoffset(),
        str(now.tzinfo),
        cl.add_facets,
        cl.is_facets_optional,
        cl.has_active_filters,
        tuple(
            (type(spec), None if choices is None else tuple(tuple(choice) for choice in choices))
            for spec in cl.filter_specs
            for choices in [getattr(spec, "lookup_choices", None)]
        ),
    )


def _filters_block(cl: ChangeList) -> str:
    """changelist.filters(cl), kept per :func:`_filters_key`: some forty links a page, each
    through the changelist's query string and a translated label."""
    key = _filters_key(cl)
    html = _filters.get(key)
    if html is None:
        html = str(changelist.filters(cl))
        end = html.rfind("</nav>")
        html = html[: end + len("</nav>")] if end >= 0 else html
        _filters.keep(key, html)
    return html


def _summary(queue: dict[str, Any]) -> str:
    total = queue["total"]
    if total:
        oldest = (
            ' <span class="mdf-quiet">· '
            + gettext("the oldest for %(age)s") % {"age": escape(queue["oldest"])}
            + "</span>"
            if queue["oldest"]
            else ""
        )
        escalated = queue["escalated"]
        escalated_link = (
            f'<a href="{escape(queue["escalated_url"])}">'
            + ngettext(
                "%(counter)s above a manager's limit (program admin)",
                "%(counter)s above a manager's limit (program admin)",
                escalated,
            )
            % {"counter": escalated}
            + "</a>"
            if escalated
            else ""
        )
        show_them = gettext("Show them, oldest first")
        counts = (
            "\n    <span><strong>"
            + ngettext(
                "%(counter)s request awaits a decision", "%(counter)s requests await a decision", total
            )
            % {"counter": total}
            + f"</strong>{oldest}</span>\n"
            f'    <a href="{escape(queue["url"])}">{show_them} →</a>\n'
            f"    {escalated_link}\n  "
        )
    else:
        nothing = gettext("Nothing awaits a decision.")
        counts = f"\n    <span><strong>{nothing}</strong></span>\n  "
    limit = f'<span class="mdf-quiet">{escape(queue["limit_text"])}</span>' if queue["limit_text"] else ""
    return f'<div class="mdf-summary{"" if total else " mdf-calm"}">\n  {counts}\n  {limit}\n</div>\n'


# The search bars and pagination kept at most (per process), each per what it follows from.
PARTS_KEPT = 512
_parts: Kept[tuple[Any, ...], str] = Kept(PARTS_KEPT)


def _kept(key: tuple[Any, ...], write: Any, cl: ChangeList) -> str:
    html = _parts.get(key)
    if html is None:
        html = _parts.keep(key, write(cl))
    return html


def _search_form(cl: ChangeList) -> str:
    """:func:`_write_search_form`, kept per the language, the query (its hidden inputs, in their
    order), the search words and the count."""
    key = (
        "search",
        id(cl.model_admin),
        get_language(),
        tuple(cl.params.items()),
        cl.query,
        cl.result_count,
        bool(cl.search_fields),
    )
    return _kept(key, _write_search_form, cl)


def _write_search_form(cl: ChangeList) -> str:
    """templates/admin/search_form.html (the project's, Django's with the icon's text translated)."""
    if not cl.search_fields:
        return "\n\n\n"
    help_attr = ' aria-describedby="searchbar_helptext"' if cl.search_help_text else ""
    count = cl.result_count
    # {% translate %} and {% blocktranslate %} print the translation as it is, the values escaped.
    results = ngettext(*DJANGO_TEXTS["results"], count) % {"counter": count}
    shown = gettext(DJANGO_TEXTS["show_all"])
    search = gettext(DJANGO_TEXTS["search"])
    hidden = "".join(
        f'\n    <input type="hidden" name="{escape(name)}" value="{escape(value)}">\n'
        if name != "q"
        else "\n    \n"
        for name, value in cl.params.items()
    )
    help_text = (
        '\n<br class="clear">\n'
        f'<div class="help" id="searchbar_helptext">{escape(cl.search_help_text)}</div>\n'
        if cl.search_help_text
        else ""
    )
    return (
        f'\n\n\n<div id="toolbar"><form id="changelist-search" method="get" role="search">\n'
        "<div><!-- DIV needed for valid HTML -->\n"
        f'<label for="searchbar"><img src="{escape(static("admin/img/search.svg"))}" '
        f'alt="{search}"></label>\n'
        f'<input type="text" size="40" name="q" value="{escape(cl.query)}" id="searchbar"{help_attr}>\n'
        f'<input type="submit" value="{search}">\n\n'
        f'    <span class="small quiet">{results} (<a href="?">{shown}</a>)</span>\n\n'
        f"{hidden}\n</div>\n{help_text}\n</form></div>\n\n"
    )


@lru_cache(maxsize=64)
def _action_fields(language: str | None, choices: tuple[tuple[str, str], ...], form_class: type) -> str:
    """admin/actions.html's ``actions-form`` block: the action form's fields (fixed per language
    and the actions offered), rendered once by Django's form renderer."""
    form = form_class(auto_id=None)
    form.fields["action"].choices = list(choices)
    return "".join(
        f"<label>{escape(field.label)} {field}</label>" if field.label else str(field) for field in form
    )


def _actions(cl: ChangeList, context: dict[str, Any]) -> str:
    """admin/actions.html."""
    if not (context["action_form"] and cl.show_admin_actions):
        return ""
    choices = tuple((str(value), str(label)) for value, label in context["action_choices"])
    fields = _action_fields(get_language(), choices, type(context["action_form"]))
    texts = {name: gettext(DJANGO_TEXTS[name]) for name in ("across", "clear", "run", "go")}
    counter = ""
    if context["actions_selection_counter"]:
        shown = len(cl.result_list)
        rest = ""
        if cl.result_count != shown:
            select_all = gettext(DJANGO_TEXTS["select_all"]) % {
                "total_count": cl.result_count,
                "module_name": escape(context["module_name"]),
            }
            rest = (
                f'\n        <span class="all hidden">{escape(context["selection_note_all"])}</span>\n'
                '        <span class="question hidden">\n'
                '            <a role="button" href="#" title="'
                f'{texts["across"]}">{select_all}</a>\n'
                "        </span>\n"
                '        <span class="clear hidden"><a role="button" href="#">'
                f"{texts['clear']}</a></span>\n        "
            )
        counter = (
            f'\n        <span class="action-counter" data-actions-icnt="{shown}">'
            f"{escape(context['selection_note'])}</span>\n        {rest}\n    "
        )
    return (
        '\n<div class="actions">\n  \n    \n    '
        f"{fields}\n    \n    \n"
        f'    <button type="submit" class="button" title="{texts["run"]}" '
        f'name="index" value="0">{texts["go"]}</button>\n    \n    \n    '
        f"{counter}\n    \n  \n</div>\n"
    )


def _pagination(cl: ChangeList) -> str:
    """:func:`_write_pagination`, kept per the language, the query (each link keeps it), the page,
    the count and whether there are more."""
    key = (
        "pagination",
        id(cl.model_admin),
        get_language(),
        tuple(sorted(cl.params.items())),
        cl.page_num,
        cl.result_count,
        cl.paginator.more,
        cl.paginator.per_page,
        cl.paginator.orphans,
        cl.show_all,
        cl.can_show_all,
        cl.multi_page,
    )
    return _kept(key, _write_pagination, cl)


def _write_pagination(cl: ChangeList) -> str:
    """templates/admin/pagination.html (Django's, with "more than N" past the cap)."""
    required = (not cl.show_all or not cl.can_show_all) and cl.multi_page
    numbers = ""
    if required:
        paginator = cl.paginator
        links = []
        for number in paginator.get_elided_page_range(cl.page_num):
            if number == paginator.ELLIPSIS:
                link = f"{escape(number)} "
            elif number == cl.page_num:
                link = f'<span class="this-page">{number}</span> '
            else:
                end = ' class="end"' if number == paginator.num_pages else ""
                link = f'<a href="{escape(cl.get_query_string({PAGE_VAR: number}))}"{end}>{number}</a> '
            links.append(f"\n    {link}\n")
        numbers = "\n" + "".join(links) + "\n"
    if cl.paginator.more:
        count = gettext("More than %(count)s %(name)s: filter or search to narrow them") % {
            "count": floatformat(cl.result_count, "0g"),
            "name": escape(cl.opts.verbose_name_plural),
        }
    else:
        name = cl.opts.verbose_name if cl.result_count == 1 else cl.opts.verbose_name_plural
        count = f"{cl.result_count} {escape(name)}"
    show_all = ""
    if cl.can_show_all and not cl.show_all and cl.multi_page:
        label = gettext(DJANGO_TEXTS["show_all"])
        show_all = f'<a href="{escape(cl.get_query_string({ALL_VAR: ""}))}" class="showall">{label}</a>'
    return f'\n\n<p class="paginator">\n{numbers}\n{count}\n{show_all}\n\n</p>\n'
