"""The partner home's reads are kept statements (prm.statements), compiled once per shape and not
built again on every visit: the team card with the support panel's cases, and the deals panel's
figures, for a partner's admin and a sales person, for a busy partner and a new one. Each call is
checked against the ORM's own statement (PRM["VERIFY_STATEMENTS"]); these tests make sure none of
them silently falls back to building the queryset each time."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from deals import selectors as deal_selectors
from partners.home_reads import _HOME_ROWS
from partners.models import Partner
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
    assert _HOME_ROWS.is_kept(actor, now=now)
    assert deal_selectors._PARTNER_HOME_FIGURES.is_kept(actor, now=now, until=now)
    if support:  # the support panel's cases, read with the team card
        assert any(panel.get("status_colours") for panel in response.context["panels"])


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


def test_the_support_panel_is_read_with_the_team_card(
    partner: Partner, partner_admin: User, settings: Any
) -> None:
    """One case, then seven in every panel state (more than the panel lists): the same statements,
    none of them the support panel's own; the panel lists the latest five it shows and counts them
    all, and the team card is the same. The actor is kept in the process, as in production."""
    settings.PRM = {**settings.PRM, "ACTOR_CACHE_SECONDS": 300}
    from django.utils.html import escape

    from partners.models import CaseStatus, SupportCase
    from tests.partners import support_factories
    from tests.partners.test_page_costs import page

    actor = factories.actor_for(partner_admin)
    support_factories.open_case(actor, subject="Case <0>")
    client = login(partner_admin)

    def support_panel(response: Any) -> dict[str, Any]:
        return next(panel for panel in response.context["panels"] if panel.get("status_colours"))

    few, response = page(client, reverse("home"))
    panel = support_panel(response)
    assert [case.subject for case in panel["latest"]] == ["Case <0>"]
    assert (panel["open"], panel["waiting"], panel["to_rate"]) == (1, 0, 0)
    assert response.context["team_count"] == 1 and len(response.context["team"]) == 1

    made = [support_factories.open_case(actor, subject=f"Case {n}") for n in range(1, 7)]
    SupportCase.objects.filter(pk=made[0].pk).update(status=CaseStatus.WAITING)
    SupportCase.objects.filter(pk=made[1].pk).update(status=CaseStatus.RESOLVED)  # to rate
    SupportCase.objects.filter(pk=made[2].pk).update(status=CaseStatus.CLOSED)  # not counted
    many, response = page(client, reverse("home"))
    panel = support_panel(response)
    newest = SupportCase.objects.filter(partner=partner).exclude(status=CaseStatus.CLOSED)
    expected = list(newest.order_by("-updated_at", "-pk").values_list("subject", flat=True)[:5])
    assert [case.subject for case in panel["latest"]] == expected
    assert (panel["open"], panel["waiting"], panel["to_rate"]) == (5, 1, 1)
    assert response.context["team_count"] == 1 and len(response.context["team"]) == 1
    assert len(many) == len(few) <= 4, "\n".join(many)
    assert not [sql for sql in many if sql.startswith('SELECT "partners_supportcase"')], many
    body = response.content.decode()
    assert all(escape(subject) in body for subject in expected)
