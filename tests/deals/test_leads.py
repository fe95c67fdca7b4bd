"""Vendor leads: creation, all-or-nothing CSV import, weighted distribution by tier and region,
and the partner's accept / decline within the acceptance SLA."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from deals import leads, selectors
from deals.models import Deal, DealStatus, Lead, LeadOffer, LeadStatus, OfferOutcome
from partners.models import PartnerRole, PartnerStatus, Region
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as f

pytestmark = pytest.mark.django_db


def _assign(vendor: Any, lead: Lead, team: f.Team) -> LeadOffer:
    with f.acting(vendor):
        return leads.lead_assign(actor=vendor, lead=lead, partner=team.partner)


def _recipients(kind: str) -> list[int]:
    return sorted(Notification.objects.filter(kind=kind).values_list("recipient_id", flat=True))


# --- creation ------------------------------------------------------------------------------------
def test_lead_create_stores_a_new_lead(vendor_admin: Any) -> None:
    lead = f.lead(vendor_admin, "Vandelay Industries", estimated_value=Decimal("25000.00"), currency="EUR")
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.company_name, fresh.region, fresh.status) == ("Vandelay Industries", "na", LeadStatus.NEW)
    assert (fresh.estimated_value, fresh.currency) == (Decimal("25000.00"), "EUR")
    assert fresh.assigned_partner is None
    assert fresh.created_by == vendor_admin.user
    assert AuditEvent.objects.filter(action="lead.created", target_id=str(lead.pk)).count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"company_name": "", "region": "na"}, "Enter the lead's company."),
        ({"company_name": "Vandelay", "region": ""}, "Choose the lead's region."),
        ({"company_name": "Vandelay", "region": "mars"}, "Choose the lead's region."),
    ],
)
def test_lead_create_validation(vendor_admin: Any, data: dict, message: str) -> None:
    with f.acting(vendor_admin), pytest.raises(ApplicationError, match=message):
        leads.lead_create(actor=vendor_admin, data=data)
    assert Lead.objects.filter(created_by=vendor_admin.user).count() == 0


def test_only_reviewers_create_and_import_leads(team_a: f.Team) -> None:
    for actor in (
        team_a.admin_actor,
        team_a.sales_actor,
        factories.vendor_actor(VendorRole.FINANCE),
        factories.vendor_actor(VendorRole.CONTENT_MANAGER),
    ):
        with f.acting(actor), pytest.raises(PermissionDenied):
            leads.lead_create(actor=actor, data={"company_name": "Vandelay", "region": "na"})
        with f.acting(actor), pytest.raises(PermissionDenied):
            leads.lead_import_csv(actor=actor, content=b"company_name,region\nVandelay,na\n")
    assert Lead.objects.filter(company_name="Vandelay").count() == 0


# --- CSV import ----------------------------------------------------------------------------------
GOOD_CSV = (
    "\ufeffCompany_Name,Domain,Country,Region,Contact_Email,Estimated_Value,Currency,Product_Interest\n"
    'Initech,https://www.Initech.com/,us,NA,Bill@Initech.com,"12,500.50",usd,Firewalls\n'
    "Umbrella,umbrella.co.uk,GB,emea,,3000,EUR,\n"
    "Hooli,,JP,apac,,,,\n"
)


def _import(actor: Any, content: bytes) -> leads.ImportResult:
    with f.acting(actor):
        return leads.lead_import_csv(actor=actor, content=content)


def test_a_good_file_creates_every_lead(vendor_admin: Any) -> None:
    result = _import(vendor_admin, GOOD_CSV.encode("utf-8"))
    assert result.errors == []
    assert len(result.created) == 3
    rows = {
        lead.company_name: lead for lead in Lead.objects.filter(pk__in=[lead.pk for lead in result.created])
    }
    assert set(rows) == {"Initech", "Umbrella", "Hooli"}
    initech = rows["Initech"]
    assert (initech.domain, initech.country.code, initech.region) == ("initech.com", "US", "na")
    assert (initech.contact_email, initech.estimated_value, initech.currency) == (
        "bill@initech.com",
        Decimal("12500.50"),
        "USD",
    )
    assert initech.product_interest == "Firewalls"
    assert (rows["Umbrella"].region, rows["Umbrella"].currency) == ("emea", "EUR")
    assert rows["Hooli"].estimated_value is None
    assert {lead.status for lead in rows.values()} == {LeadStatus.NEW}
    assert {lead.created_by_id for lead in rows.values()} == {vendor_admin.user.pk}
    assert AuditEvent.objects.get(action="lead.imported").after == {"rows": 3}


def test_a_file_with_bad_rows_imports_nothing_and_names_the_lines(vendor_admin: Any) -> None:
    content = (
        b"company_name,domain,country,region,contact_email,estimated_value\n"
        b"Initech,initech.com,US,na,bill@initech.com,100\n"  # line 2: fine
        b"Umbrella,umbrella.co.uk,GB,mars,,\n"  # line 3: region
        b"Hooli,hooli.com,US,na,gavin-at-hooli,\n"  # line 4: e-mail
        b"Pied Piper,not a domain,US,na,,\n"  # line 5: domain
        b"Aviato,aviato.com,US,na,,lots\n"  # line 6: value
        b"Raviga,raviga.com,ZZ,na,,\n"  # line 7: country
        b"Bachmanity,bachmanity.com,US,na,,5\n"  # line 8: fine
        b",nameless.com,US,na,,\n"  # line 9: no company
    )
    result = _import(vendor_admin, content)
    assert result.created == []
    assert [line for line, _message in result.errors] == [3, 4, 5, 6, 7, 9]
    messages = dict(result.errors)
    assert "mars" in messages[3] and "region" in messages[3]
    assert "gavin-at-hooli" in messages[4]
    assert "not a domain" in messages[5]
    assert "lots" in messages[6]
    assert "ZZ" in messages[7]
    assert "company_name" in messages[9]
    assert Lead.objects.filter(created_by=vendor_admin.user).count() == 0
    assert AuditEvent.objects.filter(action="lead.imported").count() == 0


def test_line_numbers_count_blank_lines(vendor_admin: Any) -> None:
    """The number reported is the line the user finds in the file, blank lines included."""
    content = b"company_name,region\nInitech,na\n\nUmbrella,mars\n"
    result = _import(vendor_admin, content)
    assert [line for line, _message in result.errors] == [4]
    assert Lead.objects.filter(created_by=vendor_admin.user).count() == 0


@pytest.mark.parametrize("value", ["NaN", "Infinity", "100000000000000000000"])
def test_values_that_do_not_fit_are_reported_not_crashed_on(vendor_admin: Any, value: str) -> None:
    content = f"company_name,region,estimated_value\nInitech,na,10\nUmbrella,emea,{value}\n".encode()
    result = _import(vendor_admin, content)
    assert [line for line, _message in result.errors] == [3]
    assert Lead.objects.filter(created_by=vendor_admin.user).count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("company_name,region\nSociété Générale,emea\n".encode("latin-1"), "not UTF-8"),
        (b"Initech,na\nHooli,apac\n", "company_name and region are required"),
        (b"company_name,domain\nInitech,initech.com\n", "company_name and region are required"),
        (b"", "company_name and region are required"),
        (b"company_name,region\n", "no rows"),
    ],
    ids=["latin-1", "no-header", "no-region-column", "empty", "header-only"],
)
def test_unreadable_files_are_refused(vendor_admin: Any, content: bytes, message: str) -> None:
    with f.acting(vendor_admin), pytest.raises(ApplicationError, match=message):
        leads.lead_import_csv(actor=vendor_admin, content=content)
    assert Lead.objects.filter(created_by=vendor_admin.user).count() == 0


# --- weighted distribution -----------------------------------------------------------------------
@pytest.fixture
def field(db: Any) -> dict[str, Any]:
    """Partners in North America with different standing, and one elsewhere."""
    return {
        "heavy": factories.PartnerFactory(legal_name="Heavy", tier=factories.tier("Platinum")),  # weight 5
        "light": factories.PartnerFactory(legal_name="Light", tier=factories.tier("Silver")),  # weight 1
        "registered": factories.PartnerFactory(legal_name="Newcomer", tier=factories.tier("Registered")),
        "suspended": factories.PartnerFactory(
            legal_name="Paused", tier=factories.tier("Gold"), status=PartnerStatus.SUSPENDED
        ),
        "onboarding": factories.PartnerFactory(
            legal_name="Starting", tier=factories.tier("Gold"), status=PartnerStatus.ONBOARDING
        ),
        "emea": factories.PartnerFactory(
            legal_name="Elsewhere", tier=factories.tier("Platinum"), region="emea"
        ),
    }


def test_distribution_is_weighted_by_tier_within_the_region(vendor_admin: Any, field: dict) -> None:
    lead = f.lead(vendor_admin, region=Region.NORTH_AMERICA)
    rng = random.Random(20240601)
    with f.acting(vendor_admin):  # distribution is vendor (or system) work
        counts = Counter(leads.choose_partner(lead, rng).legal_name for _ in range(2000))
    assert set(counts) == {"Heavy", "Light"}  # weight 0, inactive and other-region partners never
    share = counts["Heavy"] / 2000
    assert 0.75 <= share <= 0.92, counts


def test_the_same_seed_gives_the_same_choices(vendor_admin: Any, field: dict) -> None:
    lead = f.lead(vendor_admin)
    with f.acting(vendor_admin):  # distribution is vendor (or system) work
        first = [leads.choose_partner(lead, random.Random(7)).pk for _ in range(5)]
        second = [leads.choose_partner(lead, random.Random(7)).pk for _ in range(5)]
    assert first == second


@pytest.mark.parametrize("outcome", [OfferOutcome.DECLINED, OfferOutcome.TIMED_OUT])
def test_partners_that_already_had_the_lead_are_skipped(vendor_admin: Any, field: dict, outcome: str) -> None:
    lead = f.lead(vendor_admin)
    LeadOffer.objects.create(
        lead=lead, partner=field["heavy"], respond_by=timezone.now() - timedelta(hours=1), outcome=outcome
    )
    rng = random.Random(3)
    with f.acting(vendor_admin):  # distribution is vendor (or system) work
        assert {leads.choose_partner(lead, rng).legal_name for _ in range(50)} == {"Light"}


def test_no_eligible_partner_leaves_the_lead_unassignable(vendor_admin: Any, field: dict) -> None:
    lead = f.lead(vendor_admin, region=Region.LATIN_AMERICA)
    with f.acting(vendor_admin):
        assert leads.choose_partner(lead, random.Random(1)) is None
        assert leads.lead_distribute(actor=vendor_admin, lead=lead, rng=random.Random(1)) is None
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.status, fresh.assigned_partner) == (LeadStatus.UNASSIGNABLE, None)
    assert LeadOffer.objects.filter(lead=lead).count() == 0


def test_distribution_offers_the_lead_with_the_sla(vendor_admin: Any, team_a: f.Team) -> None:
    marketing = factories.partner_user(team_a.partner, role=PartnerRole.MARKETING)
    lead = f.lead(vendor_admin)
    started = timezone.now()
    with f.acting(vendor_admin):
        offer = leads.lead_distribute(actor=vendor_admin, lead=lead, rng=random.Random(1))
    assert offer.partner == team_a.partner
    assert offer.outcome == OfferOutcome.PENDING and offer.assigned_manually is False
    assert abs(offer.respond_by - (started + timedelta(hours=48))) < timedelta(minutes=1)
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.status, fresh.assigned_partner, fresh.respond_by) == (
        LeadStatus.OFFERED,
        team_a.partner,
        offer.respond_by,
    )
    recipients = _recipients("lead.offered")
    assert recipients == sorted([team_a.admin.pk, team_a.sales.pk, team_a.sales2.pk])
    assert marketing.pk not in recipients
    with f.acting(vendor_admin), pytest.raises(ApplicationError, match="waiting for a partner's answer"):
        leads.lead_distribute(actor=vendor_admin, lead=lead)


# --- accept ------------------------------------------------------------------------------------
def test_accepting_a_lead_creates_a_prefilled_draft(vendor_admin: Any, team_a: f.Team) -> None:
    lead = f.lead(
        vendor_admin,
        "Vandelay Industries",
        domain="vandelay.com",
        country="US",
        contact_name="Art Vandelay",
        contact_email="art@vandelay.com",
        product_interest="Latex import tracking",
    )
    offer = _assign(vendor_admin, lead, team_a)
    sales = team_a.sales_actor
    with f.acting(sales):
        assert [item.pk for item in selectors.lead_list(actor=sales)] == [lead.pk]
        deal = leads.lead_accept(actor=sales, lead=lead)
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.status, fresh.partner, fresh.registered_by) == (
        DealStatus.DRAFT,
        team_a.partner,
        team_a.sales,
    )
    assert (fresh.customer_name, fresh.customer_domain, fresh.customer_region) == (
        "Vandelay Industries",
        "vandelay.com",
        "na",
    )
    assert fresh.customer_country.code == "US"
    assert (fresh.contact_name, fresh.contact_email) == ("Art Vandelay", "art@vandelay.com")
    assert "Latex import tracking" in fresh.notes
    stored_offer = LeadOffer.objects.get(pk=offer.pk)
    assert (stored_offer.outcome, stored_offer.responded_by) == (OfferOutcome.ACCEPTED, team_a.sales)
    stored_lead = Lead.objects.get(pk=lead.pk)
    assert (stored_lead.status, stored_lead.deal_id) == (LeadStatus.ACCEPTED, deal.pk)
    assert _recipients("lead.accepted") == [vendor_admin.user.pk]
    assert Notification.objects.get(kind="lead.accepted").title == (
        "Northwind Resellers accepted the lead Vandelay Industries"
    )
    # Accepted once: a second click is refused.
    with f.acting(sales), pytest.raises(ApplicationError):
        leads.lead_accept(actor=sales, lead=lead)
    assert Deal.objects.filter(partner=team_a.partner).count() == 1


def test_accepting_after_the_deadline_is_refused(vendor_admin: Any, team_a: f.Team) -> None:
    lead = f.lead(vendor_admin)
    offer = _assign(vendor_admin, lead, team_a)
    LeadOffer.objects.filter(pk=offer.pk).update(respond_by=timezone.now() - timedelta(minutes=1))
    sales = team_a.sales_actor
    with f.acting(sales), pytest.raises(ApplicationError, match="The time to accept this lead has passed"):
        leads.lead_accept(actor=sales, lead=lead)
    assert Deal.objects.filter(partner=team_a.partner).count() == 0
    assert LeadOffer.objects.get(pk=offer.pk).outcome == OfferOutcome.PENDING
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.OFFERED


# --- decline ----------------------------------------------------------------------------------
def test_decline_needs_a_reason(vendor_admin: Any, team_a: f.Team, team_b: f.Team) -> None:
    lead = f.lead(vendor_admin)
    offer = _assign(vendor_admin, lead, team_a)
    sales = team_a.sales_actor
    with f.acting(sales), pytest.raises(ApplicationError, match="Say why you decline"):
        leads.lead_decline(actor=sales, lead=lead, reason="  ")
    assert LeadOffer.objects.get(pk=offer.pk).outcome == OfferOutcome.PENDING
    assert (Lead.objects.get(pk=lead.pk).assigned_partner, LeadOffer.objects.filter(lead=lead).count()) == (
        team_a.partner,
        1,
    )


def test_decline_moves_the_lead_to_the_next_eligible_partner(
    vendor_admin: Any, team_a: f.Team, team_b: f.Team
) -> None:
    factories.PartnerFactory(legal_name="Newcomer", tier=factories.tier("Registered"))  # weight 0
    lead = f.lead(vendor_admin, "Vandelay Industries")
    offer = _assign(vendor_admin, lead, team_a)
    Notification.objects.all().delete()
    # Declined in the partner's scope, as its page does; the system moves the lead on.
    with f.acting(team_a.sales_actor):
        next_offer = leads.lead_decline(actor=team_a.sales_actor, lead=lead, reason="Outside our territory")

    declined = LeadOffer.objects.get(pk=offer.pk)
    assert (declined.outcome, declined.reason, declined.responded_by) == (
        OfferOutcome.DECLINED,
        "Outside our territory",
        team_a.sales,
    )
    assert next_offer is not None and next_offer.partner == team_b.partner
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.status, fresh.assigned_partner) == (LeadStatus.OFFERED, team_b.partner)
    assert _recipients("lead.declined") == [vendor_admin.user.pk]
    title = Notification.objects.get(kind="lead.declined").title
    assert "Northwind Resellers did not take it" in title and "offered to another partner" in title
    assert _recipients("lead.offered") == sorted([team_b.admin.pk, team_b.sales.pk, team_b.sales2.pk])
    event = AuditEvent.objects.get(action="lead.declined")
    assert (event.reason, event.partner_id) == ("Outside our territory", team_a.partner.pk)
    # Partner A no longer sees it; partner B does.
    assert list(selectors.lead_list(actor=team_a.sales_actor)) == []
    assert list(selectors.lead_list(actor=team_b.sales_actor)) == [fresh]


def test_a_partner_can_decline_in_its_own_scope(vendor_admin: Any, team_a: f.Team, team_b: f.Team) -> None:
    """A request runs in the partner's database scope; declining must still hand the lead on."""
    lead = f.lead(vendor_admin)
    _assign(vendor_admin, lead, team_a)
    sales = team_a.sales_actor
    with f.acting(sales):
        next_offer = leads.lead_decline(actor=sales, lead=lead, reason="No capacity this quarter")
    assert next_offer is not None
    assert next_offer.partner_id == team_b.partner.pk
    assert Lead.objects.get(pk=lead.pk).assigned_partner_id == team_b.partner.pk


