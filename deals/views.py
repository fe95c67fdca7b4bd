"""Partner-side deal registration and leads. Thin: parse input with a form, call a selector
(reads) or a service (writes), render. Every ApplicationError becomes a message or a form error."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template import engines
from django.template.defaultfilters import timeuntil_filter
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import localize
from django.utils.html import json_script
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from partners.activity import plain_history
from partners.models import PartnerRole, Region
from prm import audit
from prm.errors import ApplicationError, add_form_error, attempt
from prm.jinja2 import kept_gettext, render_page, url_with_pk
from prm.layout import page_url
from prm.pagination import page_bounds
from prm.templatetags.prm_pagination import pagination
from prm.tenancy import Actor
from prm.views import (
    PAGE_SIZE,
    KeysFirstPaginator,
    paginate,
    partner_required,
    querystring_without_page,
    start_export,
)

from . import leads, selectors, services
from .forms import (
    MAX_LINES,
    DealFilterForm,
    DealForm,
    ExtensionRequestForm,
    MarkLostForm,
    MarkWonForm,
    ReasonForm,
    StageForm,
    line_form,
    line_formset,
)
from .models import (
    OPEN_STAGE_CHOICES,
    ConflictStatus,
    Deal,
    DealStatus,
    ExtensionStatus,
    LeadStatus,
    Product,
)
from .pipeline import kept_partner_page
from .policies import DEAL_ROLES, deal_policy, lead_policy
from .rendering import ListFormats, deal_list_texts, deal_rows_html
from .selectors import PartnerDealRow

PROBLEMS_SESSION_KEY = "deals.submit_problems"


# --- helpers ------------------------------------------------------------------------------------
def form_error_text(form: Any) -> str:
    """A form's errors as one sentence, for forms posted from a detail page's side panel."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts.extend(f"{label}: {error}" if label else str(error) for error in errors)
    return " ".join(parts)


def _remember_problems(request: HttpRequest, deal: Deal, exc: ApplicationError) -> None:
    problems = [str(problem) for problem in exc.extra.get("problems") or [exc.message]]
    request.session[PROBLEMS_SESSION_KEY] = {"deal": deal.pk, "problems": problems}


def _take_problems(request: HttpRequest, deal: Deal) -> list[str]:
    data = request.session.get(PROBLEMS_SESSION_KEY)
    if not data or data.get("deal") != deal.pk:
        return []
    del request.session[PROBLEMS_SESSION_KEY]
    return list(data.get("problems") or [])


def _active_products() -> list[Product]:
    # The catalogue is not tenant-owned: every partner registers against it.
    return list(Product.objects.filter(active=True).order_by("product_line", "name"))


# --- Deal list ---------------------------------------------------------------------------------
class PartnerDealListPaginator(KeysFirstPaginator):
    """A page of the partner's deal list, keys first (see KeysFirstPaginator), together with the
    approved deals that lose their protection soon: the page's rows and the expiring deals' rows in
    one statement (selectors.partner_deal_page), each part reading its keys first in a subquery,
    where the page and the box were four statements, then two. It is compiled once per shape
    (prm.statements).

    The page's rows are PartnerDealRow tuples, not Deal instances; an expiring deal is found
    whatever the list is filtered to."""

    def __init__(
        self,
        object_list: QuerySet[Deal],
        per_page: int,
        *,
        actor: Actor,
        filters: dict[str, Any],
    ) -> None:
        super().__init__(object_list, per_page)
        self.actor = actor
        self.filters = filters
        self.expiring: list[PartnerDealRow] = []

    def page(self, number: Any) -> Page:
        number, bottom, top = page_bounds(self, number)
        rows, self.expiring = selectors.partner_deal_page(
            actor=self.actor, filters=self.filters, bottom=bottom, top=top
        )
        return self._get_page(rows, number, self)


