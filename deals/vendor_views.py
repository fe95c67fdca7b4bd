"""The vendor console for deals and leads: the review queue with its SLA, review with the conflict
evidence, all deals, pipeline reporting, and lead creation, import and distribution. Thin: parse
input with a form, call a selector or a service, render."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page
from django.db import connection
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import engines
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import json_script
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from partners import selectors as partner_selectors
from partners.models import PartnerStatus
from partners.policies import vendor_sees_all
from prm import audit
from prm.errors import attempt
from prm.jinja2 import kept_gettext, page_gettext, render_page, url_with_pk
from prm.layout import page_url
from prm.money import format_amount
from prm.pagination import Planner, page_bounds
from prm.statements import Prepared
from prm.templatetags.prm_pagination import pagination
from prm.timesince import TimeSince
from prm.views import (
    PAGE_SIZE,
    CappedKeysFirstPaginator,
    KeysFirstPaginator,
    paginate,
    querystring_without_page,
    start_export,
    vendor_required,
)

from . import leads, pricing, selectors, services
from . import pipeline as pipeline_figures
from .dates import Dates
from .forms import (
    ConfirmWonForm,
    ConflictResolveForm,
    ExtensionDecisionForm,
    LeadAssignForm,
    LeadFilterForm,
    LeadForm,
    LeadImportForm,
    PipelineFilterForm,
    ReasonForm,
    ReviewQueueFilterForm,
    VendorDealFilterForm,
)
from .models import ConflictResolution, DealStatus, ExtensionStatus, LeadStatus
from .policies import REVIEWER_ROLES, deal_policy, lead_policy
from .rendering import (
    ListFormats,
    PipelineTables,
    kept_widget,
    review_queue_texts,
    review_rows_html,
    vendor_deal_list_texts,
    vendor_deal_rows_html,
)
from .views import chart_data, form_error_text, pipeline_tables

# A review is "due soon" when its SLA ends within this time.
DUE_SOON = timedelta(hours=24)
MATCH_LABELS = {
    "domain": gettext_lazy("website domain"),
    "company name": gettext_lazy("company name"),
    "products": gettext_lazy("products"),
}


def _kept_choices(form: Any) -> Any:
    """``form`` (a deal list's or the pipeline's filters) with its tier and product options from
    deals.selectors.filter_choices: the same options, without two queries a request."""
    choices = selectors.filter_choices(type(form))
    for name in ("tier", "product"):
        field = form.fields[name]
        field.widget.choices = [("", field.empty_label), *choices[name]]
    form.kept_catalogue = choices  # what those widgets' options came from (rendering.kept_widget)
    return form


def _partners(actor: Any) -> Any:
    # What a partner filter may choose from; looked up by id or name, never listed whole.
    return partner_selectors.partner_choices(actor=actor)


def _selective(request: HttpRequest, form: Any) -> bool:
    """Whether the list holds few deals (a search, one partner, a channel account manager's
    portfolio): see prm.views.paginate. Walking the queue's index through a portfolio of 500
    partners out of 10,000 took seconds (18 s on page 200)."""
    filters = form.filters()
    return bool(filters.get("q") or filters.get("partner") or not vendor_sees_all(request.actor))


def _body(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    body_only: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    **values: Any,
) -> str:
    """A vendor page's body, rendered by Jinja2 (templates/jinja2/``template_name``); ``values``:
    what the body gets beyond ``context`` (its CSRF input, say: rendered without the request, the
    body gets only what it is given). ``body_only(values)``: more values for the body alone, made
    from its own (written rows, say)."""
    values = {
        # The filter bar's widgets, kept per process for the same values and options.
        "widget": kept_widget,
        "pagination": pagination,
        "dates": Dates(),
        # The body's fixed messages, translated once per language (prm.jinja2.kept_gettext).
        "_": kept_gettext,
        "gettext": kept_gettext,
        **context,
        **values,
    }
    if body_only is not None:
        values.update(body_only(values))
    if "csrf_input" in values:
        return engines["jinja2"].get_template(template_name).render(values)
    return engines["jinja2"].get_template(template_name).render(values, request=request)


def _render_body(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    body_only: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    **frame: Any,
) -> HttpResponse:
    """A vendor page whose body Jinja2 renders (templates/jinja2/``template_name``) inside its
    Django page (templates/``template_name``: the layout, the title, the scripts; ``frame`` is
    what those need). Through Django's engine the body, its filter bar's widgets above all, was
    three quarters of the page's CPU (25-30 ms a request)."""
    body = _body(request, template_name, context, body_only=body_only)
    # Jinja2 autoescaped every value (prm/jinja2.py); Django's safe strings stayed as they were.
    # The page gets the body's context too, unused by it: tests read it from the response.
    return render(request, template_name, {**context, **frame, "body": mark_safe(body)})  # noqa: S308


