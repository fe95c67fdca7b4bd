"""Market development funds: the partner's funds, fund requests, claims and proof files, and the
vendor's utilisation and ROI report. Thin: forms validate input, selectors read (scoped by
policy), services write; every ApplicationError becomes a message or a form error. Approvals and
claim reviews happen in the Django admin."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from functools import cached_property, lru_cache
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.db import IntegrityError
from django.forms import BoundField
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from partners.activity import plain_history
from partners.panels import app_panels
from prm import audit
from prm.errors import add_form_error, attempt
from prm.jinja2 import kept_gettext, render_page
from prm.kept import Kept
from prm.markup import escape
from prm.pagination import page_bounds
from prm.templatetags.prm_pagination import pagination
from prm.views import (
    PAGE_SIZE,
    KeysFirstPaginator,
    paginate,
    partner_required,
    querystring_without_page,
    start_export,
    vendor_required,
)

from . import selectors, services
from .forms import REPORT_GROUPS, ClaimForm, FundRequestForm, ReportGroupForm, RequestFilterForm
from .markup import request_rows
from .models import FundRequest, LedgerKind, RequestStatus
from .policies import EDITABLE, MDF_ROLES, fund_request_policy
from .uploads import ACCEPTED

CONFIRM_SESSION_KEY = "mdf.confirm_short_notice"
# Claim deadlines closer than this show in red.
DEADLINE_WARNING_DAYS = 14
# How each ledger kind moves the available balance (paid moves money already claimed).
AVAILABLE_EFFECT = {
    LedgerKind.ALLOCATED: 1,
    LedgerKind.ACCRUED: 1,
    LedgerKind.RELEASED: 1,
    LedgerKind.COMMITTED: -1,
    LedgerKind.CLAIMED: -1,
    LedgerKind.FORFEITED: -1,
    LedgerKind.PAID: 0,
}
# Proof files are only ever stored as these (mdf.uploads sniffs the content); anything else is
# served as an opaque download.
PROOF_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}


# --- helpers ------------------------------------------------------------------------------------
def _works_funds(actor: Any) -> bool:
    return actor.is_partner and actor.partner_role in MDF_ROLES


def _no_access(request: HttpRequest) -> HttpResponse:
    return render(request, "mdf/no_access.html", status=403)


def _share_percent() -> int:
    return settings.PRM["MDF_VENDOR_SHARE_PERCENT"]


def _open_allocations(actor: Any) -> list[Any]:
    """The actor's allocations whose period has not ended, with balances: what a new request can
    draw on."""
    today = timezone.localdate()
    return [
        allocation
        for allocation in selectors.allocations_with_balances(actor=actor)
        if allocation.budget.period.ends_on >= today and allocation.budget.period.closed_at is None
    ]


def _remember_confirmation(request: HttpRequest, fund_request: FundRequest, message: str) -> None:
    request.session[CONFIRM_SESSION_KEY] = {"request": fund_request.pk, "message": str(message)}


def _take_confirmation(request: HttpRequest, fund_request: FundRequest) -> str:
    data = request.session.get(CONFIRM_SESSION_KEY)
    if not data or data.get("request") != fund_request.pk:
        return ""
    del request.session[CONFIRM_SESSION_KEY]
    return str(data.get("message") or "")


def _days_left(day: Any) -> int | None:
    return (day - timezone.localdate()).days if day else None


# --- Funds --------------------------------------------------------------------------------------
@partner_required
def funds(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not _works_funds(actor):
        return _no_access(request)
    summary = selectors.fund_summary(actor=actor)
    for row in summary:
        row["payable"] = row["claimed"] - row["paid"]
    allocations = list(selectors.allocations_with_balances(actor=actor))
    counts = selectors.request_counts(actor=actor)
    deadlines = [
        {
            "request": fund_request,
            "days_left": _days_left(fund_request.claim_deadline),
            "urgent": _days_left(fund_request.claim_deadline) < DEADLINE_WARNING_DAYS,
        }
        for fund_request in selectors.deadlines(actor=actor).filter(claim_deadline__isnull=False)[:10]
    ]
    charts = [
        {
            "currency": row["currency"],
            "labels": [_("Available"), _("Committed"), _("Claimed, awaiting payment"), _("Paid")],
            "keys": ["available", "committed", "payable", "paid"],
            "values": [
                float(max(row["available"], Decimal("0"))),
                float(row["committed"]),
                float(row["payable"]),
                float(row["paid"]),
            ],
        }
        for row in summary
    ]
    for chart in charts:
        chart["items"] = list(zip(chart["labels"], chart["values"], strict=True))
    return render(
        request,
        "mdf/funds.html",
        {
            "summary": summary,
            "charts": charts,
            "allocations": allocations,
            "deadlines": deadlines,
            "deadline_warning_days": DEADLINE_WARNING_DAYS,
            "status_counts": [(value, label, counts.get(value, 0)) for value, label in RequestStatus.choices],
            "total_count": sum(counts.values()),
            "recent": list(selectors.request_list(actor=actor)[:5]),
            "may_request": fund_request_policy.can(actor, "request"),
            "share_percent": _share_percent(),
        },
    )


@partner_required
def allocation_ledger(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    if not _works_funds(actor):
        raise Http404
    allocation = selectors.allocations_with_balances(actor=actor).filter(pk=pk).first()
    if allocation is None:
        raise Http404
    page = paginate(request, selectors.ledger_for(actor=actor, allocation=allocation), per_page=50)
    rows = [(entry, AVAILABLE_EFFECT.get(entry.kind, 0)) for entry in page.object_list]
    return render(
        request,
        "mdf/allocation_ledger.html",
        {"allocation": allocation, "page": page, "rows": rows, "querystring": ""},
    )


# --- Requests: list and export ------------------------------------------------------------------
class RequestRowsPaginator(KeysFirstPaginator):
    """The request list's pages: a page's ids from the partner's (status,) created_at index first
    (KeysFirstPaginator), then those rows as the plain values the list prints
    (selectors.request_rows_of) rather than five model instances each, both kept statements.

    The ids of the page the address asks for come with the counts and the periods in one statement
    (selectors.request_list_page, ``first_keys`` for ``first_number``); only another page (a number
    past the last page, which shows the last) reads its ids on its own
    (selectors.request_list_keys). ``object_list`` is still the scoped queryset, built only when
    asked for (the page never does). (The ids as a subquery of the rows' statement saves a round
    trip but not time: PostgreSQL ran it once per row of the partner, 50 ms for 231 requests.)"""

    def __init__(
        self,
        per_page: int,
        *,
        actor: Any,
        filters: dict[str, Any],
        count: int,
        first_number: int,
        first_keys: list[int],
    ) -> None:
        super().__init__([], per_page)
        del self.object_list  # the queryset below, when asked for
        self.actor = actor
        self.filters = filters
        self.count = count  # known: no COUNT(*) of the paginator's own (see prm.views.paginate)
        self.first_number = first_number
        self.first_keys = first_keys

    @cached_property
    def object_list(self) -> Any:
        return selectors.request_list(actor=self.actor, filters=self.filters)

    def page_keys(self, bottom: int, top: int) -> list[Any]:
        return selectors.request_list_keys(actor=self.actor, filters=self.filters, bottom=bottom, top=top)

    def page(self, number: Any) -> Page:
        number, bottom, top = page_bounds(self, number)
        # The first keys are rows [bottom:bottom + per_page] of that page: the same as [bottom:top]
        # (top stops at the count, no orphans), unless the number is another one.
        keys = self.first_keys if number == self.first_number else self.page_keys(bottom, top)
        return self._get_page(selectors.request_rows_of(actor=self.actor, keys=keys), number, self)


# Past any list's last page: a larger number is read as this one (its offset stays a number
# PostgreSQL takes), and shows the last page as any number past it does.
_FAR_PAGE = 2**31 // PAGE_SIZE


def _page_number(value: str | None) -> int:
    """The page the address asks for, as Paginator.get_page reads it (not a number: the first)."""
    try:
        return min(max(int(value or 1), 1), _FAR_PAGE)
    except ValueError:
        return 1


FILTERS = ("status", "activity_type", "period")


@lru_cache(maxsize=32)
def _filter_choices(language: str | None) -> dict[str, list[tuple[str, str]]]:
    """The status and activity filters' options in ``language`` (the active one, the key), and the
    period filter's empty label: lazy translations, each looked up again on every use (some 40 a
    page)."""
    fields = RequestFilterForm.base_fields
    choices = {
        name: [("" if value is None else str(value), str(label)) for value, label in fields[name].choices]
        for name in ("status", "activity_type")
    }
    choices["period"] = [("", str(fields["period"].empty_label))]
    return choices


@lru_cache(maxsize=1)
def filter_ids() -> dict[str, str]:
    """Each filter's id (its label's ``for``), as the form writes it: the same for every request."""
    form = RequestFilterForm()
    return {name: form[name].id_for_label for name in FILTERS}


def _select_markup(name: str, auto_id: str, current: str, choices: Iterable[tuple[Any, Any]]) -> SafeString:
    """A filter's ``<select>``, the markup Django's Select widget renders (django/forms/widgets/
    select.html and select_option.html) without its three templates per option (about a
    millisecond for the three filters), ``current`` selected."""
    options = []
    chosen = False
    for option_value, label in choices:
        option_value = "" if option_value is None else str(option_value)
        selected = not chosen and option_value == current
        chosen = chosen or selected
        flag = " selected" if selected else ""
        options.append(f'\n  <option value="{escape(option_value)}"{flag}>{escape(label)}</option>')
    return mark_safe(  # noqa: S308 -- every value escaped (prm.markup.escape)
        f'<select name="{escape(name)}" id="{escape(auto_id)}">{"".join(options)}\n</select>'
    )


# The filter bar's <select>s as the request list shows them, kept per process by everything they
# show: the language, the chosen values and the periods as the request read them (with the page's
# keys), so a period added or renamed in any process shows on the next request.
SELECTS_KEPT = 512
_kept_selects: Kept[tuple[Any, ...], dict[str, SafeString]] = Kept(SELECTS_KEPT)


def filter_selects(form: RequestFilterForm | None, periods: list[tuple[int, str]]) -> dict[str, SafeString]:
    """The status, activity and period ``<select>``s of the request list's filters: ``form`` as the
    address filled it (None: no filter chosen), ``periods`` the period filter's choices. A field
    with an error (a bad value in the address) is left to Django, which also marks it invalid
    (aria-invalid, aria-describedby); such a bar is not kept."""
    language = get_language()
    choices = _filter_choices(language)
    options = {name: choices[name] if name != "period" else [*choices[name], *periods] for name in FILTERS}
    if form is not None and form.errors:
        return {
            name: str(form[name]) if form[name].errors else _bound_select(form[name], options[name])
            for name in FILTERS
        }
    current = tuple("" if form is None else _current(form[name]) for name in FILTERS)
    key = (language, current, tuple(periods))
    selects = _kept_selects.get(key)
    if selects is None:
        ids = filter_ids()
        selects = {
            name: _select_markup(name, ids[name], value, options[name])
            for name, value in zip(FILTERS, current, strict=True)
        }
        _kept_selects.keep(key, selects)
    return selects


def _current(field: BoundField) -> str:
    value = field.value()
    return "" if value is None else str(value)


def _bound_select(field: BoundField, choices: Iterable[tuple[Any, Any]]) -> SafeString:
    return _select_markup(field.html_name, field.auto_id, _current(field), choices)


@partner_required
def request_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not _works_funds(actor):
        return _no_access(request)
    # No address parameters (the list as the navigation opens it): no form to build and validate
    # (a copy of its three fields), nothing chosen.
    form = RequestFilterForm(request.GET) if request.GET else None
    filters = form.filters() if form is not None else {}
    number = _page_number(request.GET.get("page"))
    bottom = (number - 1) * PAGE_SIZE
    # The page's keys, the status counts, the filtered count and the periods: one statement.
    read = selectors.request_list_page(actor=actor, filters=filters, bottom=bottom, top=bottom + PAGE_SIZE)
    counts = read.counts
    if read.filtered_count is not None:
        count = read.filtered_count
    else:
        # With no filter but the status, the status counts say how long the list is.
        count = counts.get(filters["status"], 0) if filters else sum(counts.values())
    # keys_first: the (partner, [status,] -created_at, -id) indexes give a page's ids.
    paginator = RequestRowsPaginator(
        PAGE_SIZE,
        actor=actor,
        filters=filters,
        count=count,
        first_number=number,
        first_keys=read.keys,
    )
    # Translated once per language, not once per row or page.
    choices = _filter_choices(get_language())
    statuses = dict(choices["status"][1:])
    page = paginator.get_page(request.GET.get("page"))
    return render_page(
        request,
        "mdf/request_list.html",
        {
            "form": form,
            "page": page,
            "querystring": querystring_without_page(request),
            "status_counts": [(value, label, counts.get(value, 0)) for value, label in statuses.items()],
            "total_count": sum(counts.values()),
            "may_request": fund_request_policy.can(actor, "request"),
            "current_status": _current(form["status"]) if form is not None else "",
            # The periods as the field's own choices list them (its empty label first), read with
            # the page's keys rather than by the field's queryset.
            "selects": filter_selects(form, read.periods),
            "filter_ids": filter_ids(),
            "rows": request_rows(page.object_list, show_requester=actor.partner_role == "admin"),
            "pagination": pagination,
            # ``_()`` over translations looked up once per language and message.
            "_": kept_gettext,
            "gettext": kept_gettext,
        },
    )


@partner_required
def request_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "mdf.fund_requests")


# --- Requests: create and edit ------------------------------------------------------------------
def _form_page(
    request: HttpRequest,
    *,
    form: FundRequestForm,
    fund_request: FundRequest | None,
    confirm: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "mdf/request_form.html",
        {
            "form": form,
            "fund_request": fund_request,
            "confirm": confirm,
            "share_percent": _share_percent(),
            "lead_days": settings.PRM["MDF_REQUEST_LEAD_BUSINESS_DAYS"],
            "allocations": _open_allocations(request.actor),
        },
        status=status,
    )


def _save(request: HttpRequest, form: FundRequestForm, fund_request: FundRequest | None) -> HttpResponse:
    actor = request.actor
    confirm = request.POST.get("confirm_short_notice") == "1"
    wants_submit = confirm or request.POST.get("action") == "submit"
    try:
        done, saved = attempt(
            request,
            lambda: services.request_save_draft(
                actor=actor,
                data=form.request_data(),
                fund_request=fund_request,
                submission_key=form.cleaned_data.get("submission_key") if fund_request is None else None,
            ),
            form=form,
        )
    except IntegrityError:
        # The submission key belongs to a request this actor cannot see (a replayed or forged
        # form): show the form again with a fresh key, keeping what was typed.
        data = request.POST.copy()
        data["submission_key"] = str(uuid.uuid4())
        form = FundRequestForm(data)
        form.is_valid()
        form.add_error(None, _("This form was already used. Check the details and save again."))
        return _form_page(request, form=form, fund_request=fund_request, status=400)
    if not done:
        return _form_page(request, form=form, fund_request=fund_request, status=400)
    if not wants_submit:
        if saved.status in EDITABLE:
            messages.success(
                request,
                _("Draft %(ref)s saved. Submit it for approval when it is complete.")
                % {"ref": saved.reference},
            )
        return redirect("mdf:request_detail", pk=saved.pk)
    # Not reported by attempt(): a short notice is a question to confirm, not an error.
    done, refusal = attempt(
        request,
        lambda: services.request_submit(actor=actor, fund_request=saved, confirm_short_notice=confirm),
        report=False,
    )
    if not done:
        # The draft is saved (outside the savepoint): the page keeps everything typed and now
        # edits that draft.
        if refusal.extra.get("needs_confirmation"):
            return _form_page(request, form=form, fund_request=saved, confirm=refusal.message)
        add_form_error(form, refusal)
        messages.warning(
            request,
            _("%(ref)s is saved as a draft but was not submitted. Fix what is marked below and submit again.")
            % {"ref": saved.reference},
        )
        return _form_page(request, form=form, fund_request=saved, status=400)
    messages.success(
        request,
        _("%(ref)s was submitted for approval. You will be notified of the decision.")
        % {"ref": saved.reference},
    )
    return redirect("mdf:request_detail", pk=saved.pk)


@partner_required
def request_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not _works_funds(actor):
        return _no_access(request)
    if not fund_request_policy.can(actor, "request"):
        messages.error(request, _("Only active partners request marketing funds."))
        return redirect("mdf:funds")
    if request.method == "POST":
        form = FundRequestForm(request.POST)
        if form.is_valid():
            return _save(request, form, None)
        return _form_page(request, form=form, fund_request=None, status=400)
    allocations = _open_allocations(actor)
    form = FundRequestForm(
        initial={
            "submission_key": uuid.uuid4(),
            "currency": allocations[0].currency if allocations else "USD",
            "expected_leads": 0,
        }
    )
    return _form_page(request, form=form, fund_request=None)


@partner_required
def request_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    fund_request = selectors.request_get(actor=actor, pk=pk)
    if not fund_request_policy.can(actor, "edit", fund_request):
        messages.info(
            request,
            _("%(ref)s is %(status)s and can no longer be edited.")
            % {"ref": fund_request.reference, "status": fund_request.get_status_display().lower()},
        )
        return redirect("mdf:request_detail", pk=fund_request.pk)
    if request.method == "POST":
        form = FundRequestForm(request.POST)
        if form.is_valid():
            return _save(request, form, fund_request)
        return _form_page(request, form=form, fund_request=fund_request, status=400)
    form = FundRequestForm(initial=FundRequestForm.initial_from(fund_request))
    return _form_page(request, form=form, fund_request=fund_request)


# --- Request detail and submit ------------------------------------------------------------------
PROGRESS_STEPS = [
    (RequestStatus.DRAFT, _lazy("Drafted")),
    (RequestStatus.SUBMITTED, _lazy("Submitted")),
    (RequestStatus.APPROVED, _lazy("Approved")),
    (RequestStatus.CLAIM_SUBMITTED, _lazy("Claimed")),
    (RequestStatus.CLAIM_APPROVED, _lazy("Claim approved")),
    (RequestStatus.PAID, _lazy("Paid")),
]
# Where each status sits on the steps above, and how that step went.
PROGRESS_AT = {
    RequestStatus.DRAFT: (0, "current"),
    RequestStatus.SUBMITTED: (1, "current"),
    RequestStatus.RETURNED: (1, "returned"),
    RequestStatus.APPROVED: (2, "done"),
    RequestStatus.REJECTED: (2, "failed"),
    RequestStatus.CLAIM_SUBMITTED: (3, "current"),
    RequestStatus.CLAIM_APPROVED: (4, "done"),
    RequestStatus.CLAIM_REJECTED: (4, "failed"),
    RequestStatus.PAID: (5, "done"),
    RequestStatus.EXPIRED: (3, "failed"),
}
PROGRESS_LABELS = {
    RequestStatus.RETURNED: _lazy("Returned"),
    RequestStatus.REJECTED: _lazy("Rejected"),
    RequestStatus.CLAIM_REJECTED: _lazy("Claim rejected"),
    RequestStatus.EXPIRED: _lazy("Expired"),
}


def _progress(fund_request: FundRequest) -> list[dict[str, Any]]:
    at, state = PROGRESS_AT[fund_request.status]
    steps = []
    for index, (status, label) in enumerate(PROGRESS_STEPS):
        if index < at:
            step_state = "done"
        elif index == at:
            step_state = state
            label = PROGRESS_LABELS.get(fund_request.status, label)
        else:
            step_state = "todo"
        steps.append({"status": status, "label": label, "state": step_state})
    return steps


@partner_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    fund_request = selectors.request_get(actor=actor, pk=pk)
    claim = selectors.claim_for(actor=actor, fund_request=fund_request)
    entries = selectors.ledger_for(actor=actor, allocation=fund_request.allocation).filter(
        fund_request=fund_request
    )
    days_left = _days_left(fund_request.claim_deadline)
    return render(
        request,
        "mdf/request_detail.html",
        {
            "fund_request": fund_request,
            "progress": _progress(fund_request),
            "claim": claim,
            "proofs": list(claim.proofs.all()) if claim else [],
            "entries": [(entry, AVAILABLE_EFFECT.get(entry.kind, 0)) for entry in entries],
            # The deals the activity sourced come from incentives, which joins deals to activities.
            "panels": app_panels("mdf_request_panel", request, fund_request=fund_request),
            "may_edit": fund_request_policy.can(actor, "edit", fund_request),
            "may_submit": fund_request_policy.can(actor, "submit", fund_request),
            "may_claim": fund_request_policy.can(actor, "claim", fund_request) and claim is None,
            "days_left": days_left,
            "deadline_urgent": days_left is not None and days_left < DEADLINE_WARNING_DAYS,
            "claim_opens": fund_request.end_date > timezone.localdate(),
            "confirm": _take_confirmation(request, fund_request),
            "history": plain_history(audit.history_for(target=fund_request)[:50]),
            "share_percent": _share_percent(),
        },
    )


@require_POST
@partner_required
def request_submit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    fund_request = selectors.request_get(actor=actor, pk=pk)
    confirmed = request.POST.get("confirm_short_notice") == "1"
    # Not reported by attempt(): a short notice is a question to confirm, not an error.
    done, refusal = attempt(
        request,
        lambda: services.request_submit(
            actor=actor, fund_request=fund_request, confirm_short_notice=confirmed
        ),
        report=False,
    )
    if not done:
        if refusal.extra.get("needs_confirmation"):
            _remember_confirmation(request, fund_request, refusal.message)
        else:
            messages.error(request, refusal.message)
        return redirect("mdf:request_detail", pk=fund_request.pk)
    messages.success(
        request,
        _("%(ref)s was submitted for approval. You will be notified of the decision.")
        % {"ref": fund_request.reference},
    )
    return redirect("mdf:request_detail", pk=fund_request.pk)


# --- Claims -------------------------------------------------------------------------------------
@partner_required
def claim_create(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    fund_request = selectors.request_get(actor=actor, pk=pk)
    if (
        not fund_request_policy.can(actor, "claim", fund_request)
        or selectors.claim_for(actor=actor, fund_request=fund_request) is not None
    ):
        messages.info(
            request,
            _("%(ref)s cannot be claimed: it is %(status)s. Only approved activities are claimed, once.")
            % {"ref": fund_request.reference, "status": fund_request.get_status_display().lower()},
        )
        return redirect("mdf:request_detail", pk=fund_request.pk)
    status = 200
    if request.method == "POST":
        form = ClaimForm(request.POST, request.FILES)
        if form.is_valid():
            done, _claim = attempt(
                request,
                lambda: services.claim_submit(
                    actor=actor,
                    fund_request=fund_request,
                    data=form.claim_data(),
                    files=form.cleaned_data["files"],
                ),
                form=form,
            )
            if done:
                messages.success(
                    request,
                    _("Claim for %(ref)s submitted. Finance reviews it and you will be notified.")
                    % {"ref": fund_request.reference},
                )
                return redirect("mdf:request_detail", pk=fund_request.pk)
        status = 400
    else:
        form = ClaimForm(initial={"leads_generated": 0, "attendees": 0})
    today = timezone.localdate()
    return render(
        request,
        "mdf/claim_form.html",
        {
            "fund_request": fund_request,
            "form": form,
            "not_yet": today < fund_request.end_date,
            "too_late": bool(fund_request.claim_deadline and today > fund_request.claim_deadline),
            "days_left": _days_left(fund_request.claim_deadline),
            "share_percent": _share_percent(),
            "accepted": ACCEPTED,
            "max_size": filesizeformat(settings.PRM["UPLOAD_MAX_BYTES"]),
            "max_files": settings.PRM["MDF_MAX_PROOF_FILES"],
        },
        status=status,
    )


@login_required
def proof_download(request: HttpRequest, pk: int) -> HttpResponse:
    """A proof file, for whoever may see its request (partner MDF users, vendor staff in scope);
    the same 404 for everybody else. Never rendered inline."""
    proof = selectors.proof_get(actor=request.actor, pk=pk)
    try:
        handle = proof.file.open("rb")
    except (OSError, ValueError) as exc:
        raise Http404 from exc
    content_type = proof.content_type if proof.content_type in PROOF_TYPES else "application/octet-stream"
    response = FileResponse(
        handle, as_attachment=True, filename=proof.original_name or "proof", content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Vendor report ------------------------------------------------------------------------------


@vendor_required
def vendor_report(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    form = ReportGroupForm(request.GET or None)
    group = form.selected_group()
    data = selectors.utilisation_summary(actor=actor, group=group)
    rows = data["rows"]
    multi_currency = len(data["totals"]) > 1
    utilisation_chart = {
        "labels": [f"{row['group']} ({row['currency']})" if multi_currency else row["group"] for row in rows],
        "datasets": [
            {"key": "paid", "label": _("Paid"), "values": [float(row["paid"]) for row in rows]},
            {
                "key": "payable",
                "label": _("Claimed, awaiting payment"),
                "values": [float(row["payable"]) for row in rows],
            },
            {
                "key": "committed",
                "label": _("Committed"),
                "values": [float(row["committed"]) for row in rows],
            },
            {
                "key": "available",
                "label": _("Available"),
                "values": [float(max(row["available"], Decimal("0"))) for row in rows],
            },
        ],
        "allocated": [float(row["allocated"]) for row in rows],
        "currency": next(iter(data["totals"])) if len(data["totals"]) == 1 else "",
    }
    # The return on investment by activity comes from incentives, with its chart's data.
    panels = app_panels("mdf_report_panel", request)
    charts = {"utilisation": utilisation_chart}
    for panel in panels:
        charts.update(panel.get("charts", {}))
    counts = selectors.request_counts(actor=actor)
    return render(
        request,
        "mdf/vendor_report.html",
        {
            "form": form,
            "group": group,
            "group_label": dict(REPORT_GROUPS)[group],
            "groups": REPORT_GROUPS,
            "rows": rows,
            "totals": sorted(data["totals"].items()),
            "panels": panels,
            "charts": charts,
            "waiting": counts.get(RequestStatus.SUBMITTED, 0),
            "claims_waiting": counts.get(RequestStatus.CLAIM_SUBMITTED, 0),
            "approvals_url": reverse("admin:mdf_fundrequest_changelist") + "?status__exact=submitted",
            "claims_url": reverse("admin:mdf_fundrequest_changelist") + "?status__exact=claim_submitted",
            "querystring": querystring_without_page(request),
        },
    )


@vendor_required
def vendor_report_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "mdf.vendor_report")
