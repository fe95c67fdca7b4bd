"""What the fund, request and claim services share: parsing money and counts typed into forms, what
a fund request is locked with, releasing its commitment, and who hears about it. Locking a request
and checking, saving and auditing its status changes is prm.transitions' job."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse

from partners.models import PartnerRole
from partners.selectors import partner_people
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.money import quantize
from prm.notifications import notify

from .. import ledger
from ..models import (
    Allocation,
    FundRequest,
    LedgerEntry,
    LedgerKind,
)

User = get_user_model()


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


# What a fund request's services read with the locked row (prm.transitions.lock locks only the
# request itself, not these).
REQUEST_RELATED = ("partner", "allocation", "allocation__budget__period")


def _partner_marketing(partner_id: int) -> list[Any]:
    """Who hears about a partner's funds: its admins and marketing people."""
    return partner_people(partner_id, {PartnerRole.ADMIN, PartnerRole.MARKETING})


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


def _notify_vendor(users: list[Any], kind: str, title: str, fund_request: FundRequest) -> None:
    for user in users:
        notify(
            recipient=user,
            kind=kind,
            title=title,
            url=reverse("admin:mdf_fundrequest_change", args=[fund_request.pk]),
        )


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
