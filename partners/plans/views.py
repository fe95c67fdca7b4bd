"""The plan pages: the partner's plans (partner portal), every plan of the portfolio with its
progress (vendor console), one plan's page for either side, and the POSTs that change a plan. Thin:
a selector to read, a service to write (refusals become messages), a redirect back to the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partners import selectors as partner_selectors
from partners.models import BusinessPlan, PlanSide, PlanStatus
from partners.performance.policies import sees_money_figures
from prm.errors import attempt
from prm.tenancy import Actor
from prm.views import paginate, partner_required, querystring_without_page, start_export, vendor_required

from . import selectors, services
from .display import progress_svg
from .forms import (
    ActivityForm,
    ActivityStatusForm,
    CommentForm,
    GoalForm,
    PlanDraftForm,
    ReviewForm,
    TargetForm,
    ValueForm,
    VendorPlanFilterForm,
)
from .policies import SIGNING_VENDOR_ROLES, can_work_plans_of, plan_policy, side_of
from .progress import plans_progress


def _may_list(actor: Actor) -> None:
    """Learners and the money-blind vendor roles: the 404 of a page that is not there for them."""
    if not plan_policy.can(actor, "list"):
        raise Http404


def _detail(request: HttpRequest, plan: BusinessPlan) -> HttpResponse:
    actor = request.actor
    today = timezone.localdate()
    page = selectors.plan_page(actor=actor, plan=plan, today=today)
    may_edit = can_work_plans_of(actor, plan.partner)
    side = side_of(actor)
    signed_mine = plan.partner_signed_by_id if side == PlanSide.PARTNER else plan.vendor_signed_by_id
    return render(
        request,
        "partners/plans/plan.html",
        {
            "plan": plan,
            "page": page,
            "progress": page.progress,
            "chart": progress_svg(page.progress) if page.progress.goals else "",
            "today": today,
            "side": side,
            "may_edit": may_edit,
            "may_sign": may_edit and plan.status != PlanStatus.AGREED and not signed_mine,
            "sees_money": sees_money_figures(actor),
            "money_hidden": not sees_money_figures(actor),
            "overdue": sum(1 for a in page.activities if a.is_overdue(today)),
            "goal_form": GoalForm() if may_edit else None,
            "activity_form": ActivityForm(owners=selectors.activity_owners(actor=actor, plan=plan))
            if may_edit
            else None,
            "comment_form": CommentForm() if may_edit else None,
            "review_form": ReviewForm(
                initial={"note": plan.partner_review if side == PlanSide.PARTNER else plan.vendor_review}
            )
            if may_edit
            else None,
            "activity_statuses": ActivityStatusForm.base_fields["status"].choices,
            "list_url": "plans:partner_list" if side == PlanSide.PARTNER else "plans:vendor_list",
            "reporting_currency": settings.PRM["REPORTING_CURRENCY"],
        },
    )


# --- partner portal ---------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@partner_required
def partner_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    _may_list(actor)
    today = timezone.localdate()
    may_draft = can_work_plans_of(actor, actor.partner)
    form = PlanDraftForm(request.POST or None, today=today) if may_draft else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            done, plan = attempt(
                request,
                lambda: services.plan_draft(
                    actor=actor, partner=actor.partner, period_key=form.cleaned_data["period"]
                ),
                form=form,
            )
            if done:
                messages.success(
                    request,
                    _("Your draft plan for %(period)s is ready: add goals and activities, then sign it.")
                    % {"period": plan.period_label},
                )
                return redirect("plans:partner_detail", pk=plan.pk)
    plans = selectors.plan_list(actor=actor)
    rows = sorted(
        plans_progress(plans, today=today, with_money=sees_money_figures(actor)).values(),
        key=lambda p: (-p.plan.period_start.toordinal(), p.plan.pk),
    )
    return render(
        request,
        "partners/plans/partner_list.html",
        {"rows": rows, "form": form, "today": today},
        status=400 if form is not None and form.is_bound and form.errors else 200,
    )


@require_GET
@partner_required
def partner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.plan_get(actor=request.actor, pk=pk))


# --- vendor console ---------------------------------------------------------------------------------
@require_GET
@vendor_required
def vendor_list(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    _may_list(actor)
    today = timezone.localdate()
    form = VendorPlanFilterForm(request.GET or None, today=today)
    filters = form.filters()
    rows = selectors.plan_progress_rows(actor=actor, filters=filters, today=today)
    page = paginate(request, rows)
    return render(
        request,
        "partners/plans/vendor_list.html",
        {
            "form": form,
            "page": page,
            "filtered": bool(filters),
            "querystring": querystring_without_page(request),
            "today": today,
            "may_draft": actor.vendor_role in SIGNING_VENDOR_ROLES,
            "sees_money": sees_money_figures(actor),
        },
    )


@vendor_required
def vendor_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "partners.plans")


@require_http_methods(["GET", "POST"])
@vendor_required
def vendor_new(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    if actor.vendor_role not in SIGNING_VENDOR_ROLES:
        raise Http404  # finance reads plans; the people who sign them draft them
    today = timezone.localdate()
    form = PlanDraftForm(
        request.POST or None, today=today, partners=partner_selectors.partner_list(actor=actor)
    )
    if request.method == "POST" and form.is_valid():
        partner = form.cleaned_data["partner"]
        done, plan = attempt(
            request,
            lambda: services.plan_draft(actor=actor, partner=partner, period_key=form.cleaned_data["period"]),
            form=form,
        )
        if done:
            messages.success(
                request,
                _("Draft plan of %(partner)s for %(period)s created.")
                % {"partner": partner.legal_name, "period": plan.period_label},
            )
            return redirect("plans:vendor_detail", pk=plan.pk)
    return render(
        request,
        "partners/plans/vendor_new.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


@require_GET
@vendor_required
def vendor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, selectors.plan_get(actor=request.actor, pk=pk))


# --- changes, from either side ------------------------------------------------------------------
def _back(request: HttpRequest, plan: BusinessPlan, anchor: str = "") -> HttpResponse:
    name = "plans:partner_detail" if request.actor.is_partner else "plans:vendor_detail"
    return redirect(reverse(name, args=[plan.pk]) + (f"#{anchor}" if anchor else ""))


def _form_errors(request: HttpRequest, form: Any) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


def _plan_action(
    view: Callable[[HttpRequest, BusinessPlan], HttpResponse],
) -> Callable[..., HttpResponse]:
    """A POST on one plan, by whoever may see it (the service decides who may change it)."""

    @require_POST
    @login_required
    def wrapper(request: HttpRequest, pk: int, **kwargs: Any) -> HttpResponse:
        if not (request.actor.is_partner or request.actor.is_vendor):
            raise Http404
        plan = selectors.plan_get(actor=request.actor, pk=pk)
        return view(request, plan, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


@_plan_action
def plan_sign(request: HttpRequest, plan: BusinessPlan) -> HttpResponse:
    done, signed = attempt(request, lambda: services.plan_sign(actor=request.actor, plan=plan))
    if done:
        if signed.status == PlanStatus.AGREED:
            messages.success(
                request,
                _("Signed: revision %(n)s of the plan is agreed by both sides.") % {"n": signed.revision},
            )
        else:
            messages.success(request, _("Signed. The other side is asked for its sign-off."))
    return _back(request, plan)


@_plan_action
def plan_request_signoff(request: HttpRequest, plan: BusinessPlan) -> HttpResponse:
    done, _plan = attempt(request, lambda: services.plan_request_signoff(actor=request.actor, plan=plan))
    if done:
        messages.success(request, _("The other side is asked for its sign-off."))
    return _back(request, plan)


@_plan_action
def goal_add(request: HttpRequest, plan: BusinessPlan) -> HttpResponse:
    form = GoalForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, plan, "goals")
    done, _goal = attempt(
        request, lambda: services.goal_add(actor=request.actor, plan=plan, **form.cleaned_data)
    )
    if done:
        messages.success(request, _("Goal added."))
    return _back(request, plan, "goals")


@_plan_action
def goal_target(request: HttpRequest, plan: BusinessPlan, goal_pk: int) -> HttpResponse:
    goal = selectors.goal_get(actor=request.actor, plan=plan, pk=goal_pk)
    form = TargetForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, plan, "goals")
    was_agreed = plan.status == PlanStatus.AGREED
    done, _changed = attempt(
        request,
        lambda: services.goal_update(actor=request.actor, goal=goal, target=form.cleaned_data["target"]),
    )
    if done:
        messages.success(
            request,
            _("Target changed. It is a new revision of the agreed plan, which both sides sign again.")
            if was_agreed
            else _("Target changed."),
        )
    return _back(request, plan, "goals")


@_plan_action
def goal_remove(request: HttpRequest, plan: BusinessPlan, goal_pk: int) -> HttpResponse:
    goal = selectors.goal_get(actor=request.actor, plan=plan, pk=goal_pk)
    done, _none = attempt(request, lambda: services.goal_remove(actor=request.actor, goal=goal))
    if done:
        messages.success(request, _("Goal removed."))
    return _back(request, plan, "goals")


@_plan_action
def goal_value(request: HttpRequest, plan: BusinessPlan, goal_pk: int) -> HttpResponse:
    goal = selectors.goal_get(actor=request.actor, plan=plan, pk=goal_pk)
    form = ValueForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, plan, "goals")
    done, _changed = attempt(
        request,
        lambda: services.goal_record_value(actor=request.actor, goal=goal, value=form.cleaned_data["value"]),
    )
    if done:
        messages.success(request, _("Value recorded."))
    return _back(request, plan, "goals")


@_plan_action
def activity_add(request: HttpRequest, plan: BusinessPlan) -> HttpResponse:
    form = ActivityForm(request.POST, owners=selectors.activity_owners(actor=request.actor, plan=plan))
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, plan, "activities")
    side, owner_id = form.owner_parts()
    done, _activity = attempt(
        request,
        lambda: services.activity_add(
            actor=request.actor,
            plan=plan,
            title=form.cleaned_data["title"],
            owner_side=side,
            owner_id=owner_id,
            due_on=form.cleaned_data["due_on"],
        ),
    )
    if done:
        messages.success(request, _("Activity added."))
    return _back(request, plan, "activities")


@_plan_action
def activity_status(request: HttpRequest, plan: BusinessPlan, activity_pk: int) -> HttpResponse:
    activity = selectors.activity_get(actor=request.actor, plan=plan, pk=activity_pk)
    form = ActivityStatusForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, plan, "activities")
    done, _activity = attempt(
        request,
        lambda: services.activity_set_status(
            actor=request.actor, activity=activity, status=form.cleaned_data["status"]
        ),
    )
    if done:
        messages.success(request, _("Activity updated."))
    return _back(request, plan, "activities")


@_plan_action
def comment_add(request: HttpRequest, plan: BusinessPlan) -> HttpResponse:
    form = CommentForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, plan, "comments")
    done, _comment = attempt(
        request, lambda: services.comment_add(actor=request.actor, plan=plan, body=form.cleaned_data["body"])
    )
    if done:
        messages.success(request, _("Comment added."))
    return _back(request, plan, "comments")


@_plan_action
def review_save(request: HttpRequest, plan: BusinessPlan) -> HttpResponse:
    form = ReviewForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(request, plan, "review")
    done, _plan = attempt(
        request, lambda: services.review_save(actor=request.actor, plan=plan, note=form.cleaned_data["note"])
    )
    if done:
        messages.success(request, _("Your side's mid-period review is saved."))
    return _back(request, plan, "review")


@require_GET
@login_required
def revision_detail(request: HttpRequest, pk: int, revision_pk: int) -> HttpResponse:
    """An agreed revision as both sides signed it, readable after the plan moved on."""
    actor = request.actor
    if not (actor.is_partner or actor.is_vendor):
        raise Http404
    plan = selectors.plan_get(actor=actor, pk=pk)
    revision = selectors.revision_get(actor=actor, plan=plan, pk=revision_pk)
    return render(
        request,
        "partners/plans/revision.html",
        {
            "plan": plan,
            "revision": revision,
            "sees_money": sees_money_figures(actor),
            "side": side_of(actor),
            "detail_url": "plans:partner_detail" if actor.is_partner else "plans:vendor_detail",
        },
    )
