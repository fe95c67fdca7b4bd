"""The public partner locator in a browser (issue 14): from the sign-in page a customer opens the
locator, narrows it to a region, opens a partner and sends an enquiry, which reaches that partner
as a lead; a partner admin opts the company in from the company page. The pages need no horizontal
scroll at 390 px. Screenshots are written to PRM_SCREENSHOT_DIR when it is set."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from deals.models import Lead, LeadSource
from partners.models import PartnerListing, Region
from tests import factories
from tests.deals import factories as f

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONE = {"width": 390, "height": 844}


def _shot(page: Page, name: str) -> None:
    if shots := os.environ.get("PRM_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(shots) / f"locator-{name}.png"), full_page=True)


def _accessible(page: Page) -> None:
    """No serious or critical axe-core violation (WCAG 2.1 AA) on the page."""
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    violations = Axe().run(page, options=options).response["violations"]
    bad = [
        (v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3])
        for v in violations
        if v["impact"] in {"serious", "critical"}
    ]
    assert not bad, f"{page.url}: {bad}"


def _no_horizontal_scroll(page: Page) -> None:
    width, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= window, f"{page.url}: the page is {width} px wide in a {window} px window"


def test_a_customer_finds_a_partner_and_sends_an_enquiry(browser: Browser, site_url: str) -> None:
    factories.default_tiers()  # transactional tests start from an empty database
    acme = f.team("Acme Networks", tier="Gold")
    globex = f.team("Globex Systems", tier="Silver", country="DE", region=Region.EMEA)
    PartnerListing.objects.create(
        partner=acme.partner,
        published=True,
        description="Firewalls and campus networks for mid-sized companies, installed and run by us.",
        regions=[Region.LATIN_AMERICA],
        countries=["CA", "MX"],
    )
    PartnerListing.objects.create(
        partner=globex.partner, published=True, description="Managed security from Berlin."
    )

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{site_url}/accounts/login/")
    page.click("#login-locator-link")
    expect(page.locator("#locator-results article")).to_have_count(2)
    page.select_option("#id_region", "emea")
    page.click("#locator-search")
    expect(page.locator("#locator-results article")).to_have_count(1)
    expect(page.locator("#locator-results")).to_contain_text("Globex Systems")
    _shot(page, "directory")
    _accessible(page)
    page.get_by_role("link", name="Contact Globex Systems").click()
    page.fill("#id_contact_name", "Dana Customer")
    page.fill("#id_company_name", "Vandelay Industries")
    page.fill("#id_contact_email", "dana@vandelay.example")
    page.fill("#id_description", "We need 40 firewalls installed in March.")
    _shot(page, "detail")
    _accessible(page)
    page.click("#contact-submit")
    expect(page.locator("h1")).to_have_text("Thank you")
    _accessible(page)
    lead = Lead.objects.get()
    assert (lead.source, lead.assigned_partner_id) == (LeadSource.LOCATOR, globex.partner.pk)
    context.close()

    phone = browser.new_context(viewport=PHONE, device_scale_factor=1)
    page = phone.new_page()
    page.goto(f"{site_url}/find-a-partner/")
    expect(page.locator("#locator-results article")).to_have_count(2)
    _no_horizontal_scroll(page)
    _shot(page, "directory-390")
    page.get_by_role("link", name="Contact Acme Networks").click()
    expect(page.locator("#contact-form")).to_be_visible()
    _no_horizontal_scroll(page)
    _shot(page, "detail-390")
    phone.close()


def test_a_partner_admin_opts_the_company_in(browser: Browser, site_url: str) -> None:
    factories.default_tiers()
    team = f.team("Initrode Networks", tier="Gold")
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    page = context.new_page()
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", team.admin.email)
    page.fill("#id_password", factories.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))
    page.goto(f"{site_url}/company/")
    page.click("#locator-manage-link")
    page.check("#id_published")
    page.fill("#id_description", "Networks for hospitals and clinics.")
    page.check("input[name=regions][value=emea]")
    page.select_option("#id_countries", ["FR", "DE"])
    _no_horizontal_scroll(page)
    _shot(page, "manage-390")
    _accessible(page)
    page.click("#listing-save")
    expect(page.locator(".alert-success")).to_contain_text("shown in the partner locator")
    listing = PartnerListing.objects.get(partner=team.partner)
    assert listing.published and listing.countries == ["DE", "FR"] and listing.regions == ["emea"]
    page.click("#listing-public-link")
    expect(page.locator("#listing-description")).to_contain_text("Networks for hospitals and clinics.")
    context.close()
