"""Channel-conflict detection at submission: evidence for the reviewer, only a status for the
partner, and the same answer when two partners submit the same customer at the same moment."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from deals import conflicts, names, selectors, services
from deals.models import (
    ConflictResolution,
    ConflictStatus,
    Deal,
    DealConflict,
    DealStatus,
)
from prm.errors import ApplicationError
from prm.models import Notification
from prm.roles import VendorRole
from prm.tenancy import Scope, system_scope, tenant_scope
from tests import factories
from tests.deals import factories as f

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ACME Corporation Ltd.", "acme"),
        ("Acme Corp", "acme"),
        ("  The Acme Group, Inc. ", "acme"),
        ("Initech GmbH & Co. KG", "initech kg"),
        ("Ltd", "ltd"),  # only legal words: keep them rather than compare nothing
        ("", ""),
    ],
)
def test_normalise_company_name(name: str, key: str) -> None:
    assert names.normalise_company_name(name) == key


def _approve(reviewer: Any, deal: Deal) -> Deal:
    with f.acting(reviewer):
        return services.deal_approve(actor=reviewer, deal=deal)


def _conflict(deal: Deal) -> DealConflict:
    return DealConflict.objects.get(deal=deal)


def _conflicts_of(*teams: f.Team) -> QuerySet[DealConflict]:
    """The conflicts that involve these teams' deals (not rows other tests may have left)."""
    partners = [team.partner for team in teams]
    return DealConflict.objects.filter(
        Q(deal__partner__in=partners) | Q(conflicting_deal__partner__in=partners)
    )


# --- what is and is not a conflict ---------------------------------------------------------------
@pytest.mark.parametrize("a_state", ["submitted", "approved"])
def test_same_domain_as_another_partners_open_deal_is_flagged(
    team_a: f.Team, team_b: f.Team, vendor_admin: Any, a_state: str
) -> None:
    firewall, switch, cable = f.product("Firewall X"), f.product("Switch Y"), f.product("Cable Z")
    a_deal = f.submitted(
        team_a.sales_actor,
        customer="Initech",
        domain="initech.com",
        lines=[f.line(firewall, 2), f.line(switch, 1)],
    )
    if a_state == "approved":
        _approve(vendor_admin, a_deal)
    b_deal = f.submitted(
        team_b.sales_actor,
        customer="Initrode Software",  # a different name: the domain alone matches
        domain="https://www.INITECH.com/contact",
        lines=[f.line(switch, 3), f.line(cable, 1), f.line(firewall, 1)],
    )
    fresh = Deal.objects.get(pk=b_deal.pk)
    assert fresh.status == DealStatus.SUBMITTED
    assert fresh.conflict_status == ConflictStatus.UNDER_REVIEW
    conflict = _conflict(b_deal)
    assert conflict.conflicting_deal_id == a_deal.pk
    assert conflict.domain_match is True
    assert conflict.shared_products == ["Firewall X", "Switch Y"]
    assert conflict.resolution == ConflictResolution.OPEN
    assert conflict.score >= 0.7  # 0.5 for the domain + 0.2 for shared products
    assert conflict.matched_on[0] == "domain"
    assert "products" in conflict.matched_on
    # The first registration is not touched.
    assert Deal.objects.get(pk=a_deal.pk).conflict_status == ConflictStatus.NONE
    assert list(_conflicts_of(team_a, team_b)) == [conflict]
    # The reviewer is told there may be a conflict about B's deal, and only about B's.
    flagged = Notification.objects.filter(kind="deal.submitted", title__endswith="(possible conflict)")
    told = flagged.filter(title__contains=b_deal.reference).values_list("recipient", flat=True)
    assert vendor_admin.user.pk in set(told)
    assert not flagged.filter(title__contains=a_deal.reference).exists()


