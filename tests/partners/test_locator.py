"""The public partner locator (partners.locator): who appears (active partners that opted in, only),
the filters, pagination and its bounded queries, the enquiry that becomes a lead for that partner
only (honeypot, rate limit, duplicates, CSRF), no e-mail address on a public page, and the
listing page a partner admin keeps (audited; logos checked)."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from deals import leads
from deals.models import (
    AuthorizationRequirement,
    Lead,
    LeadOffer,
    LeadSource,
    LeadStatus,
    PartnerAuthorization,
)
from partners.locator import services
from partners.models import Partner, PartnerListing, PartnerRole, PartnerStatus, Region
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from tests import factories
from tests.deals import factories as deal_factories
from tests.helpers import assert_constant_queries, body_text, login
from tests.scoping import acting
from tests.training import factories as training_factories

pytestmark = pytest.mark.django_db

DIRECTORY = reverse("locator:directory")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def listed(
    name: str,
    *,
    status: str = PartnerStatus.ACTIVE,
    published: bool = True,
    tier: str = "Gold",
    description: str = "",
    **partner_kwargs: Any,
) -> PartnerListing:
    partner = factories.PartnerFactory(
        legal_name=name, status=status, tier=factories.tier(tier), **partner_kwargs
    )
    return PartnerListing.objects.create(
        partner=partner, published=published, description=description or f"{name} sells and installs."
    )


def names(response: Any) -> list[str]:
    page = response.context["page"]
    return [] if page is None else [listing.name for listing in page.object_list]


def contact_data(**overrides: Any) -> dict[str, str]:
    return {
        "contact_name": "Dana Customer",
        "company_name": "Vandelay Industries",
        "contact_email": "dana@vandelay.example",
        "country": "CA",
        "description": "We need 40 firewalls installed in March.",
        "homepage": "",
        **overrides,
    }


def png(size: tuple[int, int] = (40, 20), name: str = "logo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


# --- who appears ----------------------------------------------------------------------------------
def test_only_active_partners_that_opted_in_appear() -> None:
    shown = listed("Shown Active Networks")
    hidden = [
        listed("Hidden Opted Out", published=False),
        listed("Hidden Onboarding", status=PartnerStatus.ONBOARDING),
        listed("Hidden Suspended", status=PartnerStatus.SUSPENDED),
        listed("Hidden Terminated", status=PartnerStatus.TERMINATED),
    ]
    factories.PartnerFactory(legal_name="Hidden Without Listing")
    response = Client().get(DIRECTORY)
    assert response.status_code == 200
    assert names(response) == ["Shown Active Networks"]
    text = body_text(response)
    assert "Hidden" not in text
    assert Client().get(reverse("locator:detail", args=[shown.pk])).status_code == 200
    for listing in hidden:
        assert Client().get(reverse("locator:detail", args=[listing.pk])).status_code == 404
        assert Client().post(reverse("locator:detail", args=[listing.pk]), contact_data()).status_code == 404
    assert Lead.objects.count() == 0


def test_the_public_pages_show_no_email_address() -> None:
    listing = listed("Private Mail Networks", contact_email="sales@private-mail.example")
    factories.partner_user(listing.partner, role=PartnerRole.ADMIN, email="boss@private-mail.example")
    for url in (DIRECTORY, reverse("locator:detail", args=[listing.pk])):
        response = Client().get(url)
        text = body_text(response)
        assert "Private Mail Networks" in text
        assert EMAIL.search(text) is None, EMAIL.search(text)


def test_an_anonymous_visitor_reads_no_partner_row_outside_the_selector() -> None:
    """The public pages read through the selector's system scope only: the request's own scope
    (anonymous) still sees no listing at all."""
    listed("Scoped Networks")
    with acting(None):
        assert PartnerListing.objects.count() == 0
        assert Partner.objects.count() == 0


# --- filters ----------------------------------------------------------------------------------------
def test_filters_by_region_and_country_served_and_tier() -> None:
    us = listed("Americas Gold", tier="Gold")  # US, North America
    served = listed("Berlin Silver", tier="Silver", country="DE", region=Region.EMEA)
    served.regions, served.countries = [Region.NORTH_AMERICA], ["FR"]
    served.save()
    listed("Tokyo Gold", tier="Gold", country="JP", region=Region.APAC)

    assert names(Client().get(DIRECTORY, {"region": "na"})) == ["Americas Gold", "Berlin Silver"]
    assert names(Client().get(DIRECTORY, {"region": "apac"})) == ["Tokyo Gold"]
    assert names(Client().get(DIRECTORY, {"country": "FR"})) == ["Berlin Silver"]
    assert names(Client().get(DIRECTORY, {"country": "DE"})) == ["Berlin Silver"]
    silver = factories.tier("Silver").pk
    assert names(Client().get(DIRECTORY, {"tier": silver})) == ["Berlin Silver"]
    assert names(Client().get(DIRECTORY, {"region": "na", "tier": factories.tier("Gold").pk})) == [
        "Americas Gold"
    ]
    assert us.pk  # best tier first, then by name (Gold before Silver above)


def test_filters_by_certification_held_now() -> None:
    certified = listed("Certified Networks")
    listed("Uncertified Networks")
    cert = training_factories.certification("Network Security Specialist", courses=[])
    learner = training_factories.learner(certified.partner)
    training_factories.award(learner, cert, expires_in=None)
    expired = listed("Lapsed Networks")
    training_factories.award(training_factories.learner(expired.partner), cert, expires_in=-timedelta(days=1))

    response = Client().get(DIRECTORY, {"certification": cert.pk})
    assert names(response) == ["Certified Networks"]
    assert "Network Security Specialist" in body_text(response)


def test_filters_by_authorized_product_line() -> None:
    authorized = listed("Authorized Networks")
    revoked = listed("Revoked Networks")
    listed("Plain Networks")
    requirement = AuthorizationRequirement.objects.create(product_line="Industrial Firewalls")
    PartnerAuthorization.objects.create(partner=authorized.partner, requirement=requirement)
    PartnerAuthorization.objects.create(partner=revoked.partner, requirement=requirement, status="revoked")

    response = Client().get(DIRECTORY, {"product_line": "Industrial Firewalls"})
    assert names(response) == ["Authorized Networks"]
    assert "Industrial Firewalls" in body_text(response)
    card = Client().get(reverse("locator:detail", args=[authorized.pk]))
    assert "Industrial Firewalls" in body_text(card)


@pytest.mark.parametrize(
    "params",
    [{"region": "mars"}, {"country": "XX"}, {"tier": "abc"}, {"tier": "999999"}, {"product_line": "Nope"}],
)
def test_a_filter_value_not_offered_is_a_clear_error_not_a_crash(params: dict[str, str]) -> None:
    AuthorizationRequirement.objects.create(product_line="Industrial Firewalls")
    listed("Any Networks")
    response = Client().get(DIRECTORY, params)
    assert response.status_code == 400
    assert "Select a valid choice" in body_text(response)


def test_empty_state_with_and_without_filters() -> None:
    text = body_text(Client().get(DIRECTORY))
    assert 'id="locator-empty"' in text and "No partners are listed yet" in text
    listed("Americas Gold")
    text = body_text(Client().get(DIRECTORY, {"region": "apac"}))
    assert "No partner matches these filters" in text


def test_pages_of_twelve_keep_the_filters() -> None:
    for number in range(14):
        listed(f"Paged Partner {number:02d}")
    first = Client().get(DIRECTORY, {"region": "na"})
    assert len(names(first)) == 12
    assert "?region=na&page=2" in first.content.decode()
    second = Client().get(DIRECTORY, {"region": "na", "page": 2})
    assert names(second) == ["Paged Partner 12", "Paged Partner 13"]
    # A page past the end or not a number is the nearest page, never an error.
    assert names(Client().get(DIRECTORY, {"page": 99})) == names(second)
    assert names(Client().get(DIRECTORY, {"page": "abc"})) == names(first)


def test_the_directory_runs_the_same_queries_for_one_partner_and_many() -> None:
    cert = training_factories.certification("Wireless Expert", courses=[])
    requirement = AuthorizationRequirement.objects.create(product_line="Wireless")

    def grow(count: int) -> None:
        for _number in range(count):
            listing = listed(f"Grown Partner {PartnerListing.objects.count():02d}")
            training_factories.award(training_factories.learner(listing.partner), cert, expires_in=None)
            PartnerAuthorization.objects.create(partner=listing.partner, requirement=requirement)

    grow(1)
    assert_constant_queries(
        Client(),
        DIRECTORY,
        lambda: grow(11),
        rows=lambda response: len(response.context["page"].object_list),
        shows=lambda: list(PartnerListing.objects.values_list("partner__legal_name", flat=True)),
        small=1,
        large=12,
    )


# --- the enquiry ------------------------------------------------------------------------------------
def test_an_enquiry_becomes_a_lead_for_that_partner_only() -> None:
    a = deal_factories.team("Acme Listed Networks")
    b = deal_factories.team("Bravo Listed Networks")
    listing = PartnerListing.objects.create(partner=a.partner, published=True, description="A")
    PartnerListing.objects.create(partner=b.partner, published=True, description="B")

    response = Client().post(reverse("locator:detail", args=[listing.pk]), contact_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("locator:thanks", args=[listing.pk])

    lead = Lead.objects.get()
    assert (lead.source, lead.requested_partner, lead.assigned_partner) == (
        LeadSource.LOCATOR,
        a.partner,
        a.partner,
    )
    assert lead.status == LeadStatus.OFFERED
    assert (lead.company_name, lead.contact_email, lead.country.code) == (
        "Vandelay Industries",
        "dana@vandelay.example",
        "CA",
    )
    assert lead.description == "We need 40 firewalls installed in March."
    assert list(LeadOffer.objects.values_list("partner_id", flat=True)) == [a.partner.pk]
    # A's admins (and sales people) are told; nobody at B.
    told = set(Notification.objects.filter(kind="lead.offered").values_list("recipient_id", flat=True))
    assert a.admin.pk in told and {b.admin.pk, b.sales.pk}.isdisjoint(told)
    assert AuditEvent.objects.filter(action="lead.created", target_id=str(lead.pk)).exists()
    # A sees it among its leads, B does not.
    a_leads = body_text(login(a.admin).get(reverse("deals:lead_list")))
    assert "Vandelay Industries" in a_leads and "Wrote to you through the partner locator" in a_leads
    assert "Vandelay Industries" not in body_text(login(b.admin).get(reverse("deals:lead_list")))
    thanks = body_text(Client().get(response["Location"]))
    assert "Acme Listed Networks" in thanks


def test_a_declined_enquiry_is_not_handed_to_another_partner() -> None:
    a = deal_factories.team("Acme Listed Networks")
    deal_factories.team("Other Eligible Networks")  # same region, would get a vendor lead
    listing = PartnerListing.objects.create(partner=a.partner, published=True, description="A")
    Client().post(reverse("locator:detail", args=[listing.pk]), contact_data())
    lead = Lead.objects.get()
    with acting(a.admin_actor):
        leads.lead_decline(actor=a.admin_actor, lead=lead, reason="Not our area")
    lead.refresh_from_db()
    assert lead.status == LeadStatus.UNASSIGNABLE and lead.assigned_partner is None
    assert list(LeadOffer.objects.values_list("partner_id", flat=True)) == [a.partner.pk]
    # The vendor sees who the customer wrote to, and may hand it on by hand.
    vendor = factories.vendor_user()
    page = body_text(login(vendor).get(reverse("deals:vendor_lead_detail", args=[lead.pk])))
    assert "Wrote to Acme Listed Networks through the partner locator" in page


def test_the_same_email_writing_again_soon_is_refused_with_a_message() -> None:
    listing = listed("Acme Listed Networks")
    other = listed("Bravo Listed Networks")
    url = reverse("locator:detail", args=[listing.pk])
    assert Client().post(url, contact_data()).status_code == 302
    again = Client().post(url, contact_data(contact_email="DANA@vandelay.example", description="Again?"))
    assert again.status_code == 400
    assert "already sent Acme Listed Networks an enquiry" in body_text(again)
    assert Lead.objects.count() == 1
    # Another partner, or another address, is a new enquiry.
    assert Client().post(reverse("locator:detail", args=[other.pk]), contact_data()).status_code == 302
    assert Client().post(url, contact_data(contact_email="lee@vandelay.example")).status_code == 302
    assert Lead.objects.count() == 3


def test_the_honeypot_pretends_success_and_stores_nothing() -> None:
    listing = listed("Acme Listed Networks")
    response = Client().post(
        reverse("locator:detail", args=[listing.pk]), contact_data(homepage="http://spam.example")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("locator:thanks", args=[listing.pk])
    assert Lead.objects.count() == 0 and Notification.objects.count() == 0


def test_enquiries_are_rate_limited_per_address(settings: Any) -> None:
    settings.PRM = {**settings.PRM, "LOCATOR_CONTACT_RATE_LIMIT": "2/h"}
    listing = listed("Acme Listed Networks")
    url = reverse("locator:detail", args=[listing.pk])
    client = Client()
    for number in range(2):
        assert client.post(url, contact_data(contact_email=f"p{number}@vandelay.example")).status_code == 302
    limited = client.post(url, contact_data(contact_email="p9@vandelay.example"))
    assert limited.status_code == 429
    assert "Too many enquiries" in body_text(limited)
    assert Lead.objects.count() == 2
    # Another address is not limited by this one.
    other = Client(REMOTE_ADDR="198.51.100.7").post(url, contact_data(contact_email="q@vandelay.example"))
    assert other.status_code == 302


def test_an_enquiry_needs_the_csrf_token() -> None:
    listing = listed("Acme Listed Networks")
    response = Client(enforce_csrf_checks=True).post(
        reverse("locator:detail", args=[listing.pk]), contact_data()
    )
    assert response.status_code == 403
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"contact_email": "not-an-address"}, "Enter a valid email address."),
        ({"company_name": ""}, "This field is required."),
        ({"country": "XX"}, "Select a valid choice."),
        ({"description": "x" * 4001}, "Ensure this value has at most 4000 characters"),
    ],
)
def test_a_bad_enquiry_is_a_form_error(overrides: dict[str, str], message: str) -> None:
    listing = listed("Acme Listed Networks")
    response = Client().post(reverse("locator:detail", args=[listing.pk]), contact_data(**overrides))
    assert response.status_code == 400
    assert message in body_text(response)
    assert Lead.objects.count() == 0


def test_an_enquiry_to_a_partner_suspended_since_the_page_was_read_is_refused() -> None:
    listing = listed("Acme Listed Networks")
    Partner.objects.filter(pk=listing.partner_id).update(status=PartnerStatus.SUSPENDED)
    with pytest.raises(PermissionDenied):
        services.listing_contact(listing_pk=listing.pk, data=contact_data())
    with pytest.raises(ApplicationError, match="does not take enquiries"):
        leads.lead_from_locator(partner_id=listing.partner_id, data=contact_data())
    assert Lead.objects.count() == 0


# --- the partner's listing page ---------------------------------------------------------------------
def _manage(partner: Partner) -> str:
    return reverse("locator:manage", args=[partner.pk])


def test_a_partner_admin_lists_the_company_and_the_change_is_audited(partner_admin: Any) -> None:
    partner = partner_admin.membership.partner
    client = login(partner_admin)
    assert client.get(_manage(partner)).status_code == 200
    response = client.post(
        _manage(partner),
        {
            "published": "on",
            "description": "We install networks.",
            "regions": ["emea", "na"],
            "countries": ["DE", "FR"],
        },
    )
    assert response.status_code == 302
    listing = PartnerListing.objects.get(partner=partner)
    assert (listing.published, listing.regions, listing.countries) == (True, ["emea", "na"], ["DE", "FR"])
    event = AuditEvent.objects.get(action="partner.listing_changed")
    assert event.partner_id == partner.pk and event.after["published"] is True
    assert partner.legal_name in names(Client().get(DIRECTORY, {"country": "FR"}))
    # Opting out takes it off the locator at once.
    client.post(_manage(partner), {"description": "We install networks."})
    assert names(Client().get(DIRECTORY)) == []
    assert AuditEvent.objects.filter(action="partner.listing_changed").count() == 2


def test_listing_without_a_description_is_refused(partner_admin: Any) -> None:
    partner = partner_admin.membership.partner
    response = login(partner_admin).post(_manage(partner), {"published": "on", "description": " "})
    assert response.status_code == 400
    assert "Describe your company before you list it" in body_text(response)
    assert not PartnerListing.objects.exists()


def test_the_listing_logo_is_checked_and_then_public(
    partner_admin: Any, settings: Any, tmp_path: Any
) -> None:
    factories.media_storage(settings, tmp_path)
    partner = partner_admin.membership.partner
    client = login(partner_admin)
    base = {"published": "on", "description": "We install networks."}
    fake = SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = client.post(_manage(partner), {**base, "logo": fake})
    assert response.status_code == 400
    assert "That file is not an image we can use" in body_text(response)
    assert not PartnerListing.objects.exists() and factories.stored_files(tmp_path) == []

    settings.PRM = {**settings.PRM, "LOGO_MAX_BYTES": 10}
    response = client.post(_manage(partner), {**base, "logo": png()})
    assert response.status_code == 400
    assert "the limit is 10\xa0bytes" in body_text(response)
    assert factories.stored_files(tmp_path) == []

    settings.PRM = {**settings.PRM, "LOGO_MAX_BYTES": 2 * 1024 * 1024}
    assert client.post(_manage(partner), {**base, "logo": png(name="evil.exe")}).status_code == 302
    listing = PartnerListing.objects.get(partner=partner)
    assert listing.logo.name.startswith(f"partners/{partner.pk}/listing/") and listing.logo.name.endswith(
        ".png"
    )
    logo = Client().get(reverse("locator:logo", args=[listing.pk]))
    assert logo.status_code == 200 and logo["Content-Type"] == "image/png"
    assert b"".join(logo.streaming_content).startswith(b"\x89PNG")
    # Withdrawn from the locator: its logo is no longer public either.
    client.post(_manage(partner), {"description": "We install networks."})
    assert Client().get(reverse("locator:logo", args=[listing.pk])).status_code == 404


def test_only_the_partners_admins_edit_its_listing(partner: Partner) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    client = login(sales)
    assert client.get(_manage(partner)).status_code == 403
    assert client.post(_manage(partner), {"published": "on", "description": "Hijack"}).status_code == 403
    assert not PartnerListing.objects.exists()
    # The company page tells them who keeps it.
    assert "Your partner admin keeps the listing." in body_text(client.get(reverse("partners:company")))


def test_a_program_admin_can_take_a_listing_off_the_locator(partner: Partner) -> None:
    PartnerListing.objects.create(partner=partner, published=True, description="Rude words")
    client = login(factories.vendor_user())
    page = body_text(client.get(reverse("vendor:partner_detail", args=[partner.pk])))
    assert reverse("locator:manage", args=[partner.pk]) in page
    assert client.post(_manage(partner), {"description": "Networks."}).status_code == 302
    assert names(Client().get(DIRECTORY)) == []
    assert AuditEvent.objects.get(action="partner.listing_changed").before == {
        "published": True,
        "description": "Rude words",
    }


def test_another_partners_admin_gets_404_for_the_listing_page(
    partner_admin: Any, other_partner_admin: Any
) -> None:
    partner = partner_admin.membership.partner
    PartnerListing.objects.create(partner=partner, published=False, description="Secret plans")
    client = login(other_partner_admin)
    assert client.get(_manage(partner)).status_code == 404
    assert client.post(_manage(partner), {"published": "on", "description": "Hijack"}).status_code == 404
    listing = PartnerListing.objects.get(partner=partner)
    assert (listing.published, listing.description) == (False, "Secret plans")


def test_the_sign_in_page_and_the_public_navigation_link_to_the_locator() -> None:
    for url in (reverse("account_login"), reverse("partners:apply")):
        assert reverse("locator:directory") in body_text(Client().get(url))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"contact_email": "nobody"}, "contact_email"),
        ({"company_name": "  "}, "company_name"),
        ({"contact_name": "x" * 151}, "contact_name"),
    ],
)
def test_the_lead_service_checks_an_enquiry_itself(overrides: dict[str, str], field: str) -> None:
    listing = listed("Acme Listed Networks")
    with pytest.raises(ApplicationError) as refused:
        leads.lead_from_locator(partner_id=listing.partner_id, data=contact_data(**overrides))
    assert refused.value.field == field
    assert Lead.objects.count() == 0