# --- Review queue -------------------------------------------------------------------------------
@vendor_required
def review_queue(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    form = ReviewQueueFilterForm(request.GET or None, partners=_partners(actor))
    filters = form.filters()
    now = timezone.now()
    paginator = _kept_list(
        request,
        form,
        filters,
        lambda: selectors.review_queue(actor=actor, filters=filters),
        selectors.REVIEW_QUEUE,
        selectors.ReviewRow,
    )
    # The side panel (the six oldest extension requests and how many wait) and the wins waiting,
    # read in the statement that sets the list's planner settings.
    waiting, pending_count, won_waiting = selectors.review_queue_side(
        actor=actor, limit=6, send=paginator.read_before
    )
    # The panel's deals are read with the page's rows (the side's statement reads their keys).
    paginator.also_keys = [extension.deal_id for extension in waiting]
    page = paginator.get_page(request.GET.get("page"))
    shown = paginator.also_rows
    pending = [
        extension.shown(shown[extension.deal_id]) for extension in waiting if extension.deal_id in shown
    ]
    may_review = actor.vendor_role in REVIEWER_ROLES
    context = {
        "form": form,
        # Capped counts: the queue and the program's deals can be a million rows.
        "page": page,
        "querystring": querystring_without_page(request),
        "pending_extensions": pending,
        "pending_extension_count": pending_count,
        "won_waiting_count": won_waiting,
        "queue_url": page_url("deals:review_queue"),
        "all_deals_url": page_url("deals:vendor_list"),
        # templates/jinja2/deals/_review_rows.html, the queue's rows
        **_review_rows_context(page.object_list, now=now, may_review=may_review),
    }
    return render_page(request, "deals/vendor/review_queue.html", _review_queue_values(context))


def _review_queue_values(context: dict[str, Any]) -> dict[str, Any]:
    """What the review queue's page (templates/jinja2/deals/vendor/review_queue.html, a page
    written in Jinja2: its Django frame around the Jinja2 body was a sixth of the page's CPU, its
    CSRF token masked three times) prints, beside ``context``: what a vendor body gets (_body)
    and the queue's rows, written."""
    values = {
        "widget": kept_widget,
        "pagination": pagination,
        "dates": Dates(),
        # The page's fixed messages, translated and written once per language (prm.jinja2.page_gettext).
        "_": (gettext := page_gettext()),
        "gettext": gettext,
        **context,
    }
    values["queue_rows"] = review_rows_html(values["deals"], values)
    return values


def _review_rows_context(deals: list[Any], *, now: Any, may_review: bool) -> dict[str, Any]:
    """What the queue's ``<tr>`` rows (templates/jinja2/deals/_review_rows.html) need: through
    Django's engine, five dates, a time-since and two links per row were most of the page's
    rendering. The wording is translated once per language (rendering.review_queue_texts), the
    time since a moment through Django's own ``timesince`` with its units translated once per
    render (prm.timesince.TimeSince)."""
    texts = review_queue_texts()
    since = TimeSince(now)
    return {
        "deals": deals,
        "now": now,
        "due_soon": now + DUE_SOON,
        "since": since,
        "ago": lambda value: texts["ago"] % {"since": since(value)},
        "texts": texts,
        "review_url": url_with_pk("deals:review_detail"),
        "action": texts["review"] if may_review else texts["view"],
    }


@vendor_required
def won_queue(request: HttpRequest) -> HttpResponse:
    """Wins reported above the registered amount or outside the approved window: nothing accrues
    from them until a reviewer confirms (or corrects) them here, or turns them down."""
    actor = request.actor
    form = ReviewQueueFilterForm(request.GET or None, partners=_partners(actor))
    page = paginate(
        request,
        selectors.won_queue(actor=actor, filters=form.filters()),
        capped=True,
        keys_first=True,
        selective=_selective(request, form),
    )
    for deal in page.object_list:
        deal.above_registered_percent = (
            round((deal.won_amount - deal.amount) * 100 / deal.amount) if deal.amount else None
        )
    return render(
        request,
        "deals/vendor/won_queue.html",
        {
            "form": form,
            "page": page,
            "querystring": querystring_without_page(request),
            "may_review": actor.vendor_role in REVIEWER_ROLES,
        },
    )


@vendor_required
def review_queue_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "deals.review_queue")


# --- All deals ----------------------------------------------------------------------------------
class VendorDealListPaginator(CappedKeysFirstPaginator):
    """The program's deal lists (all deals, the admin changelist): capped counts and a page's
    keys first, without PostgreSQL's JIT compiler or parallel workers.

    Row-level security makes PostgreSQL expect one row, so the walk of the ordering index that
    stops after a page is costed as if it read the whole index (229,000): over the threshold
    where PostgreSQL compiles the statement (JIT, 90-120 ms every time), and worth two parallel
    workers (20-30 ms to start). The statement itself reads a hundred keys in 0.1-2 ms."""

    @cached_property
    def count(self) -> int:
        # As CappedPaginator.count (serial: see there), without JIT.
        with Planner(jit="off", max_parallel_workers_per_gather="0"):
            counted = self.object_list.order_by()[: self.cap + 1].count()
        self.more = counted > self.cap
        return min(counted, self.cap)

    def page_keys(self, bottom: int, top: int) -> list[Any]:
        if not self.walk_index:
            # A search, one partner or a portfolio: its keys are read and sorted as before (that
            # statement is costed below the JIT threshold; no setting to pay for).
            return KeysFirstPaginator.page_keys(self, bottom, top)
        # Sorting as the last resort: see CappedKeysFirstPaginator.page_keys.
        with Planner(enable_sort="off", jit="off", max_parallel_workers_per_gather="0"):
            return KeysFirstPaginator.page_keys(self, bottom, top)


