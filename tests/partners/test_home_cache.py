"""What the partner home keeps for a minute (partners.panels.home_cached: the content panel, the
tier progress and the plan panel) is never another partner's, another role's or another
language's, and what a write changes shows by the next minute at the latest (a tier move at
once)."""

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


def tier_card(response: Any) -> str:
    html = response.content.decode()
    start = html.index('<div class="card" id="tier-progress">')
    return html[start : html.index('<div class="col-lg-4">', start)]


def rendered_tier_template(response: Any) -> bool:
    return "partners/_tier_progress.html" in [t.name for t in response.templates]


def test_the_tier_progress_markup_is_kept_per_partner_role_and_language(
    partner: Partner, partner_admin: User, other_partner: Partner, other_partner_admin: User
) -> None:
    """The home keeps the tier progress card's HTML (``home_cached(request, "tier:html", …)`` in
    partners.views) as it keeps its figures: rendered once a minute for the partner, the role and
    the language, never shown to another partner, another role or in another language."""
    Partner.objects.filter(pk=partner.pk).update(tier=factories.tier("Gold"))
    Partner.objects.filter(pk=other_partner.pk).update(tier=factories.tier("Silver"))
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    with time_machine.travel(NOON, tick=False) as clock:
        first = login(partner_admin).get(reverse("home"))
        assert rendered_tier_template(first)
        again = login(partner_admin).get(reverse("home"))
        assert not rendered_tier_template(again)  # kept ...
        assert tier_card(again) == tier_card(first)  # ... and the same
        assert 'class="stat">Gold<' in tier_card(first)

        other = login(other_partner_admin).get(reverse("home"))
        assert rendered_tier_template(other)  # another partner: its own card
        assert 'class="stat">Silver<' in tier_card(other) and "Gold" not in tier_card(other).split("<ol")[0]
        assert partner.legal_name not in other.content.decode()

        assert rendered_tier_template(login(sales).get(reverse("home")))  # another role: its own

        # The same admin in German (their own language wins): a German card, not the English one.
        User.objects.filter(pk=partner_admin.pk).update(language="de")
        partner_admin.refresh_from_db()
        german = login(partner_admin).get(reverse("home"))
        assert rendered_tier_template(german)
        assert tier_card(german) != tier_card(first)
        with translation.override("de"):
            assert translation.gettext("Current tier") in tier_card(german)

        # The next minute renders it again.
        clock.shift(timedelta(seconds=HOME_CACHE_SECONDS))
        assert rendered_tier_template(login(partner_admin).get(reverse("home")))


def test_the_plan_panel_is_kept_per_partner_and_a_new_plan_shows_within_a_minute() -> None:
    """The joint business plan panel (partners.plans.panels) is kept for the home's minute like the
    content panel: each partner's own plan, never another's; a plan agreed now shows by the next
    minute at the latest."""
    from partners.models import PlanStatus
    from tests.partners import plan_factories as plans
    from tests.partners import scorecard_factories

    scorecard_factories.rates()
    with time_machine.travel(NOON, tick=False) as clock:
        alpha, beta = plans.side("Alpha Planning"), plans.side("Beta Planning")
        plans.plan(alpha.partner, label="Alpha H1", goals=[("won_revenue", "1000")], status=PlanStatus.AGREED)
        alpha_home = login(alpha.admin).get(reverse("home")).content.decode()
        beta_home = login(beta.admin).get(reverse("home")).content.decode()
        assert 'id="plan-panel"' in alpha_home and "Alpha H1" in alpha_home
        assert 'id="plan-panel"' in beta_home and "Alpha H1" not in beta_home
        plans.plan(beta.partner, label="Beta H1", status=PlanStatus.AGREED)
        clock.shift(timedelta(seconds=HOME_CACHE_SECONDS))
        beta_home = login(beta.admin).get(reverse("home")).content.decode()
        assert "Beta H1" in beta_home and "Alpha H1" not in beta_home
        assert "Beta H1" not in login(alpha.admin).get(reverse("home")).content.decode()
