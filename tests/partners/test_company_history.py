"""The company page's history shows each partner role only what that role may see elsewhere.

Issue 9: every partner role read the whole company audit trail on /company/ -- a learner saw MDF
amounts and the reviewer's reasons, won amounts, discounts and accruals. The world below is made
through the real services of every app, so the events carry the payloads production writes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from deals import services as deal_services
from mdf import services as mdf_services
from partners import selectors, services
from partners.models import Partner, PartnerRole
from prm import audit
from prm.models import AuditEvent
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as df
from tests.helpers import login
from tests.incentives import factories as incentives_f
from tests.isolation import built_once
from tests.mdf import factories as m
from tests.training import factories as training_f

pytestmark = pytest.mark.django_db

OWN_WON = "98765.43"  # the sales user's own won deal
COLLEAGUE_WON = "55555.55"  # the other sales user's won deal
ALLOCATED = "31415.00"  # MDF allocated by the vendor
APPROVED_FUNDS = "2718.00"  # a fund request approved below the asked amount
ACCRUED = "271.83"  # co-op accrual from a won deal
EARNING = "1618.03"  # an incentive adjustment
EARNING_REASON = "Q3 rebate true-up"
CONFLICT_REASON = "Southwind Systems registered it first"


@dataclass
class World:
    team: m.Team
    sales2: Any
    learner2: Any
    own_deal: Any
    colleague_deal: Any

    @property
    def partner(self) -> Partner:
        return self.team.partner

    def user(self, role: str) -> Any:
        return {
            "admin": self.team.admin,
            "sales": self.team.sales,
            "marketing": self.team.marketing,
            "learner": self.team.learner,
        }[role]


def _won(actor: Actor, reviewer: Actor, amount: str) -> Any:
    # Registered at the amount it is won at (a win far above the registration waits for the
    # vendor), each for its own customer (a partner registers a customer once).
    deal = df.approved(
        actor,
        reviewer,
        lines=[df.line(df.product(), quantity=1, unit_price=amount)],
        customer=f"Customer {amount}",
        domain=f"customer-{amount.replace('.', '-')}.example",
    )
    with df.acting(actor):
        return deal_services.deal_mark_won(
            actor=actor, deal=deal, won_amount=Decimal(amount), closed_on=m.today()
        )


@built_once
def history_world() -> World:
    """Built once for the module (tests/isolation.py): each test runs in a savepoint of its own."""
    team = m.team("Northwind Resellers", tier="Gold")
    partner = team.partner
    sales2 = factories.partner_user(partner, role=PartnerRole.SALES, email="sal2@northwind.example")
    learner2 = factories.partner_user(partner, role=PartnerRole.LEARNER, email="lea2@northwind.example")
    cam = df.cam_for(partner)
    program_admin = m.program_admin()

    # Training: each learner's own progress, with quiz scores.
    course = training_f.course("Firewall basics")
    training_f.pass_course(team.learner_actor, course)
    training_f.complete_lessons(factories.actor_for(learner2), course)
    training_f.take_quiz(factories.actor_for(learner2), course, n_right=1)

    # Deals: one per sales user, both won.
    own_deal = _won(team.sales_actor, cam, OWN_WON)
    colleague_deal = _won(factories.actor_for(sales2), cam, COLLEAGUE_WON)
    with df.acting(cam):  # as the conflict review records it, in the CAM's request
        audit.record(
            actor=cam.user,
            action="deal.conflict_resolved",
            target=own_deal,
            partner_id=partner.pk,
            before={"conflict_status": "under_review"},
            after={"resolution": "kept"},
            reason=CONFLICT_REASON,
        )

    # Funds: an allocation, an approved request, a co-op accrual from the colleague's deal.
    budget = m.budget()
    allocation = m.fund(partner, budget, amount=ALLOCATED, admin=program_admin)
    m.approved(team.marketing_actor, cam, amount=APPROVED_FUNDS)
    with m.acting(program_admin):
        mdf_services.allocation_accrue(
            partner=partner,
            amount=Decimal(ACCRUED),
            currency=allocation.currency,
            on=m.today(),
            source=f"deal:{colleague_deal.pk}",
        )

    # Earnings: a manual adjustment by the vendor.
    from incentives import services as incentive_services

    finance = m.finance()
    incentive_services.earning_adjust(
        actor=finance,
        partner_id=partner.pk,
        program=incentives_f.spif(),
        amount=Decimal(EARNING),
        reason=EARNING_REASON,
        idempotency_key="history-test",
    )

    # Last: a team event, which every role sees at the top of its history.
    services.invitation_create(
        actor=team.admin_actor, partner=partner, email="newhire@northwind.example", role=PartnerRole.SALES
    )
    return World(
        team=team, sales2=sales2, learner2=learner2, own_deal=own_deal, colleague_deal=colleague_deal
    )


@pytest.fixture
def world(history_world: World) -> World:
    # A copy: what a test changes on the objects in memory (a login's last_login) must not reach
    # the next test.
    return copy.deepcopy(history_world)


def history(world: World, user: Any) -> list[AuditEvent]:
    return selectors.company_history(actor=factories.actor_for(user), partner=world.partner, limit=500)


def families(events: list[AuditEvent]) -> set[str]:
    return {event.action.split(".", 1)[0] for event in events}


def payload_text(events: list[AuditEvent]) -> str:
    return " ".join(f"{event.before} {event.after} {event.reason}" for event in events)


def page_of(world: World, user: Any) -> str:
    response = login(user).get(reverse("partners:company"))
    assert response.status_code == 200
    return response.content.decode()


# --- Role by role, through the selector (every event) -----------------------------------------
def test_partner_admin_sees_everything_of_the_company_but_vendor_only_events(world: World) -> None:
    events = history(world, world.team.admin)
    assert {"partner", "invitation", "deal", "mdf", "training", "incentives"} <= families(events)
    text = payload_text(events)
    for amount in (OWN_WON, COLLEAGUE_WON, ALLOCATED, APPROVED_FUNDS, ACCRUED, EARNING):
        assert amount in text
    assert f"deal:{world.colleague_deal.pk}" in text  # admins see where an accrual came from
    assert "deal.conflict_resolved" not in {event.action for event in events}
    assert CONFLICT_REASON not in text


def test_sales_user_sees_team_events_and_only_their_own_deals(world: World) -> None:
    events = history(world, world.team.sales)
    assert families(events) <= {"partner", "membership", "invitation", "deal", "lead"}
    assert {"invitation", "deal"} <= families(events)
    deal_targets = {event.target_id for event in events if event.action.startswith("deal.")}
    assert deal_targets == {str(world.own_deal.pk)}
    # The approval by the channel manager is on the page too: it is the sales user's deal.
    assert {"deal.drafted", "deal.submitted", "deal.approved", "deal.won"} <= {e.action for e in events}
    text = payload_text(events)
    assert OWN_WON in text
    for secret in (
        COLLEAGUE_WON,
        ALLOCATED,
        APPROVED_FUNDS,
        ACCRUED,
        EARNING,
        EARNING_REASON,
        CONFLICT_REASON,
    ):
        assert secret not in text


def test_marketing_user_sees_team_and_fund_events_without_deals_or_earnings(world: World) -> None:
    events = history(world, world.team.marketing)
    assert families(events) <= {"partner", "membership", "invitation", "mdf"}
    assert {"invitation", "mdf"} <= families(events)
    text = payload_text(events)
    assert ALLOCATED in text and APPROVED_FUNDS in text and ACCRUED in text
    # The fund ledger shows an accrual as "Co-op accrual", never the won deal behind it.
    assert f"deal:{world.colleague_deal.pk}" not in text
    for secret in (OWN_WON, COLLEAGUE_WON, EARNING, EARNING_REASON, CONFLICT_REASON):
        assert secret not in text


def test_learner_sees_team_events_and_only_their_own_training(world: World) -> None:
    events = history(world, world.team.learner)
    assert families(events) <= {"partner", "membership", "invitation", "training"}
    assert {"invitation", "training"} <= families(events)
    assert {event.actor_id for event in events if event.action.startswith("training.")} == {
        world.team.learner.pk
    }
    text = payload_text(events)
    for secret in (OWN_WON, COLLEAGUE_WON, ALLOCATED, APPROVED_FUNDS, ACCRUED, EARNING, CONFLICT_REASON):
        assert secret not in text


def test_another_learner_does_not_see_a_colleagues_quiz_scores(world: World) -> None:
    mine = {event.pk for event in history(world, world.learner2) if event.action.startswith("training.")}
    theirs = {
        event.pk for event in history(world, world.team.learner) if event.action.startswith("training.")
    }
    assert mine and theirs and not (mine & theirs)


# --- The rendered page, for each role ----------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "hidden"),
    [
        (
            "learner",
            [
                OWN_WON,
                COLLEAGUE_WON,
                ALLOCATED,
                APPROVED_FUNDS,
                ACCRUED,
                EARNING,
                EARNING_REASON,
                "deal.won",
                "mdf.",
            ],
        ),
        (
            "sales",
            [COLLEAGUE_WON, ALLOCATED, APPROVED_FUNDS, ACCRUED, EARNING, EARNING_REASON, "mdf.", "training."],
        ),
        ("marketing", [OWN_WON, COLLEAGUE_WON, EARNING, EARNING_REASON, "deal.", "incentives.", "training."]),
        ("admin", []),
    ],
)
def test_company_page_history_hides_what_the_role_cannot_see_elsewhere(
    world: World, role: str, hidden: list[str]
) -> None:
    page = page_of(world, world.user(role))
    assert "invitation.created" in page  # the history is there, not simply empty
    for secret in [*hidden, CONFLICT_REASON]:
        assert secret not in page, f"{role} sees {secret!r}"


def test_vendor_partner_page_still_shows_the_full_trail(world: World, program_admin: Any) -> None:
    response = login(program_admin).get(reverse("vendor:partner_detail", args=[world.partner.pk]))
    assert response.status_code == 200
    assert (
        response.context["history"].paginator.count
        == AuditEvent.objects.filter(partner_id=world.partner.pk).count()
    )


def test_history_selector_is_empty_for_anyone_outside_the_company(
    world: World, other_partner_admin: Any
) -> None:
    assert (
        selectors.company_history(actor=factories.actor_for(other_partner_admin), partner=world.partner) == []
    )
    assert selectors.company_history(actor=factories.vendor_actor(), partner=world.partner) == []
