"""Demo data for incentives: co-op accrual for the demo's won deals, one deal attributed to the
MDF activity that sourced it, a SPIF and a rebate program with earnings from the won deals, and a
settlement run with one statement approved. Idempotent (programs by name, earnings by idempotency
key, a settlement run settles only what is unsettled)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from deals.models import Deal, DealStatus
from mdf.models import FundRequest, RequestStatus
from partners.middleware import resolve_actor
from partners.models import Membership, PartnerRole
from prm.models import User
from prm.roles import VendorRole
from prm.tenancy import Actor, Side

from . import services
from .models import IncentiveProgram, MdfAttribution, ProgramKind, ProgramStatus, Statement, StatementStatus


def seed(stdout: Any = None) -> None:
    for deal_id in Deal.objects.filter(status=DealStatus.WON).values_list("pk", flat=True):
        services.accrue_coop_for_deal(deal_id=deal_id)
    _seed_incentives()
    _seed_attribution()


def _seed_incentives() -> None:
    today = timezone.localdate()
    creator = User.objects.filter(vendor_role=VendorRole.PROGRAM_ADMIN).order_by("pk").first()
    # Wide windows around today, so the demo's won deals qualify whatever day it is seeded on.
    IncentiveProgram.objects.get_or_create(
        name="Security SPIF",
        defaults={
            "kind": ProgramKind.SPIF,
            "status": ProgramStatus.ACTIVE,
            "currency": "USD",
            "spif_amount": Decimal("250.00"),
            "starts_on": today - timedelta(days=365),
            "ends_on": today + timedelta(days=365),
            "created_by": creator,
        },
    )
    IncentiveProgram.objects.get_or_create(
        name="Growth rebate",
        defaults={
            "kind": ProgramKind.REBATE,
            "status": ProgramStatus.ACTIVE,
            "currency": "USD",
            "rebate_percent": Decimal("2.00"),
            "brackets": [["50000", "3"], ["150000", "4"]],
            "starts_on": today - timedelta(days=365),
            "ends_on": today + timedelta(days=365),
            "created_by": creator,
        },
    )
    for deal_id in Deal.objects.filter(status=DealStatus.WON).values_list("pk", flat=True):
        services.accrue_for_deal(deal_id=deal_id)
    if Statement.objects.exists():
        return
    services.settlement_run(period_end=today)
    finance = User.objects.filter(vendor_role=VendorRole.FINANCE, is_active=True).order_by("pk").first()
    statement = Statement.objects.filter(status=StatementStatus.DRAFT).order_by("pk").first()
    if finance is not None and statement is not None:
        actor = Actor(user=finance, side=Side.VENDOR, vendor_role=VendorRole.FINANCE)
        services.statement_approve(actor=actor, statement=statement)


def _seed_attribution() -> None:
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
