"""A partner cannot inflate its own rewards through the won amount or the close date.

A win reported more than the tolerance above the registered (approved) amount, or with a close
date outside the approved window (before the approval, after the protection), waits as WON_PENDING
for the channel account manager: no ``deal_won`` event, so nothing accrues, until a reviewer of the
partner confirms it (possibly corrected) or turns it down with a reason. Within the tolerance and
the window a win counts at once, as before. A future close date and an absurd amount are refused.
"""

from __future__ import annotations

import copy
import functools
import html
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deals import services
from deals.models import Deal, DealStatus, WonCheck
from deals.signals import deal_won
from prm import audit
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor, system_scope
from tests import factories
from tests.deals import factories as f
from tests.helpers import login as signed_in
from tests.isolation import built_once

pytestmark = pytest.mark.django_db

# A Wednesday in May, mid-quarter: nothing here depends on the real clock.
NOW = datetime(2026, 5, 13, 10, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen() -> Iterator[Any]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def sent() -> Iterator[list[int]]:
    """The ids ``deal_won`` was sent with."""
    received: list[int] = []

    def receiver(sender: Any, deal_id: int, **kwargs: Any) -> None:
        received.append(deal_id)

    deal_won.connect(receiver, weak=False, dispatch_uid="test_won_confirmation")
    yield received
    deal_won.disconnect(dispatch_uid="test_won_confirmation")


def registered(team: f.Team, reviewer: Actor, amount: str = "131200.00", **kwargs: Any) -> Deal:
    """An approved deal registered at ``amount`` (one line)."""
    kwargs.setdefault("lines", [f.line(f.product(), 1, amount)])
    return f.approved(team.sales_actor, reviewer, **kwargs)


def mark_won(team: f.Team, deal: Deal, amount: str, closed_on: date = TODAY) -> Deal:
    with f.acting(team.sales_actor):
        return services.deal_mark_won(
            actor=team.sales_actor, deal=deal, won_amount=Decimal(amount), closed_on=closed_on
        )


def confirm(reviewer: Actor, deal: Deal, **kwargs: Any) -> Deal:
    with f.acting(reviewer):
        return services.deal_confirm_won(actor=reviewer, deal=deal, **kwargs)


def reject(reviewer: Actor, deal: Deal, reason: str = "The signed order says 140,000.") -> Deal:
    with f.acting(reviewer):
        return services.deal_reject_won(actor=reviewer, deal=deal, reason=reason)


def actions(deal: Deal) -> list[str]:
    return [event.action for event in sorted(audit.history_for(target=deal), key=lambda e: e.pk)]


def notified(kind: str) -> list[int]:
    return sorted(Notification.objects.filter(kind=kind).values_list("recipient_id", flat=True))


# A client that answers a crash with a 500 response (so tests can say "never a 500").
login = functools.partial(signed_in, raise_request_exception=False)


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


# --- the partner reports a win ---------------------------------------------------------------------
def test_ten_million_on_a_deal_registered_at_131200_waits_and_sends_no_event(
    team_a: f.Team, cam: Actor, sent: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    deal = registered(team_a, cam)
    with django_capture_on_commit_callbacks(execute=True):
        claimed = mark_won(team_a, deal, "10000000.00")
    assert claimed.status == DealStatus.WON_PENDING
    assert sent == []  # nothing downstream (incentives, co-op, tiers) hears of it
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.status, fresh.won_amount, fresh.closed_on) == (
        DealStatus.WON_PENDING,
        Decimal("10000000.00"),
        TODAY,
    )
    assert fresh.won_checks == [WonCheck.AMOUNT_ABOVE_REGISTERED]
    assert fresh.won_claimed_at == NOW
    assert actions(deal)[-1] == "deal.won_claimed"
    event = AuditEvent.objects.filter(action="deal.won_claimed").get()
    assert event.before == {"status": "approved", "won_amount": None, "closed_on": None}
    assert event.after == {
        "status": "won_pending",
        "won_amount": "10000000.00",
        "closed_on": TODAY.isoformat(),
        "checks": ["amount_above_registered"],
    }
    # The channel account manager is asked to confirm; nobody is told of a win.
    assert notified("deal.won_claimed") == [cam.user.pk]
    assert notified("deal.won") == []


@pytest.mark.parametrize(
    ("amount", "status"),
    [
        ("1100.00", DealStatus.WON),  # exactly the 10 % tolerance
        ("900.00", DealStatus.WON),  # below the registered amount
        ("1100.01", DealStatus.WON_PENDING),
    ],
)
def test_within_the_tolerance_a_win_counts_at_once_as_before(
    team_a: f.Team,
    cam: Actor,
    sent: list[int],
    django_capture_on_commit_callbacks: Any,
    amount: str,
    status: str,
) -> None:
    deal = registered(team_a, cam, "1000.00")
    with django_capture_on_commit_callbacks(execute=True):
        won = mark_won(team_a, deal, amount)
    assert won.status == status
    if status == DealStatus.WON:
        assert sent == [deal.pk]
        assert actions(deal)[-1] == "deal.won"
        assert notified("deal.won") == [cam.user.pk]
    else:
        assert sent == []


def test_the_tolerance_is_a_setting(team_a: f.Team, cam: Actor, settings: Any) -> None:
    settings.PRM = {**settings.PRM, "WON_AMOUNT_TOLERANCE_PERCENT": 25}
    assert mark_won(team_a, registered(team_a, cam, "1000.00"), "1250.00").status == DealStatus.WON
    other = registered(team_a, cam, "1000.00", customer="Globex", domain="globex.com")
    assert mark_won(team_a, other, "1250.01").status == DealStatus.WON_PENDING


def test_a_close_date_before_the_approval_waits(team_a: f.Team, cam: Actor, frozen: Any) -> None:
    """The January close date of the finding: approved in May, reported closed in January (the
    co-op accrual would land in an earlier half-year)."""
    deal = registered(team_a, cam, "1000.00")
    frozen.shift(timedelta(days=2))
    claimed = mark_won(team_a, deal, "1000.00", closed_on=date(2026, 1, 15))
    assert claimed.status == DealStatus.WON_PENDING
    assert claimed.won_checks == [WonCheck.CLOSED_BEFORE_APPROVAL]
    # The day of the approval itself is inside the window.
    other = registered(team_a, cam, "1000.00", customer="Globex", domain="globex.com")
    frozen.shift(timedelta(days=2))
    assert mark_won(team_a, other, "1000.00", closed_on=TODAY + timedelta(days=2)).status == DealStatus.WON


def test_a_close_date_after_the_protection_ended_waits(team_a: f.Team, cam: Actor, frozen: Any) -> None:
    deal = registered(team_a, cam, "1000.00")
    frozen.shift(timedelta(days=95))  # protection is 90 days; the expiry job has not run yet
    claimed = mark_won(team_a, deal, "5000.00", closed_on=TODAY + timedelta(days=95))
    assert claimed.status == DealStatus.WON_PENDING
    assert claimed.won_checks == [WonCheck.AMOUNT_ABOVE_REGISTERED, WonCheck.CLOSED_AFTER_PROTECTION]
    assert claimed.won_check_labels == [
        "The won amount is above the registered amount",
        "The close date is after the deal's protection ended",
    ]


def test_a_close_date_in_the_future_is_refused(team_a: f.Team, cam: Actor) -> None:
    deal = registered(team_a, cam, "1000.00")
    with pytest.raises(ApplicationError, match="The close date cannot be in the future"):
        mark_won(team_a, deal, "1000.00", closed_on=TODAY + timedelta(days=1))
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.APPROVED


def test_an_absurd_amount_is_refused_with_a_clear_message(team_a: f.Team, cam: Actor) -> None:
    deal = registered(team_a, cam)
    for amount in ("13120000.01", "999999999999.99"):
        with pytest.raises(ApplicationError) as excinfo:
            mark_won(team_a, deal, amount)
        assert excinfo.value.field == "won_amount"
        assert "at most 100 times the registered amount, 13,120,000.00 USD" in excinfo.value.message
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.APPROVED
    # 100 times is still a claim the vendor can look at.
    assert mark_won(team_a, deal, "13120000.00").status == DealStatus.WON_PENDING


@pytest.mark.parametrize("amount", ["1000.00", "5000.00"], ids=["immediate", "waiting"])
def test_a_double_submitted_report_is_recorded_once(
    team_a: f.Team, cam: Actor, sent: list[int], django_capture_on_commit_callbacks: Any, amount: str
) -> None:
    deal = registered(team_a, cam, "1000.00")
    with django_capture_on_commit_callbacks(execute=True):
        first = mark_won(team_a, deal, amount)
    with django_capture_on_commit_callbacks(execute=True):
        again = mark_won(team_a, deal, amount)
    assert again.status == first.status
    assert len([a for a in actions(deal) if a.startswith("deal.won")]) == 1
    assert Notification.objects.filter(kind__startswith="deal.won").count() == 1
    assert sent == ([deal.pk] if first.status == DealStatus.WON else [])
    # Different figures on an already reported win are refused, not silently taken.
    with pytest.raises(ApplicationError):
        mark_won(team_a, deal, "990.00")


def test_a_waiting_win_does_not_expire_or_close_otherwise(team_a: f.Team, cam: Actor, frozen: Any) -> None:
    deal = mark_won(team_a, registered(team_a, cam, "1000.00"), "5000.00")
    with f.acting(team_a.sales_actor), pytest.raises(ApplicationError):
        services.deal_mark_lost(actor=team_a.sales_actor, deal=deal, reason="Changed my mind")
    frozen.shift(timedelta(days=200))
    with system_scope():  # as the expiry job runs it, per row
        assert services.deal_expire(deal=deal) is False  # the partner did its part; the vendor decides
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON_PENDING


# --- the vendor decides --------------------------------------------------------------------------
def test_the_cam_confirms_and_the_win_counts_once(
    team_a: f.Team, cam: Actor, sent: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    deal = mark_won(team_a, registered(team_a, cam), "10000000.00")
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = confirm(
            cam, deal, won_amount=Decimal("140000.00"), closed_on=date(2026, 5, 12), note="PO"
        )
    assert sent == [deal.pk]
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.status, fresh.won_amount, fresh.closed_on) == (
        DealStatus.WON,
        Decimal("140000.00"),
        date(2026, 5, 12),
    )
    assert (fresh.won_reviewed_by, fresh.won_reviewed_at, fresh.won_review_reason) == (cam.user, NOW, "PO")
    event = AuditEvent.objects.filter(action="deal.won_confirmed").get()
    assert (event.actor, event.reason, event.partner_id) == (cam.user, "PO", team_a.partner.pk)
    assert event.before == {"status": "won_pending", "won_amount": "10000000.00", "closed_on": "2026-05-13"}
    assert event.after == {"status": "won", "won_amount": "140000.00", "closed_on": "2026-05-12"}
    # The partner's registrant and admins hear of it.
    assert notified("deal.won") == sorted([team_a.sales.pk, team_a.admin.pk])
    assert "140,000.00 USD on May 12, 2026" in Notification.objects.filter(kind="deal.won").first().title

    # A double-clicked confirmation: nothing more happens, no second event.
    with django_capture_on_commit_callbacks(execute=True):
        again = confirm(cam, confirmed, won_amount=Decimal("140000.00"))
    assert again.status == DealStatus.WON
    assert sent == [deal.pk]
    assert actions(deal).count("deal.won_confirmed") == 1


def test_the_cam_confirms_as_reported(team_a: f.Team, cam: Actor, frozen: Any) -> None:
    deal = registered(team_a, cam, "1000.00")
    frozen.shift(timedelta(days=1))
    deal = mark_won(team_a, deal, "1000.00", closed_on=date(2026, 3, 31))
    confirmed = confirm(cam, deal)
    assert (confirmed.status, confirmed.won_amount, confirmed.closed_on) == (
        DealStatus.WON,
        Decimal("1000.00"),
        date(2026, 3, 31),
    )


def test_the_cam_turns_a_win_down_and_the_partner_is_told(
    team_a: f.Team, cam: Actor, sent: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    deal = mark_won(team_a, registered(team_a, cam), "10000000.00")
    with django_capture_on_commit_callbacks(execute=True):
        turned_down = reject(cam, deal)
        again = reject(cam, turned_down)  # double-clicked: nothing more
    assert sent == []
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.status, fresh.won_amount, fresh.closed_on, fresh.won_checks) == (
        DealStatus.APPROVED,
        None,
        None,
        [],
    )
    assert again.status == DealStatus.APPROVED
    assert fresh.won_review_reason == "The signed order says 140,000."
    assert actions(deal).count("deal.won_rejected") == 1
    event = AuditEvent.objects.get(action="deal.won_rejected")
    assert event.before["won_amount"] == "10000000.00"
    assert notified("deal.won_rejected") == sorted([team_a.sales.pk, team_a.admin.pk])
    assert set(Notification.objects.filter(kind="deal.won_rejected").values_list("body", flat=True)) == {
        "The signed order says 140,000."
    }
    # The partner reports the real figures; within the tolerance they count at once.
    with django_capture_on_commit_callbacks(execute=True):
        won = mark_won(team_a, fresh, "140000.00")
    assert won.status == DealStatus.WON
    assert won.won_review_reason == ""
    assert sent == [deal.pk]


def test_turning_down_needs_a_reason(team_a: f.Team, cam: Actor) -> None:
    deal = mark_won(team_a, registered(team_a, cam), "10000000.00")
    with pytest.raises(ApplicationError, match="Give the partner a reason"):
        reject(cam, deal, reason="  ")
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON_PENDING


def test_the_vendor_cannot_confirm_a_deal_that_has_no_waiting_win(team_a: f.Team, cam: Actor) -> None:
    deal = registered(team_a, cam)
    with pytest.raises(ApplicationError, match="no win waiting for confirmation"):
        confirm(cam, deal)
    with pytest.raises(ApplicationError, match="no win waiting for confirmation"):
        reject(cam, deal)
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.APPROVED


def test_the_confirmed_figures_face_the_same_bounds(team_a: f.Team, cam: Actor) -> None:
    deal = mark_won(team_a, registered(team_a, cam), "10000000.00")
    with pytest.raises(ApplicationError, match="at most 100 times"):
        confirm(cam, deal, won_amount=Decimal("13120000.01"))
    with pytest.raises(ApplicationError, match="cannot be in the future"):
        confirm(cam, deal, closed_on=TODAY + timedelta(days=1))
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON_PENDING


@pytest.mark.parametrize("who", ["sales", "admin"])
def test_the_partner_cannot_confirm_or_turn_down_its_own_win(
    team_a: f.Team, cam: Actor, sent: list[int], who: str
) -> None:
    deal = mark_won(team_a, registered(team_a, cam), "10000000.00")
    actor = team_a.sales_actor if who == "sales" else team_a.admin_actor
    for call in (
        lambda: services.deal_confirm_won(actor=actor, deal=deal),
        lambda: services.deal_reject_won(actor=actor, deal=deal, reason="Fine"),
    ):
        with f.acting(actor), pytest.raises(PermissionDenied):
            call()
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON_PENDING
    assert sent == []


def test_a_cam_outside_the_portfolio_cannot_decide(team_a: f.Team, team_b: f.Team, cam: Actor) -> None:
    other_cam = f.cam_for(team_b.partner)
    deal = mark_won(team_a, registered(team_a, cam), "10000000.00")
    with pytest.raises(PermissionDenied):
        confirm(other_cam, deal)
    with pytest.raises(PermissionDenied):
        reject(other_cam, deal)
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON_PENDING
    # A program admin decides for every partner (control).
    assert confirm(factories.vendor_actor(), deal).status == DealStatus.WON


# --- partner pages ---------------------------------------------------------------------------------
def test_the_partner_page_says_the_win_waits_and_why(team_a: f.Team, cam: Actor) -> None:
    deal = registered(team_a, cam)
    client = login(team_a.sales)
    response = client.post(
        reverse("deals:mark_won", args=[deal.pk]),
        {"won_amount": "10000000.00", "closed_on": TODAY.isoformat()},
        follow=True,
    )
    page = text_of(response)
    assert response.status_code == 200
    assert (
        f"Deal {deal.reference} is recorded as won and waits for your channel account manager's "
        "confirmation: The won amount is above the registered amount." in page
    )
    assert "Congratulations" not in page
    banner = re.search(r'<div class="deal-banner deal-banner-won_pending.*?</div>\s*</div>', page, re.S)
    assert banner is not None
    assert "Won: 10,000,000.00 USD on" in banner.group(0)
    assert "awaiting your channel manager's confirmation" in banner.group(0)
    assert "The won amount is above the registered amount" in banner.group(0)
    assert 'id="won-form"' not in page  # nothing more to report while it waits
    assert "Won, awaiting vendor confirmation" in page  # the status badge


def test_the_partner_home_counts_a_waiting_win_as_open_not_won(team_a: f.Team, cam: Actor) -> None:
    from deals.panels import partner_home_panel

    mark_won(team_a, registered(team_a, cam), "10000000.00")
    request = login(team_a.admin).get(reverse("deals:list")).wsgi_request
    with f.acting(request.actor):  # the home page calls the panel inside its request's scope
        panel = partner_home_panel(request)
    assert (panel["open"], panel["won"]) == (1, 0)


def test_an_absurd_amount_is_a_form_message_on_the_partner_page(team_a: f.Team, cam: Actor) -> None:
    deal = registered(team_a, cam)
    response = login(team_a.sales).post(
        reverse("deals:mark_won", args=[deal.pk]),
        {"won_amount": "999999999999.99", "closed_on": TODAY.isoformat()},
        follow=True,
    )
    assert response.status_code == 200
    assert (
        "Won amount: At most 100 times the registered amount, 13,120,000.00 USD. Check the figure; "
        "register additional business as a new deal." in text_of(response)
    )
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.APPROVED


def test_after_a_turned_down_win_the_partner_sees_why_and_can_report_again(
    team_a: f.Team, cam: Actor
) -> None:
    deal = reject(cam, mark_won(team_a, registered(team_a, cam), "10000000.00"), "Order shows 140,000.")
    page = text_of(login(team_a.sales).get(reverse("deals:detail", args=[deal.pk])))
    assert 'id="won-rejected"' in page
    assert "Your reported win was not confirmed" in page
    assert "Order shows 140,000." in page
    assert 'id="won-form"' in page


def test_another_partner_cannot_see_or_decide_a_waiting_win(
    team_a: f.Team, team_b: f.Team, cam: Actor
) -> None:
    deal = mark_won(team_a, registered(team_a, cam), "10000000.00")
    missing = 987_654_321
    for user in (team_b.admin, team_b.sales, team_a.sales2):
        client = login(user)
        assert client.get(reverse("deals:detail", args=[deal.pk])).status_code == 404
        for name, data in (("confirm_won", {}), ("reject_won", {"reason": "x"})):
            foreign = client.post(reverse(f"deals:{name}", args=[deal.pk]), data)
            assert (
                foreign.status_code == client.post(reverse(f"deals:{name}", args=[missing]), data).status_code
            )
            assert foreign.status_code == 404
        assert client.get(reverse("deals:won_queue")).status_code == 404
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON_PENDING


# --- vendor pages ----------------------------------------------------------------------------------
@built_once
def waiting_world() -> dict[str, Any]:
    """A waiting win at each partner, and an immediate one at A (``waiting``); the package's teams,
    partner A's CAM and the program admin (tests/deals/conftest.py). Built once for the module
    (tests/isolation.py), at the same frozen moment as each test: each test runs in a savepoint of
    its own."""
    with time_machine.travel(NOW, tick=False):
        team_a = f.team("Northwind Resellers", tier="Gold")
        team_b = f.team("Southwind Systems", tier="Silver")
        vendor_admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
        cam = f.cam_for(team_a.partner)
        waiting = _waiting(team_a, team_b, cam, vendor_admin)
    return {"waiting": waiting, "team_a": team_a, "team_b": team_b, "cam": cam, "vendor_admin": vendor_admin}


@pytest.fixture
def world(waiting_world: dict[str, Any]) -> dict[str, Any]:
    # A copy: what a test changes on the objects in memory (a login's last_login) must not reach
    # the next test.
    return copy.deepcopy(waiting_world)


def _waiting(team_a: f.Team, team_b: f.Team, cam: Actor, vendor_admin: Actor) -> dict[str, Deal]:
    a = mark_won(team_a, registered(team_a, cam, customer="Initech", domain="initech.com"), "10000000.00")
    b = mark_won(team_b, registered(team_b, vendor_admin, customer="Hooli", domain="hooli.com"), "777777.00")
    won = mark_won(
        team_a, registered(team_a, cam, "500.00", customer="Pied Piper", domain="pp.com"), "500.00"
    )
    assert (a.status, b.status, won.status) == (
        DealStatus.WON_PENDING,
        DealStatus.WON_PENDING,
        DealStatus.WON,
    )
    return {"a": a, "b": b, "won": won}


def test_the_cam_queue_lists_the_portfolios_waiting_wins_only(world: dict[str, Any]) -> None:
    waiting, cam, vendor_admin = world["waiting"], world["cam"], world["vendor_admin"]
    response = login(cam.user).get(reverse("deals:won_queue"))
    assert response.status_code == 200
    assert [d.pk for d in response.context["page"].object_list] == [waiting["a"].pk]
    page = text_of(response)
    assert waiting["a"].reference in page
    assert "10,000,000.00" in page and "131,200.00" in page
    assert "+7522%" in page
    assert "The won amount is above the registered amount" in page
    assert waiting["b"].reference not in page and "Hooli" not in page and "777,777.00" not in page
    assert waiting["won"].reference not in page
    # The program admin sees both partners' waiting wins; the review queue points there.
    admin = login(vendor_admin.user)
    listed = admin.get(reverse("deals:won_queue")).context["page"].object_list
    assert {d.pk for d in listed} == {waiting["a"].pk, waiting["b"].pk}
    queue = admin.get(reverse("deals:review_queue"))
    assert queue.context["won_waiting_count"] == 2
    assert 'id="won-queue-link"' in queue.content.decode()
    assert login(cam.user).get(reverse("deals:review_queue")).context["won_waiting_count"] == 1
    # The vendor's status filter finds them too.
    filtered = admin.get(reverse("deals:vendor_list"), {"status": DealStatus.WON_PENDING})
    assert {d.pk for d in filtered.context["page"].object_list} == {waiting["a"].pk, waiting["b"].pk}


def test_the_cam_confirms_from_the_review_page(
    world: dict[str, Any],
    sent: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    waiting, cam = world["waiting"], world["cam"]
    deal = waiting["a"]
    client = login(cam.user)
    detail = text_of(client.get(reverse("deals:review_detail", args=[deal.pk])))
    assert 'id="won-decision"' in detail
    assert re.search(r'id="confirm-won-amount"[^>]*value="10000000(\.00)?"', detail)
    assert "The won amount is above the registered amount" in detail
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("deals:confirm_won", args=[deal.pk]),
            {"won_amount": "140000.00", "closed_on": "2026-05-11", "note": "Signed order"},
            follow=True,
        )
    assert response.redirect_chain[0][0] == reverse("deals:won_queue")
    assert f"Deal {deal.reference} confirmed won at 140,000.00 USD on May 11, 2026" in text_of(response)
    assert sent == [deal.pk]
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.status, fresh.won_amount, fresh.closed_on) == (
        DealStatus.WON,
        Decimal("140000.00"),
        date(2026, 5, 11),
    )
    # The same post again (a double click): a message, no second event, no 500.
    again = client.post(
        reverse("deals:confirm_won", args=[deal.pk]), {"won_amount": "140000.00", "closed_on": "2026-05-11"}
    )
    assert again.status_code == 302
    assert sent == [deal.pk]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"won_amount": "abc", "closed_on": "2026-05-11"}, "Enter a number."),
        ({"won_amount": "140000", "closed_on": "2026-05-14"}, "The close date cannot be in the future."),
        ({"won_amount": "99999999", "closed_on": "2026-05-11"}, "At most 100 times the registered amount"),
    ],
)
def test_bad_confirmation_input_is_a_message_and_changes_nothing(
    world: dict[str, Any],
    data: dict,
    message: str,
) -> None:
    waiting, cam = world["waiting"], world["cam"]
    deal = waiting["a"]
    response = login(cam.user).post(reverse("deals:confirm_won", args=[deal.pk]), data, follow=True)
    assert response.status_code == 200
    assert message in text_of(response)
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON_PENDING


