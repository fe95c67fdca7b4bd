"""End to end in headless Chromium on the demo data (``manage.py seed_demo``): a partner admin opens
the scorecard from the navigation and reads a year of trend, the KPIs and what would move the
score; a channel account manager opens the rankings (the portfolio only), sorts them, opens a
partner's scorecard and records this quarter's rating. No Content-Security-Policy violation on the
way (tests/e2e/conftest.py): the charts are SVG drawn on the server.

Set PRM_SCREENSHOT_DIR to keep a screenshot of each page."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt
from django.core.management import call_command
from playwright.sync_api import Page, expect

from partners.models import PartnerAssessment
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

DEMO_PASSWORD = "prm-demo-2026"  # partners/management/commands/seed_demo.py
PARTNER_ADMIN = "alice.admin@acme.example"
MANAGER = "carl.cam@prm.example"  # the demo's manager of Acme and Globex


@pytest.fixture
def demo(settings: Any, tmp_path: Path) -> None:
    factories.media_storage(settings, tmp_path)
    factories.default_tiers()
    call_command("seed_demo", stdout=io.StringIO())


def _sign_in(page: Page, site_url: str, email: str) -> None:
    totp = Authenticator.objects.filter(user__email=email, type=Authenticator.Type.TOTP).first()
    page.context.clear_cookies()
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("form button[type=submit]").first.click()
    if totp is not None:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
        secret = decrypt(totp.data["secret"])
        page.fill("#id_code", format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
        page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))


def _screenshot(page: Page, name: str) -> None:
    if directory := os.environ.get("PRM_SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(directory) / f"{name}.png"), full_page=True)


def test_a_partner_reads_its_scorecard_and_a_manager_ranks_and_rates(
    page: Page, site_url: str, demo: None
) -> None:
    _sign_in(page, site_url, PARTNER_ADMIN)
    page.click("#nav-scorecard")
    expect(page.locator("h1")).to_have_text("Your scorecard")
    expect(page.locator("#total-score")).to_be_visible()
    # The demo's year: eleven month-ends and today, each a point on the score's chart.
    expect(page.locator("#score-trend svg circle")).to_have_count(12)
    expect(page.locator("#biggest-gap")).to_contain_text("What would move your score most")
    expect(page.locator("#scorecard-table tbody tr")).to_have_count(7)
    expect(page.locator("#kpi-won_revenue svg polyline")).to_have_count(1)
    _screenshot(page, "scorecard-partner")

    _sign_in(page, site_url, MANAGER)
    page.goto(f"{site_url}/vendor/")
    page.locator(".nav-link.dropdown-toggle", has_text="Partners").click()
    page.click("#nav-rankings")
    rows = page.locator("#rankings-table tbody tr")
    expect(rows).to_have_count(2)  # the portfolio, not the other manager's partners
    page.locator("#rankings-table thead a", has_text="Partner").click()
    expect(rows.first).to_contain_text("Acme Networks Inc.")
    expect(page.locator("#rankings-table thead th[aria-sort=ascending]")).to_contain_text("Partner")
    _screenshot(page, "scorecard-rankings")

    rows.first.get_by_role("link", name="Acme Networks Inc.").click()
    expect(page.locator("#total-score")).to_be_visible()
    page.locator("#assessment-form input[name=rating][value='5']").check()
    page.fill("#id_comment", "Certified two engineers and closed the Initech renewal.")
    page.click("#assessment-submit")
    expect(page.locator("#messages")).to_contain_text("is recorded")
    expect(page.locator("#assessments")).to_contain_text("Certified two engineers")
    _screenshot(page, "scorecard-vendor-partner")
    assessment = PartnerAssessment.objects.filter(partner__legal_name="Acme Networks Inc.").first()
    assert assessment.rating == 5 and assessment.assessed_by.email == MANAGER