def test_a_similar_name_with_another_domain_is_flagged(team_a: f.Team, team_b: f.Team) -> None:
    a_deal = f.submitted(team_a.sales_actor, customer="ACME Corporation Ltd.", domain="acme.com")
    b_deal = f.submitted(team_b.sales_actor, customer="Acme Corp", domain="acme-corp.io")
    assert Deal.objects.get(pk=b_deal.pk).conflict_status == ConflictStatus.UNDER_REVIEW
    conflict = _conflict(b_deal)
    assert conflict.conflicting_deal_id == a_deal.pk
    assert conflict.domain_match is False
    assert conflict.name_similarity == pytest.approx(1.0)
    assert conflict.score > 0
    assert "company name" in conflict.matched_on


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Vais Software", "Vais Software Solutions GmbH"),  # a descriptor more
        ("Vais", "VAIS Software Inc."),  # one of them does not say what it does
        ("Kestrel Logistics", "Kestrel Logistcs"),  # a misspelt descriptor is still that descriptor
        ("Kestrelford Analytics", "Kestrelfort Analytics"),  # a typo in a long distinctive name
        ("Engel Solutions S.A.S.", "Engel Solutions"),  # a legal form spelt with dots
    ],
)
def test_names_with_the_same_distinctive_part_are_flagged(
    team_a: f.Team, team_b: f.Team, first: str, second: str
) -> None:
    a_deal = f.submitted(team_a.sales_actor, customer=first, domain="first.example")
    b_deal = f.submitted(team_b.sales_actor, customer=second, domain="second.example")
    assert Deal.objects.get(pk=b_deal.pk).conflict_status == ConflictStatus.UNDER_REVIEW
    conflict = _conflict(b_deal)
    assert (conflict.conflicting_deal_id, conflict.domain_match) == (a_deal.pk, False)
    assert conflict.name_similarity >= 0.6


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Vais Software", "Pagra Software"),  # only the generic word is alike
        ("Golden Forest Logistics", "Golden Forest Foods"),  # same name, different lines of business
        ("Kamer Analytics", "Kapolmer Analytics"),
    ],
)
def test_names_alike_only_in_generic_words_are_not_flagged(
    team_a: f.Team, team_b: f.Team, first: str, second: str
) -> None:
    f.submitted(team_a.sales_actor, customer=first, domain="first.example")
    b_deal = f.submitted(team_b.sales_actor, customer=second, domain="second.example")
    assert Deal.objects.get(pk=b_deal.pk).conflict_status == ConflictStatus.NONE
    assert not _conflicts_of(team_a, team_b).exists()


def test_an_unrelated_customer_is_not_flagged(team_a: f.Team, team_b: f.Team) -> None:
    f.submitted(team_a.sales_actor, customer="ACME Corporation Ltd.", domain="acme.com")
    b_deal = f.submitted(team_b.sales_actor, customer="Umbrella Pharmaceuticals", domain="umbrella.co.uk")
    assert Deal.objects.get(pk=b_deal.pk).conflict_status == ConflictStatus.NONE
    assert not _conflicts_of(team_a, team_b).exists()


def _a_in(state: str, team: f.Team, reviewer: Any) -> Deal:
    if state == "draft":
        return f.draft(team.sales_actor, customer="Initech", domain="initech.com")
    deal = f.submitted(team.sales_actor, customer="Initech", domain="initech.com")
    if state == "rejected":
        with f.acting(reviewer):
            services.deal_reject(actor=reviewer, deal=deal, reason="Direct account")
        return deal
    _approve(reviewer, deal)
    if state == "protection-ended":
        Deal.objects.filter(pk=deal.pk).update(protection_expires_at=timezone.now() - timedelta(hours=1))
    elif state == "lost":
        with f.acting(team.sales_actor):
            services.deal_mark_lost(actor=team.sales_actor, deal=deal, reason="Budget cut")
    elif state == "expired":
        Deal.objects.filter(pk=deal.pk).update(protection_expires_at=timezone.now() - timedelta(hours=1))
        with system_scope():  # as the expiry job runs it, per row
            assert services.deal_expire(deal=deal)
    return deal


@pytest.mark.parametrize("a_state", ["draft", "rejected", "lost", "expired", "protection-ended"])
def test_registrations_that_no_longer_hold_the_customer_do_not_conflict(
    team_a: f.Team, team_b: f.Team, vendor_admin: Any, a_state: str
) -> None:
    _a_in(a_state, team_a, vendor_admin)
    b_deal = f.submitted(team_b.sales_actor, customer="Initech", domain="initech.com")
    assert Deal.objects.get(pk=b_deal.pk).conflict_status == ConflictStatus.NONE
    assert DealConflict.objects.filter(deal=b_deal).count() == 0


