"""Reads of the joint business plans; every query goes through ``plan_policy``. Progress is
computed here, live (partners.plans.progress), never read from a stored copy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import Http404

from partners.models import BusinessPlan, Membership, PlanActivity, PlanComment, PlanGoal, PlanRevision
from partners.performance.policies import sees_money_figures
from prm.tenancy import Actor

from .policies import plan_policy
from .progress import PlanProgress, plans_progress


def _goals() -> Prefetch:
    return Prefetch("goals", queryset=PlanGoal.objects.order_by("position", "pk"))


def plan_list(*, actor: Actor, filters: dict[str, Any] | None = None) -> QuerySet[BusinessPlan]:
    filters = filters or {}
    queryset = plan_policy.scope(actor).select_related(
        "partner", "partner__tier", "partner__channel_account_manager"
    )
    if q := filters.get("q"):
        queryset = queryset.filter(partner__legal_name__icontains=q)
    if period := filters.get("period"):
        queryset = queryset.filter(period_key=period)
    if status := filters.get("status"):
        queryset = queryset.filter(status=status)
    return queryset.prefetch_related(_goals()).order_by("-period_start", "partner__legal_name", "pk")


def plan_get(*, actor: Actor, pk: Any) -> BusinessPlan:
    return plan_policy.get_or_404(
        actor,
        plan_policy.model.objects.select_related("partner", "partner_signed_by", "vendor_signed_by"),
        pk=pk,
    )


def plan_progress_rows(
    *, actor: Actor, filters: dict[str, Any] | None = None, today: date
) -> list[PlanProgress]:
    """The plans of the actor's scope with their progress, behind plan first (the furthest behind
    first). Progress is live, so the order is made in Python over the filtered plans: one query for
    the plans, one for their goals, one per goal kind and period."""
    plans = list(plan_list(actor=actor, filters=filters))
    progress = plans_progress(plans, today=today, with_money=sees_money_figures(actor))
    rows = sorted(progress.values(), key=lambda p: p.sort_key)
    if (filters or {}).get("behind"):
        rows = [row for row in rows if row.behind]
    return rows


@dataclass
class PlanPage:
    plan: BusinessPlan
    progress: PlanProgress
    activities: list[PlanActivity]
    comments: list[PlanComment]
    revisions: list[PlanRevision]


def plan_page(*, actor: Actor, plan: BusinessPlan, today: date) -> PlanPage:
    prefetch_related_objects([plan], _goals())
    progress = plans_progress([plan], today=today, with_money=sees_money_figures(actor))[plan.pk]
    return PlanPage(
        plan=plan,
        progress=progress,
        activities=list(
            PlanActivity.objects.filter(plan=plan).select_related("owner").order_by("due_on", "pk")
        ),
        comments=list(
            PlanComment.objects.filter(plan=plan).select_related("author").order_by("created_at", "pk")
        ),
        revisions=list(
            PlanRevision.objects.filter(plan=plan)
            .select_related("partner_signed_by", "vendor_signed_by")
            .order_by("-number")
        ),
    )


def revision_get(*, actor: Actor, plan: BusinessPlan, pk: Any) -> PlanRevision:
    """An agreed revision of a plan the caller already read through the policy."""
    try:
        return PlanRevision.objects.select_related("partner_signed_by", "vendor_signed_by").get(
            plan=plan, pk=int(pk)
        )
    except (PlanRevision.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def goal_get(*, actor: Actor, plan: BusinessPlan, pk: Any) -> PlanGoal:
    """A goal of a plan the caller already read through the policy; another plan's goal (a
    partner's own, posted under this plan's URL) is the same 404 as a missing one."""
    goal = PlanGoal.objects.filter(plan=plan, pk=pk).select_related("plan", "plan__partner").first()
    if goal is None:
        raise Http404
    return goal


def activity_get(*, actor: Actor, plan: BusinessPlan, pk: Any) -> PlanActivity:
    """An activity of a plan the caller already read through the policy (as :func:`goal_get`)."""
    activity = PlanActivity.objects.filter(plan=plan, pk=pk).select_related("plan__partner").first()
    if activity is None:
        raise Http404
    return activity


def activity_owners(*, actor: Actor, plan: BusinessPlan) -> list[tuple[str, str]]:
    """Who may own an activity: the partner's active people, its channel account manager, and the
    vendor person filling the form in (a program admin). ``plan`` comes from ``plan_get`` (its
    partner and channel account manager joined): one query for the people."""
    partner_people = [
        (f"partner:{m.user_id}", f"{m.user.full_name or m.user.email} ({plan.partner.legal_name})")
        for m in Membership.objects.filter(partner_id=plan.partner_id, is_active=True)
        .select_related("user")
        .order_by("user__email")
    ]
    vendor_people = []
    manager = plan.partner.channel_account_manager
    if manager is not None:
        vendor_people.append((f"vendor:{manager.pk}", f"{manager.full_name or manager.email} (vendor)"))
    if actor.is_vendor and (manager is None or manager.pk != actor.user.pk):
        vendor_people.append(
            (f"vendor:{actor.user.pk}", f"{actor.user.full_name or actor.user.email} (vendor)")
        )
    return partner_people + vendor_people


def active_plan(*, actor: Actor, partner_id: int, today: date) -> BusinessPlan | None:
    """The partner's plan for the period today falls in."""
    return (
        plan_policy.scope(actor)
        .filter(partner_id=partner_id, period_start__lte=today, period_end__gte=today)
        .prefetch_related(_goals())
        .select_related("partner")
        .first()
    )
