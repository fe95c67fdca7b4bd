"""Tenant isolation of deals and leads through the real request path.

Partner A ("Northwind Resellers") and partner B ("Southwind Systems") each have an admin, two
sales users and a marketing user; each has a draft, a submitted deal, an approved deal with a
pending extension request (all registered by the first sales user), a submitted deal registered
by the second sales user, and a lead offered to it. Every partner-side URL that takes an id is
requested by B's people (and by A's colleagues who may not see the deal) with A's ids: the answer
is the same 404 as for an id that does not exist, and A's rows are unchanged. Lists, exports,
searches and the pipeline show nothing of the other partner. On the vendor side a partner user
reaches nothing, and a channel account manager whose portfolio holds only A sees and decides only
A's deals. Conflict evidence never reaches the partner whose deal is flagged.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone

from deals import leads, services
from deals import urls as deal_urls
from deals.models import (
    ConflictResolution,
    ConflictStatus,
    Deal,
    DealConflict,
    DealExtensionRequest,
    DealLine,
    DealStatus,
    Lead,
    LeadOffer,
    LeadStatus,
)
from partners.models import PartnerRole
from prm import webhooks
from prm.models import AuditEvent, Notification, WebhookDelivery, WebhookEndpoint
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as f
from tests.exports import exported, get_or_export
from tests.helpers import login
from tests.isolation import Case, admin_cases, built_once, foreign_id_test

pytestmark = pytest.mark.django_db

MISSING_PK = 987_654_321


# --- helpers ------------------------------------------------------------------------------------
def normalised(content: bytes) -> str:
    """A page without its per-request CSRF tokens, to compare two 404 pages."""
    return re.sub(r"[A-Za-z0-9]{64}", "<token>", content.decode())


def body(response: Any) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response))))


def references_in(text: str) -> set[str]:
    return set(re.findall(r"DR-\d{6}", text))


def without_query(page: str, query: str) -> str:
    """The page without the search term it echoes back (in the search box and the export link)."""
    return page.replace(query, "").replace(quote_plus(query), "")


def money(amount: Decimal) -> list[str]:
    """How an amount appears on a page ("2,232.22") and in a CSV file ("2232.22")."""
    return [f"{amount:,.2f}", f"{amount:.2f}"]


# --- the world ----------------------------------------------------------------------------------
DEAL_KINDS = ("draft", "submitted", "approved", "colleague")
CUSTOMERS = {
    "A": {
        "draft": ("Initech Corporation", "initech.example", "1111.17"),
        "submitted": ("Umbrella Pharma", "umbrella.example", "2222.29"),
        "approved": ("Cyberdyne Robotics", "cyberdyne.example", "3333.31"),
        "colleague": ("Soylent Foods", "soylent.example", "4444.43"),
    },
    "B": {
        "draft": ("Wonka Confectionery", "wonka.example", "5555.53"),
        "submitted": ("Stark Aerospace", "stark.example", "6666.67"),
        "approved": ("Tyrell Replicants", "tyrell.example", "7777.79"),
        "colleague": ("Oscorp Chemicals", "oscorp.example", "8888.83"),
    },
}
LEADS = {"A": ("Vandelay Industries", "vandelay.example"), "B": ("Kramerica Industries", "kramerica.example")}


@dataclass
class Side:
    """One partner's people and rows."""

    team: f.Team
    marketing: Any
    deals: dict[str, Deal]
    extension: DealExtensionRequest
    lead: Lead

    @property
    def partner(self) -> Any:
        return self.team.partner

    def user(self, who: str) -> Any:
        return {
            "admin": self.team.admin,
            "sales": self.team.sales,
            "sales2": self.team.sales2,
            "marketing": self.marketing,
        }[who]

    @property
    def secrets(self) -> list[str]:
        """Strings that identify this partner's business and must never reach another partner."""
        values = [self.partner.legal_name, self.lead.company_name, self.lead.domain]
        for deal in self.deals.values():
            values += [deal.reference, deal.customer_name, deal.customer_domain, deal.title]
            values += money(deal.amount)
        for user in (self.team.admin, self.team.sales, self.team.sales2, self.marketing):
            values += [user.email, user.full_name]
        return values


@dataclass
class World:
    a: Side
    b: Side
    vendor_admin: Actor
    products: list[Any] = field(default_factory=list)
    new_lead: Lead | None = None
    # What the foreign-id table also asks for (the ``foreign`` fixture).
    a_cam: Any = None
    b_cam: Any = None
    conflict: DealConflict | None = None
    endpoint: WebhookEndpoint | None = None
    delivery: WebhookDelivery | None = None

    def side(self, name: str) -> Side:
        return {"A": self.a, "B": self.b}[name]


def _build_side(name: str, team: f.Team, reviewer: Actor, products: list[Any]) -> Side:
    marketing = factories.partner_user(team.partner, role=PartnerRole.MARKETING)
    made: dict[str, Deal] = {}
    for kind in DEAL_KINDS:
        customer, domain, price = CUSTOMERS[name][kind]
        actor = team.sales2_actor if kind == "colleague" else team.sales_actor
        lines = [f.line(products[0], 2, price), f.line(products[1], 1, "10.00")]
        deal = f.draft(actor, customer=customer, domain=domain, lines=lines)
        if kind != "draft":
            deal = f.submit(actor, deal)
        if kind == "approved":
            with f.acting(reviewer):
                deal = services.deal_approve(actor=reviewer, deal=deal)
        made[kind] = Deal.objects.get(pk=deal.pk)
        assert made[kind].amount == Decimal(price) * 2 + 10
        assert made[kind].conflict_status == ConflictStatus.NONE
    with f.acting(team.sales_actor):
        extension = services.deal_request_extension(
            actor=team.sales_actor, deal=made["approved"], reason="The customer's board meets late"
        )
    company, domain = LEADS[name]
    lead = f.lead(reviewer, company, domain=domain, contact_name=f"{company} buyer")
    with f.acting(reviewer):
        leads.lead_assign(actor=reviewer, lead=lead, partner=team.partner)
    return Side(
        team=team,
        marketing=marketing,
        deals=made,
        extension=extension,
        lead=Lead.objects.get(pk=lead.pk),
    )