def test_registering_your_own_customer_again_is_refused(team_a: f.Team) -> None:
    first = f.submitted(team_a.sales_actor, customer="Initech", domain="initech.com")
    again = f.draft(team_a.sales2_actor, customer="Initech Inc.", domain="www.initech.com")
    with f.acting(team_a.sales2_actor), pytest.raises(ApplicationError) as excinfo:
        services.deal_submit(actor=team_a.sales2_actor, deal=again)
    # A colleague's deal this sales user cannot open is not named (see test_isolation).
    assert "already has a registration for this customer" in str(excinfo.value)
    assert first.reference not in str(excinfo.value)
    # The registrant (who can open it) is pointed at the existing deal.
    mine = f.draft(team_a.sales_actor, customer="Initech Inc.", domain="initech.com")
    with f.acting(team_a.sales_actor), pytest.raises(ApplicationError) as excinfo:
        services.deal_submit(actor=team_a.sales_actor, deal=mine)
    assert "already have a registration" in str(excinfo.value)
    assert first.reference in str(excinfo.value)
    assert "(submitted)" in str(excinfo.value)
    fresh = Deal.objects.get(pk=again.pk)
    assert (fresh.status, fresh.submitted_at) == (DealStatus.DRAFT, None)
    assert list(Deal.objects.filter(partner=team_a.partner, status=DealStatus.SUBMITTED)) == [first]
    assert not _conflicts_of(team_a).exists()


# --- review of a flagged deal ------------------------------------------------------------------
def _flagged(team_a: f.Team, team_b: f.Team) -> tuple[Deal, Deal]:
    a_deal = f.submitted(team_a.sales_actor, customer="Initech", domain="initech.com")
    b_deal = f.submitted(team_b.sales_actor, customer="Initech", domain="initech.com")
    assert Deal.objects.get(pk=b_deal.pk).conflict_status == ConflictStatus.UNDER_REVIEW
    return a_deal, b_deal


def test_a_flagged_deal_is_approved_only_after_the_conflict_is_dismissed(
    team_a: f.Team, team_b: f.Team, vendor_admin: Any
) -> None:
    _a_deal, b_deal = _flagged(team_a, team_b)
    with f.acting(vendor_admin), pytest.raises(ApplicationError, match="Resolve the possible conflict first"):
        services.deal_approve(actor=vendor_admin, deal=b_deal)
    assert Deal.objects.get(pk=b_deal.pk).status == DealStatus.SUBMITTED

    with f.acting(vendor_admin):
        services.conflict_resolve(
            actor=vendor_admin, conflict=_conflict(b_deal), resolution=ConflictResolution.DISMISSED
        )
    conflict = _conflict(b_deal)
    assert (conflict.resolution, conflict.resolved_by) == ("dismissed", vendor_admin.user)
    assert Deal.objects.get(pk=b_deal.pk).conflict_status == ConflictStatus.CLEARED

    _approve(vendor_admin, b_deal)
    assert Deal.objects.get(pk=b_deal.pk).status == DealStatus.APPROVED


def test_an_upheld_conflict_blocks_approval(team_a: f.Team, team_b: f.Team, vendor_admin: Any) -> None:
    """Upholding the conflict means partner A keeps the customer: B's deal may be rejected, but
    approving it would protect the same customer twice."""
    _a_deal, b_deal = _flagged(team_a, team_b)
    with f.acting(vendor_admin):
        services.conflict_resolve(
            actor=vendor_admin, conflict=_conflict(b_deal), resolution=ConflictResolution.UPHELD
        )
    assert Deal.objects.get(pk=b_deal.pk).conflict_status == ConflictStatus.UNDER_REVIEW
    with f.acting(vendor_admin), pytest.raises(ApplicationError):
        services.deal_approve(actor=vendor_admin, deal=b_deal)
    assert Deal.objects.get(pk=b_deal.pk).status == DealStatus.SUBMITTED
    with f.acting(vendor_admin):
        services.deal_reject(actor=vendor_admin, deal=b_deal, reason="Partner A registered it first")
    assert Deal.objects.get(pk=b_deal.pk).status == DealStatus.REJECTED


