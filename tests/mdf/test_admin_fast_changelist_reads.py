"""The fund request changelist's fast path (mdf/admin/fast_changelist.py) sends the queue summary's
reads (what waits for a decision; a channel account manager's approval limit) inside its first
statement, the one that reads the filters' choices and sets the list's planner settings: the page
shows what the summary's own statements read, in fewer round trips."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mdf.admin import fast_changelist
from mdf.models import ApprovalLimit, FundRequest
from tests.helpers import login
from tests.mdf import factories as m
from tests.mdf.test_admin_fast_changelist import _fast, _user, requests, world  # noqa: F401
from tests.mdf.test_query_counts import World

pytestmark = pytest.mark.django_db

URL = "admin:mdf_fundrequest_changelist"
ESCALATED = 'FILTER (WHERE "mdf_fundrequest"."needs_program_admin")'


@pytest.fixture(autouse=True)
def _no_frames_kept() -> Any:
    fast_changelist._frames.clear()
    fast_changelist._refused.clear()
    yield
    fast_changelist._frames.clear()
    fast_changelist._refused.clear()


@pytest.mark.parametrize("who", ["program_admin", "cam", "cam_with_limit"])
@pytest.mark.parametrize("query", ["", "status__exact=submitted", "status__exact=expired"])
def test_the_queue_summary_is_read_with_the_filters_choices(
    requests: World,  # noqa: F811
    who: str,
    query: str,
) -> None:
    user = _user(requests, "cam" if who.startswith("cam") else who)
    if who == "cam_with_limit":
        ApprovalLimit.objects.create(user=user, amount=Decimal("4321.00"), currency="USD")
    client = login(user)
    url = f"{reverse(URL)}?{query}"
    first = client.get(url)  # Django's page, whose frame is kept
    assert not _fast(first)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url)
    assert _fast(page)
    sent = [query["sql"] for query in queries.captured_queries]
    carrying = [sql for sql in sent if ESCALATED in sql]
    assert len(carrying) == 1 and "UNION ALL" in carrying[0] and "set_config" in carrying[0]
    limits = [sql for sql in sent if '"mdf_approvallimit"' in sql]
    assert limits == (carrying if who.startswith("cam") else [])
    # What the summary's own statements read, in the same actor's scope.
    model_admin = django_admin.site._registry[FundRequest]
    with m.acting(page.wsgi_request.actor):
        expected = model_admin._queue_summary(page.wsgi_request)["queue"]
    assert page.context["queue"] == first.context["queue"] == expected
    assert expected["total"] > 0 and expected["escalated"] > 0
    if who == "cam_with_limit":
        assert "4,321.00" in expected["limit_text"]


def test_an_actor_whose_scope_matches_no_request_reads_an_empty_queue(world: World) -> None:  # noqa: F811
    """A channel account manager with no partner: the summary's read can match no row (no SQL is
    sent for it), the page still says nothing waits."""
    cam = m.cam_for().user
    client = login(cam)
    client.get(reverse(URL))
    page = client.get(reverse(URL))
    assert page.status_code == 200
    assert page.context["queue"]["total"] == 0
    assert "Nothing awaits a decision." in page.content.decode()


def test_a_listed_request_reads_each_column_of_its_row_by_name() -> None:
    row = tuple(f"the {name}" for name in fast_changelist.ROW_FIELDS)
    listed = fast_changelist.ListedRequest(row)
    for name, value in zip(fast_changelist.ROW_FIELDS, row, strict=True):
        if name == "partner__legal_name":
            assert str(listed.partner) == listed.partner.legal_name == value
        else:
            assert getattr(listed, name) == value
    assert listed.id == listed.pk


@pytest.mark.parametrize("who", ["program_admin", "cam"])
def test_the_partner_filter_offers_the_funded_partners_the_actor_may_see(world: World, who: str) -> None:  # noqa: F811
    """The partner filter's kept read (the first PARTNER_FILTER_LIMIT + 1 funded partners of the
    actor's scope, by name) lists what _funded_partners lists: not a partner without funds, not a
    funded partner outside a channel account manager's portfolio."""
    from mdf.admin.common import _FUNDED_PARTNERS, PARTNER_FILTER_LIMIT, _funded_partners
    from tests import factories

    beyond = m.team("Aardvark Outside")  # funded, outside the manager's portfolio
    m.fund(beyond.partner, world.budget, "1000.00", world.admin)
    inside = m.team("Zebra Inside")
    m.fund(inside.partner, world.budget, "1000.00", world.admin)
    unfunded = factories.PartnerFactory(legal_name="Bare Partner")
    actor = world.admin if who == "program_admin" else m.cam_for(world.team.partner, inside.partner, unfunded)
    with m.acting(actor):
        offered = _FUNDED_PARTNERS.rows(actor, limit=PARTNER_FILTER_LIMIT)
        expected = list(_funded_partners(actor))
    names = [name for _pk, name in offered]
    assert offered == expected
    assert "Bare Partner" not in names and "Zebra Inside" in names
    assert ("Aardvark Outside" in names) == (who == "program_admin")
    assert names == sorted(names)


def test_a_kept_row_is_written_anew_once_its_values_change(requests: World) -> None:  # noqa: F811
    """A row's cells are kept by its values: a request renamed shows its new title, as Django's
    page does."""
    client = login(requests.admin.user)
    client.get(reverse(URL))  # the frame
    before = client.get(reverse(URL))
    assert _fast(before)
    listed = before.context["cl"].result_list[0]

    def row(page: Any) -> str:
        found = re.search(rf'<tr><td class="action-checkbox">[^\n]*value="{listed.pk}"[^\n]*</tr>', page)
        assert found is not None
        return found[0]

    assert "Renamed roadshow" not in row(before.content.decode())
    FundRequest.objects.filter(pk=listed.pk).update(title="Renamed roadshow")
    after = client.get(reverse(URL))
    assert _fast(after)
    assert "Renamed roadshow" in row(after.content.decode())
    # Django's ChangeList (a search for nothing) writes the same row, its links keeping the search.
    by_django = row(client.get(reverse(URL), {"q": ""}).content.decode())
    assert row(after.content.decode()) == by_django.replace("?_changelist_filters=q%3D", "")