def test_declined_by_everyone_becomes_unassignable_and_cannot_be_given_back(
    vendor_admin: Any, team_a: f.Team
) -> None:
    lead = f.lead(vendor_admin)
    _assign(vendor_admin, lead, team_a)
    with f.acting(team_a.admin_actor):
        assert leads.lead_decline(actor=team_a.admin_actor, lead=lead, reason="Not our market") is None
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.status, fresh.assigned_partner) == (LeadStatus.UNASSIGNABLE, None)
    assert "no other partner is available" in Notification.objects.get(kind="lead.declined").title
    with f.acting(vendor_admin), pytest.raises(ApplicationError, match="already had this lead"):
        leads.lead_assign(actor=vendor_admin, lead=lead, partner=team_a.partner)
    assert LeadOffer.objects.filter(lead=lead).count() == 1


# --- who may act -------------------------------------------------------------------------------
def test_other_partners_cannot_see_accept_or_decline(
    vendor_admin: Any, team_a: f.Team, team_b: f.Team
) -> None:
    lead = f.lead(vendor_admin)
    offer = _assign(vendor_admin, lead, team_a)
    for actor in (team_b.admin_actor, team_b.sales_actor):
        assert list(selectors.lead_list(actor=actor)) == []
        with f.acting(actor):
            assert not Lead.objects.filter(pk=lead.pk).exists()  # the database agrees
        with f.acting(actor), pytest.raises(PermissionDenied):
            leads.lead_accept(actor=actor, lead=lead)
        with f.acting(actor), pytest.raises(PermissionDenied):
            leads.lead_decline(actor=actor, lead=lead, reason="Not ours anyway")
    marketing = factories.actor_for(factories.partner_user(team_a.partner, role=PartnerRole.MARKETING))
    assert list(selectors.lead_list(actor=marketing)) == []
    with f.acting(marketing), pytest.raises(PermissionDenied):
        leads.lead_accept(actor=marketing, lead=lead)
    assert LeadOffer.objects.get(pk=offer.pk).outcome == OfferOutcome.PENDING
    assert Lead.objects.get(pk=lead.pk).assigned_partner == team_a.partner
    assert Deal.objects.filter(partner=team_a.partner).count() == 0


