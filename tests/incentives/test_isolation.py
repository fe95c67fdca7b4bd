"""Every incentives URL that takes a statement id gives another partner, a partner user without
the role, a channel account manager outside the portfolio and an unknown id the same 404, and
changes nothing. A guard keeps the list complete as URLs are added."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from incentives import urls as incentive_urls
from incentives.models import Statement, StatementStatus
from prm.tenancy import Actor
from tests.deals import factories as df
from tests.helpers import login
from tests.incentives import factories as f

pytestmark = pytest.mark.django_db

# The MDF attribution URLs are covered by tests/mdf/test_isolation.py.
MDF_URLS = {"incentives:attribute_deal", "incentives:detach_deal"}
STATEMENT_URLS = [
    ("incentives:statement_pdf", "get"),
    ("incentives:statement_approve", "post"),
    ("incentives:statement_mark_paid", "post"),
]


def test_every_incentives_url_with_an_id_is_covered() -> None:
    with_id = {f"incentives:{p.name}" for p in incentive_urls.urlpatterns if "<int:pk>" in str(p.pattern)}
    assert with_id - MDF_URLS == {name for name, _method in STATEMENT_URLS}


@pytest.fixture
def statement_a(team_a: df.Team, vendor_admin: Actor) -> Statement:
    f.spif(amount="250.00")
    deal = f.won(team_a, vendor_admin, "1000.00")
    f.accrue(deal)
    (statement,) = f.settle(f.today())
    return statement


@pytest.mark.parametrize("intruder", ["b_admin", "a_sales", "other_cam"])
@pytest.mark.parametrize(("name", "method"), STATEMENT_URLS)
def test_foreign_statement_ids_give_the_same_404_as_missing_ones(
    statement_a: Statement, team_a: df.Team, team_b: df.Team, intruder: str, name: str, method: str
) -> None:
    user = {
        "b_admin": lambda: team_b.admin,
        "a_sales": lambda: team_a.sales,
        "other_cam": lambda: df.cam_for(team_b.partner).user,
    }[intruder]()
    client = login(user)
    theirs = getattr(client, method)(reverse(name, args=[statement_a.pk]))
    missing = getattr(client, method)(reverse(name, args=[999_999]))
    assert theirs.status_code == missing.status_code == 404
    assert Statement.objects.get(pk=statement_a.pk).status == StatementStatus.DRAFT


def test_anonymous_users_are_sent_to_sign_in(statement_a: Statement) -> None:
    response = Client().get(reverse("incentives:statement_pdf", args=[statement_a.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_content_managers_see_no_statements_or_earnings(statement_a: Statement) -> None:
    from incentives import selectors
    from prm.roles import VendorRole
    from tests import factories

    content = factories.vendor_actor(VendorRole.CONTENT_MANAGER)
    assert not selectors.statement_list(actor=content).exists()
    assert not selectors.entry_list(actor=content).exists()
    page = login(content.user).get(reverse("incentives:settlements"))
    assert statement_a.number not in page.content.decode()
    programs = login(content.user).get(reverse("incentives:programs"))
    program_id = statement_a.lines.get().entry.program_id
    assert programs.status_code == 200
    assert f'id="earned-{program_id}">0.00' in programs.content.decode()
    finance_page = login(factories.vendor_user(VendorRole.FINANCE)).get(reverse("incentives:programs"))
    assert f'id="earned-{program_id}">250.00' in finance_page.content.decode()
