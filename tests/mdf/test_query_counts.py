"""Funds pages run the same number of queries for 1 row as for 50 (no N+1), each under a sane
bound: the partner's funds page, request list and export, and allocation ledger; the vendor report
and its export; the admin's fund request changelist (as a channel account manager) and claim
changelist (as finance). The first row is made with the real services; the other 49 are
bulk-inserted in every status, with real ledger entries (each with its own idempotency key),
claims with proof files, and attributed deals, so every column and panel has data to fetch."""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from deals.models import Deal, DealStatus
from incentives.models import MdfAttribution
from mdf.models import (
    Allocation,
    Budget,
    ClaimProof,
    FundClaim,
    FundPeriod,
    FundRequest,
    LedgerEntry,
    LedgerKind,
    RequestStatus,
)
from partners.models import Partner
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.helpers import assert_constant_queries, login
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db

STATUSES = list(RequestStatus.values)
_numbers = itertools.count(1)


def paginator_count(response: Any) -> int:
    return response.context["page"].paginator.count


def csv_count(response: Any) -> int:
    return len(list(csv.reader(io.StringIO(response.content.decode())))) - 1


# --- bulk builders -----------------------------------------------------------------------------------
APPROVED_OR_LATER = {
    RequestStatus.APPROVED,
    RequestStatus.CLAIM_SUBMITTED,
    RequestStatus.CLAIM_APPROVED,
    RequestStatus.CLAIM_REJECTED,
    RequestStatus.PAID,
    RequestStatus.EXPIRED,
}
CLAIMED = {
    RequestStatus.CLAIM_SUBMITTED,
    RequestStatus.CLAIM_APPROVED,
    RequestStatus.CLAIM_REJECTED,
    RequestStatus.PAID,
}


def entry(
    allocation: Allocation, kind: str, amount: str, *, request: FundRequest | None = None, actor: Any = None
) -> LedgerEntry:
    return LedgerEntry(
        allocation=allocation,
        partner_id=allocation.partner_id,
        kind=kind,
        amount=Decimal(amount),
        currency=allocation.currency,
        idempotency_key=f"qc:{kind}:{next(_numbers)}",
        fund_request=request,
        source=f"fund_request:{request.pk}" if request else "",
        actor=actor,
        memo=request.reference if request else "Probe funds",
    )


