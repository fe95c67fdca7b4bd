"""Writes for market development funds. One function per transition; each locks what it changes,
checks the transition, posts ledger entries with idempotency keys, audits, and notifies after
commit. Money moves only through ``mdf.ledger.post``."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.models import Membership, Partner, PartnerRole
from prm import audit
from prm.calendar import business_days_between
from prm.errors import ApplicationError
from prm.money import quantize
from prm.notifications import notify
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor

from . import ledger
from .models import (
    REQUEST_TRANSITIONS,
    ActivityType,
    Allocation,
    ApprovalLimit,
    Budget,
    ClaimProof,
    FundClaim,
    FundPeriod,
    FundRequest,
    LedgerEntry,
    LedgerKind,
    RequestStatus,
)
from .policies import allocation_policy, fund_request_policy
from .uploads import validate_proof

User = get_user_model()
REQUEST_FIELDS = (
    "activity_type",
    "title",
    "description",
    "start_date",
    "end_date",
    "total_cost",
    "requested_amount",
    "currency",
    "expected_leads",
)


def _money(amount: Any, currency: str, field: str) -> Decimal:
    try:
        value = quantize(Decimal(str(amount)), currency)
    except Exception as exc:
        raise ApplicationError(_("Enter an amount."), field=field) from exc
    if value <= 0:
        raise ApplicationError(_("The amount must be more than zero."), field=field)
    return value


def _parse_whole_number(value: Any, field: str) -> int:
    """Form input as a whole number of people or leads, zero or more (blank is zero)."""
    try:
        number = int(value or 0)
    except (TypeError, ValueError) as exc:
        raise ApplicationError(_("Enter a whole number."), field=field) from exc
    if number < 0:
        raise ApplicationError(_("The number cannot be negative."), field=field)
    return number


def _check_transition(fund_request: FundRequest, target: str) -> None:
    if target not in REQUEST_TRANSITIONS[fund_request.status]:
        raise ApplicationError(
            _("A request that is %(current)s cannot become %(target)s.")
            % {
                "current": fund_request.get_status_display().lower(),
                "target": RequestStatus(target).label.lower(),
            }
        )


def _lock_request(fund_request: FundRequest) -> FundRequest:
    return (
        FundRequest.objects.select_for_update(of=("self",))
        .select_related("partner", "allocation", "allocation__budget__period")
        .get(pk=fund_request.pk)
    )


def _next_reference() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval('mdf_request_reference_seq')")
        (number,) = cursor.fetchone()
    return f"MDF-{number:06d}"


def _partner_marketing(partner_id: int) -> list[Any]:
    return [
        m.user
        for m in Membership.objects.filter(
            partner_id=partner_id, is_active=True, role__in=[PartnerRole.ADMIN, PartnerRole.MARKETING]
        ).select_related("user")
    ]


def _notify_partner(fund_request: FundRequest, kind: str, title: str, body: str = "") -> None:
    for user in _partner_marketing(fund_request.partner_id):
        notify(
            recipient=user,
            kind=kind,
            title=title,
            body=body,
            partner_id=fund_request.partner_id,
            url=reverse("mdf:request_detail", args=[fund_request.pk]),
        )


def _vendor_users(role: str) -> list[Any]:
    return list(User.objects.filter(vendor_role=role, is_active=True))


def _notify_vendor(users: list[Any], kind: str, title: str, fund_request: FundRequest) -> None:
    for user in users:
        notify(
            recipient=user,
            kind=kind,
            title=title,
            url=reverse("admin:mdf_fundrequest_change", args=[fund_request.pk]),
        )


def _reviewers(partner: Partner) -> list[Any]:
    cam = partner.channel_account_manager
    return [cam] if cam is not None and cam.is_active else _vendor_users(VendorRole.PROGRAM_ADMIN)


# --- Funds ---------------------------------------------------------------------------------------
def allocation_for(*, partner: Partner, budget: Budget) -> Allocation:
    allocation, _created = Allocation.objects.get_or_create(
        partner=partner, budget=budget, defaults={"currency": budget.currency}
    )
    return allocation


def allocation_add(
    *, actor: Actor, partner: Partner, budget: Budget, amount: Decimal, memo: str = ""
) -> LedgerEntry:
    """Allocate funds to a partner by hand; never more than the budget has left."""
    allocation_policy.require(actor, "allocate", None, _("Only program admins allocate funds."))
    amount = _money(amount, budget.currency, "amount")
    budget = Budget.objects.select_for_update().select_related("period").get(pk=budget.pk)
    if budget.period.closed_at:
        raise ApplicationError(_("%(period)s is closed.") % {"period": budget.period})
    allocated = LedgerEntry.objects.filter(allocation__budget=budget, kind=LedgerKind.ALLOCATED).aggregate(
        total=Sum("amount")
    )["total"] or Decimal("0")
    if allocated + amount > budget.amount:
        raise ApplicationError(
            _("Only %(left)s %(currency)s of the %(period)s budget is left to allocate.")
            % {"left": budget.amount - allocated, "currency": budget.currency, "period": budget.period},
            field="amount",
        )
    allocation = ledger.lock(allocation_for(partner=partner, budget=budget))
    entry, _new = ledger.post(
        allocation=allocation,
        kind=LedgerKind.ALLOCATED,
        amount=amount,
        actor=actor.user,
        idempotency_key=f"allocate:{uuid.uuid4()}",
        memo=memo or "Allocation",
    )
    audit.record(
        actor=actor.user,
        action="mdf.allocated",
        target=allocation,
        partner_id=partner.pk,
        after={"amount": amount, "currency": budget.currency},
        reason=memo,
    )
    for user in _partner_marketing(partner.pk):
        notify(
            recipient=user,
            kind="mdf.allocated",
            partner_id=partner.pk,
            url=reverse("mdf:funds"),
            title=_("%(amount)s %(currency)s of marketing funds allocated for %(period)s")
            % {"amount": amount, "currency": budget.currency, "period": budget.period},
        )
    return entry


def closed_accrual_period(*, currency: str, on: date) -> FundPeriod | None:
    """The fund period containing ``on``, with a budget in ``currency``, if it is already closed.

    Co-op never accrues into it, nor into the current period instead: the closed period's unused
    funds have forfeited and its books are final, and moving the accrual forward would let a late
    or back-dated win top up this period's funds. The vendor can still allocate by hand
    (``allocation_add``, audited) where a late win deserves it."""
    budget = (
        Budget.objects.filter(
            currency=currency,
            period__starts_on__lte=on,
            period__ends_on__gte=on,
            period__closed_at__isnull=False,
        )
        .select_related("period")
        .first()
    )
    return budget.period if budget is not None else None


def allocation_accrue(
    *, partner: Partner, amount: Decimal, currency: str, on: date, source: str
) -> LedgerEntry | None:
    """Co-op accrual (system): idempotent per source (e.g. ``deal:123``). Needs an open budget for
    the period containing ``on`` in that currency; without one nothing accrues (returns None) —
    in particular never into a closed period (see ``closed_accrual_period``)."""
    budget = (
        Budget.objects.filter(
            currency=currency,
            period__starts_on__lte=on,
            period__ends_on__gte=on,
            period__closed_at__isnull=True,
        )
        .select_related("period")
        .first()
    )
    amount = quantize(amount, currency)
    if budget is None or amount <= 0:
        return None
    allocation = ledger.lock(allocation_for(partner=partner, budget=budget))
    entry, created = ledger.post(
        allocation=allocation,
        kind=LedgerKind.ACCRUED,
        amount=amount,
        idempotency_key=f"accrue:{source}",
        source=source,
        memo="Co-op accrual",
    )
    if created:
        audit.record(
            actor=None,
            action="mdf.accrued",
            target=allocation,
            partner_id=partner.pk,
            after={"amount": amount, "currency": currency, "source": source},
        )
    return entry


# --- Requests ------------------------------------------------------------------------------------
def _allocation_for_request(actor: Actor, start: date, currency: str) -> Allocation:
    allocation = (
        Allocation.objects.filter(
            partner_id=actor.partner_id,
            currency=currency,
            budget__period__starts_on__lte=start,
            budget__period__ends_on__gte=start,
        )
        .select_related("budget__period")
        .first()
    )
    if allocation is None:
        currencies = sorted(
            set(Allocation.objects.filter(partner_id=actor.partner_id).values_list("currency", flat=True))
        )
        if currencies and currency not in currencies:
            raise ApplicationError(
                _("Your funds are in %(currencies)s; request in that currency.")
                % {"currencies": ", ".join(currencies)},
                field="currency",
            )
        raise ApplicationError(
            _("You have no marketing funds for the period of %(date)s. Ask your channel account manager.")
            % {"date": start.isoformat()},
            field="start_date",
        )
    if allocation.budget.period.closed_at is not None:
        raise ApplicationError(
            _("%(period)s is closed; its funds can no longer be requested.")
            % {"period": allocation.budget.period},
            field="start_date",
        )
    return allocation


def _clean_request(actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    values = {name: data.get(name) for name in REQUEST_FIELDS}
    if values["activity_type"] not in ActivityType.values:
        raise ApplicationError(_("Choose the activity type."), field="activity_type")
    if not (values["title"] or "").strip():
        raise ApplicationError(_("Give the activity a title."), field="title")
    if not values["start_date"] or not values["end_date"]:
        raise ApplicationError(_("Enter the activity's start and end dates."), field="start_date")
    if values["end_date"] < values["start_date"]:
        raise ApplicationError(_("The activity ends before it starts."), field="end_date")
    currency = values["currency"] or "USD"
    values["currency"] = currency
    values["total_cost"] = _money(values["total_cost"], currency, "total_cost")
    values["requested_amount"] = _money(values["requested_amount"], currency, "requested_amount")
    values["expected_leads"] = _parse_whole_number(values["expected_leads"], "expected_leads")
    values["description"] = values["description"] or ""
    share = Decimal(settings.PRM["MDF_VENDOR_SHARE_PERCENT"]) / 100
    ceiling = quantize(values["total_cost"] * share, currency)
    if values["requested_amount"] > ceiling:
        raise ApplicationError(
            _("You can request at most %(share)s%% of the cost: %(ceiling)s %(currency)s.")
            % {"share": settings.PRM["MDF_VENDOR_SHARE_PERCENT"], "ceiling": ceiling, "currency": currency},
            field="requested_amount",
        )
    values["allocation"] = _allocation_for_request(actor, values["start_date"], currency)
    return values


def request_save_draft(
    *,
    actor: Actor,
    data: dict[str, Any],
    fund_request: FundRequest | None = None,
    submission_key: uuid.UUID | None = None,
) -> FundRequest:
    if fund_request is None:
        fund_request_policy.require(
            actor, "request", None, _("Partner admins and marketing users request funds.")
        )
        if submission_key and (existing := FundRequest.objects.filter(submission_key=submission_key).first()):
            if existing.partner_id != actor.partner_id:
                raise ApplicationError(_("This form was already used; reload the page."))
            return existing
        values = _clean_request(actor, data)
        fund_request = FundRequest(
            partner=actor.partner,
            requested_by=actor.user,
            submission_key=submission_key,
            reference=_next_reference(),
            **values,
        )
        try:
            with transaction.atomic():
                fund_request.save()
        except IntegrityError:
            # Only a second click with the same key may land here; anything else is a real error.
            existing = (
                FundRequest.objects.filter(submission_key=submission_key).first() if submission_key else None
            )
            if existing is None or existing.partner_id != actor.partner_id:
                raise
            return existing
        audit.record(
            actor=actor.user,
            action="mdf.request_drafted",
            target=fund_request,
            partner_id=fund_request.partner_id,
            after={"requested_amount": fund_request.requested_amount, "currency": fund_request.currency},
        )
        return fund_request
    fund_request = _lock_request(fund_request)
    fund_request_policy.require(
        actor, "edit", fund_request, _("Only drafts and returned requests can be edited.")
    )
    values = _clean_request(actor, data)
    before = audit.snapshot(fund_request, ["requested_amount", "total_cost", "start_date", "end_date"])
    for name, value in values.items():
        setattr(fund_request, name, value)
    fund_request.save()
    audit.record(
        actor=actor.user,
        action="mdf.request_edited",
        target=fund_request,
        before=before,
        after=audit.snapshot(fund_request, ["requested_amount", "total_cost", "start_date", "end_date"]),
        partner_id=fund_request.partner_id,
    )
    return fund_request


def request_submit(
    *, actor: Actor, fund_request: FundRequest, confirm_short_notice: bool = False
) -> FundRequest:
    fund_request = _lock_request(fund_request)
    own = actor.is_partner and fund_request.partner_id == actor.partner_id
    if fund_request.status == RequestStatus.SUBMITTED and own:
        return fund_request  # a double-click
    fund_request_policy.require(
        actor, "submit", fund_request, _("Only drafts and returned requests can be submitted.")
    )
    _check_transition(fund_request, RequestStatus.SUBMITTED)
    balances = ledger.balances_of(fund_request.allocation)
    if fund_request.requested_amount > balances.available:
        raise ApplicationError(
            _("You request %(requested)s %(currency)s but have %(available)s %(currency)s available.")
            % {
                "requested": fund_request.requested_amount,
                "available": balances.available,
                "currency": fund_request.currency,
            },
            field="requested_amount",
        )
    lead_days = settings.PRM["MDF_REQUEST_LEAD_BUSINESS_DAYS"]
    notice = business_days_between(
        timezone.now(),
        timezone.make_aware(timezone.datetime.combine(fund_request.start_date, timezone.datetime.min.time())),
    )
    short_notice = notice < lead_days
    if short_notice and not confirm_short_notice:
        raise ApplicationError(
            _(
                "The activity starts in %(days)s business days; requests should come "
                "%(lead)s business days ahead. Confirm to submit anyway."
            )
            % {"days": max(notice, 0), "lead": lead_days},
            extra={"needs_confirmation": True},
        )
    before = audit.snapshot(fund_request, ["status"])
    fund_request.status = RequestStatus.SUBMITTED
    fund_request.submitted_at = timezone.now()
    fund_request.short_notice_confirmed = short_notice
    fund_request.save(update_fields=["status", "submitted_at", "short_notice_confirmed"])
    audit.record(
        actor=actor.user,
        action="mdf.request_submitted",
        target=fund_request,
        before=before,
        after=audit.snapshot(fund_request, ["status"]),
        partner_id=fund_request.partner_id,
    )
    _notify_vendor(
        _reviewers(fund_request.partner),
        "mdf.request_submitted",
        _("MDF request %(ref)s from %(partner)s: %(amount)s %(currency)s")
        % {
            "ref": fund_request.reference,
            "partner": fund_request.partner.legal_name,
            "amount": fund_request.requested_amount,
            "currency": fund_request.currency,
        },
        fund_request,
    )
    return fund_request


class ApprovalLimitExceeded(ApplicationError):
    """The approver's limit is below the amount; nothing was written."""


