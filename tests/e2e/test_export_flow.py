"""End to end in headless Chromium: a program admin filters all deals by a partner chosen from the
suggestions that appear while typing (htmx), exports the filtered list, lands on "Your exports"
where the job is ready (Celery runs eagerly here), and downloads a file holding only that
partner's deals."""

from __future__ import annotations

import csv
import io
import os
import re
import time
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from playwright.sync_api import Page, expect

from prm.models import ExportJob
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as f

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Where to leave a screenshot of "Your exports" for a person to look at (optional).
SCREENSHOT = os.environ.get("PRM_EXPORTS_SCREENSHOT", "")


def _sign_in(page: Page, site_url: str, email: str, totp_secret: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", factories.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("#id_code", format_hotp_value(hotp_value(totp_secret, int(time.time()) // 30)))
    page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))


def test_filter_by_a_typed_partner_export_and_download(page: Page, site_url: str, settings: object) -> None:
    factories.default_tiers()  # transactional tests start from an empty database
    north = f.team("Northwind Resellers", tier="Gold")
    south = f.team("Southwind Systems", tier="Silver")
    f.submitted(north.sales_actor, customer="Initech", domain="initech.com")
    south_deal = f.submitted(south.sales_actor, customer="Umbrella Corp", domain="umbrella.com")
    secret = generate_totp_secret()
    admin = factories.VendorUserFactory(
        email="ada@prm.example", vendor_role=VendorRole.PROGRAM_ADMIN, totp=False
    )
    TOTP.activate(admin, secret)

    _sign_in(page, site_url, admin.email, secret)
    page.goto(f"{site_url}/vendor/deals/")
    page.fill("#id_partner", "south")
    suggestion = page.locator(".partner-suggestion", has_text="Southwind Systems")
    expect(suggestion).to_be_visible()
    suggestion.click()
    expect(page.locator("#deal-filters input[name=partner][type=hidden]")).to_have_value(
        str(south.partner.pk)
    )
    expect(page.locator("#id_partner")).to_have_value("Southwind Systems")
    page.click("#filter-submit")
    expect(page).to_have_url(re.compile(rf"partner={south.partner.pk}"))
    expect(page.locator("tbody tr")).to_have_count(1)

    page.click("#deal-export")
    expect(page).to_have_url(re.compile(r"/exports/#export-\d+$"))
    job = ExportJob.objects.get()
    row = page.locator(f"#export-{job.pk}")
    expect(row).to_contain_text("Ready")
    expect(row).to_contain_text("1 row")
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT, full_page=True)

    with page.expect_download() as info:
        row.locator(".export-download").click()
    download = info.value
    assert download.suggested_filename == "deals.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [r[0] for r in rows[1:]] == [south_deal.reference]
