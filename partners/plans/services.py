"""Writes of the joint business plans, one keyword-only function per change, each audited.

A plan's status moves only through ``prm.transitions``: signing (draft → awaiting → agreed) and
reopening (a goal changed on a plan under sign-off or agreed goes back to a draft; on an agreed
plan that is the next revision, the agreed one kept in PlanRevision). The other changes
(activities, comments, review notes, a custom goal's value) are audited the same way without a
status move. Whoever may act is decided by partners.plans.policies; a refusal is an
ApplicationError the pages show as a message."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from partners.models import (
    ActivityStatus,
    BusinessPlan,
    Membership,
    Partner,
    PartnerRole,
    PlanActivity,
    PlanComment,
    PlanGoal,
    PlanRevision,
    PlanSide,
    PlanStatus,
)
from prm import audit
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.models import User
from prm.notifications import notify
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor, system_scope
from prm.transitions import lock, transition

from .periods import period_by_key
from .policies import can_work_plans_of, plan_policy, side_of
from .progress import GOAL_KINDS, goal_label

MAX_TARGET = Decimal("99999999999999.99")
SIGN_FIELDS = ("status", "revision", "partner_signed_by", "vendor_signed_by")


def _require(actor: Actor, action: str, plan: BusinessPlan) -> None:
    if not plan_policy.can(actor, action, plan):
        raise PermissionDenied(
            _("Only the partner's admins and its channel account manager work on this plan.")
        )


def _decimal(value: Any, *, field: str, label: str, allow_zero: bool = False) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ApplicationError(_("%(label)s must be a number.") % {"label": label}, field=field) from None
    if not number.is_finite() or number < 0 or (number == 0 and not allow_zero) or number > MAX_TARGET:
        raise ApplicationError(
            _("%(label)s must be a positive number.") % {"label": label}
            if not allow_zero
            else _("%(label)s cannot be negative.") % {"label": label},
            field=field,
        )
    return number.quantize(Decimal("0.01"))


def plan_url(plan: BusinessPlan, side: str) -> str:
    name = "plans:partner_detail" if side == PlanSide.PARTNER else "plans:vendor_detail"
    return reverse(name, args=[plan.pk])


# --- notifications ------------------------------------------------------------------------------------
def _partner_admins(partner_id: int) -> list[User]:
    return [
        m.user
        for m in Membership.objects.filter(
            partner_id=partner_id, role=PartnerRole.ADMIN, is_active=True, user__is_active=True
        ).select_related("user")
    ]


def _vendor_people(partner: Partner) -> list[User]:
    """The partner's channel account manager; the program admins when it has none."""
    with system_scope():  # vendor staff are read whoever asks (a partner admin signing)
        if partner.channel_account_manager_id:
            manager = User.objects.filter(pk=partner.channel_account_manager_id, is_active=True).first()
            if manager is not None:
                return [manager]
        return list(User.objects.filter(vendor_role=VendorRole.PROGRAM_ADMIN, is_active=True))


def _notify_other_side(plan: BusinessPlan, *, actor: Actor, kind: str, title: str, body: str = "") -> None:
    """In-app now, e-mail after commit (prm.notifications)."""
    side = side_of(actor)
    other = PlanSide.VENDOR if side == PlanSide.PARTNER else PlanSide.PARTNER
    people = _partner_admins(plan.partner_id) if other == PlanSide.PARTNER else _vendor_people(plan.partner)
    for person in people:
        if person.pk == actor.user.pk:
            continue
        notify(
            recipient=person,
            kind=kind,
            title=title,
            body=body,
            url=plan_url(plan, other),
            partner_id=plan.partner_id,
        )


