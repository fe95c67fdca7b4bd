"""The partner home's reads are kept statements (prm.statements), compiled once per shape and not
built again on every visit: the team card, the deals panel's figures and the support panel, for a
partner's admin and a sales person, for a busy partner and a new one. Each call is checked against
the ORM's own statement (PRM["VERIFY_STATEMENTS"]); these tests make sure none of them silently
falls back to building the queryset each time."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from deals import selectors as deal_selectors
from partners.home_reads import _HOME_TEAM
from partners.models import Partner
from partners.support import selectors as support_selectors
from prm.models import User
from tests import factories
from tests.helpers import login
from tests.partners.test_home_markup import busy_partner

pytestmark = pytest.mark.django_db


def assert_home_statements_kept(user: User, *, support: bool) -> None:
    response = login(user).get(reverse("home"))
    assert response.status_code == 200
    actor = factories.actor_for(user)
    now = timezone.now()  # a shape depends on its values' types, not on the values
    assert _HOME_TEAM.is_kept(actor, now=now)
    assert deal_selectors._PARTNER_HOME_FIGURES.is_kept(actor, now=now, until=now)
    if support:
        assert support_selectors._OPEN_CASES.is_kept(actor)


def test_a_busy_homes_reads_are_kept_statements(partner: Partner, partner_admin: User) -> None:
    sales = busy_partner(partner, partner_admin)
    assert_home_statements_kept(partner_admin, support=True)
    assert_home_statements_kept(sales, support=False)


def test_a_new_homes_reads_are_kept_statements(partner_admin: User) -> None:
    assert_home_statements_kept(partner_admin, support=True)


def test_the_home_reads_show_what_the_statements_read(partner: Partner, partner_admin: User) -> None:
    """The team card's members and figures, and the support panel's case, as the page shows them."""
    busy_partner(partner, partner_admin)
    response = login(partner_admin).get(reverse("home"))
    context: Any = response.context
    assert context["team_count"] == 12 and len(context["team"]) == 8
    assert context["open_invitations"] == 1
    assert {member.user.email for member in context["team"]} <= set(
        partner.memberships.values_list("user__email", flat=True)
    )
    support = next(panel for panel in context["panels"] if panel.get("status_colours"))
    assert [case.subject for case in support["latest"]] == ["Invoices <twice> & more"]
    assert support["open"] == 1
