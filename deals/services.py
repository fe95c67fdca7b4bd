"""Writes for deal registration: one function per transition, each on the kernel's mechanism
(prm.transitions: lock, allowed move, audit, side effects after commit) plus its own rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from partners.models import PartnerRole
from partners.selectors import partner_people, reviewers_for
from prm import audit, transitions
from prm.calendar import add_business_days
from prm.domains import DOMAIN_RE, normalise_domain
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.i18n import localized_amount, localized_date
from prm.money import quantize
from prm.notifications import notify
from prm.references import next_reference
from prm.tenancy import Actor, system_scope

from . import authorizations, conflicts, names
from .models import (
    OPEN_STAGE_CHOICES,
    ConflictResolution,
    ConflictStatus,
    Deal,
    DealConflict,
    DealExtensionRequest,
    DealLine,
    DealStage,
    DealStatus,
    ExtensionStatus,
    Product,
    WonCheck,
)
from .policies import deal_policy
from .signals import deal_lost, deal_won
from .webhooks import emit_deal_event

User = get_user_model()

CUSTOMER_FIELDS = (
    "customer_name",
    "customer_domain",
    "customer_country",
    "customer_region",
    "contact_name",
    "contact_email",
    "contact_phone",
    "title",
    "stage",
    "expected_close_date",
    "currency",
    "notes",
)


@dataclass(frozen=True)
class LineInput:
    product_id: int
    quantity: int
    unit_price: Decimal


def _lock(deal: Deal) -> Deal:
    # The partner and its tier are read by most rules and notifications; only the deal is locked.
    return transitions.lock(deal, related=("partner", "partner__tier"))


def _notify_partner(deal: Deal, kind: str, title: str, body: str = "") -> None:
    """The deal's registrant and the partner's admins hear about every decision (and the
    partner's systems, through its webhooks)."""
    emit_deal_event(deal, kind)
    recipients = {deal.registered_by_id: deal.registered_by} if deal.registered_by.is_active else {}
    for user in partner_people(deal.partner_id, {PartnerRole.ADMIN}):
        recipients[user.pk] = user
    for user in recipients.values():
        notify(
            recipient=user,
            kind=kind,
            title=title,
            body=body,
            partner_id=deal.partner_id,
            url=reverse("deals:detail", args=[deal.pk]),
        )


def _notify_reviewers(deal: Deal, kind: str, title: str) -> None:
    # What the partner did (submitted, won, lost, asked for an extension) reaches its systems too.
    emit_deal_event(deal, kind)
    for user in reviewers_for(deal.partner):
        notify(recipient=user, kind=kind, title=title, url=reverse("deals:review_detail", args=[deal.pk]))


# --- Drafts ------------------------------------------------------------------------------------
def _clean_lines(lines: list[LineInput], currency: str) -> list[tuple[Product, int, Decimal]]:
    products = {
        p.pk: p for p in Product.objects.filter(pk__in=[line.product_id for line in lines], active=True)
    }
    cleaned = []
    for index, line in enumerate(lines, start=1):
        product = products.get(line.product_id)
        if product is None:
            raise ApplicationError(_("Line %(n)s: choose an active product.") % {"n": index}, field="lines")
        if not isinstance(line.quantity, int) or line.quantity < 1:
            raise ApplicationError(
                _("Line %(n)s: the quantity must be at least 1.") % {"n": index}, field="lines"
            )
        try:
            price = quantize(Decimal(line.unit_price), currency)
        except (InvalidOperation, TypeError) as exc:
            raise ApplicationError(_("Line %(n)s: enter a price.") % {"n": index}, field="lines") from exc
        if price < 0:
            raise ApplicationError(
                _("Line %(n)s: the price cannot be negative.") % {"n": index}, field="lines"
            )
        cleaned.append((product, line.quantity, price))
    return cleaned


def _write_lines(deal: Deal, lines: list[LineInput]) -> None:
    cleaned = _clean_lines(lines, deal.currency)
    DealLine.objects.filter(deal=deal).delete()
    DealLine.objects.bulk_create(
        DealLine(
            deal=deal,
            partner_id=deal.partner_id,
            product=product,
            quantity=quantity,
            unit_price=price,
            amount=quantize(price * quantity, deal.currency),
        )
        for product, quantity, price in cleaned
    )
    deal.amount = quantize(
        sum((price * quantity for _, quantity, price in cleaned), Decimal("0")), deal.currency
    )


def _apply_customer(deal: Deal, data: dict[str, Any]) -> None:
    if data.get("stage") and data["stage"] not in dict(OPEN_STAGE_CHOICES):
        # Closed stages come with the won / lost transitions, never with a registration.
        raise ApplicationError(_("Choose a stage."), field="stage")
    for name in CUSTOMER_FIELDS:
        if name in data:
            value = data[name]
            if value is None and name != "expected_close_date":
                value = ""  # text fields are cleared to empty; the close date may be cleared to None
            setattr(deal, name, value)
    deal.customer_domain = normalise_domain(deal.customer_domain)
    deal.customer_key = names.normalise_company_name(deal.customer_name)


def deal_save_draft(
    *,
    actor: Actor,
    data: dict[str, Any],
    lines: list[LineInput],
    deal: Deal | None = None,
    submission_key: uuid.UUID | None = None,
) -> Deal:
    """Create a draft (``deal`` None) or update a draft / returned deal. ``submission_key`` makes
    a double-clicked "save" or "submit" create one deal, not two."""
    if deal is None:
        deal_policy.require(
            actor, "register", None, _("Only active partners' sales users and admins register deals.")
        )
        if submission_key and (existing := Deal.objects.filter(submission_key=submission_key).first()):
            if existing.partner_id != actor.partner_id:
                raise ApplicationError(_("This form was already used; reload the page."))
            return existing
        if not (data.get("customer_name") or "").strip():
            raise ApplicationError(_("Enter the customer's company name."), field="customer_name")
        deal = Deal(partner=actor.partner, registered_by=actor.user, submission_key=submission_key)
        _apply_customer(deal, data)
        _clean_lines(lines, deal.currency)  # refuse bad lines before anything is written
        # ... and products of a line the partner is not authorized for (deals.authorizations).
        authorizations.check_products(partner=actor.partner, product_ids=[line.product_id for line in lines])
        deal.reference = next_reference("deals_reference_seq", "DR")
        try:
            with transaction.atomic():
                deal.save()
        except IntegrityError as exc:  # the same submission key raced in from a second click
            existing = Deal.objects.filter(submission_key=submission_key).first() if submission_key else None
            if existing is None or existing.registered_by_id != actor.user.pk:
                # Another person's key (hidden from us by row-level security), or no key at all.
                raise ApplicationError(_("This form was already used; reload the page.")) from exc
            return existing
        _write_lines(deal, lines)
        deal.save(update_fields=["amount"])
        audit.record(
            actor=actor.user,
            action="deal.drafted",
            target=deal,
            partner_id=deal.partner_id,
            after={"status": deal.status, "amount": deal.amount, "currency": deal.currency},
        )
        return deal
    deal = _lock(deal)
    deal_policy.require(
        actor, "edit", deal, _("Only drafts and deals returned for information can be edited.")
    )
    _apply_customer(deal, data)
    authorizations.check_products(partner=deal.partner, product_ids=[line.product_id for line in lines])
    _write_lines(deal, lines)
    deal.save()
    audit.record(
        actor=actor.user,
        action="deal.edited",
        target=deal,
        partner_id=deal.partner_id,
        after={"amount": deal.amount, "currency": deal.currency},
    )
    return deal


def _validate_for_submission(deal: Deal) -> None:
    problems = []
    if not deal.customer_name.strip():
        problems.append(_("Enter the customer's company name."))
    if not deal.customer_domain:
        problems.append(_("Enter the customer's website domain."))
    elif not DOMAIN_RE.match(deal.customer_domain):
        problems.append(
            _("“%(domain)s” is not a website domain such as example.com.") % {"domain": deal.customer_domain}
        )
    if not deal.customer_country:
        problems.append(_("Choose the customer's country."))
    if deal.expected_close_date is None:
        problems.append(_("Enter the expected close date."))
    elif deal.expected_close_date < timezone.localdate():
        problems.append(_("The expected close date is in the past."))
    product_ids = list(DealLine.objects.filter(deal=deal).values_list("product_id", flat=True))
    if not product_ids:
        problems.append(_("Add at least one product line."))
    elif deal.amount <= 0:
        problems.append(_("The deal's amount must be more than zero."))
    if product_ids:
        # An authorization may have lapsed since the draft was saved (deals.authorizations).
        try:
            authorizations.check_products(partner=deal.partner, product_ids=product_ids)
        except ApplicationError as exc:
            problems.extend(exc.extra["problems"])
    if problems:
        raise ApplicationError(" ".join(str(p) for p in problems), extra={"problems": problems})


# --- Submission and review --------------------------------------------------------------------
def deal_submit(*, actor: Actor, deal: Deal) -> Deal:
    deal = _lock(deal)
    if deal.status == DealStatus.SUBMITTED and deal.submitted_at:
        return deal  # a double-clicked submit: already done, nothing more to do
    deal_policy.require(actor, "submit", deal, _("Only drafts and returned deals can be submitted."))
    with transitions.transition(
        deal,
        to=DealStatus.SUBMITTED,
        actor=actor.user,
        action="deal.submitted",
        snapshot=["status", "conflict_status"],
        partner_id=deal.partner_id,
    ) as change:
        _validate_for_submission(deal)
        conflicts.lock_customer(deal)
        findings = conflicts.check(deal)
        own, evidence = findings.own, findings.evidence
        if own is not None:
            if deal_policy.scope(actor).filter(pk=own.pk).exists():
                raise ApplicationError(
                    _(
                        "You already have a registration for this customer: %(ref)s (%(status)s). "
                        "Update that deal instead."
                    )
                    % {"ref": own.reference, "status": own.get_status_display().lower()},
                    extra={"duplicate": True},
                )
            # A colleague's deal this user cannot open: say so without pointing at it.
            raise ApplicationError(
                _("Your company already has a registration for this customer; ask your partner admin."),
                extra={"duplicate": True},
            )
        conflicts.remember_customer(deal)
        now = timezone.now()
        change.set(
            submitted_at=now,
            first_submitted_at=deal.first_submitted_at or now,
            review_due_at=add_business_days(now, settings.PRM["DEAL_REVIEW_SLA_BUSINESS_DAYS"]),
            review_reminder_sent_at=None,
            conflict_status=_store_evidence(deal, evidence),
        )
    _notify_reviewers(
        deal,
        "deal.submitted",
        _("Deal %(ref)s from %(partner)s awaits review%(flag)s")
        % {
            "ref": deal.reference,
            "partner": deal.partner.legal_name,
            "flag": _(" (possible conflict)") if evidence else "",
        },
    )
    return deal


def _store_evidence(deal: Deal, evidence: list[conflicts.Evidence]) -> str:
    """Keep the evidence (a pair already judged on an earlier submission keeps its verdict) and
    return the partner-facing status, derived from the stored rows so the two always agree."""
    with system_scope():
        DealConflict.objects.bulk_create(
            [
                DealConflict(
                    deal=deal,
                    conflicting_deal=item.conflicting_deal,
                    domain_match=item.domain_match,
                    name_similarity=item.name_similarity,
                    shared_products=item.shared_products,
                    score=item.score,
                )
                for item in evidence
            ],
            ignore_conflicts=True,
        )
        unresolved = (
            DealConflict.objects.filter(deal=deal).exclude(resolution=ConflictResolution.DISMISSED).exists()
        )
    if unresolved:
        return ConflictStatus.UNDER_REVIEW
    return ConflictStatus.CLEARED if evidence else ConflictStatus.NONE


def _review(actor: Actor, deal: Deal) -> Deal:
    message = _("Only the partner's channel account manager or a program admin reviews.")
    # Who may review depends on the partner, not on the row's state: refuse before locking, since
    # the database itself hides a deal outside the reviewer's portfolio from the lock.
    deal_policy.require(actor, "review", deal, message)
    return _lock(deal)


def deal_approve(*, actor: Actor, deal: Deal) -> Deal:
    deal = _review(actor, deal)
    with transitions.transition(
        deal,
        to=DealStatus.APPROVED,
        actor=actor.user,
        action="deal.approved",
        snapshot=["status", "protection_expires_at", "discount_percent"],
        partner_id=deal.partner_id,
    ) as change:
        with system_scope():
            # An upheld conflict means another partner holds this customer: approval is not possible.
            open_conflicts = DealConflict.objects.filter(
                deal=deal, resolution__in=[ConflictResolution.OPEN, ConflictResolution.UPHELD]
            ).count()
        if open_conflicts:
            raise ApplicationError(_("Resolve the possible conflict first: dismiss it, or reject the deal."))
        now = timezone.now()
        change.set(
            reviewed_by=actor.user,
            reviewed_at=now,
            approved_at=now,
            protection_expires_at=now + timedelta(days=settings.PRM["DEAL_PROTECTION_DAYS"]),
            discount_percent=deal.partner.tier.deal_registration_discount_percent,
            decision_reason="",
        )
    _notify_partner(
        deal,
        "deal.approved",
        _("Deal %(ref)s approved, protected until %(date)s")
        % {
            "ref": deal.reference,
            "date": localized_date(timezone.localdate(deal.protection_expires_at)),
        },
    )
    return deal


def _decide_with_reason(actor: Actor, deal: Deal, target: str, reason: str, action: str) -> Deal:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give the partner a reason."), field="reason")
    deal = _review(actor, deal)
    with transitions.transition(
        deal, to=target, actor=actor.user, action=action, partner_id=deal.partner_id, reason=reason
    ) as change:
        change.set(reviewed_by=actor.user, reviewed_at=timezone.now(), decision_reason=reason)
    return deal


def deal_reject(*, actor: Actor, deal: Deal, reason: str) -> Deal:
    deal = _decide_with_reason(actor, deal, DealStatus.REJECTED, reason, "deal.rejected")
    _notify_partner(
        deal, "deal.rejected", _("Deal %(ref)s was not approved") % {"ref": deal.reference}, reason
    )
    return deal


def deal_return_for_info(*, actor: Actor, deal: Deal, reason: str) -> Deal:
    deal = _decide_with_reason(actor, deal, DealStatus.RETURNED, reason, "deal.returned")
    _notify_partner(
        deal, "deal.returned", _("Deal %(ref)s needs more information") % {"ref": deal.reference}, reason
    )
    return deal


def conflict_resolve(*, actor: Actor, conflict: DealConflict, resolution: str) -> DealConflict:
    if resolution not in {ConflictResolution.DISMISSED, ConflictResolution.UPHELD}:
        raise ApplicationError(_("Choose whether the conflict is dismissed or upheld."))
    deal = _review(actor, conflict.deal)
    if deal.status not in {DealStatus.SUBMITTED, DealStatus.RETURNED}:
        raise ApplicationError(_("The deal was already decided; its conflicts can no longer change."))
    with system_scope():
        conflict = DealConflict.objects.select_for_update().get(pk=conflict.pk)
        if conflict.resolution != ConflictResolution.OPEN:
            raise ApplicationError(_("This conflict was already resolved."))
        before = {"resolution": conflict.resolution}
        conflict.resolution = resolution
        conflict.resolved_by = actor.user
        conflict.resolved_at = timezone.now()
        conflict.save(update_fields=["resolution", "resolved_by", "resolved_at"])
        still_open = DealConflict.objects.filter(deal=deal, resolution=ConflictResolution.OPEN).exists()
        upheld = DealConflict.objects.filter(deal=deal, resolution=ConflictResolution.UPHELD).exists()
    if not still_open and not upheld and deal.conflict_status == ConflictStatus.UNDER_REVIEW:
        deal.conflict_status = ConflictStatus.CLEARED
        deal.save(update_fields=["conflict_status", "updated_at"])
    audit.record(
        actor=actor.user,
        action="deal.conflict_resolved",
        target=deal,
        before=before,
        after={"resolution": resolution},
        partner_id=deal.partner_id,
    )
    return conflict


# --- After approval: extensions, stage, won / lost, expiry -----------------------------------
def deal_request_extension(*, actor: Actor, deal: Deal, reason: str) -> DealExtensionRequest:
    deal = _lock(deal)
    deal_policy.require(actor, "request_extension", deal, _("Only approved deals can be extended."))
    if deal.extensions_used >= settings.PRM["DEAL_MAX_EXTENSIONS"]:
        raise ApplicationError(_("This deal already used its extension."))
    if not (reason or "").strip():
        raise ApplicationError(_("Say why you need more time."), field="reason")
    if DealExtensionRequest.objects.filter(deal=deal, status=ExtensionStatus.PENDING).exists():
        raise ApplicationError(_("An extension request for this deal is already waiting for review."))
    request = DealExtensionRequest.objects.create(
        deal=deal,
        partner_id=deal.partner_id,
        requested_by=actor.user,
        reason=reason.strip(),
        days=settings.PRM["DEAL_EXTENSION_DAYS"],
    )
    audit.record(
        actor=actor.user,
        action="deal.extension_requested",
        target=deal,
        partner_id=deal.partner_id,
        after={"days": request.days},
        reason=request.reason,
    )
    _notify_reviewers(
        deal, "deal.extension_requested", _("Extension requested for deal %(ref)s") % {"ref": deal.reference}
    )
    return request


def extension_decide(
    *, actor: Actor, extension: DealExtensionRequest, approve: bool, reason: str = ""
) -> Any:
    deal = _review(actor, extension.deal)
    extension = DealExtensionRequest.objects.select_for_update().get(pk=extension.pk)
    if extension.status != ExtensionStatus.PENDING:
        raise ApplicationError(_("This extension request was already decided."))
    if not approve and not (reason or "").strip():
        raise ApplicationError(_("Give the partner a reason."), field="reason")
    if approve and deal.status != DealStatus.APPROVED:
        raise ApplicationError(_("Only an approved deal can be extended."))
    extension.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    extension.reviewed_by = actor.user
    extension.reviewed_at = timezone.now()
    extension.decision_reason = reason
    extension.save(update_fields=["status", "reviewed_by", "reviewed_at", "decision_reason"])
    # Not a change of status: the deal's protection is what moves, audited the same way.
    with transitions.transition(
        deal,
        actor=actor.user,
        action="deal.extension_" + ("approved" if approve else "rejected"),
        snapshot=["protection_expires_at", "extensions_used"],
        partner_id=deal.partner_id,
        reason=reason,
    ) as change:
        if approve:
            change.set(
                protection_expires_at=max(deal.protection_expires_at or timezone.now(), timezone.now())
                + timedelta(days=extension.days),
                extensions_used=deal.extensions_used + 1,
                expiry_warnings_sent=[],
            )
    _notify_partner(
        deal,
        "deal.extension_decided",
        (
            _("Extension approved: deal %(ref)s is protected until %(date)s")
            % {
                "ref": deal.reference,
                "date": localized_date(timezone.localdate(deal.protection_expires_at)),
            }
            if approve
            else _("Extension for deal %(ref)s was not approved") % {"ref": deal.reference}
        ),
        reason,
    )
    return extension


def deal_update_stage(*, actor: Actor, deal: Deal, stage: str) -> Deal:
    deal = _lock(deal)
    deal_policy.require(actor, "update_stage", deal, _("Only approved deals move through stages."))
    # The closed stages are set by the won / lost transitions, never chosen.
    if stage not in dict(OPEN_STAGE_CHOICES):
        raise ApplicationError(_("Choose a stage."), field="stage")
    if stage == deal.stage:
        return deal
    with transitions.transition(
        deal, actor=actor.user, action="deal.stage_changed", snapshot=["stage"], partner_id=deal.partner_id
    ) as change:
        change.set(stage=stage)
    return deal


def won_amount_limit(deal: Deal) -> Decimal:
    """The most a win on ``deal`` may be reported at: a multiple of the registered amount."""
    return quantize(deal.amount * settings.PRM["WON_AMOUNT_MAX_MULTIPLE"], deal.currency)


def _clean_won_figures(deal: Deal, won_amount: Decimal | None, closed_on: date | None) -> Decimal:
    """The figures every won report must have, whoever reports it; returns the amount rounded to
    the currency."""
    if won_amount is None or won_amount <= 0:
        raise ApplicationError(_("Enter the won amount."), field="won_amount")
    amount = quantize(won_amount, deal.currency)
    limit = won_amount_limit(deal)
    if amount > limit:
        raise ApplicationError(
            _(
                "The won amount can be at most %(multiple)s times the registered amount, "
                "%(limit)s %(currency)s. Check the figure; register additional business as a new deal."
            )
            % {
                "multiple": settings.PRM["WON_AMOUNT_MAX_MULTIPLE"],
                "limit": f"{limit:,}",
                "currency": deal.currency,
            },
            field="won_amount",
        )
    if closed_on is None or closed_on > timezone.localdate():
        raise ApplicationError(_("The close date cannot be in the future."), field="closed_on")
    return amount


def won_checks(deal: Deal, *, won_amount: Decimal, closed_on: date) -> list[str]:
    """Why a win reported with these figures must wait for the vendor's confirmation (WonCheck
    values); empty when it counts at once.

    The amount may exceed the registered (approved) amount by WON_AMOUNT_TOLERANCE_PERCENT: quotes
    move a little between registration and signature. The close date must lie in the window the
    vendor's approval covers: from the day of the approval (protection, and the rewards that come
    with it, start there; a deal closed before the vendor approved it was not won under the
    program) to the last day of protection, and never after today (refused outright). Outside
    these, the rewards the win would accrue (co-op funds in an earlier period, rebates, SPIFs) are
    the vendor's call, not the partner's."""
    checks = []
    tolerance = Decimal(100 + settings.PRM["WON_AMOUNT_TOLERANCE_PERCENT"]) / Decimal(100)
    if won_amount > deal.amount * tolerance:
        checks.append(WonCheck.AMOUNT_ABOVE_REGISTERED.value)
    window_opened = deal.approved_at or deal.first_submitted_at or deal.created_at
    if closed_on < timezone.localdate(window_opened):
        checks.append(WonCheck.CLOSED_BEFORE_APPROVAL.value)
    # Protection ends at the instant protection_expires_at (the expiry job takes the deal then):
    # its last day is the day of the instant before, so an approval at 00:00 does not protect the
    # day it ends on.
    if deal.protection_expires_at and closed_on > timezone.localdate(
        deal.protection_expires_at - timedelta(microseconds=1)
    ):
        checks.append(WonCheck.CLOSED_AFTER_PROTECTION.value)
    return checks


def _won_event_sent_after_commit(change: transitions.Change[Deal]) -> None:
    deal_id = change.obj.pk
    # Incentives, co-op accrual, tiers and scorecards consume this after the commit; it is sent
    # only when a win counts (at once, or once the vendor confirmed it), and once per deal.
    change.after_commit(lambda: deal_won.send(sender=Deal, deal_id=deal_id))


# The stage follows the status (closed_won / closed_lost): saved with it, not audited apart.
WON_FIELDS = ["status", "won_amount", "closed_on"]


def deal_mark_won(*, actor: Actor, deal: Deal, won_amount: Decimal, closed_on: date) -> Deal:
    """The partner reports the deal won. Within the registered amount (plus the tolerance) and the
    approved window (see ``won_checks``) it is won at once; otherwise it waits, as WON_PENDING, for
    the channel account manager, and nothing accrues from it until confirmed."""
    deal = _lock(deal)
    if (
        deal.status in {DealStatus.WON, DealStatus.WON_PENDING}
        and actor.is_partner
        and deal.partner_id == actor.partner_id
        and won_amount is not None
        and deal.won_amount == quantize(won_amount, deal.currency)
        and deal.closed_on == closed_on
    ):
        return deal  # a double-clicked "Mark won": already recorded, nothing more to do
    deal_policy.require(actor, "mark_won", deal, _("Only approved deals can be marked won."))
    with transitions.transition(
        deal,
        to=DealStatus.WON,
        actor=actor.user,
        action="deal.won",
        snapshot=WON_FIELDS,
        partner_id=deal.partner_id,
    ) as change:
        amount = _clean_won_figures(deal, won_amount, closed_on)
        checks = won_checks(deal, won_amount=amount, closed_on=closed_on)
        if checks:
            change.become(DealStatus.WON_PENDING)
            change.action = "deal.won_claimed"
            change.audit_extra["checks"] = checks
        else:
            # Won at once: the stage says so. A win that waits keeps its open stage, since it
            # may be turned down and the deal be open again.
            change.set(stage=DealStage.CLOSED_WON)
            _won_event_sent_after_commit(change)
        change.set(
            won_amount=amount,
            closed_on=closed_on,
            won_claimed_at=timezone.now(),
            won_checks=checks,
            # A new report replaces the decision on an earlier one that was turned down.
            won_reviewed_by=None,
            won_reviewed_at=None,
            won_review_reason="",
        )
    if checks:
        _notify_reviewers(
            deal,
            "deal.won_claimed",
            _("%(partner)s reports deal %(ref)s won at %(amount)s %(currency)s: it awaits your confirmation")
            % {
                "partner": deal.partner.legal_name,
                "ref": deal.reference,
                "amount": localized_amount(deal.won_amount, deal.currency),
                "currency": deal.currency,
            },
        )
        return deal
    _notify_reviewers(
        deal,
        "deal.won",
        _("%(partner)s won deal %(ref)s") % {"partner": deal.partner.legal_name, "ref": deal.reference},
    )
    return deal


def deal_confirm_won(
    *,
    actor: Actor,
    deal: Deal,
    won_amount: Decimal | None = None,
    closed_on: date | None = None,
    note: str = "",
) -> Deal:
    """The channel account manager (or a program admin) confirms a win that waited, as reported or
    with a corrected amount and close date. Only now does it count: ``deal_won`` goes out after the
    commit, and accruals land in the periods of the confirmed close date."""
    deal = _review(actor, deal)
    if deal.status == DealStatus.WON:
        return deal  # a double-clicked "Confirm": already won, and the event already went out
    note = (note or "").strip()
    with transitions.transition(
        deal,
        to=DealStatus.WON,
        from_states={DealStatus.WON_PENDING},
        refusal=_("This deal has no win waiting for confirmation."),
        actor=actor.user,
        action="deal.won_confirmed",
        snapshot=WON_FIELDS,
        partner_id=deal.partner_id,
        reason=note,
    ) as change:
        closed_on = closed_on or deal.closed_on
        amount = _clean_won_figures(
            deal, won_amount if won_amount is not None else deal.won_amount, closed_on
        )
        change.set(
            stage=DealStage.CLOSED_WON,
            won_amount=amount,
            closed_on=closed_on,
            won_reviewed_by=actor.user,
            won_reviewed_at=timezone.now(),
            won_review_reason=note,
        )
        _won_event_sent_after_commit(change)
    _notify_partner(
        deal,
        "deal.won",
        _("Deal %(ref)s confirmed won: %(amount)s %(currency)s on %(date)s")
        % {
            "ref": deal.reference,
            "amount": localized_amount(deal.won_amount, deal.currency),
            "currency": deal.currency,
            "date": localized_date(deal.closed_on),
        },
        note,
    )
    return deal


def deal_reject_won(*, actor: Actor, deal: Deal, reason: str) -> Deal:
    """The channel account manager (or a program admin) turns a waiting win down, with a reason the
    partner sees. Nothing accrues; the deal is approved (open) again, so the partner can report the
    real figures or mark it lost."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Give the partner a reason."), field="reason")
    deal = _review(actor, deal)
    if deal.status == DealStatus.APPROVED and deal.won_reviewed_at and deal.won_review_reason == reason:
        return deal  # a double-clicked "Turn down": already done
    with transitions.transition(
        deal,
        to=DealStatus.APPROVED,
        from_states={DealStatus.WON_PENDING},
        refusal=_("This deal has no win waiting for confirmation."),
        actor=actor.user,
        action="deal.won_rejected",
        snapshot=WON_FIELDS,
        partner_id=deal.partner_id,
        reason=reason,
    ) as change:
        change.set(
            won_amount=None,
            closed_on=None,
            won_checks=[],
            won_reviewed_by=actor.user,
            won_reviewed_at=timezone.now(),
            won_review_reason=reason,
        )
    _notify_partner(
        deal,
        "deal.won_rejected",
        _("The win on deal %(ref)s was not confirmed") % {"ref": deal.reference},
        reason,
    )
    return deal


def deal_mark_lost(*, actor: Actor, deal: Deal, reason: str, closed_on: date | None = None) -> Deal:
    deal = _lock(deal)
    deal_policy.require(actor, "mark_lost", deal, _("Only approved deals can be marked lost."))
    with transitions.transition(
        deal, to=DealStatus.LOST, actor=actor.user, action="deal.lost", partner_id=deal.partner_id
    ) as change:
        if not (reason or "").strip():
            raise ApplicationError(_("Say why the deal was lost."), field="reason")
        change.reason = reason.strip()
        change.set(
            lost_reason=change.reason,
            closed_on=closed_on or timezone.localdate(),
            stage=DealStage.CLOSED_LOST,
        )
        deal_id = deal.pk
        change.after_commit(lambda: deal_lost.send(sender=Deal, deal_id=deal_id))
    _notify_reviewers(
        deal,
        "deal.lost",
        _("%(partner)s lost deal %(ref)s") % {"partner": deal.partner.legal_name, "ref": deal.reference},
    )
    return deal


def deal_expire(*, deal: Deal, now: Any = None) -> bool:
    """Expire an approved deal whose protection ended (system job; idempotent)."""
    now = now or timezone.now()
    deal = _lock(deal)
    if (
        deal.status != DealStatus.APPROVED
        or not deal.protection_expires_at
        or deal.protection_expires_at > now
    ):
        return False
    with transitions.transition(
        deal, to=DealStatus.EXPIRED, actor=None, action="deal.expired", partner_id=deal.partner_id
    ):
        pass  # the end of protection, checked above, is the only rule
    _notify_partner(
        deal, "deal.expired", _("Deal %(ref)s expired: its protection ended") % {"ref": deal.reference}
    )
    return True


def deal_warn_expiry(*, deal: Deal, days: int) -> bool:
    """Warn once per threshold (14 and 3 days by default) before protection ends."""
    deal = _lock(deal)
    if deal.status != DealStatus.APPROVED or days in deal.expiry_warnings_sent:
        return False
    deal.expiry_warnings_sent = sorted({*deal.expiry_warnings_sent, days}, reverse=True)
    deal.save(update_fields=["expiry_warnings_sent"])
    _notify_partner(
        deal,
        "deal.expiring",
        _("Deal %(ref)s loses its protection in %(days)s days") % {"ref": deal.reference, "days": days},
        _("Close it, or request an extension if you need more time."),
    )
    return True


def deal_remind_reviewer(*, deal: Deal) -> bool:
    deal = _lock(deal)
    if deal.status != DealStatus.SUBMITTED or deal.review_reminder_sent_at:
        return False
    deal.review_reminder_sent_at = timezone.now()
    deal.save(update_fields=["review_reminder_sent_at"])
    _notify_reviewers(
        deal,
        "deal.review_due",
        _("Review due: deal %(ref)s from %(partner)s")
        % {"ref": deal.reference, "partner": deal.partner.legal_name},
    )
    return True
