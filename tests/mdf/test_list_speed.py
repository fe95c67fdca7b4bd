"""The fund request lists stay cheap as they grow (issue 11): the partner's request list and the
admin changelist run at most a fixed number of queries for 1 row and for 50, the list's count comes
from the status counts the page shows anyway, the changelist reads a page's keys first (and a
channel account manager's requests by the resolved portfolio, still only theirs), the per-row
labels and checkbox are exactly what Django would render, and amounts stay exact."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mdf.admin.requests import FundRequestAdmin
from mdf.models import ActivityType, FundPeriod, FundRequest, RequestStatus
from prm.models import User
from prm.views import PAGE_SIZE
from tests.helpers import login
from tests.mdf import factories as m
from tests.mdf import test_query_counts as built
from tests.mdf.test_query_counts import World, bulk_requests, one_claimed

world = built.world  # the query-count tests' fixture: a partner's team, its allocation, an admin

pytestmark = pytest.mark.django_db

# What the pages may run under the test settings, for 1 row and for a full page (the session and
# user, the request's scope, the admin's permissions and filters, the page's own reads). The request
# list reads a page's keys with the status counts and the periods in one statement, then its rows,
# and counts nothing of its own (the status counts say how long it is). The changelist reads a
# page's keys first between planner settings (SET LOCAL statements, counted here too).
REQUEST_LIST_QUERIES = 15
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
    """The list's page keys, status counts, filtered count and periods (one statement) and its rows
    are statements kept compiled (prm.statements; each call checked against the ORM's,
    PRM["VERIFY_STATEMENTS"]), not built again on every request: a silent fallback to building
    would go unnoticed otherwise."""
    from mdf import selectors

    assert settings.PRM["VERIFY_STATEMENTS"]
    one_claimed(world)
    grow(world, 3)
    response = login(world.team.admin).get(reverse("mdf:request_list"), params)
    assert response.status_code == 200
    actor = world.team.admin_actor
    rows = response.context["page"].object_list
    assert rows
    assert selectors._REQUEST_LIST_PAGE.is_kept(
        actor,
        bottom=0,
        top=PAGE_SIZE,
        # As the form gives them: plain strings (the type is part of the shape).
        status=str(params["status"]) if "status" in params else None,
        activity_type=params.get("activity_type"),
        period=None,
    )
    assert selectors._REQUEST_ROWS.is_kept(actor, keys=[row.pk for row in rows])


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
    # A capped count, or for the program's whole table the estimate with the count in its other
    # branch (prm.pagination.capped_count).
    counts = [
        query["sql"]
        for query in queries.captured_queries
        if query["sql"].startswith(("SELECT COUNT(*)", "SELECT CASE WHEN (SELECT reltuples"))
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


def _list_reads(queries: CaptureQueriesContext) -> list[str]:
    """The statements of a request that read the fund requests or the periods (the page's own)."""
    return [
        query["sql"]
        for query in queries.captured_queries
        if '"mdf_fundrequest"' in query["sql"] or '"mdf_fundperiod"' in query["sql"]
    ]


@pytest.mark.parametrize(
    "params",
    [{}, {"status": RequestStatus.SUBMITTED}, {"activity_type": ActivityType.EVENT}],
    ids=["all", "submitted", "event"],
)
def test_request_list_reads_its_page_in_two_statements(world: World, params: dict) -> None:
    """The page's keys, the status counts, the filtered count and the periods come in one
    statement, the rows in a second: for 1 row and for a full page."""
    one_claimed(world)
    m.submitted(world.team.marketing_actor, activity_type=ActivityType.EVENT)
    client = login(world.team.admin)
    client.get(reverse("mdf:request_list"), params)  # warm: the session, the kept statements
    for rows in ("few", "many"):
        if rows == "many":
            # Every fourth an event: more than a page in each case.
            bulk_requests(
                world.team,
                120,
                allocations=[world.allocation],
                reviewer=world.admin.user,
                statuses=[RequestStatus.SUBMITTED],
            )
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("mdf:request_list"), params)
        assert response.status_code == 200
        assert len(_list_reads(queries)) == 2, (rows, _list_reads(queries))
        expected = FundRequest.objects.filter(partner=world.team.partner, **params)
        page = response.context["page"]
        assert page.paginator.count == expected.count()
        assert [row.pk for row in page.object_list] == list(
            expected.order_by("-created_at", "-pk").values_list("pk", flat=True)[:PAGE_SIZE]
        )


