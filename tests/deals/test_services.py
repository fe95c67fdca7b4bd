"""Deal registration services: drafts, submission, review, extensions, won / lost / expired.

Every transition is checked, audited with before/after, and notifies; every refused transition
changes nothing at all."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from deals import services
from deals.models import (
    ConflictStatus,
    Deal,
    DealExtensionRequest,
    DealLine,
    DealStatus,
    ExtensionStatus,
)
from deals.signals import deal_won
from prm import audit
from prm.calendar import add_business_days
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import system_scope
from tests import factories
from tests.deals import factories as f

pytestmark = pytest.mark.django_db

STATE_FIELDS = [
    "status",
    "conflict_status",
    "submitted_at",
    "reviewed_by_id",
    "decision_reason",
    "protection_expires_at",
    "discount_percent",
    "extensions_used",
    "won_amount",
    "closed_on",
    "lost_reason",
    "updated_at",
]


# --- helpers -------------------------------------------------------------------------------------
def _state(deal: Deal) -> dict[str, Any]:
    fresh = Deal.objects.get(pk=deal.pk)
    return {name: getattr(fresh, name) for name in STATE_FIELDS}


def _events(deal: Deal) -> list[AuditEvent]:
    return sorted(audit.history_for(target=deal), key=lambda event: event.pk)


def _actions(deal: Deal) -> list[str]:
    return [event.action for event in _events(deal)]


def _last(deal: Deal, action: str) -> AuditEvent:
    return [event for event in _events(deal) if event.action == action][-1]


def _recipients(kind: str) -> list[int]:
    return sorted(Notification.objects.filter(kind=kind).values_list("recipient_id", flat=True))


def _approve(reviewer: Any, deal: Deal) -> Deal:
    with f.acting(reviewer):
        return services.deal_approve(actor=reviewer, deal=deal)


def _mark_won(actor: Any, deal: Deal, amount: str = "1050.50", closed_on: Any = None) -> Deal:
    with f.acting(actor):
        return services.deal_mark_won(
            actor=actor, deal=deal, won_amount=Decimal(amount), closed_on=closed_on or timezone.localdate()
        )


def _request_extension(actor: Any, deal: Deal, reason: str = "Customer's budget moved a quarter") -> Any:
    with f.acting(actor):
        return services.deal_request_extension(actor=actor, deal=deal, reason=reason)


def _decide_extension(reviewer: Any, extension: Any, approve: bool, reason: str = "") -> Any:
    with f.acting(reviewer):
        return services.extension_decide(actor=reviewer, extension=extension, approve=approve, reason=reason)


# --- drafts --------------------------------------------------------------------------------------
def test_draft_computes_line_amounts_and_total_exactly(team_a: f.Team) -> None:
    firewall, cable = f.product("Firewall X"), f.product("Patch cable", price="0.15")
    deal = f.draft(
        team_a.sales_actor,
        lines=[f.line(firewall, 3, "19.99"), f.line(cable, 7, "0.15"), f.line(firewall, 1, "0.005")],
    )
    lines = list(DealLine.objects.filter(deal=deal).order_by("pk"))
    assert [(line.quantity, line.unit_price, line.amount) for line in lines] == [
        (3, Decimal("19.99"), Decimal("59.97")),
        (7, Decimal("0.15"), Decimal("1.05")),
        (1, Decimal("0.00"), Decimal("0.00")),  # half-even: 0.005 -> 0.00
    ]
    assert {line.partner_id for line in lines} == {team_a.partner.pk}
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.amount == Decimal("61.02")
    assert str(fresh.amount) == "61.02"
    assert fresh.status == DealStatus.DRAFT
    assert fresh.registered_by == team_a.sales
    assert fresh.partner == team_a.partner
    assert fresh.reference.startswith("DR-")
    assert _actions(deal) == ["deal.drafted"]


def test_draft_update_replaces_the_lines_and_recomputes(team_a: f.Team) -> None:
    firewall = f.product("Firewall X")
    deal = f.draft(team_a.sales_actor, lines=[f.line(firewall, 3, "19.99")])
    with f.acting(team_a.sales_actor):
        services.deal_save_draft(
            actor=team_a.sales_actor,
            deal=deal,
            data=f.deal_data(),
            lines=[f.line(firewall, 10, "1000.10")],
        )
    assert list(DealLine.objects.filter(deal=deal).values_list("quantity", "amount")) == [
        (10, Decimal("10001.00"))
    ]
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("10001.00")


def test_draft_normalises_domain_and_customer_key(team_a: f.Team) -> None:
    deal = f.draft(team_a.sales_actor, customer="ACME Corporation Ltd.", domain="https://www.Acme.com/path")
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.customer_domain == "acme.com"
    assert fresh.customer_key == "acme"
    assert fresh.customer_name == "ACME Corporation Ltd."


def test_the_same_submission_key_returns_the_same_deal(team_a: f.Team) -> None:
    key = uuid.uuid4()
    firewall = f.product()
    actor = team_a.sales_actor
    with f.acting(actor):
        first = services.deal_save_draft(
            actor=actor, data=f.deal_data(), lines=[f.line(firewall, 2)], submission_key=key
        )
        second = services.deal_save_draft(
            actor=actor, data=f.deal_data(), lines=[f.line(firewall, 2)], submission_key=key
        )
    assert second.pk == first.pk
    assert Deal.objects.filter(partner=team_a.partner).count() == 1
    assert DealLine.objects.filter(deal=first).count() == 1
    assert _actions(first) == ["deal.drafted"]


def test_a_draft_with_a_bad_line_saves_nothing(team_a: f.Team) -> None:
    """The service must not leave a deal without its lines behind when a line is refused (the
    request commits after the view shows the error)."""
    retired = f.product("Retired router", active=False)
    with (
        f.acting(team_a.sales_actor),
        pytest.raises(ApplicationError, match="Line 1: choose an active product"),
    ):
        services.deal_save_draft(actor=team_a.sales_actor, data=f.deal_data(), lines=[f.line(retired, 1)])
    assert Deal.objects.filter(partner=team_a.partner).count() == 0
    assert AuditEvent.objects.filter(action="deal.drafted").count() == 0


def test_a_double_clicked_submit_is_one_submission(team_a: f.Team, cam: Any) -> None:
    deal = f.draft(team_a.sales_actor)
    first = f.submit(team_a.sales_actor, deal)
    second = f.submit(team_a.sales_actor, deal)
    assert first.pk == second.pk == deal.pk
    assert _actions(deal) == ["deal.drafted", "deal.submitted"]
    assert _recipients("deal.submitted") == [cam.user.pk]


# --- submission validation ---------------------------------------------------------------------
def _past_close(team: f.Team) -> Deal:
    return f.draft(team.sales_actor, expected_close_date=timezone.localdate() - timedelta(days=1))


def _no_domain(team: f.Team) -> Deal:
    return f.draft(team.sales_actor, domain="")


def _bad_domain(team: f.Team) -> Deal:
    return f.draft(team.sales_actor, domain="not a domain")


def _no_lines(team: f.Team) -> Deal:
    return f.draft(team.sales_actor, lines=[])


def _zero_amount(team: f.Team) -> Deal:
    return f.draft(team.sales_actor, lines=[f.line(f.product(), 3, "0")])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_past_close, "The expected close date is in the past."),
        (_no_domain, "Enter the customer's website domain."),
        (_bad_domain, "“not a domain” is not a website domain"),
        (_no_lines, "Add at least one product line."),
        (_zero_amount, "The deal's amount must be more than zero."),
    ],
    ids=["past-close-date", "missing-domain", "invalid-domain", "no-lines", "zero-amount"],
)
def test_submission_validation(team_a: f.Team, cam: Any, make: Callable, message: str) -> None:
    deal = make(team_a)
    before = _state(deal)
    with f.acting(team_a.sales_actor), pytest.raises(ApplicationError) as excinfo:
        services.deal_submit(actor=team_a.sales_actor, deal=deal)
    assert type(excinfo.value) is ApplicationError
    assert message in str(excinfo.value)
    assert excinfo.value.extra["problems"]
    assert _state(deal) == before
    assert before["status"] == DealStatus.DRAFT
    assert Deal.objects.get(pk=deal.pk).review_due_at is None
    assert _actions(deal) == ["deal.drafted"]
    assert Notification.objects.filter(kind="deal.submitted").count() == 0


def test_submission_reports_every_problem_at_once(team_a: f.Team) -> None:
    deal = f.draft(
        team_a.sales_actor, domain="", lines=[], expected_close_date=timezone.localdate() - timedelta(days=3)
    )
    with pytest.raises(ApplicationError) as excinfo:
        f.submit(team_a.sales_actor, deal)
    assert len(excinfo.value.extra["problems"]) == 3


# --- allowed transitions: audit and notifications ----------------------------------------------
def test_lifecycle_draft_to_won_is_audited_and_notifies(team_a: f.Team, cam: Any) -> None:
    sales = team_a.sales_actor
    deal = f.draft(sales)

    f.submit(sales, deal)
    submitted = _last(deal, "deal.submitted")
    assert submitted.before == {"status": "draft", "conflict_status": "none"}
    assert submitted.after == {"status": "submitted", "conflict_status": "none"}
    assert submitted.actor == team_a.sales
    assert submitted.partner_id == team_a.partner.pk
    assert _recipients("deal.submitted") == [cam.user.pk]

    with f.acting(cam):
        services.deal_return_for_info(actor=cam, deal=deal, reason="Which department buys?")
    returned = _last(deal, "deal.returned")
    assert (returned.before, returned.after) == ({"status": "submitted"}, {"status": "returned"})
    assert returned.reason == "Which department buys?"
    assert returned.actor == cam.user
    assert _recipients("deal.returned") == sorted([team_a.sales.pk, team_a.admin.pk])
    assert set(Notification.objects.filter(kind="deal.returned").values_list("body", flat=True)) == {
        "Which department buys?"
    }
    assert Deal.objects.get(pk=deal.pk).decision_reason == "Which department buys?"

    with f.acting(sales):
        services.deal_save_draft(
            actor=sales, deal=deal, data=f.deal_data(notes="Procurement"), lines=[f.line(f.product(), 4)]
        )
    f.submit(sales, deal)
    resubmitted = _last(deal, "deal.submitted")
    assert resubmitted.before == {"status": "returned", "conflict_status": "none"}
    assert resubmitted.after == {"status": "submitted", "conflict_status": "none"}
    assert _recipients("deal.submitted") == [cam.user.pk, cam.user.pk]

    _approve(cam, deal)
    approved = _last(deal, "deal.approved")
    assert approved.before == {"status": "submitted", "protection_expires_at": None, "discount_percent": None}
    assert approved.after["status"] == "approved"
    assert approved.after["discount_percent"] == "15.00"
    assert (
        approved.after["protection_expires_at"]
        == Deal.objects.get(pk=deal.pk).protection_expires_at.isoformat()
    )
    assert _recipients("deal.approved") == sorted([team_a.sales.pk, team_a.admin.pk])

    # Registered at 400.00: 420.50 is within the tolerance, so the win counts at once.
    _mark_won(sales, deal, "420.50")
    won = _last(deal, "deal.won")
    assert won.before == {"status": "approved", "won_amount": None, "closed_on": None}
    assert won.after == {
        "status": "won",
        "won_amount": "420.50",
        "closed_on": timezone.localdate().isoformat(),
    }
    assert _recipients("deal.won") == [cam.user.pk]

    assert _actions(deal) == [
        "deal.drafted",
        "deal.submitted",
        "deal.returned",
        "deal.edited",
        "deal.submitted",
        "deal.approved",
        "deal.won",
    ]
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.status == DealStatus.WON
    assert fresh.won_amount == Decimal("420.50")


def test_reject_is_audited_and_notifies_the_partner(team_a: f.Team, cam: Any) -> None:
    deal = f.submitted(team_a.sales_actor)
    with f.acting(cam):
        services.deal_reject(actor=cam, deal=deal, reason="  Direct account: we sell to them ourselves ")
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.status == DealStatus.REJECTED
    assert fresh.decision_reason == "Direct account: we sell to them ourselves"
    assert fresh.reviewed_by == cam.user
    event = _last(deal, "deal.rejected")
    assert (event.before, event.after) == ({"status": "submitted"}, {"status": "rejected"})
    assert event.reason == "Direct account: we sell to them ourselves"
    assert _recipients("deal.rejected") == sorted([team_a.sales.pk, team_a.admin.pk])


def test_lost_is_audited_and_notifies_the_reviewers(team_a: f.Team, cam: Any) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    with f.acting(team_a.sales_actor):
        services.deal_mark_lost(actor=team_a.sales_actor, deal=deal, reason="Went with a competitor")
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.status == DealStatus.LOST
    assert fresh.lost_reason == "Went with a competitor"
    assert fresh.closed_on == timezone.localdate()
    event = _last(deal, "deal.lost")
    assert (event.before, event.after) == ({"status": "approved"}, {"status": "lost"})
    assert event.reason == "Went with a competitor"
    # Like a win, a loss is news for the channel account manager who reviewed the deal.
    assert _recipients("deal.lost") == [cam.user.pk]


def test_expire_is_audited_and_notifies_the_partner(team_a: f.Team, cam: Any) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    with system_scope():  # as the expiry job runs it, per row
        assert services.deal_expire(deal=deal) is False  # still protected
    Deal.objects.filter(pk=deal.pk).update(protection_expires_at=timezone.now() - timedelta(minutes=1))
    with system_scope():
        assert services.deal_expire(deal=deal) is True
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.EXPIRED
    event = _last(deal, "deal.expired")
    assert (event.before, event.after) == ({"status": "approved"}, {"status": "expired"})
    assert event.actor is None and event.actor_label == "system"
    assert _recipients("deal.expired") == sorted([team_a.sales.pk, team_a.admin.pk])
    with system_scope():
        assert services.deal_expire(deal=deal) is False
    assert _actions(deal).count("deal.expired") == 1


def test_without_a_cam_every_active_program_admin_reviews(team_b: f.Team) -> None:
    admins = [factories.vendor_user(VendorRole.PROGRAM_ADMIN) for _ in range(2)]
    factories.vendor_user(VendorRole.PROGRAM_ADMIN, is_active=False)
    factories.vendor_user(VendorRole.FINANCE)
    factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER)
    deal = f.submitted(team_b.sales_actor)
    assert _recipients("deal.submitted") == sorted(user.pk for user in admins)
    titles = set(Notification.objects.filter(kind="deal.submitted").values_list("title", flat=True))
    assert titles == {f"Deal {deal.reference} from Southwind Systems awaits review"}
    # Vendor-side notifications carry no tenant.
    assert set(Notification.objects.filter(kind="deal.submitted").values_list("partner_id", flat=True)) == {
        None
    }


# --- refused transitions -------------------------------------------------------------------------
def _deal_in(state: str, team: f.Team, reviewer: Any) -> Deal:
    if state == "draft":
        return f.draft(team.sales_actor)
    if state == "submitted":
        return f.submitted(team.sales_actor)
    deal = f.approved(team.sales_actor, reviewer)
    if state == "extended":
        extension = _request_extension(team.sales_actor, deal)
        _decide_extension(reviewer, extension, approve=True)
    if state == "won":
        _mark_won(team.sales_actor, deal)
    return deal


def _resolved(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Arguments given as callables (dates) are computed when the action runs."""
    return {name: value() if callable(value) else value for name, value in kwargs.items()}


