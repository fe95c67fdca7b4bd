"""The vendor's partner list reads its rows with its count, and its filters' options, through kept
statements (prm.statements): compiled once per shape, not built through the ORM on every request.
Each call is also checked against the ORM's own statement (PRM["VERIFY_STATEMENTS"], the test
settings), so these tests prove the rows; here, that the usual shapes are indeed kept (a silent
fallback to building would go unnoticed otherwise)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners import selectors, vendor_views
from partners.models import PartnerStatus
from prm.models import User
from tests import factories
from tests.deals import factories as f
from tests.helpers import login
from tests.partners.test_vendor_page_costs import make_partners

pytestmark = pytest.mark.django_db


def _page_kept(response: Any) -> bool:
    page = response.context["page"]
    paginator = page.paginator
    actor = response.wsgi_request.actor
    bottom, top = paginator.bounds(page.number)
    return paginator.rows_statement.is_kept(actor, bottom=bottom, top=top, **paginator.values)


@pytest.mark.parametrize("query", ["", "?page=2", "?status=active", "?status=active&region=REGION&tier=TIER"])
def test_the_partner_lists_statements_are_compiled_once_and_kept(
    program_admin: User, query: str, settings: Any
) -> None:
    assert settings.PRM["VERIFY_STATEMENTS"]
    partners = make_partners(30, people=1)
    query = query.replace("TIER", str(partners[0].tier_id)).replace("REGION", partners[0].region)
    client = login(program_admin)
    response = client.get(reverse("vendor:partner_list") + query)
    assert response.status_code == 200
    assert response.context["page"].object_list
    assert _page_kept(response)
    actor = response.wsgi_request.actor
    assert vendor_views._FILTER_OPTIONS.is_kept(actor)
    if "status" in query:
        assert {row.status for row in response.context["page"].object_list} == {PartnerStatus.ACTIVE}


def test_a_search_is_built_each_time(program_admin: User) -> None:
    # Its LIKE patterns derive from the text: the shape cannot be kept, and still answers.
    make_partners(3)
    response = login(program_admin).get(reverse("vendor:partner_list") + "?q=Cost")
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 3
    assert not _page_kept(response)


def test_a_channel_account_managers_list_is_kept_for_the_portfolio() -> None:
    partners = make_partners(4)
    cam = f.cam_for(*partners[:2])
    response = login(cam).get(reverse("vendor:partner_list"))
    assert {row.pk for row in response.context["page"].object_list} == {p.pk for p in partners[:2]}
    assert response.context["page"].paginator.count == 2
    assert _page_kept(response)


@pytest.mark.parametrize("role", ["program_admin", "cam"])
def test_the_dashboards_statements_are_kept_and_count_as_the_selectors(
    program_admin: User, role: str
) -> None:
    from django.utils import timezone

    from deals import panels as deal_panels
    from partners import selectors, vendor_dashboard
    from partners.support import panels as support_panels
    from partners.support import selectors as support_selectors

    partners = make_partners(6)
    factories.ApplicationFactory()
    factories.ApplicationFactory()
    user = program_admin if role == "program_admin" else f.cam_for(*partners[:3])
    response = login(user).get(reverse("vendor:dashboard"))
    assert response.status_code == 200
    actor = response.wsgi_request.actor
    assert response.context["pending_applications"] == selectors.pending_application_count(actor=actor) == 2
    assert response.context["pending_profile_changes"] == selectors.pending_profile_change_count(actor=actor)
    assert response.context["total"] == (6 if role == "program_admin" else 3)
    assert response.context["by_tier"] == selectors.partner_counts(actor=actor)["tier"]
    tiers = [pk for pk, _name in vendor_dashboard._TIERS.rows(actor)]
    assert vendor_dashboard._TIERS.is_kept(actor)
    assert vendor_dashboard._FIGURES.is_kept(actor, tiers=tiers)
    assert deal_panels._VENDOR_WAITING.is_kept(actor)
    support = [panel for panel in response.context["panels"] if "open" in panel]
    assert support or role == "cam"
    if support:
        assert support_panels._QUEUE_COUNTS.is_kept(actor, now=timezone.now())
        counts = support_selectors.queue_counts(actor=actor)
        assert {name: support[0][name] for name in counts} == counts


def test_the_dashboards_recent_applications_print_as_the_models_did(program_admin: User) -> None:
    """The rows (RecentApplication) in the dashboard's template give the markup the applications
    themselves gave: the same page rendered with selectors.application_list's instances."""
    import re
    from datetime import timedelta

    from django.template import engines
    from django.test.html import parse_html
    from django.utils import timezone

    from partners import selectors, vendor_dashboard
    from partners.models import ApplicationStatus

    for number in range(7):
        factories.ApplicationFactory(
            company_name=f"Applicant <{number}> & Co",
            country=["DE", "FR", "US"][number % 3],
            # Distinct: the list's order is by submission alone.
            submitted_at=timezone.now() - timedelta(hours=number * 5),
        )
    client = login(program_admin)
    response = client.get(reverse("vendor:dashboard"))
    actor = response.wsgi_request.actor
    assert vendor_dashboard._RECENT_APPLICATIONS.is_kept(actor)
    context = next(layer for layer in response.context if "recent_applications" in layer).flatten()
    shown = [row.pk for row in context["recent_applications"]]
    models = list(selectors.application_list(actor=actor, status=ApplicationStatus.SUBMITTED)[:5])
    assert shown == [application.pk for application in models] and len(shown) == 5
    template = engines["django"].get_template("partners/vendor/dashboard.html")
    csrf = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]*"')
    old = template.render({**context, "recent_applications": models}, response.wsgi_request)
    new = template.render(context, response.wsgi_request)
    assert parse_html(csrf.sub("CSRF", old)) == parse_html(csrf.sub("CSRF", new))
    assert "Applicant &lt;" in new


