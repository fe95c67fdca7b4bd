"""End to end in headless Chromium: a partner's sales user registers a deal with two product lines
and submits it; the channel account manager signs in with TOTP and approves it from the review
queue; the partner sees the protection and marks the deal won. The database is checked after each
step."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.utils import formats, timezone, translation
from playwright.sync_api import Page, expect

from deals.models import Deal, DealLine, DealStatus
from partners.services import partner_assign_channel_manager
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as f
from tests.e2e.browser import sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def _display_date(value: object) -> str:
    with translation.override("en"):
        return formats.date_format(value, "DATE_FORMAT")


def test_partner_registers_manager_approves_partner_wins(page: Page, site_url: str) -> None:
    factories.default_tiers()  # transactional tests start from an empty database
    team = f.team("Northwind Resellers", tier="Gold")
    firewall = f.product("Firewall X", price="1234.56", line="Security")
    switch = f.product("Switch Y", price="99.99", line="Network")
    secret = generate_totp_secret()
    manager = factories.VendorUserFactory(
        email="carl@prm.example", vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER, totp=False
    )
    TOTP.activate(manager, secret)
    program_admin = factories.vendor_actor()
    with f.acting(program_admin):  # a transaction, as in a request
        partner_assign_channel_manager(actor=program_admin, partner=team.partner, manager=manager)

    # 1. The sales user signs in with a password (partner users need no MFA) and registers a deal.
    sign_in(page, site_url, team.sales.email)
    page.goto(f"{site_url}/deals/")
    page.click("#deal-register")
    expect(page).to_have_url(re.compile(r"/deals/new/$"))
    close_date = timezone.localdate() + timedelta(days=45)
    page.fill("#id_customer_name", "Initech Corporation")
    page.fill("#id_customer_domain", "https://www.Initech.com/about")
    page.select_option("#id_customer_country", "US")
    page.select_option("#id_customer_region", "na")
    page.fill("#id_contact_name", "Peter Gibbons")
    page.fill("#id_contact_email", "peter@initech.example")
    page.fill("#id_title", "Initech network refresh")
    page.fill("#id_expected_close_date", close_date.isoformat())
    page.select_option("#id_currency", "USD")

    rows = page.locator("#line-rows tr[data-line]")
    while rows.count() < 2:
        page.click("#add-line")
    # Add a line anyway and use it: rows added by htmx are saved like the first ones, and the
    # blank rows in between are ignored.
    before = rows.count()
    page.click("#add-line")
    expect(rows).to_have_count(before + 1)
    last = before  # the index of the added row
    expect(page.locator("#id_lines-TOTAL_FORMS")).to_have_value(str(before + 1))

    page.select_option("#id_lines-0-product", str(firewall.pk))
    # Choosing a product suggests its list price in the deal's currency.
    expect(page.locator("#id_lines-0-unit_price")).to_have_value("1234.56")
    page.fill("#id_lines-0-quantity", "3")
    page.fill("#id_lines-0-unit_price", "1200.00")
    page.select_option(f"#id_lines-{last}-product", str(switch.pk))
    page.fill(f"#id_lines-{last}-quantity", "2")
    page.fill(f"#id_lines-{last}-unit_price", "99.99")
    # 3 × 1,200.00 + 2 × 99.99 = 3,799.98
    expect(page.locator("#deal-total")).to_have_text("3,799.98 USD")

    page.click("#deal-submit")
    expect(page).to_have_url(re.compile(r"/deals/\d+/$"))
    expect(page.get_by_text("was submitted for review")).to_be_visible()
    deal = Deal.objects.get(partner=team.partner)
    assert page.url.endswith(f"/deals/{deal.pk}/")
    assert (deal.status, deal.amount, deal.currency) == (DealStatus.SUBMITTED, Decimal("3799.98"), "USD")
    assert (deal.customer_name, deal.customer_domain, deal.expected_close_date) == (
        "Initech Corporation",
        "initech.com",
        close_date,
    )
    assert deal.registered_by == team.sales
    assert [
        (line.product_id, line.quantity, line.unit_price, line.amount)
        for line in DealLine.objects.filter(deal=deal).order_by("pk")
    ] == [
        (firewall.pk, 3, Decimal("1200.00"), Decimal("3600.00")),
        (switch.pk, 2, Decimal("99.99"), Decimal("199.98")),
    ]
    expect(page.locator("#deal-amount")).to_have_text("3,799.98 USD")

    # 2. The channel account manager signs in with TOTP and approves it from the review queue.
    sign_in(page, site_url, manager.email, totp_secret=secret)
    page.goto(f"{site_url}/vendor/deals/review/")
    page.locator("#review-table").get_by_role("link", name=deal.reference).click()
    expect(page).to_have_url(re.compile(rf"/vendor/deals/{deal.pk}/$"))
    expect(page.get_by_text("Initech Corporation").first).to_be_visible()
    approved_from = timezone.now()
    page.click("#approve-deal")
    expect(page).to_have_url(re.compile(r"/vendor/deals/review/$"))
    expect(
        page.get_by_text(f"Deal {deal.reference} approved: Northwind Resellers is protected until")
    ).to_be_visible()
    expect(page.get_by_text("All caught up")).to_be_visible()
    deal.refresh_from_db()
    days = settings.PRM["DEAL_PROTECTION_DAYS"]
    assert deal.status == DealStatus.APPROVED
    assert deal.reviewed_by == manager
    assert abs(deal.protection_expires_at - (approved_from + timedelta(days=days))) < timedelta(minutes=2)
    assert deal.discount_percent == team.partner.tier.deal_registration_discount_percent

    # 3. The partner signs in again, sees the protection, and marks the deal won.
    sign_in(page, site_url, team.sales.email)
    page.goto(f"{site_url}/deals/")
    page.locator("#deal-table").get_by_role("link", name=deal.reference).click()
    expect(page).to_have_url(re.compile(rf"/deals/{deal.pk}/$"))
    expires = _display_date(timezone.localtime(deal.protection_expires_at))
    expect(page.locator("#deal-banner")).to_contain_text(f"Protected until {expires}")
    page.fill("#won-amount", "3650.50")
    expect(page.locator("#won-closed-on")).to_have_value(timezone.localdate().isoformat())
    page.click("#mark-won")
    expect(page.get_by_text(f"Congratulations! Deal {deal.reference} is marked won.")).to_be_visible()
    expect(page.locator("#deal-banner")).to_contain_text("Won: 3,650.50 USD")
    deal.refresh_from_db()
    assert (deal.status, deal.won_amount, deal.closed_on) == (
        DealStatus.WON,
        Decimal("3650.50"),
        timezone.localdate(),
    )
    assert deal.amount == Decimal("3799.98")  # the registered amount stays as it was
