"""Rows for the joint business plan tests: a partner with an admin and a channel account manager,
and plans made straight with the ORM (the services are tested on their own)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from partners.models import BusinessPlan, Partner, PlanActivity, PlanGoal
from prm.tenancy import Actor
from tests import factories
from tests.deals.factories import cam_for

H1_2027 = (date(2027, 1, 1), date(2027, 6, 30))  # 181 days


@dataclass
class Side:
    partner: Partner
    admin: Actor  # the partner's admin
    cam: Actor  # its channel account manager


def side(name: str = "Acme Planning") -> Side:
    partner = factories.PartnerFactory(legal_name=name)
    admin = factories.actor_for(factories.partner_user(partner))
    return Side(partner=partner, admin=admin, cam=cam_for(partner))


def plan(
    partner: Partner,
    *,
    period: tuple[date, date] = H1_2027,
    key: str = "2027H1",
    label: str = "FY2027 H1",
    goals: list[tuple[str, str]] | None = None,
    **fields: Any,
) -> BusinessPlan:
    made = BusinessPlan.objects.create(
        partner=partner,
        period_key=key,
        period_label=label,
        period_start=period[0],
        period_end=period[1],
        **fields,
    )
    for n, (kind, target) in enumerate(goals or []):
        PlanGoal.objects.create(
            plan=made,
            partner=partner,
            kind=kind,
            label=f"Custom {n}" if kind == "custom" else "",
            target=Decimal(target),
            position=n,
        )
    return made


def activity(
    plan_: BusinessPlan, owner: Any, due_on: date, status: str = "planned", title: str = ""
) -> PlanActivity:
    return PlanActivity.objects.create(
        plan=plan_,
        partner=plan_.partner,
        title=title or f"Activity due {due_on}",
        owner_side="partner",
        owner=owner,
        due_on=due_on,
        status=status,
    )
