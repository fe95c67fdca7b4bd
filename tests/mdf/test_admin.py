"""The MDF admin, driven through the real admin views (changelists, intermediate pages, actions)
as signed-in vendor staff: a channel account manager works only their portfolio and only up to
their approval limit, finance reviews claims and pays them, the ledger is read-only, and the list
pages run the same number of queries for 1 row as for 50."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mdf import ledger, services
from mdf.models import (
    Allocation,
    ApprovalLimit,
    Budget,
    FundClaim,
    FundPeriod,
    FundRequest,
    LedgerEntry,
    RequestStatus,
)
from partners import services as partner_services
from partners.models import Partner, PartnerRole
from prm.models import AuditEvent, Notification, User
from prm.roles import VendorRole
from prm.tenancy import Actor, system_scope
from tests import factories
from tests.helpers import assert_constant_queries, login
from tests.scoping import acting

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n%%EOF\n"
CHANGELIST = "admin:mdf_fundrequest_changelist"
CLAIMS = "admin:mdf_fundclaim_changelist"


def today() -> date:
    return timezone.localdate()


@dataclass
class World:
    period: FundPeriod
    budget: Budget
    admin_actor: Actor  # a program admin for arranging data
    program_admin: User
    cam: User  # works partner A only
    finance: User
    partner_a: Partner
    partner_b: Partner
    mia: User  # marketing at A
    bob: User  # marketing at B

    @property
    def allocation_a(self) -> Allocation:
        return Allocation.objects.get(partner=self.partner_a, budget=self.budget)

    @property
    def allocation_b(self) -> Allocation:
        return Allocation.objects.get(partner=self.partner_b, budget=self.budget)


@pytest.fixture
def world(db: Any) -> World:
    period = FundPeriod.objects.create(
        name="FY Test", starts_on=today() - timedelta(days=90), ends_on=today() + timedelta(days=180)
    )
    budget = Budget.objects.create(period=period, currency="USD", amount=Decimal("500000"))
    admin_actor = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    partner_a = factories.PartnerFactory(legal_name="Northwind Resellers", tier=factories.tier("Gold"))
    partner_b = factories.PartnerFactory(legal_name="Southwind Systems", tier=factories.tier("Silver"))
    for partner in (partner_a, partner_b):
        services.allocation_add(
            actor=admin_actor, partner=partner, budget=budget, amount=Decimal("20000"), memo="Test funds"
        )
    cam = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="carl.cam@prm.example")
    partner_services.partner_assign_channel_manager(actor=admin_actor, partner=partner_a, manager=cam)
    return World(
        period=period,
        budget=budget,
        admin_actor=admin_actor,
        program_admin=factories.vendor_user(VendorRole.PROGRAM_ADMIN, email="ada.admin@prm.example"),
        cam=cam,
        finance=factories.vendor_user(VendorRole.FINANCE, email="fiona.finance@prm.example"),
        partner_a=partner_a,
        partner_b=partner_b,
        mia=factories.partner_user(partner_a, role=PartnerRole.MARKETING, email="mia@northwind.example"),
        bob=factories.partner_user(partner_b, role=PartnerRole.MARKETING, email="bob@southwind.example"),
    )


def balances_of(allocation: Allocation) -> ledger.Balances:
    # The ledger is read in the vendor-wide scope a test's own statements have (finance's view).
    with system_scope():
        return ledger.balances_of(allocation)


def submitted(
    user: User,
    title: str,
    amount: str = "1000",
    *,
    kind: str = "webinar",
    start: date | None = None,
    days: int = 1,
) -> FundRequest:
    """A fund request drafted and submitted by ``user`` through the services."""
    actor = factories.actor_for(user)
    start = start or today() + timedelta(days=30)
    draft = services.request_save_draft(
        actor=actor,
        data={
            "activity_type": kind,
            "title": title,
            "description": f"{title}: test activity.",
            "start_date": start,
            "end_date": start + timedelta(days=days),
            "total_cost": Decimal(amount) * 2,
            "requested_amount": Decimal(amount),
            "currency": "USD",
            "expected_leads": 25,
        },
    )
    return services.request_submit(actor=actor, fund_request=draft, confirm_short_notice=True)


def claimed(world: World, title: str, amount: str = "1000", claim: str = "900") -> FundClaim:
    """A finished activity, approved by a program admin and claimed with a PDF invoice."""
    request = submitted(world.mia, title, amount, kind="event", start=today() - timedelta(days=10), days=2)
    services.request_approve(actor=world.admin_actor, fund_request=request)
    return services.claim_submit(
        actor=factories.actor_for(world.mia),
        fund_request=request,
        data={
            "actual_cost": Decimal(claim) * 2,
            "claimed_amount": Decimal(claim),
            "leads_generated": 12,
            "attendees": 80,
        },
        files=[SimpleUploadedFile("invoice.pdf", PDF, content_type="application/pdf")],
    )


def decide_url(obj: FundRequest | FundClaim | Allocation, action: str) -> str:
    return reverse(f"admin:mdf_{obj._meta.model_name}_decide", args=[obj.pk, action])


def shown(response: Any) -> list[Any]:
    return list(response.context["cl"].result_list)


def messages_of(response: Any) -> list[str]:
    return [str(message.message) for message in response.context["messages"]]


def action_post(action: str, objects: list[Any], **fields: Any) -> dict[str, Any]:
    return {"action": action, "_selected_action": [o.pk for o in objects], "post": "yes", **fields}


def refreshed(obj: Any) -> Any:
    obj.refresh_from_db()
    return obj


# --- Portfolio: a channel account manager sees and decides only their partners' requests -----------
def test_cam_changelist_lists_only_portfolio_requests(world: World) -> None:
    ours = submitted(world.mia, "Zero-trust webinar")
    theirs = submitted(world.bob, "Southern roadshow")

    response = login(world.cam).get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert shown(response) == [ours]
    body = response.content.decode()
    assert ours.reference in body
    assert theirs.reference not in body
    assert "Southern roadshow" not in body
    assert "Southwind" not in body  # not even in the partner filter
    assert "Northwind Resellers" in body


def test_cam_cannot_open_or_decide_another_partners_request(world: World) -> None:
    theirs = submitted(world.bob, "Southern roadshow")
    client = login(world.cam)

    # Outside the portfolio is the same as not there: 404 on the change and history pages.
    for view in ("change", "history"):
        page = client.get(reverse(f"admin:mdf_fundrequest_{view}", args=[theirs.pk]))
        assert page.status_code == 404, view
        assert "Southern roadshow" not in page.content.decode()

    decide = client.get(decide_url(theirs, "approve_selected"), follow=True)
    assert "Southern roadshow" not in decide.content.decode()

    # A crafted bulk action with B's id does nothing to B's request.
    client.post(
        reverse(CHANGELIST),
        action_post("approve_selected", [theirs], **{f"amount-{theirs.pk}": "1000"}),
        follow=True,
    )
    assert refreshed(theirs).status == RequestStatus.SUBMITTED
    assert not LedgerEntry.objects.filter(fund_request=theirs).exists()


def test_changelist_filters_search_and_columns(world: World) -> None:
    webinar = submitted(world.mia, "Zero-trust webinar", "1500", kind="webinar")
    event = submitted(world.mia, "Customer briefing day", "3000", kind="event")
    southern = submitted(world.bob, "Southern roadshow", "2000", kind="event")
    with time_machine.travel(timezone.now() - timedelta(days=40), tick=False):  # an earlier month
        spring = submitted(world.bob, "Spring fair", "1000", kind="webinar")
    later = FundPeriod.objects.create(
        name="FY Later",
        starts_on=world.period.ends_on + timedelta(days=1),
        ends_on=world.period.ends_on + timedelta(days=200),
    )
    later_budget = Budget.objects.create(period=later, currency="USD", amount=Decimal("100000"))
    services.allocation_add(
        actor=world.admin_actor, partner=world.partner_b, budget=later_budget, amount=Decimal("5000")
    )
    next_year = submitted(
        world.bob, "Next-year expo", "500", kind="event", start=later.starts_on + timedelta(days=5)
    )
    services.request_approve(actor=world.admin_actor, fund_request=event, amount=Decimal("2500"))
    # Passed on by a channel account manager whose limit it exceeds (see the approval tests).
    FundRequest.objects.filter(pk=webinar.pk).update(needs_program_admin=True)
    client = login(world.program_admin)
    url = reverse(CHANGELIST)

    def rows(**params: Any) -> set[FundRequest]:
        response = client.get(url, params)
        assert response.status_code == 200, params
        return set(shown(response))

    everything = {webinar, event, southern, spring, next_year}
    assert rows() == everything
    assert rows(status__exact="submitted") == everything - {event}
    assert rows(status__exact="approved") == {event}
    assert rows(activity_type__exact="event") == {event, southern, next_year}
    assert rows(partner=world.partner_b.pk) == {southern, spring, next_year}
    assert rows(partner__tier__id__exact=world.partner_a.tier_id) == {webinar, event}
    assert rows(allocation__budget__period__id__exact=world.period.pk) == everything - {next_year}
    assert rows(allocation__budget__period__id__exact=later.pk) == {next_year}
    assert rows(needs_program_admin__exact="1") == {webinar}
    assert rows(needs_program_admin__exact="0") == everything - {webinar}
    assert rows(q=event.reference) == {event}
    assert rows(q="roadshow") == {southern}
    assert rows(q="Northwind") == {webinar, event}
    now = timezone.localtime(webinar.submitted_at)
    assert rows(submitted_at__year=now.year, submitted_at__month=now.month) == everything - {spring}
    then = timezone.localtime(spring.submitted_at)
    assert rows(submitted_at__year=then.year, submitted_at__month=then.month) == {spring}

    body = client.get(url).content.decode()
    assert "Approved" in body and "Submitted" in body  # status badges
    assert "✓ 2,500.00" in body  # the approved amount under the requested one
    assert "17,500.00" in body  # available to A: 20,000 - 2,500 committed


def test_available_funds_column_is_the_ledger_balance(world: World) -> None:
    first = submitted(world.mia, "First", "3000")
    submitted(world.mia, "Second", "1000")
    services.request_approve(actor=world.admin_actor, fund_request=first, amount=Decimal("2000"))

    response = login(world.cam).get(reverse(CHANGELIST))

    expected = balances_of(world.allocation_a).available
    assert expected == Decimal("18000.00")
    assert {row.available_funds for row in shown(response)} == {expected}


# --- Approving ----------------------------------------------------------------------------------------
def test_single_approve_commits_exactly_the_lower_amount(world: World) -> None:
    request = submitted(world.mia, "Zero-trust webinar", "1000")
    client = login(world.cam)

    page = client.get(reverse("admin:mdf_fundrequest_change", args=[request.pk]))
    assert page.status_code == 200
    assert decide_url(request, "approve_selected") in page.content.decode()  # the Approve button

    intermediate = client.get(decide_url(request, "approve_selected"))
    assert intermediate.status_code == 200
    assert "admin/mdf/fundrequest/approve_intermediate.html" in [t.name for t in intermediate.templates]
    assert f'name="amount-{request.pk}"' in intermediate.content.decode()
    assert 'value="1000.00"' in intermediate.content.decode()  # prefilled with the requested amount

    response = client.post(
        decide_url(request, "approve_selected"),
        action_post("approve_selected", [request], **{f"amount-{request.pk}": "800", "comment": "Go for it"}),
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("admin:mdf_fundrequest_change", args=[request.pk])
    assert any(request.reference in m and "approved" in m for m in messages_of(response))
    request = refreshed(request)
    assert request.status == RequestStatus.APPROVED
    assert request.approved_amount == Decimal("800.00")
    assert request.decided_by == world.cam
    assert request.decision_comment == "Go for it"
    balances = balances_of(world.allocation_a)
    assert balances.committed == Decimal("800.00")
    assert balances.available == Decimal("19200.00")
    assert AuditEvent.objects.filter(action="mdf.request_approved", target_id=str(request.pk)).exists()


def test_approve_more_than_requested_is_refused_on_the_page(world: World) -> None:
    request = submitted(world.mia, "Zero-trust webinar", "1000")

    response = login(world.cam).post(
        decide_url(request, "approve_selected"),
        action_post("approve_selected", [request], **{f"amount-{request.pk}": "1200"}),
    )

    assert response.status_code == 200  # the intermediate page again, with the error
    assert "less than or equal to 1000" in response.content.decode()
    assert refreshed(request).status == RequestStatus.SUBMITTED
    assert balances_of(world.allocation_a).committed == Decimal("0.00")


def test_bulk_approve_stops_at_the_available_funds(world: World) -> None:
    earlier = submitted(world.mia, "Earlier campaign", "9000")
    services.request_approve(actor=world.admin_actor, fund_request=earlier)  # 11,000 left
    first = submitted(world.mia, "First come", "6000")
    second = submitted(world.mia, "Second served", "6000")
    client = login(world.cam)

    intermediate = client.post(
        reverse(CHANGELIST), {"action": "approve_selected", "_selected_action": [second.pk, first.pk]}
    )
    assert intermediate.status_code == 200
    page = intermediate.content.decode()
    assert page.index(first.reference) < page.index(second.reference)  # oldest first
    assert "5,000.00\N{NO-BREAK SPACE}USD available after the requests above" in page

    response = client.post(
        reverse(CHANGELIST),
        action_post(
            "approve_selected",
            [first, second],
            **{f"amount-{first.pk}": "6000", f"amount-{second.pk}": "6000"},
        ),
        follow=True,
    )

    assert response.status_code == 200
    assert refreshed(first).status == RequestStatus.APPROVED
    assert refreshed(second).status == RequestStatus.SUBMITTED
    assert not LedgerEntry.objects.filter(fund_request=second).exists()
    assert balances_of(world.allocation_a).committed == Decimal("15000.00")
    found = messages_of(response)
    assert any(
        m.startswith(second.reference) and "has only 5000.00 USD available; approve less or reject" in m
        for m in found
    ), found
    assert any("1 request approved" in m and first.reference in m for m in found), found


def test_above_the_default_cam_limit_goes_to_a_program_admin(world: World) -> None:
    request = submitted(world.mia, "Security summit", "12000")
    client = login(world.cam)

    intermediate = client.get(decide_url(request, "approve_selected"))
    assert "Above your approval limit of 10,000.00" in intermediate.content.decode()

    response = client.post(
        decide_url(request, "approve_selected"),
        action_post("approve_selected", [request], **{f"amount-{request.pk}": "12000"}),
        follow=True,
    )

    found = messages_of(response)
    assert any("above your approval limit" in m and "passed to a program admin" in m for m in found), found
    request = refreshed(request)
    assert request.status == RequestStatus.SUBMITTED
    assert request.needs_program_admin is True  # kept although the approval was refused
    assert not LedgerEntry.objects.filter(fund_request=request).exists()
    assert Notification.objects.filter(recipient=world.program_admin, kind="mdf.request_escalated").exists()
    assert AuditEvent.objects.filter(action="mdf.request_escalated", target_id=str(request.pk)).exists()

    flagged = login(world.program_admin).get(reverse(CHANGELIST), {"needs_program_admin__exact": "1"})
    assert shown(flagged) == [request]

    done = login(world.program_admin).post(
        decide_url(request, "approve_selected"),
        action_post("approve_selected", [request], **{f"amount-{request.pk}": "12000"}),
        follow=True,
    )
    assert any("1 request approved" in m for m in messages_of(done))
    request = refreshed(request)
    assert request.status == RequestStatus.APPROVED
    assert request.decided_by == world.program_admin
    assert balances_of(world.allocation_a).committed == Decimal("12000.00")


def test_a_personal_approval_limit_applies_and_a_lower_amount_fits_it(world: World) -> None:
    ApprovalLimit.objects.create(user=world.cam, amount=Decimal("5000"), currency="USD")
    over = submitted(world.mia, "Over the limit", "6000")
    under = submitted(world.mia, "Within the limit", "6000")

    response = login(world.cam).post(
        reverse(CHANGELIST),
        action_post(
            "approve_selected", [over, under], **{f"amount-{over.pk}": "6000", f"amount-{under.pk}": "5000"}
        ),
        follow=True,
    )

    assert refreshed(over).status == RequestStatus.SUBMITTED
    assert refreshed(over).needs_program_admin is True
    assert refreshed(under).status == RequestStatus.APPROVED
    assert refreshed(under).approved_amount == Decimal("5000.00")
    assert balances_of(world.allocation_a).committed == Decimal("5000.00")
    assert any("approval limit of 5,000.00\N{NO-BREAK SPACE}USD" in m for m in messages_of(response))


# --- Rejecting and returning ------------------------------------------------------------------------
def test_bulk_reject_needs_a_reason(world: World) -> None:
    one = submitted(world.mia, "One")
    two = submitted(world.mia, "Two")
    client = login(world.cam)

    empty = client.post(reverse(CHANGELIST), action_post("reject_selected", [one, two], reason="  "))

    assert empty.status_code == 200
    assert "admin/mdf/fundrequest/reject_intermediate.html" in [t.name for t in empty.templates]
    assert "This field is required." in empty.content.decode()
    assert {refreshed(one).status, refreshed(two).status} == {RequestStatus.SUBMITTED}

    response = client.post(
        reverse(CHANGELIST),
        action_post("reject_selected", [one, two], reason="Not in this half's plan."),
        follow=True,
    )

    assert {refreshed(one).status, refreshed(two).status} == {RequestStatus.REJECTED}
    assert refreshed(one).decision_comment == "Not in this half's plan."
    assert any("2 requests rejected" in m for m in messages_of(response))
    assert balances_of(world.allocation_a).committed == Decimal("0.00")


def test_return_for_changes_from_the_request_page(world: World) -> None:
    request = submitted(world.mia, "LinkedIn campaign")
    client = login(world.cam)

    response = client.post(
        decide_url(request, "return_selected"),
        action_post("return_selected", [request], reason="Add the landing page."),
        follow=True,
    )

    assert refreshed(request).status == RequestStatus.RETURNED
    assert refreshed(request).decision_comment == "Add the landing page."
    assert any("returned for changes" in m for m in messages_of(response))
    # Decided: the page shows no decision buttons any more.
    assert decide_url(request, "approve_selected") not in response.content.decode()


def test_change_form_shows_balances_claim_and_history_read_only(world: World) -> None:
    claim = claimed(world, "Partner summit", "1000", "900")
    request = claim.fund_request
    proof = claim.proofs.get()

    response = login(world.cam).get(reverse("admin:mdf_fundrequest_change", args=[request.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Partner summit" in body
    assert reverse("mdf:proof_download", args=[proof.pk]) in body
    assert "invoice.pdf" in body
    assert "Claim submitted" in body  # status badge and history
    assert "19,000.00" in body  # available after the 1,000 commitment
    assert 'name="_save"' not in body  # services own every change
    assert decide_url(request, "approve_selected") not in body  # not awaiting a decision
    cam = login(world.cam)
    assert cam.post(reverse("admin:mdf_fundrequest_change", args=[request.pk]), {}).status_code == 403
    download = cam.get(reverse("mdf:proof_download", args=[proof.pk]))  # the proof link works for staff
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF


def test_no_adding_or_deleting_requests(world: World) -> None:
    request = submitted(world.mia, "One")
    client = login(world.program_admin)
    assert client.get(reverse("admin:mdf_fundrequest_add")).status_code == 403
    assert client.get(reverse("admin:mdf_fundrequest_delete", args=[request.pk])).status_code == 403


# --- Claims: finance ----------------------------------------------------------------------------------
def test_finance_approves_a_claim_and_marks_it_paid(world: World) -> None:
    claim = claimed(world, "Partner summit", "1000", "900")
    request = claim.fund_request
    client = login(world.finance)

    listing = client.get(reverse(CLAIMS))
    assert listing.status_code == 200
    assert shown(listing) == [claim]
    assert shown(listing)[0].proofs_count == 1
    assert request.reference in listing.content.decode()

    page = client.get(reverse("admin:mdf_fundclaim_change", args=[claim.pk]))
    assert reverse("mdf:proof_download", args=[claim.proofs.get().pk]) in page.content.decode()
    assert decide_url(claim, "approve_claims") in page.content.decode()

    intermediate = client.post(reverse(CLAIMS), {"action": "approve_claims", "_selected_action": [claim.pk]})
    assert 'value="900.00"' in intermediate.content.decode()  # prefilled with the claimed amount

    too_much = client.post(
        reverse(CLAIMS), action_post("approve_claims", [claim], **{f"amount-{claim.pk}": "950"})
    )
    assert too_much.status_code == 200
    assert refreshed(request).status == RequestStatus.CLAIM_SUBMITTED

    response = client.post(
        reverse(CLAIMS), action_post("approve_claims", [claim], **{f"amount-{claim.pk}": "850"}), follow=True
    )
    assert any("1 claim approved" in m for m in messages_of(response))
    assert refreshed(request).status == RequestStatus.CLAIM_APPROVED
    assert refreshed(claim).approved_amount == Decimal("850.00")
    balances = balances_of(world.allocation_a)
    assert (balances.committed, balances.claimed, balances.paid) == (
        Decimal("0.00"),
        Decimal("850.00"),
        Decimal("0.00"),
    )

    no_reference = client.post(reverse(CLAIMS), action_post("mark_paid", [claim], payment_reference=""))
    assert no_reference.status_code == 200
    assert refreshed(request).status == RequestStatus.CLAIM_APPROVED

    # Four eyes: the approver's own payment is refused with a message, and nothing moves.
    own = client.post(
        decide_url(claim, "mark_paid"),
        action_post("mark_paid", [claim], payment_reference="PAY-2026-0042"),
        follow=True,
    )
    assert own.status_code == 200
    assert any("another finance user must mark it paid" in m for m in messages_of(own))
    assert refreshed(request).status == RequestStatus.CLAIM_APPROVED
    assert balances_of(world.allocation_a).paid == Decimal("0.00")

    client = login(factories.vendor_user(VendorRole.FINANCE, email="felix.finance@prm.example"))
    paid = client.post(
        decide_url(claim, "mark_paid"),
        action_post("mark_paid", [claim], payment_reference="PAY-2026-0042"),
        follow=True,
    )
    assert any("marked paid" in m for m in messages_of(paid))
    assert refreshed(request).status == RequestStatus.PAID
    assert refreshed(claim).payment_reference == "PAY-2026-0042"
    assert balances_of(world.allocation_a).paid == Decimal("850.00")


def test_finance_rejects_a_claim_with_a_reason(world: World) -> None:
    claim = claimed(world, "Partner summit", "1000", "900")
    client = login(world.finance)

    client.post(reverse(CLAIMS), action_post("reject_claims", [claim], reason=""))
    assert refreshed(claim.fund_request).status == RequestStatus.CLAIM_SUBMITTED

    client.post(reverse(CLAIMS), action_post("reject_claims", [claim], reason="No invoice for the booth."))
    assert refreshed(claim.fund_request).status == RequestStatus.CLAIM_REJECTED
    assert refreshed(claim).rejection_reason == "No invoice for the booth."
    assert balances_of(world.allocation_a).committed == Decimal("0.00")  # released


def test_cam_reads_claims_but_cannot_use_claim_actions(world: World) -> None:
    """Finance decides claims (PRODUCT.md); a CAM follows the portfolio's claims read-only."""
    claim = claimed(world, "Partner summit", "1000", "900")
    client = login(world.cam)

    listing = client.get(reverse(CLAIMS))
    assert listing.status_code == 200
    assert listing.context["action_form"] is None
    # The summary says who acts on the claim instead of asking the CAM to review it.
    page = listing.content.decode()
    assert "1 claim is with finance for review" in page
    assert "await review" not in page and "Review them" not in page
    client.post(reverse(CLAIMS), action_post("approve_claims", [claim], **{f"amount-{claim.pk}": "900"}))
    assert client.get(decide_url(claim, "approve_claims")).status_code == 403
    assert refreshed(claim.fund_request).status == RequestStatus.CLAIM_SUBMITTED