def _today() -> Any:
    return timezone.localdate()


def _tomorrow() -> Any:
    return timezone.localdate() + timedelta(days=1)


# (state the deal is in, who acts, service, its arguments, what the error says)
INVALID = [
    ("draft", "reviewer", "deal_approve", {}, "A deal that is draft cannot become approved."),
    ("approved", "reviewer", "deal_approve", {}, "A deal that is approved cannot become approved."),
    ("draft", "reviewer", "deal_reject", {"reason": "No"}, "A deal that is draft cannot become rejected."),
    ("approved", "reviewer", "deal_return_for_info", {"reason": "More?"}, "cannot become returned"),
    ("submitted", "reviewer", "deal_reject", {"reason": "   "}, "Give the partner a reason."),
    ("submitted", "reviewer", "deal_return_for_info", {"reason": ""}, "Give the partner a reason."),
    (
        "submitted",
        "owner",
        "deal_mark_won",
        {"won_amount": Decimal("10"), "closed_on": _today},
        "Only approved deals can be marked won.",
    ),
    ("approved", "owner", "deal_submit", {}, "Only drafts and returned deals can be submitted."),
    (
        "submitted",
        "owner",
        "deal_request_extension",
        {"reason": "Slow"},
        "Only approved deals can be extended.",
    ),
    ("extended", "owner", "deal_request_extension", {"reason": "Again"}, "already used its extension"),
    ("approved", "owner", "deal_mark_won", {"won_amount": Decimal("0"), "closed_on": _today}, "won amount"),
    ("approved", "owner", "deal_mark_won", {"won_amount": Decimal("-5"), "closed_on": _today}, "won amount"),
    (
        "approved",
        "owner",
        "deal_mark_won",
        {"won_amount": Decimal("10"), "closed_on": _tomorrow},
        "The close date cannot be in the future.",
    ),
    ("approved", "owner", "deal_mark_lost", {"reason": " "}, "Say why the deal was lost."),
    ("won", "owner", "deal_mark_lost", {"reason": "Oops"}, "Only approved deals can be marked lost."),
    ("submitted", "owner", "deal_mark_lost", {"reason": "Gone"}, "Only approved deals can be marked lost."),
]


