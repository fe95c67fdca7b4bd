"""End to end in headless Chromium, keyboard only: a partner's admin types in the navigation's search
box, sees the first hits of her own deals as she types (never another partner's), and presses Enter
for the results page grouped by kind.

Set PRM_SCREENSHOTS to a folder to keep screenshots of the live results and the results page."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import Page, expect

from tests import factories
from tests.deals import factories as deal_factories
from tests.e2e.browser import sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

SCREENSHOTS = os.environ.get("PRM_SCREENSHOTS")


def _shot(page: Page, name: str, *, full_page: bool = True) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=full_page)


def test_typing_in_the_search_box_finds_own_deals_only(page: Page, site_url: str) -> None:
    team = deal_factories.team("Northwind Resellers")
    other = deal_factories.team("Globex Systems")
    own = deal_factories.submitted(team.admin_actor, customer="Zephyrine Logistics", domain="zephyrine.com")
    foreign = deal_factories.submitted(other.admin_actor, customer="Zephyrine Haulage", domain="zh.com")

    # A long first name in the account menu: the navigation must still fit at 1280 px below.
    team.admin.full_name = "Maximiliana Featherstonehaugh"
    team.admin.save(update_fields=["full_name"])
    # Wide enough for the box in the navigation (narrower, between lg and xxl, it is a link).
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in(page, site_url, team.admin.email)
    box = page.get_by_role("searchbox", name="Search the portal")
    box.focus()
    page.keyboard.type("zeph")
    live = page.locator("#nav-search-results")
    expect(live.get_by_role("link", name=re.compile(own.reference))).to_be_visible()
    expect(live).not_to_contain_text(foreign.reference)
    expect(live).not_to_contain_text("Haulage")
    _shot(page, "search-live", full_page=False)

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=zeph"))
    expect(page.get_by_role("heading", name=re.compile("Deals"))).to_be_visible()
    expect(page.locator("#search-results")).to_contain_text(own.reference)
    expect(page.locator("#search-results")).not_to_contain_text(foreign.reference)
    _shot(page, "search-results")

    # Too short: the page says what to type instead.
    page.get_by_label("Search for").fill("z")
    page.get_by_label("Search for").press("Enter")
    expect(page.locator("#search-error")).to_have_text("Type at least 2 letters or digits.")
    page.get_by_label("Search for").fill("qqqxxyz")
    page.get_by_label("Search for").press("Enter")
    expect(page.locator("#search-empty")).to_contain_text("Nothing found")
    _shot(page, "search-empty")

    # At 1280 px the navigation has the search link; the page's own box updates its results as one types.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{site_url}/")
    expect(page.locator("#nav-search")).to_be_hidden()
    page.locator("#nav-search-link").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/$"))
    page.get_by_label("Search for").focus()
    page.keyboard.type("zephyrine")
    expect(page.locator("#search-results")).to_contain_text(own.reference)
    expect(page.locator("#search-results")).not_to_contain_text(foreign.reference)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 1280, f"the navigation overflows: {scroll_width} px"
    _shot(page, "search-page-1280")


def test_vendor_navigation_keeps_its_search_link_within_1280_px(page: Page, site_url: str) -> None:
    secret = generate_totp_secret()
    admin = factories.VendorUserFactory(
        email="maximiliana.admin@prm.example", full_name="Maximiliana Featherstonehaugh", totp=False
    )
    TOTP.activate(admin, secret)
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in(page, site_url, admin.email, secret)
    expect(page.locator("#nav-search-link")).to_be_visible()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    _shot(page, "search-vendor-1280", full_page=False)
    assert scroll_width <= 1280, f"the navigation overflows: {scroll_width} px"