def request_escalate(*, actor: Actor, fund_request: FundRequest) -> FundRequest:
    """Pass a request above a channel account manager's limit to the program admins."""
    fund_request_policy.require(actor, "review", fund_request, _("Only reviewers escalate requests."))
    fund_request = _lock_request(fund_request)
    if fund_request.status != RequestStatus.SUBMITTED or fund_request.needs_program_admin:
        return fund_request
    fund_request.needs_program_admin = True
    fund_request.save(update_fields=["needs_program_admin"])
    audit.record(
        actor=actor.user,
        action="mdf.request_escalated",
        target=fund_request,
        before={"needs_program_admin": False},
        after={"needs_program_admin": True},
        partner_id=fund_request.partner_id,
    )
    _notify_vendor(
        _vendor_users(VendorRole.PROGRAM_ADMIN),
        "mdf.request_escalated",
        _("MDF request %(ref)s needs a program admin (above %(user)s's limit)")
        % {"ref": fund_request.reference, "user": actor.user},
        fund_request,
    )
    return fund_request


def request_approve_or_escalate(
    *, actor: Actor, fund_request: FundRequest, amount: Decimal | None = None, comment: str = ""
) -> str:
    """What the admin and views call: approve, or, above the approver's limit, pass the request to
    a program admin. Returns "approved" or "escalated"; other problems raise ApplicationError."""
    try:
        with transaction.atomic():
            request_approve(actor=actor, fund_request=fund_request, amount=amount, comment=comment)
    except ApprovalLimitExceeded:
        request_escalate(actor=actor, fund_request=fund_request)
        return "escalated"
    return "approved"