@pytest.mark.parametrize(
    ("state", "who", "service", "kwargs", "message"),
    INVALID,
    ids=[
        "approve-draft",
        "approve-twice",
        "reject-draft",
        "return-approved",
        "reject-without-reason",
        "return-without-reason",
        "won-submitted",
        "submit-approved",
        "extension-not-approved",
        "second-extension",
        "won-zero-amount",
        "won-negative-amount",
        "won-future-date",
        "lost-without-reason",
        "lost-after-won",
        "lost-submitted",
    ],
)
def test_invalid_transitions_raise_and_change_nothing(
    team_a: f.Team, cam: Any, state: str, who: str, service: str, kwargs: dict, message: str
) -> None:
    deal = _deal_in(state, team_a, cam)
    actor = cam if who == "reviewer" else team_a.sales_actor
    before = _state(deal)
    events = AuditEvent.objects.count()
    notifications = Notification.objects.count()
    extensions = list(DealExtensionRequest.objects.values_list("pk", "status"))
    # The error is caught inside the scope, as a view does: the request's transaction commits, so
    # a service must not have written anything before refusing.
    with f.acting(actor), pytest.raises(ApplicationError) as excinfo:
        getattr(services, service)(actor=actor, deal=deal, **_resolved(kwargs))
    assert message in str(excinfo.value)
    assert _state(deal) == before
    assert AuditEvent.objects.count() == events
    assert Notification.objects.count() == notifications
    assert list(DealExtensionRequest.objects.values_list("pk", "status")) == extensions


