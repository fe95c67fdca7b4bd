"""The partner's Earnings page, CSV export and PDF statements; the vendor's Settlements and
Programs pages with finance's actions; isolation between partners (the same 404 for "not yours"
and "does not exist", and row-level security at the database); bounded query counts."""

from __future__ import annotations

import copy
import csv
import html
import io
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pypdf import PdfReader

from deals.models import Deal
from incentives import services
from incentives.models import EarningEntry, EarningKind, SettlementLine, Statement, StatementStatus
from prm.roles import VendorRole
from prm.tenancy import Actor, Scope, tenant_scope
from tests import factories
from tests.deals import factories as df
from tests.exports import exported, exported_with_queries, is_export
from tests.helpers import login
from tests.incentives import factories as f
from tests.isolation import built_once

pytestmark = pytest.mark.django_db


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


@built_once
def settled_world() -> dict[str, Any]:
    """The package's two teams, program admin and two finance users (tests/incentives/conftest.py),
    and one settled SPIF earning for each team (``settled``: its statement per team). Built once
    for the module (tests/isolation.py): each test runs in a savepoint of its own."""
    team_a = df.team("Northwind Resellers", tier="Gold")
    team_b = df.team("Southwind Systems", tier="Silver")
    vendor_admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    f.spif(name="Security SPIF", amount="250.00")
    deal_a = f.won(team_a, vendor_admin, "1000.00", customer="Initech", domain="initech.com")
    deal_b = f.won(team_b, vendor_admin, "1000.00", customer="Globex", domain="globex.com")
    f.accrue(deal_a)
    f.accrue(deal_b)
    f.settle(f.today())
    return {
        "team_a": team_a,
        "team_b": team_b,
        "vendor_admin": vendor_admin,
        "finance": factories.vendor_actor(VendorRole.FINANCE),
        "other_finance": factories.vendor_actor(VendorRole.FINANCE),
        "settled": {
            "a": Statement.objects.get(partner=team_a.partner),
            "b": Statement.objects.get(partner=team_b.partner),
        },
    }


@pytest.fixture
def world(settled_world: dict[str, Any]) -> dict[str, Any]:
    # A copy: what a test changes on the objects in memory (a login's last_login) must not reach
    # the next test.
    return copy.deepcopy(settled_world)


# --- partner pages ---------------------------------------------------------------------------------
def test_the_earnings_page_shows_balances_entries_and_statements(world: dict[str, Any]) -> None:
    settled, team_a, vendor_admin = world["settled"], world["team_a"], world["vendor_admin"]
    finance, other_finance = world["finance"], world["other_finance"]
    services.statement_approve(actor=finance, statement=settled["a"])
    services.statement_mark_paid(actor=other_finance, statement=settled["a"])
    f.rebate(name="Rebate", percent="10")
    unsettled = f.won(team_a, vendor_admin, "500.00", customer="Umbrella", domain="umbrella.com")
    f.accrue(unsettled)

    response = login(team_a.admin).get(reverse("incentives:earnings"))
    assert response.status_code == 200
    page = text_of(response)
    # SPIF 250 on each deal (paid + unsettled) and 10 % rebate of 500 on the new one.
    assert 'id="stat-earned-USD">550.00' in page
    assert 'id="stat-unsettled-USD">300.00' in page
    assert 'id="stat-in-statements-USD">0.00' in page
    assert 'id="stat-paid-USD">250.00' in page
    assert unsettled.reference in page and "Security SPIF" in page
    assert settled["a"].number in page and settled["b"].number not in page
    assert reverse("incentives:statement_pdf", args=[settled["a"].pk]) in page


