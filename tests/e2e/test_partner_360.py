"""End to end in headless Chromium: a channel account manager signs in with TOTP, finds a partner of
the portfolio in the partner list, opens its 360 page (scorecard, pipeline chart, deals awaiting
review, funds, certifications, content engagement, earnings, recent activity), follows a deal
awaiting review to its review page, and gets a 404 for a partner outside the portfolio."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.utils import timezone
from playwright.sync_api import Page, expect

from content.models import AssetEvent
from partners.models import PartnerRole
from partners.services import partner_assign_channel_manager
from prm import audit
from prm.roles import VendorRole
from prm.tenancy import system_scope
from tests import factories
from tests.deals import factories as f
from tests.partners import scorecard_factories as sf
from tests.partners.test_partner_360 import asset, deal, snapshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def _sign_in(page: Page, site_url: str, email: str, totp_secret: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", factories.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("#id_code", _totp_now(totp_secret))
    page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))


def test_a_channel_account_manager_prepares_a_call_on_the_partner_360_page(page: Page, site_url: str) -> None:
    factories.default_tiers()  # transactional tests start from an empty database
    team = f.team("Northwind Resellers", tier="Gold")
    globex = factories.PartnerFactory(legal_name="Globex Systems")
    secret = generate_totp_secret()
    manager = factories.VendorUserFactory(
        email="carl@prm.example",
        full_name="Carl Castillo",
        vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER,
        totp=False,
    )
    TOTP.activate(manager, secret)
    program_admin = factories.vendor_actor()
    with f.acting(program_admin):
        partner_assign_channel_manager(actor=program_admin, partner=team.partner, manager=manager)

    now = timezone.now()
    today = timezone.localdate()
    # The clock is real in a browser test: every date is relative to now.
    waiting = deal(
        team.partner, "submitted", "qualification", "12500.00", reference="DR-360-001", submitted_at=now
    )
    deal(team.partner, "approved", "proposal", "40000.00", submitted_at=now - timedelta(days=9))
    period = sf.fund_period(today - timedelta(days=30), today + timedelta(days=150))
    allocation = sf.allocation(team.partner, period)
    sf.ledger(allocation, "allocated", "20000.00", now - timedelta(days=20))
    sf.ledger(allocation, "paid", "3000.00", now - timedelta(days=5))
    learner = factories.partner_user(team.partner, role=PartnerRole.LEARNER, full_name="Lena Learner")
    sf.award(
        learner,
        team.partner,
        sf.certification("Security Pro"),
        now - timedelta(days=300),
        now + timedelta(days=20),
    )
    AssetEvent.objects.create(
        partner=team.partner, user=learner, asset=asset("Zero-trust deck"), kind="download", at=now
    )
    sf.earning(team.partner, "750.00", "USD", now)  # "this year" whatever the day
    snapshot(team.partner)
    with system_scope():
        audit.record(
            actor=program_admin.user, action="deal.returned", target=waiting, partner_id=team.partner.pk
        )

    # 1. The manager signs in and finds the partner in the list.
    _sign_in(page, site_url, manager.email, secret)
    page.goto(f"{site_url}/vendor/partners/")
    page.get_by_label("Partner 360 of Northwind Resellers").click()
    expect(page).to_have_url(re.compile(rf"/vendor/partners/{team.partner.pk}/360/$"))
    expect(page.locator("#p360-title")).to_have_text("Northwind Resellers")

    # 2. Everything for the call is on the page, the pipeline drawn as a chart.
    expect(page.locator("#p360-score")).to_have_text("64")
    expect(page.locator("#p360-open-count")).to_have_text("2")
    expect(page.locator("#p360-awaiting")).to_contain_text("DR-360-001")
    chart = page.locator("#p360-stage-chart")
    expect(chart).to_be_visible()
    assert page.evaluate("() => !!Chart.getChart(document.getElementById('p360-stage-chart'))")
    expect(page.locator("#p360-funds-allocated-USD")).to_contain_text("20,000.00")
    expect(page.locator("#p360-funds-paid-USD")).to_contain_text("3,000.00")
    expect(page.locator("#p360-expiring")).to_contain_text("Lena Learner")
    expect(page.locator("#p360-top-assets")).to_contain_text("Zero-trust deck")
    expect(page.locator("#p360-earned-USD")).to_contain_text("750.00")
    expect(page.locator("#p360-activity-list")).to_contain_text("Deal DR-360-001")
    expect(page.locator("#p360-activity-list")).to_contain_text("returned for more information")

    # 3. A deal awaiting review opens its review page.
    page.locator("#p360-awaiting").get_by_role("link", name="DR-360-001").click()
    expect(page).to_have_url(re.compile(rf"/vendor/deals/{waiting.pk}/$"))

    # 4. A partner outside the portfolio is not there at all.
    response = page.goto(f"{site_url}/vendor/partners/{globex.pk}/360/")
    assert response is not None and response.status == 404