def bulk_requests(
    team: m.Team,
    count: int,
    *,
    allocations: list[Allocation],
    reviewer: Any,
    statuses: list[str] | None = None,
) -> list[FundRequest]:
    """``count`` requests in the given statuses (cycled) across ``allocations`` (of ``team``'s
    partner, or of other partners: each request belongs to its allocation's partner; ``team``
    gives the people), with the ledger entries, claims, proof files and attributed deals their
    status implies."""
    statuses = statuses or STATUSES
    now = timezone.now()
    today = timezone.localdate()
    made = []
    for index in range(count):
        number = next(_numbers)
        status = statuses[index % len(statuses)]
        allocation = allocations[index % len(allocations)]
        approved = status in APPROVED_OR_LATER
        start = today - timedelta(days=20) if status in CLAIMED else today + timedelta(days=30 + index)
        made.append(
            FundRequest(
                partner_id=allocation.partner_id,
                allocation=allocation,
                requested_by=(team.marketing, team.admin)[index % 2],
                reference=f"QC-{allocation.partner_id}-{number:05d}",
                activity_type=("event", "webinar", "digital", "content")[index % 4],
                title=f"Probe activity {number}",
                description="Probe",
                start_date=start,
                end_date=start + timedelta(days=1),
                total_cost=Decimal("400.00"),
                requested_amount=Decimal("200.00"),
                currency=allocation.currency,
                expected_leads=index,
                status=status,
                created_at=now - timedelta(hours=index + 1),
                submitted_at=now - timedelta(hours=index + 1) if status != RequestStatus.DRAFT else None,
                approved_amount=Decimal("150.00") if approved else None,
                decided_by=reviewer if status not in {RequestStatus.DRAFT, RequestStatus.SUBMITTED} else None,
                decided_at=now - timedelta(hours=index) if approved else None,
                decision_comment="Probe decision" if approved else "",
                needs_program_admin=status == RequestStatus.SUBMITTED and index % 3 == 0,
                claim_deadline=start + timedelta(days=61 + index) if approved else None,
            )
        )
    created = FundRequest.objects.bulk_create(made)
    entries, claims = [], []
    for fund_request in created:
        allocation = fund_request.allocation
        if fund_request.status in APPROVED_OR_LATER:
            entries.append(
                entry(allocation, LedgerKind.COMMITTED, "150.00", request=fund_request, actor=reviewer)
            )
        if fund_request.status in {RequestStatus.CLAIM_APPROVED, RequestStatus.PAID}:
            entries.append(
                entry(allocation, LedgerKind.RELEASED, "150.00", request=fund_request, actor=reviewer)
            )
            entries.append(
                entry(allocation, LedgerKind.CLAIMED, "120.00", request=fund_request, actor=reviewer)
            )
        if fund_request.status in {RequestStatus.CLAIM_REJECTED, RequestStatus.EXPIRED}:
            entries.append(entry(allocation, LedgerKind.RELEASED, "150.00", request=fund_request))
        if fund_request.status == RequestStatus.PAID:
            entries.append(entry(allocation, LedgerKind.PAID, "120.00", request=fund_request, actor=reviewer))
        if fund_request.status in CLAIMED:
            reviewed = fund_request.status != RequestStatus.CLAIM_SUBMITTED
            claims.append(
                FundClaim(
                    fund_request=fund_request,
                    partner_id=fund_request.partner_id,
                    submitted_by=team.marketing,
                    actual_cost=Decimal("300.00"),
                    claimed_amount=Decimal("140.00"),
                    leads_generated=3,
                    attendees=30,
                    notes="Probe",
                    submitted_at=fund_request.created_at + timedelta(minutes=5),
                    approved_amount=Decimal("120.00")
                    if reviewed and fund_request.status != RequestStatus.CLAIM_REJECTED
                    else None,
                    reviewed_by=reviewer if reviewed else None,
                    reviewed_at=timezone.now() if reviewed else None,
                    rejection_reason="Probe" if fund_request.status == RequestStatus.CLAIM_REJECTED else "",
                    paid_at=timezone.now() if fund_request.status == RequestStatus.PAID else None,
                    paid_by=reviewer if fund_request.status == RequestStatus.PAID else None,
                    payment_reference="PAY-PROBE" if fund_request.status == RequestStatus.PAID else "",
                )
            )
    LedgerEntry.objects.bulk_create(entries)
    bulk_claims(team, claims)
    bulk_attributions(team, [r for r in created if r.status in APPROVED_OR_LATER])
    return created


def bulk_claims(team: m.Team, claims: list[FundClaim]) -> list[FundClaim]:
    created = FundClaim.objects.bulk_create(claims)
    ClaimProof.objects.bulk_create(
        ClaimProof(
            claim=claim,
            partner_id=claim.partner_id,
            file=f"partners/{claim.partner_id}/mdf/claims/{claim.pk}/{next(_numbers):032x}.{extension}",
            original_name=f"proof-{claim.pk}.{extension}",
            content_type=content_type,
            size=1234,
            uploaded_by=team.marketing,
        )
        for claim in created
        for extension, content_type in (("pdf", "application/pdf"), ("png", "image/png"))
    )
    return created


def bulk_attributions(team: m.Team, requests: list[FundRequest]) -> None:
    """A won deal attributed to every second approved activity (the ROI columns)."""
    now = timezone.now()
    deals = Deal.objects.bulk_create(
        Deal(
            partner_id=fund_request.partner_id,
            registered_by=team.sales,
            reference=f"QD-{fund_request.pk}",
            customer_name=f"Probe Customer {fund_request.pk}",
            customer_domain=f"probe{fund_request.pk}.example",
            customer_key=f"probe customer {fund_request.pk}",
            customer_country="US",
            customer_region="na",
            title="Probe deal",
            expected_close_date=timezone.localdate() + timedelta(days=30),
            currency="USD",
            amount=Decimal("1000.00"),
            status=DealStatus.WON,
            won_amount=Decimal("900.00"),
            closed_on=timezone.localdate(),
            created_at=now,
            submitted_at=now,
            first_submitted_at=now,
            approved_at=now,
        )
        for fund_request in requests[::2]
    )
    MdfAttribution.objects.bulk_create(
        MdfAttribution(
            partner_id=deal.partner_id, deal=deal, fund_request=fund_request, attributed_by=team.admin
        )
        for deal, fund_request in zip(deals, requests[::2], strict=True)
    )