# --- approval ------------------------------------------------------------------------------------
def test_approval_sets_protection_and_the_tier_discount(team_a: f.Team, cam: Any) -> None:
    deal = f.submitted(team_a.sales_actor)
    started = timezone.now()
    _approve(cam, deal)
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.status == DealStatus.APPROVED
    expected = started + timedelta(days=90)
    assert abs(fresh.protection_expires_at - expected) < timedelta(minutes=1)
    assert fresh.discount_percent == Decimal("15.00")  # Gold
    assert fresh.reviewed_by == cam.user
    assert fresh.approved_at is not None


def test_approval_discount_follows_the_partners_tier(team_b: f.Team, vendor_admin: Any) -> None:
    deal = f.approved(team_b.sales_actor, vendor_admin)
    assert Deal.objects.get(pk=deal.pk).discount_percent == Decimal("10.00")  # Silver


def test_approval_honours_the_configured_protection_days(team_a: f.Team, cam: Any) -> None:
    deal = f.submitted(team_a.sales_actor)
    started = timezone.now()
    with override_settings(PRM={**settings.PRM, "DEAL_PROTECTION_DAYS": 30}):
        _approve(cam, deal)
    expires = Deal.objects.get(pk=deal.pk).protection_expires_at
    assert abs(expires - (started + timedelta(days=30))) < timedelta(minutes=1)


