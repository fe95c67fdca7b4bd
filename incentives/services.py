"""Writes for incentives: co-op accrual from won deals, MDF attribution."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from deals.models import Deal, DealStatus
from deals.policies import deal_policy
from mdf.models import FundRequest, RequestStatus
from mdf.policies import fund_request_policy
from mdf.services import allocation_accrue
from prm import audit
from prm.errors import ApplicationError
from prm.tenancy import Actor

from .models import MdfAttribution

ATTRIBUTABLE_REQUESTS = {
    RequestStatus.APPROVED,
    RequestStatus.CLAIM_SUBMITTED,
    RequestStatus.CLAIM_APPROVED,
    RequestStatus.PAID,
}


def accrue_coop_for_deal(*, deal_id: int) -> object | None:
    """Co-op MDF accrual for a won deal: the partner's tier percentage of the won amount, once per
    deal (the ledger's idempotency key). System job: runs in the vendor scope."""
    deal = Deal.objects.select_related("partner__tier").get(pk=deal_id)
    if deal.status != DealStatus.WON or not deal.won_amount:
        return None
    percent = deal.partner.tier.mdf_accrual_percent or Decimal("0")
    if percent <= 0:
        return None
    amount = deal.won_amount * percent / Decimal("100")
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