@pytest.mark.parametrize(
    "role", ["channel_account_manager", "program_admin", "finance", "content_manager", "support"]
)
def test_every_vendor_role_gets_the_dashboard_and_the_fund_queue_of_an_empty_scope(
    db: Any, role: str
) -> None:
    """Each vendor role, a channel account manager without any partner yet among them: where a
    role's scope can match nothing (the ORM's EmptyResultSet), a kept aggregate returns no row at
    all. The dashboard's figures and panels and the fund-request queue's summary still answer
    (zeros, or the role's refusal), never a 500."""
    user = factories.vendor_user(role, email=f"{role}@prm.example")
    client = login(user, raise_request_exception=False)
    dashboard = client.get(reverse("vendor:dashboard"))
    assert dashboard.status_code in (200, 302), dashboard.status_code  # support: to its queue
    if dashboard.status_code == 200:
        assert dashboard.context["pending_profile_changes"] == 0
    assert client.get(reverse("admin:mdf_fundrequest_changelist")).status_code in (200, 403)


def _settings() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_sort'), current_setting('jit')")
        return cursor.fetchone()


@pytest.mark.parametrize("query", ["", "?page=2", "?status=active", "?q=Cost"])
@pytest.mark.parametrize("role", ["program_admin", "cam"])
def test_a_whole_programs_page_is_read_without_a_sort_and_in_name_order(
    program_admin: User, role: str, query: str
) -> None:
    """A role that sees the whole program reads a page's keys by a walk of the name index: the
    filter options' statement sets enable_sort off, the rows' statement sets it back (no round
    trip of their own, the defaults once the page is written), and the rows are in the list's
    order, page after page. A search and a channel account manager's portfolio are sorted as
    they were, with no setting sent."""
    partners = make_partners(60, people=1)
    user = program_admin if role == "program_admin" else f.cam_for(*partners[:45])
    client = login(user)
    client.get(reverse("vendor:partner_list"))
    defaults = _settings()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("vendor:partner_list") + query)
    assert response.status_code == 200
    sent = [entry["sql"] for entry in queries.captured_queries]
    assert not [sql for sql in sent if "SET LOCAL" in sql]
    walked = role == "program_admin" and "q=" not in query
    options = [sql for sql in sent if '"option_select"' in sql]
    assert len(options) == 1
    assert ("set_config" in options[0]) is walked
    rows = [sql for sql in sent if '"member_count"' in sql or "array_position" in sql]
    assert len(rows) == 1 and ("array_position" in rows[0]) is walked
    assert ("set_config" in rows[0]) is walked
    assert _settings() == defaults
    page = response.context["page"]
    # The list's order as the ORM's queryset has it (the selector's, read and sorted).
    filters = (
        {"status": PartnerStatus.ACTIVE} if "status" in query else {"q": "Cost"} if "q=" in query else {}
    )
    visible = selectors.partner_list(actor=response.wsgi_request.actor, filters=filters)
    ordered = list(visible.values_list("pk", flat=True))
    assert len(ordered) > (25 if "page" in query else 10)
    assert set(page.paginator.values.values()) - {None} == set(filters.values())
    bottom, top = page.paginator.bounds(page.number)
    assert [row.pk for row in page.object_list] == ordered[bottom:top]
    assert page.paginator.count == len(ordered)
