"""The content / training manager "sees partners and their training and content figures, never deal
amounts, funds, proofs or earnings" (PRODUCT.md). The policies give them no deal, lead, fund
request, claim, proof, allocation, earning or statement; the pages they reach show none and the
navigation and dashboard do not offer them. A program admin, for contrast, sees all of it."""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse

from deals.models import Deal, Lead
from deals.policies import deal_policy, lead_policy
from incentives.models import Statement
from incentives.policies import earning_policy, statement_policy
from incentives.tasks import accrue_incentives, run_settlement
from mdf.models import Allocation, ClaimProof, FundClaim, FundRequest
from mdf.policies import allocation_policy, fund_claim_policy, fund_request_policy
from prm import audit
from prm.models import User
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as df
from tests.exports import exported, get_or_export
from tests.helpers import login
from tests.incentives import factories as incentives_f
from tests.isolation import built_once
from tests.mdf import factories as m
from tests.scoping import acting

pytestmark = pytest.mark.django_db

WON_AMOUNT = "48250.00"  # a figure that appears nowhere else on the pages


@dataclass
class World:
    team: m.Team
    admin: Actor
    content_manager: User
    won: Deal
    submitted: Deal
    lead: Lead
    fund_request: FundRequest
    claim: FundClaim
    proof: ClaimProof
    statement: Statement
    media: Path  # where the proof file is stored


@built_once
def money_world() -> Iterator[World]:
    """Built once for the module (tests/isolation.py): each test runs in a savepoint of its own.
    The proof file goes to a folder of the module's own, which the tests read it from."""
    with tempfile.TemporaryDirectory() as root, override_settings(STORAGES=factories.storages_at(Path(root))):
        yield _world(Path(root))


@pytest.fixture
def world(money_world: World) -> World:
    # A copy: what a test changes on the objects in memory (a login's last_login) must not reach
    # the next test.
    return copy.deepcopy(money_world)


@pytest.fixture
def media(money_world: World) -> Path:
    """The world's folder, in place of the folder of its own each content test stores uploads in
    (tests/content/conftest.py): the proof file built once for the module is there."""
    return money_world.media


def _world(media: Path) -> World:
    admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    team = m.team("Northwind Resellers")
    incentives_f.spif(name="Security SPIF", amount="250.00")
    won = incentives_f.won(team, admin, WON_AMOUNT, customer="Initech", domain="initech.com")
    submitted = df.submitted(team.sales_actor, customer="Umbrella Corp", domain="umbrella.com")
    lead = df.lead(admin, company="Vandelay Industries")
    m.fund(team.partner, m.budget(), "10000.00", admin)
    fund_request = m.approved(team.marketing_actor, admin, title="Partner summit booth", **m.past_dates())
    claim = m.claim(team.marketing_actor, fund_request)
    # The tasks themselves, each in the scope it opens.
    accrue_incentives(won.pk)
    run_settlement(period_end=incentives_f.today().isoformat())
    # Something that happened to the partner itself, which a content manager may see.
    with acting(admin):  # recorded in the admin's request
        audit.record(
            actor=admin.user,
            action="partner.profile_updated",
            target=team.partner,
            partner_id=team.partner.pk,
            after={"phone": "+1 555 0100"},
        )
    return World(
        team=team,
        admin=admin,
        content_manager=factories.vendor_user(VendorRole.CONTENT_MANAGER),
        won=won,
        submitted=submitted,
        lead=lead,
        fund_request=fund_request,
        claim=claim,
        proof=claim.proofs.get(),
        statement=Statement.objects.get(partner=team.partner),
        media=media,
    )


def page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


POLICIES = [
    (deal_policy, Deal),
    (lead_policy, Lead),
    (allocation_policy, Allocation),
    (fund_request_policy, FundRequest),
    (fund_claim_policy, FundClaim),
    (earning_policy, None),
    (statement_policy, Statement),
]


@pytest.mark.parametrize(("policy", "model"), POLICIES)
def test_the_policies_give_a_content_manager_no_business_rows(world: World, policy: Any, model: Any) -> None:
    manager = factories.actor_for(world.content_manager)
    assert not policy.scope(manager).exists()
    assert policy.scope(world.admin).exists()  # the rows are there


def test_a_content_manager_may_do_nothing_with_deals_funds_or_statements(world: World) -> None:
    manager = factories.actor_for(world.content_manager)
    assert not deal_policy.can(manager, "review", world.submitted)
    assert not lead_policy.can(manager, "distribute", world.lead)
    assert not fund_request_policy.can(manager, "view_proof", world.fund_request)
    assert not fund_request_policy.can(manager, "review", world.fund_request)
    assert not statement_policy.can(manager, "download", world.statement)
    assert fund_request_policy.can(world.admin, "view_proof", world.fund_request)


