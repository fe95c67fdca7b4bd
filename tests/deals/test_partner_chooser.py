"""Vendor pages pick a partner by typing (partners.forms.PartnerChooser), never from a drop-down of
every partner: the pages stay small at 10,000 partners. Suggestions come from
``vendor:partner_suggest`` (at most 20, the actor's scope); the chosen partner still travels as
``partner=<id>``, and without JavaScript a typed name is resolved on submit."""

from __future__ import annotations

import copy
import html
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from deals.models import LeadOffer
from partners.models import PartnerStatus
from partners.selectors import SUGGESTION_LIMIT
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as f
from tests.helpers import login
from tests.isolation import built_once

pytestmark = pytest.mark.django_db

FILTER_PAGES = ["deals:review_queue", "deals:won_queue", "deals:vendor_list", "deals:vendor_pipeline"]


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


@built_once
def chooser_world() -> dict[str, Any]:
    """The package's two teams (tests/deals/conftest.py), a program admin, partner A's CAM, thirty
    more partners all named alike (``many``) and a submitted deal for each team (``deals``).
    Built once for the module (tests/isolation.py): each test runs in a savepoint of its own."""
    team_a = f.team("Northwind Resellers", tier="Gold")
    team_b = f.team("Southwind Systems", tier="Silver")
    return {
        "team_a": team_a,
        "team_b": team_b,
        "vendor_admin": factories.vendor_actor(VendorRole.PROGRAM_ADMIN),
        "cam": f.cam_for(team_a.partner),
        "many": [factories.PartnerFactory(legal_name=f"Probe Partner {n:02}") for n in range(30)],
        "deals": {
            "a": f.submitted(team_a.sales_actor, customer="Initech", domain="initech.com"),
            "b": f.submitted(team_b.sales_actor, customer="Umbrella Corp", domain="umbrella.com"),
        },
    }


@pytest.fixture
def world(chooser_world: dict[str, Any]) -> dict[str, Any]:
    # A copy: what a test changes on the objects in memory (a login's last_login) must not reach
    # the next test.
    return copy.deepcopy(chooser_world)


def queue_refs(response: Any) -> set[str]:
    return {deal.reference for deal in response.context["page"].object_list}


# --- the pages ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("url_name", FILTER_PAGES)
def test_filter_pages_list_no_partner_options(url_name: str, world: dict[str, Any]) -> None:
    many, vendor_admin = world["many"], world["vendor_admin"]
    page = text_of(login(vendor_admin.user).get(reverse(url_name)))
    assert 'name="partner_name"' in page and 'type="hidden" name="partner"' in page
    assert 'for="id_partner"' in page and 'id="id_partner"' in page  # the label names the text box
    assert reverse("vendor:partner_suggest") in page
    assert not [p.legal_name for p in many if p.legal_name in page]
    assert '<select name="partner"' not in page


def test_lead_assignment_lists_no_partner_options(world: dict[str, Any]) -> None:
    many, vendor_admin = world["many"], world["vendor_admin"]
    lead = f.lead(vendor_admin, "Vandelay Industries")
    page = text_of(login(vendor_admin.user).get(reverse("deals:vendor_lead_detail", args=[lead.pk])))
    assert 'name="partner_name"' in page and '"status": "active"' in page
    assert not [p.legal_name for p in many if p.legal_name in page]


def test_an_old_link_with_the_partner_id_still_filters_and_shows_the_name(world: dict[str, Any]) -> None:
    deals, team_b, vendor_admin = world["deals"], world["team_b"], world["vendor_admin"]
    response = login(vendor_admin.user).get(reverse("deals:review_queue"), {"partner": team_b.partner.pk})
    assert queue_refs(response) == {deals["b"].reference}
    page = text_of(response)
    assert f'name="partner" value="{team_b.partner.pk}"' in page
    assert 'value="Southwind Systems"' in page


# --- without JavaScript: a typed name ------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["Southwind Systems", "southwind", "  SOUTHWIND  "])
def test_a_typed_name_filters_without_javascript(
    world: dict[str, Any], typed: str, url_name: str = "deals:review_queue"
) -> None:
    deals, vendor_admin = world["deals"], world["vendor_admin"]
    response = login(vendor_admin.user).get(reverse(url_name), {"partner": "", "partner_name": typed})
    assert queue_refs(response) == {deals["b"].reference}


def test_the_typed_name_wins_over_a_stale_pick(world: dict[str, Any]) -> None:
    """Picked A, then typed B's name over it: B."""
    deals, team_a, vendor_admin = world["deals"], world["team_a"], world["vendor_admin"]
    params = {"partner": team_a.partner.pk, "partner_name": "Southwind"}
    response = login(vendor_admin.user).get(reverse("deals:vendor_list"), params)
    assert {d.reference for d in response.context["page"].object_list} == {deals["b"].reference}