def test_finance_is_asked_to_review_the_claims_it_decides(world: World) -> None:
    claimed(world, "Partner summit", "1000", "900")
    page = login(world.finance).get(reverse(CLAIMS)).content.decode()
    assert "1 claim awaits review" in page
    assert "Review them, oldest first" in page


def test_finance_sees_requests_but_cannot_decide_them(world: World) -> None:
    request = submitted(world.mia, "One")
    client = login(world.finance)

    listing = client.get(reverse(CHANGELIST))
    assert shown(listing) == [request]
    assert listing.context["action_form"] is None
    assert (
        decide_url(request, "approve_selected")
        not in client.get(reverse("admin:mdf_fundrequest_change", args=[request.pk])).content.decode()
    )
    assert client.get(decide_url(request, "approve_selected")).status_code == 403


# --- Allocations and the ledger -------------------------------------------------------------------------
def test_program_admin_allocates_more_funds(world: World) -> None:
    client = login(world.program_admin)
    allocation = world.allocation_a

    listing = client.get(reverse("admin:mdf_allocation_changelist"))
    assert {row.balance_available for row in shown(listing)} == {Decimal("20000.00")}

    response = client.post(
        reverse("admin:mdf_allocation_changelist"),
        action_post("allocate_funds", [allocation], amount="5000", memo="Q4 top-up"),
        follow=True,
    )
    assert any("allocated" in m for m in messages_of(response))
    assert balances_of(allocation).allocated == Decimal("25000.00")

    too_much = client.post(
        reverse("admin:mdf_allocation_changelist"),
        action_post("allocate_funds", [allocation], amount="1000000"),
        follow=True,
    )
    assert any("left to allocate" in m for m in messages_of(too_much))
    assert balances_of(allocation).allocated == Decimal("25000.00")