def approval_limit_of(user: Any, currency: str) -> Decimal | None:
    """None: no limit (program admins). Channel account managers: their ApprovalLimit, else the
    default from settings."""
    if user.vendor_role == VendorRole.PROGRAM_ADMIN:
        return None
    limit = ApprovalLimit.objects.filter(user=user, currency=currency).first()
    return limit.amount if limit else Decimal(settings.PRM["MDF_DEFAULT_CAM_APPROVAL_LIMIT"])


def request_approve(
    *, actor: Actor, fund_request: FundRequest, amount: Decimal | None = None, comment: str = ""
) -> FundRequest:
    """Commit funds for the request. The allocation row is locked first, so two managers
    approving at the same moment are serialised and the second sees the first's commitment:
    nothing can ever commit more than is available."""
    fund_request_policy.require(
        actor,
        "review",
        fund_request,
        _("Only the partner's channel account manager or a program admin approves."),
    )
    allocation = ledger.lock(fund_request.allocation)
    fund_request = _lock_request(fund_request)
    _check_transition(fund_request, RequestStatus.APPROVED)
    amount = (
        fund_request.requested_amount
        if amount in (None, "")
        else _money(amount, fund_request.currency, "amount")
    )
    if amount > fund_request.requested_amount:
        raise ApplicationError(
            _("%(ref)s: the approved amount cannot exceed the %(requested)s %(currency)s requested.")
            % {
                "ref": fund_request.reference,
                "requested": fund_request.requested_amount,
                "currency": fund_request.currency,
            },
            field="amount",
        )
    limit = approval_limit_of(actor.user, fund_request.currency)
    if limit is not None and amount > limit:
        # No side effect here: the caller may run this in a savepoint that rolls back. It calls
        # request_escalate() to pass the request to a program admin.
        raise ApprovalLimitExceeded(
            _("%(ref)s: %(amount)s %(currency)s is above your approval limit of %(limit)s.")
            % {
                "ref": fund_request.reference,
                "amount": amount,
                "currency": fund_request.currency,
                "limit": limit,
            }
        )
    balances = ledger.balances_of(allocation)
    if amount > balances.available:
        raise ApplicationError(
            _("%(ref)s: %(partner)s has only %(available)s %(currency)s available; approve less or reject.")
            % {
                "ref": fund_request.reference,
                "partner": fund_request.partner.legal_name,
                "available": balances.available,
                "currency": fund_request.currency,
            },
            field="amount",
        )
    ledger.post(
        allocation=allocation,
        kind=LedgerKind.COMMITTED,
        amount=amount,
        actor=actor.user,
        fund_request=fund_request,
        idempotency_key=f"commit:request:{fund_request.pk}",
        source=f"fund_request:{fund_request.pk}",
        memo=fund_request.reference,
    )
    before = audit.snapshot(fund_request, ["status", "approved_amount"])
    fund_request.status = RequestStatus.APPROVED
    fund_request.needs_program_admin = False
    fund_request.approved_amount = amount
    fund_request.decided_by = actor.user
    fund_request.decided_at = timezone.now()
    fund_request.decision_comment = comment
    fund_request.claim_deadline = fund_request.end_date + timedelta(
        days=settings.PRM["MDF_CLAIM_DEADLINE_DAYS"]
    )
    fund_request.save(
        update_fields=[
            "status",
            "approved_amount",
            "needs_program_admin",
            "decided_by",
            "decided_at",
            "decision_comment",
            "claim_deadline",
        ]
    )
    audit.record(
        actor=actor.user,
        action="mdf.request_approved",
        target=fund_request,
        before=before,
        after=audit.snapshot(fund_request, ["status", "approved_amount"]),
        partner_id=fund_request.partner_id,
        reason=comment,
    )
    _notify_partner(
        fund_request,
        "mdf.request_approved",
        _("MDF request %(ref)s approved: %(amount)s %(currency)s. Claim by %(deadline)s.")
        % {
            "ref": fund_request.reference,
            "amount": amount,
            "currency": fund_request.currency,
            "deadline": fund_request.claim_deadline.isoformat(),
        },
        comment,
    )
    return fund_request


