"""What the vendor's dashboard, partner list, review queue and admin partner changelist cost at
any size (issue 11): the same few statements for a handful of rows as for many, none over every
partner's people, exact figures, and a channel account manager's only of the portfolio."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deals import selectors as deal_selectors
from deals.models import Deal, DealExtensionRequest, DealStatus
from partners import services
from partners.models import Membership, Partner, PartnerRole, PartnerStatus, Region
from prm.models import User
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as f
from tests.deals.test_query_counts import bulk_deals, bulk_extensions
from tests.helpers import login

pytestmark = pytest.mark.django_db

# Statements that only open, close or scope the request's transaction, or set a planner option
# for one statement (prm.pagination.planner): not reads.
_NOT_READS = re.compile(
    r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|SET LOCAL|SELECT set_config|"
    r"SELECT coalesce\(current_setting)"
)


@pytest.fixture(autouse=True)
def _actor_cache_on(settings: Any) -> None:
    settings.PRM = {**settings.PRM, "ACTOR_CACHE_SECONDS": 300}


def reads(client: Any, url: str) -> tuple[list[str], Any]:
    """The statements of one request that read or write data (after a first request fills the
    caches, as production's requests find them), and the response."""
    client.get(url)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response
    return [
        query["sql"] for query in context.captured_queries if not _NOT_READS.match(query["sql"])
    ], response


STATUSES = [PartnerStatus.ACTIVE, PartnerStatus.ONBOARDING, PartnerStatus.SUSPENDED, PartnerStatus.PROSPECT]
REGIONS = [Region.NORTH_AMERICA, Region.EMEA, Region.APAC]


def make_partners(count: int, *, start: int = 0, people: int = 2) -> list[Partner]:
    """Partners of every status, tier and region, each with ``people`` active members and one
    deactivated."""
    tiers = factories.default_tiers()
    made = []
    for number in range(start, start + count):
        partner = factories.PartnerFactory(
            legal_name=f"Cost Probe {number:03}",
            status=STATUSES[number % len(STATUSES)],
            region=REGIONS[number % len(REGIONS)],
            tier=tiers[number % len(tiers)],
        )
        for _ in range(people):
            factories.partner_user(partner, role=PartnerRole.SALES)
        gone = factories.partner_user(partner, role=PartnerRole.SALES)
        Membership.objects.filter(user=gone).update(is_active=False)
        made.append(partner)
    return made


def expected_figures(partners: Any) -> dict[str, Any]:
    return {
        "total": partners.count(),
        "status": Counter(partners.values_list("status", flat=True)),
        "region": Counter(partners.values_list("region", flat=True)),
        "tier": Counter(partners.values_list("tier__name", flat=True)),
    }


def shown_figures(response: Any) -> dict[str, Any]:
    context = response.context
    return {
        "total": context["total"],
        "status": Counter({value: n for _label, n, value in context["by_status"] if n}),
        "region": Counter({row["status"]: row["n"] for row in context["by_region"]}),
        "tier": Counter({row["label"]: row["n"] for row in context["by_tier"]}),
    }


def deals_panel(response: Any) -> dict[str, Any]:
    return next(
        panel for panel in response.context["panels"] if panel["template"] == "deals/_vendor_panel.html"
    )


# --- the dashboard -------------------------------------------------------------------------------
def test_dashboard_figures_are_exact_and_cost_the_same_at_two_sizes(program_admin: User) -> None:
    make_partners(2)
    client = login(program_admin)
    few, response = reads(client, reverse("vendor:dashboard"))
    assert shown_figures(response) == expected_figures(Partner.objects.all())

    make_partners(30, start=2)
    many, response = reads(client, reverse("vendor:dashboard"))
    assert shown_figures(response) == expected_figures(Partner.objects.all())
    assert response.context["total"] == 32
    assert len(few) == len(many), "\n".join(many)
    # The partner figures are one grouped statement over the partners alone: before, three
    # COUNT(DISTINCT ...) over a join to every partner's memberships.
    partner_statements = [sql for sql in many if 'FROM "partners_partner"' in sql]
    assert len(partner_statements) == 1, partner_statements
    assert not [sql for sql in many if "partners_membership" in sql], many


def test_dashboard_deal_figures_are_exact_in_one_statement(program_admin: User) -> None:
    product = f.product()
    team = f.team()
    made = bulk_deals(
        team,
        30,
        product=product,
        statuses=[DealStatus.SUBMITTED, DealStatus.WON_PENDING, DealStatus.APPROVED, DealStatus.DRAFT],
    )
    bulk_extensions(made)
    now = timezone.now()
    submitted = [deal for deal in made if deal.status == DealStatus.SUBMITTED]

    statements, response = reads(login(program_admin), reverse("vendor:dashboard"))
    panel = deals_panel(response)
    # bulk_deals staggers the deadlines from 12 hours ago to 36 hours ahead.
    assert panel["waiting"] == len(submitted) > 0
    assert panel["overdue"] == len([deal for deal in submitted if deal.review_due_at < now]) > 0
    assert (
        panel["conflicts"] == len([deal for deal in submitted if deal.conflict_status == "under_review"]) > 0
    )
    assert panel["wins_waiting"] == len([deal for deal in made if deal.status == DealStatus.WON_PENDING]) > 0
    assert panel["extensions"] == DealExtensionRequest.objects.filter(status="pending").count() > 0
    assert panel["more"] == []
    # The queue's figures and the wins to confirm: one statement of capped counts.
    deal_statements = [
        sql for sql in statements if '"deals_deal"' in sql and "deals_dealextensionrequest" not in sql
    ]
    assert len(deal_statements) == 1, statements
    assert deal_statements[0].count("LIMIT 10001") == 3, deal_statements


def test_dashboard_deal_figures_stop_at_the_cap(program_admin: User, monkeypatch: Any) -> None:
    """Past the cap a figure says so ("3+" with a cap of 3) instead of counting a million deals."""
    monkeypatch.setattr(deal_selectors, "COUNT_CAP", 3)
    product = f.product()
    bulk_deals(f.team(), 8, product=product, statuses=[DealStatus.SUBMITTED, DealStatus.WON_PENDING])
    _statements, response = reads(login(program_admin), reverse("vendor:dashboard"))
    panel = deals_panel(response)
    assert (panel["waiting"], panel["wins_waiting"]) == (3, 3)
    assert set(panel["more"]) >= {"waiting", "wins_waiting"}
    assert re.search(r'<div class="stat">3\+</div><div class="stat-label">Waiting', response.content.decode())
    # Past the cap the overdue ones are counted on their own (not among the first submitted).
    monkeypatch.setattr(deal_selectors, "COUNT_CAP", 1)
    overdue = Deal.objects.filter(status=DealStatus.SUBMITTED, review_due_at__lt=timezone.now()).count()
    statements, response = reads(login(program_admin), reverse("vendor:dashboard"))
    assert overdue >= 1
    assert deals_panel(response)["overdue"] == 1
    assert ("overdue" in deals_panel(response)["more"]) == (overdue > 1)
    assert len([sql for sql in statements if "review_due_at" in sql and "LIMIT 2" in sql]) == 2, statements


def test_a_channel_account_managers_dashboard_counts_only_the_portfolio() -> None:
    product = f.product()
    mine, theirs = f.team("Mine Ltd"), f.team("Theirs Ltd")
    make_partners(3)
    cam = f.cam_for(mine.partner)
    bulk_deals(mine, 4, product=product, statuses=[DealStatus.SUBMITTED])
    bulk_deals(theirs, 6, product=product, statuses=[DealStatus.SUBMITTED, DealStatus.WON_PENDING], start=50)

    _statements, response = reads(login(cam), reverse("vendor:dashboard"))
    assert shown_figures(response) == expected_figures(Partner.objects.filter(pk=mine.partner.pk))
    panel = deals_panel(response)
    assert (panel["waiting"], panel["wins_waiting"]) == (4, 0)


# --- the partner list ----------------------------------------------------------------------------
def test_partner_list_counts_each_listed_partners_active_people_only(program_admin: User) -> None:
    make_partners(3, people=2)
    client = login(program_admin)
    few, response = reads(client, reverse("vendor:partner_list") + "?q=Cost+Probe")
    assert [partner.member_count for partner in response.context["page"].object_list] == [2, 2, 2]

    busy = make_partners(40, start=3, people=1)[0]
    factories.partner_user(busy, role=PartnerRole.ADMIN)
    many, response = reads(client, reverse("vendor:partner_list") + "?q=Cost+Probe")
    page = response.context["page"]
    assert page.paginator.count == 43
    expected = {
        partner.pk: Membership.objects.filter(partner=partner, is_active=True).count()
        for partner in page.object_list
    }
    assert {partner.pk: partner.member_count for partner in page.object_list} == expected
    assert expected[busy.pk] == 2
    assert len(few) == len(many), "\n".join(many)
    # The people are counted for the page's rows only: no GROUP BY over every partner's
    # memberships, neither in the list nor in its count.
    assert not [sql for sql in many if "GROUP BY" in sql and "partners_membership" in sql], many
    # The page's rows come through its keys, in the same statement (KeysInSubqueryPaginator).
    assert len([sql for sql in many if 'FROM "partners_partner"' in sql and "LIMIT 25" in sql]) == 1, many
    # The filter's selects are written in Python (prm.widgets.Select), not a template per option.
    assert "django/forms/widgets/select_option.html" not in [template.name for template in response.templates]


def test_a_channel_account_managers_partner_list_is_the_portfolio() -> None:
    partners = make_partners(5)
    cam = f.cam_for(*partners[:2])
    _statements, response = reads(login(cam), reverse("vendor:partner_list"))
    assert {partner.pk for partner in response.context["page"].object_list} == {p.pk for p in partners[:2]}


# --- the admin partner changelist ------------------------------------------------------------------
def test_admin_partner_changelist_costs_the_same_at_two_sizes(program_admin: User) -> None:
    User.objects.filter(pk=program_admin.pk).update(is_staff=True)
    make_partners(2, people=0)
    client = login(program_admin)
    few, response = reads(client, reverse("admin:partners_partner_changelist"))
    make_partners(40, start=2, people=0)
    many, response = reads(client, reverse("admin:partners_partner_changelist"))
    assert len(few) == len(many), "\n".join(many)
    body = response.content.decode()
    assert body.count('name="_selected_action"') == 42
    assert body.count("United States of America") >= 42  # the country column, by name
    # Each row's checkbox is markup, not a form widget rendered through its template.
    assert "django/forms/widgets/checkbox.html" not in [template.name for template in response.templates]


def test_a_channel_account_managers_admin_changelist_is_the_portfolio(program_admin: User) -> None:
    partners = make_partners(4, people=0)
    cam = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, is_staff=True)
    services.partner_assign_channel_manager(
        actor=factories.actor_for(program_admin), partner=partners[1], manager=cam
    )
    _statements, response = reads(login(cam), reverse("admin:partners_partner_changelist"))
    assert [row.pk for row in response.context["cl"].result_list] == [partners[1].pk]


