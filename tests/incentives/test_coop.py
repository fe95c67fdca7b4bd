"""Co-op MDF accrual from won deals (through the real event path: deal won -> after commit ->
incentives receiver -> Celery task -> mdf.services.allocation_accrue), attribution of deals to MDF
activities, and the ROI report built on it."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from deals import services as deal_services
from deals.models import Deal, DealStatus
from incentives import selectors, services, tasks
from incentives.models import MdfAttribution
from mdf import services as mdf_services
from mdf.models import Allocation, Budget, FundPeriod, FundRequest, LedgerEntry, LedgerKind
from prm.errors import ApplicationError
from prm.models import AuditEvent
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as df
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db


@pytest.fixture
def vendor_admin() -> Actor:
    return factories.vendor_actor(VendorRole.PROGRAM_ADMIN)


@pytest.fixture
def current() -> Budget:
    return m.budget(m.period(name="FY current"), "500000.00")


@pytest.fixture
def previous() -> Budget:
    earlier = m.period(
        name="FY previous",
        starts_on=m.today() - timedelta(days=400),
        ends_on=m.today() - timedelta(days=201),
    )
    return m.budget(earlier, "500000.00")


def _won(
    team: df.Team, reviewer: Actor, amount: str, closed_on: date | None = None, **deal_kwargs: Any
) -> Deal:
    """Registered at ``amount`` and won at it; a close date before today's approval waits for the
    vendor, and ``reviewer`` confirms it."""
    deal_kwargs.setdefault("lines", [df.line(df.product(), quantity=1, unit_price=amount)])
    deal = df.approved(team.sales_actor, reviewer, **deal_kwargs)
    with df.acting(team.sales_actor):
        deal = deal_services.deal_mark_won(
            actor=team.sales_actor,
            deal=deal,
            won_amount=Decimal(amount),
            closed_on=closed_on or m.today(),
        )
    if deal.status == DealStatus.WON_PENDING:
        with df.acting(reviewer):
            deal = deal_services.deal_confirm_won(actor=reviewer, deal=deal)
    return deal


def _accruals() -> list[tuple[int, str, Decimal, str]]:
    return list(
        LedgerEntry.objects.filter(kind=LedgerKind.ACCRUED)
        .order_by("pk")
        .values_list("allocation__budget_id", "partner__legal_name", "amount", "idempotency_key")
    )


# --- co-op accrual -------------------------------------------------------------------------------
def test_a_won_deal_accrues_its_tiers_percentage_into_the_partners_allocation(
    vendor_admin: Actor, current: Budget, django_capture_on_commit_callbacks: Any
) -> None:
    team = df.team("Goldfinch Ltd", tier="Gold")  # 2 %
    assert team.partner.tier.mdf_accrual_percent == Decimal("2")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deal = _won(team, vendor_admin, "12345.50", customer="Initech", domain="initech.com")
    assert callbacks  # the event went out after commit
    assert _accruals() == [(current.pk, "Goldfinch Ltd", Decimal("246.91"), f"accrue:deal:{deal.pk}")]
    entry = LedgerEntry.objects.get(kind=LedgerKind.ACCRUED)
    assert (entry.source, entry.partner_id, entry.currency) == (f"deal:{deal.pk}", team.partner.pk, "USD")
    allocation = Allocation.objects.get(partner=team.partner)
    assert allocation.budget == current
    balances = m.balances(allocation)
    assert (balances.allocated, balances.available) == (Decimal("246.91"), Decimal("246.91"))

    # A redelivered task (or the signal again) adds nothing.
    assert tasks.accrue_coop(deal.pk) is True
    tasks.accrue_coop.delay(deal.pk)
    assert LedgerEntry.objects.filter(kind=LedgerKind.ACCRUED).count() == 1
    assert m.balances(allocation).available == Decimal("246.91")


def test_each_deal_accrues_once_into_the_period_containing_its_close_date(
    vendor_admin: Actor, current: Budget, previous: Budget, django_capture_on_commit_callbacks: Any
) -> None:
    team = df.team("Platypus Inc", tier="Platinum")  # 3 %
    with django_capture_on_commit_callbacks(execute=True):
        late = _won(
            team,
            vendor_admin,
            "10000.00",
            closed_on=m.today() - timedelta(days=300),
            customer="Hooli",
            domain="hooli.com",
        )
        recent = _won(team, vendor_admin, "3333.33", customer="Pied Piper", domain="piedpiper.com")
    assert _accruals() == [
        (previous.pk, "Platypus Inc", Decimal("300.00"), f"accrue:deal:{late.pk}"),
        (current.pk, "Platypus Inc", Decimal("100.00"), f"accrue:deal:{recent.pk}"),  # 99.9999
    ]
    for deal in (late, recent):
        tasks.accrue_coop(deal.pk)
    assert len(_accruals()) == 2


def test_without_a_budget_for_the_period_or_currency_nothing_accrues(
    vendor_admin: Actor, current: Budget, django_capture_on_commit_callbacks: Any
) -> None:
    team = df.team("Eurostar GmbH", tier="Gold")
    with django_capture_on_commit_callbacks(execute=True):
        in_euros = _won(
            team, vendor_admin, "5000.00", customer="Initech", domain="initech.com", currency="EUR"
        )
        long_ago = _won(
            team,
            vendor_admin,
            "5000.00",
            closed_on=m.today() - timedelta(days=900),
            customer="Hooli",
            domain="hooli.com",
        )
    assert tasks.accrue_coop(in_euros.pk) is False  # no error either
    assert tasks.accrue_coop(long_ago.pk) is False
    assert _accruals() == []
    assert not Allocation.objects.filter(partner=team.partner).exists()


def test_a_closed_period_takes_no_accrual(
    vendor_admin: Actor, current: Budget, previous: Budget, django_capture_on_commit_callbacks: Any
) -> None:
    FundPeriod.objects.filter(pk=previous.period_id).update(closed_at=timezone.now() - timedelta(days=150))
    team = df.team("Latecomer Ltd", tier="Gold")
    with django_capture_on_commit_callbacks(execute=True):
        _won(
            team,
            vendor_admin,
            "10000.00",
            closed_on=m.today() - timedelta(days=300),
            customer="Hooli",
            domain="hooli.com",
        )
    assert _accruals() == []


def test_a_close_date_in_a_closed_period_accrues_nowhere_and_the_deal_says_why(
    vendor_admin: Actor, current: Budget, previous: Budget, django_capture_on_commit_callbacks: Any
) -> None:
    """Not into the closed period (its funds forfeited, its books are final) and not moved into the
    current one either (a late or back-dated win would top up this period's funds): nothing, and
    the deal's history says why, once."""
    FundPeriod.objects.filter(pk=previous.period_id).update(closed_at=timezone.now() - timedelta(days=150))
    team = df.team("Latecomer Ltd", tier="Gold")
    with django_capture_on_commit_callbacks(execute=True):
        deal = _won(
            team,
            vendor_admin,
            "10000.00",
            closed_on=m.today() - timedelta(days=300),
            customer="Hooli",
            domain="hooli.com",
        )
    assert deal.status == DealStatus.WON
    assert tasks.accrue_coop(deal.pk) is False  # a redelivered task
    assert _accruals() == []
    assert not Allocation.objects.filter(partner=team.partner).exists()
    refused = AuditEvent.objects.filter(action="mdf.accrual_refused")
    assert [(e.target_id, e.partner_id) for e in refused] == [(str(deal.pk), team.partner.pk)]
    assert (
        refused.get().reason == "No co-op funds accrued: FY previous, which holds the close date, is closed."
    )


def test_a_waiting_win_accrues_no_co_op_until_confirmed_then_in_the_period_of_the_confirmed_close_date(
    current: Budget, previous: Budget, django_capture_on_commit_callbacks: Any
) -> None:
    """The finding: approved at 131,200, reported won at 10,000,000 (3 % co-op: 300,000). Nothing
    accrues while it waits; the CAM confirms 140,000, closed in the previous half-year: 4,200 land
    in that period's allocation, once."""
    team = df.team("Platypus Inc", tier="Platinum")  # 3 %
    cam = df.cam_for(team.partner)
    deal = df.approved(team.sales_actor, cam, lines=[df.line(df.product(), 1, "131200.00")])
    with django_capture_on_commit_callbacks(execute=True), df.acting(team.sales_actor):
        claimed = deal_services.deal_mark_won(
            actor=team.sales_actor, deal=deal, won_amount=Decimal("10000000.00"), closed_on=m.today()
        )
    assert claimed.status == DealStatus.WON_PENDING
    assert tasks.accrue_coop(deal.pk) is False  # even a stray task accrues nothing
    assert _accruals() == []

    closed_on = m.today() - timedelta(days=300)
    with django_capture_on_commit_callbacks(execute=True), df.acting(cam):
        deal_services.deal_confirm_won(
            actor=cam, deal=claimed, won_amount=Decimal("140000.00"), closed_on=closed_on
        )
    assert _accruals() == [(previous.pk, "Platypus Inc", Decimal("4200.00"), f"accrue:deal:{deal.pk}")]
    tasks.accrue_coop(deal.pk)
    assert len(_accruals()) == 1


def test_a_tier_without_co_op_accrues_nothing(
    vendor_admin: Actor, current: Budget, django_capture_on_commit_callbacks: Any
) -> None:
    team = df.team("Starter Co", tier="Registered")
    assert team.partner.tier.mdf_accrual_percent == Decimal("0")
    with django_capture_on_commit_callbacks(execute=True):
        deal = _won(team, vendor_admin, "50000.00", customer="Initech", domain="initech.com")
    assert tasks.accrue_coop(deal.pk) is False
    assert _accruals() == []


def test_a_deal_that_is_not_won_accrues_nothing(vendor_admin: Actor, current: Budget) -> None:
    team = df.team("Goldfinch Ltd", tier="Gold")
    deal = df.approved(team.sales_actor, vendor_admin, customer="Initech", domain="initech.com")
    assert tasks.accrue_coop(deal.pk) is False
    assert _accruals() == []


# --- attribution ---------------------------------------------------------------------------------
@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    return m.media_storage(settings, tmp_path / "media")


@pytest.fixture
def team_a(current: Budget, vendor_admin: Actor) -> df.Team:
    team = df.team("Northwind Resellers", tier="Gold")
    m.fund(team.partner, current, "20000.00", vendor_admin)
    return team


@pytest.fixture
def team_b(current: Budget, vendor_admin: Actor) -> df.Team:
    team = df.team("Southwind Systems", tier="Silver")
    m.fund(team.partner, current, "20000.00", vendor_admin)
    return team


def _activity(team: df.Team, reviewer: Actor, **data: Any) -> FundRequest:
    """An approved MDF activity that started before today's deals were registered."""
    return m.approved(team.admin_actor, reviewer, **{**m.past_dates(), **data})


def _attribute(actor: Actor, deal: Deal, fund_request: FundRequest) -> MdfAttribution:
    with df.acting(actor):
        return services.attribute_deal(actor=actor, deal=deal, fund_request=fund_request)


def _refused(actor: Actor, deal: Deal, fund_request: FundRequest) -> str:
    with df.acting(actor), pytest.raises(ApplicationError) as excinfo:
        services.attribute_deal(actor=actor, deal=deal, fund_request=fund_request)
    return str(excinfo.value)


def test_a_partner_attributes_its_own_deal_to_its_own_activity(team_a: df.Team, vendor_admin: Actor) -> None:
    activity = _activity(team_a, vendor_admin)
    deal = df.approved(team_a.sales_actor, vendor_admin, customer="Initech", domain="initech.com")
    attribution = _attribute(team_a.admin_actor, deal, activity)
    stored = MdfAttribution.objects.get(pk=attribution.pk)
    assert (stored.partner_id, stored.deal, stored.fund_request, stored.attributed_by) == (
        team_a.partner.pk,
        deal,
        activity,
        team_a.admin,
    )


def test_another_partners_deal_or_activity_cannot_be_attributed(
    team_a: df.Team, team_b: df.Team, vendor_admin: Actor
) -> None:
    a_activity, b_activity = _activity(team_a, vendor_admin), _activity(team_b, vendor_admin)
    a_deal = df.approved(team_a.sales_actor, vendor_admin, customer="Initech", domain="initech.com")
    b_deal = df.approved(team_b.sales_actor, vendor_admin, customer="Hooli", domain="hooli.com")
    actor = team_a.admin_actor
    assert _refused(actor, b_deal, a_activity) == "Attribute your own deals to your own activities."
    assert _refused(actor, a_deal, b_activity) == "Attribute your own deals to your own activities."
    assert _refused(actor, b_deal, b_activity) == "Attribute your own deals to your own activities."
    assert MdfAttribution.objects.filter(partner=team_a.partner).count() == 0


def test_a_deal_is_attributed_to_one_activity_only(team_a: df.Team, vendor_admin: Actor) -> None:
    first = _activity(team_a, vendor_admin, title="First")
    second = _activity(team_a, vendor_admin, title="Second")
    deal = df.approved(team_a.sales_actor, vendor_admin, customer="Initech", domain="initech.com")
    _attribute(team_a.admin_actor, deal, first)
    message = f"{deal.reference} is already attributed to an activity."
    assert _refused(team_a.admin_actor, deal, first) == message
    assert _refused(team_a.admin_actor, deal, second) == message
    assert list(
        MdfAttribution.objects.filter(partner=team_a.partner).values_list("deal_id", "fund_request_id")
    ) == [(deal.pk, first.pk)]


def test_only_approved_activities_that_started_before_the_deal_source_it(
    team_a: df.Team, vendor_admin: Actor
) -> None:
    submitted = m.submitted(team_a.admin_actor, **m.past_dates())
    future = m.approved(team_a.admin_actor, vendor_admin)  # starts in 30 days
    deal = df.approved(team_a.sales_actor, vendor_admin, customer="Initech", domain="initech.com")
    assert _refused(team_a.admin_actor, deal, submitted) == "Only approved activities can source deals."
    assert "registered before the activity started" in _refused(team_a.admin_actor, deal, future)
    assert _refused(team_a.sales_actor, deal, _activity(team_a, vendor_admin)).startswith("Attribute")
    assert MdfAttribution.objects.filter(partner=team_a.partner).count() == 0


def test_roi_is_won_revenue_per_unit_spent(
    team_a: df.Team, team_b: df.Team, vendor_admin: Actor, media: Path
) -> None:
    finance = m.finance()
    actor = team_a.admin_actor
    roadshow = _activity(team_a, vendor_admin, title="Roadshow", **m.past_dates(ended_days_ago=5))
    webinar = _activity(
        team_a,
        vendor_admin,
        title="Webinar",
        total_cost=Decimal("4000.00"),
        requested_amount=Decimal("2000.00"),
        **m.past_dates(ended_days_ago=10),
    )
    quiet = _activity(team_a, vendor_admin, title="Quiet", **m.past_dates(ended_days_ago=20))
    _activity(team_b, vendor_admin, title="B's own")
    claim = m.claim(actor, roadshow)  # 4000.00 claimed of 4000.00
    with df.acting(finance):
        mdf_services.claim_approve(actor=finance, claim=claim, amount=Decimal("3000.00"))

    won_1 = _won(team_a, vendor_admin, "50000.00", customer="Initech", domain="initech.com")
    won_2 = _won(team_a, vendor_admin, "25000.50", customer="Hooli", domain="hooli.com")
    open_deal = df.approved(team_a.sales_actor, vendor_admin, customer="Pied Piper", domain="piedpiper.com")
    won_3 = _won(team_a, vendor_admin, "10000.00", customer="Massive", domain="massive.io")
    for deal in (won_1, won_2, open_deal):
        _attribute(actor, deal, roadshow)
    _attribute(actor, won_3, webinar)

    rows = {row["request"].title: row for row in selectors.roi_by_request(actor=actor)}
    assert set(rows) == {"Roadshow", "Webinar", "Quiet"}
    summary = {
        title: (row["deals"], row["won_revenue"], row["spent"], row["currency"], row["roi"])
        for title, row in rows.items()
    }
    assert summary == {
        # 75000.50 / 3000.00 (the approved claim, not the 4000.00 pre-approved) = 25.0001...
        "Roadshow": (3, Decimal("75000.50"), Decimal("3000.00"), "USD", Decimal("25.00")),
        "Webinar": (1, Decimal("10000.00"), Decimal("2000.00"), "USD", Decimal("5.00")),
        "Quiet": (0, Decimal("0"), Decimal("4000.00"), "USD", Decimal("0.00")),
    }
    titles = [row["request"].title for row in selectors.roi_by_request(actor=actor)]
    assert titles == ["Roadshow", "Webinar", "Quiet"]  # latest activity first
    assert quiet.pk in {row["request"].pk for row in selectors.roi_by_request(actor=vendor_admin)}
    assert len(selectors.roi_by_request(actor=vendor_admin)) == 4
    assert selectors.roi_by_request(actor=team_a.sales_actor) == []


def test_roi_never_adds_revenue_in_another_currency(team_a: df.Team, vendor_admin: Actor) -> None:
    """A USD activity's revenue per dollar cannot include euros: either the attribution is refused
    or the report leaves the foreign-currency deal out (or converts it)."""
    actor = team_a.admin_actor
    activity = _activity(team_a, vendor_admin, title="Roadshow")
    in_dollars = _won(team_a, vendor_admin, "10000.00", customer="Initech", domain="initech.com")
    in_euros = _won(team_a, vendor_admin, "90000.00", customer="Hooli", domain="hooli.com", currency="EUR")
    _attribute(actor, in_dollars, activity)
    with suppress(ApplicationError):  # refusing it is one right answer
        _attribute(actor, in_euros, activity)
    (row,) = selectors.roi_by_request(actor=actor)
    assert (row["currency"], row["won_revenue"]) == ("USD", Decimal("10000.00")), row


@pytest.mark.parametrize("role", ["sales", "learner"])
def test_only_people_who_attribute_deals_may_detach_them(
    team_a: df.Team, vendor_admin: Actor, role: str
) -> None:
    """Sales users and learners see no MDF activity (and cannot attribute); they must not be able
    to remove an activity's attributions either."""
    activity = _activity(team_a, vendor_admin)
    deal = df.approved(team_a.sales_actor, vendor_admin, customer="Initech", domain="initech.com")
    attribution = _attribute(team_a.admin_actor, deal, activity)
    user = factories.partner_user(team_a.partner, role=role)
    actor = factories.actor_for(user)
    with df.acting(actor), pytest.raises(ApplicationError):
        services.detach_deal(actor=actor, attribution=attribution)
    assert MdfAttribution.objects.filter(pk=attribution.pk).exists()


def test_the_partner_admin_detaches_an_attribution(team_a: df.Team, vendor_admin: Actor) -> None:
    activity = _activity(team_a, vendor_admin)
    deal = df.approved(team_a.sales_actor, vendor_admin, customer="Initech", domain="initech.com")
    attribution = _attribute(team_a.admin_actor, deal, activity)
    with df.acting(team_a.admin_actor):
        services.detach_deal(actor=team_a.admin_actor, attribution=attribution)
    assert MdfAttribution.objects.filter(partner=team_a.partner).count() == 0
    _attribute(team_a.admin_actor, deal, activity)  # and may attribute it again
    assert MdfAttribution.objects.filter(partner=team_a.partner).count() == 1