def _decide(actor: Actor, fund_request: FundRequest, target: str, reason: str, action: str) -> FundRequest:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give the partner a reason."), field="reason")
    fund_request_policy.require(
        actor,
        "review",
        fund_request,
        _("Only the partner's channel account manager or a program admin decides."),
    )
    fund_request = _lock_request(fund_request)
    _check_transition(fund_request, target)
    before = audit.snapshot(fund_request, ["status"])
    fund_request.status = target
    fund_request.decided_by = actor.user
    fund_request.decided_at = timezone.now()
    fund_request.decision_comment = reason
    fund_request.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])
    audit.record(
        actor=actor.user,
        action=action,
        target=fund_request,
        before=before,
        reason=reason,
        after=audit.snapshot(fund_request, ["status"]),
        partner_id=fund_request.partner_id,
    )
    return fund_request


def request_reject(*, actor: Actor, fund_request: FundRequest, reason: str) -> FundRequest:
    fund_request = _decide(actor, fund_request, RequestStatus.REJECTED, reason, "mdf.request_rejected")
    _notify_partner(
        fund_request,
        "mdf.request_rejected",
        _("MDF request %(ref)s was not approved") % {"ref": fund_request.reference},
        reason,
    )
    return fund_request


def request_return(*, actor: Actor, fund_request: FundRequest, reason: str) -> FundRequest:
    fund_request = _decide(actor, fund_request, RequestStatus.RETURNED, reason, "mdf.request_returned")
    _notify_partner(
        fund_request,
        "mdf.request_returned",
        _("MDF request %(ref)s needs changes") % {"ref": fund_request.reference},
        reason,
    )
    return fund_request