def test_allocate_to_a_partner_without_an_allocation(world: World) -> None:
    newcomer = factories.PartnerFactory(legal_name="Eastwind Partners")
    client = login(world.program_admin)

    response = client.post(
        reverse("admin:mdf_allocation_allocate"),
        {
            "partner": newcomer.pk,
            "budget": world.budget.pk,
            "amount": "7000",
            "memo": "Welcome funds",
            "post": "yes",
        },
        follow=True,
    )

    allocation = Allocation.objects.get(partner=newcomer)
    assert response.redirect_chain[-1][0] == reverse("admin:mdf_allocation_change", args=[allocation.pk])
    assert balances_of(allocation).allocated == Decimal("7000.00")


def test_the_allocation_form_opens_and_its_cancel_goes_back_to_the_allocations(world: World) -> None:
    page = login(world.program_admin).get(reverse("admin:mdf_allocation_allocate"))
    assert page.status_code == 200  # was a 500: the page's own Cancel link and the default's, twice
    assert f'href="{reverse("admin:mdf_allocation_changelist")}"' in page.content.decode()


def test_cam_cannot_allocate(world: World) -> None:
    client = login(world.cam)
    listing = client.get(reverse("admin:mdf_allocation_changelist"))
    assert listing.status_code == 200
    assert [row.partner for row in shown(listing)] == [world.partner_a]  # portfolio only
    assert listing.context["action_form"] is None
    assert client.get(reverse("admin:mdf_allocation_allocate")).status_code == 403