def test_an_ambiguous_or_unknown_name_says_so_and_filters_nothing(world: dict[str, Any]) -> None:
    deals, vendor_admin = world["deals"], world["vendor_admin"]
    client = login(vendor_admin.user)
    for typed, message in (
        ("Probe Partner", "Several partners match"),
        ("Nowhere Inc", "No partner is called"),
    ):
        response = client.get(reverse("deals:review_queue"), {"partner_name": typed})
        assert queue_refs(response) == {deals["a"].reference, deals["b"].reference}
        assert message in text_of(response)
    # Cleared: any partner, no complaint.
    response = client.get(
        reverse("deals:review_queue"), {"partner": deals["a"].partner_id, "partner_name": ""}
    )
    assert queue_refs(response) == {deals["a"].reference, deals["b"].reference}


def test_a_cam_cannot_type_a_partner_outside_the_portfolio(world: dict[str, Any]) -> None:
    deals, cam = world["deals"], world["cam"]
    client = login(cam.user)
    for params in ({"partner_name": "Southwind Systems"}, {"partner": deals["b"].partner_id}):
        response = client.get(reverse("deals:vendor_list"), params)
        assert {d.reference for d in response.context["page"].object_list} == {deals["a"].reference}


def test_a_lead_is_assigned_to_a_typed_partner(world: dict[str, Any]) -> None:
    team_b, vendor_admin = world["team_b"], world["vendor_admin"]
    lead = f.lead(vendor_admin, "Vandelay Industries")
    response = login(vendor_admin.user).post(
        reverse("deals:lead_assign", args=[lead.pk]),
        {"partner": "", "partner_name": "southwind"},
        follow=True,
    )
    assert "Lead assigned to Southwind Systems" in text_of(response)
    assert LeadOffer.objects.get().partner == team_b.partner


def test_a_lead_is_not_assigned_to_an_inactive_partner_by_name(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    factories.PartnerFactory(legal_name="Dormant Traders", status=PartnerStatus.SUSPENDED)
    lead = f.lead(vendor_admin, "Vandelay Industries")
    response = login(vendor_admin.user).post(
        reverse("deals:lead_assign", args=[lead.pk]), {"partner_name": "Dormant Traders"}, follow=True
    )
    assert "No partner is called" in text_of(response)
    assert not LeadOffer.objects.exists()


# --- the suggestion endpoint -----------------------------------------------------------------------------
def suggest(client: Client, typed: str, **extra: Any) -> Any:
    return client.get(reverse("vendor:partner_suggest"), {"field": "partner", "partner_name": typed, **extra})


def test_suggestions_are_at_most_twenty_and_match_the_name(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    response = suggest(login(vendor_admin.user), "probe")
    assert response.status_code == 200
    assert text_of(response).count('role="option"') == SUGGESTION_LIMIT == 20
    assert "Probe Partner 00" in text_of(response) and "Probe Partner 29" not in text_of(response)
    assert 'role="option"' not in text_of(suggest(login(vendor_admin.user), ""))


def test_names_starting_with_the_text_come_first(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    factories.PartnerFactory(legal_name="Acme Northwind")
    factories.PartnerFactory(legal_name="Northwind Traders")
    page = text_of(suggest(login(vendor_admin.user), "northwind"))
    assert page.index("Northwind Traders") < page.index("Acme Northwind")


def test_a_cam_is_offered_only_the_portfolio(world: dict[str, Any]) -> None:
    team_a, team_b, cam = world["team_a"], world["team_b"], world["cam"]
    client = login(cam.user)
    page = text_of(suggest(client, "wind"))
    assert "Northwind Resellers" in page and "Southwind Systems" not in page
    assert client.get(reverse("vendor:partner_suggest"), {"pick": team_b.partner.pk}).status_code == 404
    picked = client.get(
        reverse("vendor:partner_suggest"), {"pick": team_a.partner.pk, "chooser": "id_partner-chooser"}
    )
    assert picked.status_code == 200
    assert f'name="partner" value="{team_a.partner.pk}"' in text_of(picked)
    assert 'value="Northwind Resellers"' in text_of(picked)


def test_only_active_partners_are_offered_for_a_lead(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    factories.PartnerFactory(legal_name="Northwind Dormant", status=PartnerStatus.SUSPENDED)
    page = text_of(suggest(login(vendor_admin.user), "northwind", status="active"))
    assert "Northwind Resellers" in page and "Northwind Dormant" not in page


def test_partner_users_and_strangers_get_no_suggestions(world: dict[str, Any]) -> None:
    team_a = world["team_a"]
    assert suggest(login(team_a.admin), "north").status_code == 404
    assert suggest(Client(), "north").status_code == 302
    assert suggest(login(factories.vendor_user()), "x", field='"><script>').status_code == 404
