"""Settlement runs: one statement per partner and currency with exact Decimal totals, nothing new
on a second run, negative nets carried forward; statement transitions (finance approves, then
marks paid), refused transitions with clear errors, audit and partner notifications."""

from __future__ import annotations

import copy
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from incentives import services, tasks
from incentives.models import EarningEntry, SettlementLine, Statement, StatementStatus
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as df
from tests.incentives import factories as f
from tests.isolation import built_once

pytestmark = pytest.mark.django_db


def _ours(statements: list[Statement], *teams: df.Team) -> list[Statement]:
    """The statements of these teams (a run settles every partner's entries in the database)."""
    partners = {team.partner.pk for team in teams}
    return [statement for statement in statements if statement.partner_id in partners]


def _of(model: Any, *teams: df.Team) -> Any:
    return model.objects.filter(partner__in=[team.partner for team in teams])


def _earn(team_a: df.Team, team_b: df.Team, vendor_admin: Actor) -> dict[str, list[EarningEntry]]:
    """A: two USD deals and one EUR deal; B: one USD deal. Amounts chosen to add up exactly."""
    f.spif(name="USD SPIF", amount="100.10")
    f.rebate(name="USD rebate", percent="1.5")
    f.spif(name="EUR SPIF", amount="33.33", currency="EUR")
    deals = {
        "a_usd_1": f.won(team_a, vendor_admin, "1000.10", customer="A1", domain="a1.com"),
        "a_usd_2": f.won(team_a, vendor_admin, "2000.20", customer="A2", domain="a2.com"),
        "a_eur": f.won(team_a, vendor_admin, "500.00", customer="A3", domain="a3.com", currency="EUR"),
        "b_usd": f.won(team_b, vendor_admin, "3000.30", customer="B1", domain="b1.com"),
    }
    return {key: f.accrue(deal) for key, deal in deals.items()}


@pytest.fixture
def earned(team_a: df.Team, team_b: df.Team, vendor_admin: Actor) -> dict[str, list[EarningEntry]]:
    """The earnings of a test of its own: the monthly task's, made inside its frozen mid-month."""
    return _earn(team_a, team_b, vendor_admin)


@built_once
def earned_world() -> dict[str, Any]:
    """The package's two teams, program admin and two finance users (tests/incentives/conftest.py)
    and their earnings (``earned``), dated today. Built once for the module (tests/isolation.py):
    each test runs in a savepoint of its own."""
    team_a = df.team("Northwind Resellers", tier="Gold")
    team_b = df.team("Southwind Systems", tier="Silver")
    vendor_admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    return {
        "earned": _earn(team_a, team_b, vendor_admin),
        "team_a": team_a,
        "team_b": team_b,
        "vendor_admin": vendor_admin,
        "finance": factories.vendor_actor(VendorRole.FINANCE),
        "other_finance": factories.vendor_actor(VendorRole.FINANCE),
    }


@pytest.fixture
def world(earned_world: dict[str, Any]) -> dict[str, Any]:
    # A copy: what a test changes on the objects in memory must not reach the next test.
    return copy.deepcopy(earned_world)


def test_one_statement_per_partner_and_currency_with_exact_totals(world: dict[str, Any]) -> None:
    team_a, team_b = world["team_a"], world["team_b"]
    statements = _ours(f.settle(f.today()), team_a, team_b)
    summary = sorted((s.partner.legal_name, s.currency, s.total, s.lines.count()) for s in statements)
    # USD rebate 1.5 %: 1000.10 -> 15.0015 -> 15.00; 2000.20 -> 30.003 -> 30.00; 3000.30 -> 45.0045 -> 45.00
    assert summary == [
        ("Northwind Resellers", "EUR", Decimal("33.33"), 1),
        ("Northwind Resellers", "USD", Decimal("245.20"), 4),  # 100.10 + 15.00 + 100.10 + 30.00
        ("Southwind Systems", "USD", Decimal("145.10"), 2),  # 100.10 + 45.00
    ]
    for statement in statements:
        assert statement.status == StatementStatus.DRAFT
        assert statement.total == sum(statement.lines.values_list("amount", flat=True))
        assert set(statement.lines.values_list("entry__currency", flat=True)) == {statement.currency}
        assert set(statement.lines.values_list("entry__partner_id", flat=True)) == {statement.partner_id}
    assert _of(SettlementLine, team_a, team_b).count() == _of(EarningEntry, team_a, team_b).count() == 7
    created = AuditEvent.objects.filter(action="incentives.statement_created")
    assert set(created.values_list("target_id", flat=True)) == {str(s.pk) for s in statements}