def test_the_currency_filter_lists_only_that_currencys_earnings(team_a: df.Team, vendor_admin: Actor) -> None:
    f.spif(name="Dollar SPIF", amount="250.00")
    f.spif(name="Euro SPIF", amount="99.00", currency="EUR")
    dollars = f.won(team_a, vendor_admin, "1000.00", customer="Initech", domain="initech.com")
    euros = f.won(team_a, vendor_admin, "1000.00", customer="Globex", domain="globex.com", currency="EUR")
    f.accrue(dollars)
    f.accrue(euros)
    client = login(team_a.admin)
    for currency, shown, hidden in [("EUR", euros, dollars), ("USD", dollars, euros)]:
        entries = client.get(reverse("incentives:earnings"), {"currency": currency}).context["page"].paginator
        assert [(entry.deal_id, entry.currency) for entry in entries.object_list] == [(shown.pk, currency)]
        export = exported(
            client, reverse("incentives:earnings_export"), {"currency": currency}
        ).content.decode()
        assert shown.reference in export and hidden.reference not in export
    everything = client.get(reverse("incentives:earnings")).context["page"].paginator.object_list
    assert {entry.deal_id for entry in everything} == {dollars.pk, euros.pk}


def test_the_empty_earnings_page_says_what_to_do_next(team_a: df.Team) -> None:
    page = text_of(login(team_a.admin).get(reverse("incentives:earnings")))
    assert "No earnings yet" in page and "mark them won" in page
    assert 'id="statements-empty"' in page


def test_only_partner_admins_see_earnings(world: dict[str, Any]) -> None:
    settled, team_a = world["settled"], world["team_a"]
    sales = login(team_a.sales)
    assert sales.get(reverse("incentives:earnings")).status_code == 404
    assert exported(sales, reverse("incentives:earnings_export")).status_code == 404
    assert sales.get(reverse("incentives:statement_pdf", args=[settled["a"].pk])).status_code == 404


def test_the_csv_export_lists_the_partners_own_entries(world: dict[str, Any]) -> None:
    settled, team_a = world["settled"], world["team_a"]
    response = exported(login(team_a.admin), reverse("incentives:earnings_export"))
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    deal = Deal.objects.get(partner=team_a.partner)
    assert rows[0] == ["date", "program", "deal", "kind", "amount", "currency", "statement", "memo"]
    assert [row[1:7] for row in rows[1:]] == [
        ["Security SPIF", deal.reference, "accrual", "250.00", "USD", settled["a"].number]
    ]


def test_the_pdf_statement_is_downloadable_by_the_partners_admins_and_finance(world: dict[str, Any]) -> None:
    settled, team_a, finance = world["settled"], world["team_a"], world["finance"]
    url = reverse("incentives:statement_pdf", args=[settled["a"].pk])
    for user in (team_a.admin, finance.user):
        response = login(user).get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
        assert settled["a"].number in text
        assert "Northwind Resellers" in text
        assert "Security SPIF" in text
        assert "250.00 USD" in text
    cam = df.cam_for(team_a.partner)
    assert login(cam.user).get(url).status_code == 404  # sees the statement, may not download it


# --- isolation -------------------------------------------------------------------------------------
def test_partner_b_cannot_see_list_export_or_download_partner_as_earnings(world: dict[str, Any]) -> None:
    settled, team_a, team_b = world["settled"], world["team_a"], world["team_b"]
    client = login(team_b.admin)
    page = text_of(client.get(reverse("incentives:earnings")))
    a_deal = Deal.objects.get(partner=team_a.partner)
    assert a_deal.reference not in page and settled["a"].number not in page
    assert settled["b"].number in page
    export = exported(client, reverse("incentives:earnings_export")).content.decode()
    assert a_deal.reference not in export and settled["a"].number not in export
    missing = client.get(reverse("incentives:statement_pdf", args=[999_999]))
    theirs = client.get(reverse("incentives:statement_pdf", args=[settled["a"].pk]))
    assert missing.status_code == theirs.status_code == 404
    # Vendor pages and actions are not for partners at all.
    assert client.get(reverse("incentives:settlements")).status_code == 404
    assert client.post(reverse("incentives:statement_approve", args=[settled["b"].pk])).status_code == 404
    assert Statement.objects.get(pk=settled["b"].pk).status == StatementStatus.DRAFT


def test_row_level_security_hides_other_partners_earnings_in_the_database(world: dict[str, Any]) -> None:
    team_a, team_b = world["team_a"], world["team_b"]
    a, b = team_a.partner.pk, team_b.partner.pk
    with tenant_scope(Scope.partner(b)):
        assert set(EarningEntry.objects.values_list("partner_id", flat=True)) == {b}
        assert set(Statement.objects.values_list("partner_id", flat=True)) == {b}
        assert set(SettlementLine.objects.values_list("partner_id", flat=True)) == {b}
        assert not EarningEntry.objects.filter(partner_id=a).exists()
    with tenant_scope(None):
        assert not EarningEntry.objects.exists() and not Statement.objects.exists()
    with tenant_scope(Scope.vendor()):
        assert EarningEntry.objects.count() == 2


