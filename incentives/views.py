"""Incentive actions on MDF activities: which deals an activity sourced. Thin: a form checks the
input, selectors find what the actor may see (404 otherwise), services write; every
ApplicationError becomes a message on the fund request's page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from deals import selectors as deal_selectors
from deals.models import DealStatus
from mdf import selectors as mdf_selectors
from prm.errors import attempt
from prm.views import paginate, partner_required, querystring_without_page, start_export, vendor_required

from . import selectors, services
from .forms import AttributeDealForm
from .models import StatementStatus
from .policies import earning_policy, statement_policy


@require_POST
@partner_required
def attribute_deal(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    fund_request = mdf_selectors.request_get(actor=actor, pk=pk)
    form = AttributeDealForm(
        request.POST,
        deals=deal_selectors.deal_list(actor=actor).filter(status__in=[DealStatus.APPROVED, DealStatus.WON]),
    )
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form.errors.get("deal", [])))
        return redirect("mdf:request_detail", pk=fund_request.pk)
    deal = form.cleaned_data["deal"]
    done, _result = attempt(
        request, lambda: services.attribute_deal(actor=actor, deal=deal, fund_request=fund_request)
    )
    if done:
        messages.success(
            request,
            _("%(deal)s is now attributed to %(ref)s.")
            % {"deal": deal.reference, "ref": fund_request.reference},
        )
    return redirect("mdf:request_detail", pk=fund_request.pk)


@require_POST
@partner_required
def detach_deal(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    attribution = selectors.attribution_get(actor=actor, pk=pk)
    fund_request = attribution.fund_request
    reference = attribution.deal.reference
    done, _result = attempt(request, lambda: services.detach_deal(actor=actor, attribution=attribution))
    if done:
        messages.success(
            request,
            _("%(deal)s is no longer attributed to %(ref)s.")
            % {"deal": reference, "ref": fund_request.reference},
        )
    return redirect("mdf:request_detail", pk=fund_request.pk)


# --- Earnings (partner admins) --------------------------------------------------------------------
@partner_required
def earnings(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if not earning_policy.can(actor, "view"):
        raise Http404
    filters = {"currency": request.GET.get("currency", "")}
    return render(
        request,
        "incentives/earnings.html",
        {
            "balances": selectors.earnings_balances(actor=actor),
            "page": paginate(request, selectors.entry_list(actor=actor, filters=filters)),
            "statements": selectors.statement_list(actor=actor)[:24],
            "querystring": querystring_without_page(request),
        },
    )


@partner_required
def earnings_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "incentives.earnings")


@login_required
def statement_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """Partner admins (their own) and vendor finance / program admins; everybody else gets the same
    404 as for a statement that does not exist."""
    from .pdf import statement_pdf as render_pdf

    actor = request.actor
    statement = selectors.statement_get(actor=actor, pk=pk)
    if not statement_policy.can(actor, "download", statement):
        raise Http404
    response = HttpResponse(render_pdf(statement), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="statement-{statement.number}.pdf"'
    return response


# --- Settlements and programs (vendor) -------------------------------------------------------------
@vendor_required
def settlements(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    status = request.GET.get("status", "")
    if status not in StatementStatus.values:
        status = ""
    counts = selectors.statement_status_counts(actor=actor)
    total = sum(counts.values())
    return render(
        request,
        "incentives/settlements.html",
        {
            "page": paginate(
                request,
                selectors.statement_list(actor=actor, status=status or None),
                count=counts[status] if status else total,
            ),
            "status": status,
            "status_counts": [(value, label, counts[value]) for value, label in StatementStatus.choices],
            "total_count": total,
            "may_approve": statement_policy.can(actor, "approve"),
            "may_mark_paid": statement_policy.can(actor, "mark_paid"),
            "may_download": statement_policy.can(actor, "run"),
            "querystring": querystring_without_page(request),
        },
    )


@require_POST
@vendor_required
def statement_approve(request: HttpRequest, pk: int) -> HttpResponse:
    statement = selectors.statement_get(actor=request.actor, pk=pk)
    done, approved = attempt(
        request, lambda: services.statement_approve(actor=request.actor, statement=statement)
    )
    if done:
        messages.success(request, _("Statement %(number)s approved.") % {"number": approved.number})
    return redirect("incentives:settlements")


@require_POST
@vendor_required
def statement_mark_paid(request: HttpRequest, pk: int) -> HttpResponse:
    statement = selectors.statement_get(actor=request.actor, pk=pk)
    done, paid = attempt(
        request,
        lambda: services.statement_mark_paid(
            actor=request.actor,
            statement=statement,
            payment_reference=request.POST.get("payment_reference", ""),
        ),
    )
    if done:
        messages.success(request, _("Statement %(number)s marked paid.") % {"number": paid.number})
    return redirect("incentives:settlements")


@vendor_required
def programs(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "incentives/programs.html",
        {"programs": selectors.program_list(actor=request.actor), "may_edit": request.user.is_staff},
    )