@built_once
def world_once() -> World:
    """Built once for the module's tests (the teams and program admin are tests/deals/conftest.py's)."""
    return _world(
        f.team("Northwind Resellers", tier="Gold"),
        f.team("Southwind Systems", tier="Silver"),
        factories.vendor_actor(VendorRole.PROGRAM_ADMIN),
    )


@pytest.fixture
def world(world_once: World) -> World:
    """The module's world, as built (each test's writes are rolled back), on objects of its own."""
    return copy.deepcopy(world_once)


def _world(team_a: f.Team, team_b: f.Team, vendor_admin: Actor) -> World:
    products = [
        f.product("Firewall X", price="1000.00"),
        f.product("Switch Y", price="10.00", line="Network"),
    ]
    result = World(
        a=_build_side("A", team_a, vendor_admin, products),
        b=_build_side("B", team_b, vendor_admin, products),
        vendor_admin=vendor_admin,
        products=products,
    )
    # An unassigned lead in the vendor's pool (a channel account manager may distribute it).
    result.new_lead = f.lead(vendor_admin, "Pendant Publishing", domain="pendant.example")
    return result


def state_of(side: Side) -> dict[str, Any]:
    """Everything a request by somebody else must leave untouched."""
    partner = side.partner
    return {
        "deals": list(Deal.objects.filter(partner=partner).order_by("pk").values()),
        "lines": list(DealLine.objects.filter(partner=partner).order_by("pk").values()),
        "extensions": list(DealExtensionRequest.objects.filter(partner=partner).order_by("pk").values()),
        "conflicts": list(DealConflict.objects.filter(deal__partner=partner).order_by("pk").values()),
        "lead": Lead.objects.filter(pk=side.lead.pk).values().get(),
        "offers": list(LeadOffer.objects.filter(lead=side.lead).order_by("pk").values()),
        "audit": AuditEvent.objects.filter(partner_id=partner.pk).count(),
        "notifications": Notification.objects.filter(partner_id=partner.pk).count(),
    }


def everything() -> dict[str, int]:
    return {
        "deals": Deal.objects.count(),
        "lines": DealLine.objects.count(),
        "extensions": DealExtensionRequest.objects.count(),
        "leads": Lead.objects.count(),
        "offers": LeadOffer.objects.count(),
        "conflicts": DealConflict.objects.count(),
        "audit": AuditEvent.objects.count(),
        "notifications": Notification.objects.count(),
    }


def edit_data(products: list[Any]) -> dict[str, Any]:
    """A complete, valid deal form: if a foreign id were accepted, this would overwrite the deal."""
    return {
        "customer_name": "Hijacked Holdings",
        "customer_domain": "hijacked.example",
        "customer_country": "US",
        "customer_region": "na",
        "title": "Hijack",
        "stage": "proposal",
        "expected_close_date": (timezone.localdate() + timezone.timedelta(days=20)).isoformat(),
        "currency": "USD",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-product": str(products[0].pk),
        "lines-0-quantity": "1",
        "lines-0-unit_price": "1.00",
        "action": "submit",
    }


# Every partner-side URL that takes a deal id, with data that would work for the owner.
DEAL_URLS = [
    ("deals:detail", "get", {}),
    ("deals:edit", "get", {}),
    ("deals:edit", "post", "edit"),
    ("deals:submit", "post", {}),
    ("deals:request_extension", "post", {"reason": "We need more time"}),
    ("deals:update_stage", "post", {"stage": "negotiation"}),
    ("deals:mark_won", "post", {"won_amount": "1.00", "closed_on": "today"}),
    ("deals:mark_lost", "post", {"reason": "Chose a competitor"}),
]
LEAD_URLS = [
    ("deals:lead_accept", "post", {}),
    ("deals:lead_decline", "post", {"reason": "Outside our territory"}),
]


def _request(client: Client, method: str, url: str, data: Any, world: World) -> Any:
    if data == "edit":
        data = edit_data(world.products)
    data = {
        key: timezone.localdate().isoformat() if value == "today" else value for key, value in data.items()
    }
    return client.get(url) if method == "get" else client.post(url, data)


def _patterns(prefix: str) -> list[URLPattern]:
    return [p for p in deal_urls.urlpatterns if str(p.pattern).startswith(prefix)]


# --- partner side: other people's deal ids --------------------------------------------------------
# (who is asking, which of A's deals they may not see)
INTRUDERS = {
    "b_admin": ("B", "admin", DEAL_KINDS),
    "b_sales": ("B", "sales", DEAL_KINDS),
    "b_marketing": ("B", "marketing", DEAL_KINDS),
    "a_marketing": ("A", "marketing", DEAL_KINDS),
    # A's second sales user registered only the "colleague" deal.
    "a_sales2": ("A", "sales2", ("draft", "submitted", "approved")),
    # A's first sales user registered everything but the "colleague" deal.
    "a_sales": ("A", "sales", ("colleague",)),
}


def _data(spec: Any) -> Any:
    """A DEAL_URLS body as a case's data, built afresh for each request."""
    return lambda world, _target: _request_data(spec, world)


def _request_data(data: Any, world: World) -> dict[str, Any]:
    if data == "edit":
        data = edit_data(world.products)
    return {
        key: timezone.localdate().isoformat() if value == "today" else value for key, value in data.items()
    }


def _unseen_deals(world: World, who: str) -> list[Deal]:
    """A's deals that ``who`` may not see."""
    kinds = INTRUDERS[who][2] if who in INTRUDERS else DEAL_KINDS
    return [world.a.deals[kind] for kind in kinds]


def _sent_first(world: World, _who: str) -> list[Deal]:
    """All of A's deals, the draft last (the vendor, A's manager included, sees no draft)."""
    return [world.a.deals[kind] for kind in ("submitted", "approved", "colleague", "draft")]


def _a(attribute: str) -> Any:
    return lambda world, _who: [getattr(world, attribute)]


def _lead(world: World, _who: str) -> list[Lead]:
    return [world.a.lead]


