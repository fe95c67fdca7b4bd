"""Scheduled deal and lead jobs: each finds what is due, acts once, and a second run changes
nothing more. Time is controlled by moving the due dates relative to now."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from deals import leads, services, tasks
from deals.models import Deal, DealStatus, Lead, LeadOffer, LeadStatus, OfferOutcome
from prm.models import AuditEvent, Notification
from tests import factories
from tests.deals import factories as f

pytestmark = pytest.mark.django_db


def _protect_until(deal: Deal, delta: timedelta) -> None:
    Deal.objects.filter(pk=deal.pk).update(protection_expires_at=timezone.now() + delta)


def _notifications(kind: str, deal: Deal | None = None) -> list[tuple[int, str]]:
    rows = Notification.objects.filter(kind=kind)
    if deal is not None:
        rows = rows.filter(title__contains=deal.reference)
    return sorted(rows.values_list("recipient_id", "title"))


# --- expiry ------------------------------------------------------------------------------------
def test_expire_deals_expires_only_approved_deals_past_protection(team_a: f.Team, cam: Any) -> None:
    sales = team_a.sales_actor
    due = f.approved(sales, cam, customer="Initech", domain="initech.com")
    protected = f.approved(sales, cam, customer="Globex", domain="globex.com")
    waiting = f.submitted(sales, customer="Hooli", domain="hooli.com")
    won = f.approved(sales, cam, customer="Umbrella", domain="umbrella.com")
    with f.acting(sales):
        services.deal_mark_won(
            actor=sales, deal=won, won_amount=Decimal("100"), closed_on=timezone.localdate()
        )
    _protect_until(due, -timedelta(minutes=1))
    _protect_until(protected, timedelta(hours=1))
    _protect_until(won, -timedelta(days=2))
    Deal.objects.filter(pk=waiting.pk).update(protection_expires_at=timezone.now() - timedelta(days=1))

    assert tasks.expire_deals() == 1
    statuses = dict(Deal.objects.filter(partner=team_a.partner).values_list("pk", "status"))
    assert statuses == {
        due.pk: DealStatus.EXPIRED,
        protected.pk: DealStatus.APPROVED,
        waiting.pk: DealStatus.SUBMITTED,
        won.pk: DealStatus.WON,
    }
    assert tasks.expire_deals() == 0
    assert AuditEvent.objects.filter(action="deal.expired").count() == 1
    assert AuditEvent.objects.get(action="deal.expired").target_id == str(due.pk)
    assert [recipient for recipient, _title in _notifications("deal.expired")] == sorted(
        [team_a.admin.pk, team_a.sales.pk]
    )


def test_expire_deals_runs_through_celery(team_a: f.Team, cam: Any) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    _protect_until(deal, -timedelta(seconds=5))
    assert tasks.expire_deals.delay().get() == 1
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.EXPIRED


# --- expiry warnings ---------------------------------------------------------------------------
def test_expiry_warnings_are_sent_once_per_threshold(team_a: f.Team, cam: Any) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    far = f.approved(team_a.sales_actor, cam, customer="Globex", domain="globex.com")
    _protect_until(far, timedelta(days=20))
    partner_people = sorted([team_a.admin.pk, team_a.sales.pk])

    _protect_until(deal, timedelta(days=10))
    assert tasks.warn_expiring_deals() == 1
    assert tasks.warn_expiring_deals() == 0
    warnings = _notifications("deal.expiring", deal)
    assert [recipient for recipient, _title in warnings] == partner_people
    assert {title for _recipient, title in warnings} == {
        f"Deal {deal.reference} loses its protection in 14 days"
    }
    assert Deal.objects.get(pk=deal.pk).expiry_warnings_sent == [14]

    _protect_until(deal, timedelta(days=2))
    assert tasks.warn_expiring_deals() == 1
    assert tasks.warn_expiring_deals() == 0
    titles = Counter(title for _recipient, title in _notifications("deal.expiring", deal))
    assert titles == {
        f"Deal {deal.reference} loses its protection in 14 days": 2,
        f"Deal {deal.reference} loses its protection in 3 days": 2,
    }
    assert Deal.objects.get(pk=deal.pk).expiry_warnings_sent == [14, 3]
    assert _notifications("deal.expiring", far) == []


def test_a_deal_first_seen_inside_three_days_gets_only_the_three_day_warning(
    team_a: f.Team, cam: Any
) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    _protect_until(deal, timedelta(days=1))
    assert tasks.warn_expiring_deals() == 1
    assert tasks.warn_expiring_deals() == 0
    assert {title for _recipient, title in _notifications("deal.expiring", deal)} == {
        f"Deal {deal.reference} loses its protection in 3 days"
    }


def test_no_warning_for_deals_that_are_not_approved(team_a: f.Team, cam: Any) -> None:
    deal = f.submitted(team_a.sales_actor)
    _protect_until(deal, timedelta(days=2))
    assert tasks.warn_expiring_deals() == 0
    assert Notification.objects.filter(kind="deal.expiring").count() == 0


# --- review reminders --------------------------------------------------------------------------
def test_reviewers_are_reminded_once_before_the_review_is_due(team_a: f.Team, cam: Any) -> None:
    soon = f.submitted(team_a.sales_actor, customer="Initech", domain="initech.com")
    later = f.submitted(team_a.sales_actor, customer="Globex", domain="globex.com")
    overdue = f.submitted(team_a.sales_actor, customer="Hooli", domain="hooli.com")
    Deal.objects.filter(pk=soon.pk).update(review_due_at=timezone.now() + timedelta(hours=3))
    Deal.objects.filter(pk=later.pk).update(review_due_at=timezone.now() + timedelta(days=2))
    Deal.objects.filter(pk=overdue.pk).update(review_due_at=timezone.now() - timedelta(hours=5))

    assert tasks.remind_reviewers() == 2
    assert tasks.remind_reviewers() == 0
    reminders = Notification.objects.filter(kind="deal.review_due")
    assert sorted(reminders.values_list("recipient_id", flat=True)) == [cam.user.pk, cam.user.pk]
    titles = set(reminders.values_list("title", flat=True))
    assert titles == {
        f"Review due: deal {soon.reference} from Northwind Resellers",
        f"Review due: deal {overdue.reference} from Northwind Resellers",
    }
    assert Deal.objects.get(pk=later.pk).review_reminder_sent_at is None


def test_a_reviewed_deal_is_not_reminded(team_a: f.Team, cam: Any) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    Deal.objects.filter(pk=deal.pk).update(review_due_at=timezone.now() + timedelta(hours=1))
    assert tasks.remind_reviewers() == 0
    assert Notification.objects.filter(kind="deal.review_due").count() == 0


# --- unanswered leads --------------------------------------------------------------------------
def test_unanswered_leads_time_out_and_move_on_once(
    vendor_admin: Any, team_a: f.Team, team_b: f.Team
) -> None:
    factories.PartnerFactory(legal_name="Newcomer", tier=factories.tier("Registered"))  # weight 0
    lead = f.lead(vendor_admin, "Vandelay Industries")
    waiting = f.lead(vendor_admin, "Kramerica")
    with f.acting(vendor_admin):
        first = leads.lead_assign(actor=vendor_admin, lead=lead, partner=team_a.partner)
        still_open = leads.lead_assign(actor=vendor_admin, lead=waiting, partner=team_a.partner)
    past = timezone.now() - timedelta(minutes=1)
    Lead.objects.filter(pk=lead.pk).update(respond_by=past)
    LeadOffer.objects.filter(pk=first.pk).update(respond_by=past)

    assert tasks.reassign_unanswered_leads() == 1
    timed_out = LeadOffer.objects.get(pk=first.pk)
    assert (timed_out.outcome, timed_out.responded_by) == (OfferOutcome.TIMED_OUT, None)
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.status, fresh.assigned_partner) == (LeadStatus.OFFERED, team_b.partner)
    assert fresh.respond_by > timezone.now() + timedelta(hours=47)
    new_offer = LeadOffer.objects.get(lead=lead, partner=team_b.partner)
    assert new_offer.outcome == OfferOutcome.PENDING
    assert LeadOffer.objects.get(pk=still_open.pk).outcome == OfferOutcome.PENDING
    assert Lead.objects.get(pk=waiting.pk).assigned_partner == team_a.partner
    # Partner A's people hear the lead went on; the vendor who created it hears where.
    told = Notification.objects.filter(kind="lead.timed_out")
    assert sorted(told.values_list("recipient_id", flat=True)) == sorted(
        [team_a.admin.pk, team_a.sales.pk, team_a.sales2.pk, vendor_admin.user.pk]
    )
    assert told.get(recipient=vendor_admin.user).title == (
        "Lead Vandelay Industries: Northwind Resellers did not take it; offered to another partner"
    )
    assert sorted(
        Notification.objects.filter(kind="lead.offered", partner_id=team_b.partner.pk).values_list(
            "recipient_id", flat=True
        )
    ) == sorted([team_b.admin.pk, team_b.sales.pk, team_b.sales2.pk])

    assert tasks.reassign_unanswered_leads() == 0
    assert LeadOffer.objects.filter(lead=lead).count() == 2
    assert Lead.objects.get(pk=lead.pk).assigned_partner == team_b.partner


def test_a_lead_nobody_else_can_take_becomes_unassignable(vendor_admin: Any, team_a: f.Team) -> None:
    lead = f.lead(vendor_admin)
    with f.acting(vendor_admin):
        offer = leads.lead_assign(actor=vendor_admin, lead=lead, partner=team_a.partner)
    past = timezone.now() - timedelta(minutes=1)
    Lead.objects.filter(pk=lead.pk).update(respond_by=past)
    LeadOffer.objects.filter(pk=offer.pk).update(respond_by=past)
    assert tasks.reassign_unanswered_leads() == 1
    fresh = Lead.objects.get(pk=lead.pk)
    assert (fresh.status, fresh.assigned_partner) == (LeadStatus.UNASSIGNABLE, None)
    assert tasks.reassign_unanswered_leads() == 0
    assert LeadOffer.objects.filter(lead=lead).count() == 1


def test_an_approved_extension_rearms_the_warnings(team_a: f.Team, cam: Any) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    _protect_until(deal, timedelta(days=10))
    assert tasks.warn_expiring_deals() == 1
    with f.acting(team_a.sales_actor):
        extension = services.deal_request_extension(
            actor=team_a.sales_actor, deal=deal, reason="Legal review"
        )
    with f.acting(cam):
        services.extension_decide(actor=cam, extension=extension, approve=True)
    fresh = Deal.objects.get(pk=deal.pk)
    assert fresh.expiry_warnings_sent == []
    assert fresh.protection_expires_at - timezone.now() > timedelta(days=39)
    assert tasks.warn_expiring_deals() == 0  # 40 days out
    _protect_until(deal, timedelta(days=13))
    assert tasks.warn_expiring_deals() == 1
    assert len(_notifications("deal.expiring", deal)) == 4  # twice two people, 14 days each time


def test_expiry_does_nothing_without_its_own_scope(
    team_a: f.Team, cam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Removing the job's ``system_scope()`` must fail the suite: a worker has no scope, and the
    task does not inherit the test body's (prm.celery.EmptyScopeTask)."""
    import contextlib

    due = f.approved(team_a.sales_actor, cam, customer="Initech", domain="initech.com")
    _protect_until(due, -timedelta(minutes=1))
    monkeypatch.setattr(tasks, "system_scope", contextlib.nullcontext)
    assert tasks.expire_deals() == 0
    assert Deal.objects.get(pk=due.pk).status == DealStatus.APPROVED
    monkeypatch.undo()
    assert tasks.expire_deals() == 1
