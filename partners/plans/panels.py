"""The plans' panels: the active plan's progress on the partner home, and a plans card on the
partner 360 page (both through partners.panels, named on PartnersConfig). Each reads through
``plan_policy`` (learners and money-blind roles get nothing) and keeps to a few queries: the plan,
its goals, one KPI query per goal kind."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from partners.models import PlanActivity, PlanSide
from partners.performance.policies import sees_money_figures

from . import selectors
from .policies import plan_policy, side_of
from .progress import plans_progress


def _panel(request: HttpRequest, *, partner_id: int, template: str) -> dict[str, Any] | None:
    actor = request.actor
    if not plan_policy.can(actor, "list"):
        return None
    today = timezone.localdate()
    plan = selectors.active_plan(actor=actor, partner_id=partner_id, today=today)
    progress = (
        plans_progress([plan], today=today, with_money=sees_money_figures(actor))[plan.pk] if plan else None
    )
    overdue = (
        PlanActivity.objects.filter(
            plan=plan, status__in=("planned", "in_progress"), due_on__lt=today
        ).count()
        if plan
        else 0
    )
    return {
        "template": template,
        "plan": plan,
        "progress": progress,
        "overdue": overdue,
        "side": side_of(actor),
        "detail_url": "plans:partner_detail" if side_of(actor) == PlanSide.PARTNER else "plans:vendor_detail",
    }


def partner_home_panel(request: HttpRequest) -> dict[str, Any] | None:
    actor = request.actor
    if not actor.is_partner:
        return None
    return _panel(request, partner_id=actor.partner_id, template="partners/plans/_home_panel.html")


def partner_360_panel(request: HttpRequest, *, partner: Any) -> dict[str, Any] | None:
    panel = _panel(request, partner_id=partner.pk, template="partners/plans/_360_panel.html")
    if panel is not None:
        panel["partner"] = partner
    return panel
