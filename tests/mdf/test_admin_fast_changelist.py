"""The fund request changelist's common GET written without Django's template
(mdf/admin/fast_changelist.py): the page must be Django's own, byte for byte but for the CSRF
tokens and the CSP nonce, for each query it covers (the default list, each status, a page, an
empty result), each role that may see it, and in a second language; everything else (a search,
another filter or ordering, facets, ``?e=1``, a page past the last, a role refused) is Django's
ChangeList; and it reads a fixed number of statements for 1 row and for a page of 50."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.contrib.admin.views.main import ChangeList
from django.db import connection
from django.template.response import TemplateResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from mdf.admin import fast_changelist
from mdf.models import FundRequest, RequestStatus
from prm.models import User
from prm.roles import VendorRole
from tests import factories
from tests.helpers import login
from tests.mdf import factories as m
from tests.mdf import test_query_counts as built
from tests.mdf.test_query_counts import World, bulk_requests

world = built.world  # the query-count tests' fixture: a partner's team, its allocation, an admin

pytestmark = pytest.mark.django_db

URL = "admin:mdf_fundrequest_changelist"
COVERED = [
    "",
    "status__exact=submitted",
    "p=2",
    "status__exact=approved&p=1",
    "status__exact=expired",  # no request expired: the empty list
]
# Every statement of a request in the tests but the session's, the test's own scope handling
# included (a channel account manager's portfolio is resolved in four); Django's page: 25 and 30
# (tests/mdf/test_list_speed.py).
FAST_PAGE_STATEMENTS = {"program_admin": 11, "cam": 16}
NOT_COVERED = ["q=Roadshow", "o=4.-1", "_facets=True", "needs_program_admin__exact=1", "e=1", "p=2&p=3"]


def _normalised(body: bytes) -> str:
    # The CSRF tokens are masked anew for each form of each request, the CSP nonce drawn anew.
    token = r'name="csrfmiddlewaretoken" value="[^"]*"'
    text = re.sub(token, 'name="csrfmiddlewaretoken" value=""', body.decode())
    return re.sub(r'nonce="[^"]*"', 'nonce=""', text)


@pytest.fixture(autouse=True)
def _no_frames_kept() -> Any:
    fast_changelist._frames.clear()
    fast_changelist._refused.clear()
    yield
    fast_changelist._frames.clear()
    fast_changelist._refused.clear()


@pytest.fixture
def requests(world: World) -> World:
    m.submitted(world.team.marketing_actor, title='Roadshow "Q3" <Chicago> & more')
    bulk_requests(world.team, 60, allocations=[world.allocation], reviewer=world.admin.user)
    # None expired: that filter is the empty list.
    FundRequest.objects.filter(status=RequestStatus.EXPIRED).update(status=RequestStatus.REJECTED)
    return world


def _user(world: World, who: str) -> User:
    if who == "program_admin":
        return world.admin.user
    if who == "cam":
        return m.cam_for(world.team.partner).user
    return m.finance().user


def _fast(response: Any) -> bool:
    """Whether the fast path wrote the page (Django's is a TemplateResponse with its ChangeList)."""
    return response.status_code == 200 and not isinstance(response, TemplateResponse)


def _statements(queries: CaptureQueriesContext) -> int:
    """The page's statements: not the savepoints the test's own transaction wraps the request's
    in, nor the session's row (read or not as the session cache has it: not the page's)."""
    return sum(
        1
        for query in queries.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE")) and '"django_session"' not in query["sql"]
    )


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("who", ["program_admin", "cam", "finance"])
def test_the_fast_page_is_djangos_page(
    requests: World, who: str, language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = _user(requests, who)
    User.objects.filter(pk=user.pk).update(language=language)
    client = login(user)
    with time_machine.travel(timezone.now(), tick=False):  # one moment for both (the age column)
        client.get(reverse(URL))  # the frame, kept from the default list, serves every query
        assert len(fast_changelist._frames) == 1
        for query in COVERED:
            url = f"{reverse(URL)}?{query}"
            with monkeypatch.context() as patched:
                patched.setattr(fast_changelist, "covered", lambda request: False)
                django = client.get(url)
            assert django.status_code == 200, query
            assert not _fast(django)
            fast = client.get(url)
            assert fast.status_code == 200, query
            assert _fast(fast), query
            assert _normalised(fast.content) == _normalised(django.content), query
            if query == "status__exact=expired":
                assert '<th class="field-reference">' not in fast.content.decode()
            else:
                assert '<th class="field-reference">' in fast.content.decode()
    assert "Roadshow &quot;Q3&quot; &lt;Chicago&gt; &amp; more" in client.get(reverse(URL)).content.decode()


@pytest.mark.parametrize("query", NOT_COVERED)
def test_what_it_does_not_cover_is_djangos_changelist(requests: World, query: str) -> None:
    client = login(requests.admin.user)
    client.get(reverse(URL))  # a frame kept for this user
    assert fast_changelist._frames
    response = client.get(f"{reverse(URL)}?{query}")
    assert not _fast(response)
    assert response.status_code in (200, 302)  # 302: Django's redirect of a wrong parameter to ?e=1
    if response.status_code == 200:
        assert type(response.context_data["cl"]).__mro__[1] is not fast_changelist.FastFundRequestChangeList
        assert isinstance(response.context_data["cl"], ChangeList)


def test_a_page_past_the_last_is_djangos_redirect(requests: World) -> None:
    client = login(requests.admin.user)
    client.get(reverse(URL))
    response = client.get(f"{reverse(URL)}?p=99")
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_a_refused_role_is_refused(requests: World) -> None:
    user = factories.vendor_actor(VendorRole.CONTENT_MANAGER).user
    client = login(user)
    responses = [client.get(reverse(URL)) for _ in range(2)]
    assert [response.status_code for response in responses] == [403, 403]
    assert not fast_changelist._frames


def test_a_message_to_show_is_djangos_page(rf: Any) -> None:
    from django.contrib.messages.storage.cookie import CookieStorage

    request = rf.get(reverse(URL), {"status__exact": "submitted"})
    request._messages = CookieStorage(request)
    assert fast_changelist.covered(request)
    request._messages.add(20, "Done.")  # as after an action's redirect: Django's page prints it
    assert not fast_changelist.covered(request)


def test_a_filters_choices_read_anew_are_a_new_sidebar(requests: World) -> None:
    """The sidebar is kept per the choices read on the request: a tier renamed (by another
    process, say) is listed by its new name on the next page."""
    from partners.models import Tier

    client = login(requests.admin.user)
    client.get(reverse(URL))
    assert "Diamond" not in client.get(reverse(URL)).content.decode()
    assert Tier.objects.filter(pk=factories.tier().pk).update(name="Diamond")
    page = client.get(reverse(URL))
    assert _fast(page)
    assert ">Diamond</a>" in page.content.decode()


def test_the_related_filters_labels_are_their_names(requests: World) -> None:
    """NamedRelatedFieldListFilter lists ``name`` for ``str()``: so are these models' strings."""
    from mdf.models import FundPeriod
    from partners.models import Tier

    assert all(str(tier) == tier.name for tier in Tier.objects.all())
    assert all(str(period) == period.name for period in FundPeriod.objects.all())
    assert Tier.objects.exists() and FundPeriod.objects.exists()


def test_the_frame_is_kept_per_language_and_access(requests: World) -> None:
    user = requests.admin.user
    client = login(user)
    client.get(reverse(URL))
    assert _fast(client.get(reverse(URL)))
    User.objects.filter(pk=user.pk).update(language="de")
    german = client.get(reverse(URL))
    assert not _fast(german)  # a new key: Django's page, its frame kept
    assert _fast(client.get(reverse(URL)))
    User.objects.filter(pk=user.pk).update(full_name="Renamed Admin")
    renamed = client.get(reverse(URL))
    assert not _fast(renamed)
    assert "Renamed Admin" in renamed.content.decode() or "Renamed" in renamed.content.decode()


@pytest.mark.parametrize("who", ["program_admin", "cam"])
@pytest.mark.parametrize("query", ["", "status__exact=submitted"], ids=["all", "submitted"])
def test_the_fast_page_reads_a_fixed_number_of_statements(world: World, who: str, query: str) -> None:
    """1 row, then a page of 50 of many (or all of a list that fits one page): the same
    statements (a page's keys are read with the count)."""
    m.submitted(world.team.marketing_actor)
    user = _user(world, who)
    client = login(user)
    url = f"{reverse(URL)}?{query}"
    client.get(url)  # the frame
    with CaptureQueriesContext(connection) as few:
        one = client.get(url)
    bulk_requests(world.team, 120, allocations=[world.allocation], reviewer=world.admin.user)
    with CaptureQueriesContext(connection) as many:
        page = client.get(url)
    assert _fast(one) and _fast(page)
    rows = FundRequest.objects.filter(partner=world.team.partner)
    if query:
        rows = rows.filter(status=RequestStatus.SUBMITTED)
    pages = rows.count() > 50
    assert _statements(many) == _statements(few) <= FAST_PAGE_STATEMENTS[who]
    # The list's own: the queue summary, the count with the page's keys, and the rows.
    listed = [query["sql"] for query in many.captured_queries if 'FROM "mdf_fundrequest"' in query["sql"]]
    assert len(listed) == 3, listed
    assert one.content.decode().count('<th class="field-reference">') == 1
    assert page.content.decode().count('<th class="field-reference">') == min(50, rows.count())
    actor = page.wsgi_request.actor
    status = "submitted" if query else None
    assert fast_changelist._COUNT.is_kept(actor, status=status)
    if pages:
        assert fast_changelist._KEYS.is_kept(actor, status=status, bottom=0, top=50)
        assert fast_changelist._ROWS.is_kept(actor, keys=list(range(1, 51)))
    else:
        assert fast_changelist._ALL_ROWS.is_kept(actor, status=status)


@pytest.mark.parametrize("who", ["program_admin", "cam"])
def test_the_filters_choices_come_in_one_statement_that_sets_the_planner_settings(
    world: World, who: str
) -> None:
    """The partner, tier and period filters' choices in one statement, which sets the list's
    planner settings; the count and the page's keys in one, which sets them back: no SET LOCAL,
    and the settings are the defaults again once the page is written. The choices are Django's."""
    bulk_requests(world.team, 60, allocations=[world.allocation], reviewer=world.admin.user)
    user = _user(world, who)
    client = login(user)
    client.get(reverse(URL))  # the frame
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_sort'), current_setting('max_parallel_workers_per_gather')"
        )
        defaults = cursor.fetchone()
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse(URL))
    assert _fast(page)
    sent = [query["sql"] for query in queries.captured_queries]
    assert not [sql for sql in sent if "SET LOCAL" in sql]
    choices = [sql for sql in sent if '"partners_tier"' in sql or '"mdf_fundperiod"' in sql]
    assert len(choices) == 1 and "UNION ALL" in choices[0] and "set_config" in choices[0]
    assert '"partners_partner"' in choices[0]
    # The list's count with its page's keys (the queue summary's COUNT(*) rides with the choices).
    counted = [sql for sql in sent if "COUNT(*)" in sql and "AS keys" in sql]
    assert len(counted) == 1 and '"mdf_fundrequest"' in counted[0] and "set_config" in counted[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_sort'), current_setting('max_parallel_workers_per_gather')"
        )
        assert cursor.fetchone() == defaults
    filters = {spec.title: spec for spec in page.context["cl"].filter_specs}
    django = Client()
    django.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    by_django = django.get(f"{reverse(URL)}?q=")  # a search: Django's ChangeList reads each filter
    assert not _fast(by_django)
    for spec in by_django.context["cl"].filter_specs:
        assert list(spec.choices(page.context["cl"])) == list(filters[spec.title].choices(page.context["cl"]))


