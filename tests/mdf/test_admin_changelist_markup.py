"""The fund request changelist's result table and filters are written in Python
(mdf/admin/changelist.py, the mdf_admin tags): each must be the markup Django's own tags make
(``{% result_list cl %}``, ``{% admin_list_filter cl spec %}``) for the same changelist: sorted by
one and by two columns, filtered, searched, on page 2, with no result, for a program admin and a
channel account manager, in English and in German; compared as HTML (not the whitespace)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import django.contrib.admin
import pytest
import time_machine
from django.contrib import admin
from django.template import engines
from django.test.html import parse_html
from django.urls import reverse
from django.utils import timezone, translation

from mdf.admin import changelist, fast_changelist
from mdf.admin.requests import FundRequestAdmin
from mdf.models import FundRequest, RequestStatus
from prm.models import User
from tests import factories
from tests.helpers import login
from tests.mdf import factories as m
from tests.mdf import test_query_counts as built
from tests.mdf.test_query_counts import World, bulk_requests
from tests.scoping import acting

world = built.world  # the query-count tests' fixture: a partner's team, its allocation, an admin

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _djangos_changelist(monkeypatch: pytest.MonkeyPatch) -> None:
    """These compare Django's tags on Django's ChangeList (the response's context): every page
    here is Django's. The page written without the template (mdf/admin/fast_changelist.py) is
    compared to Django's in test_admin_fast_changelist.py."""
    monkeypatch.setattr(fast_changelist, "covered", lambda request: False)


DJANGO = engines["django"].from_string("{% load admin_list %}{% result_list cl %}")
DJANGO_FILTER = engines["django"].from_string("{% load admin_list %}{% admin_list_filter cl spec %}")
OURS = engines["django"].from_string("{% load mdf_admin %}{% mdf_result_list cl %}")
OURS_FILTER = engines["django"].from_string("{% load mdf_admin %}{% mdf_list_filter cl spec %}")
# Django's admin/change_list.html, its ``filters`` block (read from the installed Django).
_CHANGE_LIST = (Path(django.contrib.admin.__file__).parent / "templates/admin/change_list.html").read_text()
DJANGO_FILTERS = engines["django"].from_string(
    "{% load i18n admin_list %}"
    + _CHANGE_LIST[_CHANGE_LIST.index("{% block filters %}") + len("{% block filters %}") :].split(
        "{% endblock %}"
    )[0]
)
OURS_FILTERS = engines["django"].from_string("{% load mdf_admin %}{% mdf_filters cl %}")


def assert_same_html(old: str, new: str) -> None:
    assert parse_html(old) == parse_html(new), f"\n--- Django\n{old}\n--- ours\n{new}"


@pytest.fixture
def requests(world: World) -> World:
    m.submitted(
        world.team.marketing_actor,
        title='Roadshow "Q3" <Chicago> & more',
        requested_amount=Decimal("1234.57"),
    )
    bulk_requests(world.team, 60, allocations=[world.allocation], reviewer=world.admin.user)
    return world


QUERIES = [
    "",
    "status__exact=submitted",
    "o=4.-1",
    "o=-6.2.7",
    "q=Roadshow",
    "q=nothing-matches-this",
    "p=2",
    "status__exact=submitted&needs_program_admin__exact=1",
    "activity_type__exact=webinar&o=5",
    "_facets=True&status__exact=approved",
]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("who", ["program_admin", "cam"])
def test_the_changelist_table_and_filters_are_djangos_markup(
    requests: World, who: str, language: str
) -> None:
    user = requests.admin.user if who == "program_admin" else m.cam_for(requests.team.partner).user
    User.objects.filter(pk=user.pk).update(language=language)
    client = login(user)
    for query in [*QUERIES, f"partner={requests.team.partner.pk}"]:
        response = client.get(f"{reverse('admin:mdf_fundrequest_changelist')}?{query}")
        assert response.status_code == 200, query
        cl = response.context["cl"]
        # One moment for both (the age column), in the user's database scope (the filters' facet
        # counts read the table again) as inside the request.
        with (
            translation.override(language),
            time_machine.travel(timezone.now(), tick=False),
            acting(factories.actor_for(user)),
        ):
            assert_same_html(DJANGO.render({"cl": cl, "opts": cl.opts}), OURS.render({"cl": cl}))
            context = {"cl": cl, "opts": cl.opts}
            assert_same_html(DJANGO_FILTERS.render(context), OURS_FILTERS.render(context))
            for spec in cl.filter_specs:
                context = {"cl": cl, "spec": spec}
                assert_same_html(DJANGO_FILTER.render(context), OURS_FILTER.render(context))
        if query == "q=nothing-matches-this":
            assert not cl.result_list
        else:
            assert cl.result_list, query


def test_an_uncovered_changelist_is_left_to_django(requests: World) -> None:
    response = login(requests.admin.user).get(reverse("admin:mdf_fundrequest_changelist"))
    cl = response.context["cl"]
    cl.is_popup = True  # popups' links are Django's
    assert changelist.result_list(cl) is None
    assert_same_html(DJANGO.render({"cl": cl, "opts": cl.opts}), OURS.render({"cl": cl}))


def test_the_cells_are_the_admin_methods_output(requests: World) -> None:
    """The columns written directly (activity, amount) are what format_html made of them."""
    from django.utils.html import format_html

    from mdf.admin.common import date_range, money

    model_admin = FundRequestAdmin(FundRequest, admin.site)
    for fund_request in FundRequest.objects.all()[:30]:
        for language in ["en", "de"]:
            with translation.override(language):
                assert model_admin.activity_display(fund_request) == format_html(
                    '{}<span class="mdf-quiet mdf-sub">{} · {}</span>',
                    fund_request.title,
                    fund_request.get_activity_type_display(),
                    date_range(fund_request.start_date, fund_request.end_date),
                )
                requested = money(fund_request.requested_amount, fund_request.currency)
                expected = (
                    format_html("{}", requested)
                    if fund_request.approved_amount is None
                    else format_html(
                        '{}<span class="mdf-sub mdf-approved" title="{}">✓ {}</span>',
                        requested,
                        translation.gettext("approved"),
                        money(fund_request.approved_amount),
                    )
                )
                assert model_admin.amount_display(fund_request) == expected
    assert FundRequest.objects.filter(status=RequestStatus.SUBMITTED).exists()