PARTNER_SIDE_CASES = (
    [
        Case(url_name, methods, tuple(INTRUDERS), _unseen_deals, data=_data(data))
        for url_name, methods, data in [
            ("deals:detail", ("GET", "POST"), {}),
            ("deals:edit", ("GET", "POST"), "edit"),
            ("deals:submit", ("POST",), {}),
            ("deals:request_extension", ("POST",), {"reason": "We need more time"}),
            ("deals:update_stage", ("POST",), {"stage": "negotiation"}),
            ("deals:mark_won", ("POST",), {"won_amount": "1.00", "closed_on": "today"}),
            ("deals:mark_lost", ("POST",), {"reason": "Chose a competitor"}),
        ]
    ]
    + [
        Case(url_name, ("POST",), ("b_admin", "b_sales", "b_sales2", "b_marketing"), _lead, data=data)
        for url_name, _method, data in LEAD_URLS
    ]
    + [
        # Webhooks are the partner admin's: another partner's, a colleague, vendor staff get 404.
        Case("deals:webhook_delete", ("POST",), ("b_admin", "a_sales", "b_cam"), _a("endpoint")),
        Case("deals:webhook_rotate", ("POST",), ("b_admin", "a_sales", "b_cam"), _a("endpoint")),
        Case("deals:webhook_redeliver", ("POST",), ("b_admin", "a_sales", "b_cam"), _a("delivery")),
    ]
)

# --- vendor side: A's own people (the console does not exist for them) and B's manager -----------
VENDOR_SIDE = ("b_cam", "a_admin", "a_sales")
VENDOR_SIDE_CASES = [
    Case("deals:review_detail", ("GET", "POST"), VENDOR_SIDE, _unseen_deals),
    Case(
        "deals:approve",
        ("POST",),
        VENDOR_SIDE,
        lambda w, _who: [w.a.deals["submitted"], w.a.deals["colleague"]],
        controls=("a_cam",),
    ),
    Case(
        "deals:reject",
        ("POST",),
        VENDOR_SIDE,
        lambda w, _who: [w.a.deals["submitted"]],
        data={"reason": "Not eligible"},
        controls=("a_cam",),
    ),
    Case(
        "deals:return",
        ("POST",),
        VENDOR_SIDE,
        lambda w, _who: [w.a.deals["colleague"]],
        data={"reason": "Add the budget"},
        controls=("a_cam",),
    ),
    Case("deals:confirm_won", ("POST",), VENDOR_SIDE, lambda w, _who: [w.a.deals["approved"]]),
    Case(
        "deals:reject_won",
        ("POST",),
        VENDOR_SIDE,
        lambda w, _who: [w.a.deals["approved"]],
        data={"reason": "Not signed"},
    ),
    Case(
        "deals:conflict_resolve",
        ("POST",),
        VENDOR_SIDE,
        _a("conflict"),
        data={"resolution": ConflictResolution.DISMISSED},
        label="dismiss",
    ),
    Case(
        "deals:conflict_resolve",
        ("POST",),
        ("b_cam",),
        _a("conflict"),
        data={"resolution": ConflictResolution.UPHELD},
        label="uphold",
        controls=("a_cam",),
    ),
    Case(
        "deals:extension_decide",
        ("POST",),
        VENDOR_SIDE,
        lambda w, _who: [w.a.extension],
        data={"decision": "approve", "reason": ""},
        label="approve",
    ),
    Case(
        "deals:extension_decide",
        ("POST",),
        ("b_cam",),
        lambda w, _who: [w.a.extension],
        data={"decision": "reject", "reason": "No"},
        label="reject",
        controls=("a_cam",),
    ),
    Case("deals:vendor_lead_detail", ("GET", "POST"), VENDOR_SIDE, _lead, controls=("a_cam",)),
    Case("deals:lead_distribute", ("POST",), VENDOR_SIDE, _lead),
    Case(
        "deals:lead_assign",
        ("POST",),
        VENDOR_SIDE,
        _lead,
        data=lambda w, _target: {"partner": w.b.partner.pk},
    ),
    *admin_cases("deals.deal", _sent_first, outsiders=("b_cam",), partners=("b_admin",), controls=("a_cam",)),
    *admin_cases("deals.lead", _lead, outsiders=("b_cam",), partners=("b_admin",), controls=("a_cam",)),
]

# --- the API: A's deals and lead by B's deal users and A's other sales user ----------------------
API_USERS = ("b_admin", "b_sales", "a_sales2")
API_CASES = [
    Case(url_name, methods, who, targets, data=data, extra=extra, api=True)
    for extra in ({}, {"format": "json"})
    for url_name, methods, who, targets, data in [
        ("api-deal-detail", ("GET", "PATCH"), API_USERS, _unseen_deals, {"title": "mine now"}),
        ("api-deal-submit", ("POST",), API_USERS, _unseen_deals, None),
        ("api-lead-detail", ("GET",), ("b_admin", "b_sales"), _lead, None),
        ("api-lead-accept", ("POST",), ("b_admin", "b_sales"), _lead, None),
        ("api-lead-decline", ("POST",), ("b_admin", "b_sales"), _lead, {"reason": "mine"}),
    ]
]


@built_once
def foreign(world_once: World) -> World:
    """The world, with A's channel account manager and B's (an outsider to A), a conflict flagged
    on A's submitted deal, and A's webhook endpoint with a delivery; built once on top of it for
    the cases, which run after the world's other tests."""
    world = copy.deepcopy(world_once)
    world.a_cam = f.cam_for(world.a.partner).user
    world.b_cam = f.cam_for(world.b.partner).user
    world.conflict = _conflict_on(world.a.deals["submitted"], world.b.deals["submitted"])
    admin = world.a.team.admin_actor
    with f.acting(admin):
        world.endpoint = webhooks.endpoint_create(
            actor=admin, url="http://127.0.0.1:9/northwind-hooks", events=[], description="Northwind CRM"
        )
        (world.delivery,) = webhooks.emit(
            partner_id=world.a.partner.pk, event="deal.submitted", data={"reference": "DR-000000"}
        )
    return world


def _foreign_state(world: World) -> dict[str, Any]:
    return {
        **state_of(world.a),
        **everything(),
        "webhooks": list(WebhookEndpoint.objects.order_by("pk").values()),
        "deliveries": list(WebhookDelivery.objects.order_by("pk").values()),
    }


