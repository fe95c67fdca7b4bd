"""Support case pages. Thin: parse input, call a selector or a service, render.

One case page serves both sides: the partner's people see the conversation and their actions; vendor
staff working the case also see internal notes and the triage tools. Every case id is looked up
through the policy's scope first, so a case that is not yours is the same 404 as one that does not
exist, on every page and action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from prm.errors import ApplicationError, add_form_error, attempt
from prm.views import paginate, partner_required, querystring_without_page, start_export, vendor_required

from ..activity import plain_history
from ..models import SupportCase
from ..uploads import DOCUMENT_TYPES
from . import linkables, selectors, services, sla
from .forms import (
    AssignForm,
    CaseOpenForm,
    FilesForm,
    PriorityForm,
    QueueFilterForm,
    RateForm,
    ReopenForm,
    ReplyForm,
    ReportForm,
    ResolveForm,
)
from .policies import case_policy


def _files(request: HttpRequest) -> list[Any]:
    return request.FILES.getlist("files")


# --- the partner's cases -----------------------------------------------------------------------
@partner_required
def case_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    cases = selectors.partner_case_list(actor=request.actor, status=status)
    page = paginate(request, cases)
    now = timezone.now()
    return render(
        request,
        "partners/support/case_list.html",
        {
            "page": page,
            "rows": [(case, sla.case_sla(case, now)) for case in page],
            "status": status,
            "querystring": querystring_without_page(request),
        },
    )


@partner_required
def case_open(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    form = CaseOpenForm(request.POST or None, request.FILES or None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done, case = attempt(
            request,
            lambda: services.case_open(
                actor=actor,
                kind=data["kind"],
                subject=data["subject"],
                description=data["description"],
                priority=data["priority"],
                related=data.get("related") or "",
                files=_files(request),
            ),
            form=form,
        )
        if done:
            messages.success(
                request,
                _("Case %(number)s is open. We answer by %(when)s.")
                % {
                    "number": case.number,
                    "when": date_format(
                        timezone.localtime(case.first_response_due_at), "SHORT_DATETIME_FORMAT"
                    ),
                },
            )
            return redirect("support:case_detail", pk=case.pk)
    return render(
        request,
        "partners/support/case_open.html",
        {
            "form": form,
            "max_size": filesizeformat(settings.PRM["UPLOAD_MAX_BYTES"]),
            "kinds": selectors.kinds(),
        },
        status=400 if form.errors else 200,
    )


# --- one case, both sides ----------------------------------------------------------------------------
def _case_page(
    request: HttpRequest, case: SupportCase, *, forms: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    actor = request.actor
    may = {
        action: case_policy.can(actor, action, case)
        for action in (
            "reply",
            "add_files",
            "close",
            "rate",
            "note",
            "assign",
            "change_priority",
            "resolve",
            "reopen",
            "view_notes",
        )
    }
    may["rate"] = may["rate"] and case.rating is None and case.resolved_at is not None and not case.is_open
    may["resolve"] = may["resolve"] and case.is_open
    may["reopen"] = may["reopen"] and not case.is_open
    forms = forms or {}
    shown = {
        "reply": may["reply"],
        "files": may["add_files"],
        "rate": may["rate"],
        "resolve": may["resolve"],
        "reopen": may["reopen"],
        "priority": may["change_priority"] and case.is_open,
        "assign": may["assign"],
    }
    for name, form in forms.items():
        if form.errors and not shown.get(name):
            # The form is not on the page (the case moved on, or the role has no such action):
            # say what was wrong as a message instead.
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
    context = {
        "case": case,
        "sla": sla.case_sla(case),
        "entries": selectors.conversation(actor=actor, case=case),
        # A sentence per event and the changes in plain words, for partners and vendor staff alike:
        # the raw keys stay in the admin's audit trail.
        "history": plain_history(selectors.case_history(actor=actor, case=case)[:50]),
        "related": linkables.resolve(actor, case.related_type_id, case.related_id),
        "related_kind": linkables.kind_label(case.related_type_id),
        "may": may,
        "reply_form": forms.get("reply") or ReplyForm(),
        "files_form": forms.get("files") or FilesForm(),
        "rate_form": forms.get("rate") or RateForm(),
        "resolve_form": forms.get("resolve") or ResolveForm(),
        "reopen_form": forms.get("reopen") or ReopenForm(),
        "priority_form": forms.get("priority") or PriorityForm(initial={"priority": case.priority}),
        "assign_form": forms.get("assign")
        or (
            AssignForm(initial={"assignee": case.assignee_id, "team": case.team_id})
            if may["assign"]
            else None
        ),
        "max_size": filesizeformat(settings.PRM["UPLOAD_MAX_BYTES"]),
    }
    return render(request, "partners/support/case_detail.html", context, status=status)


@login_required
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get(actor=request.actor, pk=pk)
    return _case_page(request, case)


def _action(
    request: HttpRequest,
    pk: int,
    form_class: type,
    name: str,
    call: Callable[[SupportCase, dict[str, Any]], Any],
    success: str,
    *,
    with_files: bool = False,
) -> HttpResponse:
    """A POST on a case: the case through the scope (a foreign id is a 404 before anything is read),
    the form, the service; on an error the case page again with the form's errors."""
    case = selectors.case_get(actor=request.actor, pk=pk)
    form = form_class(request.POST, request.FILES if with_files else None)
    if form.is_valid():
        done, result = attempt(request, lambda: call(case, form.cleaned_data), report=False)
        if done:
            messages.success(request, success)
            return redirect("support:case_detail", pk=case.pk)
        if result.field not in form.fields:
            # A refusal about the case (its state, who may act), not about what was typed: said
            # on the case page, whose forms may not even show this one any more.
            messages.error(request, result.message)
            return redirect("support:case_detail", pk=case.pk)
        add_form_error(form, result)
    case = selectors.case_get(actor=request.actor, pk=pk)
    return _case_page(request, case, forms={name: form}, status=400)


