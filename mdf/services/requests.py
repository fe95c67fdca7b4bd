"""Writes for fund requests, from draft to approval, rejection, return or expiry; approval commits
funds on the ledger, and expiry releases them. Each status change is a prm.transitions transition
(FundRequest.TRANSITIONS) around this module's own rules."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from partners.selectors import reviewers_for, vendor_people
from prm import audit, transitions
from prm.calendar import business_days_ahead
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.i18n import localized_amount, localized_date
from prm.money import quantize
from prm.references import next_reference
from prm.roles import VendorRole
from prm.tenancy import Actor

from .. import ledger
from ..models import (
    ActivityType,
    Allocation,
    ApprovalLimit,
    FundRequest,
    LedgerKind,
    RequestStatus,
)
from ..policies import fund_request_policy
from ._shared import (
    REQUEST_RELATED,
    _money,
    _notify_partner,
    _notify_vendor,
    _parse_whole_number,
    _release,
)

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
            % {"date": localized_date(start)},
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
            reference=next_reference("mdf_request_reference_seq", "MDF"),
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
    fund_request = transitions.lock(fund_request, related=REQUEST_RELATED)
    fund_request_policy.require(
        actor, "edit", fund_request, _("Only drafts and returned requests can be edited.")
    )
    values = _clean_request(actor, data)
    # Not a status change (to=None): the kernel still saves only what is set and audits it.
    with transitions.transition(
        fund_request,
        actor=actor.user,
        action="mdf.request_edited",
        snapshot=["requested_amount", "total_cost", "start_date", "end_date"],
        partner_id=fund_request.partner_id,
    ) as change:
        change.set(**values)
    return fund_request


def request_submit(
    *, actor: Actor, fund_request: FundRequest, confirm_short_notice: bool = False
) -> FundRequest:
    fund_request = transitions.lock(fund_request, related=REQUEST_RELATED)
    own = actor.is_partner and fund_request.partner_id == actor.partner_id
    if fund_request.status == RequestStatus.SUBMITTED and own:
        return fund_request  # a double-click
    fund_request_policy.require(
        actor, "submit", fund_request, _("Only drafts and returned requests can be submitted.")
    )
    with transitions.transition(
        fund_request,
        to=RequestStatus.SUBMITTED,
        actor=actor.user,
        action="mdf.request_submitted",
        partner_id=fund_request.partner_id,
    ) as change:
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
        # Counted in days: "10 business days before" a Monday-16th activity is Monday the 2nd, all
        # day (counting from now to the start's midnight made that 9 at any time after 00:00).
        notice = business_days_ahead(timezone.localdate(), fund_request.start_date)
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
        change.set(submitted_at=timezone.now(), short_notice_confirmed=short_notice)
    _notify_vendor(
        reviewers_for(fund_request.partner),
        "mdf.request_submitted",
        _("MDF request %(ref)s from %(partner)s: %(amount)s %(currency)s")
        % {
            "ref": fund_request.reference,
            "partner": fund_request.partner.legal_name,
            "amount": localized_amount(fund_request.requested_amount, fund_request.currency),
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
    fund_request = transitions.lock(fund_request, related=REQUEST_RELATED)
    if fund_request.status != RequestStatus.SUBMITTED or fund_request.needs_program_admin:
        return fund_request
    # The request stays submitted (to=None); only who decides it changes.
    with transitions.transition(
        fund_request,
        actor=actor.user,
        action="mdf.request_escalated",
        snapshot=["needs_program_admin"],
        partner_id=fund_request.partner_id,
    ) as change:
        change.set(needs_program_admin=True)
    _notify_vendor(
        vendor_people(VendorRole.PROGRAM_ADMIN),
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
    fund_request = transitions.lock(fund_request, related=REQUEST_RELATED)
    with transitions.transition(
        fund_request,
        to=RequestStatus.APPROVED,
        actor=actor.user,
        action="mdf.request_approved",
        snapshot=["status", "approved_amount"],
        partner_id=fund_request.partner_id,
        reason=comment,
    ) as change:
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
                    "amount": localized_amount(amount, fund_request.currency),
                    "currency": fund_request.currency,
                    "limit": localized_amount(limit, fund_request.currency),
                }
            )
        balances = ledger.balances_of(allocation)
        if amount > balances.available:
            raise ApplicationError(
                _(
                    "%(ref)s: %(partner)s has only %(available)s %(currency)s available; "
                    "approve less or reject."
                )
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
        change.set(
            approved_amount=amount,
            needs_program_admin=False,
            decided_by=actor.user,
            decided_at=timezone.now(),
            decision_comment=comment,
            claim_deadline=fund_request.end_date + timedelta(days=settings.PRM["MDF_CLAIM_DEADLINE_DAYS"]),
        )
    _notify_partner(
        fund_request,
        "mdf.request_approved",
        _("MDF request %(ref)s approved: %(amount)s %(currency)s. Claim by %(deadline)s.")
        % {
            "ref": fund_request.reference,
            "amount": localized_amount(amount, fund_request.currency),
            "currency": fund_request.currency,
            "deadline": localized_date(fund_request.claim_deadline),
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
    fund_request = transitions.lock(fund_request, related=REQUEST_RELATED)
    with transitions.transition(
        fund_request,
        to=target,
        actor=actor.user,
        action=action,
        partner_id=fund_request.partner_id,
        reason=reason,
    ) as change:
        change.set(decided_by=actor.user, decided_at=timezone.now(), decision_comment=reason)
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


def request_expire(*, fund_request: FundRequest, today: date | None = None) -> bool:
    """An approved request nobody claimed by the deadline releases its commitment. Idempotent."""
    today = today or timezone.localdate()
    allocation = ledger.lock(fund_request.allocation)
    fund_request = transitions.lock(fund_request, related=REQUEST_RELATED)
    if (
        fund_request.status != RequestStatus.APPROVED
        or not fund_request.claim_deadline
        or fund_request.claim_deadline >= today
    ):
        return False
    with transitions.transition(
        fund_request,
        to=RequestStatus.EXPIRED,
        actor=None,
        action="mdf.request_expired",
        partner_id=fund_request.partner_id,
    ):
        _release(fund_request, allocation, None, f"{fund_request.reference} not claimed in time")
    _notify_partner(
        fund_request,
        "mdf.request_expired",
        _("MDF request %(ref)s expired: it was not claimed by %(date)s")
        % {"ref": fund_request.reference, "date": localized_date(fund_request.claim_deadline)},
    )
    return True
