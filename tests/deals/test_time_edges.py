"""Deal dates at their edges, on a fixed clock (time-machine).

PRODUCT.md promises *days*: protection is 90 days from the approval and an extension 30 days (not
three months, not one month), so an approval on 1 December 2027 protects until 29 February 2028.
Protection ends at that instant: the expiry job takes the deal then, not a second earlier; the
warnings go out when exactly 14 and 3 days are left. The review is due 2 business days after the
submission, at the same time of day. The portal's TIME_ZONE is UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from deals import leads, services, tasks
from deals.models import Deal, DealStatus, Lead, WonCheck
from prm.errors import ApplicationError
from prm.models import Holiday, Notification
from prm.tenancy import Actor
from tests.deals import factories as f

pytestmark = pytest.mark.django_db

APPROVED_AT = datetime(2027, 12, 1, 10, 0, tzinfo=UTC)
PROTECTED_UNTIL = datetime(2028, 2, 29, 10, 0, tzinfo=UTC)  # 90 days; three months is 1 March


def at(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def deal(team_a: f.Team, cam: Actor) -> Deal:
    with at(APPROVED_AT - timedelta(days=1)):
        submitted = f.submitted(team_a.sales_actor, expected_close_date=date(2028, 1, 31))
    with at(APPROVED_AT), f.acting(cam):
        return services.deal_approve(actor=cam, deal=submitted)


def _fresh(deal: Deal) -> Deal:
    return Deal.objects.get(pk=deal.pk)


def _titles(kind: str, deal: Deal) -> list[str]:
    rows = Notification.objects.filter(kind=kind, title__contains=deal.reference)
    return sorted(set(rows.values_list("title", flat=True)))


# --- protection: 90 days, to the second ----------------------------------------------------------
def test_protection_is_ninety_days_not_three_months(deal: Deal) -> None:
    assert _fresh(deal).protection_expires_at == PROTECTED_UNTIL
    assert _titles("deal.approved", deal) == [
        f"Deal {deal.reference} approved, protected until Feb. 29, 2028"
    ]


def test_the_expiry_job_takes_the_deal_at_the_instant_protection_ends(deal: Deal) -> None:
    with at(PROTECTED_UNTIL - timedelta(seconds=1)):
        assert tasks.expire_deals() == 0
    assert _fresh(deal).status == DealStatus.APPROVED
    with at(PROTECTED_UNTIL):
        assert tasks.expire_deals() == 1
    assert _fresh(deal).status == DealStatus.EXPIRED


def test_warnings_go_out_when_exactly_fourteen_and_three_days_are_left(deal: Deal) -> None:
    with at(PROTECTED_UNTIL - timedelta(days=14, seconds=1)):
        assert tasks.warn_expiring_deals() == 0
    with at(PROTECTED_UNTIL - timedelta(days=14)):
        assert tasks.warn_expiring_deals() == 1
    with at(PROTECTED_UNTIL - timedelta(days=3, seconds=1)):
        assert tasks.warn_expiring_deals() == 0
    with at(PROTECTED_UNTIL - timedelta(days=3)):
        assert tasks.warn_expiring_deals() == 1
    assert _fresh(deal).expiry_warnings_sent == [14, 3]
    assert _titles("deal.expiring", deal) == [
        f"Deal {deal.reference} loses its protection in 14 days",
        f"Deal {deal.reference} loses its protection in 3 days",
    ]


def test_an_extension_adds_thirty_days_to_the_leap_day_not_a_month(
    team_a: f.Team, cam: Actor, deal: Deal
) -> None:
    with at(datetime(2028, 2, 20, 16, 0, tzinfo=UTC)):
        with f.acting(team_a.sales_actor):
            extension = services.deal_request_extension(
                actor=team_a.sales_actor, deal=deal, reason="Legal review"
            )
        with f.acting(cam):
            services.extension_decide(actor=cam, extension=extension, approve=True)
    assert _fresh(deal).protection_expires_at == datetime(2028, 3, 30, 10, 0, tzinfo=UTC)  # a month: 29th
    assert _titles("deal.extension_decided", deal) == [
        f"Extension approved: deal {deal.reference} is protected until March 30, 2028"
    ]


# --- the close date against the protection window ------------------------------------------------
def _mark_won(team: f.Team, deal: Deal, closed_on: date) -> Deal:
    with f.acting(team.sales_actor):
        return services.deal_mark_won(
            actor=team.sales_actor, deal=deal, won_amount=Decimal("1000.00"), closed_on=closed_on
        )


def test_a_deal_closed_on_the_last_day_of_protection_counts_at_once(team_a: f.Team, deal: Deal) -> None:
    with at(PROTECTED_UNTIL - timedelta(seconds=1)):
        won = _mark_won(team_a, deal, date(2028, 2, 29))
    assert (won.status, won.won_checks) == (DealStatus.WON, [])


def test_a_deal_closed_the_day_after_protection_waits(team_a: f.Team, deal: Deal) -> None:
    # Reported before the expiry job has run.
    with at(datetime(2028, 3, 1, 0, 5, tzinfo=UTC)):
        won = _mark_won(team_a, deal, date(2028, 3, 1))
    assert (won.status, won.won_checks) == (DealStatus.WON_PENDING, [WonCheck.CLOSED_AFTER_PROTECTION])


def test_a_deal_approved_at_midnight_is_not_protected_on_the_day_its_protection_ends(
    team_a: f.Team, cam: Actor
) -> None:
    """Approved at 00:00:00 on 2 December 2027, protection ends at 00:00:00 on 1 March 2028: the
    whole of 29 February is protected and none of 1 March."""
    with at(datetime(2027, 12, 1, 9, 0, tzinfo=UTC)):
        submitted = f.submitted(team_a.sales_actor, expected_close_date=date(2028, 1, 31))
    with at(datetime(2027, 12, 2, 0, 0, tzinfo=UTC)), f.acting(cam):
        approved = services.deal_approve(actor=cam, deal=submitted)
    assert approved.protection_expires_at == datetime(2028, 3, 1, 0, 0, tzinfo=UTC)
    with at(datetime(2028, 3, 1, 0, 0, 1, tzinfo=UTC)):
        won = _mark_won(team_a, approved, date(2028, 3, 1))
    assert (won.status, won.won_checks) == (DealStatus.WON_PENDING, [WonCheck.CLOSED_AFTER_PROTECTION])


def test_a_deal_closed_on_the_day_of_its_approval_counts_and_the_day_before_waits(
    team_a: f.Team, cam: Actor, deal: Deal
) -> None:
    with at(APPROVED_AT + timedelta(hours=13, minutes=59, seconds=59)):  # 23:59:59 that day
        assert _mark_won(team_a, deal, APPROVED_AT.date()).status == DealStatus.WON
    with at(APPROVED_AT - timedelta(days=1)):
        other = f.submitted(team_a.sales_actor, customer="Globex", domain="globex.com")
    with at(APPROVED_AT), f.acting(cam):
        services.deal_approve(actor=cam, deal=other)
    with at(APPROVED_AT + timedelta(days=1)):
        waiting = _mark_won(team_a, _fresh(other), date(2027, 11, 30))
    assert (waiting.status, waiting.won_checks) == (DealStatus.WON_PENDING, [WonCheck.CLOSED_BEFORE_APPROVAL])


def test_a_close_date_of_tomorrow_is_refused_until_midnight(team_a: f.Team, deal: Deal) -> None:
    last_second = at(datetime(2028, 1, 31, 23, 59, 59, tzinfo=UTC))
    with last_second, pytest.raises(ApplicationError, match="cannot be in the future"):
        _mark_won(team_a, deal, date(2028, 2, 1))
    assert _fresh(deal).status == DealStatus.APPROVED
    with at(datetime(2028, 2, 1, 0, 0, 0, tzinfo=UTC)):
        assert _mark_won(team_a, deal, date(2028, 2, 1)).status == DealStatus.WON


# --- the review SLA -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("submitted_at", "due_at"),
    [
        # The last second of a Friday is Friday: due the last second of Tuesday.
        (datetime(2027, 4, 16, 23, 59, 59, tzinfo=UTC), datetime(2027, 4, 20, 23, 59, 59, tzinfo=UTC)),
        # Over a month end.
        (datetime(2027, 4, 29, 15, 0, tzinfo=UTC), datetime(2027, 5, 3, 15, 0, tzinfo=UTC)),
        # Over the leap day: Monday 28 February 2028 is due on Wednesday 1 March.
        (datetime(2028, 2, 28, 0, 0, 0, tzinfo=UTC), datetime(2028, 3, 1, 0, 0, 0, tzinfo=UTC)),
    ],
)
def test_the_review_is_due_two_business_days_later_at_the_same_time(
    team_a: f.Team, submitted_at: datetime, due_at: datetime
) -> None:
    with at(submitted_at):
        deal = f.submitted(team_a.sales_actor, expected_close_date=date(2028, 6, 30))
    assert (_fresh(deal).submitted_at, _fresh(deal).review_due_at) == (submitted_at, due_at)


def test_a_holiday_monday_pushes_a_friday_review_to_wednesday(team_a: f.Team) -> None:
    Holiday.objects.create(date=date(2027, 4, 19), name="Closure")
    with at(datetime(2027, 4, 16, 23, 59, 59, tzinfo=UTC)):
        deal = f.submitted(team_a.sales_actor, expected_close_date=date(2027, 6, 30))
    assert _fresh(deal).review_due_at == datetime(2027, 4, 21, 23, 59, 59, tzinfo=UTC)


def test_the_reviewer_is_reminded_from_four_hours_before_the_review_is_due(
    team_a: f.Team, cam: Actor
) -> None:
    with at(datetime(2027, 4, 16, 23, 59, 59, tzinfo=UTC)):
        deal = f.submitted(team_a.sales_actor, expected_close_date=date(2027, 6, 30))
    due = _fresh(deal).review_due_at
    with at(due - timedelta(hours=4, seconds=1)):
        assert tasks.remind_reviewers() == 0
    with at(due - timedelta(hours=4)):
        assert tasks.remind_reviewers() == 1
    assert _fresh(deal).review_reminder_sent_at == due - timedelta(hours=4)
    assert list(
        Notification.objects.filter(kind="deal.review_due", title__contains=deal.reference).values_list(
            "recipient_id", flat=True
        )
    ) == [cam.user.pk]


# --- the lead acceptance SLA: 48 hours ------------------------------------------------------------
OFFERED_AT = datetime(2028, 2, 28, 9, 30, tzinfo=UTC)
ANSWER_BY = datetime(2028, 3, 1, 9, 30, tzinfo=UTC)  # 48 hours, over the leap day


@pytest.fixture
def offered(vendor_admin: Actor, team_a: f.Team, team_b: f.Team) -> Lead:
    with at(OFFERED_AT):
        lead = f.lead(vendor_admin, "Vandelay Industries")
        with f.acting(vendor_admin):
            leads.lead_assign(actor=vendor_admin, lead=lead, partner=team_a.partner)
    assert Lead.objects.get(pk=lead.pk).respond_by == ANSWER_BY
    return lead


def test_a_lead_is_accepted_up_to_the_second_before_its_deadline(team_a: f.Team, offered: Lead) -> None:
    with at(ANSWER_BY - timedelta(seconds=1)), f.acting(team_a.sales_actor):
        deal = leads.lead_accept(actor=team_a.sales_actor, lead=offered)
    assert Lead.objects.get(pk=offered.pk).deal_id == deal.pk


def test_at_the_deadline_the_lead_is_neither_accepted_nor_left_waiting(
    team_a: f.Team, team_b: f.Team, offered: Lead
) -> None:
    """The job takes an offer at its deadline; accepting at that instant is refused as well, so the
    two never both win."""
    with at(ANSWER_BY - timedelta(seconds=1)):
        assert tasks.reassign_unanswered_leads() == 0
    deadline = at(ANSWER_BY)
    with deadline, f.acting(team_a.sales_actor), pytest.raises(ApplicationError, match="has passed"):
        leads.lead_accept(actor=team_a.sales_actor, lead=offered)
    assert Lead.objects.get(pk=offered.pk).assigned_partner == team_a.partner
    with at(ANSWER_BY):
        assert tasks.reassign_unanswered_leads() == 1
    assert Lead.objects.get(pk=offered.pk).assigned_partner == team_b.partner
