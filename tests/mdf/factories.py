"""Builders for the MDF tests: a partner team with every partner role, periods and budgets, funds
allocated through the real service, and fund requests and claims walked through the real services
(each partner action in that partner's database scope, each vendor action in the vendor's)."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from mdf import ledger, services
from mdf.models import Allocation, Budget, FundClaim, FundPeriod, FundRequest
from partners.models import Partner, PartnerRole
from prm.roles import VendorRole
from prm.tenancy import Actor, system_scope
from tests import factories
from tests.deals.factories import cam_for as cam_for
from tests.factories import media_storage as media_storage  # re-exported: app tests use both
from tests.factories import stored_files as stored_files
from tests.scoping import acting as acting  # re-exported: the app's tests say m.acting

_period_names = itertools.count(1)
# The smallest well-formed PDF worth the name: the validator looks at the content, not the name.
PDF_BYTES = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n%%EOF\n"
HTML_BYTES = b"<html><body><h1>Invoice</h1><script>alert(1)</script></body></html>"


def today() -> date:
    return timezone.localdate()


@dataclass
class Team:
    """A partner company with one user per partner role."""

    partner: Partner
    admin: Any
    marketing: Any
    sales: Any
    learner: Any

    @property
    def admin_actor(self) -> Actor:
        return factories.actor_for(self.admin)

    @property
    def marketing_actor(self) -> Actor:
        return factories.actor_for(self.marketing)

    @property
    def sales_actor(self) -> Actor:
        return factories.actor_for(self.sales)

    @property
    def learner_actor(self) -> Actor:
        return factories.actor_for(self.learner)


def team(name: str = "Northwind Resellers", tier: str = "Gold", **partner_kwargs: Any) -> Team:
    partner = factories.PartnerFactory(legal_name=name, tier=factories.tier(tier), **partner_kwargs)
    return Team(
        partner=partner,
        admin=factories.partner_user(partner, role=PartnerRole.ADMIN),
        marketing=factories.partner_user(partner, role=PartnerRole.MARKETING),
        sales=factories.partner_user(partner, role=PartnerRole.SALES),
        learner=factories.partner_user(partner, role=PartnerRole.LEARNER),
    )


def program_admin() -> Actor:
    return factories.vendor_actor(VendorRole.PROGRAM_ADMIN)


def finance() -> Actor:
    return factories.vendor_actor(VendorRole.FINANCE)


def period(
    *, starts_on: date | None = None, ends_on: date | None = None, name: str | None = None
) -> FundPeriod:
    """By default a period around today, wide enough for past and future activities."""
    return FundPeriod.objects.create(
        name=name or f"FY test {next(_period_names)}",
        starts_on=starts_on or today() - timedelta(days=200),
        ends_on=ends_on or today() + timedelta(days=200),
    )


def budget(fund_period: FundPeriod | None = None, amount: str = "100000.00", currency: str = "USD") -> Budget:
    return Budget.objects.create(period=fund_period or period(), currency=currency, amount=Decimal(amount))


def fund(
    partner: Partner, fund_budget: Budget, amount: str = "10000.00", admin: Actor | None = None
) -> Allocation:
    """Allocate ``amount`` to ``partner`` by hand, as a program admin would."""
    admin = admin or program_admin()
    with acting(admin):
        entry = services.allocation_add(
            actor=admin, partner=partner, budget=fund_budget, amount=Decimal(amount), memo="Test funds"
        )
    return entry.allocation


def request_data(**overrides: Any) -> dict[str, Any]:
    start = overrides.pop("start_date", today() + timedelta(days=30))
    return {
        "activity_type": "event",
        "title": "Security roadshow",
        "description": "Half-day event with a customer panel.",
        "start_date": start,
        "end_date": overrides.pop("end_date", start + timedelta(days=1)),
        "total_cost": Decimal("10000.00"),
        "requested_amount": Decimal("4000.00"),
        "currency": "USD",
        "expected_leads": 40,
        **overrides,
    }


def draft(actor: Actor, **data: Any) -> FundRequest:
    with acting(actor):
        return services.request_save_draft(actor=actor, data=request_data(**data))


def submit(actor: Actor, fund_request: FundRequest) -> FundRequest:
    with acting(actor):
        return services.request_submit(actor=actor, fund_request=fund_request, confirm_short_notice=True)


def submitted(actor: Actor, **data: Any) -> FundRequest:
    return submit(actor, draft(actor, **data))


def approve(reviewer: Actor, fund_request: FundRequest, amount: str | None = None) -> FundRequest:
    with acting(reviewer):
        return services.request_approve(
            actor=reviewer,
            fund_request=fund_request,
            amount=Decimal(amount) if amount is not None else None,
        )


def approved(actor: Actor, reviewer: Actor, amount: str | None = None, **data: Any) -> FundRequest:
    return approve(reviewer, submitted(actor, **data), amount)


def past_dates(ended_days_ago: int = 5, days: int = 2) -> dict[str, date]:
    end = today() - timedelta(days=ended_days_ago)
    return {"start_date": end - timedelta(days=days), "end_date": end}


def pdf(name: str = "invoice.pdf", content: bytes = PDF_BYTES) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def png(name: str = "booth.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def claim_data(**overrides: Any) -> dict[str, Any]:
    return {
        "actual_cost": Decimal("9000.00"),
        "claimed_amount": Decimal("4000.00"),
        "leads_generated": 31,
        "attendees": 120,
        "notes": "Good turnout.",
        **overrides,
    }


def claim(actor: Actor, fund_request: FundRequest, files: list | None = None, **data: Any) -> FundClaim:
    with acting(actor):
        return services.claim_submit(
            actor=actor,
            fund_request=fund_request,
            data=claim_data(**data),
            files=[pdf()] if files is None else files,
        )


def balances(allocation: Allocation) -> ledger.Balances:
    # The ledger is read in the vendor-wide scope a test's own statements have (finance's view).
    with system_scope():
        return ledger.balances_of(Allocation.objects.get(pk=allocation.pk))


def fresh(fund_request: FundRequest) -> FundRequest:
    return FundRequest.objects.get(pk=fund_request.pk)
