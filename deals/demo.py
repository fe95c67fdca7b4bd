"""Demo data for deal registration: a catalogue, deals in every status across the demo partners
(one flagged conflict between two partners, one close to expiry) and leads waiting for an answer.

Called by ``manage.py seed_demo`` through ``DealsConfig.demo_seeder``; idempotent (skips when the
catalogue exists). Runs inside the command's vendor scope; uses the services so the audit trail
and notifications look like real use.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from partners.middleware import resolve_actor
from partners.models import Partner, Tier

from . import authorizations, leads, services
from .models import AuthorizationRequirement, Deal, DealConflict, Product

User = get_user_model()

CATALOGUE = [
    ("Edge Firewall 500", "FW-500", "Network security", "4200.00"),
    ("Edge Firewall 1000", "FW-1000", "Network security", "9800.00"),
    ("Secure Access (per user / year)", "SASE-USR", "Cloud security", "96.00"),
    ("Threat Analytics Platform", "TAP-ENT", "Analytics", "25000.00"),
    ("Managed Detection & Response (year)", "MDR-Y", "Services", "18000.00"),
    ("Professional services day", "PS-DAY", "Services", "1600.00"),
]


def _user(email: str) -> Any:
    return User.objects.get(email=email)


def _deal(
    actor: Any,
    customer: str,
    domain: str,
    country: str,
    lines: list[tuple[str, int]],
    *,
    close_in_days: int = 45,
    title: str = "",
    stage: str = "qualification",
) -> Deal:
    products = {p.sku: p for p in Product.objects.all()}
    return services.deal_save_draft(
        actor=actor,
        data={
            "customer_name": customer,
            "customer_domain": domain,
            "customer_country": country,
            "contact_name": "Jordan Lee",
            "contact_email": f"jordan@{domain}",
            "title": title,
            "stage": stage,
            "expected_close_date": timezone.localdate() + timedelta(days=close_in_days),
            "currency": "USD",
            "notes": "Demo registration.",
        },
        lines=[
            services.LineInput(products[sku].pk, quantity, products[sku].list_price)
            for sku, quantity in lines
        ],
    )


def seed(stdout: Any = None) -> None:
    if Product.objects.filter(sku="FW-500").exists():
        return
    for name, sku, line, price in CATALOGUE:
        Product.objects.create(name=name, sku=sku, product_line=line, list_price=Decimal(price))

    admin = resolve_actor(_user("ada.admin@prm.example"))
    cam = resolve_actor(_user("carl.cam@prm.example"))
    sam = resolve_actor(_user("sam.sales@acme.example"))
    alice = resolve_actor(_user("alice.admin@acme.example"))
    sara = resolve_actor(_user("sara.sales@globex.example"))

    # Acme: one deal in every status.
    _deal(sam, "Blue Harbor Logistics", "blueharbor.example", "US", [("FW-500", 2)], title="Branch firewalls")
    submitted = _deal(
        sam,
        "Northwind Traders",
        "northwind.example",
        "US",
        [("TAP-ENT", 1), ("PS-DAY", 5)],
        title="Threat analytics rollout",
    )
    services.deal_submit(actor=sam, deal=submitted)
    returned = _deal(sam, "Contoso Pharma", "contoso-pharma.example", "US", [("SASE-USR", 400)])
    services.deal_submit(actor=sam, deal=returned)
    services.deal_return_for_info(
        actor=cam, deal=returned, reason="Which sites are in scope? Add the contact's title."
    )
    expiring = _deal(
        sam,
        "Fabrikam Manufacturing",
        "fabrikam.example",
        "US",
        [("FW-1000", 3), ("MDR-Y", 1)],
        title="Plant network refresh",
        stage="negotiation",
    )
    services.deal_submit(actor=sam, deal=expiring)
    services.deal_approve(actor=cam, deal=expiring)
    Deal.objects.filter(pk=expiring.pk).update(protection_expires_at=timezone.now() + timedelta(days=5))
    approved = _deal(
        alice,
        "Tailspin Airlines",
        "tailspin.example",
        "US",
        [("SASE-USR", 1200), ("PS-DAY", 10)],
        title="Zero-trust access",
        stage="proposal",
    )
    services.deal_submit(actor=alice, deal=approved)
    services.deal_approve(actor=cam, deal=approved)
    won = _deal(sam, "Wide World Importers", "wideworld.example", "US", [("FW-500", 4), ("PS-DAY", 3)])
    services.deal_submit(actor=sam, deal=won)
    services.deal_approve(actor=cam, deal=won)
    services.deal_mark_won(
        actor=sam, deal=won, won_amount=Decimal("20500.00"), closed_on=timezone.localdate()
    )
    # Reported won at ten times the registered amount: it waits for the channel manager's check.
    claimed = _deal(
        sam, "Margie's Travel", "margiestravel.example", "US", [("FW-1000", 2)], title="Branch firewalls"
    )
    services.deal_submit(actor=sam, deal=claimed)
    services.deal_approve(actor=cam, deal=claimed)
    services.deal_mark_won(
        actor=sam, deal=claimed, won_amount=Decimal("196000.00"), closed_on=timezone.localdate()
    )
    lost = _deal(sam, "Adventure Works Cycles", "adventure-works.example", "US", [("TAP-ENT", 1)])
    services.deal_submit(actor=sam, deal=lost)
    services.deal_approve(actor=cam, deal=lost)
    services.deal_mark_lost(actor=sam, deal=lost, reason="Customer chose an incumbent vendor on price.")
    rejected = _deal(sam, "Litware Inc.", "litware.example", "US", [("MDR-Y", 1)])
    services.deal_submit(actor=sam, deal=rejected)
    services.deal_reject(actor=cam, deal=rejected, reason="Litware is a named account served directly.")
    expired = _deal(alice, "Proseware Health", "proseware.example", "US", [("FW-500", 1)])
    services.deal_submit(actor=alice, deal=expired)
    services.deal_approve(actor=cam, deal=expired)
    Deal.objects.filter(pk=expired.pk).update(protection_expires_at=timezone.now() - timedelta(hours=1))
    services.deal_expire(deal=expired)

    # Globex registers Acme's protected customer under a slightly different name: a flagged conflict.
    conflicting = _deal(
        sara,
        "TAILSPIN AIRLINES Ltd.",
        "https://www.tailspin.example",
        "DE",
        [("SASE-USR", 800)],
        title="Remote access for EU crews",
    )
    services.deal_submit(actor=sara, deal=conflicting)
    globex_won = _deal(sara, "Coho Winery GmbH", "coho-winery.example", "DE", [("FW-500", 1), ("PS-DAY", 2)])
    services.deal_submit(actor=sara, deal=globex_won)
    services.deal_approve(actor=admin, deal=globex_won)
    services.deal_mark_won(
        actor=sara, deal=globex_won, won_amount=Decimal("7100.00"), closed_on=timezone.localdate()
    )

    # Leads: two waiting for Acme's answer (Gold, North America), one in the pool.
    for company, domain in [
        ("Trey Research", "treyresearch.example"),
        ("Lucerne Publishing", "lucerne.example"),
    ]:
        lead = leads.lead_create(
            actor=admin,
            data={
                "company_name": company,
                "domain": domain,
                "country": "US",
                "region": "na",
                "contact_name": "Casey Morgan",
                "contact_email": f"casey@{domain}",
                "product_interest": "Edge firewalls",
                "estimated_value": Decimal("30000"),
                "description": "Downloaded the firewall buyer's guide; asked for a partner quote.",
            },
        )
        partner = Partner.objects.get(legal_name__startswith="Acme")
        leads.lead_assign(actor=admin, lead=lead, partner=partner)
    leads.lead_create(
        actor=admin,
        data={
            "company_name": "Margie's Travel",
            "region": "emea",
            "country": "FR",
            "product_interest": "Secure access",
            "estimated_value": Decimal("12000"),
        },
    )
    if stdout is not None:
        stdout.write(
            f"Deals demo: {Deal.objects.count()} deals, {DealConflict.objects.count()} flagged conflict(s).\n"
        )


def seed_authorizations(stdout: Any = None) -> None:
    """The demo's product line that needs an authorization: Analytics, for Gold partners (or
    higher) with one person certified as a Certified Security Seller. Acme (Gold, Leo certified) is
    authorized by the nightly rule run; Globex (Silver) is not, and its sellers are refused with
    what is missing. Runs after training's demo (DealsConfig.demo_seeder_after); idempotent."""
    if AuthorizationRequirement.objects.filter(product_line="Analytics").exists():
        return
    certification = next(
        (pk for pk, name in authorizations.certification_choices() if name == "Certified Security Seller"),
        None,
    )
    if certification is None:
        return  # no training demo: nothing to count
    requirement = AuthorizationRequirement.objects.create(
        product_line="Analytics",
        description="Threat Analytics deployments need a partner that can size and run them.",
        min_tier=Tier.objects.get(name="Gold"),
        certification_id=certification,
        certified_people=1,
    )
    admin = resolve_actor(_user("ada.admin@prm.example"))
    authorizations.requirement_saved(actor=admin, requirement=requirement, created=True)
    done = authorizations.evaluate()
    if stdout is not None:
        stdout.write(
            f"Product authorizations: Analytics (Gold, 1 certified seller), {done.granted} granted.\n"
        )