# --- who may review and edit ------------------------------------------------------------------
@pytest.mark.parametrize("role", ["outside_cam", VendorRole.FINANCE, VendorRole.CONTENT_MANAGER])
@pytest.mark.parametrize("decision", ["approve", "reject", "return"])
def test_only_the_partners_reviewers_decide(team_a: f.Team, cam: Any, role: str, decision: str) -> None:
    deal = f.submitted(team_a.sales_actor)
    if role == "outside_cam":
        team_c = f.team("Eastwind Partners")
        actor = f.cam_for(team_c.partner)
    else:
        actor = factories.vendor_actor(role)
    before = _state(deal)
    events = AuditEvent.objects.count()
    with f.acting(actor), pytest.raises(PermissionDenied):
        if decision == "approve":
            services.deal_approve(actor=actor, deal=deal)
        elif decision == "reject":
            services.deal_reject(actor=actor, deal=deal, reason="Not ours")
        else:
            services.deal_return_for_info(actor=actor, deal=deal, reason="Tell me more")
    assert _state(deal) == before
    assert AuditEvent.objects.count() == events


def test_partner_users_cannot_review_their_own_deal(team_a: f.Team) -> None:
    deal = f.submitted(team_a.sales_actor)
    with f.acting(team_a.admin_actor), pytest.raises(PermissionDenied):
        services.deal_approve(actor=team_a.admin_actor, deal=deal)
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.SUBMITTED


