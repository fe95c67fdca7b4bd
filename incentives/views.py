"""Incentive actions on MDF activities: which deals an activity sourced. Thin: a form checks the
input, selectors find what the actor may see (404 otherwise), services write; every
ApplicationError becomes a message on the fund request's page."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from deals import selectors as deal_selectors
from deals.models import DealStatus
from mdf import selectors as mdf_selectors
from prm.errors import ApplicationError
from prm.views import partner_required

from . import selectors, services
from .forms import AttributeDealForm


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
    try:
        with transaction.atomic():
            services.attribute_deal(actor=actor, deal=deal, fund_request=fund_request)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
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
    try:
        with transaction.atomic():
            services.detach_deal(actor=actor, attribution=attribution)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(deal)s is no longer attributed to %(ref)s.")
            % {"deal": reference, "ref": fund_request.reference},
        )
    return redirect("mdf:request_detail", pk=fund_request.pk)