def _person(world: World, who: str) -> Any:
    if who.endswith("_cam"):
        return getattr(world, who)
    side, role = who.split("_")
    return world.side(side.upper()).user(role)


PEOPLE = {
    who: (lambda name: lambda world: _person(world, name))(who)
    for who in [*INTRUDERS, "b_sales2", "a_admin", "a_cam", "b_cam"]
}


def _secrets(world: World, who: str) -> list[str]:
    """What ``who`` must not see: all of A to B's people and manager; to A's own people, the
    colleagues' deals they may not open, B's (a conflict's evidence) and the webhooks' secrets."""
    hooks = [world.endpoint.url, world.endpoint.secret]
    if not who.startswith("a_"):
        return [*world.a.secrets, *hooks]
    unseen = [world.a.deals[kind] for kind in INTRUDERS[who][2]] if who in INTRUDERS else []
    deals = [text for d in unseen for text in (d.reference, d.customer_name, d.customer_domain, d.title)]
    return [*world.b.secrets, *deals, *hooks]


def _next_page(world: World, who: str) -> str:
    return "deals:vendor_list" if who.endswith("_cam") else "deals:list"


test_foreign_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    PARTNER_SIDE_CASES + VENDOR_SIDE_CASES + API_CASES,
    world="foreign",
    people=PEOPLE,
    secrets=_secrets,
    state=_foreign_state,
    follow=_next_page,
)


def test_the_owner_reaches_every_deal_url_control(world: World) -> None:
    """Positive control: for the registrant the same requests are not 404, so the 404s above mean
    something."""
    for url_name, method, data in DEAL_URLS:
        for kind in DEAL_KINDS:
            deal = world.a.deals[kind]
            owner = world.a.team.sales2 if kind == "colleague" else world.a.team.sales
            response = _request(login(owner), method, reverse(url_name, args=[deal.pk]), data, world)
            assert response.status_code in {200, 302}, (url_name, kind, response)
    # A's admin sees every deal of the company.
    admin = login(world.a.team.admin)
    for deal in world.a.deals.values():
        assert admin.get(reverse("deals:detail", args=[deal.pk])).status_code == 200


def test_a_lead_can_be_answered_by_its_partner_control(world: World) -> None:
    response = login(world.a.team.sales).post(reverse("deals:lead_accept", args=[world.a.lead.pk]))
    assert response.status_code == 302
    lead = Lead.objects.get(pk=world.a.lead.pk)
    assert lead.status == LeadStatus.ACCEPTED
    assert response["Location"] == reverse("deals:edit", args=[lead.deal_id])


# --- partner side: lists, exports, search, pipeline -------------------------------------------------
LIST_VIEWS = [
    ("deals:list", {}),
    ("deals:list", {"status": "approved"}),
    ("deals:export", {}),
    ("deals:pipeline", {}),
    ("deals:lead_list", {}),
    ("deals:lead_list", {"format": "csv"}),
    ("deals:lead_list", {"status": "offered", "format": "csv"}),
]


@pytest.mark.parametrize("who", ["admin", "sales", "sales2"])
def test_lists_and_exports_show_nothing_of_the_other_partner(world: World, who: str) -> None:
    client = login(world.b.user(who))
    mine = {
        "admin": DEAL_KINDS,
        "sales": ("draft", "submitted", "approved"),
        "sales2": ("colleague",),
    }[who]
    problems = []
    for url_name, params in LIST_VIEWS:
        where = f"{url_name} {params}"
        response = get_or_export(client, reverse(url_name), params)
        assert response.status_code == 200, where
        text = body(response)
        problems += [f"{where}: shows {secret!r}" for secret in world.a.secrets if secret in text]
        # B's own rows are there, so the page was not simply empty.
        if url_name in {"deals:list", "deals:export"}:
            expected = {
                world.b.deals[kind].reference
                for kind in mine
                if params.get("status") in {None, world.b.deals[kind].status}
            }
            assert references_in(text) == expected, where
        elif url_name == "deals:pipeline":
            assert response.context["total_count"] == len(mine), where
        else:
            assert world.b.lead.company_name in text, where
    assert problems == []


@pytest.mark.parametrize("who", ["admin", "sales"])
def test_list_counts_are_the_partners_own(world: World, who: str) -> None:
    response = login(world.b.user(who)).get(reverse("deals:list"))
    expected = 4 if who == "admin" else 3
    assert response.context["total_count"] == expected
    assert sum(count for _value, _label, count in response.context["status_counts"]) == expected
    assert response.context["page"].paginator.count == expected
    assert {deal.partner_id for deal in response.context["page"].object_list} == {world.b.partner.pk}


@pytest.mark.parametrize("what", ["customer", "reference", "domain", "title", "partner"])
def test_searching_for_the_other_partners_deals_finds_nothing(world: World, what: str) -> None:
    client = login(world.b.team.admin)
    owner = login(world.a.team.admin)
    for kind in DEAL_KINDS:
        deal = world.a.deals[kind]
        query = {
            "customer": deal.customer_name,
            "reference": deal.reference,
            "domain": deal.customer_domain,
            "title": deal.title,
            "partner": world.a.partner.legal_name,
        }[what]
        listing = client.get(reverse("deals:list"), {"q": query})
        assert listing.status_code == 200
        assert list(listing.context["page"].object_list) == [], query
        page = without_query(listing.content.decode(), query)
        for secret in world.a.secrets:
            assert secret not in page, (query, secret)
        export = exported(client, reverse("deals:export"), {"q": query})
        assert export.status_code == 200
        assert len(csv_rows(export)) == 1, query  # the header only
        # The same search finds the deal for its owner (control).
        if what != "partner":
            found = owner.get(reverse("deals:list"), {"q": query})
            assert [d.pk for d in found.context["page"].object_list] == [deal.pk]