def test_a_sales_user_cannot_edit_another_sales_users_deal(team_a: f.Team) -> None:
    deal = f.draft(team_a.sales_actor, customer="Initech")
    other = team_a.sales2_actor
    before = _state(deal)
    with f.acting(other), pytest.raises(PermissionDenied):
        services.deal_save_draft(actor=other, deal=deal, data=f.deal_data(customer="Hijacked"), lines=[])
    with f.acting(other), pytest.raises(PermissionDenied):
        services.deal_submit(actor=other, deal=deal)
    assert _state(deal) == before
    assert Deal.objects.get(pk=deal.pk).customer_name == "Initech"
    assert DealLine.objects.filter(deal=deal).count() == 1
    # The company's admin may.
    with f.acting(team_a.admin_actor):
        services.deal_save_draft(
            actor=team_a.admin_actor, deal=deal, data=f.deal_data(customer="Initech Labs"), lines=[]
        )
    assert Deal.objects.get(pk=deal.pk).customer_name == "Initech Labs"


def test_marketing_and_learner_users_cannot_register(team_a: f.Team) -> None:
    for role in ("marketing", "learner"):
        actor = factories.actor_for(factories.partner_user(team_a.partner, role=role))
        with f.acting(actor), pytest.raises(PermissionDenied):
            services.deal_save_draft(actor=actor, data=f.deal_data(), lines=[])
    assert Deal.objects.filter(partner=team_a.partner).count() == 0


# --- extensions ----------------------------------------------------------------------------------
def test_extension_approval_adds_thirty_days_once(team_a: f.Team, cam: Any) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    protected_until = Deal.objects.get(pk=deal.pk).protection_expires_at
    extension = _request_extension(team_a.sales_actor, deal)
    assert (extension.status, extension.days, extension.partner_id) == ("pending", 30, team_a.partner.pk)
    assert _recipients("deal.extension_requested") == [cam.user.pk]

    _decide_extension(cam, extension, approve=True)
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.protection_expires_at == protected_until + timedelta(days=30)
    assert fresh.extensions_used == 1
    assert DealExtensionRequest.objects.get(pk=extension.pk).status == ExtensionStatus.APPROVED
    event = _last(deal, "deal.extension_approved")
    assert event.before == {"protection_expires_at": protected_until.isoformat(), "extensions_used": 0}
    assert event.after == {
        "protection_expires_at": (protected_until + timedelta(days=30)).isoformat(),
        "extensions_used": 1,
    }
    assert _recipients("deal.extension_decided") == sorted([team_a.sales.pk, team_a.admin.pk])

    sales = team_a.sales_actor
    with f.acting(sales), pytest.raises(ApplicationError, match="already used its extension"):
        services.deal_request_extension(actor=sales, deal=deal, reason="One more month")
    assert DealExtensionRequest.objects.filter(deal=deal).count() == 1


def test_extension_rejection_needs_a_reason(team_a: f.Team, cam: Any) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    protected_until = Deal.objects.get(pk=deal.pk).protection_expires_at
    extension = _request_extension(team_a.sales_actor, deal)
    with f.acting(cam), pytest.raises(ApplicationError, match="Give the partner a reason"):
        services.extension_decide(actor=cam, extension=extension, approve=False, reason="  ")
    assert DealExtensionRequest.objects.get(pk=extension.pk).status == ExtensionStatus.PENDING

    _decide_extension(cam, extension, approve=False, reason="The customer signed elsewhere")
    stored = DealExtensionRequest.objects.get(pk=extension.pk)
    assert (stored.status, stored.decision_reason) == ("rejected", "The customer signed elsewhere")
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.protection_expires_at, fresh.extensions_used) == (protected_until, 0)
    assert _last(deal, "deal.extension_rejected").reason == "The customer signed elsewhere"
    with pytest.raises(ApplicationError, match="already decided"):
        _decide_extension(cam, extension, approve=True)


def test_only_one_pending_extension_request(team_a: f.Team, cam: Any) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    _request_extension(team_a.sales_actor, deal)
    sales = team_a.sales_actor
    with f.acting(sales), pytest.raises(ApplicationError, match="already waiting for review"):
        services.deal_request_extension(actor=sales, deal=deal, reason="Still slow")
    assert DealExtensionRequest.objects.filter(deal=deal).count() == 1


