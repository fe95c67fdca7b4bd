"""The partner's fund request list is a page written in Jinja2 (templates/jinja2/mdf/request_list.html,
prm.jinja2.render_page) with its rows built in Python (mdf.markup): the markup must be what the Django
page made, templates/base.html around the body kept in tests/mdf/markup_before/request_list.html.
Each case renders that old page beside the new one, for the same request, requests, filters and
language, and compares the whole pages as HTML (attributes, text, nesting; not the whitespace
between tags; CSRF tokens are masked anew on each use, so they are left out)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.paginator import Page
from django.template import engines
from django.test.html import parse_html
from django.urls import reverse
from django.utils import translation

from mdf.forms import RequestFilterForm
from mdf.markup import _amount
from mdf.models import Allocation, FundRequest, RequestStatus
from prm.models import User
from prm.tenancy import Actor
from tests.helpers import login
from tests.mdf import factories as m
from tests.scoping import acting

pytestmark = pytest.mark.django_db

BEFORE = Path(__file__).parent / "markup_before" / "request_list.html"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')
CSRF_HEADER = re.compile(r'X-CSRFToken": "[^"]*"')


def old_page(response: Any) -> str:
    """The old page (tests/mdf/markup_before/request_list.html, extending templates/base.html),
    rendered for the same request with the page's context and model instances for its rows (the
    old template read them through their relations)."""
    new_page = response.context["page"]
    by_pk = FundRequest.objects.select_related("allocation__budget__period", "requested_by").in_bulk(
        [row.pk for row in new_page.object_list]
    )
    page = Page([by_pk[row.pk] for row in new_page.object_list], new_page.number, new_page.paginator)
    request = response.wsgi_request
    context = {
        key: response.context[key] for key in ("querystring", "status_counts", "total_count", "may_request")
    }
    # The form as the old view made it (the new one makes none when the address has no parameters).
    context["form"] = RequestFilterForm(request.GET or None)
    template = engines["django"].from_string(BEFORE.read_text())
    with acting(request.actor):  # the request's scope, as the chrome's unread count read it
        return template.render({**context, "page": page}, request=request)


def assert_same_html(old: str, new: str) -> None:
    old, new = (
        CSRF_HEADER.sub("X-CSRFToken", CSRF.sub('name="csrfmiddlewaretoken"', html)) for html in (old, new)
    )
    assert parse_html(old) == parse_html(new), f"\n--- before\n{old}\n--- now\n{new}"


def compare(user: Any, params: dict[str, Any], language: str) -> Any:
    User.objects.filter(pk=user.pk).update(language=language)
    response = login(user).get(reverse("mdf:request_list"), params)
    assert response.status_code == 200
    with translation.override(language):
        assert_same_html(old_page(response), response.content.decode())
    return response


@pytest.fixture
def team_with_requests() -> tuple[m.Team, Actor, Allocation]:
    admin = m.program_admin()
    team = m.team("Northwind <Resellers> & Co")
    allocation = m.fund(team.partner, m.budget(amount="1000000.00"), "900000.00", admin)
    mkt = team.marketing_actor
    m.draft(mkt, title='Roadshow "Q3" <Chicago> & more', activity_type="webinar")
    m.submitted(mkt, title="Summit", requested_amount=Decimal("1234.57"), total_cost=Decimal("2469.14"))
    approved = m.approved(mkt, admin, title="Same day", amount="999.50")
    start = approved.start_date
    m.approved(
        mkt,
        admin,
        title="Two days",
        start_date=start + timedelta(days=1),
        end_date=start + timedelta(days=2),
        requested_amount=Decimal("0.01"),
        total_cost=Decimal("0.02"),
    )
    for number in range(27):  # a second page
        m.draft(mkt, title=f"Webinar {number}", activity_type="webinar")
    return team, admin, allocation


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"page": "2"},
        {"status": RequestStatus.APPROVED},
        {"status": RequestStatus.SUBMITTED, "activity_type": "event"},
        {"status": "bogus", "period": "987654321"},  # invalid: Django's widgets mark them
        {"status": RequestStatus.PAID},  # nothing matches
    ],
    ids=["all", "page-2", "approved", "submitted-events", "invalid", "no-match"],
)
def test_the_request_list_is_the_markup_the_template_made(
    team_with_requests: tuple[m.Team, Actor, Allocation], params: dict, language: str
) -> None:
    team, _admin, allocation = team_with_requests
    if params.get("status") == RequestStatus.APPROVED:
        params = {**params, "period": allocation.budget.period_id}
    # The partner's admin sees who asked; marketing does not.
    compare(team.admin, params, language)
    compare(team.marketing, params, language)


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_empty_request_list_is_the_markup_the_template_made(language: str) -> None:
    team = m.team("Contoso")
    response = compare(team.admin, {}, language)
    assert 'id="request-empty"' in response.content.decode()


def test_amounts_are_djangos_floatformat() -> None:
    from django.template.defaultfilters import floatformat

    for language in ["en", "de", "fr", "es"]:
        with translation.override(language):
            for text in ["0", "-0.001", "0.005", "1234.565", "-98765432.105", "1e-7", "12345678901234.99"]:
                value = Decimal(text)
                assert _amount(value, language) == floatformat(value, "2g"), (language, text)