class KeptListPaginator(VendorDealListPaginator):
    """A page of the review queue or the program's deal list from kept statements
    (deals.selectors.ListStatements): the capped count, the page's keys and those rows, each the
    ORM's SQL compiled once per shape; the rows are tuples of ``row``'s type. The planner settings
    (no JIT, no parallel workers, and for the index walk no sort: see VendorDealListPaginator) are
    set once for the count and the keys together (alone, or with a read of the page before the
    list's: :meth:`read_before`), and set back in the statement that reads the rows. The count and
    the page's keys are one statement (:meth:`_count_and_keys`): a page is three round trips.

    Where ``filters`` is None (a filter the statements do not take: a search, dates) the count and
    the keys come from ``object_list``, the list's queryset, as VendorDealListPaginator reads them;
    the rows still from the kept statement.

    A channel account manager's whole list (``selective``: the portfolio's deals are read and
    sorted) is read by a bounded walk of the date index instead where the maintained figures say
    the walk is cheap: see :meth:`_plan_walk`."""

    def __init__(
        self,
        object_list: Any,
        per_page: int,
        *,
        actor: Any,
        statements: selectors.ListStatements,
        row: Any,
        filters: dict[str, Any] | None,
        selective: bool,
    ) -> None:
        # ``object_list``: the list's queryset, or a callable that builds it when first asked for
        # (with the kept statements, a page never needs it: building it was 0.3 ms a request).
        self._listing = object_list if callable(object_list) else None
        super().__init__(None if callable(object_list) else object_list, per_page)
        self.actor, self.statements, self.row, self.filters = actor, statements, row, filters
        self.walk_index = not selective
        # Keys of more rows to read with the page's (the review queue's panel's deals): their rows
        # are ``also_rows`` once the page is read.
        self.also_keys: list[Any] = []
        self.also_rows: dict[Any, Any] = {}
        self._settings_held: Planner | None = None
        self._set_before: Planner | None = None  # settings set by read_before, not yet used
        # Where the page's keys are read by a bounded walk of the date index (:meth:`_plan_walk`):
        # the moment the walk stops at, or None.
        self._walk_since: datetime | None = None

    @property
    def object_list(self) -> Any:
        if self._object_list is None and self._listing is not None:
            self._object_list = self._listing()
        return self._object_list

    @object_list.setter
    def object_list(self, value: Any) -> None:
        self._object_list = value

    def _check_object_list_is_ordered(self) -> None:
        # The list is in its statements' order; Django's check would build the queryset to ask it.
        if self._listing is None:
            super()._check_object_list_is_ordered()

    def _planner(self) -> Planner:
        wanted = {"jit": "off", "max_parallel_workers_per_gather": "0"}
        if self.walk_index or self._walk_since is not None:
            wanted["enable_sort"] = "off"
        return Planner(**wanted)

    def read_before(self, statement: Prepared) -> list[tuple]:
        """``statement``'s rows (a read of the page that comes before the list's), read in the
        statement that sets the list's planner settings: one round trip less. The settings then
        hold until the page's rows are read (:meth:`get_page`)."""
        self._set_before = self._planner()
        return self._set_before.set_with(statement)

    @contextmanager
    def _settings(self) -> Iterator[Planner]:
        if self._settings_held is not None:
            yield self._settings_held
            return
        planner, self._set_before = self._set_before or self._planner(), None
        with planner:
            self._settings_held = planner
            try:
                yield planner
            finally:
                self._settings_held = None

    @cached_property
    def count(self) -> int:
        with self._settings():
            if self.filters is None:
                counted = self.object_list.order_by()[: self.cap + 1].count()
            else:
                counted = self.statements.count.count(self.actor, **self.filters)
        self.more = counted > self.cap
        return min(counted, self.cap)

    def get_page(self, number: Any) -> Page:
        # The count, the keys and the rows under one set of planner settings (set once, set back once).
        # Settings already set (read_before, or a read in progress) stay as they are.
        if (
            self.filters is not None
            and "count" not in self.__dict__
            and self._settings_held is None
            and self._set_before is None
        ):
            self._walk_since = self._plan_walk(self._asked(number))
        with self._settings():
            if self.filters is not None and "count" not in self.__dict__:
                self._count_and_keys(number)
            return super().get_page(number)

    def _asked(self, number: Any) -> int:
        """Page ``number`` as asked, within the capped count's pages."""
        try:
            # Past the capped count's last page there is no page to ask for (and an OFFSET past
            # PostgreSQL's bigint would fail): such a number is read as Django turns it.
            return min(max(1, int(number)), self.cap // self.per_page + 1)
        except (TypeError, ValueError, OverflowError):
            return 1

    def _plan_walk(self, asked: int) -> datetime | None:
        """For a channel account manager's whole list (no filter), newest first: where a walk of
        the program's date index (deal_recent_idx) for page ``asked`` may stop, if the maintained
        figures say it reads few entries beside the portfolio's deals, which the plan without it
        reads and sorts, all of them (58,000 at full size, 30-45 ms); else None. The figures only
        steer: the walk stops at the start of the month they point to, and a walk that finds
        fewer keys than the page holds is read again the old way (:meth:`_count_and_keys`)."""
        if self.walk_index or self.statements.walked_keys is None or any(self.filters.values()):
            return None
        months = selectors.portfolio_months(self.actor)
        return None if months is None else selectors.walk_bound(months, asked * self.per_page)

    def _sorted_keys(self, bottom: int, top: int) -> list[Any]:
        """The keys of rows ``[bottom:top]`` as read without the walk: with sorting allowed again
        where the walk's settings forbade it (without a bound, the walk could read the program's
        million deals)."""
        if self._walk_since is None:
            kept = self.statements.keys.rows(self.actor, bottom=bottom, top=top, **self.filters)
        else:
            with Planner(enable_sort="on"):
                kept = self.statements.keys.rows(self.actor, bottom=bottom, top=top, **self.filters)
        return [key for (key,) in kept]

    def _count_and_keys(self, number: Any) -> None:
        """The capped count and the keys of page ``number`` (as asked: the page it turns out to be
        once counted is almost always that one) in one statement, where they were two round trips
        a request: ``SELECT (<count>), ARRAY(<keys>)``, each the kept statement's own SQL and
        values. ``ARRAY`` keeps the keys in the order the keys statement reads them."""
        bottom = (self._asked(number) - 1) * self.per_page
        top = bottom + self.per_page
        count = self._count_statement()
        if self._walk_since is not None and self.statements.walked_keys is not None:
            keys = self.statements.walked_keys.prepare(
                self.actor, bottom=bottom, top=top, since=self._walk_since, **self.filters
            )
        else:
            keys = self.statements.keys.prepare(self.actor, bottom=bottom, top=top, **self.filters)
        if count.sql is None or keys.sql is None:
            return  # a list that can match nothing: the count says so without a round trip
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT ({count.sql}), ARRAY({keys.sql})", (*count.params, *keys.params))
            counted, found = cursor.fetchone()
        self.more = counted > self.cap
        self.__dict__["count"] = min(counted, self.cap)  # the cached_property, filled
        read = [key for (key,) in keys.convert([(key,) for key in found])]
        if self._walk_since is not None and len(read) < min(top, counted) - bottom:
            # The walk stopped at its bound short of the page (the figures were stale, or the
            # page is past the list's end): the page's keys are read the old way.
            read = self._sorted_keys(bottom, top)
        self._read_keys = (bottom, read)

    def _count_statement(self) -> Prepared:
        """The list's capped count, unsent: from the maintained figures where they hold the list's
        exact length (ListStatements.count_from_figures), else the kept count statement."""
        if self.statements.count_from_figures is not None:
            counted = self.statements.count_from_figures(self.actor, **self.filters)
            if counted is not None:
                return counted
        return self.statements.count.prepare(self.actor, **self.filters)

    def page(self, number: Any) -> Page:
        with self._settings() as planner:
            number, bottom, top = page_bounds(self, number)
            read = getattr(self, "_read_keys", None)
            if top <= bottom:
                keys = []
            elif read is not None and read[0] == bottom:
                keys = read[1][: top - bottom]
            elif self.filters is None:
                keys = KeysFirstPaginator.page_keys(self, bottom, top)
            else:
                keys = self._sorted_keys(bottom, top)
            # The rows are the last read under the settings: they are set back in the same statement.
            listed = set(keys)
            wanted = [*keys, *(key for key in self.also_keys if key not in listed)]
            statement = self.statements.rows.prepare(self.actor, keys=wanted) if wanted else None
            found = planner.restore_with(statement) if statement is not None else []
        rows = {row[0]: self.row._make(row) for row in found}
        self.also_rows = {key: rows[key] for key in self.also_keys if key in rows}
        return self._get_page([rows[key] for key in keys if key in rows], number, self)


def _kept_list(
    request: HttpRequest,
    form: Any,
    filters: dict[str, Any],
    listing: Callable[[], Any],
    statements: selectors.ListStatements,
    row: Any,
) -> KeptListPaginator:
    """A vendor deal list's paginator over its kept ``statements`` with the form's ``filters``.
    ``listing`` builds the list's queryset if asked for: what the page reads where the kept
    statements cannot (a search), and the whole list for whoever asks the paginator for it."""
    actor = request.actor
    return KeptListPaginator(
        listing,
        PAGE_SIZE,
        actor=actor,
        statements=statements,
        row=row,
        filters=selectors.kept_filters(actor, filters, statements.filters),
        selective=_selective(request, form),
    )


@vendor_required
def vendor_deal_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    form = _kept_choices(VendorDealFilterForm(request.GET or None, partners=_partners(actor)))
    filters = form.filters()
    paginator = _kept_list(
        request,
        form,
        filters,
        lambda: selectors.deal_list(actor=actor, filters=filters),
        selectors.VENDOR_DEALS,
        selectors.VendorDealRow,
    )
    count = selectors.vendor_deal_count(actor=actor, filters=filters)
    if count is not None:
        # As the capped count would say it (deals.selectors.vendor_deal_count is exact).
        paginator.count, paginator.more = min(count, paginator.cap), count > paginator.cap
    return _render_body(
        request,
        "deals/vendor/deal_list.html",
        {
            "form": form,
            "page": paginator.get_page(request.GET.get("page")),
            "querystring": querystring_without_page(request),
            "pipeline_querystring": _pipeline_querystring(form),
            "list_url": reverse("deals:vendor_list"),
            "review_url": url_with_pk("deals:review_detail"),
            **vendor_deal_list_texts(),
        },
        body_only=lambda values: {"deal_rows": vendor_deal_rows_html(values["page"].object_list, values)},
    )


def _pipeline_querystring(form: VendorDealFilterForm) -> str:
    """The list's filters as the pipeline takes them: its dates are whole months, its figures
    know no search, status or stage."""
    filters = form.filters()
    params = {name: filters[name] for name in ("partner", "tier", "region", "product") if name in filters}
    for day, month in (("created_from", "month_from"), ("created_to", "month_to")):
        if filters.get(day):
            params[month] = filters[day].strftime("%Y-%m")
    return urlencode(params)


@vendor_required
def vendor_deal_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "deals.vendor_deals")