def test_a_sales_user_sees_only_their_own_deals(world: World) -> None:
    mine = [world.a.deals[kind] for kind in ("draft", "submitted", "approved")]
    colleague = world.a.deals["colleague"]
    client = login(world.a.team.sales)

    listing = client.get(reverse("deals:list"))
    assert {d.pk for d in listing.context["page"].object_list} == {d.pk for d in mine}
    assert listing.context["total_count"] == 3
    page = listing.content.decode()
    assert colleague.reference not in page
    assert colleague.customer_name not in page
    for text in money(colleague.amount):
        assert text not in page

    export = csv_rows(exported(client, reverse("deals:export")))
    assert sorted(row[0] for row in export[1:]) == sorted(d.reference for d in mine)
    assert colleague.customer_name not in str(export)

    pipeline = client.get(reverse("deals:pipeline"))
    assert pipeline.context["total_count"] == 3
    assert colleague.customer_name not in pipeline.content.decode()

    searched = client.get(reverse("deals:list"), {"q": colleague.customer_name})
    assert list(searched.context["page"].object_list) == []
    searched = client.get(reverse("deals:list"), {"q": colleague.reference})
    assert list(searched.context["page"].object_list) == []

    foreign = client.get(reverse("deals:detail", args=[colleague.pk]))
    missing = client.get(reverse("deals:detail", args=[MISSING_PK]))
    assert foreign.status_code == missing.status_code == 404
    assert normalised(foreign.content) == normalised(missing.content)

    # The colleague sees theirs only, and the admin sees all four (control).
    other = login(world.a.team.sales2).get(reverse("deals:list"))
    assert [d.pk for d in other.context["page"].object_list] == [colleague.pk]
    admin = login(world.a.team.admin).get(reverse("deals:list"))
    assert {d.pk for d in admin.context["page"].object_list} == {d.pk for d in world.a.deals.values()}


def test_a_sales_user_is_not_pointed_at_a_colleagues_deal(world: World) -> None:
    """A's second sales user registered Soylent Foods. When A's first sales user submits the same
    customer, the submission is refused (one registration per customer and partner), but the
    refusal must not hand out the colleague's deal: its reference and status, with the advice to
    "update that deal instead", point at a deal this user cannot open (404)."""
    colleague = world.a.deals["colleague"]
    mine = f.draft(
        world.a.team.sales_actor,
        customer=colleague.customer_name,
        domain=colleague.customer_domain,
        lines=[f.line(world.products[0], 1, "100.00")],
    )
    client = login(world.a.team.sales)
    response = client.post(reverse("deals:submit", args=[mine.pk]), follow=True)
    assert response.status_code == 200
    assert Deal.objects.get(pk=mine.pk).status == DealStatus.DRAFT
    page = response.content.decode()
    assert f"Deal {mine.reference} was not submitted." in page
    assert client.get(reverse("deals:detail", args=[colleague.pk])).status_code == 404
    assert colleague.reference not in page, (
        "the refusal names a colleague's deal (reference and status) that this sales user cannot open"
    )


def test_a_marketing_user_sees_no_deals_and_no_leads(world: World) -> None:
    client = login(world.a.marketing)
    listing = client.get(reverse("deals:list"))
    assert listing.status_code == 200
    assert list(listing.context["page"].object_list) == []
    assert references_in(listing.content.decode()) == set()
    assert len(csv_rows(exported(client, reverse("deals:export")))) == 1
    assert client.get(reverse("deals:pipeline")).context["total_count"] == 0
    leads_page = client.get(reverse("deals:lead_list"))
    assert world.a.lead.company_name not in leads_page.content.decode()
    assert len(csv_rows(exported(client, reverse("deals:lead_list"), {"format": "csv"}))) == 1


def test_replaying_another_partners_submission_key_is_refused_without_a_500(world: World) -> None:
    """The hidden submission key makes a double click create one deal. B posting a key A already
    used (a shared kiosk, a bookmarked POST, a forged form) must get a form error, not a server
    error, and must learn nothing about A's deal."""
    key = "5a0f3b9e-3c2e-4b51-9d2b-0c1a6f6d2e11"
    Deal.objects.filter(pk=world.a.deals["draft"].pk).update(submission_key=key)
    before, totals = state_of(world.a), everything()
    client = login(world.b.team.sales, raise_request_exception=False)
    data = {**edit_data(world.products), "submission_key": key, "action": "save"}
    response = client.post(reverse("deals:create"), data)
    assert response.status_code != 500, "B replaying A's submission key crashes the request"
    assert response.status_code in {200, 400}
    page = response.content.decode()
    assert world.a.deals["draft"].reference not in page
    assert world.a.deals["draft"].customer_name not in page
    assert state_of(world.a) == before
    assert everything() == totals


# --- vendor side: a partner user reaches nothing ------------------------------------------------
def _lead_csv() -> SimpleUploadedFile:
    return SimpleUploadedFile(
        "leads.csv", b"company_name,region\nSneaky Import Co,na\n", content_type="text/csv"
    )


VENDOR_URLS = [
    ("deals:review_queue", "get", None, {}),
    ("deals:review_queue_export", "get", None, {}),
    ("deals:vendor_list", "get", None, {}),
    ("deals:vendor_export", "get", None, {}),
    ("deals:review_detail", "get", "submitted", {}),
    ("deals:review_detail", "get", "approved", {}),
    ("deals:approve", "post", "submitted", {}),
    ("deals:reject", "post", "submitted", {"reason": "Duplicate"}),
    ("deals:return", "post", "submitted", {"reason": "Add the budget"}),
    ("deals:won_queue", "get", None, {}),
    ("deals:confirm_won", "post", "approved", {}),
    ("deals:reject_won", "post", "approved", {"reason": "Not signed"}),
    ("deals:conflict_resolve", "post", "conflict", {"resolution": ConflictResolution.DISMISSED}),
    ("deals:extension_decide", "post", "extension", {"decision": "approve", "reason": ""}),
    ("deals:vendor_pipeline", "get", None, {}),
    ("deals:vendor_pipeline_export", "get", None, {}),
    ("deals:vendor_lead_list", "get", None, {}),
    ("deals:vendor_lead_export", "get", None, {}),
    ("deals:lead_create", "get", None, {}),
    (
        "deals:lead_create",
        "post",
        None,
        {"company_name": "Sneaky Lead Co", "region": "na", "currency": "USD"},
    ),
    ("deals:lead_import", "get", None, {}),
    ("deals:lead_import", "post", None, "csv"),
    ("deals:vendor_lead_detail", "get", "lead", {}),
    ("deals:vendor_lead_detail", "get", "new_lead", {}),
    ("deals:lead_distribute", "post", "new_lead", {}),
    ("deals:lead_assign", "post", "new_lead", {"partner": "own"}),
]


