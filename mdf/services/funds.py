"""Writes for the money side of MDF: fund periods and their budgets, allocations (by hand and co-op
accrual) posted to the fund ledger, the closing of a fund period that forfeits what was left
unused, and how much each channel account manager may approve (approval limits)."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from partners.models import Partner
from prm import audit
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.i18n import localized_amount
from prm.money import quantize
from prm.notifications import notify
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor

from .. import ledger
from ..models import (
    Allocation,
    ApprovalLimit,
    Budget,
    FundPeriod,
    LedgerEntry,
    LedgerKind,
)
from ..policies import allocation_policy
from ._shared import _money, _partner_marketing

PERIOD_FIELDS = ["name", "starts_on", "ends_on"]
BUDGET_FIELDS = ["period", "currency", "amount"]
APPROVAL_LIMIT_FIELDS = ["amount", "currency"]


def _require_program_admin(actor: Actor, message: str | None = None) -> None:
    # Periods, budgets and approval limits set how much the program may spend and who may commit
    # it; the admin grants other vendor roles only their view permissions (mdf.apps), and the
    # service holds the same line.
    if not (actor.is_vendor and actor.vendor_role == VendorRole.PROGRAM_ADMIN):
        raise PermissionDenied(message or _("Only program admins set fund periods and budgets."))


def _record_change(
    actor: Actor, target: FundPeriod | Budget, action: str, before: dict, fields: list[str]
) -> None:
    after = audit.snapshot(target, fields)
    if before != after:  # saving an unchanged form leaves no trace
        audit.record(actor=actor.user, action=action, target=target, before=before, after=after)


@transaction.atomic
def period_save(*, actor: Actor, period: FundPeriod) -> FundPeriod:
    """Create a fund period or change its name and dates, as the caller's form has checked them.
    Closing it is ``period_close``'s alone, so an edit never writes ``closed_at``."""
    _require_program_admin(actor)
    if period.pk is None:
        period.save()
        _record_change(actor, period, "mdf.period_created", {}, PERIOD_FIELDS)
        return period
    before = audit.snapshot(FundPeriod.objects.select_for_update().get(pk=period.pk), PERIOD_FIELDS)
    period.save(update_fields=PERIOD_FIELDS)
    _record_change(actor, period, "mdf.period_changed", before, PERIOD_FIELDS)
    return period


@transaction.atomic
def budget_save(*, actor: Actor, budget: Budget) -> Budget:
    """Create a budget or change its amount, as the caller's form has checked it (never below what
    is already allocated from it, and its currency fixed once funds are allocated in it). The row
    is locked as ``allocation_add`` locks it, so a save waits for an allocation in flight."""
    _require_program_admin(actor)
    if budget.pk is None:
        budget.save()
        _record_change(actor, budget, "mdf.budget_created", {}, BUDGET_FIELDS)
        return budget
    locked = Budget.objects.select_for_update(of=("self",)).select_related("period").get(pk=budget.pk)
    before = audit.snapshot(locked, BUDGET_FIELDS)
    budget.save(update_fields=BUDGET_FIELDS)
    _record_change(actor, budget, "mdf.budget_changed", before, BUDGET_FIELDS)
    return budget


@transaction.atomic
def approval_limit_save(*, actor: Actor, limit: ApprovalLimit) -> ApprovalLimit:
    """Set a channel account manager's approval limit in a currency, or change its amount, as the
    caller's form has checked it. Audited on the manager (``mdf.approval_limit_set`` or
    ``_changed``) with the amount and currency before and after; a change never moves the limit to
    another user."""
    _require_program_admin(actor, _("Only program admins set approval limits."))
    if limit.pk is None:
        before: dict = {}
        limit.save()
        action = "mdf.approval_limit_set"
    else:
        before = audit.snapshot(
            ApprovalLimit.objects.select_for_update().get(pk=limit.pk), APPROVAL_LIMIT_FIELDS
        )
        limit.save(update_fields=APPROVAL_LIMIT_FIELDS)
        action = "mdf.approval_limit_changed"
    audit.record(
        actor=actor.user,
        action=action,
        target=limit.user,
        before=before,
        after=audit.snapshot(limit, APPROVAL_LIMIT_FIELDS),
    )
    return limit


@transaction.atomic
def approval_limit_remove(*, actor: Actor, limit: ApprovalLimit) -> None:
    """Remove a manager's approval limit (the default from settings applies again), audited on the
    manager with what it was."""
    _require_program_admin(actor, _("Only program admins set approval limits."))
    limit = ApprovalLimit.objects.select_for_update(of=("self",)).select_related("user").get(pk=limit.pk)
    before = audit.snapshot(limit, APPROVAL_LIMIT_FIELDS)
    limit.delete()
    audit.record(actor=actor.user, action="mdf.approval_limit_removed", target=limit.user, before=before)


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
            % {
                "amount": localized_amount(amount, budget.currency),
                "currency": budget.currency,
                "period": budget.period,
            },
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