# --- the review queue ----------------------------------------------------------------------------
def test_review_queue_reads_its_extension_panel_in_one_statement(program_admin: User) -> None:
    product = f.product()
    team = f.team()
    client = login(program_admin)
    bulk_deals(team, 2, product=product, statuses=[DealStatus.SUBMITTED])
    few, response = reads(client, reverse("deals:review_queue"))
    assert response.context["pending_extension_count"] == 0

    approved = bulk_deals(team, 9, product=product, statuses=[DealStatus.APPROVED], start=100)
    bulk_extensions(approved)
    DealExtensionRequest.objects.filter(deal=approved[0]).update(
        created_at=timezone.now() - timedelta(days=9)
    )
    bulk_deals(team, 40, product=product, statuses=[DealStatus.SUBMITTED], start=200)
    many, response = reads(client, reverse("deals:review_queue"))
    assert response.context["page"].paginator.count == 42
    assert response.context["pending_extension_count"] == 9
    assert [extension.deal_id for extension in response.context["pending_extensions"]] == list(
        DealExtensionRequest.objects.order_by("created_at", "pk").values_list("deal_id", flat=True)[:6]
    )
    assert b"9 requests in all" in response.content
    assert len(few) == len(many), "\n".join(many)
    assert len([sql for sql in many if 'FROM "deals_dealextensionrequest"' in sql]) == 1, many