def test_every_vendor_url_is_covered() -> None:
    assert {f"deals:{p.name}" for p in _patterns("vendor/")} == {name for name, *_rest in VENDOR_URLS}


def _conflict_on(deal: Deal, other: Deal) -> DealConflict:
    return DealConflict.objects.create(deal=deal, conflicting_deal=other, domain_match=True, score=0.5)


@pytest.mark.parametrize("who", ["admin", "sales"])
def test_partner_user_gets_404_on_every_vendor_url(world: World, who: str) -> None:
    """A's own people, with A's own ids: the vendor console does not exist for them."""
    conflict = _conflict_on(world.a.deals["submitted"], world.b.deals["submitted"])
    ids = {
        None: None,
        "submitted": world.a.deals["submitted"].pk,
        "approved": world.a.deals["approved"].pk,
        "conflict": conflict.pk,
        "extension": world.a.extension.pk,
        "lead": world.a.lead.pk,
        "new_lead": world.new_lead.pk,
    }
    before_a, before_b, totals = state_of(world.a), state_of(world.b), everything()
    new_lead = Lead.objects.filter(pk=world.new_lead.pk).values().get()
    client = login(world.a.user(who))
    problems = []
    for url_name, method, target, data in VENDOR_URLS:
        pk = ids[target]
        url = reverse(url_name, args=[pk] if pk else [])
        assert url.startswith("/vendor/"), url
        if data == "csv":
            data = {"file": _lead_csv()}
        elif data.get("partner") == "own":
            data = {"partner": world.a.partner.pk}
        response = client.get(url) if method == "get" else client.post(url, data)
        if response.status_code != 404:
            problems.append(f"{method.upper()} {url_name}: {response.status_code}")
            continue
        text = body(response)
        problems += [f"{method.upper()} {url_name}: shows {s!r}" for s in world.b.secrets if s in text]
    assert problems == []
    assert state_of(world.a) == before_a
    assert state_of(world.b) == before_b
    assert everything() == totals
    assert Lead.objects.filter(pk=world.new_lead.pk).values().get() == new_lead
    assert DealConflict.objects.get(pk=conflict.pk).resolution == ConflictResolution.OPEN


# --- vendor side: a channel account manager's portfolio ----------------------------------------------
@pytest.fixture
def cam_client(world: World) -> Client:
    """Partner A's channel account manager (A is the whole portfolio)."""
    return login(f.cam_for(world.a.partner).user)


def test_cam_gets_404_on_review_detail_outside_the_portfolio(world: World, cam_client: Client) -> None:
    missing = cam_client.get(reverse("deals:review_detail", args=[MISSING_PK]))
    assert missing.status_code == 404
    for kind in DEAL_KINDS:
        foreign = cam_client.get(reverse("deals:review_detail", args=[world.b.deals[kind].pk]))
        assert foreign.status_code == 404, kind
        assert normalised(foreign.content) == normalised(missing.content), kind
        for secret in world.b.secrets:
            assert secret not in foreign.content.decode(), (kind, secret)
        # Control: A's deal of the same kind opens (drafts aside: whether the vendor sees a
        # partner's drafts at all is not this test's business).
        if kind != "draft":
            own = cam_client.get(reverse("deals:review_detail", args=[world.a.deals[kind].pk]))
            assert own.status_code == 200, kind
            assert world.a.deals[kind].customer_name in own.content.decode()


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("deals:approve", {}),
        ("deals:reject", {"reason": "Not eligible"}),
        ("deals:return", {"reason": "Add the budget"}),
    ],
)
@pytest.mark.parametrize("kind", ["submitted", "colleague"])
def test_cam_cannot_decide_a_deal_outside_the_portfolio(
    world: World, cam_client: Client, url_name: str, data: dict, kind: str
) -> None:
    deal = world.b.deals[kind]
    before, totals = state_of(world.b), everything()
    foreign = cam_client.post(reverse(url_name, args=[deal.pk]), data)
    missing = cam_client.post(reverse(url_name, args=[MISSING_PK]), data)
    assert foreign.status_code == missing.status_code == 404
    assert normalised(foreign.content) == normalised(missing.content)
    assert state_of(world.b) == before
    assert everything() == totals
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.SUBMITTED
    # Control: the same decision on A's deal goes through.
    response = cam_client.post(reverse(url_name, args=[world.a.deals[kind].pk]), data)
    assert response.status_code == 302
    assert Deal.objects.get(pk=world.a.deals[kind].pk).status != DealStatus.SUBMITTED


def test_cam_cannot_resolve_conflicts_or_decide_extensions_outside_the_portfolio(
    world: World, cam_client: Client
) -> None:
    conflict = _conflict_on(world.b.deals["submitted"], world.a.deals["submitted"])
    before, totals = state_of(world.b), everything()
    for url, data in [
        (reverse("deals:conflict_resolve", args=[conflict.pk]), {"resolution": ConflictResolution.DISMISSED}),
        (reverse("deals:conflict_resolve", args=[conflict.pk]), {"resolution": ConflictResolution.UPHELD}),
        (reverse("deals:extension_decide", args=[world.b.extension.pk]), {"decision": "approve"}),
        (
            reverse("deals:extension_decide", args=[world.b.extension.pk]),
            {"decision": "reject", "reason": "No"},
        ),
    ]:
        response = cam_client.post(url, data)
        assert response.status_code == 404, url
    assert state_of(world.b) == before
    assert everything() == totals
    assert DealConflict.objects.get(pk=conflict.pk).resolution == ConflictResolution.OPEN
    # Control: A's extension is decided by A's manager.
    response = cam_client.post(
        reverse("deals:extension_decide", args=[world.a.extension.pk]), {"decision": "approve"}
    )
    assert response.status_code == 302
    assert DealExtensionRequest.objects.get(pk=world.a.extension.pk).status == "approved"


