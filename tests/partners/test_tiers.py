"""Tier evaluation on a controlled clock: a partner below its tier's requirements gets a grace period
and is told what is missing (in-app and by e-mail), recovers or, at the end of the grace period, is
proposed for a downgrade that its channel account manager approves or waives; a partner that
qualifies higher is upgraded at once or proposed for approval. Running twice the same day changes
nothing. The partner home shows the figures against the next tier and the grace period; the
proposals are the vendor's (a channel account manager's portfolio only)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from partners import tasks
from partners.models import (
    Partner,
    PartnerRole,
    Tier,
    TierChangeProposal,
    TierGracePeriod,
    TierGraceStatus,
    TierProposalStatus,
)
from partners.performance import tier_selectors, tier_services, tiers
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor, Scope, system_scope
from tests import factories
from tests.deals.factories import cam_for
from tests.helpers import assert_constant_queries, count, login, raw
from tests.partners import scorecard_factories as sf
from tests.partners.scorecard_factories import at
from tests.scoping import acting

pytestmark = pytest.mark.django_db

_certifications = itertools.count(1)
JAN_1 = date(2027, 1, 1)  # the monthly evaluation, on the figures of 2026 (as of 2026-12-31)
GRACE_END = JAN_1 + timedelta(days=90)  # 2027-04-01


def clock(day: date, hour: int = 9) -> Any:
    return time_machine.travel(timezone.make_aware(datetime.combine(day, time(hour))), tick=False)


def won(partner: Partner, amount: str, closed_on: date = date(2026, 6, 1), currency: str = "USD") -> Any:
    return sf.deal(partner, won_amount=amount, closed_on=closed_on, currency=currency)


def certify(partner: Partner, people: int) -> None:
    certification = sf.certification(f"Core {partner.pk}-{next(_certifications)}")
    for _n in range(people):
        user = factories.partner_user(partner, role=PartnerRole.LEARNER)
        sf.award(user, partner, certification, at(2026, 3, 1), None)


def evaluate(day: date, **kwargs: Any) -> tier_services.TierRun:
    """As the Celery task runs it: in the system scope, on the day's clock; e-mails after commit."""
    with clock(day), system_scope():
        return tier_services.tiers_evaluate(today=day, **kwargs)


def nightly(day: date) -> None:
    """The nightly scorecards of ``day`` (the figures the home page shows), as the task computes them."""
    from partners.performance import services

    with system_scope():
        services.snapshots_compute(as_of=day, today=day + timedelta(days=1))


def tier(name: str) -> Tier:
    return next(t for t in factories.default_tiers() if t.name == name)


@pytest.fixture
def silver(db: Any) -> Tier:
    return tier("Silver")


@pytest.fixture
def acme(partner: Partner, silver: Tier) -> Partner:
    """On Silver (100,000 USD, 1 certified person, 2 deals won) with 1 deal of 60,000 USD and
    nobody certified: short of all three."""
    partner.tier = silver
    partner.save(update_fields=["tier"])
    won(partner, "60000.00")
    return partner


@pytest.fixture
def cam(acme: Partner) -> Actor:
    return cam_for(acme)


def grace_of(partner: Partner) -> TierGracePeriod | None:
    return TierGracePeriod.objects.filter(partner=partner).order_by("-pk").first()


def proposal_of(partner: Partner) -> TierChangeProposal | None:
    return TierChangeProposal.objects.filter(partner=partner).order_by("-pk").first()


# --- the rules, without a database ---------------------------------------------------------------------
def test_a_revenue_requirement_in_another_currency_is_compared_in_the_reporting_currency() -> None:
    from prm.money import Rates

    gold = Tier(name="Gold", rank=3, min_trailing_revenue=Decimal("100000"), revenue_currency="EUR")
    reqs, missing_rates = tiers.requirements(gold, Rates("USD", {"USD": Decimal(1), "EUR": Decimal("1.10")}))
    assert reqs == [tiers.Requirement("won_revenue", Decimal("110000.00"), "USD")]
    assert missing_rates == []
    reqs, missing_rates = tiers.requirements(gold, Rates("USD", {"USD": Decimal(1)}))
    assert reqs == [] and missing_rates == ["EUR"]  # never judged on a figure it cannot compare