@login_required
@require_POST
def case_reply(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor

    def call(case: SupportCase, data: dict[str, Any]) -> Any:
        if data.get("internal"):
            if _files(request):
                raise ApplicationError(_("Internal notes take no files."), field="files")
            return services.case_add_note(actor=actor, case=case, body=data["body"])
        return services.case_reply(actor=actor, case=case, body=data["body"], files=_files(request))

    internal = bool(request.POST.get("internal"))
    return _action(
        request,
        pk,
        ReplyForm,
        "reply",
        call,
        _("Internal note added.") if internal else _("Reply sent."),
        with_files=True,
    )


@login_required
@require_POST
def case_add_files(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        FilesForm,
        "files",
        lambda case, _data: services.case_add_files(actor=request.actor, case=case, files=_files(request)),
        _("Files added."),
        with_files=True,
    )


@login_required
@require_POST
def case_close(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get(actor=request.actor, pk=pk)
    done, _result = attempt(request, lambda: services.case_close(actor=request.actor, case=case))
    if done:
        messages.success(request, _("Case %(number)s is closed.") % {"number": case.number})
    return redirect("support:case_detail", pk=case.pk)


@login_required
@require_POST
def case_rate(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        RateForm,
        "rate",
        lambda case, data: services.case_rate(
            actor=request.actor, case=case, rating=data["rating"], comment=data.get("comment", "")
        ),
        _("Thank you for your rating."),
    )


@login_required
@require_POST
def case_assign(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        AssignForm,
        "assign",
        lambda case, data: services.case_assign(
            actor=request.actor, case=case, assignee=data.get("assignee"), team=data.get("team")
        ),
        _("Assignment saved."),
    )


@login_required
@require_POST
def case_priority(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        PriorityForm,
        "priority",
        lambda case, data: services.case_change_priority(
            actor=request.actor, case=case, priority=data["priority"]
        ),
        _("Priority changed; the SLA due times moved with it."),
    )


@login_required
@require_POST
def case_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        ResolveForm,
        "resolve",
        lambda case, data: services.case_resolve(actor=request.actor, case=case, body=data.get("body", "")),
        _("Case resolved. The partner is asked to rate it."),
    )


@login_required
@require_POST
def case_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(
        request,
        pk,
        ReopenForm,
        "reopen",
        lambda case, data: services.case_reopen(actor=request.actor, case=case, reason=data["reason"]),
        _("Case reopened."),
    )


@login_required
@require_GET
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    """A case's file, for whoever sees the case; the same 404 for everybody else. Never rendered
    inline, never sniffed by the browser."""
    attachment = selectors.attachment_get(actor=request.actor, pk=pk)
    try:
        handle = attachment.file.open("rb")
    except (OSError, ValueError) as exc:
        raise Http404 from exc
    content_type = (
        attachment.content_type if attachment.content_type in DOCUMENT_TYPES else "application/octet-stream"
    )
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=attachment.original_name or "attachment",
        content_type=content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


# --- the vendor's queue and report -------------------------------------------------------------------
def _works_cases(request: HttpRequest) -> None:
    if not case_policy.can(request.actor, "queue"):
        raise Http404


@vendor_required
def queue(request: HttpRequest) -> HttpResponse:
    _works_cases(request)
    actor = request.actor
    form = QueueFilterForm(request.GET or None)
    now = timezone.now()
    cases = selectors.queue(actor=actor, filters=form.filters(), now=now)
    page = paginate(request, cases)
    return render(
        request,
        "partners/support/queue.html",
        {
            "form": form,
            "page": page,
            "rows": [(case, sla.case_sla(case, now)) for case in page],
            "counts": selectors.queue_counts(actor=actor, now=now),
            "querystring": querystring_without_page(request),
            "now": now,
        },
    )


@vendor_required
def report(request: HttpRequest) -> HttpResponse:
    _works_cases(request)
    form = ReportForm(request.GET or None)
    data = selectors.report(actor=request.actor, days=form.days_value())
    return render(
        request,
        "partners/support/report.html",
        {"form": form, "report": data, "querystring": querystring_without_page(request)},
    )


@vendor_required
def report_export(request: HttpRequest) -> HttpResponse:
    _works_cases(request)
    return start_export(request, "partners.support_cases")