@pytest.mark.parametrize("number", ["2", "3", "99", "-1", "0", "x", "99999999999999999999999"])
def test_request_list_pages_past_either_end_show_what_the_paginator_shows(world: World, number: str) -> None:
    """The keys read with the counts are those of the page the address asks for; a number the
    paginator reads as another page (past the last, below the first, not a number) shows that
    page's rows, read on their own."""
    one_claimed(world)
    grow(world, 30)  # 31 requests: two pages
    response = login(world.team.admin).get(reverse("mdf:request_list"), {"page": number})
    assert response.status_code == 200
    ordered = list(
        FundRequest.objects.filter(partner=world.team.partner)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )
    page = response.context["page"]
    # Not a number: the first page; below the first or past the last: the last (Paginator.get_page).
    shown = 1 if number == "x" else min(int(number), 2) if int(number) >= 1 else 2
    assert page.number == shown
    assert [row.pk for row in page.object_list] == ordered[(shown - 1) * PAGE_SIZE : shown * PAGE_SIZE]


def _period_options(html: str) -> list[str]:
    select = html[
        html.index('<select name="period"') : html.index("</select>", html.index('<select name="period"'))
    ]
    return re.findall(r"<option[^>]*>[^<]*</option>", select)


def test_the_period_filter_is_never_stale(world: World) -> None:
    """The filter bar is kept per process by what it shows; the periods are read on every request,
    so one added or renamed (in any process) shows on the next request, newest first, and the
    chosen one stays chosen."""
    from mdf import views

    client = login(world.team.admin)
    url = reverse("mdf:request_list")
    period = world.budget.period
    assert _period_options(client.get(url).content.decode()) == [
        '<option value="" selected>Any period</option>',
        f'<option value="{period.pk}">{period.name}</option>',
    ]
    FundPeriod.objects.filter(pk=period.pk).update(name="FY renamed <H1>")
    later = m.period(
        starts_on=period.ends_on + timedelta(days=1), ends_on=period.ends_on + timedelta(days=90)
    )
    assert _period_options(client.get(url).content.decode()) == [
        '<option value="" selected>Any period</option>',
        f'<option value="{later.pk}">{later.name}</option>',
        f'<option value="{period.pk}">FY renamed &lt;H1&gt;</option>',
    ]
    # Kept for the next request with the same periods and choices.
    assert any(later.name in selects["period"] for selects in views._kept_selects.values())
    chosen = client.get(url, {"period": later.pk, "status": RequestStatus.DRAFT}).content.decode()
    assert _period_options(chosen)[:2] == [
        '<option value="">Any period</option>',
        f'<option value="{later.pk}" selected>{later.name}</option>',
    ]
    assert f'<option value="{RequestStatus.DRAFT}" selected>' in chosen


def test_a_kept_row_is_written_again_when_the_request_changes(world: World) -> None:
    """Rows are kept by every value they print (mdf.markup.request_rows): a request renamed or
    moved on shows as it is now on the next request, in each language."""
    fund_request = m.submitted(world.team.marketing_actor, title="Summit <Berlin>")
    client = login(world.team.admin)
    url = reverse("mdf:request_list")
    assert "Summit &lt;Berlin&gt;" in client.get(url).content.decode()
    FundRequest.objects.filter(pk=fund_request.pk).update(title="Summit Paris", status=RequestStatus.REJECTED)
    now = client.get(url).content.decode()
    assert "Summit &lt;Berlin&gt;" not in now
    assert "Summit Paris" in now
    assert "status-badge mdf-status status-rejected" in now
    User.objects.filter(pk=world.team.admin.pk).update(language="de")
    assert 'mdf-status status-rejected">Abgelehnt</span>' in client.get(url).content.decode()