# --- grace period --------------------------------------------------------------------------------------
def test_a_partner_below_its_tier_gets_a_grace_period_and_is_told_what_is_missing(
    acme: Partner, partner_admin: Any, cam: Actor, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = evaluate(JAN_1)
    assert run.grace_started == 1 and run.partners == 1
    grace = grace_of(acme)
    assert grace.status == TierGraceStatus.RUNNING
    assert (grace.tier.name, grace.started_on, grace.ends_on) == ("Silver", JAN_1, GRACE_END)
    assert [item["key"] for item in grace.shortfalls] == ["won_revenue", "certified_people", "deals_won"]
    assert Partner.objects.get(pk=acme.pk).tier.name == "Silver"  # nothing downgrades at once

    told = Notification.objects.get(recipient=partner_admin, kind="tier.grace_started")
    assert "April 1, 2027" in told.title  # the site's date format, not ISO (issue 14)
    assert "Won revenue, trailing 12 months: 60,000 USD of 100,000 USD (40,000 USD to go)" in told.body
    assert "Certified people: 0 of 1 (1 to go)" in told.body
    assert "Deals won, last 12 months: 1 of 2 (1 to go)" in told.body
    assert told.partner_id == acme.pk
    assert Notification.objects.filter(recipient=cam.user, kind="tier.grace_started").exists()
    # The e-mail copy went after the commit.
    assert any(message.to == [partner_admin.email] and "Silver" in message.subject for message in mail.outbox)
    event = AuditEvent.objects.get(action="tier.grace_started")
    assert event.partner_id == acme.pk and event.after["ends_on"] == "2027-04-01"


def test_running_the_evaluation_twice_the_same_day_changes_nothing(
    acme: Partner, partner_admin: Any, other_partner: Partner
) -> None:
    # A second partner that qualifies for Silver: upgraded by the first run only.
    won(other_partner, "150000.00")
    won(other_partner, "1.00")
    certify(other_partner, 1)
    evaluate(JAN_1)
    tables = ("partners_tiergraceperiod", "partners_tierchangeproposal", "prm_auditevent", "prm_notification")
    before = {table: count(table) for table in tables}
    run = evaluate(JAN_1)
    assert run.counts() == {**run.counts(), "upgraded": 0, "grace_started": 0, "recovered": 0}
    assert sum(run.counts().values()) == run.partners == 2
    assert {table: count(table) for table in tables} == before
    assert Partner.objects.get(pk=other_partner.pk).tier.name == "Silver"


def test_recovering_during_the_grace_period_ends_it(acme: Partner, partner_admin: Any) -> None:
    evaluate(JAN_1)
    won(acme, "50000.00", closed_on=date(2027, 1, 15))
    certify(acme, 1)
    run = evaluate(date(2027, 2, 1))
    assert run.recovered == 1
    grace = grace_of(acme)
    assert (grace.status, grace.closed_on) == (TierGraceStatus.RECOVERED, date(2027, 2, 1))
    assert Notification.objects.filter(recipient=partner_admin, kind="tier.grace_recovered").exists()
    assert AuditEvent.objects.filter(action="tier.grace_recovered", partner_id=acme.pk).exists()
    assert not TierChangeProposal.objects.exists()


def test_still_short_when_the_grace_period_ends_a_downgrade_is_proposed_not_applied(
    acme: Partner, partner_admin: Any, cam: Actor
) -> None:
    evaluate(JAN_1)
    # The day before the end, the nightly run leaves it alone; on the day, it proposes.
    with clock(GRACE_END - timedelta(days=1)):
        assert tasks.evaluate_tiers.apply(kwargs={"grace_ends_only": True}).get()["partners"] == 0
    assert grace_of(acme).status == TierGraceStatus.RUNNING
    with clock(GRACE_END):
        done = tasks.evaluate_tiers.apply(kwargs={"grace_ends_only": True}).get()
    assert done["downgrades_proposed"] == 1
    grace = grace_of(acme)
    assert grace.status == TierGraceStatus.EXPIRED
    proposal = proposal_of(acme)
    assert (proposal.direction, proposal.status) == ("down", TierProposalStatus.PENDING)
    assert (proposal.from_tier.name, proposal.to_tier.name, proposal.grace_period_id) == (
        "Silver",
        "Registered",
        grace.pk,
    )
    assert Partner.objects.get(pk=acme.pk).tier.name == "Silver"
    assert Notification.objects.filter(recipient=partner_admin, kind="tier.downgrade_proposed").exists()
    assert Notification.objects.filter(recipient=cam.user, kind="tier.downgrade_proposed").exists()
    assert AuditEvent.objects.filter(action="tier.grace_expired", partner_id=acme.pk).exists()
    assert AuditEvent.objects.filter(action="tier.downgrade_proposed", partner_id=acme.pk).exists()
    # Again the same day: nothing new.
    with clock(GRACE_END):
        assert evaluate(GRACE_END).counts()["downgrades_proposed"] == 0
    assert TierChangeProposal.objects.count() == 1


def _expired(acme: Partner) -> TierChangeProposal:
    evaluate(JAN_1)
    evaluate(GRACE_END)
    return proposal_of(acme)


def test_the_channel_account_manager_approves_the_downgrade(
    acme: Partner, partner_admin: Any, cam: Actor
) -> None:
    proposal = _expired(acme)
    with clock(GRACE_END + timedelta(days=2)):
        client = login(cam.user)
        response = client.post(reverse("vendor:tier_proposal_approve", args=[proposal.pk]), follow=True)
    assert response.status_code == 200
    assert "is now Registered" in response.content.decode()
    acme.refresh_from_db()
    assert acme.tier.name == "Registered"
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == (TierProposalStatus.APPROVED, cam.user)
    changed = AuditEvent.objects.get(action="partner.tier_downgraded")
    assert (changed.before, changed.after, changed.actor) == (
        {"tier": "Silver"},
        {"tier": "Registered"},
        cam.user,
    )
    assert Notification.objects.filter(recipient=partner_admin, kind="tier.proposal_approved").exists()
    # Deciding twice is refused with a message, never a 500.
    with clock(GRACE_END + timedelta(days=2)):
        response = client.post(reverse("vendor:tier_proposal_approve", args=[proposal.pk]), follow=True)
    assert "already approved" in response.content.decode()


def test_a_waiver_keeps_the_tier_and_holds_until_the_next_figures(
    acme: Partner, partner_admin: Any, cam: Actor
) -> None:
    proposal = _expired(acme)
    with acting(cam), pytest.raises(ApplicationError, match="Say why"):
        tier_services.tier_proposal_waive(actor=cam, proposal=proposal, note=" ")
    with clock(GRACE_END), acting(cam):
        tier_services.tier_proposal_waive(actor=cam, proposal=proposal, note="Big deal closing in May.")
    proposal.refresh_from_db()
    assert proposal.status == TierProposalStatus.WAIVED
    assert Partner.objects.get(pk=acme.pk).tier.name == "Silver"
    told = Notification.objects.get(recipient=partner_admin, kind="tier.proposal_waived")
    assert "Big deal closing in May." in told.body
    assert AuditEvent.objects.filter(
        action="tier.proposal_waived", reason="Big deal closing in May."
    ).exists()
    # The same figures do not start it over; the next month's do (a new grace period).
    assert evaluate(GRACE_END).grace_started == 0
    assert evaluate(date(2027, 5, 1)).grace_started == 1


def test_a_partner_that_recovers_after_the_proposal_has_it_withdrawn(acme: Partner, cam: Actor) -> None:
    proposal = _expired(acme)
    won(acme, "90000.00", closed_on=date(2027, 4, 2))
    certify(acme, 1)
    assert evaluate(date(2027, 5, 1)).withdrawn == 1
    proposal.refresh_from_db()
    assert proposal.status == TierProposalStatus.WITHDRAWN
    assert Partner.objects.get(pk=acme.pk).tier.name == "Silver"


def test_only_the_portfolio_manager_or_a_program_admin_decides(
    acme: Partner, cam: Actor, partner_admin: Any
) -> None:
    proposal = _expired(acme)
    stranger = factories.actor_for(factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER))
    with acting(stranger), pytest.raises(PermissionDenied):
        tier_services.tier_proposal_approve(actor=stranger, proposal=proposal)
    finance = factories.actor_for(factories.vendor_user(VendorRole.FINANCE))
    with acting(finance), pytest.raises(PermissionDenied):
        tier_services.tier_proposal_approve(actor=finance, proposal=proposal)
    # Through the pages: outside the portfolio, or a partner, the proposal does not exist.
    for who in (stranger.user, partner_admin, finance.user):
        assert login(who).post(reverse("vendor:tier_proposal_waive", args=[proposal.pk])).status_code == 404
    admin = factories.actor_for(factories.vendor_user(VendorRole.PROGRAM_ADMIN))
    with acting(admin):
        tier_services.tier_proposal_approve(actor=admin, proposal=proposal, note="Agreed with the CAM.")
    assert Partner.objects.get(pk=acme.pk).tier.name == "Registered"


