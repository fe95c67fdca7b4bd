"""Writes for incentives: co-op accrual from won deals, MDF attribution, incentive earnings
(accrual, reversal) and their settlement (run, approve, mark paid).

Earnings never move by update: every change is a new ``EarningEntry`` with a unique idempotency
key, and settlement records membership in ``SettlementLine`` rows (one per entry, unique).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone

from deals.models import Deal, DealLine, DealStatus
from deals.policies import deal_policy
from mdf.models import FundRequest, RequestStatus
from mdf.policies import fund_request_policy
from mdf.services import allocation_accrue, closed_accrual_period
from partners.models import PartnerRole
from partners.selectors import partner_people
from prm import audit, transitions
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.money import quantize, require_four_eyes
from prm.notifications import notify
from prm.policies import PermissionDenied
from prm.tenancy import Actor

from .models import (
    EarningEntry,
    EarningKind,
    IncentiveProgram,
    MdfAttribution,
    ProgramKind,
    ProgramStatus,
    SettlementLine,
    Statement,
    StatementStatus,
)
from .policies import earning_policy, statement_policy

ATTRIBUTABLE_REQUESTS = {
    RequestStatus.APPROVED,
    RequestStatus.CLAIM_SUBMITTED,
    RequestStatus.CLAIM_APPROVED,
    RequestStatus.PAID,
}


def accrue_coop_for_deal(*, deal_id: int) -> object | None:
    """Co-op MDF accrual for a won deal: the partner's tier percentage of the (confirmed) won
    amount, once per deal (the ledger's idempotency key), into the allocation of the fund period
    containing the close date. A win still waiting for the vendor's confirmation accrues nothing.
    A close date in a period that is already closed accrues nothing either, and the deal's history
    says so (see mdf.services.closed_accrual_period for why). System job: runs in the vendor
    scope."""
    deal = Deal.objects.select_related("partner__tier").get(pk=deal_id)
    if deal.status != DealStatus.WON or not deal.won_amount or deal.closed_on is None:
        return None
    percent = deal.partner.tier.mdf_accrual_percent or Decimal("0")
    if percent <= 0:
        return None
    amount = deal.won_amount * percent / Decimal("100")
    closed = closed_accrual_period(currency=deal.currency, on=deal.closed_on)
    if closed is not None:
        if not audit.history_for(target=deal).filter(action="mdf.accrual_refused").exists():
            audit.record(
                actor=None,
                action="mdf.accrual_refused",
                target=deal,
                partner_id=deal.partner_id,
                reason=_("No co-op funds accrued: %(period)s, which holds the close date, is closed.")
                % {"period": closed.name},
                after={"period": closed.name, "closed_on": deal.closed_on},
            )
        return None
    return allocation_accrue(
        partner=deal.partner,
        amount=amount,
        currency=deal.currency,
        on=deal.closed_on,
        source=f"deal:{deal.pk}",
    )


def attribute_deal(*, actor: Actor, deal: Deal, fund_request: FundRequest) -> MdfAttribution:
    if not (actor.is_partner and deal.partner_id == actor.partner_id == fund_request.partner_id):
        raise ApplicationError(_("Attribute your own deals to your own activities."))
    if (
        not deal_policy.scope(actor).filter(pk=deal.pk).exists()
        or not fund_request_policy.scope(actor).filter(pk=fund_request.pk).exists()
    ):
        raise ApplicationError(_("Attribute your own deals to your own activities."))
    if deal.status not in {DealStatus.APPROVED, DealStatus.WON}:
        raise ApplicationError(_("Only approved or won deals can be attributed."))
    if deal.currency != fund_request.currency:
        raise ApplicationError(
            _("%(ref)s is in %(deal)s but the activity is in %(request)s; ROI is measured in one currency.")
            % {"ref": deal.reference, "deal": deal.currency, "request": fund_request.currency}
        )
    if fund_request.status not in ATTRIBUTABLE_REQUESTS:
        raise ApplicationError(_("Only approved activities can source deals."))
    if deal.created_at.date() < fund_request.start_date:
        raise ApplicationError(
            _("%(ref)s was registered before the activity started.") % {"ref": deal.reference}
        )
    try:
        with transaction.atomic():
            attribution = MdfAttribution.objects.create(
                partner_id=deal.partner_id, deal=deal, fund_request=fund_request, attributed_by=actor.user
            )
    except IntegrityError as exc:
        raise ApplicationError(
            _("%(ref)s is already attributed to an activity.") % {"ref": deal.reference}
        ) from exc
    audit.record(
        actor=actor.user,
        action="mdf.deal_attributed",
        target=fund_request,
        partner_id=deal.partner_id,
        after={"deal": deal.reference},
    )
    return attribution


def detach_deal(*, actor: Actor, attribution: MdfAttribution) -> None:
    if not (
        actor.is_partner
        and attribution.partner_id == actor.partner_id
        and fund_request_policy.scope(actor).filter(pk=attribution.fund_request_id).exists()
    ):
        raise ApplicationError(_("Only your company's admins and marketing users change attributions."))
    audit.record(
        actor=actor.user,
        action="mdf.deal_detached",
        target=attribution.fund_request,
        partner_id=attribution.partner_id,
        before={"deal": attribution.deal.reference},
    )
    attribution.delete()


# --- Incentive earnings -------------------------------------------------------------------------
def accrual_key(program: IncentiveProgram, deal: Deal) -> str:
    return f"program:{program.pk}:deal:{deal.pk}"


def quarter_of(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = datetime.date(day.year, first_month, 1)
    next_start = datetime.date(day.year + (first_month == 10), (first_month + 2) % 12 + 1, 1)
    return start, next_start - datetime.timedelta(days=1)


def qualifying_programs(deal: Deal) -> list[IncentiveProgram]:
    """Active programs whose window holds the deal's close date, in the deal's currency (never
    converted), for the partner's current tier and one of the deal's product lines (an empty list
    on the program means all)."""
    if deal.status != DealStatus.WON or not deal.won_amount or deal.closed_on is None:
        return []
    programs = IncentiveProgram.objects.filter(
        status=ProgramStatus.ACTIVE,
        currency=deal.currency,
        starts_on__lte=deal.closed_on,
        ends_on__gte=deal.closed_on,
    ).prefetch_related("tiers")
    lines = set(DealLine.objects.filter(deal=deal).values_list("product__product_line", flat=True))
    result = []
    for program in programs:
        tier_ids = {tier.pk for tier in program.tiers.all()}
        if tier_ids and deal.partner.tier_id not in tier_ids:
            continue
        if program.product_lines and not lines & set(program.product_lines):
            continue
        result.append(program)
    return result


def quarter_revenue(program: IncentiveProgram, deal: Deal) -> Decimal:
    """The partner's won revenue in the program's currency in the calendar quarter of the deal's
    close date (inside the program's window), counting the deals closed up to and including this
    one, ordered by (closed_on, id). That order, not the order accruals happen to run in, decides
    the bracket, so a redelivered or late task gives the same answer."""
    start, _end = quarter_of(deal.closed_on)
    total = (
        Deal.objects.filter(
            partner_id=deal.partner_id,
            status=DealStatus.WON,
            currency=program.currency,
            closed_on__gte=max(start, program.starts_on),
        )
        .filter(Q(closed_on__lt=deal.closed_on) | Q(closed_on=deal.closed_on, pk__lte=deal.pk))
        .aggregate(total=Sum("won_amount"))["total"]
    )
    return total or Decimal("0")


def rebate_percent(program: IncentiveProgram, deal: Deal) -> Decimal:
    """The highest bracket whose threshold the quarter's revenue (with this deal) has reached, else
    the base rate. The rate applies to the whole won amount of this deal (no splitting across
    brackets). Deals already accrued keep the rate they earned, even if a deal with an earlier
    close date is recorded later: the ledger is append-only and there is no retroactive true-up
    (finance can post an adjustment)."""
    revenue = quarter_revenue(program, deal)
    percent = program.rebate_percent or Decimal("0")
    for threshold, bracket_percent in program.bracket_list():
        if revenue >= threshold:
            percent = bracket_percent
    return percent


def _earning_for(program: IncentiveProgram, deal: Deal) -> tuple[Decimal, str]:
    if program.kind == ProgramKind.SPIF:
        return quantize(program.spif_amount or Decimal("0"), program.currency), _("SPIF per won deal")
    percent = rebate_percent(program, deal)
    amount = quantize(deal.won_amount * percent / Decimal("100"), program.currency)
    return amount, _("Rebate %(percent)s%% of %(amount)s") % {"percent": percent, "amount": deal.won_amount}


def accrue_for_deal(*, deal_id: int) -> list[EarningEntry]:
    """Earnings for a won deal from every program it qualifies for. Idempotent: each entry's key is
    ``program:<id>:deal:<id>`` and the insert is ON CONFLICT DO NOTHING, so running it twice (a
    second signal, a redelivered task) adds nothing. System job: runs in the vendor scope."""
    deal = Deal.objects.select_related("partner").get(pk=deal_id)
    entries = []
    for program in qualifying_programs(deal):
        amount, memo = _earning_for(program, deal)
        if amount <= 0:
            continue
        entries.append(
            EarningEntry(
                partner_id=deal.partner_id,
                program=program,
                deal=deal,
                kind=EarningKind.ACCRUAL,
                amount=amount,
                currency=program.currency,
                idempotency_key=accrual_key(program, deal),
                memo=f"{deal.reference}: {memo}"[:255],
            )
        )
    if not entries:
        return []
    EarningEntry.objects.bulk_create(entries, ignore_conflicts=True)
    return list(EarningEntry.objects.filter(idempotency_key__in=[entry.idempotency_key for entry in entries]))


def earning_reverse(*, actor: Actor, entry: EarningEntry, reason: str) -> EarningEntry:
    """Take back an accrual with a new negative entry (key ``<accrual key>:reversal``); the
    accrual itself is never edited. If it was already settled, the reversal is simply netted off
    the partner's next statement."""
    if not earning_policy.can(actor, "reverse", entry):
        raise PermissionDenied(_("Only vendor finance and program admins reverse earnings."))
    if not earning_policy.scope(actor).filter(pk=entry.pk).exists():
        raise PermissionDenied(_("Only vendor finance and program admins reverse earnings."))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Say why the earning is reversed."), field="reason")
    if entry.kind != EarningKind.ACCRUAL:
        raise ApplicationError(_("Only accruals can be reversed; post an adjustment instead."))
    key = f"{entry.idempotency_key}:reversal"
    if EarningEntry.objects.filter(idempotency_key=key).exists():
        raise ApplicationError(_("This earning has already been reversed."))
    try:
        with transaction.atomic():
            reversal = EarningEntry.objects.create(
                partner_id=entry.partner_id,
                program_id=entry.program_id,
                deal_id=entry.deal_id,
                kind=EarningKind.REVERSAL,
                amount=-entry.amount,
                currency=entry.currency,
                idempotency_key=key,
                memo=reason[:255],
                actor=actor.user,
            )
    except IntegrityError as exc:  # a concurrent reversal won the race
        raise ApplicationError(_("This earning has already been reversed.")) from exc
    audit.record(
        actor=actor.user,
        action="incentives.earning_reversed",
        target=entry,
        partner_id=entry.partner_id,
        reason=reason,
        after={"reversal": reversal.pk, "amount": reversal.amount, "currency": reversal.currency},
    )
    return reversal


def earning_adjust(
    *,
    actor: Actor,
    partner_id: int,
    program: IncentiveProgram,
    amount: Decimal,
    reason: str,
    idempotency_key: str,
) -> tuple[EarningEntry, bool]:
    """A manual correction (positive or negative) in the program's currency, e.g. a rebate
    true-up. The caller names the key (``adjustment:<something stable>``) so a resubmitted form
    posts once; returns the entry and whether it was new."""
    if not earning_policy.can(actor, "adjust"):
        raise PermissionDenied(_("Only vendor finance and program admins adjust earnings."))
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Say why the earnings are adjusted."), field="reason")
    amount = quantize(amount, program.currency)
    if amount == 0:
        raise ApplicationError(_("Enter an amount other than zero."), field="amount")
    key = f"adjustment:{idempotency_key}"
    existing = EarningEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing, False
    entry = EarningEntry(
        partner_id=partner_id,
        program=program,
        kind=EarningKind.ADJUSTMENT,
        amount=amount,
        currency=program.currency,
        idempotency_key=key,
        memo=reason[:255],
        actor=actor.user,
    )
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        return EarningEntry.objects.get(idempotency_key=key), False
    audit.record(
        actor=actor.user,
        action="incentives.earning_adjusted",
        target=entry,
        partner_id=partner_id,
        reason=reason,
        after={"amount": amount, "currency": program.currency, "program": program.name},
    )
    return entry, True


# --- Settlement ---------------------------------------------------------------------------------
# One settlement run at a time, database-wide: a second run waits here and then sees the first
# one's settlement lines, so it finds nothing left to settle (SettlementLine.entry being unique is
# the backstop if anything ever bypasses the lock).
SETTLEMENT_LOCK_ID = 7_310_001


def previous_month_end(today: datetime.date | None = None) -> datetime.date:
    today = today or timezone.localdate()
    return today.replace(day=1) - datetime.timedelta(days=1)


def statement_number(*, partner_id: int, currency: str, period_end: datetime.date) -> str:
    return f"ST-{period_end:%Y%m%d}-{partner_id}-{currency}"


def settlement_run(*, period_end: datetime.date, actor: Actor | None = None) -> list[Statement]:
    """One draft statement per partner and currency for every unsettled entry created up to the end
    of ``period_end`` (local time). Nothing is created where a partner's net unsettled total is
    zero or negative (a reversal after payment waits for new earnings to offset), or where that
    partner already has a statement for this currency and period (entries carry to the next run).
    Running it again for the same period creates nothing."""
    cutoff = timezone.make_aware(
        datetime.datetime.combine(period_end + datetime.timedelta(days=1), datetime.time())
    )
    created: list[Statement] = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SETTLEMENT_LOCK_ID])
        unsettled = EarningEntry.objects.filter(created_at__lt=cutoff, settlement_line__isnull=True).order_by(
            "partner_id", "currency", "created_at", "pk"
        )
        groups: dict[tuple[int, str], list[EarningEntry]] = defaultdict(list)
        for entry in unsettled:
            groups[(entry.partner_id, entry.currency)].append(entry)
        existing = set(Statement.objects.filter(period_end=period_end).values_list("partner_id", "currency"))
        for (partner_id, currency), entries in groups.items():
            total = quantize(sum((entry.amount for entry in entries), Decimal("0")), currency)
            if total <= 0 or (partner_id, currency) in existing:
                continue
            statement = Statement.objects.create(
                partner_id=partner_id,
                currency=currency,
                period_end=period_end,
                number=statement_number(partner_id=partner_id, currency=currency, period_end=period_end),
                total=total,
            )
            SettlementLine.objects.bulk_create(
                [
                    SettlementLine(
                        statement=statement, entry=entry, partner_id=partner_id, amount=entry.amount
                    )
                    for entry in entries
                ]
            )
            audit.record(
                actor=actor.user if actor else None,
                action="incentives.statement_created",
                target=statement,
                partner_id=partner_id,
                after={"total": total, "currency": currency, "lines": len(entries), "period_end": period_end},
            )
            created.append(statement)
    return created


