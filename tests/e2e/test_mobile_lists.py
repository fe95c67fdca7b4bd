"""A partner's lists on a phone (390 px wide, issue 14: the deal table was cut off after the
amount): the deal list, the fund requests and the leads need no horizontal scroll, and each row's
status is on screen. Screenshots of each page are written to PRM_SCREENSHOT_DIR when it is set."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from deals import leads
from deals.models import DealStage
from tests import factories
from tests.deals import factories as f
from tests.mdf import factories as mf

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONE = {"width": 390, "height": 844}


def _sign_in(page: Page, site_url: str, email: str) -> None:
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", factories.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))


def _no_horizontal_scroll(page: Page) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    # On failure, name the elements that stick out (the innermost ones say what to fix).
    wide = page.evaluate(
        """() => [...document.querySelectorAll('body *')]
          .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.children.length)
          .slice(0, 8)
          .map(e => `${e.tagName}#${e.id}.${e.className} ${e.textContent.trim().slice(0, 30)}`)"""
    )
    assert widths[0] <= widths[1], (
        f"{page.url}: the page is {widths[0]} px wide in a {widths[1]} px window: {wide}"
    )


def _fully_visible(page: Page, selector: str) -> None:
    """Every element matching ``selector`` lies within the window's width (nothing cut off)."""
    boxes = page.locator(selector).evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.width]; })"
    )
    assert boxes, f"{page.url}: nothing matches {selector}"
    for left, right, width in boxes:
        assert width > 0 and left >= 0 and right <= PHONE["width"], (page.url, selector, left, right)


def test_partner_lists_fit_a_390_px_phone(browser: Browser, site_url: str) -> None:
    factories.default_tiers()  # transactional tests start from an empty database
    team = f.team("Northwind Resellers", tier="Gold")
    cam = f.cam_for(team.partner)
    f.submitted(team.sales_actor, customer="Initech Global Holdings International", domain="initech.com")
    approved = f.approved(
        team.sales_actor, cam, customer="Globex Corporation", domain="globex.com", stage=DealStage.PROPOSAL
    )
    f.draft(team.sales_actor, customer="Umbrella", domain="umbrella.com")
    mf.fund(team.partner, mf.budget())
    request = mf.submitted(team.admin_actor, title="Security roadshow with a customer panel in three cities")
    mf.draft(team.admin_actor, title="Webinar")
    vendor = factories.vendor_actor()
    lead = f.lead(vendor, "Vandelay Industries International Import Export")
    with f.acting(vendor):
        leads.lead_assign(actor=vendor, lead=lead, partner=team.partner)

    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    page = context.new_page()
    _sign_in(page, site_url, team.admin.email)
    shots = os.environ.get("PRM_SCREENSHOT_DIR")
    for name, path, rows, status in (
        ("deals", "/deals/", "#deal-table tbody tr", "#deal-table tbody .status-badge"),
        (
            "fund-requests",
            "/funds/requests/",
            "#request-table tbody tr",
            "#request-table tbody .status-badge",
        ),
        ("leads", "/leads/", "#lead-cards .lead-card", "#lead-cards .status-badge"),
    ):
        response = page.goto(f"{site_url}{path}")
        assert response is not None and response.status == 200, path
        _no_horizontal_scroll(page)
        if rows:  # every row (card) and its status are whole on screen
            assert page.locator(rows).count() >= 1, path
            _fully_visible(page, status)
            _fully_visible(page, rows)
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / f"mobile-390-{name}.png"), full_page=True)
    # The pages these lists lead to and come from fit as well.
    for path in (
        "/",
        "/funds/",
        f"/deals/{approved.pk}/",
        "/deals/pipeline/",
        f"/funds/requests/{request.pk}/",
    ):
        response = page.goto(f"{site_url}{path}")
        assert response is not None and response.status == 200, path
        _no_horizontal_scroll(page)
        # Tables stacked on a phone: nothing cut off inside a scrolling box either.
        for table in page.locator("table.table-stack").all():
            _fully_visible(page, f"#{table.get_attribute('id')} tbody td")
        if shots:
            name = path.strip("/").replace("/", "-") or "home"
            page.screenshot(path=str(Path(shots) / f"mobile-390-{name}.png"), full_page=True)
    context.close()
