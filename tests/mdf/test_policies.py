"""Who sees and may do what with fund requests, claims and proof files."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.http import Http404
from django.test import override_settings

from mdf import selectors
from mdf.models import Allocation, ClaimProof, FundRequest
from mdf.policies import allocation_policy, fund_claim_policy, fund_request_policy
from partners.models import PartnerStatus
from prm.roles import VendorRole
from prm.tenancy import Actor, Scope, tenant_scope
from tests import factories
from tests.isolation import built_once
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db


@built_once
def policy_world() -> Iterator[dict[str, Any]]:
    """Built once for the module (tests/isolation.py): each test runs in a savepoint of its own.
    The proof files go to a folder of the module's own, as the per-test ``media`` fixture did."""
    with tempfile.TemporaryDirectory() as root, override_settings(STORAGES=factories.storages_at(Path(root))):
        yield _world()


@pytest.fixture
def world(policy_world: dict[str, Any]) -> dict[str, Any]:
    # A copy: what a test changes on the objects in memory must not reach the next test.
    return copy.deepcopy(policy_world)


def _world() -> dict[str, Any]:
    """Partner A: a draft, a submitted, an approved and a claimed request (with proof files);
    partner B: one submitted request. A's CAM works A only; another CAM works B."""
    admin = m.program_admin()
    fund_budget = m.budget()
    a, b = m.team("Northwind Resellers"), m.team("Southwind Systems", tier="Silver")
    m.fund(a.partner, fund_budget, "20000.00", admin)
    m.fund(b.partner, fund_budget, "20000.00", admin)
    a_draft = m.draft(a.marketing_actor, title="A draft")
    a_submitted = m.submitted(a.marketing_actor, title="A submitted")
    a_approved = m.approved(a.marketing_actor, admin, title="A approved", **m.past_dates())
    a_claimed = m.approved(a.marketing_actor, admin, title="A claimed", **m.past_dates())
    claim = m.claim(a.marketing_actor, a_claimed, files=[m.pdf(), m.png()])
    b_submitted = m.submitted(b.admin_actor, title="B submitted")
    return {
        "a": a,
        "b": b,
        "program_admin": admin,
        "finance": m.finance(),
        "cam_a": m.cam_for(a.partner),
        "cam_b": m.cam_for(b.partner),
        "a_draft": a_draft,
        "a_submitted": a_submitted,
        "a_approved": a_approved,
        "a_claimed": a_claimed,
        "claim": claim,
        "proof": ClaimProof.objects.filter(claim=claim).order_by("pk").first(),
        "b_submitted": b_submitted,
    }


def _actor(world: dict[str, Any], who: str) -> Actor:
    if who.startswith(("a_", "b_")):
        team, role = world[who[0]], who[2:]
        return getattr(team, f"{role}_actor")
    return world[who]


A_REQUESTS = {"a_draft", "a_submitted", "a_approved", "a_claimed"}
ALL_REQUESTS = A_REQUESTS | {"b_submitted"}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("a_admin", A_REQUESTS),
        ("a_marketing", A_REQUESTS),
        ("a_sales", set()),
        ("a_learner", set()),
        ("b_admin", {"b_submitted"}),
        ("b_sales", set()),
        ("cam_a", A_REQUESTS),
        ("cam_b", {"b_submitted"}),
        ("finance", ALL_REQUESTS),
        ("program_admin", ALL_REQUESTS),
    ],
)
def test_who_sees_which_requests_claims_and_allocations(
    world: dict[str, Any], who: str, sees: set[str]
) -> None:
    actor = _actor(world, who)
    # Judged on this test's rows: vendor staff would also see what other tests left behind.
    ours = {world[name].pk for name in ALL_REQUESTS}
    our_partners = {world["a"].partner.pk, world["b"].partner.pk}
    expected = {world[name].pk for name in sees}
    assert set(fund_request_policy.scope(actor).values_list("pk", flat=True)) & ours == expected
    assert set(selectors.request_list(actor=actor).values_list("pk", flat=True)) & ours == expected
    claims = set(fund_claim_policy.scope(actor).filter(fund_request__in=ours).values_list("pk", flat=True))
    assert claims == ({world["claim"].pk} if "a_claimed" in sees else set())
    partners = {world[name].partner_id for name in sees}
    allocations = set(allocation_policy.scope(actor).values_list("partner_id", flat=True))
    assert allocations & our_partners == partners
    # The test body's vendor scope: both exist.
    assert Allocation.objects.filter(partner__in=our_partners).count() == 2


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        # (request, edit draft, submit draft, claim approved, review submitted, review claim, mark paid)
        ("a_admin", [True, True, True, True, False, False, False]),
        ("a_marketing", [True, True, True, True, False, False, False]),
        ("a_sales", [False] * 7),
        ("a_learner", [False] * 7),
        ("b_admin", [True, False, False, False, False, False, False]),
        ("cam_a", [False, False, False, False, True, False, False]),
        ("cam_b", [False] * 7),
        ("finance", [False, False, False, False, False, True, True]),
        ("program_admin", [False, False, False, False, True, True, True]),
    ],
)
def test_who_may_do_what(world: dict[str, Any], who: str, allowed: list[bool]) -> None:
    actor = _actor(world, who)
    can = fund_request_policy.can
    assert [
        can(actor, "request"),
        can(actor, "edit", world["a_draft"]),
        can(actor, "submit", world["a_draft"]),
        can(actor, "claim", world["a_approved"]),
        can(actor, "review", world["a_submitted"]),
        can(actor, "review_claim", world["a_claimed"]),
        can(actor, "mark_paid", world["a_claimed"]),
    ] == allowed
    assert allocation_policy.can(actor, "allocate") is (who == "program_admin")


