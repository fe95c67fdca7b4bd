"""Demo joint business plans (``manage.py seed_demo``, after the scorecards: progress reads the other
apps' demo data live). Acme's plan for the current half-year is agreed by both sides, with goals
measured from its demo deals and certifications, activities (one overdue), comments and review
notes; Globex's is a draft its channel account manager signed, waiting for the partner's sign-off.
Idempotent: a partner that already has a plan for the period is left alone."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from partners.middleware import resolve_actor
from partners.models import BusinessPlan, Partner, PartnerRole
from prm.models import User

from . import services
from .periods import period_of


def _people(partner: Partner) -> tuple[Any, Any] | None:
    admin = partner.memberships.filter(role=PartnerRole.ADMIN, is_active=True).select_related("user").first()
    manager = partner.channel_account_manager
    if admin is None or manager is None:
        return None
    return resolve_actor(admin.user), resolve_actor(manager)


def seed(*, stdout: Any = None) -> None:
    today = timezone.localdate()
    period = period_of(today)
    made = []
    acme = (
        Partner.objects.filter(legal_name="Acme Networks Inc.")
        .select_related("channel_account_manager")
        .first()
    )
    if acme and not BusinessPlan.objects.filter(partner=acme, period_start=period.start).exists():
        people = _people(acme)
        if people:
            partner_admin, cam = people
            plan = services.plan_draft(actor=cam, partner=acme, period_key=period.key, today=today)
            for kind, target in (
                ("won_revenue", "400000"),
                ("deals_registered", "12"),
                ("certified_people", "4"),
                ("mdf_spend", "20000"),
            ):
                services.goal_add(actor=cam, plan=plan, kind=kind, target=target)
            custom = services.goal_add(
                actor=partner_admin, plan=plan, kind="custom", label="Joint customer events", target="4"
            )
            services.goal_record_value(actor=partner_admin, goal=custom, value="1")
            sam = User.objects.filter(email="sam.sales@acme.example").first()
            services.activity_add(
                actor=cam,
                plan=plan,
                title="Quarterly pipeline review",
                owner_side="vendor",
                owner_id=cam.user.pk,
                due_on=today - timedelta(days=5),
            )
            services.activity_add(
                actor=partner_admin,
                plan=plan,
                title="Security Specialist certification for two engineers",
                owner_side="partner",
                owner_id=(sam or partner_admin.user).pk,
                due_on=today + timedelta(days=30),
            )
            services.comment_add(
                actor=cam,
                plan=plan,
                body="Targets follow last half-year's run rate plus the new SD-WAN line.",
            )
            services.comment_add(
                actor=partner_admin, plan=plan, body="Agreed. We add two events with the vendor."
            )
            services.plan_sign(actor=partner_admin, plan=plan)
            plan = services.plan_sign(actor=cam, plan=BusinessPlan.objects.get(pk=plan.pk))
            services.review_save(
                actor=cam,
                plan=plan,
                note="Revenue on pace; certifications need a push before the quarter ends.",
            )
            made.append(f"{acme.legal_name} (agreed)")
    globex = (
        Partner.objects.filter(legal_name="Globex Systems GmbH")
        .select_related("channel_account_manager")
        .first()
    )
    if globex and not BusinessPlan.objects.filter(partner=globex, period_start=period.start).exists():
        people = _people(globex)
        if people:
            _partner_admin, cam = people
            plan = services.plan_draft(actor=cam, partner=globex, period_key=period.key, today=today)
            services.goal_add(actor=cam, plan=plan, kind="won_revenue", target=Decimal("150000"))
            services.goal_add(actor=cam, plan=plan, kind="deals_registered", target="8")
            services.activity_add(
                actor=cam,
                plan=plan,
                title="Kick-off workshop on the new partner pricing",
                owner_side="vendor",
                owner_id=cam.user.pk,
                due_on=today + timedelta(days=14),
            )
            services.plan_sign(actor=cam, plan=plan)
            made.append(f"{globex.legal_name} (waiting for the partner's sign-off)")
    if stdout is not None:
        stdout.write(f"Joint business plans demo: {', '.join(made) or 'already there'}.\n")