def test_conflict_status_agrees_with_the_evidence_after_a_resubmission(
    team_a: f.Team, team_b: f.Team, vendor_admin: Any
) -> None:
    """Dismissed, returned for information, submitted again: the partner-facing status must not
    say "under review" while no open evidence exists (or the deal is approved showing it)."""
    _a_deal, b_deal = _flagged(team_a, team_b)
    with f.acting(vendor_admin):
        services.conflict_resolve(
            actor=vendor_admin, conflict=_conflict(b_deal), resolution=ConflictResolution.DISMISSED
        )
        services.deal_return_for_info(actor=vendor_admin, deal=b_deal, reason="Add the contact")
    f.submit(team_b.sales_actor, b_deal)
    fresh = Deal.objects.get(pk=b_deal.pk)
    open_evidence = DealConflict.objects.filter(deal=b_deal, resolution=ConflictResolution.OPEN).exists()
    assert (fresh.conflict_status == ConflictStatus.UNDER_REVIEW) == open_evidence


def test_conflict_resolution_is_for_the_reviewer_only(team_a: f.Team, team_b: f.Team) -> None:
    _a_deal, b_deal = _flagged(team_a, team_b)
    finance = factories.vendor_actor(VendorRole.FINANCE)
    with f.acting(finance), pytest.raises(ApplicationError):
        services.conflict_resolve(actor=finance, conflict=_conflict(b_deal), resolution="dismissed")
    assert _conflict(b_deal).resolution == ConflictResolution.OPEN
    assert Deal.objects.get(pk=b_deal.pk).conflict_status == ConflictStatus.UNDER_REVIEW


# --- what the partner sees ----------------------------------------------------------------------
def test_the_submitting_partner_never_sees_the_evidence(
    team_a: f.Team, team_b: f.Team, vendor_admin: Any
) -> None:
    a_deal, b_deal = _flagged(team_a, team_b)
    b_admin = team_b.admin_actor
    assert len(selectors.conflicts_for(actor=vendor_admin, deal=b_deal)) == 1
    assert DealConflict.objects.filter(deal=b_deal).count() == 1  # the vendor scope sees it

    with tenant_scope(Scope.partner(team_b.partner.pk)):
        assert selectors.conflicts_for(actor=b_admin, deal=b_deal) == []
        assert selectors.conflicts_for(actor=team_b.sales_actor, deal=b_deal) == []
        assert DealConflict.objects.count() == 0
        assert DealConflict.objects.filter(deal_id=b_deal.pk).count() == 0
        seen = selectors.deal_get(actor=b_admin, pk=b_deal.pk)
        assert seen.conflict_status == ConflictStatus.UNDER_REVIEW
        assert list(seen.conflicts.all()) == []
        with pytest.raises(Http404):
            selectors.deal_get(actor=b_admin, pk=a_deal.pk)
        assert not Deal.objects.filter(pk=a_deal.pk).exists()
    with tenant_scope(Scope.partner(team_a.partner.pk)):
        assert DealConflict.objects.count() == 0

    # Partner B hears the outcome (the submission itself tells it nothing), and nothing it is told
    # names partner A or its deal.
    with f.acting(vendor_admin):
        services.conflict_resolve(
            actor=vendor_admin, conflict=_conflict(b_deal), resolution=ConflictResolution.UPHELD
        )
        services.deal_reject(
            actor=vendor_admin, deal=b_deal, reason="Another registration holds this customer."
        )
    b_people = [team_b.admin.pk, team_b.sales.pk, team_b.sales2.pk]
    told = list(Notification.objects.filter(recipient_id__in=b_people).values_list("kind", "title", "body"))
    assert {kind for kind, _title, _body in told} == {"deal.rejected"}
    text = " ".join(f"{title} {body}" for _kind, title, body in told)
    assert b_deal.reference in text
    assert "Northwind" not in text and a_deal.reference not in text


# --- the race -----------------------------------------------------------------------------------
RACE_CUSTOMERS = [("Hooli", "hooli.com"), ("Pied Piper", "piedpiper.com"), ("Massive Dynamic", "massive.io")]


