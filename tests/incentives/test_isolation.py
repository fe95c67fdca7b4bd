"""Every incentives URL that takes a statement id gives another partner, a partner user without
the role, a channel account manager outside the portfolio and an unknown id the same 404, and
changes nothing; so do the admin's statement and earnings pages (the table ``FOREIGN_IDS``, run by
tests/isolation.py; tests/test_isolation_coverage.py keeps it complete as URLs are added)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from incentives.models import EarningEntry, Statement
from prm.models import AuditEvent
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as df
from tests.helpers import login
from tests.incentives import factories as f
from tests.isolation import Case, admin_cases, built_once, foreign_id_test

pytestmark = pytest.mark.django_db


@pytest.fixture
def statement_a(team_a: df.Team, vendor_admin: Actor) -> Statement:
    return _statement_a(team_a, vendor_admin)


def _statement_a(team_a: df.Team, vendor_admin: Actor) -> Statement:
    f.spif(amount="250.00")
    deal = f.won(team_a, vendor_admin, "1000.00")
    f.accrue(deal)
    (statement,) = f.settle(f.today())
    return statement


@dataclass
class World:
    statement: Statement
    a: df.Team
    b: df.Team


@built_once
def world() -> World:
    """Built once for all the cases (the teams and program admin are tests/incentives/conftest.py's)."""
    team_a = df.team("Northwind Resellers", tier="Gold")
    team_b = df.team("Southwind Systems", tier="Silver")
    statement = _statement_a(team_a, factories.vendor_actor(VendorRole.PROGRAM_ADMIN))
    return World(statement=statement, a=team_a, b=team_b)


def _statement(world: World, _who: str) -> list[Statement]:
    return [world.statement]


def _earnings(world: World, _who: str) -> list[EarningEntry]:
    return list(EarningEntry.objects.filter(partner=world.a.partner))


# Another partner's admin, A's sales user (no earnings role) and B's channel account manager.
INTRUDERS = ("b_admin", "a_sales", "other_cam")
FOREIGN_IDS = [
    Case("incentives:statement_pdf", ("GET", "POST"), INTRUDERS, _statement, absent=("%PDF",)),
    Case("incentives:statement_approve", ("POST",), INTRUDERS, _statement),
    Case("incentives:statement_mark_paid", ("POST",), INTRUDERS, _statement),
    *admin_cases("incentives.statement", _statement, outsiders=("other_cam",), partners=("b_admin",)),
    *admin_cases("incentives.earningentry", _earnings, outsiders=("other_cam",), partners=("b_admin",)),
]


def _state(world: World) -> dict[str, Any]:
    return {
        "statements": list(Statement.objects.order_by("pk").values()),
        "earnings": list(EarningEntry.objects.order_by("pk").values()),
        "audit": AuditEvent.objects.filter(partner_id=world.a.partner.pk).count(),
    }


test_foreign_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    FOREIGN_IDS,
    world="world",
    people={
        "b_admin": lambda w: w.b.admin,
        "a_sales": lambda w: w.a.sales,
        "other_cam": lambda w: df.cam_for(w.b.partner).user,
    },
    secrets=lambda w, who: [w.statement.number] + ([] if who == "a_sales" else [w.a.partner.legal_name]),
    state=_state,
)


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