def test_ledger_admin_is_read_only(world: World) -> None:
    entry = LedgerEntry.objects.filter(allocation=world.allocation_a).first()
    client = login(world.program_admin)

    listing = client.get(reverse("admin:mdf_ledgerentry_changelist"))
    assert listing.status_code == 200
    assert entry in shown(listing)
    assert listing.context["has_add_permission"] is False
    assert client.get(reverse("admin:mdf_ledgerentry_add")).status_code == 403
    view = client.get(reverse("admin:mdf_ledgerentry_change", args=[entry.pk]))
    assert view.status_code == 200
    assert view.context["has_change_permission"] is False
    assert 'name="_save"' not in view.content.decode()
    assert (
        client.post(reverse("admin:mdf_ledgerentry_change", args=[entry.pk]), {"memo": "x"}).status_code
        == 403
    )
    assert client.get(reverse("admin:mdf_ledgerentry_delete", args=[entry.pk])).status_code == 403
    assert refreshed(entry).memo == "Test funds"

    allocation_page = client.get(reverse("admin:mdf_allocation_change", args=[world.allocation_a.pk]))
    assert "Test funds" in allocation_page.content.decode()  # the read-only ledger inline


def test_approval_limits_are_managed_by_program_admins_and_audited(world: World) -> None:
    response = login(world.program_admin).post(
        reverse("admin:mdf_approvallimit_add"), {"user": world.cam.pk, "amount": "25000", "currency": "USD"}
    )
    assert response.status_code == 302
    with acting(factories.actor_for(world.cam)):  # read as the CAM's own approval reads it
        assert services.approval_limit_of(world.cam, "USD") == Decimal("25000.00")
    assert AuditEvent.objects.filter(action="mdf.approval_limit_set", target_id=str(world.cam.pk)).exists()
    assert login(world.cam).get(reverse("admin:mdf_approvallimit_changelist")).status_code == 403


