"""``manage.py seed_demo`` (run by ``bin/portal`` on every start) builds the demo every page
relies on, and running it again adds nothing."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from deals.models import Deal, DealConflict, DealStatus, Lead, LeadStatus
from mdf.models import FundClaim, FundRequest
from partners.management.commands import seed_demo
from partners.models import (
    OPEN_STATUSES,
    BusinessPlan,
    CaseKind,
    CaseMessage,
    CaseNote,
    CaseStatus,
    Partner,
    PartnerAssessment,
    PartnerListing,
    ScorecardSnapshot,
    ScorecardTemplate,
    SupportCase,
    TierChangeProposal,
    TierGracePeriod,
)
from partners.support import sla
from prm.models import Holiday, User
from tests import factories
from tests.isolation import built_once
from training.models import CertificationAward, Course

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _tiers() -> None:
    # The tiers come from a data migration; a transactional test elsewhere may have flushed them.
    factories.default_tiers()


def _snapshot() -> dict[str, Any]:
    return {
        "users": User.objects.count(),
        "partners": Partner.objects.count(),
        "deals": Deal.objects.count(),
        "conflicts": DealConflict.objects.count(),
        "leads": Lead.objects.count(),
        "requests": FundRequest.objects.count(),
        "claims": FundClaim.objects.count(),
        "courses": Course.objects.count(),
        "awards": CertificationAward.objects.count(),
        "holidays": Holiday.objects.count(),
        "scorecard_templates": ScorecardTemplate.objects.count(),
        "scorecards": ScorecardSnapshot.objects.count(),
        "ratings": PartnerAssessment.objects.count(),
        "support_cases": SupportCase.objects.count(),
        "case_messages": CaseMessage.objects.count(),
        "grace_periods": TierGracePeriod.objects.count(),
        "tier_proposals": TierChangeProposal.objects.count(),
        "plans": BusinessPlan.objects.count(),
        "listings": PartnerListing.objects.count(),
    }


def _assert_support_cases() -> None:
    """Cases of each kind in several states: one breached, one waiting for the partner, one rated,
    one about a demo deal."""
    cases = SupportCase.objects.filter(partner__in=_demo_partners())
    assert set(cases.values_list("kind__key", flat=True)) >= {
        CaseKind.BUSINESS_CONSULTING,
        CaseKind.COMPLAINT,
        CaseKind.BUSINESS_FAILURE,
    }
    assert cases.filter(sla.breached_q(timezone.now()), status__in=OPEN_STATUSES).exists()
    assert cases.filter(status=CaseStatus.WAITING).exists()
    assert cases.filter(rating__isnull=False).exists()
    assert cases.filter(related_id__isnull=False).exists()
    assert CaseNote.objects.filter(case__in=cases).exists()


def _demo_partners() -> Any:
    return Partner.objects.filter(legal_name__in=[spec["legal_name"] for spec in seed_demo.PARTNERS])


def _demo_deals() -> Any:
    return Deal.objects.filter(partner__in=_demo_partners())


def test_seed_demo_builds_every_capability_once(settings: Any, tmp_path: Any) -> None:
    factories.media_storage(settings, tmp_path)
    before = _snapshot()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = _snapshot()
    added = {name: first[name] - before[name] for name in first}
    assert added["partners"] >= 3 and added["users"] >= 10
    assert set(_demo_deals().values_list("status", flat=True)) == set(DealStatus.values)
    assert added["conflicts"] == 1
    assert Lead.objects.filter(status=LeadStatus.OFFERED, assigned_partner__in=_demo_partners()).exists()
    assert added["requests"] and added["claims"] and added["courses"] and added["awards"]
    assert added["holidays"] == 8
    _assert_support_cases()
    # Joint business plans: Acme's agreed with progress, Globex's signed by its manager only.
    plans = dict(BusinessPlan.objects.values_list("partner__legal_name", "status"))
    assert plans == {"Acme Networks Inc.": "agreed", "Globex Systems GmbH": "awaiting"}
    assert BusinessPlan.objects.get(status="awaiting").partner_signed_by is None
    printed = out.getvalue()
    assert "ada.admin@prm.example" in printed  # the logins are printed

    call_command("seed_demo", stdout=io.StringIO())
    assert _snapshot() == first


@pytest.mark.parametrize(
    "moment",
    [
        "2027-01-02 10:00",
        "2027-06-29 10:00",
        "2027-06-30 23:59:59",  # the last second of a half-year
        "2027-07-01 00:00",
        "2027-12-20 10:00",
        "2028-02-29 10:00",
    ],
)
def test_seed_demo_works_whatever_the_date(moment: str, settings: Any, tmp_path: Any) -> None:
    """Activities a few weeks back or ahead must fall into funded periods near period edges."""
    factories.media_storage(settings, tmp_path)
    before = _snapshot()
    with time_machine.travel(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False):
        call_command("seed_demo", stdout=io.StringIO())
    assert _snapshot()["requests"] - before["requests"] >= 9
    assert set(_demo_deals().values_list("status", flat=True)) == set(DealStatus.values)


@built_once
def seeded_demo() -> Iterator[None]:
    """The demo seeded once for the tests below that only read it (each in a savepoint of its own);
    the tests above seed it themselves, to see what one run adds."""
    with tempfile.TemporaryDirectory() as root:
        with override_settings(STORAGES=factories.storages_at(Path(root))):
            factories.default_tiers()
            call_command("seed_demo", stdout=io.StringIO())
        yield


@pytest.mark.usefixtures("seeded_demo")
def test_seed_demo_gives_every_partner_a_scorecard_with_a_history() -> None:
    """Today's scorecards computed from the demo data, eleven frozen month-ends before them (the
    12-month trend charts), the templates they are scored on and the managers' ratings."""
    from partners.performance.kpis import month_end_before

    today = timezone.localdate()
    acme = Partner.objects.get(legal_name="Acme Networks Inc.")
    umbrella = Partner.objects.get(legal_name="Umbrella Distribution Ltd")
    days = list(
        ScorecardSnapshot.objects.filter(partner=acme).order_by("as_of").values_list("as_of", flat=True)
    )
    assert len(days) == 12 and days[-1] == today and days[-2] == month_end_before(today)
    history = ScorecardSnapshot.objects.filter(partner=acme).exclude(as_of=today)
    assert all(row.frozen and row.month_end for row in history)
    latest = ScorecardSnapshot.objects.get(partner=acme, as_of=today)
    assert latest.template_name == "Standard scorecard" and latest.total_score is not None
    assert Decimal(latest.values["won_revenue"]) > 0 and latest.values["cam_rating"] is not None
    totals = [row.total_score for row in ScorecardSnapshot.objects.filter(partner=acme).order_by("as_of")]
    assert totals[0] < totals[-1] and len(set(totals)) > 3  # a year's climb to today's score, uneven
    assert (
        ScorecardSnapshot.objects.get(partner=umbrella, as_of=today).template_name == "Distributor scorecard"
    )
    assert PartnerAssessment.objects.filter(partner=acme).count() == 2


