"""The Content-Security-Policy in headless Chromium: an injected inline script is blocked and the
suite's violation check (tests/e2e/conftest.py) sees it; the pages with charts, the script-driven
forms, the Django admin and allauth's MFA pages work under the policy without a single violation.

Set PRM_SCREENSHOT_DIR to keep a screenshot of every chart page."""

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

from mdf.models import FundRequest
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

DEMO_PASSWORD = "prm-demo-2026"  # partners/management/commands/seed_demo.py
VENDOR_ADMIN = "ada.admin@prm.example"
PARTNER_ADMIN = "alice.admin@acme.example"

# Every chart page of the portal: (who, path, the canvases that must hold a chart).
CHART_PAGES = [
    (VENDOR_ADMIN, "/vendor/", ["#tier-chart", "#status-chart"]),
    (VENDOR_ADMIN, "/vendor/funds/", ["#utilisation-chart", "#roi-chart"]),
    (VENDOR_ADMIN, "/vendor/pipeline/", ["canvas[data-chart]"]),
    (VENDOR_ADMIN, "/vendor/training/", ["#report-chart"]),
    (PARTNER_ADMIN, "/funds/", ["canvas.funds-chart"]),
    (PARTNER_ADMIN, "/deals/pipeline/", ["canvas[data-chart]"]),
    (PARTNER_ADMIN, "/training/team/", ["#team-chart"]),
]


def _totp_now(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def _totp_secret(email: str) -> str:
    authenticator = Authenticator.objects.get(user__email=email, type=Authenticator.Type.TOTP)
    return decrypt(authenticator.data["secret"])


def _sign_in(page: Page, site_url: str, email: str, password: str, totp_secret: str | None = None) -> None:
    page.context.clear_cookies()
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", password)
    page.locator("form button[type=submit]").first.click()
    if totp_secret:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.fill("#id_code", _totp_now(totp_secret))
        page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))


def _charts_drawn(page: Page, selector: str) -> int:
    """How many canvases matching ``selector`` Chart.js drew a chart on (0 if Chart.js is not
    loaded or none matched)."""
    return page.evaluate(
        """(selector) => {
            const canvases = [...document.querySelectorAll(selector)];
            if (typeof Chart === "undefined" || !canvases.length) { return 0; }
            return canvases.filter((canvas) => Chart.getChart(canvas) && canvas.width > 0).length;
        }""",
        selector,
    )


@pytest.fixture
def demo(settings: Any, tmp_path: Path) -> None:
    factories.media_storage(settings, tmp_path)
    factories.default_tiers()
    call_command("seed_demo", stdout=io.StringIO())


