"""Who sees which deals and leads, and who may do what with them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from deals.models import Deal, Lead, LeadStatus
from deals.policies import deal_policy, lead_policy
from partners.models import PartnerRole, PartnerStatus
from prm.roles import VendorRole
from prm.tenancy import ANONYMOUS, Actor
from tests import factories
from tests.deals import factories as f
from tests.isolation import built_once

pytestmark = pytest.mark.django_db


@built_once
def deal_world() -> dict[str, Any]:
    """Partner A: one deal by each sales user and one by the admin; partner B: one deal. A CAM
    works partner A only. Built once for the module (tests/isolation.py), with the teams and the
    program admin the package's fixtures would give: each test runs in a savepoint of its own."""
    team_a = f.team("Northwind Resellers", tier="Gold")
    team_b = f.team("Southwind Systems", tier="Silver")
    vendor_admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    cam = f.cam_for(team_a.partner)
    a_sales = f.approved(team_a.sales_actor, vendor_admin, customer="Initech", domain="initech.com")
    a_sales2 = f.draft(team_a.sales2_actor, customer="Globex", domain="globex.com")
    a_admin = f.submitted(team_a.admin_actor, customer="Hooli", domain="hooli.com")
    b_deal = f.draft(team_b.sales_actor, customer="Umbrella", domain="umbrella.com")
    return {
        "team_a": team_a,
        "team_b": team_b,
        "vendor_admin": vendor_admin,
        "cam": cam,
        "a_sales": a_sales,
        "a_sales2": a_sales2,
        "a_admin": a_admin,
        "b": b_deal,
    }


@pytest.fixture
def world(deal_world: dict[str, Any]) -> dict[str, Any]:
    # A copy: what a test changes on the objects in memory must not reach the next test.
    return copy.deepcopy(deal_world)


def _visible(actor: Actor) -> set[int]:
    return set(deal_policy.scope(actor).values_list("pk", flat=True))


def _partner_actor(team: f.Team, role: str) -> Actor:
    return factories.actor_for(factories.partner_user(team.partner, role=role))


# --- deals: visibility -------------------------------------------------------------------------
def test_deal_visibility(world: dict) -> None:
    team_a, team_b, vendor_admin = world["team_a"], world["team_b"], world["vendor_admin"]
    a_all = {world["a_sales"].pk, world["a_sales2"].pk, world["a_admin"].pk}
    # Drafts (a_sales2, b) are the partner's work in progress: no vendor role sees them.
    a_submitted = {world["a_sales"].pk, world["a_admin"].pk}
    assert _visible(team_a.admin_actor) == a_all
    assert _visible(team_a.sales_actor) == {world["a_sales"].pk}
    assert _visible(team_a.sales2_actor) == {world["a_sales2"].pk}
    assert _visible(team_b.admin_actor) == {world["b"].pk}
    assert _visible(_partner_actor(team_a, PartnerRole.MARKETING)) == set()
    assert _visible(_partner_actor(team_a, PartnerRole.LEARNER)) == set()
    assert _visible(world["cam"]) == a_submitted
    assert _visible(factories.vendor_actor(VendorRole.CHANNEL_ACCOUNT_MANAGER)) == set()  # empty portfolio
    assert _visible(vendor_admin) == a_submitted
    assert _visible(factories.vendor_actor(VendorRole.FINANCE)) == a_submitted
    assert _visible(ANONYMOUS) == set()
    signed_in_nobody = Actor(user=factories.UserFactory())
    assert _visible(signed_in_nobody) == set()


# --- deals: actions ----------------------------------------------------------------------------
def test_who_may_register(team_a: f.Team, vendor_admin: Any) -> None:
    assert deal_policy.can(team_a.admin_actor, "register")
    assert deal_policy.can(team_a.sales_actor, "register")
    assert not deal_policy.can(_partner_actor(team_a, PartnerRole.MARKETING), "register")
    assert not deal_policy.can(_partner_actor(team_a, PartnerRole.LEARNER), "register")
    assert not deal_policy.can(vendor_admin, "register")
    assert not deal_policy.can(factories.vendor_actor(VendorRole.CHANNEL_ACCOUNT_MANAGER), "register")
    assert not deal_policy.can(ANONYMOUS, "register")
    for status in (PartnerStatus.ONBOARDING, PartnerStatus.SUSPENDED, PartnerStatus.TERMINATED):
        team_a.partner.status = status
        team_a.partner.save(update_fields=["status"])
        assert not deal_policy.can(factories.actor_for(team_a.sales), "register"), status


def _matrix(world: dict, team_a: f.Team, team_b: f.Team, vendor_admin: Any) -> dict[str, Actor]:
    return {
        "a_admin": team_a.admin_actor,
        "a_sales": team_a.sales_actor,
        "a_sales2": team_a.sales2_actor,
        "a_marketing": _partner_actor(team_a, PartnerRole.MARKETING),
        "b_admin": team_b.admin_actor,
        "program_admin": vendor_admin,
        "cam": world["cam"],
        "other_cam": factories.vendor_actor(VendorRole.CHANNEL_ACCOUNT_MANAGER),
        "finance": factories.vendor_actor(VendorRole.FINANCE),
        "content": factories.vendor_actor(VendorRole.CONTENT_MANAGER),
        "anonymous": ANONYMOUS,
    }