def test_budget_cannot_drop_below_what_is_allocated(world: World) -> None:
    client = login(world.program_admin)
    url = reverse("admin:mdf_budget_change", args=[world.budget.pk])
    response = client.post(url, {"amount": "30000"})
    assert response.status_code == 200
    assert "already allocated" in response.content.decode()
    assert client.post(url, {"amount": "600000"}).status_code == 302
    assert refreshed(world.budget).amount == Decimal("600000.00")


def test_program_admin_creates_a_period_with_its_budget(world: World) -> None:
    response = login(world.program_admin).post(
        reverse("admin:mdf_fundperiod_add"),
        {
            "name": "FY2031 H1",
            "starts_on": "2031-01-01",
            "ends_on": "2031-06-30",
            "budgets-TOTAL_FORMS": "1",
            "budgets-INITIAL_FORMS": "0",
            "budgets-MIN_NUM_FORMS": "0",
            "budgets-MAX_NUM_FORMS": "1000",
            "budgets-0-currency": "EUR",
            "budgets-0-amount": "250000",
        },
    )

    assert response.status_code == 302
    budget = Budget.objects.get(period__name="FY2031 H1")
    assert (budget.currency, budget.amount) == ("EUR", Decimal("250000.00"))
    assert AuditEvent.objects.filter(action="mdf.budget_created", target_id=str(budget.pk)).exists()
    cam = login(world.cam)
    assert cam.get(reverse("admin:mdf_fundperiod_changelist")).status_code == 200
    assert cam.get(reverse("admin:mdf_fundperiod_add")).status_code == 403