def bulk_allocations(partners: list[Partner], count: int, *, amount: str = "5000.00") -> list[Allocation]:
    """``count`` more allocations, each in its own period and budget (a partner has one allocation
    per budget), each with its allocation entry in the ledger."""
    today = timezone.localdate()
    periods = FundPeriod.objects.bulk_create(
        FundPeriod(
            name=f"Probe period {next(_numbers)}",
            starts_on=today - timedelta(days=400 + 10 * n),
            ends_on=today + timedelta(days=400 + 10 * n),
        )
        for n in range(count)
    )
    budgets = Budget.objects.bulk_create(
        Budget(period=period, currency="USD", amount=Decimal("1000000.00")) for period in periods
    )
    allocations = Allocation.objects.bulk_create(
        Allocation(partner=partners[n % len(partners)], budget=budget, currency="USD")
        for n, budget in enumerate(budgets)
    )
    LedgerEntry.objects.bulk_create(
        entry(allocation, LedgerKind.ALLOCATED, amount) for allocation in allocations
    )
    return allocations


@dataclass
class World:
    team: m.Team
    admin: Actor
    allocation: Allocation
    budget: Budget


@pytest.fixture
def world(settings: Any, tmp_path: Any) -> World:
    m.media_storage(settings, tmp_path / "media")
    admin = m.program_admin()
    team = m.team("Northwind Resellers")
    budget = m.budget(amount="900000.00")
    allocation = m.fund(team.partner, budget, "20000.00", admin)
    return World(team=team, admin=admin, allocation=allocation, budget=budget)


def one_claimed(world: World) -> FundRequest:
    """The first row, through the real services: approved, claimed with two files, attributed."""
    fund_request = m.approved(world.team.marketing_actor, world.admin, **m.past_dates())
    m.claim(world.team.marketing_actor, fund_request, files=[m.pdf(), m.png()])
    bulk_attributions(world.team, [fund_request])
    return m.fresh(fund_request)


def references(**filters: Any) -> Callable[[], list[str]]:
    """The references of the fund requests matching ``filters``: each must be on the page."""
    return lambda: list(FundRequest.objects.filter(**filters).values_list("reference", flat=True))


# --- partner side --------------------------------------------------------------------------------------
def test_funds_page_query_count_is_constant(world: World) -> None:
    one_claimed(world)

    def grow() -> None:
        allocations = bulk_allocations([world.team.partner], 49)
        bulk_requests(world.team, 49, allocations=[world.allocation, *allocations], reviewer=world.admin.user)

    assert_constant_queries(
        login(world.team.marketing),
        reverse("mdf:funds"),
        grow,
        rows=lambda r: (len(r.context["allocations"]), r.context["total_count"]),
        # Each allocation, by its period.
        shows=lambda: list(
            Allocation.objects.filter(partner=world.team.partner).values_list(
                "budget__period__name", flat=True
            )
        ),
        small=(1, 1),
        large=(50, 50),
    )


@pytest.mark.parametrize(
    "url_name, params, rows",
    [
        ("mdf:request_list", {}, paginator_count),
        ("mdf:request_list", {"period": "this"}, paginator_count),
        ("mdf:request_export", {}, csv_count),
    ],
    ids=["list", "list-filtered", "export"],
)
def test_request_list_query_count_is_constant(
    world: World, url_name: str, params: dict, rows: Callable[[Any], int]
) -> None:
    one_claimed(world)
    if params.get("period") == "this":
        params = {"period": world.budget.period_id}
    assert_constant_queries(
        login(world.team.admin),
        reverse(url_name),
        lambda: bulk_requests(world.team, 49, allocations=[world.allocation], reviewer=world.admin.user),
        rows=rows,
        shows=references(partner=world.team.partner),
        params=params,
    )


