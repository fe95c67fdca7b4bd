"""End to end in headless Chromium: apply, vendor approval (with MFA), invitation, agreement, home."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core import mail
from playwright.sync_api import Page, expect

from partners.models import Partner, PartnerApplication, PartnerStatus
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _totp_now(secret: str) -> str:
    import time

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_applicant_becomes_an_active_partner(page: Page, site_url: str) -> None:
    factories.default_tiers()  # transactional tests start from an empty database
    # 1. The applicant applies on the public form.
    page.goto(f"{site_url}/apply/")
    page.fill("#id_company_name", "Wayne Cloud Partners LLC")
    page.select_option("#id_partner_type", "msp")
    page.select_option("#id_country", "US")
    page.select_option("#id_region", "na")
    page.fill("#id_website_domain", "https://www.wayne-cloud.example/about")
    page.fill("#id_contact_name", "Bruce Wayne")
    page.fill("#id_contact_email", "bruce@wayne-cloud.example")
    page.check("#id_accept_terms")
    page.click("#apply-submit")
    expect(page).to_have_url(re.compile(r"/apply/thanks/$"))
    application = PartnerApplication.objects.get(contact_email="bruce@wayne-cloud.example")
    assert application.website_domain == "wayne-cloud.example"

    # 2. A program admin signs in with password and TOTP, and approves it.
    secret = generate_totp_secret()
    reviewer = factories.VendorUserFactory(email="reviewer@prm.example", totp=False)
    TOTP.activate(reviewer, secret)
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", reviewer.email)
    page.fill("#id_password", factories.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("#id_code", _totp_now(secret))
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/vendor/$"))
    page.goto(f"{site_url}/vendor/applications/")
    page.get_by_role("link", name="Wayne Cloud Partners LLC").first.click()
    page.click("#approve-application")
    expect(page.get_by_text("was invited as its partner admin")).to_be_visible()
    partner = Partner.objects.get(legal_name="Wayne Cloud Partners LLC")
    assert partner.status == PartnerStatus.ONBOARDING

    # 3. The invitation e-mail reaches the applicant; they set a password.
    invitation_mail = next(m for m in mail.outbox if "bruce@wayne-cloud.example" in m.to)
    link = re.search(r"https?://\S+/invitations/\S+/", invitation_mail.body).group(0)
    page.context.clear_cookies()
    page.goto(link)
    expect(page.get_by_text("Wayne Cloud Partners LLC").first).to_be_visible()
    page.fill("#id_full_name", "Bruce Wayne")
    page.fill("#id_password1", "gotham-knight-2026")
    page.fill("#id_password2", "gotham-knight-2026")
    page.click("#accept-invitation")

    # 4. Before anything else the partner admin accepts the agreement, then lands on the home.
    expect(page).to_have_url(re.compile(r"/agreement/$"))
    page.check("#accept-agreement")
    page.click("#accept-agreement-submit")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_text("Welcome to the partner program")).to_be_visible()
    expect(page.get_by_text("Wayne Cloud Partners LLC").first).to_be_visible()
    partner.refresh_from_db()
    assert partner.status == PartnerStatus.ACTIVE
    assert partner.agreement_accepted_by.email == "bruce@wayne-cloud.example"
