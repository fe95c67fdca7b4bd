"""MDF writes through the services: allocations, requests and their review, claims with proof of
performance, and the ledger entries each step posts. Partner actions run in the partner's database
scope and vendor actions in the vendor's, as a request would."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.test import override_settings
from django.utils import timezone
from django.utils.formats import date_format

from mdf import services
from mdf.models import (
    Allocation,
    ApprovalLimit,
    Budget,
    ClaimProof,
    FundClaim,
    FundRequest,
    LedgerEntry,
    LedgerKind,
    RequestStatus,
)
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests.mdf import factories as m
from tests.mdf.factories import acting

pytestmark = pytest.mark.django_db


def prm_settings(**overrides: Any) -> Any:
    return override_settings(PRM={**settings.PRM, **overrides})


@pytest.fixture
def team() -> m.Team:
    return m.team("Northwind Resellers")


@pytest.fixture
def admin() -> Actor:
    return m.program_admin()


@pytest.fixture
def fin() -> Actor:
    return m.finance()


@pytest.fixture
def fund_budget() -> Budget:
    return m.budget(amount="100000.00")


@pytest.fixture
def allocation(team: m.Team, fund_budget: Budget, admin: Actor) -> Allocation:
    return m.fund(team.partner, fund_budget, "10000.00", admin)


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    return m.media_storage(settings, tmp_path / "media")


def _notified(kind: str) -> set[int]:
    return set(Notification.objects.filter(kind=kind).values_list("recipient_id", flat=True))


def _entries(fund_request: FundRequest) -> list[tuple[str, Decimal]]:
    return list(
        LedgerEntry.objects.filter(fund_request=fund_request).order_by("pk").values_list("kind", "amount")
    )


def _error(call: Callable[[], Any], actor: Actor, exc: type[Exception] = ApplicationError) -> Any:
    """Run ``call`` in ``actor``'s scope and return the error; the scope itself commits, as a view
    that catches the error and shows it would."""
    with acting(actor), pytest.raises(exc) as excinfo:
        call()
    return excinfo.value


# --- allocations ---------------------------------------------------------------------------------
def test_a_program_admin_allocates_funds_and_the_partners_marketing_people_are_told(
    team: m.Team, fund_budget: Budget, admin: Actor
) -> None:
    with acting(admin):
        entry = services.allocation_add(
            actor=admin, partner=team.partner, budget=fund_budget, amount=Decimal("12500"), memo="H2"
        )
    assert (entry.kind, entry.amount, entry.currency, entry.actor) == (
        LedgerKind.ALLOCATED,
        Decimal("12500.00"),
        "USD",
        admin.user,
    )
    allocation = Allocation.objects.get(partner=team.partner, budget=fund_budget)
    assert entry.allocation == allocation
    assert m.balances(allocation).available == Decimal("12500.00")
    assert _notified("mdf.allocated") == {team.admin.pk, team.marketing.pk}
    event = AuditEvent.objects.get(action="mdf.allocated")
    assert (event.actor, event.partner_id, event.after) == (
        admin.user,
        team.partner.pk,
        {"amount": "12500.00", "currency": "USD"},
    )


@pytest.mark.parametrize("who", ["cam", "finance", "partner_admin"])
def test_only_program_admins_allocate(team: m.Team, fund_budget: Budget, who: str) -> None:
    actor = {
        "cam": lambda: m.cam_for(team.partner),
        "finance": m.finance,
        "partner_admin": lambda: team.admin_actor,
    }[who]()
    _error(
        lambda: services.allocation_add(
            actor=actor, partner=team.partner, budget=fund_budget, amount=Decimal("100")
        ),
        actor,
        PermissionDenied,
    )
    assert LedgerEntry.objects.filter(partner=team.partner).count() == 0
    assert Allocation.objects.filter(partner=team.partner).count() == 0


def test_allocations_never_exceed_the_budget(team: m.Team, fund_budget: Budget, admin: Actor) -> None:
    other = m.team("Southwind Systems")
    m.fund(team.partner, fund_budget, "60000.00", admin)
    error = _error(
        lambda: services.allocation_add(
            actor=admin, partner=other.partner, budget=fund_budget, amount=Decimal("40000.01")
        ),
        admin,
    )
    assert str(error) == f"Only 40000.00 USD of the {fund_budget.period} budget is left to allocate."
    assert error.field == "amount"
    assert not Allocation.objects.filter(partner=other.partner).exists()
    m.fund(other.partner, fund_budget, "40000.00", admin)
    error = _error(
        lambda: services.allocation_add(
            actor=admin, partner=team.partner, budget=fund_budget, amount=Decimal("0.01")
        ),
        admin,
    )
    assert str(error).startswith("Only 0.00 USD")
    assert LedgerEntry.objects.filter(kind=LedgerKind.ALLOCATED).count() == 2


def test_a_closed_period_takes_no_allocations(team: m.Team, fund_budget: Budget, admin: Actor) -> None:
    period = fund_budget.period
    period.closed_at = timezone.now()
    period.save()
    error = _error(
        lambda: services.allocation_add(
            actor=admin, partner=team.partner, budget=fund_budget, amount=Decimal("100")
        ),
        admin,
    )
    assert str(error) == f"{period} is closed."
    assert LedgerEntry.objects.filter(partner=team.partner).count() == 0


@pytest.mark.parametrize("amount", ["0", "-10", "abc"])
def test_an_allocation_needs_a_positive_amount(
    team: m.Team, fund_budget: Budget, admin: Actor, amount: str
) -> None:
    error = _error(
        lambda: services.allocation_add(actor=admin, partner=team.partner, budget=fund_budget, amount=amount),
        admin,
    )
    assert error.field == "amount"
    assert LedgerEntry.objects.filter(partner=team.partner).count() == 0


# --- drafts --------------------------------------------------------------------------------------
def test_a_draft_is_saved_against_the_allocation_of_its_period(team: m.Team, allocation: Allocation) -> None:
    fund_request = m.draft(team.marketing_actor)
    stored = m.fresh(fund_request)
    assert re.fullmatch(r"MDF-\d{6}", stored.reference)
    assert (stored.status, stored.partner, stored.allocation, stored.requested_by) == (
        RequestStatus.DRAFT,
        team.partner,
        allocation,
        team.marketing,
    )
    assert (stored.total_cost, stored.requested_amount, stored.currency) == (
        Decimal("10000.00"),
        Decimal("4000.00"),
        "USD",
    )
    assert AuditEvent.objects.filter(action="mdf.request_drafted", target_id=str(stored.pk)).count() == 1
    assert LedgerEntry.objects.filter(fund_request=stored).count() == 0  # a draft commits nothing


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"start_date": m.today() + timedelta(days=30), "end_date": m.today() + timedelta(days=29)},
            "end_date",
            "The activity ends before it starts.",
        ),
        (
            {"total_cost": Decimal("10000.00"), "requested_amount": Decimal("5000.01")},
            "requested_amount",
            "You can request at most 50% of the cost: 5000.00 USD.",
        ),
        (
            {"start_date": m.today() + timedelta(days=400)},
            "start_date",
            "You have no marketing funds for the period of",
        ),
        ({"currency": "EUR"}, "currency", "Your funds are in USD; request in that currency."),
        ({"activity_type": "party"}, "activity_type", "Choose the activity type."),
        ({"title": "  "}, "title", "Give the activity a title."),
        ({"requested_amount": Decimal("0")}, "requested_amount", "The amount must be more than zero."),
        ({"total_cost": ""}, "total_cost", "Enter an amount."),
    ],
    ids=[
        "end-before-start",
        "over-vendor-share",
        "no-allocation",
        "wrong-currency",
        "type",
        "title",
        "zero",
        "cost",
    ],
)
def test_a_bad_draft_says_what_is_wrong_and_saves_nothing(
    team: m.Team, allocation: Allocation, data: dict, field: str, message: str
) -> None:
    actor = team.marketing_actor
    error = _error(lambda: services.request_save_draft(actor=actor, data=m.request_data(**data)), actor)
    assert error.field == field
    assert str(error).startswith(message)
    assert FundRequest.objects.filter(partner=team.partner).count() == 0
    assert AuditEvent.objects.filter(action__startswith="mdf.request").count() == 0


def test_no_allocation_in_any_currency_asks_for_funds(team: m.Team) -> None:
    actor = team.admin_actor
    error = _error(lambda: services.request_save_draft(actor=actor, data=m.request_data()), actor)
    assert error.field == "start_date"
    assert "no marketing funds" in str(error)
    assert FundRequest.objects.filter(partner=team.partner).count() == 0


def test_the_vendor_share_setting_is_honoured(team: m.Team, allocation: Allocation) -> None:
    actor = team.marketing_actor
    with prm_settings(MDF_VENDOR_SHARE_PERCENT=40):
        error = _error(
            lambda: services.request_save_draft(
                actor=actor, data=m.request_data(requested_amount=Decimal("4000.01"))
            ),
            actor,
        )
        assert str(error) == "You can request at most 40% of the cost: 4000.00 USD."
        assert FundRequest.objects.filter(partner=team.partner).count() == 0
        fund_request = m.draft(actor, requested_amount=Decimal("4000.00"))
    assert m.fresh(fund_request).requested_amount == Decimal("4000.00")
    with prm_settings(MDF_VENDOR_SHARE_PERCENT=75):
        m.draft(actor, requested_amount=Decimal("7500.00"))
    assert FundRequest.objects.filter(partner=team.partner).count() == 2


def test_a_double_clicked_save_creates_one_request(team: m.Team, allocation: Allocation) -> None:
    actor = team.marketing_actor
    key = uuid.uuid4()
    with acting(actor):
        first = services.request_save_draft(actor=actor, data=m.request_data(), submission_key=key)
        second = services.request_save_draft(actor=actor, data=m.request_data(), submission_key=key)
    assert first.pk == second.pk
    assert FundRequest.objects.filter(partner=team.partner).count() == 1
    assert AuditEvent.objects.filter(action="mdf.request_drafted").count() == 1


@pytest.mark.parametrize("role", ["sales", "learner"])
def test_sales_and_learners_do_not_request_funds(team: m.Team, allocation: Allocation, role: str) -> None:
    actor = getattr(team, f"{role}_actor")
    _error(lambda: services.request_save_draft(actor=actor, data=m.request_data()), actor, PermissionDenied)
    assert FundRequest.objects.filter(partner=team.partner).count() == 0


def test_a_returned_request_is_edited_and_submitted_again(
    team: m.Team, allocation: Allocation, admin: Actor
) -> None:
    fund_request = m.submitted(team.marketing_actor)
    with acting(admin):
        services.request_return(actor=admin, fund_request=fund_request, reason="Add the agenda")
    assert m.fresh(fund_request).status == RequestStatus.RETURNED
    actor = team.marketing_actor
    with acting(actor):
        services.request_save_draft(
            actor=actor, fund_request=fund_request, data=m.request_data(requested_amount=Decimal("3000"))
        )
    m.submit(actor, fund_request)
    stored = m.fresh(fund_request)
    assert (stored.status, stored.requested_amount) == (RequestStatus.SUBMITTED, Decimal("3000.00"))


# --- submission ----------------------------------------------------------------------------------
def test_a_request_above_the_available_funds_is_not_submitted(team: m.Team, allocation: Allocation) -> None:
    actor = team.marketing_actor
    m.approved(actor, m.program_admin(), requested_amount=Decimal("5000.00"))  # 5000.00 left
    fund_request = m.draft(
        actor, total_cost=Decimal("12000.00"), requested_amount=Decimal("5000.01"), title="Second"
    )
    error = _error(
        lambda: services.request_submit(actor=actor, fund_request=fund_request, confirm_short_notice=True),
        actor,
    )
    assert str(error) == "You request 5000.01 USD but have 5000.00 USD available."
    assert error.field == "requested_amount"
    stored = m.fresh(fund_request)
    assert (stored.status, stored.submitted_at) == (RequestStatus.DRAFT, None)


def test_short_notice_needs_confirmation(team: m.Team, allocation: Allocation, admin: Actor) -> None:
    actor = team.marketing_actor
    fund_request = m.draft(actor, start_date=m.today() + timedelta(days=3))
    error = _error(lambda: services.request_submit(actor=actor, fund_request=fund_request), actor)
    assert error.extra == {"needs_confirmation": True}
    assert "10 business days ahead" in str(error)
    stored = m.fresh(fund_request)
    assert (stored.status, stored.submitted_at, stored.short_notice_confirmed) == (
        RequestStatus.DRAFT,
        None,
        False,
    )
    assert _notified("mdf.request_submitted") == set()

    with acting(actor):
        services.request_submit(actor=actor, fund_request=fund_request, confirm_short_notice=True)
    stored = m.fresh(fund_request)
    assert stored.status == RequestStatus.SUBMITTED
    assert stored.submitted_at is not None
    assert stored.short_notice_confirmed is True
    assert admin.user.pk in _notified("mdf.request_submitted")  # no CAM: program admins review


def test_a_request_in_good_time_is_submitted_without_confirmation(
    team: m.Team, allocation: Allocation
) -> None:
    actor = team.admin_actor
    cam = m.cam_for(team.partner)
    fund_request = m.draft(actor, start_date=m.today() + timedelta(days=30))
    with acting(actor):
        services.request_submit(actor=actor, fund_request=fund_request)
    stored = m.fresh(fund_request)
    assert (stored.status, stored.short_notice_confirmed) == (RequestStatus.SUBMITTED, False)
    assert _notified("mdf.request_submitted") == {cam.user.pk}  # the partner's CAM reviews


# --- approval ------------------------------------------------------------------------------------
def test_approval_commits_exactly_the_approved_amount(
    team: m.Team, allocation: Allocation, admin: Actor
) -> None:
    fund_request = m.submitted(team.marketing_actor)
    with acting(admin):
        services.request_approve(
            actor=admin, fund_request=fund_request, amount=Decimal("3500"), comment="Trim the catering"
        )
    stored = m.fresh(fund_request)
    assert (stored.status, stored.approved_amount, stored.decided_by, stored.decision_comment) == (
        RequestStatus.APPROVED,
        Decimal("3500.00"),
        admin.user,
        "Trim the catering",
    )
    assert stored.claim_deadline == stored.end_date + timedelta(days=60)
    assert _entries(stored) == [(LedgerKind.COMMITTED, Decimal("3500.00"))]
    assert LedgerEntry.objects.get(fund_request=stored).idempotency_key == f"commit:request:{stored.pk}"
    balances = m.balances(allocation)
    assert (balances.committed, balances.available) == (Decimal("3500.00"), Decimal("6500.00"))
    event = AuditEvent.objects.get(action="mdf.request_approved", target_id=str(stored.pk))
    assert event.actor == admin.user
    assert event.before == {"status": "submitted", "approved_amount": None}
    assert event.after == {"status": "approved", "approved_amount": "3500.00"}
    assert _notified("mdf.request_approved") == {team.admin.pk, team.marketing.pk}


def test_approval_without_an_amount_approves_what_was_requested(
    team: m.Team, allocation: Allocation, admin: Actor
) -> None:
    fund_request = m.approved(team.marketing_actor, admin)
    assert m.fresh(fund_request).approved_amount == Decimal("4000.00")
    assert m.balances(allocation).available == Decimal("6000.00")


def test_approving_more_than_requested_is_refused(team: m.Team, allocation: Allocation, admin: Actor) -> None:
    fund_request = m.submitted(team.marketing_actor)
    error = _error(
        lambda: services.request_approve(actor=admin, fund_request=fund_request, amount=Decimal("4000.01")),
        admin,
    )
    assert "cannot exceed the 4000.00 USD requested" in str(error)
    assert m.fresh(fund_request).status == RequestStatus.SUBMITTED
    assert LedgerEntry.objects.filter(kind=LedgerKind.COMMITTED).count() == 0


def test_approving_more_than_is_available_is_refused(
    team: m.Team, allocation: Allocation, admin: Actor
) -> None:
    actor = team.marketing_actor
    first = m.submitted(actor, requested_amount=Decimal("4000.00"))
    second = m.submitted(actor, total_cost=Decimal("14000.00"), requested_amount=Decimal("7000.00"))
    m.approve(admin, first)  # 6000.00 left
    error = _error(lambda: services.request_approve(actor=admin, fund_request=second), admin)
    assert str(error) == (
        f"{second.reference}: Northwind Resellers has only 6000.00 USD available; approve less or reject."
    )
    assert m.fresh(second).status == RequestStatus.SUBMITTED
    assert _entries(second) == []
    assert m.balances(allocation).available == Decimal("6000.00")
    m.approve(admin, second, "6000.00")  # approving less is the way out
    assert m.balances(allocation).available == Decimal("0.00")


def test_a_cam_outside_the_portfolio_cannot_approve(team: m.Team, allocation: Allocation) -> None:
    stranger = m.cam_for(m.team("Other Co").partner)
    fund_request = m.submitted(team.marketing_actor)
    _error(
        lambda: services.request_approve(actor=stranger, fund_request=fund_request),
        stranger,
        PermissionDenied,
    )
    assert m.fresh(fund_request).status == RequestStatus.SUBMITTED
    assert LedgerEntry.objects.filter(kind=LedgerKind.COMMITTED).count() == 0


def test_the_partners_cam_approves_within_the_default_limit(team: m.Team, allocation: Allocation) -> None:
    cam = m.cam_for(team.partner)
    fund_request = m.approved(team.marketing_actor, cam)
    assert (m.fresh(fund_request).status, m.fresh(fund_request).decided_by) == (
        RequestStatus.APPROVED,
        cam.user,
    )


def _big_request(team: m.Team, fund_budget: Budget, admin: Actor) -> FundRequest:
    m.fund(team.partner, fund_budget, "20000.00", admin)  # 30000.00 in all
    return m.submitted(
        team.marketing_actor, total_cost=Decimal("30000.00"), requested_amount=Decimal("12000.00")
    )


def test_a_cam_above_the_default_limit_passes_the_request_to_a_program_admin(
    team: m.Team, allocation: Allocation, fund_budget: Budget, admin: Actor
) -> None:
    assert settings.PRM["MDF_DEFAULT_CAM_APPROVAL_LIMIT"] == 10000
    cam = m.cam_for(team.partner)
    program_admins = set(
        get_user_model().objects.filter(vendor_role=VendorRole.PROGRAM_ADMIN).values_list("pk", flat=True)
    )
    fund_request = _big_request(team, fund_budget, admin)
    # Approving alone refuses, writing nothing (the caller may be inside a savepoint) ...
    error = _error(lambda: services.request_approve(actor=cam, fund_request=fund_request), cam)
    assert isinstance(error, services.ApprovalLimitExceeded)
    assert "above your approval limit of 10,000.00" in str(error)
    assert m.fresh(fund_request).needs_program_admin is False
    # ... what the admin and views call passes the request on to the program admins.
    with acting(cam):
        outcome = services.request_approve_or_escalate(actor=cam, fund_request=fund_request)
    assert outcome == "escalated"
    stored = m.fresh(fund_request)
    assert (stored.status, stored.needs_program_admin, stored.approved_amount) == (
        RequestStatus.SUBMITTED,
        True,
        None,
    )
    assert _entries(stored) == []
    assert _notified("mdf.request_escalated") == program_admins
    assert cam.user.pk not in program_admins

    m.approve(admin, fund_request)
    stored = m.fresh(fund_request)
    assert (stored.status, stored.approved_amount, stored.decided_by) == (
        RequestStatus.APPROVED,
        Decimal("12000.00"),
        admin.user,
    )
    assert _entries(stored) == [(LedgerKind.COMMITTED, Decimal("12000.00"))]


def test_an_escalation_survives_a_caller_that_runs_the_approval_in_its_own_savepoint(
    team: m.Team, allocation: Allocation, fund_budget: Budget, admin: Actor
) -> None:
    """An admin action approving several selected requests, a task or an API call runs each
    service call in its own savepoint; the escalation must survive it (it is written by
    request_escalate after the refused approval, never by a call that then raises)."""
    cam = m.cam_for(team.partner)
    fund_request = _big_request(team, fund_budget, admin)
    with acting(cam), transaction.atomic():  # the caller's own savepoint, as an admin action has
        outcome = services.request_approve_or_escalate(actor=cam, fund_request=fund_request)
    assert outcome == "escalated"
    stored = m.fresh(fund_request)
    assert stored.status == RequestStatus.SUBMITTED
    assert stored.needs_program_admin is True, "the escalation was rolled back with the caller's savepoint"
    assert admin.user.pk in _notified("mdf.request_escalated")


def test_an_approval_limit_row_overrides_the_default(team: m.Team, allocation: Allocation) -> None:
    cam = m.cam_for(team.partner)
    ApprovalLimit.objects.create(user=cam.user, amount=Decimal("2000.00"), currency="USD")
    fund_request = m.submitted(team.marketing_actor)  # 4000.00 requested
    error = _error(lambda: services.request_approve(actor=cam, fund_request=fund_request), cam)
    assert "above your approval limit of 2,000.00" in str(error)
    with acting(cam):
        assert services.request_approve_or_escalate(actor=cam, fund_request=fund_request) == "escalated"
    assert m.fresh(fund_request).needs_program_admin is True
    assert _entries(fund_request) == []
    m.approve(cam, fund_request, "2000.00")  # a lower amount within the limit is the CAM's call
    assert m.fresh(fund_request).approved_amount == Decimal("2000.00")


@pytest.mark.parametrize("decision", ["reject", "return"])
def test_rejecting_or_returning_needs_a_reason(
    team: m.Team, allocation: Allocation, admin: Actor, decision: str
) -> None:
    call = getattr(services, f"request_{decision}")
    fund_request = m.submitted(team.marketing_actor)
    error = _error(lambda: call(actor=admin, fund_request=fund_request, reason="   "), admin)
    assert error.field == "reason"
    assert m.fresh(fund_request).status == RequestStatus.SUBMITTED
    with acting(admin):
        call(actor=admin, fund_request=fund_request, reason="Not in the plan")
    stored = m.fresh(fund_request)
    expected = RequestStatus.REJECTED if decision == "reject" else RequestStatus.RETURNED
    assert (stored.status, stored.decision_comment, stored.decided_by) == (
        expected,
        "Not in the plan",
        admin.user,
    )
    kind = "mdf.request_rejected" if decision == "reject" else "mdf.request_returned"
    assert _notified(kind) == {team.admin.pk, team.marketing.pk}
    assert Notification.objects.get(kind=kind, recipient=team.marketing).body == "Not in the plan"
    assert _entries(stored) == []


# --- every invalid transition raises and changes nothing ---------------------------------------
def _state(team: m.Team, admin: Actor, fin: Actor, state: str) -> FundRequest:
    actor = team.marketing_actor
    fund_request = m.draft(actor, **m.past_dates())
    if state == "draft":
        return fund_request
    m.submit(actor, fund_request)
    if state == "submitted":
        return fund_request
    if state == "rejected":
        with acting(admin):
            services.request_reject(actor=admin, fund_request=fund_request, reason="No")
        return fund_request
    m.approve(admin, fund_request)
    if state == "approved":
        return fund_request
    claim = m.claim(actor, fund_request)
    if state == "claim_submitted":
        return fund_request
    with acting(fin):
        services.claim_approve(actor=fin, claim=claim)
    if state == "claim_approved":
        return fund_request
    # Four eyes: someone other than the approver confirms the payment.
    with acting(admin):
        services.claim_mark_paid(actor=admin, claim=claim, payment_reference="PAY-1")
    assert state == "paid"
    return fund_request


def _do(action: str, team: m.Team, admin: Actor, fin: Actor, fund_request: FundRequest) -> None:
    partner = team.marketing_actor
    claim = FundClaim.objects.filter(fund_request=fund_request).first()
    calls: dict[str, tuple[Actor, Callable[[], Any]]] = {
        "approve": (admin, lambda: services.request_approve(actor=admin, fund_request=fund_request)),
        "reject": (
            admin,
            lambda: services.request_reject(actor=admin, fund_request=fund_request, reason="x"),
        ),
        "return": (
            admin,
            lambda: services.request_return(actor=admin, fund_request=fund_request, reason="x"),
        ),
        "submit": (
            partner,
            lambda: services.request_submit(
                actor=partner, fund_request=fund_request, confirm_short_notice=True
            ),
        ),
        "edit": (
            partner,
            lambda: services.request_save_draft(
                actor=partner, fund_request=fund_request, data=m.request_data(**m.past_dates())
            ),
        ),
        "claim": (
            partner,
            lambda: services.claim_submit(
                actor=partner, fund_request=fund_request, data=m.claim_data(), files=[m.pdf()]
            ),
        ),
        "claim_approve": (fin, lambda: services.claim_approve(actor=fin, claim=claim)),
        "claim_reject": (fin, lambda: services.claim_reject(actor=fin, claim=claim, reason="x")),
        "mark_paid": (fin, lambda: services.claim_mark_paid(actor=fin, claim=claim)),
    }
    actor, call = calls[action]
    _error(call, actor)


def _snapshot(fund_request: FundRequest) -> dict[str, Any]:
    stored = m.fresh(fund_request)
    return {
        "request": (
            stored.status,
            stored.approved_amount,
            stored.decided_at,
            stored.claim_deadline,
            stored.requested_amount,
            stored.start_date,
        ),
        "claims": list(
            FundClaim.objects.values_list(
                "pk", "approved_amount", "reviewed_at", "paid_at", "rejection_reason"
            )
        ),
        "proofs": ClaimProof.objects.count(),
        "ledger": list(LedgerEntry.objects.values_list("pk", "kind", "amount")),
        "audit": AuditEvent.objects.count(),
        "notifications": Notification.objects.count(),
    }


@pytest.mark.parametrize(
    ("state", "action"),
    [
        ("draft", "approve"),
        ("draft", "reject"),
        ("draft", "return"),
        ("draft", "claim"),
        ("submitted", "claim"),
        ("submitted", "edit"),
        ("approved", "approve"),
        ("approved", "reject"),
        ("approved", "return"),
        ("approved", "submit"),
        ("approved", "edit"),
        ("rejected", "approve"),
        ("rejected", "submit"),
        ("rejected", "claim"),
        ("claim_submitted", "claim"),
        ("claim_submitted", "approve"),
        ("claim_submitted", "mark_paid"),
        ("claim_approved", "claim_approve"),
        ("claim_approved", "claim_reject"),
        ("claim_approved", "claim"),
        ("paid", "mark_paid"),
        ("paid", "claim_approve"),
        ("paid", "claim_reject"),
    ],
)
def test_an_invalid_transition_raises_and_changes_nothing(
    team: m.Team, allocation: Allocation, admin: Actor, fin: Actor, media: Path, state: str, action: str
) -> None:
    fund_request = _state(team, admin, fin, state)
    before = _snapshot(fund_request)
    files_before = m.stored_files(media)
    _do(action, team, admin, fin, fund_request)
    assert _snapshot(fund_request) == before
    assert m.stored_files(media) == files_before


# --- claims --------------------------------------------------------------------------------------
@pytest.fixture
def ended(team: m.Team, allocation: Allocation, admin: Actor) -> FundRequest:
    """An approved request for 4000.00 whose activity ended five days ago."""
    return m.approved(team.marketing_actor, admin, **m.past_dates())


def _claim_error(team: m.Team, fund_request: FundRequest, files: list | None = None, **data: Any) -> Any:
    actor = team.marketing_actor
    return _error(
        lambda: services.claim_submit(
            actor=actor,
            fund_request=fund_request,
            data=m.claim_data(**data),
            files=[m.pdf()] if files is None else files,
        ),
        actor,
    )


def _nothing_claimed(fund_request: FundRequest, media: Path) -> None:
    assert not FundClaim.objects.filter(fund_request=fund_request).exists()
    assert not ClaimProof.objects.filter(partner_id=fund_request.partner_id).exists()
    assert m.fresh(fund_request).status == RequestStatus.APPROVED
    assert m.stored_files(media) == []
    assert not default_storage.exists(f"partners/{fund_request.partner_id}")


def test_a_claim_before_the_activity_ended_is_refused(
    team: m.Team, allocation: Allocation, admin: Actor, media: Path
) -> None:
    fund_request = m.approved(team.marketing_actor, admin)  # starts in 30 days
    error = _claim_error(team, fund_request)
    assert (
        str(error)
        == f"Claim after the activity has ended ({date_format(fund_request.end_date, 'DATE_FORMAT')})."
    )
    _nothing_claimed(fund_request, media)


def test_a_claim_after_the_deadline_is_refused(
    team: m.Team, allocation: Allocation, admin: Actor, media: Path
) -> None:
    fund_request = m.approved(team.marketing_actor, admin, **m.past_dates(ended_days_ago=61))
    deadline = m.fresh(fund_request).claim_deadline
    assert deadline == m.today() - timedelta(days=1)
    error = _claim_error(team, fund_request)
    assert str(error) == f"The claim deadline ({date_format(deadline, 'DATE_FORMAT')}) has passed."
    _nothing_claimed(fund_request, media)


def test_a_claim_on_the_deadline_is_accepted(
    team: m.Team, allocation: Allocation, admin: Actor, media: Path
) -> None:
    fund_request = m.approved(team.marketing_actor, admin, **m.past_dates(ended_days_ago=60))
    assert m.fresh(fund_request).claim_deadline == m.today()
    m.claim(team.marketing_actor, fund_request)
    assert m.fresh(fund_request).status == RequestStatus.CLAIM_SUBMITTED


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"actual_cost": Decimal("20000.00"), "claimed_amount": Decimal("4000.01")},
            "You can claim at most the 4000.00 USD approved.",
        ),
        (
            {"actual_cost": Decimal("7999.98"), "claimed_amount": Decimal("4000.00")},
            "You can claim at most 50% of the actual cost.",
        ),
    ],
    ids=["over-approved", "over-share-of-actual-cost"],
)
def test_a_claim_over_its_limits_is_refused(
    team: m.Team, ended: FundRequest, media: Path, data: dict, message: str
) -> None:
    error = _claim_error(team, ended, **data)
    assert (str(error), error.field) == (message, "claimed_amount")
    _nothing_claimed(ended, media)


def test_a_claim_needs_proof(team: m.Team, ended: FundRequest, media: Path) -> None:
    error = _claim_error(team, ended, files=[])
    assert error.field == "files"
    assert "Attach proof of performance" in str(error)
    _nothing_claimed(ended, media)


def test_a_file_that_is_not_really_a_pdf_is_refused_and_nothing_is_stored(
    team: m.Team, ended: FundRequest, media: Path
) -> None:
    fake = SimpleUploadedFile("invoice.pdf", m.HTML_BYTES, content_type="application/pdf")
    error = _claim_error(team, ended, files=[m.png("booth.png"), fake])
    assert error.field == "files"
    assert str(error).startswith("invoice.pdf is not a file type we accept.")
    _nothing_claimed(ended, media)


def test_a_png_with_a_broken_body_is_refused(team: m.Team, ended: FundRequest, media: Path) -> None:
    broken = SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, content_type="image/png")
    error = _claim_error(team, ended, files=[broken])
    assert str(error) == "photo.png is not a readable image."
    _nothing_claimed(ended, media)


def test_an_oversize_file_is_refused_with_the_limit(team: m.Team, ended: FundRequest, media: Path) -> None:
    big = m.pdf("scan.pdf", m.PDF_BYTES + b"0" * 2000)
    with prm_settings(UPLOAD_MAX_BYTES=1000):
        error = _claim_error(team, ended, files=[m.pdf("small.pdf"), big])
    assert error.field == "files"
    assert str(error).startswith("scan.pdf is ")
    assert str(error).endswith(f"files may be at most {filesizeformat(1000)}.")
    _nothing_claimed(ended, media)


def test_valid_proof_is_stored_under_the_partners_prefix_with_random_names(
    team: m.Team, ended: FundRequest, fin: Actor, media: Path
) -> None:
    claim = m.claim(
        team.marketing_actor, ended, files=[m.pdf("Invoice 2026-11.pdf"), m.png("booth photo.png")]
    )
    stored = FundClaim.objects.get(pk=claim.pk)
    assert (stored.partner_id, stored.submitted_by, stored.actual_cost, stored.claimed_amount) == (
        team.partner.pk,
        team.marketing,
        Decimal("9000.00"),
        Decimal("4000.00"),
    )
    assert (stored.leads_generated, stored.attendees) == (31, 120)
    proofs = list(ClaimProof.objects.filter(claim=claim).order_by("pk"))
    assert [(p.original_name, p.content_type, p.partner_id) for p in proofs] == [
        ("Invoice 2026-11.pdf", "application/pdf", team.partner.pk),
        ("booth photo.png", "image/png", team.partner.pk),
    ]
    prefix = f"partners/{team.partner.pk}/mdf/claims/{claim.pk}/"
    for proof, extension in zip(proofs, ["pdf", "png"], strict=True):
        assert re.fullmatch(re.escape(prefix) + r"[0-9a-f]{32}\." + extension, proof.file.name), (
            proof.file.name
        )
        assert default_storage.exists(proof.file.name)
        assert proof.size == default_storage.size(proof.file.name)
    with default_storage.open(proofs[0].file.name) as handle:
        assert handle.read() == m.PDF_BYTES
    assert m.stored_files(media) == sorted(p.file.name for p in proofs)
    assert m.fresh(ended).status == RequestStatus.CLAIM_SUBMITTED
    assert _notified("mdf.claim_submitted") == {fin.user.pk}


def test_finance_approves_a_claim_for_less_and_the_difference_is_available_again(
    team: m.Team, allocation: Allocation, ended: FundRequest, fin: Actor, media: Path
) -> None:
    claim = m.claim(team.marketing_actor, ended)  # 4000.00 claimed of 4000.00 pre-approved
    before = m.balances(allocation)
    assert (before.committed, before.claimed, before.available) == (
        Decimal("4000.00"),
        Decimal("0.00"),
        Decimal("6000.00"),
    )
    with acting(fin):
        services.claim_approve(actor=fin, claim=claim, amount=Decimal("3000.00"))
    after = m.balances(allocation)
    assert (after.committed, after.claimed, after.available, after.payable) == (
        Decimal("0.00"),
        Decimal("3000.00"),
        Decimal("7000.00"),
        Decimal("3000.00"),
    )
    assert after.available - before.available == Decimal("1000.00")
    assert _entries(ended) == [
        (LedgerKind.COMMITTED, Decimal("4000.00")),
        (LedgerKind.RELEASED, Decimal("4000.00")),
        (LedgerKind.CLAIMED, Decimal("3000.00")),
    ]
    stored = FundClaim.objects.get(pk=claim.pk)
    assert (stored.approved_amount, stored.reviewed_by) == (Decimal("3000.00"), fin.user)
    assert m.fresh(ended).status == RequestStatus.CLAIM_APPROVED
    assert _notified("mdf.claim_approved") == {team.admin.pk, team.marketing.pk}


def test_a_claim_is_approved_for_at_most_the_smaller_of_pre_approved_and_claimed(
    team: m.Team, allocation: Allocation, ended: FundRequest, fin: Actor, media: Path
) -> None:
    claim = m.claim(team.marketing_actor, ended, claimed_amount=Decimal("3500.00"))
    error = _error(lambda: services.claim_approve(actor=fin, claim=claim, amount=Decimal("3500.01")), fin)
    assert str(error).startswith("Approve at most 3500.00 USD")
    assert _entries(ended) == [(LedgerKind.COMMITTED, Decimal("4000.00"))]
    assert m.fresh(ended).status == RequestStatus.CLAIM_SUBMITTED
    with acting(fin):
        services.claim_approve(actor=fin, claim=claim)  # no amount: what was claimed
    assert FundClaim.objects.get(pk=claim.pk).approved_amount == Decimal("3500.00")
    assert m.balances(allocation).available == Decimal("6500.00")


def test_rejecting_a_claim_releases_the_commitment(
    team: m.Team, allocation: Allocation, ended: FundRequest, fin: Actor, media: Path
) -> None:
    claim = m.claim(team.marketing_actor, ended)
    error = _error(lambda: services.claim_reject(actor=fin, claim=claim, reason=""), fin)
    assert error.field == "reason"
    assert m.balances(allocation).available == Decimal("6000.00")
    with acting(fin):
        services.claim_reject(actor=fin, claim=claim, reason="The invoice is for another event")
    balances = m.balances(allocation)
    assert (balances.committed, balances.claimed, balances.available) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("10000.00"),
    )
    assert _entries(ended) == [
        (LedgerKind.COMMITTED, Decimal("4000.00")),
        (LedgerKind.RELEASED, Decimal("4000.00")),
    ]
    assert m.fresh(ended).status == RequestStatus.CLAIM_REJECTED
    assert FundClaim.objects.get(pk=claim.pk).rejection_reason == "The invoice is for another event"


def test_marking_a_claim_paid_keeps_available_and_happens_once(
    team: m.Team, allocation: Allocation, ended: FundRequest, fin: Actor, media: Path
) -> None:
    claim = m.claim(team.marketing_actor, ended)
    with acting(fin):
        services.claim_approve(actor=fin, claim=claim, amount=Decimal("3000.00"))
    before = m.balances(allocation)
    payer = m.finance()  # four eyes: not the approver
    with acting(payer):
        services.claim_mark_paid(actor=payer, claim=claim, payment_reference="PAY-2026-0042")
    after = m.balances(allocation)
    assert after.available == before.available == Decimal("7000.00")
    assert (before.payable, after.payable, after.paid) == (
        Decimal("3000.00"),
        Decimal("0.00"),
        Decimal("3000.00"),
    )
    stored = FundClaim.objects.get(pk=claim.pk)
    assert (stored.paid_by, stored.payment_reference) == (payer.user, "PAY-2026-0042")
    assert stored.paid_at is not None
    assert m.fresh(ended).status == RequestStatus.PAID
    _error(lambda: services.claim_mark_paid(actor=fin, claim=claim, payment_reference="again"), fin)
    assert LedgerEntry.objects.filter(kind=LedgerKind.PAID).count() == 1
    assert FundClaim.objects.get(pk=claim.pk).payment_reference == "PAY-2026-0042"
    assert m.balances(allocation).paid == Decimal("3000.00")


def test_the_approver_of_a_claim_cannot_also_mark_it_paid(
    team: m.Team, allocation: Allocation, ended: FundRequest, fin: Actor, media: Path
) -> None:
    claim = m.claim(team.marketing_actor, ended)
    with acting(fin):
        services.claim_approve(actor=fin, claim=claim)
    error = _error(lambda: services.claim_mark_paid(actor=fin, claim=claim, payment_reference="P-1"), fin)
    assert error.message == (
        f"You approved the claim for {ended.reference}, so another finance user must mark it paid "
        "(four-eyes rule)."
    )
    assert m.fresh(ended).status == RequestStatus.CLAIM_APPROVED
    assert not LedgerEntry.objects.filter(kind=LedgerKind.PAID).exists()
    other = m.finance()
    with acting(other):
        services.claim_mark_paid(actor=other, claim=claim, payment_reference="P-1")
    assert FundClaim.objects.get(pk=claim.pk).paid_by == other.user
    assert m.fresh(ended).status == RequestStatus.PAID


def test_without_the_four_eyes_rule_the_approver_may_mark_the_claim_paid(
    team: m.Team, allocation: Allocation, ended: FundRequest, fin: Actor, media: Path
) -> None:
    claim = m.claim(team.marketing_actor, ended)
    with override_settings(PRM={**settings.PRM, "SETTLEMENT_FOUR_EYES": False}), acting(fin):
        services.claim_approve(actor=fin, claim=claim)
        services.claim_mark_paid(actor=fin, claim=claim, payment_reference="P-1")
    assert FundClaim.objects.get(pk=claim.pk).paid_by == fin.user
    assert m.fresh(ended).status == RequestStatus.PAID


@pytest.mark.parametrize("who", ["cam", "partner_admin"])
def test_only_finance_and_program_admins_review_claims(
    team: m.Team, allocation: Allocation, ended: FundRequest, media: Path, who: str
) -> None:
    actor = m.cam_for(team.partner) if who == "cam" else team.admin_actor
    claim = m.claim(team.marketing_actor, ended)
    _error(lambda: services.claim_approve(actor=actor, claim=claim), actor, PermissionDenied)
    _error(lambda: services.claim_reject(actor=actor, claim=claim, reason="no"), actor, PermissionDenied)
    _error(lambda: services.claim_mark_paid(actor=actor, claim=claim), actor, PermissionDenied)
    assert m.fresh(ended).status == RequestStatus.CLAIM_SUBMITTED
    assert _entries(ended) == [(LedgerKind.COMMITTED, Decimal("4000.00"))]


def test_sales_users_cannot_claim(team: m.Team, ended: FundRequest, media: Path) -> None:
    actor = team.sales_actor
    _error(
        lambda: services.claim_submit(actor=actor, fund_request=ended, data=m.claim_data(), files=[m.pdf()]),
        actor,
        PermissionDenied,
    )
    _nothing_claimed(ended, media)


def test_too_many_files_are_refused(team: m.Team, ended: FundRequest, media: Path) -> None:
    with prm_settings(MDF_MAX_PROOF_FILES=2):
        error = _claim_error(team, ended, files=[m.pdf("a.pdf"), m.pdf("b.pdf"), m.png("c.png")])
    assert (str(error), error.field) == ("Attach at most 2 files.", "files")
    _nothing_claimed(ended, media)


def test_a_negative_lead_count_is_refused_and_never_answered_with_another_request(
    team: m.Team, allocation: Allocation
) -> None:
    actor = team.marketing_actor
    earlier = m.draft(actor, title="Earlier draft")
    with acting(actor):
        try:
            answer = services.request_save_draft(
                actor=actor, data=m.request_data(title="New", expected_leads=-5)
            )
        except ApplicationError as exc:
            answer = exc
    assert not isinstance(answer, FundRequest), (
        f"saving a new draft returned {answer} (the earlier draft {earlier.reference}) instead of an error"
    )
    assert answer.field == "expected_leads"
    assert list(FundRequest.objects.filter(partner=team.partner).values_list("title", flat=True)) == [
        "Earlier draft"
    ]
