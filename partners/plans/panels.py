"""The plans' panels: the active plan's progress on the partner home, and a plans card on the
partner 360 page (both through partners.panels, named on PartnersConfig). Each reads through
``plan_policy`` (learners and money-blind roles get nothing).

The home panel computes the plan's progress live (the plan, its goals, the exchange rates, one KPI
query per goal kind, the overdue count). The 360 card keeps to the page's budget of a query or
two per panel: one query for the plan with its goal and overdue-activity counts; its progress is a
click away on the plan's page."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone

from partners.models import OPEN_ACTIVITY, PlanActivity
from partners.panels import home_cached
from partners.performance.policies import sees_money_figures

from . import selectors
from .policies import plan_policy
from .progress import plans_progress


def partner_home_panel(request: HttpRequest) -> dict[str, Any] | None:
    actor = request.actor
    if not actor.is_partner or not plan_policy.can(actor, "list"):
        return None
    # A plan changes a few times a half-year and its figures nightly: kept a minute per partner,
    # role (money figures or not) and language (partners.panels.home_cached), where computing the
    # progress live was a query per goal kind and the plan's read on every visit of the home.
    return home_cached(request, "plan", lambda: _home_panel(actor))


def _home_panel(actor: Any) -> dict[str, Any]:
    today = timezone.localdate()
    plan = selectors.active_plan(actor=actor, partner_id=actor.partner_id, today=today)
    if plan is None:
        return {"template": "partners/plans/_home_panel.html", "html_cached_as": "plan", "plan": None}
    return {
        "template": "partners/plans/_home_panel.html",
        # Its markup is kept with its data for the minute (partners.views._panel_html).
        "html_cached_as": "plan",
        "plan": plan,
        "progress": plans_progress([plan], today=today, with_money=sees_money_figures(actor))[plan.pk],
        "overdue": PlanActivity.objects.filter(plan=plan, status__in=OPEN_ACTIVITY, due_on__lt=today).count(),
    }


def partner_360_panel(request: HttpRequest, *, partner: Any) -> dict[str, Any] | None:
    actor = request.actor
    if not plan_policy.can(actor, "list"):
        return None
    today = timezone.localdate()
    plan = (
        plan_policy.scope(actor)
        .filter(partner_id=partner.pk, period_start__lte=today, period_end__gte=today)
        .annotate(
            goal_count=Count("goals", distinct=True),
            overdue=Count(
                "activities",
                filter=Q(activities__status__in=OPEN_ACTIVITY, activities__due_on__lt=today),
                distinct=True,
            ),
        )
        .select_related("partner_signed_by", "vendor_signed_by")
        .first()
    )
    return {"template": "partners/plans/_360_panel.html", "plan": plan, "partner": partner}
