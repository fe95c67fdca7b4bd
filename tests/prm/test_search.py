"""The one search box (prm.search and each app's ``search.py``): every kind of record found within
the caller's scope only — a partner's own deals, leads, fund requests and people, a channel account
manager's portfolio, the whole program for a program admin, no money for a money-blind role — by
prefix ("zeph" finds Zephyrine), with a clear message for text that cannot be searched, live results
for htmx, and a bounded number of queries."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from deals import names
from deals.models import CustomerKey, Deal, DealStatus, Lead, LeadStatus
from partners.models import PartnerRole
from prm import search
from prm.errors import ApplicationError
from prm.roles import VendorRole
from tests import factories
from tests.content import factories as content_f
from tests.deals import factories as deal_f
from tests.helpers import body_text, element, login
from tests.mdf import factories as mdf_f
from tests.scoping import acting
from tests.training import factories as training_f

pytestmark = pytest.mark.django_db

URL = reverse("search")
_n = itertools.count(1)


@dataclass
class Company:
    team: deal_f.Team
    deal: Any  # submitted by the admin
    sales_deal: Any  # submitted by a sales user
    other_sales_deal: Any  # submitted by the second sales user
    lead: Any
    fund_request: Any
    person: Any


def deal(by: Any, partner: Any, customer: str, **fields: Any) -> Deal:
    """A submitted deal, made straight (conflict detection is not what these tests are about: the
    partners register the same customers on purpose). Its customer's name goes into the name table,
    as submission puts it there (vendor staff find deals through it)."""
    key = names.normalise_company_name(customer)
    core, descriptors = names.split_company_key(key)
    CustomerKey.objects.get_or_create(key=key, defaults={"core": core, "descriptors": descriptors})
    return Deal.objects.create(
        partner=partner,
        registered_by=by,
        reference=f"DR-{900000 + next(_n)}",
        customer_name=customer,
        customer_key=key,
        customer_domain=f"{customer.lower().replace(' ', '-')}.com",
        title=f"{customer} refresh",
        status=DealStatus.SUBMITTED,
        submitted_at=timezone.now(),
        amount=Decimal("1234.00"),
        currency="USD",
        **fields,
    )


def company(name: str, word: str, person: str) -> Company:
    """A partner whose every record carries ``word`` (the search term) in a name."""
    team = deal_f.team(name)
    deal_ = deal(team.admin, team.partner, f"{word} Logistics")
    sales_deal = deal(team.sales, team.partner, f"{word} Freight")
    other_sales_deal = deal(team.sales2, team.partner, f"{word} Shipping")
    lead = Lead.objects.create(
        company_name=f"{word} Robotics",
        region="na",
        assigned_partner=team.partner,
        status=LeadStatus.OFFERED,
        offered_at=timezone.now(),
        respond_by=timezone.now() + timedelta(days=2),
    )
    allocation = mdf_f.fund(team.partner, mdf_f.budget())
    fund_request = mdf_f.submitted(team.admin_actor, title=f"{word} roadshow", requested_amount=4321)
    del allocation
    person_user = factories.partner_user(team.partner, role=PartnerRole.MARKETING, full_name=person)
    return Company(team, deal_, sales_deal, other_sales_deal, lead, fund_request, person_user)


@pytest.fixture
def world() -> dict[str, Any]:
    acme = company("Acme Networks", "Zephyrine", "Zelda Zephyrson")
    globex = company("Globex Systems", "Zephyrine", "Zeke Zephyrman")
    course = training_f.course("Zephyrine basics", quiz=False).course
    asset = content_f.asset("Zephyrine datasheet")
    return {"acme": acme, "globex": globex, "course": course, "asset": asset}


def page(who: Any, q: str, **headers: Any) -> str:
    response = login(who).get(URL, {"q": q}, **headers)
    assert response.status_code == 200
    return body_text(response)


def results(text: str) -> str:
    """The page below the search form (the navigation above it names the signed-in person)."""
    assert 'id="search-results"' in text
    return text.split('id="search-results"', 1)[1]


def record_texts(company: Company) -> dict[str, str]:
    return {
        "deal": company.deal.reference,
        "sales deal": company.sales_deal.reference,
        "other sales deal": company.other_sales_deal.reference,
        "fund request": company.fund_request.reference,
        "person": company.person.full_name,
    }


# --- scope per role ---------------------------------------------------------------------------------
def test_partner_admin_finds_every_kind_of_own_record_and_nothing_of_another_partner(world: dict) -> None:
    acme, globex = world["acme"], world["globex"]
    text = results(page(acme.team.admin, "zephyr"))
    for what, shown in record_texts(acme).items():
        assert shown in text, what
    assert "Zephyrine Robotics" in text  # the lead offered to Acme
    assert "Zephyrine basics" in text and "Zephyrine datasheet" in text
    for what, foreign in record_texts(globex).items():
        assert foreign not in text, what
    assert "Globex" not in text
    # Grouped by kind, with links to the records' own pages.
    for group in ("deals-deal", "deals-lead", "mdf-fundrequest", "partners-membership", "training-course"):
        assert f'id="search-{group}"' in text, group
    assert reverse("deals:detail", args=[acme.deal.pk]) in text
    assert reverse("mdf:request_detail", args=[acme.fund_request.pk]) in text
    # The partner users find no partners: that is the vendor's kind.
    assert 'id="search-partners-partner"' not in text


def test_exact_reference_of_a_foreign_record_finds_nothing(world: dict) -> None:
    acme, globex = world["acme"], world["globex"]
    for reference in (globex.deal.reference, globex.fund_request.reference):
        text = results(page(acme.team.admin, reference))
        assert 'id="search-empty"' in text
        assert reference in text  # only as the text searched for, in "Nothing found for ..."
        assert "Zephyrine" not in text
    # The same references are found by their own partner.
    assert globex.deal.reference in results(page(globex.team.admin, globex.deal.reference))
    assert 'id="search-deals-deal"' in results(page(globex.team.admin, globex.deal.reference))


def test_sales_user_finds_only_the_deals_they_registered(world: dict) -> None:
    acme = world["acme"]
    with acting(acme.team.sales_actor):
        found = search.search(acme.team.sales_actor, "zephyrine")
    deals = next(group for group in found.groups if group.source.key == "deals.deal")
    assert [hit.title.split()[0] for hit in deals.hits] == [acme.sales_deal.reference]


def test_channel_manager_finds_only_the_portfolio(world: dict) -> None:
    acme, globex = world["acme"], world["globex"]
    cam = deal_f.cam_for(acme.team.partner)
    text = results(page(cam.user, "zephyr"))
    assert acme.deal.reference in text and acme.person.full_name in text
    assert acme.fund_request.reference in text
    assert globex.deal.reference not in text and globex.person.full_name not in text
    assert globex.fund_request.reference not in text
    assert reverse("deals:review_detail", args=[acme.deal.pk]) in text
    partners = results(page(cam.user, "networks systems"))  # no partner has both words
    assert 'id="search-empty"' in partners
    assert "Acme Networks" in results(page(cam.user, "acme"))
    assert 'id="search-partners-partner"' not in results(page(cam.user, "globex"))


def test_program_admin_finds_every_partner_and_their_records(world: dict) -> None:
    acme, globex = world["acme"], world["globex"]
    admin = factories.vendor_user(VendorRole.PROGRAM_ADMIN)
    text = results(page(admin, "zephyr"))
    for company_ in (acme, globex):
        for what, shown in record_texts(company_).items():
            assert shown in text, what
    text = results(page(admin, "acm"))  # a prefix finds Acme
    assert "Acme Networks" in text
    assert reverse("vendor:partner_detail", args=[acme.team.partner.pk]) in text


@pytest.mark.parametrize("role", [VendorRole.CONTENT_MANAGER, VendorRole.SUPPORT])
def test_money_blind_roles_find_no_deals_leads_fund_requests_or_amounts(world: dict, role: str) -> None:
    acme = world["acme"]
    text = results(page(factories.vendor_user(role), "zephyr"))
    assert acme.deal.reference not in text and acme.fund_request.reference not in text
    assert "Zephyrine Robotics" not in text
    assert "4,321.00" not in text and "USD" not in text
    for group in ("deals-deal", "deals-lead", "mdf-fundrequest"):
        assert f'id="search-{group}"' not in text
    blind = factories.actor_for(factories.vendor_user(role))
    with acting(blind):
        found = search.search(blind, "zephyr")
    assert all(not hit.amount for group in found.groups for hit in group.hits)


def test_amounts_are_shown_to_who_may_see_them(world: dict) -> None:
    text = results(page(world["acme"].team.admin, "roadshow"))
    assert "4,321.00" in text


# --- matching -----------------------------------------------------------------------------------------
def test_words_in_any_order_prefixes_accents_references_and_e_mail_parts(world: dict) -> None:
    acme = world["acme"]
    admin = acme.team.admin_actor

    def titles(q: str) -> list[str]:
        with acting(admin):
            return [hit.title for group in search.search(admin, q).groups for hit in group.hits]

    assert any("Zephyrine Logistics" in title for title in titles("logist zeph"))
    number = acme.deal.reference.split("-")[-1]
    assert any(acme.deal.reference in title for title in titles(number))  # a part of a reference
    assert any(acme.deal.reference in title for title in titles(acme.deal.reference.lower()))
    colleague = factories.partner_user(acme.team.partner, full_name="Société Générale Liaison")
    assert colleague.full_name in titles("société")
    assert colleague.full_name in titles("soci gén")
    factories.partner_user(acme.team.partner, full_name="", email="quentin.quux@acme.example")
    assert "quentin.quux@acme.example" in titles("quux")


# --- bad input ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("", "Type a name, a reference or a word to search for."),
        ("   ", "Type a name, a reference or a word to search for."),
        ("a", "Type at least 2 letters or digits."),
        ("a & | !", "Type at least 2 letters or digits."),
        ("!!! ::* <-> ()", "Type at least 2 letters or digits."),
        ("x" * 101, "Search for at most 100 characters."),
        ("a b c d e f g h i", "Search for at most 8 words at a time."),
    ],
)
def test_text_that_cannot_be_searched_gets_a_clear_message(partner_admin: Any, q: str, message: str) -> None:
    with pytest.raises(ApplicationError, match=message):
        search.terms_of(q)
    response = login(partner_admin, raise_request_exception=False).get(URL, {"q": q})
    assert response.status_code == 200
    assert message in element(body_text(response), "search-error")


@pytest.mark.parametrize("q", ["zeph & | !", "zeph:* | & !", "'zeph'", "zeph\\", "(zeph", "zeph)!<->"])
def test_tsquery_syntax_is_read_as_plain_words(world: dict, q: str) -> None:
    acme = world["acme"]
    text = results(page(acme.team.admin, q))
    assert acme.deal.reference in text
    assert world["globex"].deal.reference not in text


def test_the_search_page_without_a_query_shows_the_box_and_no_error(partner_admin: Any) -> None:
    text = body_text(login(partner_admin).get(URL))
    assert 'id="search-q"' in text and 'for="search-q"' in text
    assert 'id="search-error"' not in text


def test_nothing_found_says_what_to_try(world: dict) -> None:
    text = results(page(world["acme"].team.admin, "qqqxxyz"))
    assert "Nothing found for “qqqxxyz”." in text
    assert "Try the start of a name" in text


# --- the box in the navigation, live results ----------------------------------------------------------
@pytest.mark.parametrize("role", ["partner", "vendor"])
def test_every_role_has_the_labelled_search_box_in_the_navigation(partner_admin: Any, role: str) -> None:
    who = partner_admin if role == "partner" else factories.vendor_user(VendorRole.CONTENT_MANAGER)
    text = body_text(login(who).get(reverse("vendor:dashboard" if role == "vendor" else "home")))
    assert 'role="search"' in text
    assert '<label for="nav-search"' in text and 'id="nav-search"' in text
    assert f'hx-get="{URL}"' in text
    assert 'id="nav-search-link"' in text  # the narrower navigation's way to the search page


def test_live_results_are_a_fragment_with_the_first_hits_and_a_link_to_all(world: dict) -> None:
    acme = world["acme"]
    for n in range(search.LIVE_LIMIT + 2):
        deal(acme.team.admin, acme.team.partner, f"Zephyrine Extra {n}")
    response = login(acme.team.admin).get(URL, {"q": "zephyr", "live": "1"}, HTTP_HX_REQUEST="true")
    text = body_text(response)
    assert "<html" not in text
    assert 'id="search-all"' in text
    deals = element(text, "search-deals-deal-live")
    assert deals.count('class="search-hit"') == search.LIVE_LIMIT
    # Cleared box: nothing under it, no error.
    empty = login(acme.team.admin).get(URL, {"q": "", "live": "1"}, HTTP_HX_REQUEST="true")
    assert body_text(empty).strip() == ""


def test_the_results_page_box_updates_its_own_list_as_one_types(world: dict) -> None:
    acme = world["acme"]
    response = login(acme.team.admin).get(URL, {"q": "zephyr", "live": "page"}, HTTP_HX_REQUEST="true")
    text = body_text(response)
    assert "<html" not in text and 'id="search-all"' not in text
    assert 'id="search-deals-deal"' in text and acme.deal.reference in text
    assert world["globex"].deal.reference not in text


def test_counts_are_capped(world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    acme = world["acme"]
    for n in range(4):
        deal(acme.team.admin, acme.team.partner, f"Zephyrine Extra {n}")
    with acting(acme.team.admin_actor):
        found = search.search(acme.team.admin_actor, "zephyrine", limit=2)
    deals = next(group for group in found.groups if group.source.key == "deals.deal")
    assert (deals.count, deals.capped, len(deals.hits)) == (3, True, 2)
    assert deals.count_label == "more than 3"


# --- bounded queries ----------------------------------------------------------------------------------
@pytest.mark.parametrize("extra", [0, 25])
def test_queries_are_bounded_whatever_the_number_of_hits(
    world: dict, extra: int, django_assert_max_num_queries: Any
) -> None:
    acme = world["acme"]
    for n in range(extra):
        deal(acme.team.admin, acme.team.partner, f"Zephyrine Extra {n}")
    admin = factories.vendor_user(VendorRole.PROGRAM_ADMIN)
    client = login(admin)
    client.get(URL, {"q": "warm"})  # the session, the actor and the navigation are cached
    with django_assert_max_num_queries(22):
        response = client.get(URL, {"q": "zephyr"})
    assert response.status_code == 200
    deals = element(body_text(response), "search-deals-deal")
    assert deals.count('class="search-hit"') == min(6 + extra, search.PAGE_LIMIT)


def test_a_partner_that_has_not_accepted_the_agreement_gets_no_search(
    partner: Any, partner_admin: Any
) -> None:
    partner.agreement_version = ""
    partner.save(update_fields=["agreement_version"])
    client = login(partner_admin)
    page_text = body_text(client.get(reverse("partners:agreement")))
    assert 'id="nav-search"' not in page_text and 'id="nav-search-link"' not in page_text
    response = client.get(URL, {"q": "acme"})
    assert response.status_code == 302 and reverse("partners:agreement") in response["Location"]