def _release(
    fund_request: FundRequest,
    allocation: Allocation,
    actor_user: Any,
    why: str,
    *,
    keep: Decimal = Decimal("0"),
) -> None:
    """Release the request's whole commitment. ``keep`` is the part the caller turns into a claim
    right after; in a period that has already closed, the rest forfeits at once, or it would become
    spendable in a closed period (closing forfeited only what was free then)."""
    committed = LedgerEntry.objects.filter(fund_request=fund_request, kind=LedgerKind.COMMITTED).first()
    if committed is None:
        return
    ledger.post(
        allocation=allocation,
        kind=LedgerKind.RELEASED,
        amount=committed.amount,
        actor=actor_user,
        fund_request=fund_request,
        idempotency_key=f"release:request:{fund_request.pk}",
        source=f"fund_request:{fund_request.pk}",
        memo=why,
    )
    freed = committed.amount - keep
    if allocation.budget.period.closed_at is not None and freed > 0:
        ledger.post(
            allocation=allocation,
            kind=LedgerKind.FORFEITED,
            amount=freed,
            fund_request=fund_request,
            idempotency_key=f"forfeit:release:{fund_request.pk}",
            source=f"period:{allocation.budget.period_id}",
            memo=f"{why}; period closed",
        )


# --- Claims --------------------------------------------------------------------------------------
def claim_submit(
    *, actor: Actor, fund_request: FundRequest, data: dict[str, Any], files: list[UploadedFile]
) -> FundClaim:
    fund_request = _lock_request(fund_request)
    if hasattr(fund_request, "claim"):
        raise ApplicationError(_("This request already has a claim."))
    fund_request_policy.require(actor, "claim", fund_request, _("Only approved requests can be claimed."))
    _check_transition(fund_request, RequestStatus.CLAIM_SUBMITTED)
    today = timezone.localdate()
    if today < fund_request.end_date:
        raise ApplicationError(
            _("Claim after the activity has ended (%(date)s).") % {"date": fund_request.end_date.isoformat()}
        )
    if fund_request.claim_deadline and today > fund_request.claim_deadline:
        raise ApplicationError(
            _("The claim deadline (%(date)s) has passed.") % {"date": fund_request.claim_deadline.isoformat()}
        )
    currency = fund_request.currency
    actual_cost = _money(data.get("actual_cost"), currency, "actual_cost")
    claimed = _money(data.get("claimed_amount"), currency, "claimed_amount")
    if claimed > fund_request.approved_amount:
        raise ApplicationError(
            _("You can claim at most the %(approved)s %(currency)s approved.")
            % {"approved": fund_request.approved_amount, "currency": currency},
            field="claimed_amount",
        )
    share = Decimal(settings.PRM["MDF_VENDOR_SHARE_PERCENT"]) / 100
    if claimed > quantize(actual_cost * share, currency):
        raise ApplicationError(
            _("You can claim at most %(share)s%% of the actual cost.")
            % {"share": settings.PRM["MDF_VENDOR_SHARE_PERCENT"]},
            field="claimed_amount",
        )
    leads_generated = _parse_whole_number(data.get("leads_generated"), "leads_generated")
    attendees = _parse_whole_number(data.get("attendees"), "attendees")
    if not files:
        raise ApplicationError(
            _("Attach proof of performance: invoices, photos or screenshots."), field="files"
        )
    if len(files) > settings.PRM["MDF_MAX_PROOF_FILES"]:
        raise ApplicationError(
            _("Attach at most %(n)s files.") % {"n": settings.PRM["MDF_MAX_PROOF_FILES"]}, field="files"
        )
    checked = [(upload, *validate_proof(upload)) for upload in files]  # all checked before any is stored
    claim = FundClaim.objects.create(
        fund_request=fund_request,
        partner_id=fund_request.partner_id,
        submitted_by=actor.user,
        actual_cost=actual_cost,
        claimed_amount=claimed,
        leads_generated=leads_generated,
        attendees=attendees,
        notes=data.get("notes") or "",
    )
    stored: list[str] = []
    try:
        for upload, content_type, extension in checked:
            proof = ClaimProof(
                claim=claim,
                partner_id=claim.partner_id,
                original_name=(upload.name or "file")[:255],
                content_type=content_type,
                size=upload.size,
                uploaded_by=actor.user,
            )
            proof.file.save(f"proof.{extension}", upload, save=False)
            stored.append(proof.file.name)
            proof.save()
    except Exception:
        storage = ClaimProof._meta.get_field("file").storage
        for name in stored:
            storage.delete(name)
        raise
    before = audit.snapshot(fund_request, ["status"])
    fund_request.status = RequestStatus.CLAIM_SUBMITTED
    fund_request.save(update_fields=["status"])
    audit.record(
        actor=actor.user,
        action="mdf.claim_submitted",
        target=fund_request,
        before=before,
        after={"status": fund_request.status, "claimed_amount": claimed, "files": len(checked)},
        partner_id=fund_request.partner_id,
    )
    _notify_vendor(
        _vendor_users(VendorRole.FINANCE),
        "mdf.claim_submitted",
        _("MDF claim for %(ref)s from %(partner)s awaits finance")
        % {"ref": fund_request.reference, "partner": fund_request.partner.legal_name},
        fund_request,
    )
    return claim


