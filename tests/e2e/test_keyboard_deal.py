"""Keyboard-only use (issue 14, WCAG 2.1.1 and 2.4.7): a partner's sales user signs in and
registers a deal with two product lines using Tab, Enter and typing alone, no mouse. Each control
is reached by Tab in the page's order and shows where the focus is."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from deals.models import Deal, DealLine, DealStatus
from tests import factories
from tests.deals import factories as f

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

MAX_TABS = 60

# The focused element and whether a focus indicator is drawn (an outline or a box-shadow ring).
_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const ring = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== "none";
  return {id: e.id, ring: ring};
}"""


def tab_to(page: Page, element_id: str, *, backwards: bool = False) -> None:
    """Press Tab (Shift+Tab) until ``element_id`` has the focus; fail when it cannot be reached or
    shows no focus indicator."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MAX_TABS):
        page.keyboard.press(key)
        focused = page.evaluate(_FOCUSED)
        if focused and focused["id"] == element_id:
            assert focused["ring"], f"#{element_id} has the focus but shows no focus indicator"
            return
    raise AssertionError(f"#{element_id} is not reached with {key} within {MAX_TABS} presses")


def focused_id(page: Page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_a_partner_registers_a_deal_with_the_keyboard_alone(browser: Browser, site_url: str) -> None:
    factories.default_tiers()  # transactional tests start from an empty database
    team = f.team("Northwind Resellers", tier="Gold")
    firewall = f.product("Firewall X", price="1234.56", line="Security")
    switch = f.product("Switch Y", price="99.99", line="Network")
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()

    # Sign in: Tab to each field, type, Enter.
    page.goto(f"{site_url}/accounts/login/")
    tab_to(page, "id_login")
    page.keyboard.type(team.sales.email)
    tab_to(page, "id_password")
    page.keyboard.type(factories.PASSWORD)
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(re.compile(r"/accounts/"))

    # From the deal list, the "Register a deal" button by Tab and Enter.
    page.goto(f"{site_url}/deals/")
    tab_to(page, "deal-register")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/deals/new/$"))

    close_date = timezone.localdate() + timedelta(days=45)
    tab_to(page, "id_customer_name")
    page.keyboard.type("Initech Corporation")
    tab_to(page, "id_customer_domain")
    page.keyboard.type("initech.com")
    tab_to(page, "id_customer_country")
    page.keyboard.type("Germany")  # a closed select picks the option its typed words start
    expect(page.locator("#id_customer_country")).to_have_value("DE")
    tab_to(page, "id_customer_region")
    page.keyboard.type("Europe")
    expect(page.locator("#id_customer_region")).to_have_value("emea")
    tab_to(page, "id_contact_name")
    page.keyboard.type("Peter Gibbons")
    tab_to(page, "id_contact_email")
    page.keyboard.type("peter@initech.example")
    tab_to(page, "id_title")
    page.keyboard.type("Initech network refresh")
    tab_to(page, "id_expected_close_date")
    page.keyboard.type(close_date.strftime("%m%d%Y"))  # the en-US date field: month, day, year
    expect(page.locator("#id_expected_close_date")).to_have_value(close_date.isoformat())
    tab_to(page, "id_currency")
    page.keyboard.type("USD")
    expect(page.locator("#id_currency")).to_have_value("USD")

    # The first line.
    tab_to(page, "id_lines-0-product")
    page.keyboard.type("Firewall")
    expect(page.locator("#id_lines-0-product")).to_have_value(str(firewall.pk))
    tab_to(page, "id_lines-0-quantity")
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    tab_to(page, "id_lines-0-unit_price")
    expect(page.locator("#id_lines-0-unit_price")).to_have_value("1234.56")  # the list price
    page.keyboard.press("Control+A")
    page.keyboard.type("1200.00")

    # "Add line" with Enter: the new row's product gets the focus.
    rows = page.locator("#line-rows tr[data-line]")
    before = rows.count()
    tab_to(page, "add-line")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(before + 1)
    added = f"id_lines-{before}-product"
    expect(page.locator(f"#{added}")).to_be_focused()
    page.keyboard.type("Switch")
    expect(page.locator(f"#{added}")).to_have_value(str(switch.pk))
    tab_to(page, f"id_lines-{before}-quantity")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    tab_to(page, f"id_lines-{before}-unit_price")
    page.keyboard.press("Control+A")
    page.keyboard.type("99.99")
    expect(page.locator("#deal-total")).to_have_text("3,799.98 USD")

    tab_to(page, "deal-submit")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/deals/\d+/$"))
    expect(page.get_by_text("was submitted for review")).to_be_visible()

    deal = Deal.objects.get(partner=team.partner)
    assert (deal.status, deal.amount, deal.currency) == (DealStatus.SUBMITTED, Decimal("3799.98"), "USD")
    assert (deal.customer_name, deal.customer_country, deal.expected_close_date) == (
        "Initech Corporation",
        "DE",
        close_date,
    )
    assert [
        (line.product_id, line.quantity, line.unit_price)
        for line in DealLine.objects.filter(deal=deal).order_by("pk")
    ] == [(firewall.pk, 3, Decimal("1200.00")), (switch.pk, 2, Decimal("99.99"))]
    context.close()
