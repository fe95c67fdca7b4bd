"""Demo listings in the public partner locator (``manage.py seed_demo`` only). Acme and Globex are
listed; Umbrella opted in too, but is suspended, so the locator leaves it out. Idempotent: a
partner that already has a listing is left alone."""

from __future__ import annotations

from typing import Any

from partners.middleware import resolve_actor
from partners.models import Partner, PartnerListing, PartnerRole, Region

from .services import listing_save

LISTINGS = {
    "Acme Networks Inc.": {
        "description": (
            "Network and security integrator for mid-sized companies on the US West Coast: design, "
            "installation and 24/7 managed support of firewalls, SD-WAN and campus networks."
        ),
        "regions": [Region.NORTH_AMERICA, Region.LATIN_AMERICA],
        "countries": ["US", "CA", "MX"],
    },
    "Globex Systems GmbH": {
        "description": (
            "Managed service provider in Berlin and Munich: we run our customers' networks and cloud "
            "security from our own operations centre, in German and English."
        ),
        "regions": [Region.EMEA],
        "countries": ["DE", "AT", "CH"],
    },
    "Umbrella Distribution Ltd": {
        "description": "Distribution across the UK and Ireland.",
        "regions": [Region.EMEA],
        "countries": ["GB", "IE"],
    },
}


def seed(*, stdout: Any = None) -> None:
    made = []
    for name, data in LISTINGS.items():
        partner = Partner.objects.filter(legal_name=name).first()
        if partner is None or PartnerListing.objects.filter(partner=partner).exists():
            continue
        admin = (
            partner.memberships.filter(role=PartnerRole.ADMIN, is_active=True).select_related("user").first()
        )
        if admin is None:
            continue
        actor = resolve_actor(admin.user)
        if not actor.is_partner:
            continue
        listing_save(actor=actor, listing=PartnerListing(partner=partner), data={**data, "published": True})
        made.append(name)
    if stdout is not None and made:
        stdout.write(f"Partner locator listings: {', '.join(made)}")
