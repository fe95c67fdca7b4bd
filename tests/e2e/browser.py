"""What the browser tests share: signing in through the real login form (and the TOTP step)."""

from __future__ import annotations

import re
import time

from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import Page, expect

from tests import factories


def totp_now(secret: str) -> str:
    """The authenticator app's current code for ``secret``."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def sign_in(
    page: Page, site_url: str, email: str, totp_secret: str | None = None, password: str | None = None
) -> None:
    """Sign ``email`` in with ``password`` (the factories' by default) and the TOTP code when given,
    starting from a browser with no session."""
    page.context.clear_cookies()
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", password or factories.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    if totp_secret:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.fill("#id_code", totp_now(totp_secret))
        page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))
