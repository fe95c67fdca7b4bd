"""Demo data for incentives: co-op accrual for the demo's won deals, and one deal attributed to
the MDF activity that sourced it. Idempotent."""

from __future__ import annotations

from typing import Any

from deals.models import Deal, DealStatus
from mdf.models import FundRequest, RequestStatus
from partners.middleware import resolve_actor
from partners.models import Membership, PartnerRole

from . import services
from .models import MdfAttribution


def seed(stdout: Any = None) -> None:
    for deal_id in Deal.objects.filter(status=DealStatus.WON).values_list("pk", flat=True):
        services.accrue_coop_for_deal(deal_id=deal_id)
    if MdfAttribution.objects.exists():
        return
    fund_request = FundRequest.objects.filter(status=RequestStatus.PAID).select_related("partner").first()
    if fund_request is None:
        return
    deal = Deal.objects.filter(partner=fund_request.partner, status=DealStatus.WON).first()
    admin = Membership.objects.filter(
        partner=fund_request.partner, role=PartnerRole.ADMIN, is_active=True
    ).first()
    if deal is not None and admin is not None and deal.created_at.date() >= fund_request.start_date:
        services.attribute_deal(actor=resolve_actor(admin.user), deal=deal, fund_request=fund_request)