def test_a_partner_scope_cannot_write_earnings_for_another_partner(world: dict[str, Any]) -> None:
    team_a, team_b = world["team_a"], world["team_b"]
    from django.db import DatabaseError, transaction

    entry = EarningEntry.objects.get(partner=team_a.partner)
    with pytest.raises(DatabaseError), transaction.atomic(), tenant_scope(Scope.partner(team_b.partner.pk)):
        EarningEntry.objects.create(
            partner_id=team_a.partner.pk,
            program_id=entry.program_id,
            kind=EarningKind.ADJUSTMENT,
            amount=Decimal("1.00"),
            currency="USD",
            idempotency_key="forged",
        )


# --- vendor pages ----------------------------------------------------------------------------------
def test_finance_approves_and_marks_paid_from_the_settlements_page(world: dict[str, Any]) -> None:
    settled, finance, other_finance = world["settled"], world["finance"], world["other_finance"]
    client = login(finance.user)
    page = text_of(client.get(reverse("incentives:settlements")))
    assert settled["a"].number in page and settled["b"].number in page
    assert reverse("incentives:statement_approve", args=[settled["a"].pk]) in page
    response = client.post(reverse("incentives:statement_approve", args=[settled["a"].pk]), follow=True)
    assert f"Statement {settled['a'].number} approved." in text_of(response)
    # Four eyes: the approver's own "paid" is refused on the page with the reason, never a 500.
    response = client.post(
        reverse("incentives:statement_mark_paid", args=[settled["a"].pk]),
        {"payment_reference": "WIRE-1"},
        follow=True,
    )
    assert response.status_code == 200
    assert (
        f"You approved statement {settled['a'].number}, so another finance user must mark it paid"
        in text_of(response)
    )
    assert Statement.objects.get(pk=settled["a"].pk).status == StatementStatus.APPROVED
    client = login(other_finance.user)
    response = client.post(
        reverse("incentives:statement_mark_paid", args=[settled["a"].pk]),
        {"payment_reference": "WIRE-1"},
        follow=True,
    )
    assert f"Statement {settled['a'].number} marked paid." in text_of(response)
    again = client.post(reverse("incentives:statement_approve", args=[settled["a"].pk]), follow=True)
    assert "is paid; it cannot become approved" in text_of(again)
    filtered = text_of(client.get(reverse("incentives:settlements"), {"status": "paid"}))
    assert settled["a"].number in filtered and settled["b"].number not in filtered


def test_a_program_admin_cannot_approve_and_a_cam_sees_only_the_portfolio(world: dict[str, Any]) -> None:
    settled, team_a, vendor_admin = world["settled"], world["team_a"], world["vendor_admin"]
    client = login(vendor_admin.user)
    page = text_of(client.get(reverse("incentives:settlements")))
    assert reverse("incentives:statement_approve", args=[settled["a"].pk]) not in page
    response = client.post(reverse("incentives:statement_approve", args=[settled["a"].pk]), follow=True)
    assert "Only vendor finance approves statements." in text_of(response)
    cam = df.cam_for(team_a.partner)
    cam_page = text_of(login(cam.user).get(reverse("incentives:settlements")))
    assert settled["a"].number in cam_page and settled["b"].number not in cam_page