def _claim_review(actor: Actor, claim: FundClaim, target: str) -> tuple[FundClaim, FundRequest, Allocation]:
    fund_request_policy.require(actor, "review_claim", claim.fund_request, _("Finance reviews claims."))
    allocation = ledger.lock(claim.fund_request.allocation)
    fund_request = _lock_request(claim.fund_request)
    _check_transition(fund_request, target)
    claim = FundClaim.objects.select_for_update().get(pk=claim.pk)
    return claim, fund_request, allocation


def claim_approve(*, actor: Actor, claim: FundClaim, amount: Decimal | None = None) -> FundClaim:
    claim, fund_request, allocation = _claim_review(actor, claim, RequestStatus.CLAIM_APPROVED)
    amount = claim.claimed_amount if amount in (None, "") else _money(amount, fund_request.currency, "amount")
    if amount > fund_request.approved_amount or amount > claim.claimed_amount:
        raise ApplicationError(
            _("Approve at most %(max)s %(currency)s: the smaller of the pre-approved and the claimed amount.")
            % {
                "max": min(fund_request.approved_amount, claim.claimed_amount),
                "currency": fund_request.currency,
            },
            field="amount",
        )
    # The commitment turns into a claim: release it whole, then record what is owed.
    _release(fund_request, allocation, actor.user, f"{fund_request.reference} claimed", keep=amount)
    ledger.post(
        allocation=allocation,
        kind=LedgerKind.CLAIMED,
        amount=amount,
        actor=actor.user,
        fund_request=fund_request,
        idempotency_key=f"claim:request:{fund_request.pk}",
        source=f"fund_claim:{claim.pk}",
        memo=fund_request.reference,
    )
    claim.approved_amount = amount
    claim.reviewed_by = actor.user
    claim.reviewed_at = timezone.now()
    claim.save(update_fields=["approved_amount", "reviewed_by", "reviewed_at"])
    before = audit.snapshot(fund_request, ["status"])
    fund_request.status = RequestStatus.CLAIM_APPROVED
    fund_request.save(update_fields=["status"])
    audit.record(
        actor=actor.user,
        action="mdf.claim_approved",
        target=fund_request,
        before=before,
        after={"status": fund_request.status, "approved": amount},
        partner_id=fund_request.partner_id,
    )
    _notify_partner(
        fund_request,
        "mdf.claim_approved",
        _("Claim for %(ref)s approved: %(amount)s %(currency)s will be paid")
        % {"ref": fund_request.reference, "amount": amount, "currency": fund_request.currency},
    )
    return claim


