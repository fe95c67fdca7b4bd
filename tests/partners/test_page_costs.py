"""What the partner home and company pages cost: a bounded number of queries, the actor from the
cache, and no form-widget templates rendered per option."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from partners.models import Partner, PartnerRole
from prm.models import User
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db

# Statements that only open, close or scope the request's transaction (the test's own transaction
# turns BEGIN/COMMIT into savepoints, and the request's scope is restored on the way out).
_TRANSACTION = re.compile(
    r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|SELECT set_config|SELECT coalesce\(current_setting)"
)


@pytest.fixture(autouse=True)
def _actor_cache_on(settings: Any) -> None:
    settings.PRM = {**settings.PRM, "ACTOR_CACHE_SECONDS": 300}


def page(client: Any, url: str) -> tuple[list[str], Any]:
    """The statements of one request that read or write data (a first request fills the actor
    cache, as production's requests find it filled), and the response. Both at one frozen moment:
    what the home keeps for its minute (partners.panels.home_cached) would be read again by a
    second request that fell into the next minute."""
    with time_machine.travel(timezone.now(), tick=False):
        client.get(url)
        with CaptureQueriesContext(connection) as context:
            response = client.get(url)
    assert response.status_code == 200, response
    return [
        query["sql"] for query in context.captured_queries if not _TRANSACTION.match(query["sql"])
    ], response


@pytest.fixture
def team(partner: Partner, partner_admin: User) -> list[User]:
    return [partner_admin] + [factories.partner_user(partner, role=PartnerRole.SALES) for _ in range(3)]


def test_home_queries(partner_admin: User, team: list[User]) -> None:
    """The user; the first of the team with its size, the open invitations and the two-factor
    check, and the open support cases (one statement; the partner with its tier and manager is the
    actor's); the deals panel (status counts, the expiring ones and the leads waiting, one
    statement); the unread notifications. The current joint business plan, the content panel
    (announcements, newest assets) and the tier progress (tiers with the nightly figures and any
    grace period) are kept for the home's minute (partners.panels.home_cached): read by the
    first visit."""
    queries, response = page(login(partner_admin), reverse("home"))
    assert response.context["team_count"] == len(team)
    assert len(queries) <= 4, "\n".join(queries)
    assert not [sql for sql in queries if sql.startswith('SELECT "partners_supportcase"')], queries
    assert not [sql for sql in queries if 'COUNT(*) AS "__count" FROM "partners_membership"' in sql]
    assert not [sql for sql in queries if 'FROM "mfa_authenticator"' in sql and "EXISTS" not in sql]


def test_home_queries_do_not_grow_with_the_partner(partner: Partner, partner_admin: User) -> None:
    """The same statements for a partner of one person and no deal as for one of twelve people,
    50 deals in every status, leads waiting, a manager assigned: no read per member, deal or lead."""
    from deals.models import DealStatus
    from tests.deals import factories as deal_factories
    from tests.deals.test_query_counts import bulk_deals, bulk_leads

    client = login(partner_admin)
    few, response = page(client, reverse("home"))
    assert response.context["team_count"] == 1
    manager = factories.vendor_user("channel_account_manager")
    Partner.objects.filter(pk=partner.pk).update(channel_account_manager=manager)
    people = [factories.partner_user(partner, role=PartnerRole.SALES) for _ in range(11)]
    team = deal_factories.Team(partner=partner, admin=partner_admin, sales=people[0], sales2=people[1])
    bulk_deals(team, 50, product=deal_factories.product("Home Probe"))
    bulk_leads(team, 6, creator=factories.vendor_actor("program_admin"))
    many, response = page(client, reverse("home"))
    assert response.context["team_count"] == 12
    assert len(response.context["team"]) == 8
    body = response.content.decode()
    assert manager.email in body
    deals = next(
        panel for panel in response.context["panels"] if panel["template"] == "deals/_home_panel.html"
    )
    assert deals["counts"][DealStatus.APPROVED] > 0 and deals["leads"] == 6
    assert len(many) == len(few) <= 4, "\n".join(many)


def test_home_counts_a_team_larger_than_it_shows(partner: Partner, partner_admin: User) -> None:
    for _ in range(9):
        factories.partner_user(partner, role=PartnerRole.SALES)
    _queries, response = page(login(partner_admin), reverse("home"))
    assert len(response.context["team"]) == 8
    assert response.context["team_count"] == 10


def test_company_queries(partner_admin: User) -> None:
    """The user, its partner's latest profile change request, its recent history, the product
    lines that need an authorization (deals' panel: none here, so nothing more), the unread
    notifications. The partner (with its tier, and the admin who accepted the agreement when it
    is the person looking) is the actor's."""
    queries, _response = page(login(partner_admin), reverse("partners:company"))
    assert len(queries) <= 5, "\n".join(queries)
    assert not [sql for sql in queries if 'FROM "partners_partner"' in sql.split("WHERE")[0]], queries


def test_company_page_renders_no_widget_template_per_option(partner_admin: User) -> None:
    _queries, response = page(login(partner_admin), reverse("partners:company"))
    rendered = [template.name for template in response.templates]
    assert "django/forms/widgets/select_option.html" not in rendered
    assert response.content.count(b"<option") > 240  # the countries are all there


def test_what_every_request_pays_before_its_view(partner_admin: User) -> None:
    """Before any view work a signed-in request reads its user row and opens its scope: no
    membership, partner or portfolio read (the actor is kept in the process), and no health check
    query on a reused connection (prm.postgresql)."""
    queries, _response = page(login(partner_admin), "/healthz")
    assert len(queries) == 1 and queries[0].startswith('SELECT "prm_user"."id"'), queries