@partner_required
def deal_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    form = DealFilterForm(request.GET or None)
    filters = form.filters()
    deals = selectors.partner_deal_list(actor=actor, filters=filters)
    counts = selectors.deal_counts(actor=actor)
    paginator = PartnerDealListPaginator(deals, PAGE_SIZE, actor=actor, filters=filters)
    # With no filter but the status, the status counts already say how long the list is (the
    # paginator's COUNT(*) over the whole list is then not needed).
    applied = {name for name, value in filters.items() if value}
    if applied <= {"status"}:
        paginator.count = counts.get(filters["status"], 0) if applied else sum(counts.values())
    page = paginator.get_page(request.GET.get("page"))
    texts = deal_list_texts()
    context = {
        "form": form,
        "page": page,
        "querystring": querystring_without_page(request),
        "status_counts": [(value, label, counts.get(value, 0)) for value, label in texts["statuses"].items()],
        "total_count": sum(counts.values()),
        "expiring": paginator.expiring,
        "may_register": deal_policy.can(actor, "register"),
        "works_deals": actor.partner_role in DEAL_ROLES,
    }
    return render_page(request, "deals/deal_list.html", _deal_list_values(request, context, texts))


def _deal_list_values(request: HttpRequest, context: dict[str, Any], texts: dict[str, Any]) -> dict[str, Any]:
    """What the deal list's page (templates/jinja2/deals/deal_list.html, a page written in Jinja2:
    through Django's engine the body (filters, status chips, table, pagination) was over half of
    the page's CPU, and the Django frame around the Jinja2 body another fraction) prints, beside
    ``context``."""
    values = {
        **context,
        **texts,
        "show_registrant": request.actor.partner_role == PartnerRole.ADMIN,
        "fmt": ListFormats(),
        "until": timeuntil_filter,
        # The page's links have no arguments: reversed once per process (prm.layout.page_url).
        "url": page_url,
        "list_url": page_url("deals:list"),
        "detail_url": url_with_pk("deals:detail"),
        "pagination": pagination,  # prm/templatetags/prm_pagination.py: markup built in Python
        # The page's fixed messages, translated once per language (prm.jinja2.kept_gettext).
        "_": kept_gettext,
        "gettext": kept_gettext,
    }
    values["rows"] = deal_rows_html(context["page"].object_list, values)
    return values


@partner_required
def deal_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "deals.partner_deals")


# --- Create and edit ----------------------------------------------------------------------------
def _form_page(
    request: HttpRequest,
    *,
    form: DealForm,
    formset: Any,
    deal: Deal | None,
    lines_error: str = "",
    problems: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "deals/deal_form.html",
        {
            "form": form,
            "formset": formset,
            "deal": deal,
            "products": _active_products(),
            "lines_error": lines_error,
            "problems": problems or [],
            "max_lines": MAX_LINES,
        },
        status=status,
    )


def _save(request: HttpRequest, form: DealForm, formset: Any, deal: Deal | None) -> HttpResponse:
    actor = request.actor
    # A new registration submitted at once that is refused as a duplicate leaves nothing behind:
    # the draft it would have created is rolled back (the request is one transaction).
    registering = deal is None and request.POST.get("action") == "submit"
    before_draft = transaction.savepoint() if registering else None
    # Not reported by attempt(): a problem with the product lines is shown above the lines.
    done, saved = attempt(
        request,
        lambda: services.deal_save_draft(
            actor=actor,
            data=form.customer_data(),
            lines=formset.line_inputs(),
            deal=deal,
            submission_key=form.cleaned_data.get("submission_key") if deal is None else None,
        ),
        report=False,
    )
    if not done:
        lines_error = ""
        if saved.field == "lines":
            lines_error = saved.message
        else:
            add_form_error(form, saved)
        return _form_page(request, form=form, formset=formset, deal=deal, lines_error=lines_error, status=400)
    if request.POST.get("action") == "submit":
        done, submitted = attempt(
            request, lambda: services.deal_submit(actor=actor, deal=saved), report=False
        )
        if not done and before_draft is not None and submitted.extra.get("duplicate"):
            transaction.savepoint_rollback(before_draft)
            form.add_error(
                None,
                _("%(refusal)s This registration was not saved.") % {"refusal": submitted.message},
            )
            return _form_page(request, form=form, formset=formset, deal=None, status=400)
        if not done:
            # The draft is saved (outside the savepoint): nothing the user typed is lost.
            _remember_problems(request, saved, submitted)
            messages.warning(
                request,
                _(
                    "Deal %(ref)s is saved as a draft but was not submitted yet. "
                    "Fix what is listed below and submit again."
                )
                % {"ref": saved.reference},
            )
            return redirect("deals:edit", pk=saved.pk)
        if submitted.conflict_status == ConflictStatus.UNDER_REVIEW:
            messages.info(
                request,
                _(
                    "Deal %(ref)s was submitted. A possible conflict with another registration is "
                    "under review; your channel manager will decide."
                )
                % {"ref": saved.reference},
            )
        else:
            messages.success(
                request,
                _("Deal %(ref)s was submitted for review. You will be notified of the decision.")
                % {"ref": saved.reference},
            )
        return redirect("deals:detail", pk=saved.pk)
    messages.success(
        request,
        _("Draft %(ref)s saved. Submit it when it is complete to get it protected.")
        % {"ref": saved.reference},
    )
    return redirect("deals:detail", pk=saved.pk)


