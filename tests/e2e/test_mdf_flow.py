"""End to end in headless Chromium: a partner's marketing user requests funds for an activity at
short notice (and confirms it); the channel account manager signs in with TOTP and approves a lower
amount from the admin changelist through the intermediate page; the partner claims with an
uploaded invoice; finance signs in with TOTP and approves part of the claim, and another finance
user (four eyes) marks it paid with a payment reference. The partner's funds page and the ledger
balances are checked after each step."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import Page, expect

from mdf.models import Allocation, ClaimProof, FundClaim, FundRequest, RequestStatus
from partners.services import partner_assign_channel_manager
from prm.roles import VendorRole
from tests import factories
from tests.e2e.browser import sign_in
from tests.mdf import factories as m

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
INVOICE = "invoice-2026-0042.pdf"


def _vendor(email: str, role: str) -> tuple[object, str]:
    secret = generate_totp_secret()
    user = factories.VendorUserFactory(email=email, vendor_role=role, totp=False)
    TOTP.activate(user, secret)
    return user, secret


def _expect_funds(page: Page, site_url: str, **amounts: str) -> None:
    """The partner's funds page shows these figures (allocated, committed, claimed, paid,
    available) in USD."""
    page.goto(f"{site_url}/funds/")
    for key, amount in amounts.items():
        expect(page.locator(f"#stat-{key}-USD")).to_have_text(f"{amount} USD")


def _balances(allocation: Allocation) -> dict[str, Decimal]:
    b = m.balances(allocation)  # read as finance reads the ledger (vendor-wide)
    return {
        "allocated": b.allocated,
        "committed": b.committed,
        "claimed": b.claimed,
        "paid": b.paid,
        "available": b.available,
    }


def _usd(allocated: str, committed: str, claimed: str, paid: str, available: str) -> dict[str, Decimal]:
    return {
        "allocated": Decimal(allocated),
        "committed": Decimal(committed),
        "claimed": Decimal(claimed),
        "paid": Decimal(paid),
        "available": Decimal(available),
    }


def _run_admin_action(page: Page, site_url: str, model: str, pk: int, action: str) -> None:
    page.goto(f"{site_url}/admin/mdf/{model}/")
    page.check(f'input[name="_selected_action"][value="{pk}"]')
    page.select_option('select[name="action"]', action)
    page.click('button[name="index"]')


def test_partner_requests_manager_approves_partner_claims_finance_pays(page: Page, site_url: str) -> None:
    factories.default_tiers()  # transactional tests start from an empty database
    today = m.today()
    program_admin = factories.vendor_actor()
    team = m.team("Northwind Resellers", tier="Gold")
    fund_period = m.period(starts_on=today - timedelta(days=90), ends_on=today + timedelta(days=180))
    allocation = m.fund(team.partner, m.budget(fund_period, "100000.00"), "10000.00", program_admin)
    manager, manager_secret = _vendor("carl.cam@prm.example", VendorRole.CHANNEL_ACCOUNT_MANAGER)
    finance, finance_secret = _vendor("fiona.finance@prm.example", VendorRole.FINANCE)
    payer, payer_secret = _vendor("felix.finance@prm.example", VendorRole.FINANCE)
    with m.acting(program_admin):  # a transaction, as in a request
        partner_assign_channel_manager(actor=program_admin, partner=team.partner, manager=manager)
    assert _balances(allocation) == _usd("10000.00", "0.00", "0.00", "0.00", "10000.00")

    # 1. The marketing user requests 2,000 of a 5,000 activity that starts in a few days.
    sign_in(page, site_url, team.marketing.email)
    _expect_funds(page, site_url, allocated="10,000.00", committed="0.00", available="10,000.00")
    page.click("#funds-request")
    expect(page).to_have_url(re.compile(r"/funds/requests/new/$"))
    start = today + timedelta(days=3)
    page.select_option("#id_activity_type", "event")
    page.fill("#id_title", "Chicago security roadshow")
    page.fill("#id_description", "Half-day roadshow for 120 IT leaders, with a customer panel.")
    page.fill("#id_start_date", start.isoformat())
    page.fill("#id_end_date", (start + timedelta(days=1)).isoformat())
    page.fill("#id_expected_leads", "40")
    page.select_option("#id_currency", "USD")
    page.fill("#id_total_cost", "5000")
    page.fill("#id_requested_amount", "2000")
    expect(page.locator("#share-max")).to_contain_text("2,500.00")  # the 50% hint, live
    page.click("#request-submit")
    # Short notice: the draft is saved and the page asks for confirmation.
    expect(page.locator("#short-notice")).to_be_visible()
    expect(page.locator("#short-notice")).to_contain_text("business days ahead")
    draft = FundRequest.objects.get(partner=team.partner)
    assert draft.status == RequestStatus.DRAFT
    expect(page.locator("#id_title")).to_have_value("Chicago security roadshow")
    page.click("#request-confirm-submit")
    expect(page).to_have_url(re.compile(rf"/funds/requests/{draft.pk}/$"))
    expect(page.get_by_text(f"{draft.reference} was submitted for approval")).to_be_visible()
    fund_request = FundRequest.objects.get(partner=team.partner)
    assert (fund_request.pk, fund_request.status, fund_request.short_notice_confirmed) == (
        draft.pk,
        RequestStatus.SUBMITTED,
        True,
    )
    assert (fund_request.total_cost, fund_request.requested_amount) == (
        Decimal("5000.00"),
        Decimal("2000.00"),
    )
    _expect_funds(page, site_url, committed="0.00", claimed="0.00", available="10,000.00")
    assert _balances(allocation) == _usd("10000.00", "0.00", "0.00", "0.00", "10000.00")

    # 2. The channel account manager approves 1,500 (less than asked) in the admin.
    sign_in(page, site_url, manager.email, totp_secret=manager_secret)
    _run_admin_action(page, site_url, "fundrequest", fund_request.pk, "approve_selected")
    amount = page.locator(f"#id_amount-{fund_request.pk}")
    expect(amount).to_have_value("2000.00")  # prefilled with the requested amount
    amount.fill("1500")
    page.fill("#id_comment", "Approved at 1,500: the venue is shared.")
    page.click('input[type="submit"][value="Approve and commit funds"]')
    expect(page).to_have_url(re.compile(r"/admin/mdf/fundrequest/$"))
    expect(page.get_by_text(f"1 request approved: {fund_request.reference}")).to_be_visible()
    fund_request.refresh_from_db()
    assert (fund_request.status, fund_request.approved_amount, fund_request.decided_by) == (
        RequestStatus.APPROVED,
        Decimal("1500.00"),
        manager,
    )
    assert _balances(allocation) == _usd("10000.00", "1500.00", "0.00", "0.00", "8500.00")

    sign_in(page, site_url, team.marketing.email)
    _expect_funds(page, site_url, committed="1,500.00", claimed="0.00", paid="0.00", available="8,500.00")

    # Time travel for the test: a claim needs the activity to have ended, and no service moves an
    # approved activity's dates, so move them into the past directly in the database.
    FundRequest.objects.filter(pk=fund_request.pk).update(
        start_date=today - timedelta(days=6), end_date=today - timedelta(days=5)
    )

    # 3. The partner claims 1,500 with the invoice.
    page.goto(f"{site_url}/funds/requests/{fund_request.pk}/")
    page.click("#request-claim")
    expect(page).to_have_url(re.compile(rf"/funds/requests/{fund_request.pk}/claim/$"))
    page.fill("#id_actual_cost", "4800")
    page.fill("#id_claimed_amount", "1500")
    page.fill("#id_leads_generated", "35")
    page.fill("#id_attendees", "118")
    page.fill("#id_notes", "Full room; 35 qualified leads.")
    page.set_input_files("#id_files", files=[{"name": INVOICE, "mimeType": "application/pdf", "buffer": PDF}])
    page.click("#claim-submit")
    expect(page).to_have_url(re.compile(rf"/funds/requests/{fund_request.pk}/$"))
    expect(page.locator("#request-status")).to_contain_text("Claim submitted")
    claim = FundClaim.objects.get(fund_request=fund_request)
    proof = ClaimProof.objects.get(claim=claim)
    assert (claim.fund_request_id, claim.claimed_amount, claim.actual_cost) == (
        fund_request.pk,
        Decimal("1500.00"),
        Decimal("4800.00"),
    )
    assert (proof.original_name, proof.content_type, proof.size) == (INVOICE, "application/pdf", len(PDF))
    assert INVOICE not in proof.file.name
    # The partner downloads it again: an attachment with the uploaded bytes.
    with page.expect_download() as download_info:
        page.locator(f"#proof-{proof.pk}").click()
    download = download_info.value
    assert download.suggested_filename == INVOICE
    with open(download.path(), "rb") as handle:
        assert handle.read() == PDF
    assert _balances(allocation) == _usd("10000.00", "1500.00", "0.00", "0.00", "8500.00")
    _expect_funds(page, site_url, committed="1,500.00", claimed="0.00", available="8,500.00")

    # 4. Finance approves 1,400 of the claim, then marks it paid.
    sign_in(page, site_url, finance.email, totp_secret=finance_secret)
    _run_admin_action(page, site_url, "fundclaim", claim.pk, "approve_claims")
    amount = page.locator(f"#id_amount-{claim.pk}")
    expect(amount).to_have_value("1500.00")  # the smaller of the claimed and pre-approved amounts
    amount.fill("1400")
    page.click('input[type="submit"][value="Approve claims"]')
    expect(page).to_have_url(re.compile(r"/admin/mdf/fundclaim/$"))
    expect(page.get_by_text("1 claim approved")).to_be_visible()
    claim.refresh_from_db()
    assert claim.approved_amount == Decimal("1400.00")
    assert FundRequest.objects.get(pk=fund_request.pk).status == RequestStatus.CLAIM_APPROVED
    assert _balances(allocation) == _usd("10000.00", "0.00", "1400.00", "0.00", "8600.00")

    # Four eyes: another finance user confirms the payment.
    sign_in(page, site_url, payer.email, totp_secret=payer_secret)
    _run_admin_action(page, site_url, "fundclaim", claim.pk, "mark_paid")
    page.fill("#id_payment_reference", "PAY-2026-0042")
    page.click('input[type="submit"][value="Mark as paid"]')
    expect(page.get_by_text("1 claim marked paid")).to_be_visible()
    claim.refresh_from_db()
    assert (claim.payment_reference, claim.paid_by) == ("PAY-2026-0042", payer)
    assert FundRequest.objects.get(pk=fund_request.pk).status == RequestStatus.PAID
    assert _balances(allocation) == _usd("10000.00", "0.00", "1400.00", "1400.00", "8600.00")

    # 5. The partner sees the payment.
    sign_in(page, site_url, team.marketing.email)
    _expect_funds(
        page,
        site_url,
        allocated="10,000.00",
        committed="0.00",
        claimed="1,400.00",
        paid="1,400.00",
        available="8,600.00",
    )
    page.goto(f"{site_url}/funds/requests/{fund_request.pk}/")
    expect(page.locator("#request-banner")).to_contain_text("Paid: 1,400.00 USD")
    expect(page.locator("#request-banner")).to_contain_text("PAY-2026-0042")
