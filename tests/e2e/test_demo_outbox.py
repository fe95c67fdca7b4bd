"""The demo outbox page in headless Chromium (local settings' URLs): a program admin reads an
e-mail the portal sent, its HTML shown in a sandboxed frame (no script runs, no CSP violation)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core.mail import EmailMultiAlternatives
from playwright.sync_api import Page, expect

from prm.roles import VendorRole
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_program_admin_reads_a_demo_e_mail(
    page: Page, site_url: str, settings: Any, tmp_path: Path
) -> None:
    settings.ROOT_URLCONF = "prm.demo_urls"
    settings.EMAIL_BACKEND = "prm.demo_outbox.OutboxBackend"
    settings.PRM_DEMO_OUTBOX_DIR = str(tmp_path / "outbox")
    factories.default_tiers()
    message = EmailMultiAlternatives(
        "Deal DR-000042 approved", "Deal approved (text)", "portal@prm.example", ["dana@northwind.example"]
    )
    message.attach_alternative(
        '<h1 id="greeting">Deal approved</h1><p>Protected for 90 days.</p>'
        '<script>document.title="owned"</script>',
        "text/html",
    )
    message.send()

    secret = generate_totp_secret()
    admin = factories.VendorUserFactory(
        email="pat@prm.example", vendor_role=VendorRole.PROGRAM_ADMIN, totp=False
    )
    TOTP.activate(admin, secret)
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", admin.email)
    page.fill("#id_password", factories.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    page.fill("#id_code", format_hotp_value(hotp_value(secret, int(time.time()) // 30)))
    page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))

    page.goto(f"{site_url}/demo/outbox/")
    expect(page.locator("#outbox-list")).to_contain_text("Deal DR-000042 approved")
    expect(page.locator("#outbox-message")).to_contain_text("dana@northwind.example")
    frame = page.frame_locator("#outbox-html")
    expect(frame.locator("#greeting")).to_have_text("Deal approved")
    assert page.title() != "owned"
    if shots := os.environ.get("PRM_SCREENSHOT_DIR"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / "demo-outbox.png"), full_page=True)