@partner_required
def deal_create(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not deal_policy.can(actor, "register"):
        messages.error(request, _("Only active partners' sales users and admins register deals."))
        return redirect("deals:list")
    if request.method == "POST":
        form = DealForm(request.POST, instance=Deal())
        formset = line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            return _save(request, form, formset, deal=None)
        return _form_page(request, form=form, formset=formset, deal=None, status=400)
    form = DealForm(
        instance=Deal(),
        initial={
            "submission_key": uuid.uuid4(),
            "customer_region": actor.partner.region,
            "customer_country": actor.partner.country,
        },
    )
    return _form_page(request, form=form, formset=line_formset(), deal=None)


@partner_required
def deal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    if not deal_policy.can(actor, "edit", deal):
        messages.info(
            request,
            _("Deal %(ref)s is %(status)s and can no longer be edited.")
            % {"ref": deal.reference, "status": deal.get_status_display().lower()},
        )
        return redirect("deals:detail", pk=deal.pk)
    if request.method == "POST":
        form = DealForm(request.POST, instance=Deal())
        formset = line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            return _save(request, form, formset, deal=deal)
        return _form_page(request, form=form, formset=formset, deal=deal, status=400)
    form = DealForm(instance=deal)
    formset = line_formset(
        initial=[
            {"product": line.product_id, "quantity": line.quantity, "unit_price": line.unit_price}
            for line in deal.lines.all()
        ]
    )
    return _form_page(request, form=form, formset=formset, deal=deal, problems=_take_problems(request, deal))


@partner_required
def deal_line_row(request: HttpRequest) -> HttpResponse:
    try:
        index = int(request.GET.get("index", ""))
    except ValueError:
        return HttpResponseBadRequest(_("Give the row number as index."))
    if not 0 <= index < MAX_LINES:
        return HttpResponseBadRequest(_("A deal has at most %(n)s product lines.") % {"n": MAX_LINES})
    return render(
        request,
        "deals/_line_row.html",
        {"line": line_form(index), "products": _active_products()},
    )


# --- Detail and actions -------------------------------------------------------------------------
@partner_required
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    extension_requests = list(selectors.extension_requests(actor=actor, deal=deal))
    pending_extension = next((e for e in extension_requests if e.status == ExtensionStatus.PENDING), None)
    may_request_extension = (
        deal_policy.can(actor, "request_extension", deal)
        and deal.extensions_used < settings.PRM["DEAL_MAX_EXTENSIONS"]
        and pending_extension is None
    )
    return render(
        request,
        "deals/deal_detail.html",
        {
            "deal": deal,
            "lines": list(deal.lines.all()),
            "problems": _take_problems(request, deal),
            "may_edit": deal_policy.can(actor, "edit", deal),
            "may_submit": deal_policy.can(actor, "submit", deal),
            "may_update_stage": deal_policy.can(actor, "update_stage", deal),
            "may_mark_won": deal_policy.can(actor, "mark_won", deal),
            "may_mark_lost": deal_policy.can(actor, "mark_lost", deal),
            "may_request_extension": may_request_extension,
            "pending_extension": pending_extension,
            "extension_days": settings.PRM["DEAL_EXTENSION_DAYS"],
            "extension_requests": extension_requests,
            # Conflict decisions are vendor-side: their count alone would tell the partner something.
            "history": plain_history(
                audit.history_for(target=deal).exclude(action="deal.conflict_resolved")[:50]
            ),
            "stage_form": StageForm(initial={"stage": deal.stage}),
            "won_form": MarkWonForm(initial={"won_amount": deal.amount, "closed_on": timezone.localdate()}),
            "won_tolerance_percent": settings.PRM["WON_AMOUNT_TOLERANCE_PERCENT"],
            "lost_form": MarkLostForm(),
            "extension_form": ExtensionRequestForm(),
            "stages": OPEN_STAGE_CHOICES,
        },
    )


@require_POST
@partner_required
def deal_submit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    done, submitted = attempt(request, lambda: services.deal_submit(actor=actor, deal=deal), report=False)
    if not done:
        _remember_problems(request, deal, submitted)
        messages.error(request, _("Deal %(ref)s was not submitted.") % {"ref": deal.reference})
        return redirect("deals:detail", pk=deal.pk)
    deal = submitted
    if deal.conflict_status == ConflictStatus.UNDER_REVIEW:
        messages.info(
            request,
            _("Deal %(ref)s was submitted. A possible conflict with another registration is under review.")
            % {"ref": deal.reference},
        )
    else:
        messages.success(request, _("Deal %(ref)s was submitted for review.") % {"ref": deal.reference})
    return redirect("deals:detail", pk=deal.pk)


@require_POST
@partner_required
def deal_request_extension(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    form = ExtensionRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you need more time."))
    else:
        done, _result = attempt(
            request,
            lambda: services.deal_request_extension(
                actor=actor, deal=deal, reason=form.cleaned_data["reason"]
            ),
        )
        if done:
            messages.success(
                request,
                _("Extension requested for deal %(ref)s. Your channel manager will decide.")
                % {"ref": deal.reference},
            )
    return redirect("deals:detail", pk=deal.pk)


@require_POST
@partner_required
def deal_update_stage(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    form = StageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a stage."))
    else:
        done, updated = attempt(
            request,
            lambda: services.deal_update_stage(actor=actor, deal=deal, stage=form.cleaned_data["stage"]),
        )
        if done:
            messages.success(
                request,
                _("Deal %(ref)s is now at stage “%(stage)s”.")
                % {"ref": deal.reference, "stage": updated.get_stage_display()},
            )
    return redirect("deals:detail", pk=deal.pk)


@require_POST
@partner_required
def deal_mark_won(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    form = MarkWonForm(request.POST, deal=deal)
    if not form.is_valid():
        messages.error(request, form_error_text(form))
    else:
        done, result = attempt(
            request,
            lambda: services.deal_mark_won(
                actor=actor,
                deal=deal,
                won_amount=form.cleaned_data["won_amount"],
                closed_on=form.cleaned_data["closed_on"],
            ),
        )
        if done and result.status == DealStatus.WON_PENDING:
            messages.info(
                request,
                _(
                    "Deal %(ref)s is recorded as won and waits for your channel account manager's "
                    "confirmation: %(why)s. It counts once confirmed; you will be notified."
                )
                % {"ref": deal.reference, "why": "; ".join(result.won_check_labels)},
            )
        elif done:
            messages.success(
                request, _("Congratulations! Deal %(ref)s is marked won.") % {"ref": deal.reference}
            )
    return redirect("deals:detail", pk=deal.pk)


@require_POST
@partner_required
def deal_mark_lost(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    deal = selectors.deal_get(actor=actor, pk=pk)
    form = MarkLostForm(request.POST)
    if not form.is_valid():
        messages.error(request, form_error_text(form))
    else:
        done, _result = attempt(
            request,
            lambda: services.deal_mark_lost(
                actor=actor,
                deal=deal,
                reason=form.cleaned_data["reason"],
                closed_on=form.cleaned_data.get("closed_on"),
            ),
        )
        if done:
            messages.success(request, _("Deal %(ref)s is marked lost.") % {"ref": deal.reference})
    return redirect("deals:detail", pk=deal.pk)


# --- Pipeline -----------------------------------------------------------------------------------
def _rows(rows: list[dict[str, Any]], key: str, labels: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [
        {
            "key": row[key],
            "label": str(labels.get(row[key], row[key])) if labels else (row[key] or "—"),
            "count": row["count"],
            "value": row["value"],
            "won": row.get("won"),
        }
        for row in rows
    ]


def _all_choices(
    rows: list[dict[str, Any]], key: str, choices: list[tuple[str, Any]]
) -> list[dict[str, Any]]:
    """Every choice in its natural order, with zeros where no deal has it (charts read better)."""
    found = {row[key]: row for row in rows}
    return [
        {
            "key": value,
            "label": str(label),
            "count": found.get(value, {}).get("count", 0),
            "value": found.get(value, {}).get("value", 0),
            "won": found.get(value, {}).get("won", 0),
        }
        for value, label in choices
    ]


def chart_data(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    # Floats only for drawing; the tables show the exact Decimals.
    return {
        "keys": [row["key"] for row in rows],
        "labels": [row["label"] for row in rows],
        "counts": [row["count"] for row in rows],
        "values": [float(row["value"] or 0) for row in rows],
    }


def pipeline_tables(report: dict[str, Any], *, with_drafts: bool = True) -> dict[str, Any]:
    """The pipeline report shaped for tables and charts (labels translated, all statuses and
    stages present; no draft row for the vendor, who never sees drafts)."""
    statuses = [choice for choice in DealStatus.choices if with_drafts or choice[0] != DealStatus.DRAFT]
    tables: dict[str, Any] = {
        "by_status": _all_choices(report["by_status"], "status", statuses),
        "by_stage": _all_choices(report["by_stage"], "stage", OPEN_STAGE_CHOICES),
        "by_month": [
            {"key": row["month"], "label": row["month"], "count": row["count"], "value": row["value"]}
            for row in report["by_month"]
        ],
    }
    if "by_partner" in report:
        tables["by_partner"] = sorted(
            _rows(report["by_partner"], "partner__legal_name"), key=lambda row: row["value"], reverse=True
        )
        tables["top_partners"] = _rows(report["top_partners"], "partner__legal_name")
        tables["by_tier"] = _rows(report["by_tier"], "partner__tier__name")
        tables["by_region"] = _rows(report["by_region"], "partner__region", dict(Region.choices))
        tables["by_product"] = _rows(report["by_product"], "product__name")
    return tables


@partner_required
def pipeline(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    may_register = deal_policy.can(actor, "register")
    # Kept while the partner's figures are what they were (deals.pipeline.kept_partner_page); the
    # key names everything else the page shows.
    shown = (actor.partner_role, translation.get_language(), may_register, request.user.is_staff)
    context = kept_partner_page(actor, shown, lambda: _pipeline_context(request, actor, may_register))
    return render(request, "deals/pipeline.html", context)


def _pipeline_context(request: HttpRequest, actor: Actor, may_register: bool) -> dict[str, Any]:
    report = selectors.pipeline_report(actor=actor)
    tables = pipeline_tables(report)
    context = {
        **tables,
        "currencies": report["currencies"],
        "reporting_currency": report["currency"],
        "unconverted": report["unconverted"],
        "total_count": sum(row["count"] for row in tables["by_status"]),
        "open_value": sum((row["value"] for row in tables["by_stage"]), 0),
        "won_value": sum((row["won"] or 0 for row in tables["by_status"]), 0),
        "charts": {
            "status": chart_data(tables["by_status"]),
            "stage": chart_data(tables["by_stage"]),
            "month": chart_data(tables["by_month"]),
        },
        "may_register": may_register,
    }
    # The body is rendered by Jinja2 (templates/jinja2/deals/pipeline_body.html); the Django
    # template around it is only the layout and the charts' scripts.
    body = engines["jinja2"].get_template("deals/pipeline_body.html")
    html = body.render(
        {
            **context,
            "actor": actor,
            "localize": localize,
            "json_script": json_script,
            "fmt": ListFormats(),
            # The tables' wording, as deal_tags.pipeline_table has it (plain text: escaped once).
            "deals_label": _("Deals"),
            "value_label": _("Value"),
            "won_label": _("Won"),
            "no_deals": _("No deals."),
        },
        request=request,
    )
    context["body"] = mark_safe(html)  # noqa: S308 -- Jinja2 autoescaped every value (prm/jinja2.py)
    return context


# --- Leads --------------------------------------------------------------------------------------
PARTNER_LEAD_STATUSES = [
    (LeadStatus.OFFERED, gettext_lazy("Waiting for your answer")),
    (LeadStatus.ACCEPTED, LeadStatus.ACCEPTED.label),
]


@partner_required
def lead_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    status = request.GET.get("status", "")
    if status not in {LeadStatus.OFFERED, LeadStatus.ACCEPTED}:
        status = ""
    if request.GET.get("format") == "csv":
        return start_export(request, "deals.partner_leads")
    # The count is a kept statement; the list is built only when there is something to show
    # (its select_related made building it a noticeable part of the page, and most partners have
    # no lead).
    count = leads.partner_lead_count(actor=actor, status=status)
    queryset = selectors.lead_list(actor=actor, status=status) if count else []
    page = paginate(request, queryset, count=count)
    now = timezone.now()
    for lead in page.object_list:
        lead.may_accept = lead_policy.can(actor, "accept", lead)
        remaining = (lead.respond_by - now) if lead.respond_by else timedelta(0)
        lead.hours_left = max(0, int(remaining.total_seconds() // 3600))
        lead.minutes_left = max(0, int(remaining.total_seconds() // 60))
        lead.overdue = lead.status == LeadStatus.OFFERED and remaining.total_seconds() <= 0
        lead.may_open_deal = lead.deal is not None and (
            actor.partner_role == "admin" or lead.deal.registered_by_id == actor.user.pk
        )
    context = {
        "page": page,
        "status": status,
        "statuses": PARTNER_LEAD_STATUSES,
        "querystring": querystring_without_page(request),
        "decline_form": ReasonForm(),
        "works_deals": actor.partner_role in DEAL_ROLES,
        "sla_hours": settings.PRM["LEAD_ACCEPTANCE_SLA_HOURS"],
    }
    # The body is rendered by Jinja2 (templates/jinja2/deals/lead_list_body.html); the Django
    # template around it is only the layout.
    body = engines["jinja2"].get_template("deals/lead_list_body.html")
    html = body.render(
        {**context, "list_url": reverse("deals:lead_list"), "pagination": pagination},
        request=request,  # csrf_input, for the forms
    )
    context["body"] = mark_safe(html)  # noqa: S308 -- Jinja2 autoescaped every value (prm/jinja2.py)
    return render(request, "deals/lead_list.html", context)


@require_POST
@partner_required
def lead_accept(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    lead = selectors.lead_get(actor=actor, pk=pk)
    done, deal = attempt(request, lambda: leads.lead_accept(actor=actor, lead=lead))
    if not done:
        return redirect("deals:lead_list")
    messages.success(
        request,
        _(
            "You accepted the lead %(company)s. Draft deal %(ref)s was created from it: "
            "add the products and submit it."
        )
        % {"company": lead.company_name, "ref": deal.reference},
    )
    return redirect("deals:edit", pk=deal.pk)


@require_POST
@partner_required
def lead_decline(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    lead = selectors.lead_get(actor=actor, pk=pk)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you decline, so the vendor can route better."))
        return redirect("deals:lead_list")
    done, _result = attempt(
        request, lambda: leads.lead_decline(actor=actor, lead=lead, reason=form.cleaned_data["reason"])
    )
    if done:
        messages.success(
            request,
            _("You declined the lead %(company)s. Thank you for the reason.")
            % {"company": lead.company_name},
        )
    return redirect("deals:lead_list")