# action, deal key in ``world``, actors allowed (every other actor in the matrix is refused)
CAN = [
    ("edit", "a_sales2", {"a_sales2", "a_admin"}),  # a draft
    ("submit", "a_sales2", {"a_sales2", "a_admin"}),
    ("edit", "a_admin", set()),  # submitted: nobody edits it
    ("submit", "a_admin", set()),
    ("edit", "a_sales", set()),  # approved
    ("review", "a_admin", {"program_admin", "cam"}),
    ("review", "b", {"program_admin"}),
    ("mark_won", "a_sales", {"a_sales", "a_admin"}),
    ("mark_lost", "a_sales", {"a_sales", "a_admin"}),
    ("update_stage", "a_sales", {"a_sales", "a_admin"}),
    ("request_extension", "a_sales", {"a_sales", "a_admin"}),
    ("mark_won", "a_admin", set()),  # submitted, not approved
    ("request_extension", "a_sales2", set()),  # a draft
    ("delete", "a_sales2", set()),  # unknown actions are refused
]


@pytest.mark.parametrize(("action", "deal_key", "allowed"), CAN)
def test_deal_can_matrix(world: dict, action: str, deal_key: str, allowed: set) -> None:
    team_a, team_b, vendor_admin = world["team_a"], world["team_b"], world["vendor_admin"]
    deal = Deal.objects.get(pk=world[deal_key].pk)
    actors = _matrix(world, team_a, team_b, vendor_admin)
    granted = {name for name, actor in actors.items() if deal_policy.can(actor, action, deal)}
    assert granted == allowed


def test_actions_on_no_deal_are_refused(team_a: f.Team, vendor_admin: Any) -> None:
    for action in ("edit", "submit", "review", "mark_won", "request_extension"):
        assert not deal_policy.can(team_a.admin_actor, action, None)
        assert not deal_policy.can(vendor_admin, action, None)


# --- leads ---------------------------------------------------------------------------------------
@pytest.fixture
def lead_world(team_a: f.Team, team_b: f.Team, vendor_admin: Any) -> dict[str, Any]:
    cam = f.cam_for(team_a.partner)
    offered_a = f.lead(vendor_admin, "Vandelay")
    accepted_a = f.lead(vendor_admin, "Kramerica")
    offered_b = f.lead(vendor_admin, "Pendant Publishing")
    pool = f.lead(vendor_admin, "Monk's Cafe")
    closed_a = f.lead(vendor_admin, "J. Peterman")
    Lead.objects.filter(pk__in=[offered_a.pk, accepted_a.pk, closed_a.pk]).update(
        assigned_partner=team_a.partner
    )
    Lead.objects.filter(pk=offered_a.pk).update(status=LeadStatus.OFFERED)
    Lead.objects.filter(pk=accepted_a.pk).update(status=LeadStatus.ACCEPTED)
    Lead.objects.filter(pk=closed_a.pk).update(status=LeadStatus.CLOSED)
    Lead.objects.filter(pk=offered_b.pk).update(assigned_partner=team_b.partner, status=LeadStatus.OFFERED)
    return {
        "cam": cam,
        "offered_a": offered_a.pk,
        "accepted_a": accepted_a.pk,
        "offered_b": offered_b.pk,
        "pool": pool.pk,
        "closed_a": closed_a.pk,
    }


def _leads(actor: Actor) -> set[int]:
    return set(lead_policy.scope(actor).values_list("pk", flat=True))


def test_lead_visibility(lead_world: dict, team_a: f.Team, team_b: f.Team, vendor_admin: Any) -> None:
    w = lead_world
    everything = {w["offered_a"], w["accepted_a"], w["offered_b"], w["pool"], w["closed_a"]}
    assert _leads(team_a.admin_actor) == {w["offered_a"], w["accepted_a"]}
    assert _leads(team_a.sales_actor) == {w["offered_a"], w["accepted_a"]}
    assert _leads(_partner_actor(team_a, PartnerRole.MARKETING)) == set()
    assert _leads(team_b.sales_actor) == {w["offered_b"]}
    assert _leads(w["cam"]) == {w["offered_a"], w["accepted_a"], w["closed_a"], w["pool"]}
    assert _leads(vendor_admin) == everything
    assert _leads(ANONYMOUS) == set()


def test_lead_can(lead_world: dict, team_a: f.Team, team_b: f.Team, vendor_admin: Any) -> None:
    w = lead_world
    for action in ("create", "distribute", "import"):
        assert lead_policy.can(vendor_admin, action)
        assert lead_policy.can(w["cam"], action)
        assert not lead_policy.can(factories.vendor_actor(VendorRole.FINANCE), action)
        assert not lead_policy.can(factories.vendor_actor(VendorRole.CONTENT_MANAGER), action)
        assert not lead_policy.can(team_a.admin_actor, action)
        assert not lead_policy.can(ANONYMOUS, action)
    offered_a = Lead.objects.get(pk=w["offered_a"])
    accepted_a = Lead.objects.get(pk=w["accepted_a"])
    for action in ("accept", "decline"):
        assert lead_policy.can(team_a.admin_actor, action, offered_a)
        assert lead_policy.can(team_a.sales_actor, action, offered_a)
        assert not lead_policy.can(_partner_actor(team_a, PartnerRole.MARKETING), action, offered_a)
        assert not lead_policy.can(team_b.admin_actor, action, offered_a)
        assert not lead_policy.can(vendor_admin, action, offered_a)
        assert not lead_policy.can(team_a.sales_actor, action, accepted_a)
        assert not lead_policy.can(team_a.sales_actor, action, None)