def test_the_cam_turns_down_from_the_review_page(world: dict[str, Any]) -> None:
    waiting, cam = world["waiting"], world["cam"]
    deal = waiting["a"]
    client = login(cam.user)
    empty = client.post(reverse("deals:reject_won", args=[deal.pk]), {"reason": " "}, follow=True)
    assert "Give the partner a reason." in text_of(empty)
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON_PENDING
    response = client.post(reverse("deals:reject_won", args=[deal.pk]), {"reason": "No order"}, follow=True)
    assert f"The win on deal {deal.reference} was turned down; the partner was told why." in text_of(response)
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.APPROVED


def test_a_cam_gets_404_for_another_portfolios_waiting_win(world: dict[str, Any]) -> None:
    waiting, cam = world["waiting"], world["cam"]
    deal = waiting["b"]
    client = login(cam.user)
    assert client.get(reverse("deals:review_detail", args=[deal.pk])).status_code == 404
    confirmed = client.post(
        reverse("deals:confirm_won", args=[deal.pk]), {"won_amount": "1.00", "closed_on": "2026-05-11"}
    )
    assert confirmed.status_code == 404
    assert client.post(reverse("deals:reject_won", args=[deal.pk]), {"reason": "No"}).status_code == 404
    # Asking for the other partner's rows by filter is ignored: the portfolio's rows only.
    listed = client.get(reverse("deals:won_queue"), {"partner": deal.partner_id}).context["page"]
    assert [d.pk for d in listed.object_list] == [waiting["a"].pk]
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.WON_PENDING