def test_the_fast_pages_styles_carry_the_responses_nonce(requests: World) -> None:
    client = login(requests.admin.user)
    client.get(reverse(URL))
    page = client.get(reverse(URL))
    assert _fast(page)
    nonces = set(re.findall(r'nonce="([^"]+)"', page.content.decode()))
    assert len(nonces) == 1
    policy = page.get("Content-Security-Policy") or page.get("Content-Security-Policy-Report-Only")
    assert f"'nonce-{nonces.pop()}'" in policy


def test_a_middle_unlike_djangos_keeps_no_frame(requests: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page written here differs from Django's (a new Django, a changed template): no frame is
    kept and Django's page is served; tried again a few times, then left to Django for good."""
    client = login(requests.admin.user)
    written = fast_changelist.middle
    monkeypatch.setattr(fast_changelist, "middle", lambda *args: written(*args) + "<p>not Django's</p>")
    for _ in range(fast_changelist.REFUSALS_KEPT + 2):
        response = client.get(reverse(URL))
        assert not _fast(response)
        assert "not Django's" not in response.content.decode()
    assert list(fast_changelist._frames.values()) == [None]
    monkeypatch.setattr(fast_changelist, "middle", written)
    assert not _fast(client.get(reverse(URL)))  # this key stays Django's in this process


def test_one_difference_is_tried_again(requests: World, monkeypatch: pytest.MonkeyPatch) -> None:
    client = login(requests.admin.user)
    written = fast_changelist.middle
    monkeypatch.setattr(fast_changelist, "middle", lambda *args: written(*args) + "<p>not Django's</p>")
    assert not _fast(client.get(reverse(URL)))
    monkeypatch.setattr(fast_changelist, "middle", written)
    assert not _fast(client.get(reverse(URL)))  # captured now
    assert _fast(client.get(reverse(URL)))


@pytest.mark.parametrize("who", ["program_admin", "cam"])
def test_the_whole_table_past_the_cap_by_the_estimate_is_djangos_page_too(
    requests: World, who: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The program's whole list, which PostgreSQL's estimate puts far past the cap, is "more than
    10,000" without being counted, on the fast page as on Django's; a status filter and a channel
    account manager's portfolio are counted."""
    from prm import pagination

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {FundRequest._meta.db_table}")
    monkeypatch.setattr(pagination, "ESTIMATED_PAST_CAP", 10)
    client = login(_user(requests, who))
    client.get(reverse(URL))
    for query in ["", "status__exact=submitted"]:
        url = f"{reverse(URL)}?{query}"
        with monkeypatch.context() as patched:
            patched.setattr(fast_changelist, "covered", lambda request: False)
            django = client.get(url)
        fast = client.get(url)
        assert _fast(fast) and not _fast(django)
        assert _normalised(fast.content) == _normalised(django.content)
        estimated = who == "program_admin" and not query
        assert ("More than 10,000 fund requests" in fast.content.decode()) is estimated, query