@pytest.mark.usefixtures("seeded_demo")
def test_seed_demo_has_a_product_line_that_needs_an_authorization() -> None:
    """Analytics needs one: Acme (Gold, a certified seller) holds it by rule, Globex (Silver) does
    not, and its sellers are told why."""
    from deals import authorizations
    from deals.models import AuthorizationRequirement, AuthorizationSource, PartnerAuthorization, Product
    from partners.middleware import resolve_actor
    from prm.errors import ApplicationError
    from tests.scoping import acting

    requirement = AuthorizationRequirement.objects.get(product_line="Analytics")
    held = PartnerAuthorization.objects.get(requirement=requirement)
    assert held.partner.legal_name == "Acme Networks Inc." and held.source == AuthorizationSource.RULE
    assert held.holds()
    globex = resolve_actor(User.objects.get(email="sara.sales@globex.example"))
    analytics = list(Product.objects.filter(product_line="Analytics").values_list("pk", flat=True))
    with acting(globex), pytest.raises(ApplicationError) as refused:
        authorizations.check_products(partner=globex.partner, product_ids=analytics)
    assert str(refused.value) == (
        "Authorization for Analytics required: needs tier Gold (yours is Silver) and 1 person "
        "certified in 'Certified Security Seller'."
    )


@pytest.mark.usefixtures("seeded_demo")
def test_seed_demo_lists_a_few_partners_in_the_public_locator() -> None:
    """Acme and Globex opted in and appear; Umbrella opted in too but is suspended, so it does not."""
    from django.test import Client
    from django.urls import reverse

    listed = set(PartnerListing.objects.filter(published=True).values_list("partner__legal_name", flat=True))
    assert listed == {"Acme Networks Inc.", "Globex Systems GmbH", "Umbrella Distribution Ltd"}
    response = Client().get(reverse("locator:directory"))
    shown = [listing.name for listing in response.context["page"].object_list]
    assert shown == ["Acme Networks Inc.", "Globex Systems GmbH"]
    # Acme holds the demo's Analytics authorization: the locator says so.
    assert next(
        row for row in response.context["page"].object_list if row.name.startswith("Acme")
    ).product_lines == ["Analytics"]


@pytest.mark.usefixtures("seeded_demo")
def test_seed_demo_has_a_partner_in_a_grace_period_and_an_upgrade_waiting() -> None:
    from prm.models import Notification

    grace = TierGracePeriod.objects.get(partner__legal_name="Acme Networks Inc.")
    assert grace.status == "running" and grace.tier.name == "Gold" and grace.shortfalls
    proposal = TierChangeProposal.objects.get(partner__legal_name="Globex Systems GmbH")
    assert (proposal.status, proposal.direction, proposal.to_tier.name) == ("pending", "up", "Gold")
    assert Notification.objects.filter(
        recipient__email="alice.admin@acme.example", kind="tier.grace_started"
    ).exists()
    assert Notification.objects.filter(
        recipient__email="carl.cam@prm.example", kind="tier.upgrade_proposed"
    ).exists()


@pytest.mark.usefixtures("seeded_demo")
def test_seed_demo_gives_one_persona_a_daily_digest() -> None:
    """Mia (Acme's marketing) reads her notifications in one daily digest: the persona that shows
    the notification settings page (prm.demo)."""
    from prm.models import User

    mia = User.objects.get(email="mia.marketing@acme.example")
    assert mia.notification_digest is True
    assert mia.notification_channels == {"training.expiring": "in_app"}
