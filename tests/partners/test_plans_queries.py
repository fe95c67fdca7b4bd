"""Query counts of the plan pages: the vendor's list (with live progress for every plan, behind
plan first) and one plan's page run as many queries for 1 plan / goal / activity / comment as for
50, and every row is found in the rendered pages. Progress is one query per goal kind and period,
never one per plan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from partners.models import PlanComment, PlanGoal
from prm.roles import VendorRole
from tests import factories
from tests.helpers import assert_constant_queries, login
from tests.partners import plan_factories as pf
from tests.partners import scorecard_factories as sf
from tests.partners.scorecard_factories import at

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(at(2027, 3, 31, 12), tick=False):
        yield


GOALS = [("won_revenue", "1000"), ("deals_registered", "5"), ("certified_people", "2"), ("mdf_spend", "300")]


def _plans(n: int, cam: Any = None) -> None:
    for _ in range(n):
        partner = factories.PartnerFactory()
        if cam is not None:
            from partners.services import partner_assign_channel_manager

            admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
            partner_assign_channel_manager(actor=admin, partner=partner, manager=cam.user)
        pf.plan(partner, goals=[*GOALS, ("custom", "3")])
        sf.deal(partner, "won", won_amount="10.00", closed_on=date(2027, 2, 1))


@pytest.mark.parametrize("role", ["cam", VendorRole.PROGRAM_ADMIN, VendorRole.FINANCE])
def test_the_vendor_list_runs_the_same_queries_for_1_or_50_plans(role: str) -> None:
    sf.rates()
    first = pf.side("First Planner")
    reader = first.cam if role == "cam" else factories.vendor_actor(role)
    pf.plan(first.partner, goals=[*GOALS, ("custom", "3")])
    cam = first.cam if role == "cam" else None

    def shows() -> list[str]:
        from partners.models import BusinessPlan

        return [plan.partner.legal_name for plan in BusinessPlan.objects.select_related("partner")]

    assert_constant_queries(
        login(reader),
        "/vendor/plans/",
        lambda: _plans(49, cam),
        rows=lambda response: response.context["page"].paginator.count,
        shows=shows,
        small=1,
        large=50,
    )


def test_the_plan_page_runs_the_same_queries_for_1_or_50_goals_activities_and_comments() -> None:
    sf.rates()
    side = pf.side()
    plan = pf.plan(side.partner, goals=[*GOALS, ("custom", "3")])
    pf.activity(plan, side.admin.user, date(2027, 3, 1), title="Activity number 0")
    PlanComment.objects.create(
        plan=plan, partner=side.partner, author=side.admin.user, side="partner", body="Comment number 0"
    )

    def grow() -> None:
        for n in range(1, 50):
            PlanGoal.objects.create(
                plan=plan,
                partner=side.partner,
                kind="custom",
                label=f"Custom goal {n}",
                target=Decimal(n),
                position=10 + n,
            )
            pf.activity(plan, side.cam.user, date(2027, 5, 1), title=f"Activity number {n}")
            PlanComment.objects.create(
                plan=plan,
                partner=side.partner,
                author=side.cam.user,
                side="vendor",
                body=f"Comment number {n}",
            )

    def shows() -> list[str]:
        return [
            *(g.label for g in plan.goals.filter(kind="custom")),
            *(a.title for a in plan.activities.all()),
            *(c.body for c in plan.comments.all()),
        ]

    for reader in (side.admin, side.cam):
        url = f"/plans/{plan.pk}/" if reader is side.admin else f"/vendor/plans/{plan.pk}/"
        assert_constant_queries(
            login(reader),
            url,
            grow if reader is side.admin else lambda: None,
            rows=lambda response: len(response.context["page"].activities),
            shows=shows,
            small=1 if reader is side.admin else 50,
            large=50,
        )


def test_the_csv_export_builds_with_the_same_queries_for_1_or_50_plans() -> None:
    import csv
    import io

    from tests.helpers import body_text

    sf.rates()
    admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    pf.plan(factories.PartnerFactory(legal_name="Export First"), goals=GOALS)

    def shows() -> list[str]:
        from partners.models import BusinessPlan

        return [plan.partner.legal_name for plan in BusinessPlan.objects.select_related("partner")]

    assert_constant_queries(
        login(admin),
        "/vendor/plans/export.csv",
        lambda: _plans(49),
        # One line per goal: the first plan has four, each of the others five.
        rows=lambda response: len(
            {row["plan_id"] for row in csv.DictReader(io.StringIO(body_text(response)))}
        ),
        shows=shows,
        small=1,
        large=50,
    )