# --- drafting -----------------------------------------------------------------------------------------
def plan_draft(*, actor: Actor, partner: Partner, period_key: str, today: date | None = None) -> BusinessPlan:
    """A new draft plan of ``partner`` for one of the offered periods; one plan per period."""
    if not can_work_plans_of(actor, partner):
        raise PermissionDenied(
            _("Only the partner's admins and its channel account manager draft its plans.")
        )
    period = period_by_key(period_key, today or timezone.localdate())
    if period is None:
        raise ApplicationError(_("Choose one of the periods offered."), field="period")
    overlapping = BusinessPlan.objects.filter(
        partner=partner, period_start__lte=period.end, period_end__gte=period.start
    ).first()
    if overlapping is not None:
        raise ApplicationError(
            _("%(partner)s already has a plan for %(period)s.")
            % {"partner": partner.legal_name, "period": overlapping.period_label},
            field="period",
        )
    try:
        with transaction.atomic():
            plan = BusinessPlan.objects.create(
                partner=partner,
                period_key=period.key,
                period_label=period.label,
                period_start=period.start,
                period_end=period.end,
                created_by=actor.user,
            )
    except IntegrityError:  # a second request for the same period got there first
        raise ApplicationError(
            _("%(partner)s already has a plan for %(period)s.")
            % {"partner": partner.legal_name, "period": period.label},
            field="period",
        ) from None
    audit.record(
        actor=actor.user,
        action="plan.drafted",
        target=plan,
        after={"period": period.label, "side": side_of(actor)},
        partner_id=partner.pk,
    )
    return plan


def _reopen(plan: BusinessPlan, *, actor: Actor, reason: str) -> BusinessPlan:
    """The plan's goals are about to change: signatures given to what it said no longer hold. An
    agreed plan becomes the draft of its next revision (the agreed one is in PlanRevision); a plan
    one side signed goes back to a draft."""
    plan = lock(plan, related=("partner",))
    if plan.status == PlanStatus.DRAFT:
        return plan
    agreed = plan.status == PlanStatus.AGREED
    with transition(
        plan,
        actor=actor.user,
        action="plan.revised" if agreed else "plan.signoffs_cleared",
        to=PlanStatus.DRAFT,
        snapshot=SIGN_FIELDS,
        partner_id=plan.partner_id,
        reason=reason,
    ) as change:
        change.set(
            revision=plan.revision + 1 if agreed else plan.revision,
            partner_signed_by=None,
            partner_signed_at=None,
            vendor_signed_by=None,
            vendor_signed_at=None,
        )
    return plan


def _goal_snapshot(goal: PlanGoal) -> dict[str, Any]:
    return {"kind": goal.kind, "label": goal_label(goal), "target": goal.target}


def goal_add(*, actor: Actor, plan: BusinessPlan, kind: str, target: Any, label: str = "") -> PlanGoal:
    _require(actor, "edit", plan)
    label = (label or "").strip()
    if kind != PlanGoal.CUSTOM and kind not in GOAL_KINDS:
        raise ApplicationError(_("Choose a goal from the list."), field="kind")
    if kind == PlanGoal.CUSTOM and not label:
        raise ApplicationError(_("Name the custom goal."), field="label")
    number = _decimal(target, field="target", label=_("The target"))
    if kind != PlanGoal.CUSTOM and plan.goals.filter(kind=kind).exists():
        raise ApplicationError(
            _("The plan already has a %(goal)s goal; change its target instead.")
            % {"goal": GOAL_KINDS[kind]},
            field="kind",
        )
    plan = _reopen(plan, actor=actor, reason=_("Goal added"))
    goal = PlanGoal.objects.create(
        plan=plan,
        partner_id=plan.partner_id,
        kind=kind,
        label=label[:120] if kind == PlanGoal.CUSTOM else "",
        target=number,
        position=plan.goals.count(),
    )
    audit.record(
        actor=actor.user,
        action="plan.goal_added",
        target=plan,
        after=_goal_snapshot(goal),
        partner_id=plan.partner_id,
    )
    return goal


def goal_update(*, actor: Actor, goal: PlanGoal, target: Any) -> PlanGoal:
    """A new target. On an agreed plan that opens its next revision, which both sides sign again."""
    plan = goal.plan
    _require(actor, "edit", plan)
    number = _decimal(target, field="target", label=_("The target"))
    if number == goal.target:
        return goal
    before = _goal_snapshot(goal)
    _reopen(plan, actor=actor, reason=_("Target of %(goal)s changed") % {"goal": goal_label(goal)})
    goal.target = number
    goal.save(update_fields=["target"])
    audit.record(
        actor=actor.user,
        action="plan.target_changed",
        target=plan,
        before=before,
        after=_goal_snapshot(goal),
        partner_id=plan.partner_id,
    )
    return goal


