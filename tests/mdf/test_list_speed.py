"""The fund request lists stay cheap as they grow (issue 11): the partner's request list and the
admin changelist run at most a fixed number of queries for 1 row and for 50, the list's count comes
from the status counts the page shows anyway, the changelist reads a page's keys first (and a
channel account manager's requests by the resolved portfolio, still only theirs), the per-row
labels and checkbox are exactly what Django would render, and amounts stay exact."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mdf.admin.requests import FundRequestAdmin
from mdf.models import ActivityType, FundRequest, RequestStatus
from tests.helpers import login
from tests.mdf import factories as m
from tests.mdf import test_query_counts as built
from tests.mdf.test_query_counts import World, bulk_requests, one_claimed

world = built.world  # the query-count tests' fixture: a partner's team, its allocation, an admin

pytestmark = pytest.mark.django_db

# What the pages may run under the test settings, for 1 row and for a full page (the session and
# user, the request's scope, the admin's permissions and filters, the page's own reads). The request
# list reads a page's keys, then its rows, and counts nothing of its own (the status counts say how
# long it is). The changelist reads a page's keys first between planner settings (SET LOCAL
# statements, counted here too).
REQUEST_LIST_QUERIES = 19
CHANGELIST_QUERIES = {"program_admin": 25, "cam": 30}


def grow(world: World, count: int = 49) -> None:
    bulk_requests(world.team, count, allocations=[world.allocation], reviewer=world.admin.user)


@pytest.mark.parametrize("params", [{}, {"status": RequestStatus.SUBMITTED}], ids=["all", "submitted"])
def test_request_list_runs_a_fixed_number_of_queries(
    world: World, params: dict, django_assert_max_num_queries: Any
) -> None:
    one_claimed(world)
    m.submitted(world.team.marketing_actor)
    client = login(world.team.admin)
    client.get(reverse("mdf:request_list"), params)  # warm: content types, session
    with django_assert_max_num_queries(REQUEST_LIST_QUERIES):
        few = client.get(reverse("mdf:request_list"), params)
    grow(world)
    with django_assert_max_num_queries(REQUEST_LIST_QUERIES):
        many = client.get(reverse("mdf:request_list"), params)
    expected = FundRequest.objects.filter(partner=world.team.partner, **params)
    assert few.context["page"].paginator.count < many.context["page"].paginator.count == expected.count()
    shown = [row.reference for row in many.context["page"].object_list]
    assert shown == list(expected.order_by("-created_at", "-pk").values_list("reference", flat=True)[:25])


def test_request_list_count_from_the_status_counts_matches_the_rows(world: World) -> None:
    one_claimed(world)
    grow(world, 30)
    client = login(world.team.admin)
    for status in [None, *RequestStatus.values]:
        response = client.get(reverse("mdf:request_list"), {"status": status} if status else {})
        rows = FundRequest.objects.filter(partner=world.team.partner)
        if status:
            rows = rows.filter(status=status)
        assert response.context["page"].paginator.count == rows.count(), status
    # Another filter than the status is counted as it is (the status counts do not know it).
    response = client.get(reverse("mdf:request_list"), {"activity_type": "event"})
    assert (
        response.context["page"].paginator.count
        == FundRequest.objects.filter(partner=world.team.partner, activity_type="event").count()
    )


@pytest.mark.parametrize(
    "params", [{}, {"status": RequestStatus.SUBMITTED}, {"activity_type": "event"}], ids=str
)
def test_the_request_lists_statements_are_compiled_once_and_kept(
    world: World, params: dict, settings: Any
) -> None:
    """The list's keys, rows, status counts and periods are statements kept compiled
    (prm.statements; each call checked against the ORM's, PRM["VERIFY_STATEMENTS"]), not built
    again on every request: a silent fallback to building would go unnoticed otherwise."""
    from mdf import selectors

    assert settings.PRM["VERIFY_STATEMENTS"]
    one_claimed(world)
    grow(world, 3)
    response = login(world.team.admin).get(reverse("mdf:request_list"), params)
    assert response.status_code == 200
    actor = world.team.admin_actor
    rows = response.context["page"].object_list
    assert rows
    assert selectors._REQUEST_LIST_KEYS.is_kept(
        actor,
        bottom=0,
        top=len(rows),
        # As the form gives them: plain strings (the type is part of the shape).
        status=str(params["status"]) if "status" in params else None,
        activity_type=params.get("activity_type"),
        period=None,
    )
    assert selectors._REQUEST_ROWS.is_kept(actor, keys=[row.pk for row in rows])
    assert selectors._REQUEST_COUNTS.is_kept(actor)
    assert selectors._PERIODS.is_kept(actor)


@pytest.mark.parametrize("who", ["program_admin", "cam"])
@pytest.mark.parametrize("query", ["", "status__exact=submitted"], ids=["all", "submitted"])
def test_changelist_runs_a_fixed_number_of_queries(
    world: World, who: str, query: str, django_assert_max_num_queries: Any
) -> None:
    m.submitted(world.team.marketing_actor)
    user = world.admin.user if who == "program_admin" else m.cam_for(world.team.partner).user
    client = login(user)
    url = f"{reverse('admin:mdf_fundrequest_changelist')}?{query}"
    client.get(url)
    with django_assert_max_num_queries(CHANGELIST_QUERIES[who]):
        few = client.get(url)
    # 120 more: the page holds 50 of them, read by their keys first.
    bulk_requests(world.team, 120, allocations=[world.allocation], reviewer=world.admin.user)
    with django_assert_max_num_queries(CHANGELIST_QUERIES[who]):
        many = client.get(url)
    assert len(few.context["cl"].result_list) == 1
    rows = FundRequest.objects.filter(partner=world.team.partner)
    if query:
        rows = rows.filter(status=RequestStatus.SUBMITTED)
    assert len(many.context["cl"].result_list) == min(50, rows.count())
    assert many.context["cl"].paginator.count == rows.count()


@pytest.mark.parametrize("who", ["program_admin", "cam"])
def test_the_changelists_queue_summary_is_kept_compiled(world: World, who: str, settings: Any) -> None:
    """The queue summary's waiting requests and approval limit are statements kept compiled
    (prm.statements, each call checked against the ORM's), for both kinds of reviewer; the count
    of the list reads the keys alone, not the available funds of every counted row."""
    from mdf.admin import requests as request_admin
    from mdf.admin.common import _FUNDED_PARTNERS, PARTNER_FILTER_LIMIT

    assert settings.PRM["VERIFY_STATEMENTS"]
    m.submitted(world.team.marketing_actor)
    user = world.admin.user if who == "program_admin" else m.cam_for(world.team.partner).user
    with CaptureQueriesContext(connection) as queries:
        response = login(user).get(reverse("admin:mdf_fundrequest_changelist"))
    assert response.status_code == 200
    assert response.context["queue"]["total"] == 1
    actor = response.wsgi_request.actor
    assert request_admin._WAITING.is_kept(actor)
    if who == "cam":
        assert request_admin._APPROVAL_LIMIT.is_kept(actor)
    assert _FUNDED_PARTNERS.is_kept(actor, limit=PARTNER_FILTER_LIMIT)  # the partner filter's choices
    assert response.context["cl"].paginator.count == 1
    counts = [
        query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT COUNT(*)")
    ]
    assert any("mdf_fundrequest" in sql for sql in counts)
    assert not any("mdf_ledgerentry" in sql for sql in counts)


def test_a_channel_managers_changelist_shows_only_the_portfolio(world: World) -> None:
    mine = m.submitted(world.team.marketing_actor)
    other = m.team("Contoso Partners")
    m.fund(other.partner, world.budget, "5000.00", world.admin)
    theirs = m.submitted(other.marketing_actor)
    cam = m.cam_for(world.team.partner)
    response = login(cam.user).get(reverse("admin:mdf_fundrequest_changelist"))
    shown = {row.pk for row in response.context["cl"].result_list}
    assert mine.pk in shown and theirs.pk not in shown
    assert theirs.reference not in response.content.decode()


def test_action_checkbox_is_djangos_markup(world: World) -> None:
    fund_request = m.submitted(world.team.marketing_actor, title='Roadshow <"Q3"> & more')
    model_admin = FundRequestAdmin(FundRequest, admin.site)
    assert str(model_admin.action_checkbox(fund_request)) == str(
        admin.ModelAdmin.action_checkbox(model_admin, fund_request)
    )


def test_labels_are_the_choices_labels(world: World) -> None:
    fund_request = m.submitted(world.team.marketing_actor)
    for status in RequestStatus.values:
        fund_request.status = status
        assert fund_request.status_label == fund_request.get_status_display()
    for activity in ActivityType.values:
        fund_request.activity_type = activity
        assert fund_request.activity_label == fund_request.get_activity_type_display()
    fund_request.status = "unknown"
    assert fund_request.status_label == fund_request.get_status_display() == "unknown"


def test_amounts_stay_exact_on_both_lists(world: World) -> None:
    m.submitted(
        world.team.marketing_actor, requested_amount=Decimal("1234.57"), total_cost=Decimal("2469.14")
    )
    partner_page = login(world.team.admin).get(reverse("mdf:request_list")).content.decode()
    assert "1,234.57" in partner_page
    changelist = login(world.admin.user).get(reverse("admin:mdf_fundrequest_changelist")).content.decode()
    assert "1,234.57\N{NO-BREAK SPACE}USD" in changelist


def test_filtered_changelist_row_links_keep_the_filters_as_django_would(world: World) -> None:
    from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
    from django.http import QueryDict

    fund_request = m.submitted(world.team.marketing_actor)
    query = "status__exact=submitted&o=-7"
    response = login(world.admin.user).get(f"{reverse('admin:mdf_fundrequest_changelist')}?{query}")
    change = reverse("admin:mdf_fundrequest_change", args=[fund_request.pk])
    preserved = QueryDict(mutable=True)
    preserved["_changelist_filters"] = query
    djangos = add_preserved_filters(
        {"preserved_filters": preserved.urlencode(), "opts": FundRequest._meta}, change
    )
    assert f'href="{djangos.replace("&", "&amp;")}"' in response.content.decode()