# --- manual assignment -------------------------------------------------------------------------
def test_manual_assignment_refuses_inactive_partners(vendor_admin: Any) -> None:
    lead = f.lead(vendor_admin)
    for status in (PartnerStatus.SUSPENDED, PartnerStatus.TERMINATED, PartnerStatus.ONBOARDING):
        partner = factories.PartnerFactory(status=status, tier=factories.tier("Gold"))
        with f.acting(vendor_admin), pytest.raises(ApplicationError, match="not an active partner"):
            leads.lead_assign(actor=vendor_admin, lead=lead, partner=partner)
    assert LeadOffer.objects.filter(lead=lead).count() == 0
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.NEW


def test_manual_assignment_may_pick_any_active_partner(vendor_admin: Any) -> None:
    """By hand, the program admin may give a lead to a partner the weights would skip."""
    newcomer = factories.PartnerFactory(tier=factories.tier("Registered"))
    lead = f.lead(vendor_admin)
    with f.acting(vendor_admin):
        offer = leads.lead_assign(actor=vendor_admin, lead=lead, partner=newcomer)
    assert (offer.partner, offer.assigned_manually) == (newcomer, True)
    with f.acting(vendor_admin), pytest.raises(ApplicationError, match="Only new or unassigned"):
        leads.lead_assign(actor=vendor_admin, lead=lead, partner=factories.PartnerFactory())


