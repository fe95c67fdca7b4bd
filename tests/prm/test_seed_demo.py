"""``manage.py seed_demo`` (run by ``bin/portal`` on every start) builds the demo every page
relies on, and running it again adds nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from deals.models import Deal, DealConflict, DealStatus, Lead, LeadStatus
from mdf.models import FundClaim, FundRequest
from partners.models import Partner
from prm.models import Holiday, User
from tests import factories
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
    }


def test_seed_demo_builds_every_capability_once(settings: Any, tmp_path: Any) -> None:
    factories.media_storage(settings, tmp_path)
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    first = _snapshot()
    assert first["partners"] >= 3 and first["users"] >= 10
    assert set(Deal.objects.values_list("status", flat=True)) == set(DealStatus.values)
    assert first["conflicts"] == 1
    assert Lead.objects.filter(status=LeadStatus.OFFERED).exists()
    assert first["requests"] and first["claims"] and first["courses"] and first["awards"]
    assert first["holidays"] == 8
    printed = out.getvalue()
    assert "ada.admin@prm.example" in printed  # the logins are printed

    call_command("seed_demo", stdout=io.StringIO())
    assert _snapshot() == first


@pytest.mark.parametrize("day", ["2027-01-02", "2027-06-29", "2027-07-01", "2027-12-20"])
def test_seed_demo_works_whatever_the_date(
    day: str, settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Activities a few weeks back or ahead must fall into funded periods near period edges."""
    from datetime import datetime, time

    from django.utils import timezone

    factories.media_storage(settings, tmp_path)
    fixed = timezone.make_aware(datetime.combine(datetime.fromisoformat(day).date(), time(10)))
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    call_command("seed_demo", stdout=io.StringIO())
    assert FundRequest.objects.count() >= 9
    assert set(Deal.objects.values_list("status", flat=True)) == set(DealStatus.values)
