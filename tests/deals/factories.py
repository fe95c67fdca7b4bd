"""Builders for deal and lead tests: products, partner teams, and deals walked through the real
services (each partner action runs in that partner's database scope, as a request would)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from deals import leads, services
from deals.models import Deal, Lead, Product
from deals.services import LineInput
from partners.models import Partner, PartnerRole
from partners.services import partner_assign_channel_manager
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.scoping import acting as acting  # re-exported: the app's tests say f.acting

_sku = itertools.count(1)


def product(name: str = "Firewall X", *, price: str = "19.99", line: str = "Security", **kw: Any) -> Product:
    return Product.objects.create(
        name=name, sku=f"SKU-{next(_sku):05d}", product_line=line, list_price=Decimal(price), **kw
    )


def line(prod: Product, quantity: int = 1, unit_price: str = "100.00") -> LineInput:
    return LineInput(product_id=prod.pk, quantity=quantity, unit_price=Decimal(unit_price))


def deal_data(customer: str = "Initech", domain: str = "initech.com", **overrides: Any) -> dict[str, Any]:
    return {
        "customer_name": customer,
        "customer_domain": domain,
        "customer_country": "US",
        "customer_region": "na",
        "contact_name": "Peter Gibbons",
        "contact_email": "peter@initech.example",
        "title": f"{customer} network refresh",
        "expected_close_date": timezone.localdate() + timedelta(days=30),
        "currency": "USD",
        **overrides,
    }


@dataclass
class Team:
    """A partner company with an admin and two sales users."""

    partner: Partner
    admin: Any
    sales: Any
    sales2: Any

    @property
    def admin_actor(self) -> Actor:
        return factories.actor_for(self.admin)

    @property
    def sales_actor(self) -> Actor:
        return factories.actor_for(self.sales)

    @property
    def sales2_actor(self) -> Actor:
        return factories.actor_for(self.sales2)


def team(name: str = "Northwind Resellers", tier: str = "Gold", **partner_kwargs: Any) -> Team:
    partner = factories.PartnerFactory(legal_name=name, tier=factories.tier(tier), **partner_kwargs)
    return Team(
        partner=partner,
        admin=factories.partner_user(partner, role=PartnerRole.ADMIN),
        sales=factories.partner_user(partner, role=PartnerRole.SALES),
        sales2=factories.partner_user(partner, role=PartnerRole.SALES),
    )


def cam_for(*partners: Partner) -> Actor:
    """A channel account manager whose portfolio is ``partners``."""
    cam = factories.vendor_actor(VendorRole.CHANNEL_ACCOUNT_MANAGER)
    admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    for partner in partners:
        partner_assign_channel_manager(actor=admin, partner=partner, manager=cam.user)
    # Resolved as a request would, so the actor's database scope carries the portfolio.
    return factories.actor_for(cam.user)


def draft(actor: Actor, *, lines: list[LineInput] | None = None, **data: Any) -> Deal:
    if lines is None:
        lines = [line(product(), quantity=2, unit_price="500.00")]
    with acting(actor):
        return services.deal_save_draft(actor=actor, data=deal_data(**data), lines=lines)


def submit(actor: Actor, deal: Deal) -> Deal:
    with acting(actor):
        return services.deal_submit(actor=actor, deal=deal)


def submitted(actor: Actor, **kwargs: Any) -> Deal:
    return submit(actor, draft(actor, **kwargs))


def approved(actor: Actor, reviewer: Actor, **kwargs: Any) -> Deal:
    deal = submitted(actor, **kwargs)
    with acting(reviewer):
        return services.deal_approve(actor=reviewer, deal=deal)


def lead(creator: Actor, company: str = "Vandelay Industries", region: str = "na", **data: Any) -> Lead:
    values = {"company_name": company, "region": region, "domain": "vandelay.com", "country": "US", **data}
    with acting(creator):
        return leads.lead_create(actor=creator, data=values)