def test_the_programs_page_shows_earnings_per_program(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    f.rebate(name="Unused rebate", percent="2")
    page = text_of(login(vendor_admin.user).get(reverse("incentives:programs")))
    assert "Security SPIF" in page and "500.00" in page and "Unused rebate" in page


# --- query counts ----------------------------------------------------------------------------------
def _bulk_earnings(team: df.Team, statement_count: int, entry_count: int) -> None:
    program = f.spif(name=f"Bulk {team.partner.pk}", amount="10.00")
    deal = f.won(team, factories.vendor_actor(), "1000.00", customer="Bulk", domain="bulk.com")
    EarningEntry.objects.bulk_create(
        [
            EarningEntry(
                partner=team.partner,
                program=program,
                deal=deal,
                kind=EarningKind.ADJUSTMENT,
                amount=Decimal("10.00"),
                currency="USD",
                idempotency_key=f"bulk:{team.partner.pk}:{n}",
            )
            for n in range(entry_count)
        ]
    )
    for day in range(statement_count):
        f.settle(f.today() + timedelta(days=day))
        EarningEntry.objects.create(
            partner=team.partner,
            program=program,
            deal=deal,
            kind=EarningKind.ADJUSTMENT,
            amount=Decimal("1.00"),
            currency="USD",
            idempotency_key=f"bulk:{team.partner.pk}:day:{day}",
        )


def _count(client: Client, url: str) -> int:
    if is_export(url):
        return exported_with_queries(client, url)[0]
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(context.captured_queries)


@pytest.mark.parametrize(
    "url_name",
    ["incentives:earnings", "incentives:earnings_export", "incentives:settlements", "incentives:programs"],
)
def test_pages_run_as_many_queries_for_one_row_as_for_fifty(
    url_name: str, team_a: df.Team, team_b: df.Team, finance: Actor
) -> None:
    _bulk_earnings(team_a, statement_count=1, entry_count=1)
    _bulk_earnings(team_b, statement_count=25, entry_count=50)
    user_a, user_b = (team_a.admin, team_b.admin) if "earnings" in url_name else (finance.user, finance.user)
    first = _count(login(user_a), reverse(url_name))
    if "earnings" not in url_name:
        # Vendor pages see every partner: add 50 more rows and count again.
        _bulk_earnings(df.team("Third Co", tier="Gold"), statement_count=25, entry_count=50)
    second = _count(login(user_b), reverse(url_name))
    assert first == second, (first, second)
    assert second <= 30


def test_vendor_pages_are_vendor_only(team_a: df.Team) -> None:
    client = login(team_a.admin)
    assert client.get(reverse("incentives:programs")).status_code == 404
    assert client.get(reverse("incentives:settlements")).status_code == 404


# --- admin -----------------------------------------------------------------------------------------
def test_finance_reverses_accruals_from_the_admin_after_confirming_with_a_reason(
    world: dict[str, Any],
) -> None:
    team_a, team_b, finance = world["team_a"], world["team_b"], world["finance"]
    entry = EarningEntry.objects.get(partner=team_a.partner)
    client = login(finance.user)
    url = reverse("admin:incentives_earningentry_changelist")
    assert client.get(url).status_code == 200
    post = {"action": "reverse_accruals", "_selected_action": [entry.pk]}
    confirm = client.post(url, post)
    assert confirm.status_code == 200 and "Reason (shown to the partner)" in text_of(confirm)
    assert (
        EarningEntry.objects.filter(partner__in=[team_a.partner, team_b.partner]).count() == 2
    )  # nothing yet
    missing_reason = client.post(url, {**post, "confirm": "1", "reason": " "})
    assert "Say why the earnings are reversed." in text_of(missing_reason)
    done = client.post(url, {**post, "confirm": "1", "reason": "Order cancelled"}, follow=True)
    assert "1 accrual(s) reversed." in text_of(done)
    reversal = EarningEntry.objects.get(kind=EarningKind.REVERSAL, partner=team_a.partner)
    assert (reversal.partner_id, reversal.amount, reversal.memo) == (
        team_a.partner.pk,
        Decimal("-250.00"),
        "Order cancelled",
    )
    again = client.post(url, {**post, "confirm": "1", "reason": "twice"}, follow=True)
    assert "already been reversed" in text_of(again)
    assert EarningEntry.objects.filter(kind=EarningKind.REVERSAL, partner=team_a.partner).count() == 1


def test_the_admin_statement_list_is_read_only(world: dict[str, Any]) -> None:
    settled, finance = world["settled"], world["finance"]
    client = login(finance.user)
    page = client.get(reverse("admin:incentives_statement_changelist"))
    assert page.status_code == 200 and settled["a"].number in text_of(page)
    assert client.get(reverse("admin:incentives_statement_add")).status_code == 403