# --- Query counts ------------------------------------------------------------------------------------
def assert_constant(client: Client, url: str, grow: Any, shows: Any) -> None:
    """1 row, then 50 in the changelist (each named by ``shows()`` in the result table), for the
    same number of queries."""
    assert_constant_queries(
        client,
        url,
        grow,
        rows=lambda response: len(shown(response)),
        shows=shows,
        within="result_list",
        bound=1000,  # only "the same for 1 and for 50" is asked of the admin here
    )


def request_references() -> list[str]:
    return list(FundRequest.objects.values_list("reference", flat=True))


def test_request_changelist_query_count_is_constant(world: World) -> None:
    submitted(world.mia, "Probe 0", "100")
    assert_constant(
        login(world.cam),
        reverse(CHANGELIST),
        lambda: [submitted(world.mia, f"Probe {n}", "100") for n in range(1, 50)],
        request_references,
    )


def test_claim_changelist_query_count_is_constant(world: World) -> None:
    claimed(world, "Probe 0", "200", "100")
    assert_constant(
        login(world.finance),
        reverse(CLAIMS),
        lambda: [claimed(world, f"Probe {n}", "200", "100") for n in range(1, 50)],
        request_references,
    )


def test_allocation_changelist_query_count_is_constant(world: World) -> None:
    client = login(world.cam)  # sees partner A only
    url = reverse("admin:mdf_allocation_changelist")

    def grow() -> None:
        for n in range(49):
            partner = factories.PartnerFactory(legal_name=f"Probe Partner {n:02}")
            services.allocation_add(
                actor=world.admin_actor, partner=partner, budget=world.budget, amount=Decimal("100")
            )
            partner_services.partner_assign_channel_manager(
                actor=world.admin_actor, partner=partner, manager=world.cam
            )

    def partners() -> list[str]:
        """Each allocation in the CAM's portfolio, by its partner."""
        return list(
            Allocation.objects.exclude(partner=world.partner_b).values_list("partner__legal_name", flat=True)
        )

    assert_constant(client, url, grow, partners)