# --- Review -------------------------------------------------------------------------------------
@vendor_required
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    may_review = deal_policy.can(actor, "review", deal)
    lines = list(deal.lines.all())
    # Unusual prices are pointed out to the reviewer, not refused (deals.pricing).
    price_warnings = pricing.line_price_warnings(lines, deal_currency=deal.currency)
    for line in lines:
        line.price_warning = price_warnings.get(line.pk, "")
    conflicts = selectors.conflicts_for(actor=actor, deal=deal)
    for conflict in conflicts:
        conflict.similarity_percent = round(conflict.name_similarity * 100)
        conflict.score_percent = round(conflict.score * 100)
        conflict.matched_labels = [MATCH_LABELS.get(reason, reason) for reason in conflict.matched_on]
        conflict.other_lines = list(conflict.conflicting_deal.lines.all())
    extension_requests = list(selectors.extension_requests(actor=actor, deal=deal))
    now = timezone.now()
    return render(
        request,
        "deals/vendor/review_detail.html",
        {
            "deal": deal,
            "lines": lines,
            "price_warnings": len(price_warnings),
            "conflicts": conflicts,
            "open_conflicts": sum(1 for c in conflicts if c.resolution == ConflictResolution.OPEN),
            "may_review": may_review,
            "may_decide": may_review and deal.status == DealStatus.SUBMITTED,
            "may_decide_won": deal_policy.can(actor, "decide_won", deal),
            "confirm_won_form": ConfirmWonForm(
                initial={"won_amount": deal.won_amount, "closed_on": deal.closed_on}
            ),
            "won_tolerance_percent": settings.PRM["WON_AMOUNT_TOLERANCE_PERCENT"],
            "extension_requests": extension_requests,
            "pending_extension": next(
                (e for e in extension_requests if e.status == ExtensionStatus.PENDING), None
            ),
            "history": list(audit.history_for(target=deal)[:50]),
            "reason_form": ReasonForm(),
            "now": now,
            "due_soon": now + DUE_SOON,
            "protection_days": settings.PRM["DEAL_PROTECTION_DAYS"],
        },
    )


