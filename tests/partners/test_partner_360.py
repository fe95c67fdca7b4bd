"""The partner 360 page (partners.vendor_360 and the apps' ``partner_360_panel``): every panel's
figures for a hand-built partner, who may open it (vendor staff; a channel account manager only the
portfolio; partner users never), what the money-blind roles see (no money panel), the recent
activity in plain words, empty states, and a query count that does not grow with the partner.

The clock stands still on 15 November 2026 at noon (UTC, the project's time zone): the current fund
period is the second half of 2026, "this year" is 2026 and "within 90 days" ends on 13 February
2027."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.urls import reverse

from partners import activity
from partners.models import PartnerRole, ScorecardSnapshot
from prm import audit
from prm.roles import VendorRole
from prm.tenancy import system_scope
from tests import factories
from tests.deals.factories import cam_for
from tests.helpers import assert_constant_queries, element, in_element, login
from tests.partners import scorecard_factories as sf
from tests.partners.scorecard_factories import at

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_frozen_clock")]

NOW = at(2026, 11, 15, 12)
D = Decimal
_n = itertools.count(1)


@pytest.fixture
def _frozen_clock() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


def record(**kwargs: Any) -> None:
    """An audit event, written as a service would in its caller's scope (here the system's)."""
    with system_scope():
        audit.record(**kwargs)


def url(partner: Any) -> str:
    return reverse("vendor:partner_360", args=[partner.pk])


def model(name: str) -> Any:
    return apps.get_model(*name.split("."))


# --- the hand-built partner ----------------------------------------------------------------------
def registrant(partner: Any) -> Any:
    """One sales user registers every test deal of a partner (a user per deal would be slow)."""
    membership = partner.memberships.filter(user__full_name="Reggie Registrant").first()
    if membership:
        return membership.user
    return factories.partner_user(partner, role=PartnerRole.SALES, full_name="Reggie Registrant")


def deal(
    partner: Any,
    status: str,
    stage: str,
    amount: str,
    currency: str = "USD",
    reference: str = "",
    **fields: Any,
) -> Any:
    number = next(_n)
    fields.setdefault("submitted_at", NOW - timedelta(days=2))
    if isinstance(fields.get("won_amount"), str):
        fields["won_amount"] = D(fields["won_amount"])
    return model("deals.Deal").objects.create(
        partner=partner,
        registered_by=registrant(partner),
        reference=reference or f"DR-T{number:05d}",
        customer_name=f"Customer {number}",
        status=status,
        stage=stage,
        amount=D(amount),
        currency=currency,
        **fields,
    )


def fund_request(allocation: Any, status: str, requested: str, title: str = "Roadshow") -> Any:
    return model("mdf.FundRequest").objects.create(
        partner_id=allocation.partner_id,
        allocation=allocation,
        requested_by=factories.partner_user(allocation.partner),
        reference=f"MDF-T{next(_n):05d}",
        activity_type="event",
        title=title,
        description="A partner event",
        start_date=date(2026, 12, 1),
        end_date=date(2026, 12, 2),
        total_cost=D(requested) * 2,
        requested_amount=D(requested),
        currency=allocation.currency,
        status=status,
        submitted_at=None if status == "draft" else NOW - timedelta(days=3),
    )


def asset(title: str) -> Any:
    from tests.content import factories as content_f

    return model("content.Asset").objects.create(
        title=title, category=content_f.category(), kind="link", url="https://x.example"
    )


def event(partner: Any, user: Any, asset_: Any, kind: str = "download", days_ago: int = 1) -> Any:
    return model("content.AssetEvent").objects.create(
        partner=partner, user=user, asset=asset_, kind=kind, at=NOW - timedelta(days=days_ago)
    )


def snapshot(partner: Any, total: str = "64.00") -> ScorecardSnapshot:
    def line(kpi: str, weight: str, target: str, value: str, points: str, score: str, max_: str) -> dict:
        return {
            "kpi": kpi,
            "weight": weight,
            "target": target,
            "value": value,
            "attainment": "50.0",
            "points": points,
            "score": score,
            "max": max_,
            "next_points": None,
            "next_value": None,
        }

    return ScorecardSnapshot.objects.create(
        partner=partner,
        as_of=date(2026, 11, 14),
        template_name="Standard",
        total_score=D(total),
        values={"won_revenue": "48250.00", "certified_people": "3"},
        lines=[
            line("won_revenue", "60", "50000", "48250.00", "80", "48.00", "60.00"),
            line("certified_people", "40", "10", "3", "40", "16.00", "40.00"),
        ],
    )


@pytest.fixture
def acme(partner: Any, other_partner: Any) -> Any:
    """Acme Networks with a figure of every kind, and Globex with rows that must never count."""
    sf.rates()  # EUR 1.10 USD; GBP has no rate
    # Deals: five open (by stage), two awaiting the vendor, one won, one lost, a draft nobody sees.
    deal(
        partner,
        "submitted",
        "qualification",
        "1000.00",
        reference="DR-OPEN-1",
        review_due_at=NOW - timedelta(hours=3),
    )
    deal(partner, "approved", "proposal", "2000.00", "EUR")
    deal(partner, "returned", "proposal", "500.00")
    deal(
        partner,
        "won_pending",
        "negotiation",
        "3000.00",
        won_amount="3500.00",
        won_claimed_at=NOW - timedelta(days=1),
    )
    deal(partner, "approved", "prospecting", "100.00", "GBP")
    deal(partner, "won", "negotiation", "4000.00", won_amount="4000.00", closed_on=date(2026, 10, 1))
    deal(partner, "lost", "proposal", "800.00", closed_on=date(2026, 10, 2))
    deal(partner, "draft", "proposal", "9999.00", submitted_at=None)
    deal(other_partner, "submitted", "qualification", "7777.00")
    # Funds: the current period's allocation, last period's, and requests in both.
    current = sf.fund_period(date(2026, 7, 1), date(2026, 12, 31))
    previous = sf.fund_period(date(2026, 1, 1), date(2026, 6, 30))
    allocation = sf.allocation(partner, current)
    for kind, amount in [
        ("allocated", "10000.00"),
        ("accrued", "500.00"),
        ("committed", "3000.00"),
        ("claimed", "2000.00"),
        ("paid", "1500.00"),
    ]:
        sf.ledger(allocation, kind, amount, NOW - timedelta(days=30))
    old_allocation = sf.allocation(partner, previous)
    sf.ledger(old_allocation, "allocated", "9000.00", NOW - timedelta(days=200))
    sf.ledger(old_allocation, "paid", "8000.00", NOW - timedelta(days=150))
    fund_request(allocation, "submitted", "4000.00", title="Winter roadshow")
    fund_request(allocation, "paid", "1000.00")
    fund_request(allocation, "draft", "700.00")
    fund_request(old_allocation, "claim_submitted", "2500.00", title="Spring webinar")
    sf.ledger(sf.allocation(other_partner, current), "allocated", "55555.00", NOW - timedelta(days=30))
    # Certifications: 3 people hold 4 valid ones, 2 of which expire within 90 days.
    security, cloud = sf.certification("Security Pro"), sf.certification("Cloud Pro")
    alice = factories.partner_user(partner, full_name="Alice Anders")
    bob = factories.partner_user(partner, role=PartnerRole.SALES, full_name="Bob Brandt")
    carol = factories.partner_user(partner, role=PartnerRole.SALES, full_name="Carol Cruz")
    dave = factories.partner_user(partner, role=PartnerRole.SALES, full_name="Dave Dunn")
    eve = factories.partner_user(partner, role=PartnerRole.SALES, full_name="Eve Evans")
    eve.membership.is_active = False
    eve.membership.save()
    sf.award(alice, partner, security, at(2025, 1, 1), None)
    sf.award(alice, partner, cloud, at(2025, 1, 1), NOW + timedelta(days=60))
    sf.award(bob, partner, security, at(2025, 1, 1), NOW + timedelta(days=30))
    sf.award(carol, partner, security, at(2025, 1, 1), NOW + timedelta(days=120))
    sf.award(dave, partner, security, at(2024, 1, 1), NOW - timedelta(days=1))  # expired
    sf.award(eve, partner, security, at(2025, 1, 1), None)  # left the company
    sf.award(factories.partner_user(other_partner), other_partner, security, at(2025, 1, 1), None)
    # Content: 4 downloads by 2 people and 2 views in 90 days; an older download and Globex's don't count.
    deck, battlecard = asset("Zero-trust deck"), asset("Firewall battlecard")
    event(partner, alice, deck)
    event(partner, alice, deck, days_ago=10)
    event(partner, bob, deck, days_ago=20)
    event(partner, bob, battlecard, kind="cobranded")
    event(partner, bob, battlecard, kind="view")
    event(partner, alice, deck, kind="view")
    event(partner, alice, battlecard, days_ago=100)
    event(other_partner, factories.partner_user(other_partner), battlecard)
    # Earnings: 250 USD this year (300 less a 50 reversal), 200 last year and paid; 80 EUR in a statement.
    sf.earning(partner, "300.00", "USD", NOW - timedelta(days=40))
    sf.earning(partner, "-50.00", "USD", NOW - timedelta(days=20), kind="reversal")
    paid_entry = sf.earning(partner, "200.00", "USD", at(2025, 11, 1))
    eur_entry = sf.earning(partner, "80.00", "EUR", NOW - timedelta(days=5))
    for entry, status in [(paid_entry, "paid"), (eur_entry, "approved")]:
        statement = model("incentives.Statement").objects.create(
            partner=partner,
            currency=entry.currency,
            period_end=date(2026, 10, 31) if status == "approved" else date(2025, 11, 30),
            number=f"ST-T{next(_n)}",
            status=status,
            total=entry.amount,
        )
        model("incentives.SettlementLine").objects.create(
            statement=statement, entry=entry, partner=partner, amount=entry.amount
        )
    sf.earning(other_partner, "9000.00", "USD", NOW - timedelta(days=5))
    snapshot(partner)
    snapshot(other_partner, total="99.00")
    return partner


def panel(response: Any, template: str) -> dict[str, Any] | None:
    found = [p for p in response.context["panels"] if p["template"] == template]
    return found[0] if found else None


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- the figures -----------------------------------------------------------------------------------
def test_each_panel_shows_the_figures_of_the_partner_and_nothing_of_another(acme: Any) -> None:
    cam = cam_for(acme)
    response = login(cam).get(url(acme))
    assert response.status_code == 200
    page = text(response)

    deals = panel(response, "deals/_partner_360_panel.html")
    stages = {row["stage"]: (row["count"], row["value"]) for row in deals["by_stage"]}
    assert stages == {
        "prospecting": (1, D("0.00")),  # 100 GBP: counted, not valued (no rate)
        "qualification": (1, D("1000.00")),
        "proposal": (2, D("2700.00")),  # 2000 EUR at 1.10 + 500 USD
        "negotiation": (1, D("3000.00")),
    }
    assert (deals["open_count"], deals["open_value"], deals["unconverted"]) == (5, D("6700.00"), ["GBP"])
    assert (deals["awaiting_count"], deals["won_count"], deals["lost_count"]) == (2, 1, 1)
    assert in_element("p360-open-count", "5").search(page)
    assert "6,700" in element(page, "p360-open-value")
    assert "2,700.00" in element(page, "p360-stage-proposal")
    awaiting = element(page, "p360-awaiting")
    assert "DR-OPEN-1" in awaiting and "past SLA" in awaiting and "Win to confirm" in awaiting
    assert "3,500.00" in awaiting  # the won amount reported, not the registered one
    assert reverse("deals:review_detail", args=[deals["awaiting"][0].pk]) in awaiting
    assert "7,777" not in page and "9,999" not in page
    assert '<canvas id="p360-stage-chart"' in page and 'id="chart-data"' in page

    funds = panel(response, "mdf/_partner_360_panel.html")
    (usd,) = funds["rows"]
    assert (usd["allocated"], usd["requested"], usd["request_count"], usd["paid"], usd["available"]) == (
        D("10500.00"),  # allocated + accrued, this period only
        D("5000.00"),  # submitted and paid requests; not the draft, nor last period's
        2,
        D("1500.00"),
        D("5500.00"),  # 10,500 - 3,000 committed - 2,000 claimed
    )
    assert funds["awaiting_count"] == 2  # this period's submitted request, last period's claim
    assert "10,500.00" in element(page, "p360-funds-allocated-USD")
    assert "5,000.00" in element(page, "p360-funds-requested-USD")
    assert "1,500.00" in element(page, "p360-funds-paid-USD")
    assert "Winter roadshow" in page and "Spring webinar" in page and "55,555" not in page

    training = panel(response, "training/_partner_360_panel.html")
    assert (training["people"], training["held"], training["expiring_count"]) == (3, 4, 2)
    assert [(row["certification__name"], row["people"]) for row in training["by_certification"]] == [
        ("Security Pro", 3),
        ("Cloud Pro", 1),
    ]
    expiring = element(page, "p360-expiring")
    assert "Bob Brandt" in expiring and "Alice Anders" in expiring and "Carol Cruz" not in expiring
    assert expiring.index("Bob Brandt") < expiring.index("Alice Anders")  # soonest first

    content = panel(response, "content/_partner_360_panel.html")
    assert (content["downloads"], content["people"], content["views"]) == (4, 2, 2)
    assert [(row["asset__title"], row["n"]) for row in content["top"]] == [
        ("Zero-trust deck", 3),
        ("Firewall battlecard", 1),
    ]

    earnings = panel(response, "incentives/_partner_360_panel.html")
    figures = {
        row["currency"]: (row["this_year"], row["unpaid"], row["in_statements"]) for row in earnings["rows"]
    }
    assert figures == {"EUR": (D("80.00"), D("80.00"), D("80.00")), "USD": (D("250.00"), D("250.00"), D("0"))}
    assert "250.00" in element(page, "p360-earned-USD") and "USD" in element(page, "p360-earned-USD")
    assert "9,000" not in page

    assert in_element("p360-score", "64").search(page)
    assert "48,250" in element(page, "p360-scorecard-lines") and "99" not in element(page, "p360-score")


def test_the_recent_activity_reads_in_plain_words(acme: Any, program_admin: Any) -> None:
    target = model("deals.Deal").objects.get(reference="DR-OPEN-1")
    record(actor=program_admin, action="deal.approved", target=target, partner_id=acme.pk)
    record(actor=None, action="deal.frobnicated", target=target, partner_id=acme.pk)
    record(
        actor=program_admin,
        action="partner.tier_changed",
        target=acme,
        partner_id=acme.pk,
        reason="Great year",
    )

    page = text(login(program_admin).get(url(acme)))

    shown = element(page, "p360-activity-list")
    assert f"Deal {target} approved" in shown
    assert "Deal: frobnicated · " in shown  # not phrased yet: still no raw key
    assert "Tier changed" in shown and "Great year" in shown
    assert "PRM (automatic)" in shown and program_admin.full_name in shown
    assert "deal.approved" not in shown and "partner.tier_changed" not in shown


# Actions on vendor-wide objects (the course catalogue, approval limits): no partner's activity.
NOT_ABOUT_A_PARTNER = {
    "mdf.approval_limit_removed",
    "training.course_published",
    "training.course_unpublished",
    "training.lesson_changed",
    "training.lesson_created",
    "training.lesson_deleted",
}
ACTION = re.compile(
    r'action="((?:partner|membership|invitation|profile_change|deal|lead|mdf|training|incentives)\.[a-z_]*[a-z])"'
)


def test_every_action_the_apps_record_about_a_partner_has_a_phrase() -> None:
    """The plain words cover the audit actions the services write (a new one falls back to words
    built from its key, but should get a sentence: this lists it)."""
    root = Path(__file__).resolve().parents[2]
    written = set()
    for app in ("partners", "deals", "mdf", "training", "incentives"):
        for source in (root / app).rglob("*.py"):
            written |= set(ACTION.findall(source.read_text()))
    assert "deal.approved" in written, "the pattern is out of date"
    missing = written - NOT_ABOUT_A_PARTNER - set(activity.PHRASES)
    assert not missing, sorted(missing)


# --- who sees what -----------------------------------------------------------------------------------
def test_a_channel_account_manager_sees_the_portfolio_only(acme: Any, other_partner: Any) -> None:
    cam = cam_for(acme)
    client = login(cam)
    assert client.get(url(acme)).status_code == 200
    assert client.get(url(other_partner)).status_code == 404
    assert client.get(reverse("vendor:partner_360", args=[987_654_321])).status_code == 404


def test_partner_users_get_a_404_even_for_their_own_company(acme: Any, partner_admin: Any) -> None:
    assert login(partner_admin).get(url(acme)).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(acme: Any) -> None:
    from django.test import Client

    response = Client().get(url(acme))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_money_blind_roles_see_no_money_panel(acme: Any) -> None:
    target = model("deals.Deal").objects.get(reference="DR-OPEN-1")
    record(actor=None, action="deal.approved", target=target, partner_id=acme.pk)
    manager = factories.vendor_user(VendorRole.CONTENT_MANAGER)

    response = login(manager).get(url(acme))

    assert response.status_code == 200
    templates = {p["template"] for p in response.context["panels"]}
    assert templates == {"training/_partner_360_panel.html", "content/_partner_360_panel.html"}
    page = text(response)
    for money in ("p360-deals", "p360-funds", "p360-earnings", "p360-scorecard"):
        assert f'id="{money}"' not in page
    for figure in ("6,700", "10,500", "250.00", "48,250", "DR-OPEN-1"):
        assert figure not in page
    assert 'id="p360-training"' in page and 'id="p360-content"' in page


@pytest.mark.parametrize("role", [VendorRole.PROGRAM_ADMIN, VendorRole.FINANCE])
def test_program_admins_and_finance_see_every_panel(acme: Any, role: str) -> None:
    response = login(factories.vendor_user(role)).get(url(acme))
    page = text(response)
    for card in (
        "p360-scorecard",
        "p360-deals",
        "p360-funds",
        "p360-training",
        "p360-content",
        "p360-earnings",
    ):
        assert f'id="{card}"' in page, card


def test_a_quiet_partner_shows_an_empty_state_in_every_panel(other_partner: Any, program_admin: Any) -> None:
    page = text(login(program_admin).get(url(other_partner)))
    for empty in (
        "No scorecard yet",
        "No open deals",
        "No deals awaiting review",
        "No funds allocated in the current period",
        "No fund requests or claims waiting",
        "Nobody at this partner holds a valid certification yet",
        "No downloads in the last 90 days",
        "No incentive earnings yet",
    ):
        assert empty in page, empty
    assert 'id="chart-data"' not in page  # no chart of nothing


def test_the_partner_list_the_partner_page_and_the_admin_link_to_it(acme: Any, program_admin: Any) -> None:
    client = login(program_admin)
    assert url(acme) in client.get(reverse("vendor:partner_list")).content.decode()
    assert url(acme) in client.get(reverse("vendor:partner_detail", args=[acme.pk])).content.decode()
    change = client.get(reverse("admin:partners_partner_change", args=[acme.pk]))
    assert change.status_code == 200 and url(acme) in change.content.decode()


# --- queries -------------------------------------------------------------------------------------------
# 33 for the page and the apps' cards, plus the support card's two (its counts, its oldest open
# cases) and the plan card's one.
PAGE_BOUND = 36


def _grow(partner: Any, n: int) -> None:
    """``n`` more of every row the page reads: deals awaiting review, fund requests, certifications
    expiring soon, downloads of new assets, earnings and audit events."""
    allocation = model("mdf.Allocation").objects.filter(partner=partner).order_by("pk").first()
    security = model("training.Certification").objects.get(name="Security Pro")
    for _ in range(n):
        number = next(_n)
        made = deal(
            partner,
            "submitted",
            "proposal",
            "10.00",
            reference=f"DR-GROW-{number:03}",
            submitted_at=NOW - timedelta(days=9),
        )
        fund_request(allocation, "submitted", "10.00", title=f"Grown request {number}")
        person = factories.partner_user(partner, role=PartnerRole.SALES, full_name=f"Grown Person {number}")
        sf.award(person, partner, security, at(2025, 1, 1), NOW + timedelta(days=10))
        event(partner, person, asset(f"Grown asset {number}"))
        sf.earning(partner, "1.00", "USD", NOW - timedelta(days=1))
        record(actor=None, action="deal.submitted", target=made, partner_id=partner.pk)


def _counts(response: Any) -> tuple[int, ...]:
    deals = panel(response, "deals/_partner_360_panel.html")
    funds = panel(response, "mdf/_partner_360_panel.html")
    training = panel(response, "training/_partner_360_panel.html")
    content = panel(response, "content/_partner_360_panel.html")
    return (
        deals["awaiting_count"] if deals else None,
        funds["awaiting_count"] if funds else None,
        training["expiring_count"],
        content["downloads"],
    )


@pytest.mark.parametrize("role", ["cam", VendorRole.PROGRAM_ADMIN, VendorRole.CONTENT_MANAGER])
def test_the_page_runs_the_same_queries_for_1_or_50_rows_of_each_kind(partner: Any, role: str) -> None:
    sf.rates()
    allocation = sf.allocation(partner, sf.fund_period(date(2026, 7, 1), date(2026, 12, 31)))
    sf.ledger(allocation, "allocated", "1000.00", NOW - timedelta(days=30))
    sf.certification("Security Pro")
    snapshot(partner)
    _grow(partner, 1)
    reader = cam_for(partner) if role == "cam" else factories.vendor_actor(role)
    money = role != VendorRole.CONTENT_MANAGER

    def shows() -> list[Any]:
        expiring = (
            model("training.CertificationAward").objects.filter(partner=partner).order_by("expires_at", "pk")
        )
        names = [award.user.full_name for award in expiring[:8]]
        if not money:
            return names
        waiting = (
            model("deals.Deal")
            .objects.filter(partner=partner, status="submitted")
            .order_by("submitted_at", "pk")
        )
        requests = (
            model("mdf.FundRequest")
            .objects.filter(partner=partner, status="submitted")
            .order_by("submitted_at", "pk")
        )
        return names + [d.reference for d in waiting[:8]] + [r.reference for r in requests[:5]]

    assert_constant_queries(
        login(reader),
        url(partner),
        lambda: _grow(partner, 49),
        rows=_counts,
        shows=shows,
        small=(1, 1, 1, 1) if money else (None, None, 1, 1),
        large=(50, 50, 50, 50) if money else (None, None, 50, 50),
        # A CAM's request: 14 for the session, the actor, the portfolio and the scope; the page's
        # own 20 (partner, scorecard and its labels, contacts, activity; deals 3, funds 3,
        # training 3, content 2, earnings 1, joint business plan 1).
        bound=PAGE_BOUND,
    )


@pytest.mark.parametrize(
    "role", ["cam", VendorRole.PROGRAM_ADMIN, VendorRole.FINANCE, VendorRole.CONTENT_MANAGER]
)
def test_each_panel_keeps_to_three_queries(acme: Any, role: str) -> None:
    """Every app's ``partner_360_panel`` on its own, as the page calls it, in the reader's scope."""
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext
    from django.utils.module_loading import import_string

    from tests.scoping import acting

    reader = cam_for(acme) if role == "cam" else factories.vendor_actor(role)
    request = RequestFactory().get(url(acme))
    request.actor, request.user = reader, reader.user
    # An app's config names one dotted path or a list of them (partners.panels.app_panels).
    named = [getattr(config, "partner_360_panel", ()) for config in apps.get_app_configs()]
    hooks = [hook for paths in named for hook in ([paths] if isinstance(paths, str) else paths)]
    assert len(hooks) >= 5
    for hook in hooks:
        with acting(reader), CaptureQueriesContext(connection) as queries:
            import_string(hook)(request, partner=acme)
        assert len(queries) <= 3, (hook, [q["sql"][:80] for q in queries.captured_queries])