def test_an_injected_inline_script_is_blocked_and_reported(
    page: Page, site_url: str, csp_violations: list[str]
) -> None:
    response = page.goto(f"{site_url}/accounts/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-eval'" not in policy
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.injected = true";
                document.body.append(script);
            }"""
        )
    assert page.evaluate("() => window.injected") is None
    # The check every browser test ends with saw it; clear it so this test itself passes.
    assert any("script-src" in violation for violation in csp_violations), csp_violations
    csp_violations.clear()


def test_chart_pages_draw_their_charts(page: Page, site_url: str, demo: None) -> None:
    screenshots = os.environ.get("PRM_SCREENSHOT_DIR")
    signed_in = None
    for email, path, selectors in CHART_PAGES:
        if email != signed_in:
            secret = _totp_secret(email) if email == VENDOR_ADMIN else None
            _sign_in(page, site_url, email, DEMO_PASSWORD, secret)
            signed_in = email
        page.goto(f"{site_url}{path}")
        page.wait_for_load_state("load")
        for selector in selectors:
            assert _charts_drawn(page, selector) >= 1, f"no chart drawn on {path} for {selector}"
        # Every chart finished its opening animation (so nothing stopped half-way).
        page.wait_for_function(
            "() => Object.values(Chart.instances).every((chart) => !Chart.animator.running(chart))"
        )
        if screenshots:
            name = path.strip("/").replace("/", "-") or "vendor"
            page.screenshot(path=str(Path(screenshots) / f"{email.split('@')[0]}-{name}.png"), full_page=True)


def test_script_driven_forms_work(page: Page, site_url: str, demo: None) -> None:
    _sign_in(page, site_url, PARTNER_ADMIN, DEMO_PASSWORD)
    # The fund request form shows the most one may ask for while typing (static/js/mdf-request-form.js).
    page.goto(f"{site_url}/funds/requests/new/")
    page.fill("#id_total_cost", "1000")
    expect(page.locator("#share-max")).to_contain_text("500")
    # The deal form adds a line through htmx and totals it (static/js/deal-form.js).
    page.goto(f"{site_url}/deals/new/")
    rows = page.locator("#line-rows [data-line]")
    before = rows.count()
    page.click("#add-line")
    expect(rows).to_have_count(before + 1)


def test_admin_changelist_actions_and_change_form_work(page: Page, site_url: str, demo: None) -> None:
    _sign_in(page, site_url, VENDOR_ADMIN, DEMO_PASSWORD, _totp_secret(VENDOR_ADMIN))
    page.goto(f"{site_url}/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    # A changelist with actions: the admin's actions.js counts the selected rows.
    page.goto(f"{site_url}/admin/mdf/fundrequest/")
    page.check("#action-toggle")
    expect(page.locator(".action-counter")).to_contain_text(re.compile(r"(\d+) of \1 selected"))
    # Our MDF admin styles are an inline <style> with the request's nonce: applied, not refused.
    panel_margin = page.evaluate(
        """() => { const probe = document.createElement("div"); probe.className = "mdf-panel";
                   document.body.append(probe); return getComputedStyle(probe).marginBottom; }"""
    )
    assert panel_margin == "20px"
    # A change form with the admin's date widgets (calendar shortcuts are added by script).
    fund_request = FundRequest.objects.order_by("pk").first()
    page.goto(f"{site_url}/admin/mdf/fundrequest/{fund_request.pk}/change/")
    expect(page.locator("#content h2, #content h1").first).to_be_visible()
    page.goto(f"{site_url}/admin/partners/partner/add/")
    expect(page.locator("form#partner_form")).to_be_visible()


def test_mfa_pages_work(page: Page, site_url: str, demo: None) -> None:
    _sign_in(page, site_url, PARTNER_ADMIN, DEMO_PASSWORD)
    page.goto(f"{site_url}/accounts/2fa/")
    page.goto(f"{site_url}/accounts/2fa/totp/activate/")
    if page.locator("#id_password").count():  # allauth may ask for the password again first
        page.fill("#id_password", DEMO_PASSWORD)
        page.locator("main form button[type=submit]").first.click()
        expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    # The QR code is a data: image.
    qr = page.locator("img[src^='data:image']")
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", qr.element_handle()) > 0
    secret = page.locator("#authenticator_secret").input_value()
    page.fill("#id_code", _totp_now(secret))
    page.locator("main form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/totp/activate/"))
    page.goto(f"{site_url}/accounts/2fa/recovery-codes/")
    expect(page.locator("body")).to_contain_text(re.compile("recovery codes", re.IGNORECASE))


def test_settlement_buttons_ask_for_confirmation_first(page: Page, site_url: str, demo: None) -> None:
    """The confirm() that was an inline onsubmit= handler is now static/js/prm.js (data-confirm)."""
    from incentives.models import Statement, StatementStatus

    finance = "fiona.finance@prm.example"
    statement = Statement.objects.get(status=StatementStatus.APPROVED)
    _sign_in(page, site_url, finance, DEMO_PASSWORD, _totp_secret(finance))
    page.goto(f"{site_url}/vendor/settlements/")
    form = page.locator(f"form[action$='/settlements/{statement.pk}/paid/']")
    form.locator("input[name=payment_reference]").fill("WIRE-2026-0042")
    questions: list[str] = []

    def answer(dialog: Any, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    form.get_by_role("button", name="Mark paid").click()
    assert questions == ["Mark this statement paid?"]
    statement.refresh_from_db()
    assert statement.status == StatementStatus.APPROVED  # dismissed: nothing was sent

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    with page.expect_navigation():
        form.get_by_role("button", name="Mark paid").click()
    statement.refresh_from_db()
    assert statement.status == StatementStatus.PAID