def test_deal_pages_and_exports_show_a_content_manager_nothing(world: World) -> None:
    client = login(world.content_manager)
    for name in (
        "deals:vendor_list",
        "deals:review_queue",
        "deals:vendor_pipeline",
        "deals:vendor_lead_list",
    ):
        text = page(client.get(reverse(name)))
        for secret in (world.won.reference, world.submitted.reference, "Initech", "Umbrella", "Vandelay"):
            assert secret not in text, (name, secret)
        assert "48,250" not in text and "48250" not in text, name
    for name in (
        "deals:vendor_export",
        "deals:review_queue_export",
        "deals:vendor_pipeline_export",
        "deals:vendor_lead_export",
    ):
        export = page(get_or_export(client, reverse(name)))
        assert "Initech" not in export and "Umbrella" not in export and "Vandelay" not in export, name
        assert "48250" not in export, name
    for deal in (world.won, world.submitted):
        assert client.get(reverse("deals:review_detail", args=[deal.pk])).status_code == 404
    assert client.get(reverse("deals:vendor_lead_detail", args=[world.lead.pk])).status_code == 404
    assert client.post(reverse("deals:approve", args=[world.submitted.pk])).status_code == 404
    # The program admin does see them.
    assert world.won.reference in page(login(world.admin.user).get(reverse("deals:vendor_list")))


def test_fund_requests_claims_and_proofs_are_hidden_from_a_content_manager(world: World) -> None:
    client = login(world.content_manager)
    assert client.get(reverse("mdf:proof_download", args=[world.proof.pk])).status_code == 404
    assert client.get(reverse("mdf:request_detail", args=[world.fund_request.pk])).status_code == 404
    assert client.get(reverse("mdf:request_list")).status_code == 404
    report = page(client.get(reverse("mdf:vendor_report")))
    assert "Northwind Resellers" not in report and world.fund_request.reference not in report
    assert "10,000" not in report
    export = page(exported(client, reverse("mdf:vendor_report_export")))
    assert "Northwind Resellers" not in export and "10000" not in export
    # The admin pages for funds are closed to them as well.
    for name in ("admin:mdf_fundrequest_changelist", "admin:mdf_fundclaim_changelist"):
        assert client.get(reverse(name)).status_code == 403
    # The program admin downloads the proof.
    proof = login(world.admin.user).get(reverse("mdf:proof_download", args=[world.proof.pk]))
    assert proof.status_code == 200
    # Read to the end, which closes the file the way the test client does: a bare close() would
    # also close the database connection, and with it the world built once for the module.
    assert b"".join(proof.streaming_content) == m.PDF_BYTES


def test_statements_and_earnings_are_hidden_from_a_content_manager(world: World) -> None:
    client = login(world.content_manager)
    settlements = page(client.get(reverse("incentives:settlements")))
    assert world.statement.number not in settlements and "Northwind Resellers" not in settlements
    assert client.get(reverse("incentives:statement_pdf", args=[world.statement.pk])).status_code == 404
    assert client.post(reverse("incentives:statement_approve", args=[world.statement.pk])).status_code == 404
    assert client.get(reverse("incentives:earnings")).status_code == 404


def test_the_dashboard_and_navigation_offer_a_content_manager_no_money(world: World) -> None:
    dashboard = page(login(world.content_manager).get(reverse("vendor:dashboard")))
    assert 'id="deals-review-panel"' not in dashboard
    for url in (
        reverse("deals:vendor_list"),
        reverse("deals:review_queue"),
        reverse("deals:vendor_pipeline"),
        reverse("mdf:vendor_report"),
        reverse("incentives:settlements"),
        reverse("incentives:programs"),
    ):
        assert f'href="{url}"' not in dashboard, url
    # What is theirs stays: partners, training and content.
    for url in (
        reverse("vendor:partner_list"),
        reverse("training:vendor_report"),
        reverse("content:vendor_report"),
    ):
        assert f'href="{url}"' in dashboard, url
    # The program admin's dashboard offers the deals panel and the money pages.
    theirs = page(login(world.admin.user).get(reverse("vendor:dashboard")))
    assert 'id="deals-review-panel"' in theirs
    assert f'href="{reverse("incentives:settlements")}"' in theirs


def test_the_partner_page_shows_a_content_manager_no_deal_fund_or_earning_history(world: World) -> None:
    url = reverse("vendor:partner_detail", args=[world.team.partner.pk])
    text = page(login(world.content_manager).get(url))
    assert "partner.profile_updated" in text
    for action in ("deal.", "lead.", "mdf.", "incentives."):
        assert f"<code>{action}" not in text, action
    for secret in (
        world.won.reference,
        world.fund_request.reference,
        world.statement.number,
        "48250",
        "48,250",
    ):
        assert secret not in text, secret
    # The program admin sees the whole history.
    full = page(login(world.admin.user).get(url))
    assert "<code>deal.won" in full and "<code>mdf.claim_submitted" in full
