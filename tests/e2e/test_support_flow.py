"""End to end in headless Chromium: a partner's admin opens a complaint with an attachment; support
staff sign in with TOTP, find it in the queue (beside an older case whose SLA is breached), reply
and resolve it; the partner reads the answer and rates the resolution 5/5.

Set PRM_SCREENSHOTS to a folder to keep full-page screenshots of the pages on the way."""

from __future__ import annotations

import os
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.utils import timezone
from playwright.sync_api import Page, expect

from partners.models import CaseAttachment, CaseKind, CasePriority, CaseStatus, SupportCase
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as deal_factories
from tests.partners import support_factories as s

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

SCREENSHOTS = os.environ.get("PRM_SCREENSHOTS")


def _shot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def _sign_in(page: Page, site_url: str, email: str, totp_secret: str | None = None) -> None:
    page.context.clear_cookies()
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", factories.PASSWORD)
    page.locator("form button[type=submit]").first.click()
    if totp_secret:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.fill("#id_code", format_hotp_value(hotp_value(totp_secret, int(time.time()) // 30)))
        page.locator("form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/"))


def test_a_complaint_from_opening_to_rating(
    page: Page, site_url: str, settings: object, tmp_path: Path
) -> None:
    factories.media_storage(settings, tmp_path)
    team = deal_factories.team("Northwind Resellers")
    other = deal_factories.team("Globex Systems")
    secret = generate_totp_secret()
    agent = factories.VendorUserFactory(
        email="sven.support@prm.example",
        full_name="Sven Svensson",
        vendor_role=VendorRole.SUPPORT,
        totp=False,
    )
    TOTP.activate(agent, secret)
    s.built_in_kinds()
    # An older case nobody answered: its SLA is breached.
    s.open_case(
        other.admin_actor,
        subject="Order portal down during quarter close",
        kind_key=CaseKind.BUSINESS_FAILURE,
        priority=CasePriority.URGENT,
        now=timezone.now() - timedelta(days=6),
    )
    s.open_case(
        other.admin_actor,
        subject="Advice on a managed-services offer",
        kind_key=CaseKind.BUSINESS_CONSULTING,
        priority=CasePriority.LOW,
    )
    evidence = tmp_path / "delivery-note.pdf"
    evidence.write_bytes(s.PDF)

    # The partner opens a complaint with a file.
    _sign_in(page, site_url, team.admin.email)
    page.goto(f"{site_url}/support/new/")
    page.select_option("#id_kind", label="Complaint")
    page.select_option("#id_priority", value=CasePriority.HIGH)
    page.fill("#id_subject", "Replacement units arrived cracked")
    page.fill("#id_description", "Three of the ten replacement firewalls were cracked on arrival.")
    page.set_input_files("#id_files", str(evidence))
    page.click("#case-submit")
    expect(page.locator("#case-subject")).to_contain_text("Replacement units arrived cracked")
    expect(page.locator("#conversation")).to_contain_text("delivery-note.pdf")
    case = SupportCase.objects.get(subject="Replacement units arrived cracked")
    assert CaseAttachment.objects.filter(case=case).count() == 1

    # Support staff triage it: the queue, oldest first, shows the breached case on top.
    _sign_in(page, site_url, agent.email, secret)
    page.goto(f"{site_url}/vendor/support/")
    rows = page.locator("#queue-table tbody tr")
    expect(rows.first).to_contain_text("Order portal down during quarter close")
    expect(rows.first).to_contain_text("Breached")
    expect(page.locator("#queue-table")).to_contain_text("Replacement units arrived cracked")
    _shot(page, "vendor-queue")
    page.click("text=Replacement units arrived cracked")
    page.fill(
        "#reply-form textarea[name=body]", "Checked with the warehouse: the units were packed without foam."
    )
    page.check("#reply-form input[name=internal]")
    page.click("#reply-submit")
    expect(page.locator("#conversation")).to_contain_text("Internal note")
    page.fill("#reply-form textarea[name=body]", "Sorry about that. Three new units ship today by express.")
    page.click("#reply-submit")
    page.fill("#resolve-form textarea[name=body]", "Replacements delivered; tracking number sent by e-mail.")
    page.click("#resolve-submit")
    expect(page.locator(".case-status")).to_have_text("Resolved")
    _shot(page, "vendor-case")
    page.goto(f"{site_url}/vendor/support/report/")
    expect(page.locator("#total-breached")).to_have_text("1")
    expect(page.locator("#report-partners")).to_contain_text("Northwind Resellers")
    page.wait_for_timeout(300)  # the chart's animation
    _shot(page, "vendor-report")

    # The partner reads the answer (never the note) and rates the resolution.
    _sign_in(page, site_url, team.admin.email)
    page.goto(f"{site_url}/support/cases/{case.pk}/")
    expect(page.locator("#conversation")).to_contain_text("Three new units ship today by express.")
    expect(page.locator("#conversation")).not_to_contain_text("packed without foam")
    _shot(page, "partner-case-resolved")
    page.check("#rate-form input[value='5']")
    page.fill("#rate-form textarea[name=comment]", "Fast and friendly.")
    page.click("#rate-submit")
    expect(page.locator("#case-rating")).to_contain_text("Rated 5/5")
    _shot(page, "partner-case-rated")
    case.refresh_from_db()
    assert (case.status, case.rating) == (CaseStatus.CLOSED, 5)
    page.goto(f"{site_url}/")
    expect(page.locator("#support-panel")).to_be_visible()
    _shot(page, "partner-home")