def goal_remove(*, actor: Actor, goal: PlanGoal) -> None:
    plan = goal.plan
    _require(actor, "edit", plan)
    before = _goal_snapshot(goal)
    _reopen(plan, actor=actor, reason=_("Goal removed"))
    goal.delete()
    audit.record(
        actor=actor.user, action="plan.goal_removed", target=plan, before=before, partner_id=plan.partner_id
    )


def goal_record_value(*, actor: Actor, goal: PlanGoal, value: Any) -> PlanGoal:
    """The value so far of a custom goal (the KPI goals are measured, never typed in). Progress,
    not an agreed term: no new revision."""
    _require(actor, "edit", goal.plan)
    if goal.kind != PlanGoal.CUSTOM:
        raise ApplicationError(_("This goal is measured from the portal's data; it takes no value by hand."))
    number = _decimal(value, field="value", label=_("The value"), allow_zero=True)
    before = {"value": goal.manual_value}
    goal.manual_value = number
    goal.save(update_fields=["manual_value"])
    audit.record(
        actor=actor.user,
        action="plan.goal_value_recorded",
        target=goal.plan,
        before={**before, "goal": goal_label(goal)},
        after={"value": number, "goal": goal_label(goal)},
        partner_id=goal.partner_id,
    )
    return goal


# --- signing --------------------------------------------------------------------------------------------
def plan_sign(*, actor: Actor, plan: BusinessPlan) -> BusinessPlan:
    """Sign the plan's current revision for the actor's side. The first signature asks the other
    side for theirs; the second agrees the revision."""
    _require(actor, "sign", plan)
    plan = lock(plan, related=("partner",))
    side = side_of(actor)
    if plan.status == PlanStatus.AGREED:
        raise ApplicationError(_("Revision %(n)s of this plan is already agreed.") % {"n": plan.revision})
    signed_by = plan.partner_signed_by_id if side == PlanSide.PARTNER else plan.vendor_signed_by_id
    if signed_by is not None:
        raise ApplicationError(
            _("Your side has already signed revision %(n)s; it waits for the other side's sign-off.")
            % {"n": plan.revision}
        )
    goals = list(plan.goals.all())
    if not goals:
        raise ApplicationError(_("Add at least one goal before signing the plan."))
    other_signed = plan.vendor_signed_by_id if side == PlanSide.PARTNER else plan.partner_signed_by_id
    now = timezone.now()
    with transition(
        plan,
        actor=actor.user,
        action="plan.signed",
        to=PlanStatus.AGREED if other_signed else PlanStatus.AWAITING,
        snapshot=SIGN_FIELDS,
        partner_id=plan.partner_id,
    ) as change:
        change.audit_extra = {"side": side}
        if side == PlanSide.PARTNER:
            change.set(partner_signed_by=actor.user, partner_signed_at=now)
        else:
            change.set(vendor_signed_by=actor.user, vendor_signed_at=now)
    if plan.status == PlanStatus.AGREED:
        PlanRevision.objects.create(
            plan=plan,
            partner_id=plan.partner_id,
            number=plan.revision,
            goals=[_goal_snapshot(goal) for goal in goals],
            partner_signed_by_id=plan.partner_signed_by_id,
            vendor_signed_by_id=plan.vendor_signed_by_id,
            agreed_at=now,
        )
        title = _("The plan %(plan)s is agreed (revision %(n)s)") % {"plan": plan, "n": plan.revision}
        _notify_other_side(plan, actor=actor, kind="plan.agreed", title=title)
    else:
        title = _("%(who)s signed the plan %(plan)s and asks for your sign-off") % {
            "who": actor.user.full_name or actor.user.email,
            "plan": plan,
        }
        _notify_other_side(plan, actor=actor, kind="plan.signoff_requested", title=title)
    return plan