def claim_reject(*, actor: Actor, claim: FundClaim, reason: str) -> FundClaim:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give the partner a reason."), field="reason")
    claim, fund_request, allocation = _claim_review(actor, claim, RequestStatus.CLAIM_REJECTED)
    _release(fund_request, allocation, actor.user, f"{fund_request.reference} claim rejected")
    claim.reviewed_by = actor.user
    claim.reviewed_at = timezone.now()
    claim.rejection_reason = reason
    claim.save(update_fields=["reviewed_by", "reviewed_at", "rejection_reason"])
    before = audit.snapshot(fund_request, ["status"])
    fund_request.status = RequestStatus.CLAIM_REJECTED
    fund_request.save(update_fields=["status"])
    audit.record(
        actor=actor.user,
        action="mdf.claim_rejected",
        target=fund_request,
        before=before,
        after={"status": fund_request.status},
        partner_id=fund_request.partner_id,
        reason=reason,
    )
    _notify_partner(
        fund_request,
        "mdf.claim_rejected",
        _("Claim for %(ref)s was rejected") % {"ref": fund_request.reference},
        reason,
    )
    return claim


def claim_mark_paid(*, actor: Actor, claim: FundClaim, payment_reference: str = "") -> FundClaim:
    if not (actor.is_vendor and actor.vendor_role in {VendorRole.FINANCE, VendorRole.PROGRAM_ADMIN}):
        raise PermissionDenied(_("Finance marks payouts paid."))
    claim, fund_request, allocation = _claim_review(actor, claim, RequestStatus.PAID)
    # Four eyes, as for statements: whoever approved the claim does not also confirm its payment.
    if settings.PRM["SETTLEMENT_FOUR_EYES"] and claim.reviewed_by_id == actor.user.pk:
        raise ApplicationError(
            _(
                "You approved the claim for %(ref)s, so another finance user must mark it paid "
                "(four-eyes rule)."
            )
            % {"ref": fund_request.reference}
        )
    ledger.post(
        allocation=allocation,
        kind=LedgerKind.PAID,
        amount=claim.approved_amount,
        actor=actor.user,
        fund_request=fund_request,
        idempotency_key=f"paid:request:{fund_request.pk}",
        source=f"fund_claim:{claim.pk}",
        memo=payment_reference or fund_request.reference,
    )
    claim.paid_at = timezone.now()
    claim.paid_by = actor.user
    claim.payment_reference = payment_reference
    claim.save(update_fields=["paid_at", "paid_by", "payment_reference"])
    before = audit.snapshot(fund_request, ["status"])
    fund_request.status = RequestStatus.PAID
    fund_request.save(update_fields=["status"])
    audit.record(
        actor=actor.user,
        action="mdf.claim_paid",
        target=fund_request,
        before=before,
        after={"status": fund_request.status, "paid": claim.approved_amount, "reference": payment_reference},
        partner_id=fund_request.partner_id,
    )
    _notify_partner(
        fund_request,
        "mdf.claim_paid",
        _("%(amount)s %(currency)s paid for %(ref)s")
        % {"amount": claim.approved_amount, "currency": fund_request.currency, "ref": fund_request.reference},
    )
    return claim