def test_cam_gets_404_on_leads_outside_the_portfolio(world: World, cam_client: Client) -> None:
    lead = world.b.lead
    before, totals = state_of(world.b), everything()
    for method, url, data in [
        ("get", reverse("deals:vendor_lead_detail", args=[lead.pk]), {}),
        ("post", reverse("deals:lead_distribute", args=[lead.pk]), {}),
        ("post", reverse("deals:lead_assign", args=[lead.pk]), {"partner": world.a.partner.pk}),
    ]:
        response = cam_client.get(url) if method == "get" else cam_client.post(url, data)
        assert response.status_code == 404, url
        assert lead.company_name not in response.content.decode()
    assert state_of(world.b) == before
    assert everything() == totals
    # The unassigned pool and A's lead are the manager's (control).
    assert cam_client.get(reverse("deals:vendor_lead_detail", args=[world.new_lead.pk])).status_code == 200
    assert cam_client.get(reverse("deals:vendor_lead_detail", args=[world.a.lead.pk])).status_code == 200


def test_cam_cannot_assign_a_pool_lead_to_a_partner_outside_the_portfolio(
    world: World, cam_client: Client
) -> None:
    response = cam_client.post(
        reverse("deals:lead_assign", args=[world.new_lead.pk]), {"partner": world.b.partner.pk}
    )
    assert response.status_code == 302
    lead = Lead.objects.get(pk=world.new_lead.pk)
    assert (lead.status, lead.assigned_partner_id) == (LeadStatus.NEW, None)
    assert not LeadOffer.objects.filter(lead=lead).exists()


VENDOR_LISTS = [
    ("deals:review_queue", {}),
    ("deals:review_queue", {"partner": "B"}),
    ("deals:review_queue_export", {}),
    ("deals:review_queue_export", {"partner": "B"}),
    ("deals:vendor_list", {}),
    ("deals:vendor_list", {"partner": "B"}),
    ("deals:vendor_list", {"q": "Stark Aerospace"}),
    ("deals:vendor_export", {}),
    ("deals:vendor_export", {"partner": "B"}),
    ("deals:vendor_pipeline", {}),
    ("deals:vendor_pipeline", {"partner": "B"}),
    ("deals:vendor_pipeline_export", {}),
    ("deals:vendor_lead_list", {}),
    ("deals:vendor_lead_list", {"status": "offered"}),
    ("deals:vendor_lead_export", {}),
]


def test_cam_lists_exports_and_pipeline_show_only_the_portfolio(world: World, cam_client: Client) -> None:
    a_refs = {d.reference for d in world.a.deals.values()}
    a_sent = a_refs - {world.a.deals["draft"].reference}  # the vendor may or may not list drafts
    a_queue = {world.a.deals["submitted"].reference, world.a.deals["colleague"].reference}
    problems = []
    for url_name, raw_params in VENDOR_LISTS:
        params = {key: world.b.partner.pk if value == "B" else value for key, value in raw_params.items()}
        where = f"{url_name} {raw_params}"
        response = get_or_export(cam_client, reverse(url_name), params)
        assert response.status_code == 200, where
        text = without_query(body(response), params.get("q", "\0"))
        problems += [f"{where}: shows {secret!r}" for secret in world.b.secrets if secret in text]
        if not references_in(text) <= a_refs:
            problems.append(f"{where}: shows references {references_in(text) - a_refs}")
        if raw_params:
            continue
        # Unfiltered, the portfolio's rows are all there (so the checks above saw a real page).
        if url_name == "deals:review_queue":
            assert {d.reference for d in response.context["page"].object_list} == a_queue
        elif url_name == "deals:review_queue_export":
            assert {row[0] for row in csv_rows(response)[1:]} == a_queue
        elif url_name == "deals:vendor_list":
            assert a_sent <= {d.reference for d in response.context["page"].object_list} <= a_refs
        elif url_name == "deals:vendor_export":
            assert a_sent <= {row[0] for row in csv_rows(response)[1:]} <= a_refs
        elif url_name == "deals:vendor_pipeline":
            assert [row["label"] for row in response.context["by_partner"]] == [world.a.partner.legal_name]
            assert response.context["total_count"] in {3, 4}
        elif url_name == "deals:vendor_pipeline_export":
            partners = [row[1] for row in csv_rows(response) if row[0] == "partner"]
            assert partners == [world.a.partner.legal_name]
        else:
            assert world.a.lead.company_name in text, where
            assert world.new_lead.company_name in text, where
    assert problems == []


def test_program_admin_sees_both_partners_control(world: World) -> None:
    client = login(world.vendor_admin.user)
    refs = references_in(body(exported(client, reverse("deals:vendor_export"))))
    sent = {d.reference for side in (world.a, world.b) for kind, d in side.deals.items() if kind != "draft"}
    assert sent <= refs
    queue = client.get(reverse("deals:review_queue"))
    assert {d.partner_id for d in queue.context["page"].object_list} == {
        world.a.partner.pk,
        world.b.partner.pk,
    }


# --- conflict evidence never reaches the flagged partner ------------------------------------------
@dataclass
class Conflicted:
    b_two: Deal  # conflicts with A's and C's registrations of the same customer
    b_one: Deal  # conflicts with one registration of C's
    c: f.Team
    c_deals: list[Deal]


@pytest.fixture
def conflicted(world: World) -> Conflicted:
    """B registers customers A and a third partner C registered first. B's deals are submitted
    through the partner's own request, as in real life."""
    products = world.products
    c = f.team("Eastwind Traders", tier="Silver")
    # C registers A's customer under another name (flagged itself; that is C's business).
    c_umbrella = f.submitted(
        c.sales_actor,
        customer="Umbrella Pharmaceuticals Group",
        domain="umbrella.example",
        lines=[f.line(products[0], 1, "9191.91")],
    )
    c_parasol = f.submitted(
        c.sales_actor,
        customer="Parasol Medical",
        domain="parasol.example",
        lines=[f.line(products[1], 3, "919.19")],
    )
    client = login(world.b.team.sales)
    b_two = f.draft(
        world.b.team.sales_actor,
        customer="Brolly Health",
        domain="umbrella.example",
        lines=[f.line(products[0], 1, "500.00")],
    )
    b_one = f.draft(
        world.b.team.sales_actor,
        customer="Sunshade Care",
        domain="parasol.example",
        lines=[f.line(products[1], 1, "600.00")],
    )
    for deal in (b_two, b_one):
        response = client.post(reverse("deals:submit", args=[deal.pk]), follow=True)
        assert response.status_code == 200
        page = response.content.decode()
        assert "possible conflict" in page.lower()
    assert DealConflict.objects.filter(deal=b_two).count() == 2
    assert DealConflict.objects.filter(deal=b_one).count() == 1
    return Conflicted(
        b_two=Deal.objects.get(pk=b_two.pk),
        b_one=Deal.objects.get(pk=b_one.pk),
        c=c,
        c_deals=[Deal.objects.get(pk=c_umbrella.pk), Deal.objects.get(pk=c_parasol.pk)],
    )