def _race_once(run: int) -> tuple[Deal, Deal]:
    # Different tiers, so nothing but the per-customer lock can serialise the two submissions.
    teams = [f.team(f"Racer A{run}", tier="Silver"), f.team(f"Racer B{run}", tier="Gold")]
    customer, domain = RACE_CUSTOMERS[run]
    drafts = [f.draft(team.sales_actor, customer=customer, domain=domain) for team in teams]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def submit(team: f.Team, deal: Deal) -> None:
        try:
            actor = team.sales_actor
            connection.ensure_connection()
            barrier.wait(timeout=10)
            with tenant_scope(Scope.partner(team.partner.pk)):
                services.deal_submit(actor=actor, deal=deal)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=pair) for pair in zip(teams, drafts, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    return Deal.objects.get(pk=drafts[0].pk), Deal.objects.get(pk=drafts[1].pk)


@pytest.mark.django_db(transaction=True)
def test_two_partners_submitting_the_same_customer_at_once_conflict_exactly_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = conflicts.find_registrations

    def slow_find_registrations(deal: Deal, **kwargs: Any) -> conflicts.Findings:
        findings = original(deal, **kwargs)
        # Hold the window between "look for other registrations" and commit wide open: without
        # the per-customer lock both submissions would find nothing and neither would be flagged.
        time.sleep(0.15)
        return findings

    monkeypatch.setattr(conflicts, "find_registrations", slow_find_registrations)
    factories.default_tiers()
    for run in range(3):
        first, second = _race_once(run)
        assert {first.status, second.status} == {DealStatus.SUBMITTED}
        statuses = sorted([first.conflict_status, second.conflict_status])
        assert statuses == [ConflictStatus.NONE, ConflictStatus.UNDER_REVIEW], f"run {run}: {statuses}"
        flagged, other = (
            (first, second) if first.conflict_status == ConflictStatus.UNDER_REVIEW else (second, first)
        )
        evidence = list(DealConflict.objects.filter(deal__in=[first, second]))
        assert [(c.deal_id, c.conflicting_deal_id, c.domain_match) for c in evidence] == [
            (flagged.pk, other.pk, True)
        ]


@pytest.mark.django_db(transaction=True)
def test_a_submission_does_not_hold_up_other_partners_on_the_same_tier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Locking a deal must lock the deal, not the partner's tier: otherwise every deal write of
    every partner on that tier (and creating a partner on it) waits for one slow transaction."""
    factories.default_tiers()
    slow_team, quick_team = f.team("Slowpoke Ltd", tier="Silver"), f.team("Quickstep Ltd", tier="Silver")
    slow_deal = f.draft(slow_team.sales_actor, customer="Hooli", domain="hooli.com")
    quick_deal = f.draft(quick_team.sales_actor, customer="Pied Piper", domain="piedpiper.com")
    slow_actor, quick_actor = slow_team.sales_actor, quick_team.sales_actor
    inside, release = threading.Event(), threading.Event()
    original = conflicts.find_registrations

    def held_open(deal: Deal, **kwargs: Any) -> conflicts.Findings:
        findings = original(deal, **kwargs)
        if deal.pk == slow_deal.pk:
            inside.set()
            release.wait(timeout=10)
        return findings

    monkeypatch.setattr(conflicts, "find_registrations", held_open)
    errors: list[BaseException] = []

    def slow_submit() -> None:
        try:
            with tenant_scope(Scope.partner(slow_team.partner.pk)):
                services.deal_submit(actor=slow_actor, deal=slow_deal)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_submit)
    thread.start()
    try:
        assert inside.wait(timeout=10)
        try:
            with tenant_scope(Scope.partner(quick_team.partner.pk)):
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '300ms'")
                services.deal_submit(actor=quick_actor, deal=quick_deal)
        except OperationalError as exc:
            pytest.fail(f"an unrelated partner's submission waited for another transaction: {exc}")
    finally:
        release.set()
        thread.join(timeout=10)
    assert not errors, errors
    statuses = Deal.objects.filter(pk__in=[slow_deal.pk, quick_deal.pk]).values_list("status", flat=True)
    assert list(statuses) == [DealStatus.SUBMITTED, DealStatus.SUBMITTED]