def test_allocation_ledger_query_count_is_constant(world: World) -> None:
    # The allocation entry is the one row; then 49 more, each pointing at a request and an actor.
    def grow() -> None:
        bulk_requests(
            world.team, 49, allocations=[world.allocation], reviewer=world.admin.user, statuses=["approved"]
        )
        # One commitment per approved request: exactly 49 more entries.
        assert LedgerEntry.objects.filter(allocation=world.allocation).count() == 50

    def shows() -> list[str]:
        """Each entry: the request it commits to, or the memo of the allocation itself."""
        entries = LedgerEntry.objects.filter(allocation=world.allocation).select_related("fund_request")
        return [entry.fund_request.reference if entry.fund_request else entry.memo for entry in entries]

    assert_constant_queries(
        login(world.team.marketing),
        reverse("mdf:allocation_ledger", args=[world.allocation.pk]),
        grow,
        rows=lambda r: len(r.context["rows"]),
        shows=shows,
    )


# --- vendor side ---------------------------------------------------------------------------------------
# Grouped by partner or by period the utilisation rows grow to 50 (each new partner has its own
# period); by tier they are two (Gold and Silver). The ROI rows grow to 50 in every case.
REPORT_ROWS = {"partner": (50, 50), "period": (50, 50), "tier": (2, 50)}
REPORT_GROUPS = {
    "partner": "partner__legal_name",
    "period": "budget__period__name",
    "tier": "partner__tier__name",
}


@pytest.mark.parametrize("url_name", ["mdf:vendor_report", "mdf:vendor_report_export"])
@pytest.mark.parametrize("group", list(REPORT_ROWS))
def test_vendor_report_query_count_is_constant(world: World, url_name: str, group: str) -> None:
    one_claimed(world)

    def grow() -> None:
        silver = factories.tier("Silver")
        partners = [
            factories.PartnerFactory(legal_name=f"Probe Partner {n:02d}", tier=silver) for n in range(49)
        ]
        allocations = bulk_allocations(partners, 49)
        bulk_requests(
            world.team, 49, allocations=allocations, reviewer=world.admin.user, statuses=["approved"]
        )

    def rows(response: Any) -> tuple[int, int]:
        if url_name == "mdf:vendor_report":
            (roi_panel,) = response.context["panels"]  # contributed by incentives
            return len(response.context["rows"]), roi_panel["roi_count"]
        lines = list(csv.DictReader(io.StringIO(response.content.decode())))
        return (
            sum(1 for line in lines if line["section"] == "utilisation"),
            sum(1 for line in lines if line["section"] == "roi"),
        )

    def shows() -> list[str | re.Pattern[str]]:
        """Each utilisation row by its group's name, and each approved request's ROI row."""
        names = set(Allocation.objects.values_list(REPORT_GROUPS[group], flat=True))
        if url_name == "mdf:vendor_report":
            groups = [re.compile(rf'<td class="fw-semibold">{re.escape(name)}</td>') for name in names]
        else:
            groups = [re.compile(rf"^utilisation,{group},{re.escape(name)},", re.M) for name in names]
        return [*groups, *references(status__in=APPROVED_OR_LATER)()]

    assert_constant_queries(
        login(world.admin.user),
        reverse(url_name),
        grow,
        rows=rows,
        shows=shows,
        small=(1, 1),
        large=REPORT_ROWS[group],
        params={"group": group},
    )


def test_request_changelist_query_count_is_constant_for_a_channel_manager(world: World) -> None:
    m.submitted(world.team.marketing_actor)
    cam = m.cam_for(world.team.partner)
    assert_constant_queries(
        login(cam.user),
        reverse("admin:mdf_fundrequest_changelist"),
        lambda: bulk_requests(world.team, 49, allocations=[world.allocation], reviewer=world.admin.user),
        rows=lambda r: len(r.context["cl"].result_list),
        shows=references(partner=world.team.partner),
        within="result_list",
    )


def test_claim_changelist_query_count_is_constant_for_finance(world: World) -> None:
    one_claimed(world)
    finance = factories.vendor_user(VendorRole.FINANCE)
    assert_constant_queries(
        login(finance),
        reverse("admin:mdf_fundclaim_changelist"),
        lambda: bulk_requests(
            world.team,
            49,
            allocations=[world.allocation],
            reviewer=world.admin.user,
            statuses=[s for s in STATUSES if s in CLAIMED],
        ),
        rows=lambda r: len(r.context["cl"].result_list),
        shows=references(claim__isnull=False),
        within="result_list",
    )
