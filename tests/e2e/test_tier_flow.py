"""End to end in headless Chromium: a partner below its tier sees its grace period and what is
missing on its home; when the grace period is over, its channel account manager signs in with TOTP,
finds the proposed downgrade on the tier reviews page and waives it with a note; the partner's
admin reads the note in a notification."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone
from playwright.sync_api import Page, expect

from deals.models import Deal
from partners.models import Partner, TierChangeProposal, TierProposalStatus
from partners.performance import tier_services
from partners.services import partner_assign_channel_manager
from prm.models import Notification
from prm.roles import VendorRole
from prm.tenancy import system_scope
from tests import factories
from tests.e2e.browser import sign_in
from tests.scoping import acting

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_partner_in_a_grace_period_and_its_manager_waiving_the_downgrade(page: Page, site_url: str) -> None:
    silver = next(tier for tier in factories.default_tiers() if tier.name == "Silver")
    partner = factories.PartnerFactory(legal_name="Northwind Resellers", tier=silver)
    admin = factories.partner_user(partner, email="nora@northwind.example")
    Deal.objects.create(
        partner=partner,
        registered_by=admin,
        reference="TIER-1",
        customer_name="Initech",
        status="won",
        amount=Decimal("60000.00"),
        won_amount=Decimal("60000.00"),
        currency="USD",
        closed_on=timezone.localdate() - timedelta(days=30),
    )
    secret = generate_totp_secret()
    manager = factories.VendorUserFactory(
        email="carl@prm.example", vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER, totp=False
    )
    TOTP.activate(manager, secret)
    program_admin = factories.vendor_actor()
    with acting(program_admin):
        partner_assign_channel_manager(actor=program_admin, partner=partner, manager=manager)
    today = timezone.localdate()
    with system_scope():  # as the monthly task runs it
        tier_services.tiers_evaluate(today=today)

    # 1. The partner's admin sees the grace period and what is missing on the home page.
    sign_in(page, site_url, admin.email)
    page.goto(f"{site_url}/")
    grace = page.locator("#tier-grace")
    expect(grace).to_contain_text("Grace period: meet the Silver requirements by")
    expect(grace).to_contain_text("60,000 USD of 100,000 USD")

    # 2. The grace period ends short: a downgrade is proposed, never applied.
    with system_scope():
        tier_services.tiers_evaluate(today=today + timedelta(days=tier_services.grace_days()))
    proposal = TierChangeProposal.objects.get(partner=partner)
    assert Partner.objects.get(pk=partner.pk).tier == silver

    # 3. The manager waives it from the tier reviews page, with a note.
    sign_in(page, site_url, manager.email, secret)
    page.goto(f"{site_url}/vendor/tier-reviews/")
    row = page.locator(f"#tier-proposal-{proposal.pk}")
    expect(row).to_contain_text("Northwind Resellers")
    expect(row).to_contain_text("Silver → Registered")
    page.click(f"#waive-proposal-toggle-{proposal.pk}")
    page.fill(f"#waive-note-{proposal.pk}", "Two large renewals close next month.")
    page.click(f"#waive-proposal-{proposal.pk}")
    expect(page.get_by_text("Northwind Resellers keeps Silver")).to_be_visible()
    proposal.refresh_from_db()
    assert proposal.status == TierProposalStatus.WAIVED
    assert Partner.objects.get(pk=partner.pk).tier == silver
    told = Notification.objects.get(recipient=admin, kind="tier.proposal_waived")
    assert "Two large renewals close next month." in told.body
