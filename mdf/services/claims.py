"""Writes for claims: a partner claims an approved request with proof of performance; finance
approves (turning the commitment into a claim on the ledger), rejects, or marks it paid. A claim has
no status of its own: each step is a prm.transitions transition of its fund request."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from partners.selectors import vendor_people
from prm import transitions
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.i18n import localized_amount, localized_date
from prm.money import quantize, require_four_eyes
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor

from .. import ledger
from ..models import (
    Allocation,
    ClaimProof,
    FundClaim,
    FundRequest,
    LedgerKind,
    RequestStatus,
)
from ..policies import fund_request_policy
from ..uploads import validate_proof
from ._shared import (
    REQUEST_RELATED,
    _money,
    _notify_partner,
    _notify_vendor,
    _parse_whole_number,
    _release,
)


def claim_submit(
    *, actor: Actor, fund_request: FundRequest, data: dict[str, Any], files: list[UploadedFile]
) -> FundClaim:
    fund_request = transitions.lock(fund_request, related=REQUEST_RELATED)
    if hasattr(fund_request, "claim"):
        raise ApplicationError(_("This request already has a claim."))
    fund_request_policy.require(actor, "claim", fund_request, _("Only approved requests can be claimed."))
    with transitions.transition(
        fund_request,
        to=RequestStatus.CLAIM_SUBMITTED,
        actor=actor.user,
        action="mdf.claim_submitted",
        partner_id=fund_request.partner_id,
    ) as change:
        claim, files_stored = _claim_create(actor, fund_request, data, files)
        change.audit_extra = {"claimed_amount": claim.claimed_amount, "files": files_stored}
    _notify_vendor(
        vendor_people(VendorRole.FINANCE),
        "mdf.claim_submitted",
        _("MDF claim for %(ref)s from %(partner)s awaits finance")
        % {"ref": fund_request.reference, "partner": fund_request.partner.legal_name},
        fund_request,
    )
    return claim


def _claim_create(
    actor: Actor, fund_request: FundRequest, data: dict[str, Any], files: list[UploadedFile]
) -> tuple[FundClaim, int]:
    """The claim and its proofs, once every rule holds; returns the claim and how many files."""
    today = timezone.localdate()
    if today < fund_request.end_date:
        raise ApplicationError(
            _("Claim after the activity has ended (%(date)s).")
            % {"date": localized_date(fund_request.end_date)}
        )
    if fund_request.claim_deadline and today > fund_request.claim_deadline:
        raise ApplicationError(
            _("The claim deadline (%(date)s) has passed.")
            % {"date": localized_date(fund_request.claim_deadline)}
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
    return claim, len(checked)


def _claim_review(actor: Actor, claim: FundClaim) -> tuple[FundClaim, FundRequest, Allocation]:
    """The claim, its request and their allocation, locked in the order every fund service locks
    them (allocation first), for a finance decision on the request's transition."""
    fund_request_policy.require(actor, "review_claim", claim.fund_request, _("Finance reviews claims."))
    allocation = ledger.lock(claim.fund_request.allocation)
    fund_request = transitions.lock(claim.fund_request, related=REQUEST_RELATED)
    claim = transitions.lock(claim)
    return claim, fund_request, allocation


def claim_approve(*, actor: Actor, claim: FundClaim, amount: Decimal | None = None) -> FundClaim:
    claim, fund_request, allocation = _claim_review(actor, claim)
    with transitions.transition(
        fund_request,
        to=RequestStatus.CLAIM_APPROVED,
        actor=actor.user,
        action="mdf.claim_approved",
        partner_id=fund_request.partner_id,
    ) as change:
        amount = (
            claim.claimed_amount if amount in (None, "") else _money(amount, fund_request.currency, "amount")
        )
        if amount > fund_request.approved_amount or amount > claim.claimed_amount:
            raise ApplicationError(
                _(
                    "Approve at most %(max)s %(currency)s: the smaller of the pre-approved and the "
                    "claimed amount."
                )
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
        change.audit_extra = {"approved": amount}
    _notify_partner(
        fund_request,
        "mdf.claim_approved",
        _("Claim for %(ref)s approved: %(amount)s %(currency)s will be paid")
        % {
            "ref": fund_request.reference,
            "amount": localized_amount(amount, fund_request.currency),
            "currency": fund_request.currency,
        },
    )
    return claim


def claim_reject(*, actor: Actor, claim: FundClaim, reason: str) -> FundClaim:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give the partner a reason."), field="reason")
    claim, fund_request, allocation = _claim_review(actor, claim)
    with transitions.transition(
        fund_request,
        to=RequestStatus.CLAIM_REJECTED,
        actor=actor.user,
        action="mdf.claim_rejected",
        partner_id=fund_request.partner_id,
        reason=reason,
    ):
        _release(fund_request, allocation, actor.user, f"{fund_request.reference} claim rejected")
        claim.reviewed_by = actor.user
        claim.reviewed_at = timezone.now()
        claim.rejection_reason = reason
        claim.save(update_fields=["reviewed_by", "reviewed_at", "rejection_reason"])
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
    claim, fund_request, allocation = _claim_review(actor, claim)
    with transitions.transition(
        fund_request,
        to=RequestStatus.PAID,
        actor=actor.user,
        action="mdf.claim_paid",
        partner_id=fund_request.partner_id,
    ) as change:
        require_four_eyes(
            approved_by_id=claim.reviewed_by_id,
            payer_id=actor.user.pk,
            message=_(
                "You approved the claim for %(ref)s, so another finance user must mark it paid "
                "(four-eyes rule)."
            )
            % {"ref": fund_request.reference},
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
        change.audit_extra = {"paid": claim.approved_amount, "reference": payment_reference}
    _notify_partner(
        fund_request,
        "mdf.claim_paid",
        _("%(amount)s %(currency)s paid for %(ref)s")
        % {
            "amount": localized_amount(claim.approved_amount, fund_request.currency),
            "currency": fund_request.currency,
            "ref": fund_request.reference,
        },
    )
    return claim
