"""The partner locator across tenants (tests/isolation.py).

Partner A's listing page (``locator:manage``), asked for by partner B's admin and by a channel
account manager without A in the portfolio, is the same 404 as a missing id, shows nothing of A and
changes nothing; A's admin and A's channel account manager make the same requests (the controls).

The public pages take a listing's id: a listing A has not published (withdrawn, or never opted in)
is the same 404 as a missing one for anybody, signed in or not, and its logo is not served.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.test import Client, override_settings
from django.urls import reverse
from PIL import Image

from deals.models import Lead
from partners.models import PartnerListing
from prm.models import AuditEvent
from tests import factories
from tests.deals import factories as deal_factories
from tests.isolation import Case, built_once, foreign_id_test

SECRET = "A-ONLY: opening a Zurich office in May"


@dataclass
class World:
    a_admin: Any
    a_cam: Any
    b_admin: Any
    b_cam: Any
    listing: PartnerListing  # A's, not published
    a_name: str


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 30), (10, 200, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


@built_once
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory() as root, override_settings(STORAGES=factories.storages_at(Path(root))):
        a = deal_factories.team("Acme Unlisted Networks")
        b = deal_factories.team("Globex Listed Systems")
        a_cam, b_cam = deal_factories.cam_for(a.partner), deal_factories.cam_for(b.partner)
        listing = PartnerListing(partner=a.partner, published=False, description=SECRET, regions=["emea"])
        listing.logo.save("logo.png", ContentFile(_png()), save=False)
        listing.save()
        PartnerListing.objects.create(partner=b.partner, published=True, description="Globex sells.")
        yield World(
            a_admin=a.admin,
            a_cam=a_cam.user,
            b_admin=b.admin,
            b_cam=b_cam.user,
            listing=listing,
            a_name=a.partner.legal_name,
        )


PEOPLE = {
    name: (lambda world, name=name: getattr(world, name)) for name in ("a_admin", "a_cam", "b_admin", "b_cam")
}
OUTSIDERS = ("b_admin", "b_cam")


def _secrets(world: World, _who: str) -> list[str]:
    return [world.a_name, SECRET]


def _state(world: World) -> Any:
    return (
        list(PartnerListing.objects.order_by("pk").values()),
        Lead.objects.count(),
        AuditEvent.objects.count(),
    )


def _partner(world: World, _who: str) -> list[Any]:
    return [world.listing.partner]


def _listing(world: World, _who: str) -> list[PartnerListing]:
    return [world.listing]


def _enquiry(_world: World, _target: Any) -> dict[str, str]:
    return {
        "contact_name": "Dana Customer",
        "company_name": "Vandelay Industries",
        "contact_email": "dana@vandelay.example",
        "description": "Call me.",
    }


CASES = [
    Case(
        "locator:manage",
        ("GET",),
        OUTSIDERS,
        _partner,
        controls=("a_admin", "a_cam"),
    ),
    Case(
        "locator:manage",
        ("POST",),
        OUTSIDERS,
        _partner,
        data={"published": "on", "description": "Hijacked listing", "regions": ["na"]},
        controls=("a_admin",),
    ),
    # The public pages: an unpublished listing is nobody's to read, A's own people included.
    Case("locator:detail", ("GET", "POST"), (*OUTSIDERS, "a_admin"), _listing, data=_enquiry),
    Case("locator:thanks", ("GET",), (*OUTSIDERS, "a_admin"), _listing),
    Case("locator:logo", ("GET",), (*OUTSIDERS, "a_admin"), _listing, absent=("PNG",)),
]

test_foreign_listing_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    CASES, world="world", people=PEOPLE, secrets=_secrets, state=_state
)


@pytest.mark.django_db
def test_an_anonymous_visitor_gets_the_same_404_for_an_unpublished_listing(world: World) -> None:
    for name in ("locator:detail", "locator:thanks", "locator:logo"):
        theirs = Client().get(reverse(name, args=[world.listing.pk]))
        missing = Client().get(reverse(name, args=[987_654_321]))
        assert theirs.status_code == missing.status_code == 404
        assert world.a_name not in theirs.content.decode() and SECRET not in theirs.content.decode()
    response = Client().post(reverse("locator:detail", args=[world.listing.pk]), _enquiry(world, None))
    assert response.status_code == 404
    assert Lead.objects.count() == 0