# --- Scheduled (system) ----------------------------------------------------------------------
def request_expire(*, fund_request: FundRequest, today: date | None = None) -> bool:
    """An approved request nobody claimed by the deadline releases its commitment. Idempotent."""
    today = today or timezone.localdate()
    allocation = ledger.lock(fund_request.allocation)
    fund_request = _lock_request(fund_request)
    if (
        fund_request.status != RequestStatus.APPROVED
        or not fund_request.claim_deadline
        or fund_request.claim_deadline >= today
    ):
        return False
    _release(fund_request, allocation, None, f"{fund_request.reference} not claimed in time")
    fund_request.status = RequestStatus.EXPIRED
    fund_request.save(update_fields=["status"])
    audit.record(
        actor=None,
        action="mdf.request_expired",
        target=fund_request,
        before={"status": "approved"},
        after={"status": fund_request.status},
        partner_id=fund_request.partner_id,
    )
    _notify_partner(
        fund_request,
        "mdf.request_expired",
        _("MDF request %(ref)s expired: it was not claimed by %(date)s")
        % {"ref": fund_request.reference, "date": fund_request.claim_deadline.isoformat()},
    )
    return True


def period_close(*, period: FundPeriod, today: date | None = None) -> int:
    """At period end, unused allocations forfeit (open commitments stay until claimed or expired).
    Idempotent: one forfeiture per allocation, keyed by it."""
    today = today or timezone.localdate()
    period = FundPeriod.objects.select_for_update().get(pk=period.pk)
    if period.ends_on >= today:
        return 0
    forfeited = 0
    for allocation in Allocation.objects.filter(budget__period=period).order_by("pk"):
        allocation = ledger.lock(allocation)
        available = ledger.balances_of(allocation).available
        if available > 0:
            _entry, created = ledger.post(
                allocation=allocation,
                kind=LedgerKind.FORFEITED,
                amount=available,
                idempotency_key=f"forfeit:allocation:{allocation.pk}",
                source=f"period:{period.pk}",
                memo=f"{period} ended",
            )
            if created:
                forfeited += 1
                audit.record(
                    actor=None,
                    action="mdf.forfeited",
                    target=allocation,
                    partner_id=allocation.partner_id,
                    after={"amount": available, "currency": allocation.currency},
                )
    if period.closed_at is None:
        period.closed_at = timezone.now()
        period.save(update_fields=["closed_at"])
    return forfeited