def test_state_limits_what_the_owner_may_do(world: dict[str, Any]) -> None:
    actor = world["a"].marketing_actor
    submitted = FundRequest.objects.get(pk=world["a_submitted"].pk)
    claimed = FundRequest.objects.get(pk=world["a_claimed"].pk)
    assert not fund_request_policy.can(actor, "edit", submitted)
    assert not fund_request_policy.can(actor, "submit", submitted)
    assert not fund_request_policy.can(actor, "claim", submitted)
    assert not fund_request_policy.can(actor, "claim", claimed)  # already claimed
    assert fund_request_policy.can(actor, "view_proof", claimed)
    assert not fund_request_policy.can(world["b"].admin_actor, "view_proof", claimed)
    assert not fund_request_policy.can(actor, "anything-else", submitted)


@pytest.mark.parametrize("status", [PartnerStatus.SUSPENDED, PartnerStatus.ONBOARDING])
def test_a_partner_that_is_not_active_requests_no_funds(status: str) -> None:
    team = m.team("Paused Co")
    team.partner.status = status
    team.partner.save()
    assert not fund_request_policy.can(team.admin_actor, "request")
    assert not fund_request_policy.can(team.marketing_actor, "request")


def test_a_content_manager_sees_requests_but_reviews_nothing(world: dict[str, Any]) -> None:
    actor = factories.vendor_actor(VendorRole.CONTENT_MANAGER)
    assert not fund_request_policy.can(actor, "review", world["a_submitted"])
    assert not fund_request_policy.can(actor, "review_claim", world["a_claimed"])
    assert not allocation_policy.can(actor, "allocate")


# --- proof files ----------------------------------------------------------------------------------
@pytest.mark.parametrize("who", ["a_admin", "a_marketing", "cam_a", "finance", "program_admin"])
def test_proof_files_are_served_to_whoever_sees_the_request(world: dict[str, Any], who: str) -> None:
    assert selectors.proof_get(actor=_actor(world, who), pk=world["proof"].pk) == world["proof"]


@pytest.mark.parametrize("who", ["a_sales", "a_learner", "b_admin", "b_marketing", "cam_b"])
def test_proof_files_404_for_everybody_else(world: dict[str, Any], who: str) -> None:
    with pytest.raises(Http404):
        selectors.proof_get(actor=_actor(world, who), pk=world["proof"].pk)


def test_proof_files_404_in_the_partners_own_database_scope(world: dict[str, Any]) -> None:
    a, b, proof = world["a"], world["b"], world["proof"]
    with tenant_scope(Scope.partner(b.partner.pk)):
        with pytest.raises(Http404):
            selectors.proof_get(actor=b.admin_actor, pk=proof.pk)
        assert ClaimProof.objects.filter(pk=proof.pk).count() == 0
    with tenant_scope(Scope.partner(a.partner.pk)):
        with pytest.raises(Http404):
            selectors.proof_get(actor=a.sales_actor, pk=proof.pk)
        assert selectors.proof_get(actor=a.marketing_actor, pk=proof.pk).pk == proof.pk
    with pytest.raises(Http404):
        selectors.proof_get(actor=a.admin_actor, pk=proof.pk + 1000)  # the same answer: no such file
