"""The vendor's deal search (all deals, review queue, wins queue, admin changelist) finds deals by
their exact reference, their exact website domain, or words of the customer's name, through
indexes only (deals.selectors.vendor_search); a partner still searches its own deals, drafts
included, by any part of the name or title."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from deals import selectors
from deals.models import Deal
from prm.tenancy import Actor
from tests.deals import factories as f
from tests.helpers import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(team_a: f.Team, team_b: f.Team) -> dict[str, Deal]:
    return {
        "initech": f.submitted(team_a.sales_actor, customer="Initech Software GmbH", domain="initech.com"),
        "globex": f.submitted(team_b.sales_actor, customer="Globex Corporation", domain="globex.de"),
        "draft": f.draft(team_a.sales_actor, customer="Hooli Draftworks", domain="hooli.com"),
    }


def found(actor: Actor, text: str) -> set[str]:
    return set(selectors.deal_list(actor=actor, filters={"q": text}).values_list("customer_name", flat=True))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("initech", {"Initech Software GmbH"}),
        ("INITECH software", {"Initech Software GmbH"}),
        ("nitech soft", {"Initech Software GmbH"}),
        ("globex.de", {"Globex Corporation"}),
        ("www.globex.de", {"Globex Corporation"}),
        ("globex corporation", {"Globex Corporation"}),
        ("corporation", set()),  # a legal form only: names are compared without it
        ("Hooli", set()),  # a draft: never the vendor's to see
        ("nothing like it", set()),
    ],
)
def test_the_vendor_finds_names_domains_and_references(
    deals: dict[str, Deal], vendor_admin: Actor, text: str, expected: set[str]
) -> None:
    assert found(vendor_admin, text) == expected


def test_a_reference_is_found_exactly_in_any_case(deals: dict[str, Deal], vendor_admin: Actor) -> None:
    reference = deals["globex"].reference
    assert found(vendor_admin, reference.lower()) == {"Globex Corporation"}
    assert found(vendor_admin, reference[:-1]) == set()


def test_a_common_word_is_searched_by_walking_the_list(
    deals: dict[str, Deal], vendor_admin: Actor, team_a: f.Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    f.submitted(team_a.sales_actor, customer="Initrode Software", domain="initrode.com")
    monkeypatch.setattr(selectors, "SEARCH_KEYS", 1)
    assert found(vendor_admin, "software") == {"Initech Software GmbH", "Initrode Software"}


def test_a_cam_finds_only_the_portfolio(deals: dict[str, Deal], cam: Actor) -> None:
    assert found(cam, "initech") == {"Initech Software GmbH"}
    assert found(cam, "globex") == set()


def test_a_partner_still_finds_its_drafts_by_any_part(deals: dict[str, Deal], team_a: f.Team) -> None:
    assert found(team_a.admin_actor, "draftwork") == {"Hooli Draftworks"}


@pytest.mark.parametrize(
    "url_name", ["deals:vendor_list", "deals:review_queue", "admin:deals_deal_changelist"]
)
def test_the_pages_search_the_same_way(deals: dict[str, Deal], vendor_admin: Actor, url_name: str) -> None:
    response = login(vendor_admin.user).get(reverse(url_name), {"q": "nitech soft"})
    body: Any = response.content.decode()
    assert response.status_code == 200
    assert deals["initech"].reference in body and deals["globex"].reference not in body