# --- the deal_won event --------------------------------------------------------------------------
def test_deal_won_signal_is_sent_with_the_id_only_after_commit(
    team_a: f.Team, cam: Any, django_capture_on_commit_callbacks: Any
) -> None:
    received: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        received.append({"sender": sender, **kwargs})

    deal_won.connect(receiver, weak=False)
    try:
        first = f.approved(team_a.sales_actor, cam)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            _mark_won(team_a.sales_actor, first)
        assert callbacks  # scheduled ...
        assert received == []  # ... but not sent before the commit

        second = f.approved(team_a.sales_actor, cam, customer="Globex", domain="globex.com")
        with django_capture_on_commit_callbacks(execute=True):
            _mark_won(team_a.sales_actor, second)
    finally:
        deal_won.disconnect(receiver)
    assert len(received) == 1
    assert received[0]["sender"] is Deal
    assert received[0]["deal_id"] == second.pk
    assert set(received[0]) == {"sender", "signal", "deal_id"}


# --- review SLA ----------------------------------------------------------------------------------
# A fixed week (Friday 2027-04-16 is no holiday): nothing here depends on the real clock.
WEEK = {weekday: datetime(2027, 4, 12 + weekday, 10, 0, tzinfo=UTC) for weekday in range(7)}


@pytest.mark.parametrize(
    ("start_weekday", "due_weekday", "days_later"),
    [(4, 1, 4), (5, 1, 3), (6, 1, 2), (0, 2, 2), (3, 0, 4)],
    ids=["friday-tuesday", "saturday-tuesday", "sunday-tuesday", "monday-wednesday", "thursday-monday"],
)
def test_add_business_days_skips_weekends(start_weekday: int, due_weekday: int, days_later: int) -> None:
    start = WEEK[start_weekday]
    assert start.weekday() == start_weekday
    due = add_business_days(start, 2)
    assert due.weekday() == due_weekday
    assert due == start + timedelta(days=days_later)
    assert due.time() == start.time()


def test_a_friday_submission_is_due_on_tuesday(team_a: f.Team, cam: Any) -> None:
    friday = WEEK[4].replace(hour=15)
    with time_machine.travel(friday - timedelta(days=1), tick=False):
        deal = f.draft(team_a.sales_actor)
    with time_machine.travel(friday, tick=False):
        f.submit(team_a.sales_actor, deal)
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.submitted_at == friday
    assert fresh.review_due_at == friday + timedelta(days=4)
    assert fresh.review_due_at.weekday() == 1
    assert fresh.conflict_status == ConflictStatus.NONE


def test_a_holiday_moves_the_review_deadline(team_a: f.Team) -> None:
    from prm.models import Holiday

    friday = WEEK[4].replace(hour=15)
    with time_machine.travel(friday - timedelta(days=1), tick=False):
        deal = f.draft(team_a.sales_actor)
    Holiday.objects.create(date=(friday + timedelta(days=3)).date(), name="Bank holiday Monday")
    with time_machine.travel(friday, tick=False):
        f.submit(team_a.sales_actor, deal)
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.review_due_at == friday + timedelta(days=5)  # Wednesday, not Tuesday
    assert fresh.review_due_at.weekday() == 2


# --- stage ---------------------------------------------------------------------------------------
def test_the_owner_moves_an_approved_deal_through_stages(team_a: f.Team, cam: Any) -> None:
    draft = f.draft(team_a.sales_actor)
    sales = team_a.sales_actor
    with f.acting(sales), pytest.raises(PermissionDenied):
        services.deal_update_stage(actor=sales, deal=draft, stage="proposal")
    deal = f.approved(sales, cam, customer="Globex", domain="globex.com")
    with f.acting(sales), pytest.raises(ApplicationError, match="Choose a stage"):
        services.deal_update_stage(actor=sales, deal=deal, stage="closed")
    with f.acting(sales):
        services.deal_update_stage(actor=sales, deal=deal, stage="negotiation")
        services.deal_update_stage(actor=sales, deal=deal, stage="negotiation")  # no change, no event
    assert Deal.objects.get(pk=deal.pk).stage == "negotiation"
    events = [event for event in _events(deal) if event.action == "deal.stage_changed"]
    assert [(event.before, event.after) for event in events] == [
        ({"stage": "prospecting"}, {"stage": "negotiation"})
    ]
