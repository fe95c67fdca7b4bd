"""What the partner home keeps for a minute (partners.panels.home_cached: the content panel and the
tier progress) is never another partner's, another role's or another language's, and what a write
changes shows by the next minute at the latest (a tier move at once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from partners.models import Partner, PartnerRole
from partners.panels import HOME_CACHE_SECONDS, home_cached
from prm.models import User
from tests import factories
from tests.content import factories as content
from tests.helpers import login

pytestmark = pytest.mark.django_db

NOON = datetime(2027, 3, 31, 12, 0, 10, tzinfo=UTC)


def request_of(user: User) -> Any:
    return SimpleNamespace(actor=factories.actor_for(user), user=user)


def test_the_key_names_the_partner_the_role_the_language_and_the_minute(
    partner: Partner, partner_admin: User, other_partner_admin: User
) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    with time_machine.travel(NOON, tick=False) as clock:
        assert home_cached(request_of(partner_admin), "probe", lambda: "admin of A") == "admin of A"
        assert home_cached(request_of(partner_admin), "probe", lambda: "recomputed") == "admin of A"
        # Another partner, another role of the same partner, another language: their own answers.
        assert home_cached(request_of(other_partner_admin), "probe", lambda: "admin of B") == "admin of B"
        assert home_cached(request_of(sales), "probe", lambda: "sales of A") == "sales of A"
        with translation.override("de"):
            assert (
                home_cached(request_of(partner_admin), "probe", lambda: "admin of A, de") == "admin of A, de"
            )
        assert home_cached(request_of(partner_admin), "probe", lambda: "recomputed") == "admin of A"
        # A tier move changes the key at once.
        Partner.objects.filter(pk=partner.pk).update(tier=factories.tier("Platinum"))
        assert home_cached(request_of(partner_admin), "probe", lambda: "new tier") == "new tier"
        # The next minute computes again.
        clock.shift(timedelta(seconds=HOME_CACHE_SECONDS))
        assert home_cached(request_of(partner_admin), "probe", lambda: "next minute") == "next minute"


def test_a_panel_that_shows_nothing_is_kept_too(partner_admin: User) -> None:
    calls: list[int] = []

    def nothing() -> None:
        calls.append(1)

    with time_machine.travel(NOON, tick=False):
        home_cached(request_of(partner_admin), "probe", nothing)
        home_cached(request_of(partner_admin), "probe", nothing)
    assert len(calls) == 1


def test_a_partner_never_sees_anothers_content_panel_and_a_new_announcement_shows_within_a_minute(
    partner: Partner, partner_admin: User, other_partner: Partner, other_partner_admin: User
) -> None:
    Partner.objects.filter(pk=partner.pk).update(tier=factories.tier("Gold"))
    Partner.objects.filter(pk=other_partner.pk).update(tier=factories.tier("Silver"))
    with time_machine.travel(NOON, tick=False) as clock:
        content.announcement("Gold lounge", tiers=["Gold"])
        content.announcement("Silver club", tiers=["Silver"])
        gold = login(partner_admin).get(reverse("home")).content.decode()
        silver = login(other_partner_admin).get(reverse("home")).content.decode()
        assert "Gold lounge" in gold and "Silver club" not in gold
        assert "Silver club" in silver and "Gold lounge" not in silver
        # Published now: the home shows it by the next minute at the latest.
        content.announcement("Gold roadmap", tiers=["Gold"])
        clock.shift(timedelta(seconds=HOME_CACHE_SECONDS))
        gold = login(partner_admin).get(reverse("home")).content.decode()
        silver = login(other_partner_admin).get(reverse("home")).content.decode()
        assert "Gold roadmap" in gold and "Gold roadmap" not in silver


def test_the_home_keeps_no_reads_when_turned_off(partner_admin: User, settings: Any) -> None:
    settings.PRM = {**settings.PRM, "HOME_CACHE_SECONDS": 0}
    with time_machine.travel(NOON, tick=False):
        assert home_cached(request_of(partner_admin), "probe", lambda: 1) == 1
        assert home_cached(request_of(partner_admin), "probe", lambda: 2) == 2
