"""End to end in headless Chromium on the demo data (``manage.py seed_demo``): Globex's admin opens
the plan its channel account manager signed from the navigation, signs it, and the plan is agreed
with its progress chart; Acme's admin reads the agreed plan with its overdue activity; the channel
account manager opens the portfolio's plans, behind plan first. No Content-Security-Policy
violation on the way (tests/e2e/conftest.py): the chart is SVG drawn on the server.

Set PRM_SCREENSHOT_DIR to keep a screenshot of each page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from partners.models import BusinessPlan, PlanStatus
from tests.e2e.test_scorecard_flow import _screenshot, _sign_in, demo  # noqa: F401 -- the fixture

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

GLOBEX_ADMIN = "bob.admin@globex.example"
ACME_ADMIN = "alice.admin@acme.example"
MANAGER = "carl.cam@prm.example"


@pytest.mark.usefixtures("demo")
def test_a_partner_admin_and_the_manager_agree_a_plan_and_see_its_progress(page: Page, site_url: str) -> None:
    _sign_in(page, site_url, GLOBEX_ADMIN)
    page.click("#nav-plans")
    expect(page.locator("h1")).to_have_text("Joint business plans")
    page.locator("#plans-table a").first.click()
    expect(page.locator("#plan-signoffs")).to_contain_text("Waiting for a partner admin")
    expect(page.locator("#goals-table tbody tr")).to_have_count(2)
    page.click("#plan-sign")
    expect(page.locator(".alert")).to_contain_text("agreed by both sides")
    expect(page.locator("#plan-signoffs")).not_to_contain_text("Waiting")
    expect(page.locator("#goals svg.plan-chart rect.plan-bar")).to_have_count(2)
    assert BusinessPlan.objects.get(partner__legal_name="Globex Systems GmbH").status == PlanStatus.AGREED

    _sign_in(page, site_url, ACME_ADMIN)
    page.click("#nav-plans")
    page.locator("#plans-table a").first.click()
    expect(page.locator("#goals-table tbody tr")).to_have_count(5)
    expect(page.locator("#overdue-count")).to_have_text("1 overdue")
    expect(page.locator("#revisions")).to_contain_text("Revision 1")
    _screenshot(page, "plan-partner")

    _sign_in(page, site_url, MANAGER)
    page.goto(f"{site_url}/vendor/")
    page.locator(".nav-link.dropdown-toggle", has_text="Partners").click()
    page.click("#nav-plans")
    rows = page.locator("#plans-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Behind plan")
    _screenshot(page, "plans-vendor")
