"""Earnings accrue from won deals: SPIFs, rebates with quarterly volume brackets, eligibility by
tier, product line, window and currency; idempotency (the event twice, the task twice); reversal
as a new negative entry; and the ledger is append-only in the database itself."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction

from deals import services as deal_services
from deals.models import Deal, DealStatus
from deals.signals import deal_won
from incentives import services, tasks
from incentives.models import EarningEntry, EarningKind, IncentiveProgram, ProgramKind, ProgramStatus
from prm.errors import ApplicationError
from prm.models import AuditEvent
from prm.tenancy import Actor, system_scope
from tests import factories
from tests.deals import factories as df
from tests.incentives import factories as f

pytestmark = pytest.mark.django_db


def _earnings(deal: Deal | None = None) -> list[tuple[str, Decimal, str]]:
    entries = EarningEntry.objects.order_by("pk")
    if deal is not None:
        entries = entries.filter(deal=deal)
    return list(entries.values_list("program__name", "amount", "kind"))


# --- SPIF ------------------------------------------------------------------------------------------
def test_a_spif_pays_its_fixed_amount_per_qualifying_won_deal(team_a: df.Team, vendor_admin: Actor) -> None:
    program = f.spif(amount="250.00")
    deal = f.won(team_a, vendor_admin, "12345.67")
    entries = f.accrue(deal)
    assert [(e.amount, e.currency, e.kind, e.partner_id) for e in entries] == [
        (Decimal("250.00"), "USD", EarningKind.ACCRUAL, team_a.partner.pk)
    ]
    assert entries[0].idempotency_key == f"program:{program.pk}:deal:{deal.pk}"
    assert deal.reference in entries[0].memo


# --- rebate and brackets ---------------------------------------------------------------------------
def test_a_rebate_pays_the_base_rate_then_each_bracket_once_the_quarters_revenue_reaches_it(
    team_a: df.Team, vendor_admin: Actor
) -> None:
    f.rebate(percent="2", brackets=[["50000", "3"], ["150000", "4.5"]])
    first = f.won(team_a, vendor_admin, "30000.00", customer="Initech", domain="initech.com")
    second = f.won(team_a, vendor_admin, "30000.00", customer="Umbrella", domain="umbrella.com")
    third = f.won(team_a, vendor_admin, "100000.01", customer="Hooli", domain="hooli.com")
    for deal in (third, first, second):  # accrual order does not decide the bracket
        f.accrue(deal)
    assert _earnings(first) == [("Growth rebate", Decimal("600.00"), "accrual")]  # 30000: base 2 %
    assert _earnings(second) == [("Growth rebate", Decimal("900.00"), "accrual")]  # 60000 reached: 3 %
    # 160000.01 reached: 4.5 % of 100000.01 = 4500.00045 -> 4500.00 (half-even, exact Decimal)
    assert _earnings(third) == [("Growth rebate", Decimal("4500.00"), "accrual")]


def test_rebate_brackets_count_only_the_deals_own_quarter(team_a: df.Team, vendor_admin: Actor) -> None:
    f.rebate(percent="2", brackets=[["50000", "5"]])
    quarter_start, _end = services.quarter_of(f.today())
    last_quarter = f.won(
        team_a, vendor_admin, "90000.00", closed_on=quarter_start - timedelta(days=1), customer="Old Co"
    )
    this_quarter = f.won(team_a, vendor_admin, "10000.00", customer="New Co", domain="newco.com")
    f.accrue(last_quarter)
    f.accrue(this_quarter)
    assert _earnings(last_quarter) == [("Growth rebate", Decimal("4500.00"), "accrual")]
    assert _earnings(this_quarter) == [("Growth rebate", Decimal("200.00"), "accrual")]


def test_quarter_of_covers_every_quarter() -> None:
    from datetime import date

    assert services.quarter_of(date(2026, 2, 14)) == (date(2026, 1, 1), date(2026, 3, 31))
    assert services.quarter_of(date(2026, 6, 30)) == (date(2026, 4, 1), date(2026, 6, 30))
    assert services.quarter_of(date(2026, 7, 1)) == (date(2026, 7, 1), date(2026, 9, 30))
    assert services.quarter_of(date(2026, 12, 31)) == (date(2026, 10, 1), date(2026, 12, 31))


# --- eligibility -----------------------------------------------------------------------------------
def test_eligibility_by_tier_and_product_line(team_a: df.Team, team_b: df.Team, vendor_admin: Actor) -> None:
    f.spif(name="Gold only", amount="100.00", tiers=[factories.tier("Gold")])
    f.spif(name="Storage only", amount="50.00", product_lines=["Storage"])
    f.spif(name="Everyone", amount="10.00")
    gold_security = f.won(team_a, vendor_admin, product_line="Security", customer="A1", domain="a1.com")
    gold_storage = f.won(team_a, vendor_admin, product_line="Storage", customer="A2", domain="a2.com")
    silver_storage = f.won(team_b, vendor_admin, product_line="Storage", customer="B1", domain="b1.com")
    for deal in (gold_security, gold_storage, silver_storage):
        f.accrue(deal)
    assert {name for name, *_ in _earnings(gold_security)} == {"Gold only", "Everyone"}
    assert {name for name, *_ in _earnings(gold_storage)} == {"Gold only", "Storage only", "Everyone"}
    assert {name for name, *_ in _earnings(silver_storage)} == {"Storage only", "Everyone"}


def test_only_active_programs_whose_window_holds_the_close_date_accrue(
    team_a: df.Team, vendor_admin: Actor
) -> None:
    today = f.today()
    f.spif(name="Draft", status=ProgramStatus.DRAFT)
    f.spif(name="Ended", status=ProgramStatus.ENDED)
    f.spif(name="Starts tomorrow", starts_on=today + timedelta(days=1))
    f.spif(name="Ended yesterday", starts_on=today - timedelta(days=30), ends_on=today - timedelta(days=1))
    f.spif(name="Today only", starts_on=today, ends_on=today)
    deal = f.won(team_a, vendor_admin)
    f.accrue(deal)
    assert [name for name, *_ in _earnings(deal)] == ["Today only"]


def test_a_program_pays_only_deals_in_its_own_currency(team_a: df.Team, vendor_admin: Actor) -> None:
    f.spif(name="Dollar SPIF", amount="100.00", currency="USD")
    f.rebate(name="Euro rebate", percent="10", currency="EUR")
    euro_deal = f.won(team_a, vendor_admin, "1000.00", currency="EUR")
    f.accrue(euro_deal)
    assert list(
        EarningEntry.objects.filter(partner=team_a.partner).values_list("program__name", "amount", "currency")
    ) == [("Euro rebate", Decimal("100.00"), "EUR")]


# --- idempotency -----------------------------------------------------------------------------------
def test_the_won_event_accrues_through_the_task_and_repeating_it_changes_nothing(
    team_a: df.Team, vendor_admin: Actor, django_capture_on_commit_callbacks: Any
) -> None:
    f.spif(amount="75.00")
    f.rebate(percent="1")
    with django_capture_on_commit_callbacks(execute=True):
        deal = f.won(team_a, vendor_admin, "5000.00")
    first = _earnings(deal)
    assert sorted(first) == [
        ("Growth rebate", Decimal("50.00"), "accrual"),
        ("Q SPIF", Decimal("75.00"), "accrual"),
    ]

    deal_won.send(sender=Deal, deal_id=deal.pk)  # the event delivered twice
    assert tasks.accrue_incentives.apply(args=[deal.pk]).get() == 2  # a redelivered task
    f.accrue(deal)
    assert _earnings(deal) == first
    assert EarningEntry.objects.filter(partner=team_a.partner).count() == 2


# --- wins reported outside what was registered --------------------------------------------------
def test_a_win_waiting_for_confirmation_earns_nothing_then_once_with_the_confirmed_amount(
    team_a: df.Team, django_capture_on_commit_callbacks: Any
) -> None:
    """The finding: approved at 131,200, reported won at 10,000,000. Nothing is earned while the
    channel account manager has not confirmed; the confirmed (corrected) amount earns, once."""
    f.spif(amount="250.00")
    f.rebate(percent="4")
    cam = df.cam_for(team_a.partner)
    deal = df.approved(team_a.sales_actor, cam, lines=[df.line(df.product(), 1, "131200.00")])
    with django_capture_on_commit_callbacks(execute=True), df.acting(team_a.sales_actor):
        claimed = deal_services.deal_mark_won(
            actor=team_a.sales_actor, deal=deal, won_amount=Decimal("10000000.00"), closed_on=f.today()
        )
    assert claimed.status == DealStatus.WON_PENDING
    assert _earnings() == []
    assert tasks.accrue_incentives(deal.pk) == 0  # even a stray or redelivered task earns nothing

    with django_capture_on_commit_callbacks(execute=True), df.acting(cam):
        deal_services.deal_confirm_won(actor=cam, deal=claimed, won_amount=Decimal("140000.00"))
    assert sorted(_earnings(deal)) == [
        ("Growth rebate", Decimal("5600.00"), "accrual"),  # 4 % of the confirmed 140,000
        ("Q SPIF", Decimal("250.00"), "accrual"),
    ]
    deal_won.send(sender=Deal, deal_id=deal.pk)  # the event again
    assert len(_earnings(deal)) == 2


def test_a_turned_down_win_earns_nothing(team_a: df.Team, django_capture_on_commit_callbacks: Any) -> None:
    f.spif(amount="250.00")
    cam = df.cam_for(team_a.partner)
    deal = df.approved(team_a.sales_actor, cam, lines=[df.line(df.product(), 1, "131200.00")])
    with django_capture_on_commit_callbacks(execute=True):
        with df.acting(team_a.sales_actor):
            claimed = deal_services.deal_mark_won(
                actor=team_a.sales_actor, deal=deal, won_amount=Decimal("10000000.00"), closed_on=f.today()
            )
        with df.acting(cam):
            deal_services.deal_reject_won(actor=cam, deal=claimed, reason="No such order")
    assert tasks.accrue_incentives(deal.pk) == 0
    assert _earnings() == []


def test_a_confirmed_win_earns_in_the_window_and_quarter_of_its_confirmed_close_date(
    team_a: df.Team, vendor_admin: Actor, django_capture_on_commit_callbacks: Any
) -> None:
    quarter_start, _end = services.quarter_of(f.today())
    last_quarter = quarter_start - timedelta(days=10)
    f.spif(
        name="Last quarter's SPIF",
        amount="300.00",
        starts_on=last_quarter - timedelta(days=60),
        ends_on=last_quarter,
    )
    f.spif(name="This quarter's SPIF", amount="999.00", starts_on=quarter_start)
    f.rebate(percent="2", brackets=[["50000", "5"]])
    this_quarter = f.won(team_a, vendor_admin, "100000.00", customer="Big Co", domain="bigco.com")
    cam = df.cam_for(team_a.partner)
    deal = df.approved(team_a.sales_actor, cam, lines=[df.line(df.product(), 1, "10000.00")])
    with df.acting(team_a.sales_actor):
        claimed = deal_services.deal_mark_won(
            actor=team_a.sales_actor, deal=deal, won_amount=Decimal("20000.00"), closed_on=f.today()
        )
    assert claimed.status == DealStatus.WON_PENDING
    # The CAM corrects it to the signed order: 10,000, closed last quarter.
    with django_capture_on_commit_callbacks(execute=True), df.acting(cam):
        deal_services.deal_confirm_won(
            actor=cam, deal=claimed, won_amount=Decimal("10000.00"), closed_on=last_quarter
        )
    # Last quarter's program and last quarter's revenue (10,000: base rate), not today's.
    assert sorted(_earnings(deal)) == [
        ("Growth rebate", Decimal("200.00"), "accrual"),
        ("Last quarter's SPIF", Decimal("300.00"), "accrual"),
    ]
    f.accrue(this_quarter)
    assert ("Growth rebate", Decimal("5000.00"), "accrual") in _earnings(this_quarter)


def test_a_deal_that_is_not_won_earns_nothing(team_a: df.Team, vendor_admin: Actor) -> None:
    f.spif()
    deal = df.approved(team_a.sales_actor, vendor_admin)
    assert f.accrue(deal) == []


# --- program validation ----------------------------------------------------------------------------
def _errors(**fields: Any) -> dict[str, list[str]]:
    values = {
        "name": "Checked",
        "kind": ProgramKind.REBATE,
        "currency": "USD",
        "rebate_percent": Decimal("2"),
        "starts_on": f.today(),
        "ends_on": f.today() + timedelta(days=10),
        **fields,
    }
    with pytest.raises(ValidationError) as caught:
        IncentiveProgram(**values).full_clean()
    return caught.value.message_dict


def test_program_validation_explains_what_is_wrong() -> None:
    assert _errors(ends_on=f.today() - timedelta(days=1))["ends_on"] == [
        "The program cannot end before it starts."
    ]
    assert _errors(rebate_percent=Decimal("101"))["rebate_percent"] == [
        "A rebate percentage is between 0 and 100."
    ]
    assert _errors(rebate_percent=None)["rebate_percent"] == ["Enter the base rebate percentage (0 to 100)."]
    assert _errors(brackets=[["100000", "4"], ["50000", "3"]])["brackets"] == [
        "Bracket thresholds must be in ascending order, each higher than the one before."
    ]
    assert _errors(brackets=[["50000", "120"]])["brackets"] == [
        "A bracket's percentage is between 0 and 100."
    ]
    assert "Each bracket is a [threshold, percent] pair" in _errors(brackets=[["50000"]])["brackets"][0]
    assert _errors(kind=ProgramKind.SPIF, rebate_percent=None)["spif_amount"] == [
        "A SPIF pays a fixed amount per deal: enter it."
    ]
    valid = IncentiveProgram(
        name="Fine",
        kind=ProgramKind.REBATE,
        currency="USD",
        rebate_percent=Decimal("2"),
        brackets=[["50000", "3"], ["100000", "4"]],
        starts_on=f.today(),
        ends_on=f.today(),
    )
    valid.full_clean()


# --- reversal --------------------------------------------------------------------------------------
def test_a_reversal_posts_a_negative_entry_once_and_never_edits_the_accrual(
    team_a: df.Team, vendor_admin: Actor, finance: Actor
) -> None:
    f.spif(amount="250.00")
    deal = f.won(team_a, vendor_admin)
    (accrual,) = f.accrue(deal)

    with pytest.raises(ApplicationError, match="Say why"):
        services.earning_reverse(actor=finance, entry=accrual, reason="  ")
    with pytest.raises(ApplicationError, match="Only vendor finance and program admins"):
        services.earning_reverse(actor=team_a.admin_actor, entry=accrual, reason="mine")

    reversal = services.earning_reverse(actor=finance, entry=accrual, reason="Deal cancelled by customer")
    assert (reversal.kind, reversal.amount, reversal.idempotency_key) == (
        EarningKind.REVERSAL,
        Decimal("-250.00"),
        f"{accrual.idempotency_key}:reversal",
    )
    with pytest.raises(ApplicationError, match="already been reversed"):
        services.earning_reverse(actor=vendor_admin, entry=accrual, reason="again")
    with pytest.raises(ApplicationError, match="Only accruals can be reversed"):
        services.earning_reverse(actor=finance, entry=reversal, reason="reverse the reversal")

    accrual.refresh_from_db()
    assert accrual.amount == Decimal("250.00")
    assert sum(
        EarningEntry.objects.filter(partner=team_a.partner).values_list("amount", flat=True)
    ) == Decimal("0.00")
    event = AuditEvent.objects.get(action="incentives.earning_reversed")
    assert (event.reason, event.partner_id) == ("Deal cancelled by customer", team_a.partner.pk)
    # Accruing again after a reversal does not bring the earning back.
    f.accrue(deal)
    assert EarningEntry.objects.filter(partner=team_a.partner).count() == 2


# --- append-only -----------------------------------------------------------------------------------
def test_the_database_refuses_to_update_or_delete_an_earning(team_a: df.Team, vendor_admin: Actor) -> None:
    f.spif()
    deal = f.won(team_a, vendor_admin)
    (entry,) = f.accrue(deal)
    for statement in (
        "UPDATE incentives_earningentry SET amount = 1 WHERE id = %s",
        "DELETE FROM incentives_earningentry WHERE id = %s",
    ):
        with (
            system_scope(),  # vendor-wide, as the job that writes earnings: still refused
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.pk])
    with system_scope(), pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        EarningEntry.objects.filter(pk=entry.pk).update(memo="edited")
    entry.refresh_from_db()
    assert entry.amount == Decimal("250.00")


def test_an_adjustment_is_a_new_entry_posted_once_per_key(team_a: df.Team, finance: Actor) -> None:
    program = f.rebate(percent="2")
    with pytest.raises(ApplicationError, match="Only vendor finance and program admins adjust"):
        services.earning_adjust(
            actor=team_a.admin_actor,
            partner_id=team_a.partner.pk,
            program=program,
            amount=Decimal("10"),
            reason="x",
            idempotency_key="q4-true-up",
        )
    kwargs = {
        "actor": finance,
        "partner_id": team_a.partner.pk,
        "program": program,
        "amount": Decimal("-12.345"),
        "reason": "Q4 true-up",
        "idempotency_key": "q4-true-up",
    }
    entry, created = services.earning_adjust(**kwargs)
    assert created and (entry.kind, entry.amount, entry.idempotency_key) == (
        EarningKind.ADJUSTMENT,
        Decimal("-12.34"),  # half-even
        "adjustment:q4-true-up",
    )
    again, created_again = services.earning_adjust(**kwargs)
    assert (again.pk, created_again) == (entry.pk, False)
    with pytest.raises(ApplicationError, match="other than zero"):
        services.earning_adjust(**{**kwargs, "amount": Decimal("0.001"), "idempotency_key": "zero"})