# --- upgrades ------------------------------------------------------------------------------------------
def _qualifies_for_silver(partner: Partner) -> None:
    won(partner, "70000.00")
    won(partner, "40000.00", closed_on=date(2026, 12, 31))  # the last day of the window counts
    won(partner, "999999.00", closed_on=date(2027, 1, 1))  # the evaluation day does not
    certify(partner, 1)


def test_a_partner_that_qualifies_for_a_higher_tier_is_upgraded_at_once(
    partner: Partner, partner_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _qualifies_for_silver(partner)
    with django_capture_on_commit_callbacks(execute=True):
        run = evaluate(JAN_1)
    assert run.upgraded == 1
    assert Partner.objects.get(pk=partner.pk).tier.name == "Silver"
    event = AuditEvent.objects.get(action="partner.tier_upgraded")
    assert (event.before, event.after["tier"], event.actor_label) == (
        {"tier": "Registered"},
        "Silver",
        "system",
    )
    told = Notification.objects.get(recipient=partner_admin, kind="tier.upgraded")
    assert told.title == "Welcome to Silver"
    assert any("Welcome to Silver" in message.subject for message in mail.outbox)


def test_an_upgrade_into_a_tier_that_needs_approval_is_proposed(partner: Partner, partner_admin: Any) -> None:
    silver = tier("Silver")
    silver.upgrade_needs_approval = True
    silver.save()
    _qualifies_for_silver(partner)
    cam = cam_for(partner)
    assert evaluate(JAN_1).upgrades_proposed == 1
    assert Partner.objects.get(pk=partner.pk).tier.name == "Registered"
    proposal = proposal_of(partner)
    assert (proposal.direction, proposal.to_tier, proposal.status) == (
        "up",
        silver,
        TierProposalStatus.PENDING,
    )
    assert Notification.objects.filter(recipient=cam.user, kind="tier.upgrade_proposed").exists()
    assert evaluate(JAN_1).upgrades_proposed == 0  # idempotent
    with acting(cam):
        tier_services.tier_proposal_approve(actor=cam, proposal=proposal)
    assert Partner.objects.get(pk=partner.pk).tier == silver
    assert AuditEvent.objects.filter(action="partner.tier_upgraded", actor=cam.user).exists()


def test_a_minimum_score_counts_when_a_tier_sets_one(partner: Partner) -> None:
    from partners.models import ScorecardSnapshot

    silver = tier("Silver")
    silver.min_score = Decimal("60")
    silver.save()
    _qualifies_for_silver(partner)
    ScorecardSnapshot.objects.create(partner=partner, as_of=date(2026, 12, 31), total_score=Decimal("55"))
    assert evaluate(JAN_1).upgraded == 0
    ScorecardSnapshot.objects.create(partner=partner, as_of=date(2027, 1, 31), total_score=Decimal("61"))
    assert evaluate(date(2027, 2, 1)).upgraded == 1


def test_the_evaluation_on_demand_is_a_program_admins(program_admin: Any, channel_manager: Any) -> None:
    cam = factories.actor_for(channel_manager)
    with acting(cam), pytest.raises(PermissionDenied):
        tier_services.tier_evaluation_request(actor=cam)
    assert login(channel_manager).post(reverse("vendor:tier_evaluate"), follow=True).status_code == 200
    assert not Notification.objects.filter(kind="tier.evaluation_done").exists()


def test_a_program_admin_runs_the_evaluation_from_the_tier_reviews_page(
    acme: Partner, program_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with clock(JAN_1), django_capture_on_commit_callbacks(execute=True):
        response = login(program_admin).post(reverse("vendor:tier_evaluate"), follow=True)
    assert "The tier evaluation is running" in response.content.decode()
    assert grace_of(acme).status == TierGraceStatus.RUNNING
    assert AuditEvent.objects.get(action="tier.grace_started").actor == program_admin
    done = Notification.objects.get(recipient=program_admin, kind="tier.evaluation_done")
    assert "1 grace periods started" in done.body


# --- the partner home ----------------------------------------------------------------------------------
def test_the_home_shows_the_figures_against_the_next_tier_and_the_grace_period(
    acme: Partner, partner_admin: Any
) -> None:
    evaluate(JAN_1)
    nightly(date(2027, 1, 9))
    with clock(date(2027, 1, 10)):
        response = login(partner_admin).get(reverse("home"))
    text = response.content.decode()
    assert "To reach Gold" in text
    assert "60,000 / 500,000 USD" in text  # the figure now against the next tier's requirement
    assert "1 / 6" in text  # deals won
    assert "Grace period: meet the Silver requirements by" in text
    assert "81 days left" in text
    assert "40,000 of 100,000 USD" not in text  # revenue is 60,000 of 100,000
    assert "60,000 of 100,000 USD (40,000 USD to go)" in text
    assert "Tiers are reviewed regularly" not in text


def test_without_a_recent_scorecard_the_home_shows_the_requirements_and_what_was_missing(
    acme: Partner, partner_admin: Any
) -> None:
    evaluate(JAN_1)
    with clock(date(2027, 1, 10)):
        text = login(partner_admin).get(reverse("home")).content.decode()
    assert "500,000 USD" in text and "Your figures appear here after the nightly scorecard" in text
    assert "What was missing when it started" in text
    assert "Won revenue, trailing 12 months: 60,000 USD of 100,000 USD (40,000 USD to go)" in text


def test_a_learner_reads_what_is_missing_without_the_revenue(acme: Partner) -> None:
    evaluate(JAN_1)
    nightly(date(2027, 1, 9))
    learner = factories.partner_user(acme, role=PartnerRole.LEARNER)
    with clock(date(2027, 1, 10)):
        text = login(learner).get(reverse("home")).content.decode()
    assert "Grace period" in text and "below the requirement" in text
    assert "60,000" not in text


def test_a_partner_sees_only_its_own_tier_status(
    acme: Partner, partner_admin: Any, other_partner_admin: Any, other_partner: Partner
) -> None:
    evaluate(JAN_1)
    with clock(date(2027, 1, 10)):
        text = login(other_partner_admin).get(reverse("home")).content.decode()
    assert "Grace period" not in text and "60,000" not in text
    other = factories.actor_for(other_partner_admin)
    with acting(other), pytest.raises(PermissionDenied):
        tier_selectors.tier_progress(actor=other, partner=acme)
    # Proposals and grace periods in raw SQL from the other partner's scope: nothing.
    assert raw("SELECT count(*) FROM partners_tiergraceperiod", scope=Scope.partner(other_partner.pk)) == [
        (0,)
    ]
    assert raw("SELECT count(*) FROM partners_tiergraceperiod", scope=Scope.partner(acme.pk)) == [(1,)]
    # The vendor's tier reviews are not a partner's page.
    assert login(partner_admin).get(reverse("vendor:tier_review_list")).status_code == 404


def test_the_home_panel_runs_the_same_queries_for_1_and_50_deals(
    acme: Partner, partner_admin: Any, settings: Any
) -> None:
    # The progress's own reads, not the minute the home keeps it (partners.panels.home_cached):
    # with the cache on, the new nightly figures would show from the next minute on.
    settings.PRM = {**settings.PRM, "HOME_CACHE_SECONDS": 0}
    evaluate(JAN_1)
    for _n in range(8):  # each deal below brings its own registrant: the team card counts from 8 on
        factories.partner_user(acme, role=PartnerRole.SALES)

    nightly(date(2027, 1, 9))

    def grow() -> None:
        for number in range(49):
            won(acme, "1000.00", closed_on=date(2026, 7, 1) + timedelta(days=number))
        nightly(date(2027, 1, 9))

    def deals_won(response: Any) -> int:
        rows = response.context["tier_progress"].rows
        return int(next(row.value for row in rows if row.key == "deals_won"))

    with clock(date(2027, 1, 10)):
        assert_constant_queries(
            login(partner_admin),
            reverse("home"),
            grow,
            rows=deals_won,
            shows=lambda: [f"{count('deals_deal', 'partner_id = %s', [acme.pk])} / 6"],
            within="tier-next-requirements",
        )


# --- the vendor's list ---------------------------------------------------------------------------------
def test_a_channel_account_manager_sees_only_the_portfolios_proposals(
    acme: Partner, cam: Actor, other_partner: Partner
) -> None:
    other_partner.tier = tier("Silver")
    other_partner.save(update_fields=["tier"])
    evaluate(JAN_1)
    evaluate(GRACE_END)
    assert TierChangeProposal.objects.count() == 2
    text = login(cam.user).get(reverse("vendor:tier_review_list")).content.decode()
    assert acme.legal_name in text and other_partner.legal_name not in text
    with acting(cam):
        assert list(tier_selectors.proposal_list(actor=cam)) == [proposal_of(acme)]


def test_the_tier_reviews_page_runs_the_same_queries_for_1_and_50_proposals(program_admin: Any) -> None:
    silver = tier("Silver")

    def make(n: int) -> None:
        for _i in range(n):
            partner = factories.PartnerFactory(tier=silver)
            cam_for(partner)
        evaluate(JAN_1)
        evaluate(GRACE_END)

    make(1)
    for tab in ("pending", "grace"):
        assert (
            login(program_admin).get(reverse("vendor:tier_review_list"), {"status": tab}).status_code == 200
        )
    assert_constant_queries(
        login(program_admin),
        reverse("vendor:tier_review_list"),
        lambda: make(49),
        rows=lambda response: response.context["page"].paginator.count,
        shows=lambda: list(TierChangeProposal.objects.values_list("partner__legal_name", flat=True)),
        params={"status": "pending"},
    )


def test_a_manager_gets_one_notification_for_many_partners_changed_alike(
    acme: Partner, cam: Actor, other_partner: Partner, partner_admin: Any, other_partner_admin: Any
) -> None:
    from partners.services import partner_assign_channel_manager

    other_partner.tier = tier("Silver")
    other_partner.save(update_fields=["tier"])
    admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    partner_assign_channel_manager(actor=admin, partner=other_partner, manager=cam.user)
    assert evaluate(JAN_1).grace_started == 2
    (summary,) = Notification.objects.filter(recipient=cam.user, kind="tier.grace_started")
    assert summary.title == "2 of your partners are below their tier's requirements"
    assert acme.legal_name in summary.body and other_partner.legal_name in summary.body
    # Each partner's admins still get their own, with what they miss.
    for person in (partner_admin, other_partner_admin):
        assert Notification.objects.filter(recipient=person, kind="tier.grace_started").count() == 1


@pytest.mark.parametrize("day", [JAN_1, GRACE_END], ids=["grace starts", "grace ends"])
def test_the_evaluation_runs_the_same_queries_for_2_and_12_partners(day: date) -> None:
    """Set-based: the figures in a few queries for all partners, the writes a few statements per
    kind of change, whatever the number of partners changing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    silver = tier("Silver")

    def partners(n: int) -> list[Partner]:
        made = []
        for _i in range(n):
            partner = factories.PartnerFactory(tier=silver)
            factories.partner_user(partner)
            won(partner, "1000.00")
            made.append(partner)
        cam_for(*made)
        return made

    def measured(made: list[Partner]) -> int:
        if day == GRACE_END:
            evaluate(JAN_1)
        with CaptureQueriesContext(connection) as queries:
            run = evaluate(day)
        assert run.partners == len(made) and (run.grace_started or run.downgrades_proposed) == len(made)
        TierChangeProposal.objects.all().delete()
        TierGracePeriod.objects.all().delete()
        Partner.objects.filter(pk__in=[p.pk for p in made]).update(status="terminated")
        return len(queries.captured_queries)

    measured(partners(1))  # warm: content types and the like, cached after a first run
    assert measured(partners(2)) == measured(partners(12))


def test_a_tier_whose_revenue_currency_has_no_rate_is_left_alone(partner: Partner) -> None:
    """Gold's revenue in GBP, and no GBP rate: nobody is judged against Gold or moved into it."""
    gold = tier("Gold")
    gold.revenue_currency = "GBP"
    gold.save()
    _qualifies_for_silver(partner)
    for number in range(6):
        won(partner, "100000.00", closed_on=date(2026, 8, 1) + timedelta(days=number))
    certify(partner, 3)
    run = evaluate(JAN_1)
    assert run.unconvertible == ["GBP"]
    assert Partner.objects.get(pk=partner.pk).tier.name == "Silver"  # not Gold, which it cannot judge


def test_a_tier_changed_by_hand_closes_the_grace_period_for_the_old_one(
    acme: Partner, partner_admin: Any
) -> None:
    from partners.services import partner_change_tier

    evaluate(JAN_1)
    admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    partner_change_tier(actor=admin, partner=acme, tier=tier("Registered"), reason="Reset")
    run = evaluate(date(2027, 2, 1))
    assert run.ended == 1 and run.grace_started == 0  # Registered asks for nothing
    assert grace_of(acme).status == TierGraceStatus.ENDED
    assert Notification.objects.filter(recipient=partner_admin, kind="tier.grace_ended").exists()
    assert AuditEvent.objects.filter(action="tier.grace_ended", partner_id=acme.pk).exists()
