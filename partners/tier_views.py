"""The vendor's tier reviews: the tier changes the evaluation proposes (decided by the partner's
channel account manager or a program admin), the running grace periods, and the evaluation on
demand (program admins). Thin: a selector or a service each."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from prm.errors import attempt
from prm.views import paginate, querystring_without_page, vendor_required

from .models import TierProposalStatus
from .performance import tier_selectors, tier_services
from .performance.policies import TIER_VENDOR_ROLES, can_run_tier_evaluation

TABS = [
    ("pending", gettext_lazy("Awaiting decision")),
    ("grace", gettext_lazy("In a grace period")),
    ("decided", gettext_lazy("Decided")),
    ("all", gettext_lazy("All proposals")),
]


@vendor_required
def tier_review_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    tab = request.GET.get("status", "pending")
    if tab not in dict(TABS):
        tab = "pending"
    if tab == "grace":
        page = paginate(request, tier_selectors.running_grace_list(actor=actor))
        for grace in page.object_list:
            grace.missing = tier_selectors.shortfalls_of(grace)
    else:
        page = paginate(request, tier_selectors.proposal_list(actor=actor, status=tab))
        may_decide = actor.vendor_role in TIER_VENDOR_ROLES  # the list is the portfolio already
        for proposal in page.object_list:
            proposal.missing = tier_selectors.shortfalls_of(proposal)
            proposal.may_decide = may_decide and proposal.status == TierProposalStatus.PENDING
    return render(
        request,
        "partners/vendor/tier_review_list.html",
        {
            "page": page,
            "status": tab,
            "tabs": TABS,
            "querystring": querystring_without_page(request),
            "may_evaluate": can_run_tier_evaluation(actor),
            "sees_tiers": actor.vendor_role in TIER_VENDOR_ROLES,
        },
    )


@require_POST
@vendor_required
def tier_proposal_approve(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    proposal = tier_selectors.proposal_get(actor=actor, pk=pk)
    done, _result = attempt(
        request,
        lambda: tier_services.tier_proposal_approve(
            actor=actor, proposal=proposal, note=request.POST.get("note", "")[:2000]
        ),
    )
    if done:
        messages.success(
            request,
            _("%(partner)s is now %(tier)s; its admins were told.")
            % {"partner": proposal.partner.legal_name, "tier": proposal.to_tier.name},
        )
    return redirect("vendor:tier_review_list")


@require_POST
@vendor_required
def tier_proposal_waive(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    proposal = tier_selectors.proposal_get(actor=actor, pk=pk)
    done, _result = attempt(
        request,
        lambda: tier_services.tier_proposal_waive(
            actor=actor, proposal=proposal, note=request.POST.get("note", "")[:2000]
        ),
    )
    if done:
        messages.success(
            request,
            _("%(partner)s keeps %(tier)s; its admins were told why.")
            % {"partner": proposal.partner.legal_name, "tier": proposal.from_tier.name},
        )
    return redirect("vendor:tier_review_list")


@require_POST
@vendor_required
def tier_evaluate(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    done, _result = attempt(request, lambda: tier_services.tier_evaluation_request(actor=actor))
    if done:
        messages.success(
            request,
            _("The tier evaluation is running; you will get a notification with what it changed."),
        )
    return redirect("vendor:tier_review_list")