@require_POST
@vendor_required
def deal_approve(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    done, approved = attempt(request, lambda: services.deal_approve(actor=actor, deal=deal))
    if not done:
        return redirect("deals:review_detail", pk=deal.pk)
    messages.success(
        request,
        _("Deal %(ref)s approved: %(partner)s is protected until %(date)s.")
        % {
            "ref": approved.reference,
            "partner": approved.partner.legal_name,
            "date": date_format(timezone.localdate(approved.protection_expires_at), "DATE_FORMAT"),
        },
    )
    return redirect("deals:review_queue")


def _decide_with_reason(request: HttpRequest, pk: int, service: Any, success: str) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the partner a reason."))
        return redirect("deals:review_detail", pk=deal.pk)
    done, _result = attempt(
        request, lambda: service(actor=actor, deal=deal, reason=form.cleaned_data["reason"])
    )
    if done:
        messages.success(request, success % {"ref": deal.reference})
    return redirect("deals:review_detail", pk=deal.pk)


@require_POST
@vendor_required
def deal_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide_with_reason(
        request, pk, services.deal_reject, _("Deal %(ref)s rejected; the partner was told why.")
    )


@require_POST
@vendor_required
def deal_return(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide_with_reason(
        request,
        pk,
        services.deal_return_for_info,
        _("Deal %(ref)s returned to the partner for more information."),
    )


@require_POST
@vendor_required
def deal_confirm_won(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    form = ConfirmWonForm(request.POST, deal=deal)
    if not form.is_valid():
        messages.error(request, form_error_text(form))
        return redirect("deals:review_detail", pk=deal.pk)
    done, confirmed = attempt(
        request,
        lambda: services.deal_confirm_won(
            actor=actor,
            deal=deal,
            won_amount=form.cleaned_data["won_amount"],
            closed_on=form.cleaned_data["closed_on"],
            note=form.cleaned_data["note"],
        ),
    )
    if not done:
        return redirect("deals:review_detail", pk=deal.pk)
    messages.success(
        request,
        _("Deal %(ref)s confirmed won at %(amount)s %(currency)s on %(date)s; the partner was told.")
        % {
            "ref": confirmed.reference,
            "amount": format_amount(confirmed.won_amount, confirmed.currency),
            "currency": confirmed.currency,
            "date": date_format(confirmed.closed_on, "DATE_FORMAT"),
        },
    )
    return redirect("deals:won_queue")


@require_POST
@vendor_required
def deal_reject_won(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the partner a reason."))
        return redirect("deals:review_detail", pk=deal.pk)
    done, _result = attempt(
        request, lambda: services.deal_reject_won(actor=actor, deal=deal, reason=form.cleaned_data["reason"])
    )
    if not done:
        return redirect("deals:review_detail", pk=deal.pk)
    messages.success(
        request,
        _("The win on deal %(ref)s was turned down; the partner was told why.") % {"ref": deal.reference},
    )
    return redirect("deals:won_queue")


@require_POST
@vendor_required
def conflict_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    conflict = selectors.conflict_get(actor=actor, pk=pk)
    form = ConflictResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether the conflict is dismissed or upheld."))
    else:
        resolution = form.cleaned_data["resolution"]
        done, _result = attempt(
            request, lambda: services.conflict_resolve(actor=actor, conflict=conflict, resolution=resolution)
        )
        if done:
            messages.success(
                request,
                _("Conflict dismissed: it no longer blocks approval.")
                if resolution == ConflictResolution.DISMISSED
                else _("Conflict upheld. Reject the deal, or return it to the partner with an explanation."),
            )
    return redirect("deals:review_detail", pk=conflict.deal_id)


@require_POST
@vendor_required
def extension_decide(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    extension = selectors.extension_get(actor=actor, pk=pk)
    form = ExtensionDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to approve or reject the extension."))
        return redirect("deals:review_detail", pk=extension.deal_id)
    approve = form.cleaned_data["decision"] == "approve"
    done, _result = attempt(
        request,
        lambda: services.extension_decide(
            actor=actor, extension=extension, approve=approve, reason=form.cleaned_data["reason"]
        ),
    )
    if done:
        messages.success(
            request,
            (
                _("Extension approved for deal %(ref)s.")
                if approve
                else _("Extension for deal %(ref)s rejected.")
            )
            % {"ref": extension.deal.reference},
        )
    return redirect("deals:review_detail", pk=extension.deal_id)


# --- Pipeline -----------------------------------------------------------------------------------
# The ranking of partners is shown a page at a time (10,000 partners made a 2.9 MB page).
PARTNERS_PER_PAGE = 25


def _partners_page(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("partners_page") or 1), 10_000))
    except ValueError:
        return 1


# Where the kept pipeline body takes the request's own CSRF input (deals.pipeline.kept_vendor_page
# keeps bodies that name no one); a control character no value of the page can hold.
_CSRF_SLOT = "\x1fcsrf-input\x1f"
_CSRF_SLOT_MARKUP = mark_safe(_CSRF_SLOT)  # noqa: S308 -- a constant of this module


@vendor_required
def pipeline(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    form = _kept_choices(PipelineFilterForm(request.GET or None, partners=_partners(actor)))
    partners_page = _partners_page(request)
    partner_q = request.GET.get("partner_q", "")[:100]
    filters = form.filters()
    offset = (partners_page - 1) * PARTNERS_PER_PAGE

    def build(report: dict[str, Any]) -> tuple[dict[str, Any], str]:
        context = _pipeline_context(request, form, report, partners_page, partner_q)
        body = _body(request, "deals/vendor/pipeline.html", context, csrf_input=_CSRF_SLOT_MARKUP)
        # What is kept holds no object of this request (the form is the next request's own).
        return {name: value for name, value in context.items() if name != "form"}, body

    # A search of the ranking, or a partner chosen (the chooser prints that partner's name, read
    # through the form), is made for this request alone; any other page is kept while what it shows
    # is unchanged (deals.pipeline.kept_vendor_page).
    if partner_q.strip() or any(key.startswith("partner") and key != "partners_page" for key in request.GET):
        context, body = build(
            selectors.pipeline_report(
                actor=actor,
                filters=filters,
                partners=PARTNERS_PER_PAGE,
                partners_offset=offset,
                partner_search=partner_q,
            )
        )
    else:
        shown = (
            translation.get_language(),
            timezone.get_current_timezone_name(),
            request.user.is_staff,
            sorted((key, tuple(values)) for key, values in request.GET.lists()),
        )
        context, body = pipeline_figures.kept_vendor_page(
            actor=actor,
            filters=filters,
            partners=PARTNERS_PER_PAGE,
            partners_offset=offset,
            shown=shown,
            catalogue=selectors.filter_choices(PipelineFilterForm),
            build=build,
        )
    body = body.replace(_CSRF_SLOT, str(csrf_input(request)))
    # The page gets the body's context too, unused by it: tests read it from the response.
    return render(
        request,
        "deals/vendor/pipeline.html",
        {**context, "form": form, "total_count": context["total_count"], "body": mark_safe(body)},  # noqa: S308
    )


def _pipeline_context(
    request: HttpRequest, form: PipelineFilterForm, report: dict[str, Any], partners_page: int, partner_q: str
) -> dict[str, Any]:
    tables = pipeline_tables(report, with_drafts=False)
    matches = report["partner_matches"]
    pages = max(1, -(-matches // PARTNERS_PER_PAGE))
    keep = [
        (key, value)
        for key, values in request.GET.lists()
        for value in values
        if value and key not in {"partners_page", "partner_q"}
    ]
    total_count = sum(row["count"] for row in tables["by_status"])
    fmt = ListFormats()  # the language's number formats, looked up once for the page's numbers
    return {
        **tables,
        "pipeline_url": reverse("deals:vendor_pipeline"),
        "is_staff": request.user.is_staff,
        "table": PipelineTables(fmt),
        "fmt": fmt,
        "json_script": json_script,
        "form": form,
        "querystring": querystring_without_page(request),
        "list_querystring": form.list_querystring(),
        "currencies": report["currencies"],
        "reporting_currency": report["currency"],
        "unconverted": report["unconverted"],
        "total_count": total_count,
        "open_value": sum((row["value"] for row in tables["by_stage"]), 0),
        "won_value": sum((row["won"] or 0 for row in tables["by_status"]), 0),
        "partner_count": report["partner_count"],
        "partners": {
            "rows": tables["by_partner"],
            "first": (partners_page - 1) * PARTNERS_PER_PAGE,
            "page": partners_page,
            "pages": pages,
            "matches": matches,
            "search": partner_q,
            "keep": keep,
            "previous": urlencode([*keep, ("partner_q", partner_q), ("partners_page", partners_page - 1)])
            if partners_page > 1
            else "",
            "next": urlencode([*keep, ("partner_q", partner_q), ("partners_page", partners_page + 1)])
            if partners_page < pages
            else "",
        },
        "charts": {
            "status": chart_data(tables["by_status"]),
            "stage": chart_data(tables["by_stage"]),
            "month": chart_data(tables["by_month"]),
            "partner": chart_data(tables["top_partners"]),
            "tier": chart_data(tables["by_tier"]),
            "region": chart_data(tables["by_region"]),
            "product": chart_data(tables["by_product"][:10]),
        },
    }


@vendor_required
def pipeline_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "deals.vendor_pipeline")


# --- Leads --------------------------------------------------------------------------------------
def _leads(request: HttpRequest) -> tuple[LeadFilterForm, Any]:
    form = LeadFilterForm(request.GET or None)
    status = form.filters().get("status", "")
    return form, selectors.lead_list(actor=request.actor, status=status).annotate(offer_count=Count("offers"))


@vendor_required
def lead_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    form, queryset = _leads(request)
    return render(
        request,
        "deals/vendor/lead_list.html",
        {
            "form": form,
            "status": form.filters().get("status", ""),
            "statuses": LeadStatus.choices,
            "page": paginate(request, queryset),
            "querystring": querystring_without_page(request),
            "now": timezone.now(),
            "may_create": lead_policy.can(actor, "create"),
            "may_import": lead_policy.can(actor, "import"),
        },
    )


@vendor_required
def lead_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "deals.vendor_leads")


@vendor_required
def lead_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not lead_policy.can(actor, "create"):
        messages.error(request, _("Only program admins and channel account managers add leads."))
        return redirect("deals:vendor_lead_list")
    form = LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done, lead = attempt(
            request, lambda: leads.lead_create(actor=actor, data=form.lead_data()), form=form
        )
        if done:
            messages.success(
                request,
                _("Lead %(company)s added. Distribute it now, or assign it to a partner.")
                % {"company": lead.company_name},
            )
            return redirect("deals:vendor_lead_detail", pk=lead.pk)
    return render(request, "deals/vendor/lead_form.html", {"form": form}, status=400 if form.errors else 200)


IMPORT_COLUMNS = [
    ("company_name", True, gettext_lazy("The lead's company")),
    ("region", True, gettext_lazy("na, latam, emea or apac")),
    ("domain", False, gettext_lazy("Website domain, e.g. customer.com")),
    ("country", False, gettext_lazy("ISO code, e.g. US or DE")),
    ("contact_name", False, ""),
    ("contact_email", False, ""),
    ("contact_phone", False, ""),
    ("product_interest", False, ""),
    ("estimated_value", False, gettext_lazy("A number, e.g. 25000")),
    ("currency", False, gettext_lazy("USD, EUR, GBP, …")),
    ("description", False, ""),
]
IMPORT_SAMPLE = (
    "company_name,region,domain,country,contact_name,contact_email,estimated_value,currency,product_interest\n"
    "Wayne Enterprises,na,wayne.example,US,Lucius Fox,lucius@wayne.example,120000,USD,Core switching\n"
    "Tyrell GmbH,emea,tyrell.example,DE,Eldon Tyrell,eldon@tyrell.example,45000,EUR,Firewalls\n"
)


@vendor_required
def lead_import(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not lead_policy.can(actor, "import"):
        messages.error(request, _("Only program admins and channel account managers import leads."))
        return redirect("deals:vendor_lead_list")
    form = LeadImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        content = form.cleaned_data["file"].read()
        done, result = attempt(request, lambda: leads.lead_import_csv(actor=actor, content=content))
        if not done:
            result = None
        elif not result.errors:
            count = len(result.created)
            messages.success(
                request,
                ngettext(
                    "%(count)s lead imported. Distribute it from the list of new leads.",
                    "%(count)s leads imported. Distribute them from the list of new leads.",
                    count,
                )
                % {"count": count},
            )
            return redirect(f"{reverse('deals:vendor_lead_list')}?status={LeadStatus.NEW}")
    return render(
        request,
        "deals/vendor/lead_import.html",
        {
            "form": form,
            "result": result,
            "columns": IMPORT_COLUMNS,
            "sample": IMPORT_SAMPLE,
            "max_rows": leads.MAX_IMPORT_ROWS,
        },
        status=400 if request.method == "POST" else 200,
    )


@vendor_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    lead = selectors.lead_get(actor=actor, pk=pk)
    may_distribute = lead_policy.can(actor, "distribute", lead)
    return render(
        request,
        "deals/vendor/lead_detail.html",
        {
            "lead": lead,
            "offers": list(selectors.lead_offers(actor=actor, lead=lead)),
            "may_distribute": may_distribute and lead.status in {LeadStatus.NEW, LeadStatus.UNASSIGNABLE},
            "may_assign": may_distribute and lead.status in {LeadStatus.NEW, LeadStatus.UNASSIGNABLE},
            "assign_form": LeadAssignForm(
                partners=partner_selectors.partner_choices(actor=actor, status=PartnerStatus.ACTIVE)
            ),
            "history": list(audit.history_for(target=lead)[:50]),
            "now": timezone.now(),
        },
    )


@require_POST
@vendor_required
def lead_distribute(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    lead = selectors.lead_get(actor=actor, pk=pk)
    done, offer = attempt(request, lambda: leads.lead_distribute(actor=actor, lead=lead))
    if done and offer is None:
        messages.warning(
            request,
            _(
                "No partner is available for %(company)s: every active partner in its region already had it, "
                "or their tier gets no leads. Assign it by hand."
            )
            % {"company": lead.company_name},
        )
    elif done:
        messages.success(
            request,
            _("Lead offered to %(partner)s; they have until %(when)s to accept it.")
            % {
                "partner": offer.partner.legal_name,
                "when": date_format(timezone.localtime(offer.respond_by), "SHORT_DATETIME_FORMAT"),
            },
        )
    return redirect("deals:vendor_lead_detail", pk=lead.pk)


@require_POST
@vendor_required
def lead_assign(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    lead = selectors.lead_get(actor=actor, pk=pk)
    form = LeadAssignForm(
        request.POST,
        partners=partner_selectors.partner_choices(actor=actor, status=PartnerStatus.ACTIVE),
    )
    if not form.is_valid():
        messages.error(request, form_error_text(form) or _("Choose a partner."))
        return redirect("deals:vendor_lead_detail", pk=lead.pk)
    partner = form.cleaned_data["partner"]
    done, offer = attempt(request, lambda: leads.lead_assign(actor=actor, lead=lead, partner=partner))
    if done:
        messages.success(
            request,
            _("Lead assigned to %(partner)s; they have until %(when)s to accept it.")
            % {
                "partner": partner.legal_name,
                "when": date_format(timezone.localtime(offer.respond_by), "SHORT_DATETIME_FORMAT"),
            },
        )
    return redirect("deals:vendor_lead_detail", pk=lead.pk)