def _other_registrations(world: World, conflicted: Conflicted) -> list[str]:
    a_deal = world.a.deals["submitted"]
    values = [world.a.partner.legal_name, a_deal.reference, a_deal.customer_name, *money(a_deal.amount)]
    values.append(conflicted.c.partner.legal_name)
    for deal in conflicted.c_deals:
        values += [deal.reference, deal.customer_name, *money(deal.amount)]
    return values


def _conflict_snippets(page: str) -> list[str]:
    """Every bit of text or markup on the page that talks about a conflict."""
    return re.findall(r"[^<>]*onflict[^<>]*", page)


def test_flagged_deal_detail_says_only_that_a_conflict_is_under_review(
    world: World, conflicted: Conflicted
) -> None:
    client = login(world.b.team.sales)
    pages = {}
    for name, deal in (("two", conflicted.b_two), ("one", conflicted.b_one)):
        assert deal.conflict_status == ConflictStatus.UNDER_REVIEW
        response = client.get(reverse("deals:detail", args=[deal.pk]))
        assert response.status_code == 200
        page = response.content.decode()
        assert 'id="conflict-notice"' in page
        assert "Possible conflict under review" in page
        for secret in _other_registrations(world, conflicted):
            assert secret not in page, secret
        assert references_in(page) == {deal.reference}
        pages[name] = page
    # Two conflicting registrations read exactly like one: the number does not leak.
    assert _conflict_snippets(pages["two"]) == _conflict_snippets(pages["one"])
    # B's admin sees the same.
    admin_page = login(world.b.team.admin).get(reverse("deals:detail", args=[conflicted.b_two.pk]))
    for secret in _other_registrations(world, conflicted):
        assert secret not in admin_page.content.decode()


@pytest.mark.parametrize("who", ["admin", "sales"])
@pytest.mark.parametrize("url_name", ["deals:list", "deals:export", "deals:pipeline"])
def test_flagged_deals_in_lists_and_exports_say_only_possible_conflict(
    world: World, conflicted: Conflicted, who: str, url_name: str
) -> None:
    response = get_or_export(login(world.b.user(who)), reverse(url_name))
    assert response.status_code == 200
    text = body(response)
    for secret in _other_registrations(world, conflicted):
        assert secret not in text, secret
    if url_name == "deals:export":
        rows = {row[0]: row for row in csv_rows(response)[1:]}
        header = csv_rows(response)[0]
        column = header.index("conflict")
        for deal in (conflicted.b_two, conflicted.b_one):
            assert rows[deal.reference][column] == "Possible conflict under review"
        assert "2" not in rows[conflicted.b_two.reference][column]


def _dismiss(reviewer: Client, conflict: DealConflict) -> None:
    response = reviewer.post(
        reverse("deals:conflict_resolve", args=[conflict.pk]), {"resolution": ConflictResolution.DISMISSED}
    )
    assert response.status_code == 302
    assert DealConflict.objects.get(pk=conflict.pk).resolution == ConflictResolution.DISMISSED


def _detail_pages(world: World, conflicted: Conflicted) -> tuple[str, str]:
    client = login(world.b.team.sales)
    two = client.get(reverse("deals:detail", args=[conflicted.b_two.pk])).content.decode()
    one = client.get(reverse("deals:detail", args=[conflicted.b_one.pk])).content.decode()
    for secret in _other_registrations(world, conflicted):
        assert secret not in two, secret
        assert secret not in one, secret
    return two, one


def test_dismissing_one_of_several_conflicts_does_not_show_on_the_partners_page(
    world: World, conflicted: Conflicted
) -> None:
    """The reviewer dismisses one of the two conflicts; the other keeps the deal under review. The
    partner must read exactly what a deal with a single open conflict reads, or it learns that
    there was more than one (the brief: never the number of conflicting deals)."""
    first, _second = DealConflict.objects.filter(deal=conflicted.b_two).order_by("pk")
    _dismiss(login(world.vendor_admin.user), first)
    assert Deal.objects.get(pk=conflicted.b_two.pk).conflict_status == ConflictStatus.UNDER_REVIEW
    two, one = _detail_pages(world, conflicted)
    assert _conflict_snippets(two) == _conflict_snippets(one), (
        "B's deal page shows that one of several conflicts was resolved (history: deal.conflict_resolved)"
    )


def test_after_every_conflict_is_dismissed_the_partner_cannot_count_them(
    world: World, conflicted: Conflicted
) -> None:
    reviewer = login(world.vendor_admin.user)
    for conflict in DealConflict.objects.filter(deal__in=[conflicted.b_two, conflicted.b_one]):
        _dismiss(reviewer, conflict)
    for deal in (conflicted.b_two, conflicted.b_one):
        assert Deal.objects.get(pk=deal.pk).conflict_status == ConflictStatus.CLEARED
    two, one = _detail_pages(world, conflicted)
    assert "Possible conflict under review" not in two
    assert _conflict_snippets(two) == _conflict_snippets(one), (
        "B's deal page lists one deal.conflict_resolved event per conflicting registration"
    )


def test_the_reviewer_does_see_the_evidence_control(world: World, conflicted: Conflicted) -> None:
    page = login(world.vendor_admin.user).get(reverse("deals:review_detail", args=[conflicted.b_two.pk]))
    text = page.content.decode()
    assert world.a.partner.legal_name in text
    assert world.a.deals["submitted"].reference in text
    assert conflicted.c.partner.legal_name in text