def test_the_partner_filter_lists_a_bounded_number_of_partners(world: World, monkeypatch: Any) -> None:
    """Past PARTNER_FILTER_LIMIT partners the filter offers only the chosen one (the search box,
    by partner name, finds the others), so the sidebar never lists every partner."""
    from mdf.admin import common

    submitted(world.mia, "Zero-trust webinar", "1500", kind="webinar")
    submitted(world.bob, "Southern roadshow", "2000", kind="event")
    client = login(world.program_admin)
    url = reverse(CHANGELIST)

    def offered(**params: Any) -> list[str]:
        # A filter with nothing to offer is left out of the sidebar altogether.
        specs = client.get(url, params).context["cl"].filter_specs
        partner = [s for s in specs if getattr(s, "parameter_name", "") == "partner"]
        return [title for spec in partner for _value, title in spec.lookup_choices]

    both = sorted([world.partner_a.legal_name, world.partner_b.legal_name])
    assert offered() == both
    monkeypatch.setattr(common, "PARTNER_FILTER_LIMIT", 1)
    assert offered() == []
    assert offered(partner=world.partner_b.pk) == [world.partner_b.legal_name]
    assert set(shown(client.get(url, {"partner": world.partner_b.pk}))) == set(
        FundRequest.objects.filter(partner=world.partner_b)
    )