def plan_request_signoff(*, actor: Actor, plan: BusinessPlan) -> BusinessPlan:
    """Remind the other side that the plan waits for them (audited, no status move)."""
    _require(actor, "sign", plan)
    plan = lock(plan, related=("partner",))
    if plan.status == PlanStatus.AGREED:
        raise ApplicationError(_("Revision %(n)s of this plan is already agreed.") % {"n": plan.revision})
    if not plan.goals.exists():
        raise ApplicationError(_("Add at least one goal before asking for sign-off."))
    with transition(plan, actor=actor.user, action="plan.signoff_requested", partner_id=plan.partner_id):
        pass
    _notify_other_side(
        plan,
        actor=actor,
        kind="plan.signoff_requested",
        title=_("Your sign-off is asked for on the plan %(plan)s") % {"plan": plan},
    )
    return plan


# --- activities, comments, reviews ------------------------------------------------------------------
def _owner(plan: BusinessPlan, side: str, owner_id: Any) -> User:
    try:
        pk = int(owner_id)
    except (TypeError, ValueError):
        raise ApplicationError(_("Choose who owns the activity."), field="owner") from None
    if side == PlanSide.PARTNER:
        member = (
            Membership.objects.filter(partner_id=plan.partner_id, user_id=pk, is_active=True)
            .select_related("user")
            .first()
        )
        if member is not None:
            return member.user
    elif side == PlanSide.VENDOR:
        # The partner's channel account manager or a program admin: the people who sign for the vendor.
        with system_scope():
            person = User.objects.filter(
                Q(pk=plan.partner.channel_account_manager_id) | Q(vendor_role=VendorRole.PROGRAM_ADMIN),
                pk=pk,
                is_active=True,
            ).first()
        if person is not None:
            return person
    raise ApplicationError(_("Choose who owns the activity from the list."), field="owner")


def activity_add(
    *, actor: Actor, plan: BusinessPlan, title: str, owner_side: str, owner_id: Any, due_on: date
) -> PlanActivity:
    _require(actor, "edit", plan)
    title = (title or "").strip()
    if not title:
        raise ApplicationError(_("Say what the activity is."), field="title")
    if owner_side not in PlanSide.values:
        raise ApplicationError(_("Choose whose side owns the activity."), field="owner")
    owner = _owner(plan, owner_side, owner_id)
    activity = PlanActivity.objects.create(
        plan=plan,
        partner_id=plan.partner_id,
        title=title[:200],
        owner_side=owner_side,
        owner=owner,
        due_on=due_on,
    )
    audit.record(
        actor=actor.user,
        action="plan.activity_added",
        target=plan,
        after={"activity": activity.title, "owner": owner.email, "due_on": due_on},
        partner_id=plan.partner_id,
    )
    return activity


def activity_set_status(*, actor: Actor, activity: PlanActivity, status: str) -> PlanActivity:
    _require(actor, "edit", activity.plan)
    if status not in ActivityStatus.values:
        raise ApplicationError(_("Choose a status from the list."), field="status")
    activity = lock(activity)
    if activity.status == status:
        return activity
    with transition(
        activity, actor=actor.user, action="plan.activity_status", to=status, partner_id=activity.partner_id
    ):
        pass
    return activity


def comment_add(*, actor: Actor, plan: BusinessPlan, body: str) -> PlanComment:
    _require(actor, "comment", plan)
    body = (body or "").strip()
    if not body:
        raise ApplicationError(_("Write a comment first."), field="body")
    comment = PlanComment.objects.create(
        plan=plan, partner_id=plan.partner_id, author=actor.user, side=side_of(actor), body=body[:4000]
    )
    audit.record(
        actor=actor.user,
        action="plan.commented",
        target=plan,
        after={"comment": comment.body[:200]},
        partner_id=plan.partner_id,
    )
    return comment


def review_save(*, actor: Actor, plan: BusinessPlan, note: str) -> BusinessPlan:
    """The actor's side's mid-period review note (each side writes its own)."""
    _require(actor, "review", plan)
    field = "partner_review" if side_of(actor) == PlanSide.PARTNER else "vendor_review"
    plan = lock(plan, related=("partner",))
    with transition(
        plan, actor=actor.user, action="plan.reviewed", snapshot=(field,), partner_id=plan.partner_id
    ) as change:
        change.set(**{field: (note or "").strip()[:4000]})
    return plan