def test_a_second_run_for_the_same_period_creates_nothing_and_later_entries_wait_for_the_next(
    world: dict[str, Any],
) -> None:
    team_a, team_b, vendor_admin = world["team_a"], world["team_b"], world["vendor_admin"]
    assert len(_ours(f.settle(f.today()), team_a, team_b)) == 3
    assert f.settle(f.today()) == []
    late = f.won(team_a, vendor_admin, "100.00", customer="Late", domain="late.com")
    f.accrue(late)
    # Same period again: the partner already has its USD statement, so the new entries wait.
    assert f.settle(f.today()) == []
    (next_statement,) = _ours(f.settle(f.today() + timedelta(days=1)), team_a)
    assert (next_statement.currency, next_statement.total) == ("USD", Decimal("101.60"))
    assert _of(Statement, team_a, team_b).count() == 4
    assert _of(SettlementLine, team_a, team_b).count() == _of(EarningEntry, team_a, team_b).count() == 9


def test_entries_created_after_the_period_end_are_not_settled(world: dict[str, Any]) -> None:
    team_a, team_b = world["team_a"], world["team_b"]
    assert _ours(f.settle(f.today() - timedelta(days=1)), team_a, team_b) == []
    assert not _of(SettlementLine, team_a, team_b).exists()


def test_a_negative_net_carries_forward_to_the_next_run(world: dict[str, Any]) -> None:
    earned, team_b, vendor_admin = world["earned"], world["team_b"], world["vendor_admin"]
    finance = world["finance"]
    f.settle(f.today())
    (b_spif,) = [e for e in earned["b_usd"] if e.program.name == "USD SPIF"]
    services.earning_reverse(actor=finance, entry=b_spif, reason="Customer returned the goods")
    tomorrow = f.today() + timedelta(days=1)
    assert _ours(f.settle(tomorrow), team_b) == []  # -100.10 is not payable
    assert _of(EarningEntry, team_b).filter(settlement_line__isnull=True).count() == 1
    more = f.won(team_b, vendor_admin, "10000.00", customer="B2", domain="b2.com")
    f.accrue(more)
    (statement,) = _ours(f.settle(tomorrow + timedelta(days=1)), team_b)
    # -100.10 + 100.10 + 150.00: the reversal is netted off the next statement
    assert (statement.partner_id, statement.total, statement.lines.count()) == (
        team_b.partner.pk,
        Decimal("150.00"),
        3,
    )


def test_finance_approves_then_marks_paid_and_the_partners_admins_are_told(world: dict[str, Any]) -> None:
    team_a, finance, other_finance = world["team_a"], world["finance"], world["other_finance"]
    f.settle(f.today())
    statement = Statement.objects.get(partner=team_a.partner, currency="USD")
    approved = services.statement_approve(actor=finance, statement=statement)
    assert (approved.status, approved.approved_by) == (StatementStatus.APPROVED, finance.user)
    paid = services.statement_mark_paid(
        actor=other_finance, statement=statement, payment_reference=" WIRE-991 "
    )
    assert (paid.status, paid.paid_by, paid.payment_reference) == (
        StatementStatus.PAID,
        other_finance.user,
        "WIRE-991",
    )
    assert list(
        AuditEvent.objects.filter(target_id=str(statement.pk), action__startswith="incentives.statement_")
        .order_by("pk")
        .values_list("action", "before", "after__status")
    ) == [
        ("incentives.statement_created", {}, None),
        ("incentives.statement_approved", {"status": "draft"}, "approved"),
        ("incentives.statement_paid", {"status": "approved"}, "paid"),
    ]
    notes = Notification.objects.filter(recipient=team_a.admin, kind__startswith="incentives.").order_by("pk")
    assert [n.kind for n in notes] == ["incentives.statement_approved", "incentives.statement_paid"]
    assert statement.number in notes[0].title and "245.20 USD" in notes[1].title
    assert not Notification.objects.filter(recipient=team_a.sales, kind__startswith="incentives.").exists()


