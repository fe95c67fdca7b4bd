"""Foreign ids on the joint business plan pages: partner A's plan (its goals, activities and
agreed revision), asked for by partner B's admin and B's channel account manager on every page
and form that takes an id, gets the 404 of a missing id, shows nothing of A and changes nothing.
A's admin or A's channel account manager makes the same request (the control). Also B asking for
A's goal or activity under B's own plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import time_machine

from partners.models import BusinessPlan, PlanActivity, PlanComment, PlanGoal, PlanRevision
from prm.models import AuditEvent
from tests.isolation import Case, built_once, foreign_id_test
from tests.partners import plan_factories as pf
from tests.partners.scorecard_factories import at

pytestmark = pytest.mark.django_db

SECRETS = ["Acme Secret Plans", "Secret launch tour", "Acme secret goal"]


@dataclass
class World:
    a: pf.Side
    b: pf.Side
    plan: BusinessPlan
    goal: PlanGoal
    custom: PlanGoal
    activity: PlanActivity
    revision: PlanRevision
    b_plan: BusinessPlan


@pytest.fixture(autouse=True)
def clock() -> Any:
    with time_machine.travel(at(2027, 3, 31, 12), tick=False):
        yield


@built_once
def plans_world() -> World:
    a, b = pf.side("Acme Secret Plans"), pf.side("Globex Plans")
    plan = pf.plan(a.partner, goals=[("won_revenue", "1000"), ("custom", "5")])
    goal, custom = plan.goals.order_by("position")
    custom.label = "Acme secret goal"
    custom.save()
    activity = pf.activity(plan, a.admin.user, date(2027, 5, 1), title="Secret launch tour")
    PlanComment.objects.create(
        plan=plan, partner=a.partner, author=a.admin.user, side="partner", body="Secret"
    )
    revision = PlanRevision.objects.create(plan=plan, partner=a.partner, number=1, goals=[])
    b_plan = pf.plan(b.partner, goals=[("won_revenue", "10")])
    return World(a, b, plan, goal, custom, activity, revision, b_plan)


def _state(world: World) -> Any:
    return (
        list(BusinessPlan.objects.order_by("pk").values()),
        list(PlanGoal.objects.order_by("pk").values()),
        list(PlanActivity.objects.order_by("pk").values()),
        PlanComment.objects.count(),
        AuditEvent.objects.filter(partner_id=world.a.partner.pk).count(),
    )


PEOPLE = {
    "b_admin": lambda w: w.b.admin.user,
    "b_cam": lambda w: w.b.cam.user,
    "a_admin": lambda w: w.a.admin.user,
    "a_cam": lambda w: w.a.cam.user,
}
BOTH = ("b_admin", "b_cam")


def _plan(world: World, _who: str) -> list[Any]:
    return [world.plan]


def _goal(world: World, _who: str) -> list[Any]:
    return [{"pk": world.plan, "goal_pk": world.goal}, {"pk": world.plan, "goal_pk": world.custom}]


def _activity(world: World, _who: str) -> list[Any]:
    return [{"pk": world.plan, "activity_pk": world.activity}]


test_foreign_plan_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    [
        Case("plans:partner_detail", ("GET",), ("b_admin",), _plan, controls=("a_admin",)),
        Case("plans:vendor_detail", ("GET",), ("b_cam",), _plan, controls=("a_cam",)),
        Case("plans:sign", ("POST",), BOTH, _plan, controls=("a_admin",)),
        Case("plans:request_signoff", ("POST",), BOTH, _plan, controls=("a_cam",)),
        Case(
            "plans:goal_add",
            ("POST",),
            BOTH,
            _plan,
            data={"kind": "deals_registered", "target": "5"},
            controls=("a_admin",),
        ),
        Case(
            "plans:goal_target",
            ("POST",),
            BOTH,
            _goal,
            args=("pk", "goal_pk"),
            data={"target": "77"},
            controls=("a_cam",),
        ),
        Case(
            "plans:goal_value",
            ("POST",),
            BOTH,
            _goal,
            args=("pk", "goal_pk"),
            data={"value": "3"},
            controls=("a_admin",),
        ),
        Case("plans:goal_remove", ("POST",), BOTH, _goal, args=("pk", "goal_pk"), controls=("a_admin",)),
        Case(
            "plans:activity_add",
            ("POST",),
            BOTH,
            _plan,
            data=lambda w, _o: {
                "title": "Injected",
                "owner": f"partner:{w.a.admin.user.pk}",
                "due_on": "2027-04-04",
            },
            controls=("a_admin",),
        ),
        Case(
            "plans:activity_status",
            ("POST",),
            BOTH,
            _activity,
            args=("pk", "activity_pk"),
            data={"status": "done"},
            controls=("a_cam",),
        ),
        Case("plans:comment_add", ("POST",), BOTH, _plan, data={"body": "Injected"}, controls=("a_admin",)),
        Case("plans:review", ("POST",), BOTH, _plan, data={"note": "Injected"}, controls=("a_cam",)),
        Case(
            "plans:revision",
            ("GET",),
            BOTH,
            lambda w, _who: [{"pk": w.plan, "revision_pk": w.revision}],
            args=("pk", "revision_pk"),
            controls=("a_admin",),
        ),
    ],
    world="plans_world",
    people=PEOPLE,
    secrets=lambda world, _who: SECRETS,
    state=_state,
)


test_a_foreign_goal_or_activity_under_ones_own_plan_is_a_404 = foreign_id_test(
    [
        Case(
            "plans:goal_target",
            ("POST",),
            ("b_admin",),
            lambda w, _who: [{"pk": w.b_plan, "goal_pk": w.custom}],
            args=("pk", "goal_pk"),
            keep=("pk",),
            data={"target": "77"},
            label="own plan",
        ),
        Case(
            "plans:activity_status",
            ("POST",),
            ("b_admin",),
            lambda w, _who: [{"pk": w.b_plan, "activity_pk": w.activity}],
            args=("pk", "activity_pk"),
            keep=("pk",),
            data={"status": "done"},
            label="own plan",
        ),
    ],
    world="plans_world",
    people=PEOPLE,
    secrets=lambda world, _who: SECRETS,
    state=_state,
)