def test_a_cam_assigns_only_to_partners_in_the_portfolio(team_a: f.Team, team_b: f.Team) -> None:
    cam = f.cam_for(team_a.partner)
    lead = f.lead(cam)
    with f.acting(cam), pytest.raises(PermissionDenied):
        leads.lead_assign(actor=cam, lead=lead, partner=team_b.partner)
    assert LeadOffer.objects.filter(lead=lead).count() == 0
    _assign(cam, lead, team_a)
    assert Lead.objects.get(pk=lead.pk).assigned_partner == team_a.partner


@pytest.mark.parametrize("status", ["", LeadStatus.OFFERED, LeadStatus.ACCEPTED])
def test_the_partner_lead_lists_count_is_a_kept_statement(
    vendor_admin: Any, team_a: f.Team, team_b: f.Team, status: str, settings: Any
) -> None:
    """The partner lead list's count is a statement kept compiled (prm.statements; each call
    checked against the ORM's own, PRM["VERIFY_STATEMENTS"]), for every filter of the page, and
    counts the partner's own leads only; with none, the page builds no list."""
    from django.urls import reverse

    from tests.helpers import login

    assert settings.PRM["VERIFY_STATEMENTS"]
    _assign(vendor_admin, f.lead(vendor_admin), team_a)
    for team, expected in ((team_a, 0 if status == LeadStatus.ACCEPTED else 1), (team_b, 0)):
        response = login(team.admin).get(reverse("deals:lead_list"), {"status": status} if status else {})
        assert response.status_code == 200
        page = response.context["page"]
        assert page.paginator.count == len(page.object_list) == expected
        # The page passes the text of its query string (a str, not the enum: another shape).
        assert leads._PARTNER_LEAD_COUNT.is_kept(team.admin_actor, status=str(status) or None)
