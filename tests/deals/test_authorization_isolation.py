"""Tenant isolation of product authorizations (deals.authorizations).

Partner A ("Northwind Resellers") and partner B ("Southwind Systems") each hold an authorization
for the Networking line. The admin's pages of A's authorization answer B's channel account manager
with the same 404 as a missing id, and send partner users to the admin's sign-in page; A's manager
opens them. The company page shows each partner only its own authorizations; the admin's list and
its actions reach only the manager's portfolio."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from deals import authorizations
from deals.models import AuthorizationRequirement, AuthorizationStatus, PartnerAuthorization
from prm.models import AuditEvent
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as f
from tests.helpers import login
from tests.isolation import admin_cases, built_once, foreign_id_test

pytestmark = pytest.mark.django_db


@dataclass
class World:
    a: f.Team
    b: f.Team
    a_cam: Any
    b_cam: Any
    requirement: AuthorizationRequirement
    a_authorization: PartnerAuthorization
    b_authorization: PartnerAuthorization


@built_once
def authorization_world() -> World:
    a = f.team("Northwind Resellers", tier="Gold")
    b = f.team("Southwind Systems", tier="Silver")
    a_cam, b_cam = f.cam_for(a.partner), f.cam_for(b.partner)
    requirement = AuthorizationRequirement.objects.create(product_line="Networking")
    granted = {}
    for team, cam, reason in ((a, a_cam, "Northwind pilot"), (b, b_cam, "Southwind pilot")):
        with f.acting(cam):
            granted[team.partner.pk] = authorizations.authorization_grant(
                actor=cam, partner=team.partner, requirement=requirement, reason=reason
            )
    return World(
        a=a,
        b=b,
        a_cam=a_cam.user,
        b_cam=b_cam.user,
        requirement=requirement,
        a_authorization=granted[a.partner.pk],
        b_authorization=granted[b.partner.pk],
    )


@pytest.fixture
def world(authorization_world: World) -> World:
    return copy.deepcopy(authorization_world)


PEOPLE = {
    "a_cam": lambda w: w.a_cam,
    "b_cam": lambda w: w.b_cam,
    "b_admin": lambda w: w.b.admin,
}


def _secrets(world: World, who: str) -> list[str]:
    return [world.a.partner.legal_name, "Northwind pilot"]


def _state(world: World) -> Any:
    return (
        list(PartnerAuthorization.objects.order_by("pk").values()),
        AuditEvent.objects.filter(partner_id=world.a.partner.pk).count(),
    )


test_foreign_authorization_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    admin_cases(
        "deals.partnerauthorization",
        lambda w, _who: [w.a_authorization],
        outsiders=("b_cam",),
        partners=("b_admin",),
        controls=("a_cam",),
    ),
    world="authorization_world",
    people=PEOPLE,
    secrets=_secrets,
    state=_state,
)


def test_the_company_page_shows_only_the_partners_own_authorization(world: World) -> None:
    for team, own, other in ((world.a, "Northwind", "Southwind"), (world.b, "Southwind", "Northwind")):
        text = login(team.sales).get(reverse("partners:company")).content.decode()
        panel = text[text.index('id="authorizations"') :]
        assert "Networking" in panel and "Authorized" in panel
        assert f"{own} pilot" not in panel  # the reason of a grant by hand is the vendor's note
        assert other not in text


def test_a_managers_admin_list_and_revocation_reach_only_the_portfolio(world: World) -> None:
    client = login(world.b_cam)
    listing = client.get(reverse("admin:deals_partnerauthorization_changelist"))
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "Southwind Systems" in text and "Northwind Resellers" not in text
    # An action posted with A's id among B's: only B's row is revoked.
    response = client.post(
        reverse("admin:deals_partnerauthorization_changelist"),
        {
            "action": "revoke_selected",
            "_selected_action": [world.a_authorization.pk, world.b_authorization.pk],
            "apply": "1",
            "reason": "Escalations unresolved",
        },
    )
    assert response.status_code == 302
    assert PartnerAuthorization.objects.get(pk=world.a_authorization.pk).status == AuthorizationStatus.ACTIVE
    assert PartnerAuthorization.objects.get(pk=world.b_authorization.pk).status == AuthorizationStatus.REVOKED


def test_a_manager_grants_by_hand_in_the_admin_only_within_the_portfolio(world: World) -> None:
    line = AuthorizationRequirement.objects.create(product_line="Security")
    client = login(world.b_cam)
    add = reverse("admin:deals_partnerauthorization_add")
    assert client.get(add).status_code == 200
    refused = client.post(add, {"partner": world.a.partner.pk, "requirement": line.pk, "reason": "Mine"})
    assert refused.status_code == 200  # the form again, with the error
    assert not PartnerAuthorization.objects.filter(partner=world.a.partner, requirement=line).exists()
    done = client.post(add, {"partner": world.b.partner.pk, "requirement": line.pk, "reason": "Pilot"})
    assert done.status_code == 302
    granted = PartnerAuthorization.objects.get(partner=world.b.partner, requirement=line)
    assert granted.holds() and granted.granted_by == world.b_cam
    assert AuditEvent.objects.filter(action="deals.authorization_granted", target_id=str(granted.pk)).exists()


def test_only_program_admins_change_what_a_product_line_requires(world: World) -> None:
    cam = login(world.b_cam)
    url = reverse("admin:deals_authorizationrequirement_change", args=[world.requirement.pk])
    assert cam.get(url).status_code == 200  # read-only for a manager
    assert cam.post(url, {"product_line": "Networking", "warning_days": 5}).status_code == 403
    f.product("Switch Y", line="Networking")  # the choices are the catalogue's product lines
    admin = login(factories.vendor_user(VendorRole.PROGRAM_ADMIN))
    response = admin.post(
        url,
        {
            "product_line": "Networking",
            "description": "",
            "min_tier": factories.tier("Gold").pk,
            "certification_id": "",
            "certified_people": 0,
            "warning_days": 45,
            "active": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert AuthorizationRequirement.objects.get(pk=world.requirement.pk).warning_days == 45
    assert AuditEvent.objects.filter(action="deals.authorization_requirement_changed").exists()


def test_a_revoked_authorization_is_granted_again_from_the_add_page(world: World) -> None:
    with f.acting(factories.actor_for(world.b_cam)):
        authorizations.authorization_revoke(
            actor=factories.actor_for(world.b_cam), authorization=world.b_authorization, reason="Paused"
        )
    client = login(world.b_cam)
    response = client.post(
        reverse("admin:deals_partnerauthorization_add"),
        {"partner": world.b.partner.pk, "requirement": world.requirement.pk, "reason": "Resumed"},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    again = PartnerAuthorization.objects.get(pk=world.b_authorization.pk)  # the same row, granted again
    assert again.status == AuthorizationStatus.ACTIVE and again.reason == "Resumed"
    assert PartnerAuthorization.objects.filter(partner=world.b.partner).count() == 1


def test_a_grants_change_page_opens_with_the_partner_read_only(world: World) -> None:
    """The grant form narrows its partner choice to the portfolio; on a grant's change page the
    partner is read-only (no such field), which once made the page a 500."""
    client = login(world.a_cam)
    page = client.get(reverse("admin:deals_partnerauthorization_change", args=[world.a_authorization.pk]))
    assert page.status_code == 200
    assert "Northwind Resellers" in page.content.decode()