def test_invalid_transitions_and_roles_are_refused_with_clear_errors(world: dict[str, Any]) -> None:
    team_a, finance, other_finance = world["team_a"], world["finance"], world["other_finance"]
    vendor_admin = world["vendor_admin"]
    f.settle(f.today())
    statement = Statement.objects.get(partner=team_a.partner, currency="USD")
    with pytest.raises(
        ApplicationError, match=rf"Statement {statement.number} is draft; it cannot become paid"
    ):
        services.statement_mark_paid(actor=finance, statement=statement)
    with pytest.raises(ApplicationError, match="Only vendor finance approves statements"):
        services.statement_approve(actor=vendor_admin, statement=statement)
    with pytest.raises(ApplicationError, match="Only vendor finance approves statements"):
        services.statement_approve(actor=team_a.admin_actor, statement=statement)
    services.statement_approve(actor=finance, statement=statement)
    with pytest.raises(ApplicationError, match="is approved; it cannot become approved"):
        services.statement_approve(actor=finance, statement=statement)
    with pytest.raises(ApplicationError, match="Only vendor finance marks statements paid"):
        services.statement_mark_paid(actor=vendor_admin, statement=statement)
    services.statement_mark_paid(actor=other_finance, statement=statement)
    with pytest.raises(ApplicationError, match="is paid; it cannot become paid"):
        services.statement_mark_paid(actor=other_finance, statement=statement)
    assert Statement.objects.get(pk=statement.pk).status == StatementStatus.PAID


# --- four eyes ---------------------------------------------------------------------------------------
def test_the_approver_cannot_also_mark_the_statement_paid(world: dict[str, Any]) -> None:
    team_a, finance, other_finance = world["team_a"], world["finance"], world["other_finance"]
    f.settle(f.today())
    statement = Statement.objects.get(partner=team_a.partner, currency="USD")
    services.statement_approve(actor=finance, statement=statement)
    with pytest.raises(ApplicationError) as refused:
        services.statement_mark_paid(actor=finance, statement=statement, payment_reference="WIRE-1")
    assert refused.value.message == (
        f"You approved statement {statement.number}, so another finance user must mark it paid "
        "(four-eyes rule)."
    )
    stored = Statement.objects.get(pk=statement.pk)
    assert (stored.status, stored.paid_by, stored.paid_at) == (StatementStatus.APPROVED, None, None)
    assert not AuditEvent.objects.filter(
        action="incentives.statement_paid", target_id=str(statement.pk)
    ).exists()
    paid = services.statement_mark_paid(actor=other_finance, statement=statement, payment_reference="WIRE-1")
    assert (paid.status, paid.approved_by, paid.paid_by) == (
        StatementStatus.PAID,
        finance.user,
        other_finance.user,
    )


def test_with_the_four_eyes_rule_off_the_approver_may_mark_the_statement_paid(
    world: dict[str, Any],
    settings: Any,
) -> None:
    team_a, finance = world["team_a"], world["finance"]
    settings.PRM = {**settings.PRM, "SETTLEMENT_FOUR_EYES": False}
    f.settle(f.today())
    statement = Statement.objects.get(partner=team_a.partner, currency="USD")
    services.statement_approve(actor=finance, statement=statement)
    paid = services.statement_mark_paid(actor=finance, statement=statement)
    assert (paid.status, paid.approved_by, paid.paid_by) == (StatementStatus.PAID, finance.user, finance.user)


def test_the_four_eyes_rule_is_on_by_default(settings: Any) -> None:
    assert settings.PRM["SETTLEMENT_FOUR_EYES"] is True


@pytest.fixture
def mid_month() -> Any:
    """Noon on the 15th of this month, for the whole test: wins recorded and the task run on the
    same day, never on either side of a month's end (run at 23:59:59 on the 31st, the task would
    have settled them the next second)."""
    today = timezone.localdate()
    noon = timezone.make_aware(datetime.combine(today.replace(day=15), time(12)))
    with time_machine.travel(noon, tick=False):
        yield


def test_the_monthly_task_settles_the_previous_calendar_month_by_default(
    mid_month: None, earned: dict
) -> None:
    assert services.previous_month_end(date(2026, 3, 15)) == date(2026, 2, 28)
    assert services.previous_month_end(date(2026, 1, 1)) == date(2025, 12, 31)
    # Entries made today are after the end of last month: nothing to settle yet.
    assert tasks.run_settlement.apply().get() == 0
    assert tasks.run_settlement.apply(args=[f.today().isoformat()]).get() == 3
    assert tasks.run_settlement.apply(args=[f.today().isoformat()]).get() == 0
