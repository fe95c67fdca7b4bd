"""Who sees which partners (and their rows), and who may do what to one partner."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.db.models import Q
from django.http import Http404

from partners import selectors, services
from partners.models import Invitation, Membership, PartnerRole
from partners.policies import (
    application_policy,
    can_work_partner,
    membership_policy,
    partner_policy,
    partner_scope_q,
)
from prm.roles import VendorRole
from prm.tenancy import ANONYMOUS, Actor, Side
from tests import factories
from tests.isolation import built_once

pytestmark = pytest.mark.django_db


@built_once
def policy_world() -> dict[str, Any]:
    """Three partners; the CAM's portfolio is ``partner`` only; a second CAM works ``third_partner``.
    Built once for the module (tests/isolation.py): each test runs in a savepoint of its own."""
    partner = factories.PartnerFactory(legal_name="Acme Networks")
    other_partner = factories.PartnerFactory(legal_name="Globex Systems")
    third_partner = factories.PartnerFactory(legal_name="Initech Resellers")
    partner_admin = factories.partner_user(partner, email="alice@acme.example")
    other_partner_admin = factories.partner_user(other_partner, email="bob@globex.example")
    program_admin = factories.vendor_user(email="ada@prm.example")
    channel_manager = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="carl@prm.example")
    program = factories.actor_for(program_admin)
    services.partner_assign_channel_manager(actor=program, partner=partner, manager=channel_manager)
    other_cam = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="olga.cam@prm.example")
    services.partner_assign_channel_manager(actor=program, partner=third_partner, manager=other_cam)
    sales = factories.partner_user(partner, role=PartnerRole.SALES, email="sam.sales@acme.example")
    third_admin = factories.partner_user(third_partner, email="ivy@initech.example")
    return {
        "partner": partner,
        "other_partner": other_partner,
        "third_partner": third_partner,
        "channel_manager": channel_manager,
        "other_partner_admin": other_partner_admin,
        "actors": {
            "program_admin": program,
            "cam_in": factories.actor_for(channel_manager),
            "cam_out": factories.actor_for(other_cam),
            "finance": factories.actor_for(
                factories.vendor_user(VendorRole.FINANCE, email="fin@prm.example")
            ),
            "content_manager": factories.actor_for(
                factories.vendor_user(VendorRole.CONTENT_MANAGER, email="cms@prm.example")
            ),
            "partner_admin": factories.actor_for(partner_admin),
            "partner_sales": factories.actor_for(sales),
            "other_admin": factories.actor_for(other_partner_admin),
            "third_admin": factories.actor_for(third_admin),
            "anonymous": ANONYMOUS,
        },
    }


@pytest.fixture
def world(policy_world: dict[str, Any]) -> dict[str, Any]:
    # A copy: what a test changes on the objects in memory must not reach the next test.
    return copy.deepcopy(policy_world)


# Vendor roles whose scope is "every partner". Their checks look only at this test's partners, because
# the shared test database may hold other sessions' committed rows (browser and worker tests).
SEES_ALL = {"program_admin", "finance", "content_manager"}
WORLD = ("partner", "other_partner", "third_partner")


def _ids(queryset: Any) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def _check_scope(who: str, seen: set[int], expected: set[int], world: dict[str, Any]) -> None:
    if who in SEES_ALL:
        assert seen & {world[name].pk for name in WORLD} == expected
        assert partner_policy.visible(world["actors"][who]) == Q()
    else:
        assert seen == expected


# --- scope ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("program_admin", {"partner", "other_partner", "third_partner"}),
        ("finance", {"partner", "other_partner", "third_partner"}),
        ("content_manager", {"partner", "other_partner", "third_partner"}),
        ("cam_in", {"partner"}),
        ("cam_out", {"third_partner"}),
        ("partner_admin", {"partner"}),
        ("partner_sales", {"partner"}),
        ("other_admin", {"other_partner"}),
        ("anonymous", set()),
    ],
)
def test_partner_scope(who: str, expected: set[str], world: dict[str, Any]) -> None:
    actor = world["actors"][who]
    expected_ids = {world[name].pk for name in expected}
    _check_scope(who, _ids(partner_policy.scope(actor)), expected_ids, world)
    _check_scope(who, _ids(selectors.partner_list(actor=actor)), expected_ids, world)


def test_program_admin_scope_is_every_partner(world: dict[str, Any]) -> None:
    actor = world["actors"]["program_admin"]
    assert partner_policy.visible(actor) == Q()
    late = factories.PartnerFactory(legal_name="Joined Later Ltd")
    assert {late.pk, *(world[name].pk for name in WORLD)} <= _ids(partner_policy.scope(actor))
    assert late.pk not in _ids(partner_policy.scope(world["actors"]["cam_in"]))


def test_cam_with_an_empty_portfolio_sees_nothing(world: dict[str, Any]) -> None:
    lonely = factories.actor_for(
        factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="new.cam@prm.example")
    )
    assert _ids(partner_policy.scope(lonely)) == set()
    assert _ids(Membership.objects.filter(partner_scope_q(lonely, "partner"))) == set()


def test_signed_in_user_without_membership_or_role_sees_nothing(world: dict[str, Any]) -> None:
    stray = factories.UserFactory(email="stray@example.com")
    actor = factories.actor_for(stray)
    assert actor.side == Side.ANONYMOUS
    assert _ids(partner_policy.scope(actor)) == set()


def test_partner_side_actor_without_partner_sees_nothing(world: dict[str, Any]) -> None:
    """Fail closed: a half-resolved partner actor is not 'everybody'."""
    broken = Actor(
        user=world["actors"]["partner_admin"].user, side=Side.PARTNER, partner=None, partner_role="admin"
    )
    assert partner_scope_q(broken) == partner_scope_q(ANONYMOUS)
    assert _ids(partner_policy.scope(broken)) == set()


def test_vendor_side_actor_without_role_sees_nothing(world: dict[str, Any]) -> None:
    roleless = Actor(user=world["actors"]["program_admin"].user, side=Side.VENDOR, vendor_role="")
    assert _ids(partner_policy.scope(roleless)) == set()


def test_portfolio_follows_reassignment(world: dict[str, Any]) -> None:
    # The actor is resolved anew for every request (partners.middleware, its cache keyed by the
    # user's actor_version, which a reassignment moves): the next request's actor has the new
    # portfolio, and the policy lists exactly what row-level security admits for it.
    channel_manager = world["channel_manager"]
    services.partner_assign_channel_manager(
        actor=world["actors"]["program_admin"], partner=world["other_partner"], manager=channel_manager
    )
    cam = factories.actor_for(channel_manager)
    assert _ids(partner_policy.scope(cam)) == {world["partner"].pk, world["other_partner"].pk}
    services.partner_assign_channel_manager(
        actor=world["actors"]["program_admin"], partner=world["partner"], manager=None
    )
    cam = factories.actor_for(channel_manager)
    assert _ids(partner_policy.scope(cam)) == {world["other_partner"].pk}


# --- get_or_404 ----------------------------------------------------------------------------------
def test_get_or_404_same_error_for_foreign_and_missing(world: dict[str, Any]) -> None:
    actor = world["actors"]["partner_admin"]
    assert partner_policy.get_or_404(actor, pk=world["partner"].pk) == world["partner"]
    missing_pk = 2**62  # no such partner
    with pytest.raises(Http404) as foreign:
        partner_policy.get_or_404(actor, pk=world["other_partner"].pk)
    with pytest.raises(Http404) as missing:
        partner_policy.get_or_404(actor, pk=missing_pk)
    assert type(foreign.value) is type(missing.value) is Http404
    assert str(foreign.value) == str(missing.value)
    with pytest.raises(Http404):
        partner_policy.get_or_404(actor, pk="not-a-number")


def test_get_or_404_for_a_cam_outside_the_portfolio(world: dict[str, Any]) -> None:
    with pytest.raises(Http404):
        partner_policy.get_or_404(world["actors"]["cam_in"], pk=world["other_partner"].pk)
    with pytest.raises(Http404):
        selectors.partner_get(actor=world["actors"]["cam_in"], pk=world["third_partner"].pk)
    assert selectors.partner_get(actor=world["actors"]["cam_in"], pk=world["partner"].pk) == world["partner"]


def test_get_or_404_for_anonymous(world: dict[str, Any]) -> None:
    with pytest.raises(Http404):
        partner_policy.get_or_404(ANONYMOUS, pk=world["partner"].pk)


# --- partner_scope_q on a partner-owned model ----------------------------------------------------
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("program_admin", {"partner", "other_partner", "third_partner"}),
        ("finance", {"partner", "other_partner", "third_partner"}),
        ("cam_in", {"partner"}),
        ("cam_out", {"third_partner"}),
        ("partner_admin", {"partner"}),
        ("partner_sales", {"partner"}),
        ("other_admin", {"other_partner"}),
        ("anonymous", set()),
    ],
)
def test_membership_scope_matches_partner_scope(who: str, expected: set[str], world: dict[str, Any]) -> None:
    actor = world["actors"][who]
    expected_ids = {world[name].pk for name in expected}
    memberships = Membership.objects.filter(partner_scope_q(actor, "partner"))
    _check_scope(who, set(memberships.values_list("partner_id", flat=True)), expected_ids, world)
    mine = {world[name].pk for name in WORLD}
    assert (
        memberships.filter(partner_id__in=mine).count()
        == Membership.objects.filter(partner_id__in=expected_ids).count()
    )
    _check_scope(
        who, set(membership_policy.scope(actor).values_list("partner_id", flat=True)), expected_ids, world
    )


def test_membership_get_or_404_hides_other_partners(world: dict[str, Any]) -> None:
    other_partner_admin = world["other_partner_admin"]
    actor = world["actors"]["partner_admin"]
    with pytest.raises(Http404):
        selectors.membership_get(actor=actor, pk=other_partner_admin.membership.pk)
    own = Membership.objects.filter(partner=world["partner"]).first()
    assert selectors.membership_get(actor=actor, pk=own.pk) == own


def test_invitation_scope_follows_the_partner(world: dict[str, Any]) -> None:
    acme = services.invitation_create(
        actor=world["actors"]["partner_admin"],
        partner=world["partner"],
        email="x1@example.com",
        role=PartnerRole.SALES,
    )
    globex = services.invitation_create(
        actor=world["actors"]["other_admin"],
        partner=world["other_partner"],
        email="x2@example.com",
        role=PartnerRole.SALES,
    )
    assert _ids(Invitation.objects.filter(partner_scope_q(world["actors"]["partner_admin"]))) == {acme.pk}
    assert _ids(Invitation.objects.filter(partner_scope_q(world["actors"]["cam_in"]))) == {acme.pk}
    everything = _ids(Invitation.objects.filter(partner_scope_q(world["actors"]["program_admin"])))
    assert everything & {acme.pk, globex.pk} == {acme.pk, globex.pk}
    assert _ids(Invitation.objects.filter(partner_scope_q(ANONYMOUS))) == set()
    with pytest.raises(Http404):
        selectors.invitation_get(actor=world["actors"]["partner_admin"], pk=globex.pk)


def test_nested_partner_path(world: dict[str, Any]) -> None:
    """Later apps pass a longer path; the partner filter must follow it."""
    from prm.models import User

    actor = world["actors"]["partner_admin"]
    users = User.objects.filter(partner_scope_q(actor, "membership__partner"))
    assert set(users.values_list("membership__partner_id", flat=True)) == {world["partner"].pk}


# --- can() matrix --------------------------------------------------------------------------------
ACTIONS = [
    "view",
    "edit_profile",
    "manage_team",
    "change_status",
    "assign_channel_manager",
    "change_tier",
    "accept_agreement",
]

# Who may do what to ``partner`` (the CAM "cam_in" works it; "cam_out" works another partner).
MATRIX = {
    "program_admin": {
        "view",
        "edit_profile",
        "manage_team",
        "change_status",
        "assign_channel_manager",
        "change_tier",
    },
    "cam_in": {"view", "edit_profile", "change_status"},
    "cam_out": set(),
    "finance": {"view"},
    "content_manager": {"view"},
    "partner_admin": {"view", "edit_profile", "manage_team", "accept_agreement"},
    "partner_sales": {"view"},
    "other_admin": set(),
    "anonymous": set(),
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("who", list(MATRIX))
def test_can_matrix(who: str, action: str, world: dict[str, Any]) -> None:
    actor = world["actors"][who]
    expected = action in MATRIX[who]
    assert partner_policy.can(actor, action, world["partner"]) is expected


@pytest.mark.parametrize("who", list(MATRIX))
def test_unknown_action_is_refused(who: str, world: dict[str, Any]) -> None:
    assert partner_policy.can(world["actors"][who], "delete", world["partner"]) is False


@pytest.mark.parametrize(
    "action", ["view", "edit_profile", "manage_team", "change_status", "accept_agreement"]
)
def test_object_actions_need_an_object(action: str, world: dict[str, Any]) -> None:
    for who in ("program_admin", "partner_admin", "cam_in"):
        assert partner_policy.can(world["actors"][who], action, None) is False


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("program_admin", True),
        ("cam_in", True),
        ("finance", True),
        ("partner_admin", False),
        ("anonymous", False),
    ],
)
def test_list_action_is_vendor_only(who: str, expected: bool, world: dict[str, Any]) -> None:
    assert partner_policy.can(world["actors"][who], "list") is expected


def test_require_raises_permission_denied_with_message(world: dict[str, Any]) -> None:
    from prm.policies import PermissionDenied

    with pytest.raises(PermissionDenied) as excinfo:
        partner_policy.require(
            world["actors"]["partner_sales"], "edit_profile", world["partner"], "Admins only."
        )
    assert excinfo.value.message == "Admins only."
    partner_policy.require(world["actors"]["partner_admin"], "edit_profile", world["partner"])


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("program_admin", True),
        ("cam_in", True),
        ("cam_out", False),
        ("finance", True),
        ("partner_admin", False),
    ],
)
def test_can_work_partner(who: str, expected: bool, world: dict[str, Any]) -> None:
    assert can_work_partner(world["actors"][who], world["partner"]) is expected


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("program_admin", True),
        ("partner_admin", True),
        ("partner_sales", False),
        ("other_admin", False),
        ("cam_in", False),
        ("finance", False),
    ],
)
def test_membership_policy_delegates_to_manage_team(who: str, expected: bool, world: dict[str, Any]) -> None:
    # Loaded with its partner, as the selector hands it to a view (the policy reads the partner,
    # which another partner's scope could not load).
    membership = Membership.objects.select_related("partner").filter(partner=world["partner"]).first()
    assert membership_policy.can(world["actors"][who], "change_role", membership) is expected
    assert membership_policy.can(world["actors"][who], "change_role", None) is False


# --- applications --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("who", "sees", "reviews"),
    [
        ("program_admin", True, True),
        ("cam_in", True, True),
        ("finance", False, False),
        ("content_manager", False, False),
        ("partner_admin", False, False),
        ("anonymous", False, False),
    ],
)
def test_application_policy(who: str, sees: bool, reviews: bool, world: dict[str, Any]) -> None:
    application = factories.ApplicationFactory()
    actor = world["actors"][who]
    assert (application.pk in _ids(application_policy.scope(actor))) is sees
    assert application_policy.can(actor, "review", application) is reviews
    assert application_policy.can(actor, "delete", application) is False
    if not sees:
        with pytest.raises(Http404):
            selectors.application_get(actor=actor, pk=application.pk)