def test_the_vendor_home_panel_counts_waiting_wins(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    page = text_of(login(vendor_admin.user).get(reverse("vendor:dashboard")))
    assert "2 reported wins wait for your confirmation." in page


def test_the_admin_actions_confirm_and_turn_down_through_the_services(
    world: dict[str, Any],
    sent: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    waiting, vendor_admin = world["waiting"], world["vendor_admin"]
    client = login(vendor_admin.user)
    url = reverse("admin:deals_deal_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"action": "confirm_won_selected", "_selected_action": [waiting["a"].pk]}, follow=True
        )
    assert response.status_code == 200
    assert sent == [waiting["a"].pk]
    assert Deal.objects.get(pk=waiting["a"].pk).status == DealStatus.WON
    asked = client.post(url, {"action": "reject_won_selected", "_selected_action": [waiting["b"].pk]})
    assert "Turn down reported wins" in text_of(asked)
    client.post(
        url,
        {
            "action": "reject_won_selected",
            "_selected_action": [waiting["b"].pk],
            "apply": "1",
            "reason": "Not signed yet",
        },
    )
    fresh = Deal.objects.get(pk=waiting["b"].pk)
    assert (fresh.status, fresh.won_review_reason) == (DealStatus.APPROVED, "Not signed yet")
    assert sent == [waiting["a"].pk]


# --- query count -------------------------------------------------------------------------------------
def _bulk_waiting(team: f.Team, count: int) -> None:
    """``count`` waiting wins of ``team`` inserted directly (the page is what is measured)."""
    now = timezone.now()
    users = [team.sales, team.sales2, team.admin]
    Deal.objects.bulk_create(
        Deal(
            partner=team.partner,
            registered_by=users[number % 3],
            reference=f"QW-{team.partner.pk:04d}-{number:04d}",
            customer_name=f"Probe Customer {number}",
            customer_domain=f"probe{number}.example",
            customer_key=f"probe customer {number}",
            customer_country="US",
            currency="USD",
            amount=Decimal("300.00"),
            status=DealStatus.WON_PENDING,
            submitted_at=now - timedelta(days=3),
            first_submitted_at=now - timedelta(days=3),
            approved_at=now - timedelta(days=2),
            protection_expires_at=now + timedelta(days=80),
            won_amount=Decimal("900.00") + number,
            closed_on=TODAY,
            won_claimed_at=now - timedelta(hours=number),
            won_checks=[WonCheck.AMOUNT_ABOVE_REGISTERED, WonCheck.CLOSED_BEFORE_APPROVAL][: 1 + number % 2],
        )
        for number in range(count)
    )


def _queries(client: Client, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries), response


@pytest.mark.parametrize("who", ["cam", "program_admin"])
def test_the_won_queue_runs_as_many_queries_for_one_row_as_for_fifty(
    team_a: f.Team, cam: Actor, vendor_admin: Actor, who: str
) -> None:
    mark_won(team_a, registered(team_a, cam), "10000000.00")
    client = login((cam if who == "cam" else vendor_admin).user)
    url = reverse("deals:won_queue")
    _queries(client, url)  # warm caches (content types, session)
    small, small_response = _queries(client, url)
    _bulk_waiting(team_a, 49)
    large, large_response = _queries(client, url)
    assert small_response.context["page"].paginator.count == 1
    assert large_response.context["page"].paginator.count == 50
    assert small == large, f"{small} queries for 1 row, {large} for 50"
    assert large <= 30


# --- the API cannot close a deal -------------------------------------------------------------------
def test_the_api_cannot_mark_a_deal_won(team_a: f.Team, cam: Actor, sent: list[int]) -> None:
    """The REST API registers and submits deals; closing is the portal's, through the service
    above. Neither a write of the status or won figures nor a "won" action exists there."""
    from prm.api import token_issue

    deal = registered(team_a, cam)
    with f.acting(team_a.sales_actor):  # issued as the tokens page does, in the user's request
        _token, secret = token_issue(
            user=team_a.sales, name="CRM sync", partner_id=team_a.sales_actor.partner_id
        )
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    url = reverse("api-deal-detail", args=[deal.pk])
    client.patch(
        url,
        '{"status": "won", "won_amount": "10000000.00", "closed_on": "2026-01-15"}',
        content_type="application/json",
        **auth,
    )
    for suffix in ("won/", "mark_won/", "mark-won/", "close/"):
        response = client.post(url + suffix, "{}", content_type="application/json", **auth)
        assert response.status_code == 404, suffix
    fresh = Deal.objects.get(pk=deal.pk)
    assert (fresh.status, fresh.won_amount, fresh.closed_on) == (DealStatus.APPROVED, None, None)
    assert sent == []