def _lock_statement(statement: Statement) -> Statement:
    return transitions.lock(statement, related=("partner",))


def _notify_partner_admins(statement: Statement, kind: str, title: str) -> None:
    for admin in partner_people(statement.partner_id, {PartnerRole.ADMIN}):
        notify(
            recipient=admin,
            kind=kind,
            title=title,
            url=reverse("incentives:earnings"),
            partner_id=statement.partner_id,
        )


def statement_approve(*, actor: Actor, statement: Statement) -> Statement:
    statement = _lock_statement(statement)
    if not statement_policy.can(actor, "approve"):
        raise PermissionDenied(_("Only vendor finance approves statements."))
    with transitions.transition(
        statement,
        to=StatementStatus.APPROVED,
        actor=actor.user,
        action="incentives.statement_approved",
        after=["status", "total", "currency"],
        partner_id=statement.partner_id,
    ) as change:
        change.set(approved_by=actor.user, approved_at=timezone.now())
    _notify_partner_admins(
        statement,
        "incentives.statement_approved",
        _("Statement %(number)s approved: %(total)s %(currency)s will be paid")
        % {"number": statement.number, "total": statement.total, "currency": statement.currency},
    )
    return statement


def statement_mark_paid(*, actor: Actor, statement: Statement, payment_reference: str = "") -> Statement:
    statement = _lock_statement(statement)
    if not statement_policy.can(actor, "mark_paid"):
        raise PermissionDenied(_("Only vendor finance marks statements paid."))
    with transitions.transition(
        statement,
        to=StatementStatus.PAID,
        actor=actor.user,
        action="incentives.statement_paid",
        after=["status", "total", "currency", "payment_reference"],
        partner_id=statement.partner_id,
    ) as change:
        require_four_eyes(
            approved_by_id=statement.approved_by_id,
            payer_id=actor.user.pk,
            message=_(
                "You approved statement %(number)s, so another finance user must mark it paid "
                "(four-eyes rule)."
            )
            % {"number": statement.number},
        )
        change.set(
            paid_by=actor.user,
            paid_at=timezone.now(),
            payment_reference=(payment_reference or "").strip()[:100],
        )
    _notify_partner_admins(
        statement,
        "incentives.statement_paid",
        _("Statement %(number)s paid: %(total)s %(currency)s")
        % {"number": statement.number, "total": statement.total, "currency": statement.currency},
    )
    return statement
