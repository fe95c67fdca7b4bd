"""Defence in depth: the database itself isolates tenants (PostgreSQL row-level security).

One generic test covers every model that declares ``TENANT_COLUMN``, ``RLS_VENDOR_ONLY`` or
``RLS_MONEY``, found in the app registry: a row of it is made for one partner, then looked for and
written in raw SQL (past the ORM, as a hand-written query or a compromised view would) from every
kind of scope. ``ROWS`` below says how to make one row of each such model; a new tenant model
without an entry fails the test until it has one.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, models, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from partners.models import Membership, Partner
from prm import rls
from prm.roles import VendorRole
from prm.tenancy import Scope, tenant_scope
from tests import factories
from tests.helpers import count, raw

pytestmark = pytest.mark.django_db

_n = itertools.count(1)


# --- one row of every model under row-level security, owned by ``partner`` ---------------------------
# Rows are made straight with the ORM in the test body's vendor-wide scope: what is checked is the
# database's policy, not the services that normally write these rows.
def _member(partner: Partner) -> Any:
    return factories.partner_user(partner)


def _deal(partner: Partner) -> Any:
    from deals.models import Deal

    n = next(_n)
    return Deal.objects.create(
        partner=partner,
        registered_by=_member(partner),
        reference=f"RLS-{n:05d}",
        customer_name=f"RLS Customer {n}",
        customer_domain=f"rls{n}.example",
        currency="USD",
        amount=Decimal("100.00"),
    )


def _deal_line(partner: Partner) -> Any:
    from deals.models import DealLine, Product

    product = Product.objects.create(name="RLS probe", sku=f"RLS-{next(_n)}", list_price=Decimal("1.00"))
    return DealLine.objects.create(
        deal=_deal(partner), partner=partner, product=product, quantity=1, unit_price=1, amount=1
    )


def _deal_conflict(partner: Partner) -> Any:
    from deals.models import DealConflict

    return DealConflict.objects.create(deal=_deal(partner), conflicting_deal=_deal(partner))


def _deal_extension(partner: Partner) -> Any:
    from deals.models import DealExtensionRequest

    deal = _deal(partner)
    return DealExtensionRequest.objects.create(
        deal=deal, partner=partner, requested_by=deal.registered_by, reason="More time", days=30
    )


def _deal_rollup(partner: Partner) -> Any:
    from deals.models import DealRollup

    _deal(partner)  # the database's triggers write the partner's pipeline figures (deals.rollup)
    return DealRollup.objects.filter(partner=partner).first()


def _vendor_rollup(partner: Partner) -> Any:
    from deals.models import VendorRollup

    return VendorRollup.objects.create(
        tier=partner.tier, region=partner.region, status="submitted", stage="prospecting", currency="USD",
        month=timezone.localdate().replace(day=1), deals=1, amount=Decimal("100.00"),
    )  # fmt: skip


def _partner_total(partner: Partner) -> Any:
    from deals.models import PartnerTotal

    return PartnerTotal.objects.create(
        partner=partner, tier=partner.tier, region=partner.region, currency="USD", deals=1,
        amount=Decimal("100.00"),
    )  # fmt: skip


def _product_rollup(partner: Partner) -> Any:
    from deals.models import Product, ProductRollup

    product = Product.objects.create(
        name="RLS product", sku=f"RLS-{next(_n)}", product_line="RLS", list_price=1
    )
    return ProductRollup.objects.create(
        product=product, tier=partner.tier, region=partner.region, currency="USD",
        month=timezone.localdate().replace(day=1), deals=1, line_amount=Decimal("100.00"),
    )  # fmt: skip


def _partner_product_total(partner: Partner) -> Any:
    from deals.models import PartnerProductTotal, Product

    product = Product.objects.create(
        name="RLS product", sku=f"RLS-{next(_n)}", product_line="RLS", list_price=1
    )
    return PartnerProductTotal.objects.create(
        partner=partner, product=product, tier=partner.tier, region=partner.region, currency="USD",
        deals=1, line_amount=Decimal("100.00"),
    )  # fmt: skip


def _partner_status_total(partner: Partner) -> Any:
    from deals.models import PartnerStatusTotal

    return PartnerStatusTotal.objects.create(
        partner=partner, tier=partner.tier, region=partner.region, status="submitted",
        stage="prospecting", currency="USD", deals=1, amount=Decimal("100.00"),
    )  # fmt: skip


def _partner_month_total(partner: Partner) -> Any:
    from deals.models import PartnerMonthTotal

    return PartnerMonthTotal.objects.create(
        partner=partner, tier=partner.tier, region=partner.region, currency="USD",
        month=timezone.localdate().replace(day=1), deals=1, amount=Decimal("100.00"),
    )  # fmt: skip


def _partner_pack(partner: Partner) -> Any:
    from deals.models import PartnerPack

    return PartnerPack.objects.create(
        partner=partner, tier=partner.tier, region=partner.region, kind="m", product_ids=[], statuses=[],
        stages=[], currencies=["USD"], months=[timezone.localdate().replace(day=1)], deals=[1],
        amounts=[Decimal("100.00")], won_amounts=[],
    )  # fmt: skip


def _lead(partner: Partner | None) -> Any:
    from deals.models import Lead

    return Lead.objects.create(company_name=f"RLS Lead {next(_n)}", region="na", assigned_partner=partner)


def _lead_offer(partner: Partner) -> Any:
    from deals.models import LeadOffer

    return LeadOffer.objects.create(
        lead=_lead(partner), partner=partner, respond_by=timezone.now() + timedelta(days=2)
    )


def _authorization(partner: Partner) -> Any:
    from deals.models import AuthorizationRequirement, PartnerAuthorization

    requirement = AuthorizationRequirement.objects.create(product_line=f"RLS line {next(_n)}")
    return PartnerAuthorization.objects.create(partner=partner, requirement=requirement, source="manual")


def _allocation(partner: Partner) -> Any:
    from mdf.models import Allocation
    from tests.mdf import factories as m

    return Allocation.objects.create(partner=partner, budget=m.budget(), currency="USD")


def _ledger_entry(partner: Partner) -> Any:
    from mdf.models import LedgerEntry, LedgerKind

    return LedgerEntry.objects.create(
        allocation=_allocation(partner),
        partner=partner,
        kind=LedgerKind.ALLOCATED,
        amount=Decimal("100.00"),
        currency="USD",
        idempotency_key=f"rls:{next(_n)}",
    )


def _allocation_balance(partner: Partner) -> Any:
    from mdf.models import AllocationBalance

    # Written by the ledger's trigger only: the entry brings its allocation's balance row.
    return AllocationBalance.objects.get(allocation_id=_ledger_entry(partner).allocation_id)


def _fund_request(partner: Partner) -> Any:
    from mdf.models import FundRequest

    today = timezone.localdate()
    return FundRequest.objects.create(
        partner=partner,
        allocation=_allocation(partner),
        requested_by=_member(partner),
        reference=f"RLS-F{next(_n):05d}",
        activity_type="event",
        title="RLS probe",
        description="Probe",
        start_date=today,
        end_date=today + timedelta(days=1),
        total_cost=Decimal("200.00"),
        requested_amount=Decimal("100.00"),
        currency="USD",
    )


def _fund_claim(partner: Partner) -> Any:
    from mdf.models import FundClaim

    fund_request = _fund_request(partner)
    return FundClaim.objects.create(
        fund_request=fund_request,
        partner=partner,
        submitted_by=fund_request.requested_by,
        actual_cost=Decimal("200.00"),
        claimed_amount=Decimal("100.00"),
    )


def _claim_proof(partner: Partner) -> Any:
    from mdf.models import ClaimProof

    claim = _fund_claim(partner)
    return ClaimProof.objects.create(
        claim=claim,
        partner=partner,
        file=f"partners/{partner.pk}/mdf/claims/{claim.pk}/proof.pdf",
        original_name="proof.pdf",
        content_type="application/pdf",
        size=10,
        uploaded_by=claim.submitted_by,
    )


def _approval_limit(partner: Partner) -> Any:
    from mdf.models import ApprovalLimit

    cam = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER)
    return ApprovalLimit.objects.create(user=cam, amount=Decimal("1000.00"))


def _enrollment(partner: Partner) -> Any:
    from tests.training import factories as training_f
    from training.models import Enrollment

    built = training_f.course(lessons=1, quiz=False)
    return Enrollment.objects.create(user=_member(partner), partner=partner, course=built.course)


def _lesson_completion(partner: Partner) -> Any:
    from training.models import Lesson, LessonCompletion

    enrollment = _enrollment(partner)
    lesson = Lesson.objects.filter(course=enrollment.course).first()
    return LessonCompletion.objects.create(enrollment=enrollment, partner=partner, lesson=lesson)


def _quiz_attempt(partner: Partner) -> Any:
    from tests.training import factories as training_f
    from training.models import Enrollment, QuizAttempt

    built = training_f.course(lessons=1, questions=[training_f.SINGLE])
    enrollment = Enrollment.objects.create(user=_member(partner), partner=partner, course=built.course)
    return QuizAttempt.objects.create(enrollment=enrollment, partner=partner, quiz=built.quiz, number=1)


def _certification_award(partner: Partner) -> Any:
    from tests.training import factories as training_f
    from training.models import CertificationAward

    certification = training_f.certification(courses=[training_f.course(lessons=1, quiz=False)])
    return CertificationAward.objects.create(
        user=_member(partner), partner=partner, certification=certification
    )


def _asset_event(partner: Partner) -> Any:
    from content.models import Asset, AssetEvent, AssetKind, EventKind
    from tests.content import factories as content_f

    asset = Asset.objects.create(
        title=f"RLS asset {next(_n)}",
        category=content_f.category(),
        kind=AssetKind.LINK,
        url="https://x.example",
    )
    return AssetEvent.objects.create(partner=partner, user=_member(partner), asset=asset, kind=EventKind.VIEW)


def _mdf_attribution(partner: Partner) -> Any:
    from incentives.models import MdfAttribution

    fund_request = _fund_request(partner)
    return MdfAttribution.objects.create(
        partner=partner,
        deal=_deal(partner),
        fund_request=fund_request,
        attributed_by=fund_request.requested_by,
    )


def _earning_entry(partner: Partner) -> Any:
    from incentives.models import EarningEntry
    from tests.incentives import factories as incentives_f

    return EarningEntry.objects.create(
        partner=partner,
        program=incentives_f.spif(name=f"RLS SPIF {next(_n)}"),
        kind="spif",
        amount=Decimal("10.00"),
        currency="USD",
        idempotency_key=f"rls:{next(_n)}",
    )


def _statement(partner: Partner) -> Any:
    from incentives.models import Statement

    return Statement.objects.create(
        partner=partner,
        period_end=timezone.localdate(),
        number=f"RLS-S{next(_n):05d}",
        currency="USD",
        total=Decimal("10.00"),
    )


def _settlement_line(partner: Partner) -> Any:
    from incentives.models import SettlementLine

    entry = _earning_entry(partner)
    return SettlementLine.objects.create(
        statement=_statement(partner), entry=entry, partner=partner, amount=entry.amount
    )


def _audit_event(partner: Partner | None) -> Any:
    from prm.models import AuditEvent

    return AuditEvent.objects.create(
        partner_id=partner.pk if partner else None,
        target_type=ContentType.objects.get_for_model(Partner),
        target_id=str(partner.pk if partner else 0),
        target_repr=str(partner or "the programme"),
        action="rls.probe",
    )


def _notification(partner: Partner | None) -> Any:
    from prm.models import Notification

    recipient = _member(partner) if partner else factories.vendor_user()
    return Notification.objects.create(
        recipient=recipient, partner_id=partner.pk if partner else None, kind="test", title="Hi"
    )


def _export_job(partner: Partner | None) -> Any:
    from prm.models import ExportJob

    user = _member(partner) if partner else factories.vendor_user()
    export = "partners.team" if partner else "partners.partners"
    return ExportJob.objects.create(user=user, partner_id=partner.pk if partner else None, export=export)


def _webhook_endpoint(partner: Partner) -> Any:
    from prm.models import WebhookEndpoint

    return WebhookEndpoint.objects.create(partner_id=partner.pk, url="https://crm.example/hook", secret="s")


def _webhook_delivery(partner: Partner) -> Any:
    from prm.models import WebhookDelivery

    return WebhookDelivery.objects.create(
        partner_id=partner.pk,
        endpoint=_webhook_endpoint(partner),
        event="deal.approved",
        event_id=uuid.uuid4(),
        payload={"probe": True},
    )


def _profile_change(partner: Partner) -> Any:
    from partners.models import ProfileChangeRequest

    return ProfileChangeRequest.objects.create(
        partner=partner,
        partner_type="distributor",
        country="DE",
        region="emea",
        from_partner_type=partner.partner_type,
        from_country=partner.country,
        from_region=partner.region,
        message="Probe",
    )


def _portfolio_permission(partner: Partner) -> Any:
    cam = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER)
    return assign_perm("partners.work_partner", cam, partner)


def _invitation(partner: Partner) -> Any:
    from partners.models import Invitation

    return Invitation.objects.create(partner=partner, email=f"invitee{next(_n)}@example.com")


def _assessment(partner: Partner) -> Any:
    from partners.models import PartnerAssessment

    return PartnerAssessment.objects.create(
        partner=partner, period_start=timezone.localdate().replace(day=1, month=1), rating=3, comment="Probe"
    )


def _scorecard_snapshot(partner: Partner) -> Any:
    from partners.models import ScorecardSnapshot

    return ScorecardSnapshot.objects.create(
        partner=partner,
        as_of=timezone.localdate(),
        total_score=Decimal("50.00"),
        values={"won_revenue": "1.00"},
    )


def _support_case(partner: Partner) -> Any:
    from partners.models import CaseKind, SupportCase

    now = timezone.now()
    return SupportCase.objects.create(
        partner=partner,
        kind=CaseKind.objects.get_or_create(key="complaint", defaults={"name": "Complaint"})[0],
        subject="Probe",
        description="Probe",
        opened_by=_member(partner),
        first_response_due_at=now,
        resolution_due_at=now,
    )


def _case_message(partner: Partner) -> Any:
    from partners.models import CaseMessage

    case = _support_case(partner)
    return CaseMessage.objects.create(case=case, partner=partner, author=case.opened_by, body="Probe")


def _case_note(partner: Partner) -> Any:
    from partners.models import CaseNote

    case = _support_case(partner)
    return CaseNote.objects.create(case=case, author=factories.vendor_user(VendorRole.SUPPORT), body="Probe")


def _case_attachment(partner: Partner) -> Any:
    from partners.models import CaseAttachment

    case = _support_case(partner)
    return CaseAttachment.objects.create(
        case=case,
        partner=partner,
        file=f"partners/{partner.pk}/support/{case.pk}/probe.pdf",
        original_name="probe.pdf",
        content_type="application/pdf",
        size=10,
        uploaded_by=case.opened_by,
    )


def _tier_grace(partner: Partner) -> Any:
    from partners.models import TierGracePeriod

    today = timezone.localdate()
    return TierGracePeriod.objects.create(
        partner=partner, tier=partner.tier, started_on=today, ends_on=today, as_of=today
    )


def _tier_proposal(partner: Partner) -> Any:
    from partners.models import TierChangeProposal

    return TierChangeProposal.objects.create(
        partner=partner,
        direction="down",
        from_tier=partner.tier,
        to_tier=partner.tier,
        as_of=timezone.localdate(),
    )


def _plan(partner: Partner) -> Any:
    from partners.models import BusinessPlan

    return BusinessPlan.objects.create(
        partner=partner,
        period_key="2027H1",
        period_label="FY2027 H1",
        period_start=timezone.localdate().replace(month=1, day=1),
        period_end=timezone.localdate().replace(month=6, day=30),
    )


def _plan_goal(partner: Partner) -> Any:
    from partners.models import PlanGoal

    return PlanGoal.objects.create(
        plan=_plan(partner), partner=partner, kind="won_revenue", target=Decimal("10")
    )


def _plan_activity(partner: Partner) -> Any:
    from partners.models import PlanActivity

    return PlanActivity.objects.create(
        plan=_plan(partner),
        partner=partner,
        title="Probe",
        owner_side="partner",
        owner=_member(partner),
        due_on=timezone.localdate(),
    )


def _plan_comment(partner: Partner) -> Any:
    from partners.models import PlanComment

    return PlanComment.objects.create(
        plan=_plan(partner), partner=partner, author=_member(partner), side="partner", body="Probe"
    )


def _plan_revision(partner: Partner) -> Any:
    from partners.models import PlanRevision

    return PlanRevision.objects.create(plan=_plan(partner), partner=partner, number=1, goals=[])


def _listing(partner: Partner) -> Any:
    from partners.models import PartnerListing

    return PartnerListing.objects.create(partner=partner, published=True, description="Probe")


# A row builder whose model's tenant column may be empty (a vendor-wide row) also takes ``None``.
ROWS: dict[str, Callable[[Partner], models.Model]] = {
    "prm.AuditEvent": _audit_event,
    "prm.Notification": _notification,
    "prm.ExportJob": _export_job,
    "prm.WebhookEndpoint": _webhook_endpoint,
    "prm.WebhookDelivery": _webhook_delivery,
    "partners.Partner": lambda partner: partner,
    "partners.ProfileChangeRequest": _profile_change,
    "partners.PartnerUserObjectPermission": _portfolio_permission,
    "partners.Membership": lambda partner: _member(partner).membership,
    "partners.Invitation": _invitation,
    "partners.PartnerAssessment": _assessment,
    "partners.ScorecardSnapshot": _scorecard_snapshot,
    "partners.TierGracePeriod": _tier_grace,
    "partners.TierChangeProposal": _tier_proposal,
    "partners.PartnerApplication": lambda partner: factories.ApplicationFactory(),
    "partners.SupportCase": _support_case,
    "partners.CaseMessage": _case_message,
    "partners.CaseNote": _case_note,
    "partners.CaseAttachment": _case_attachment,
    "partners.BusinessPlan": _plan,
    "partners.PlanGoal": _plan_goal,
    "partners.PlanActivity": _plan_activity,
    "partners.PlanComment": _plan_comment,
    "partners.PlanRevision": _plan_revision,
    "partners.PartnerListing": _listing,
    "deals.Deal": _deal,
    "deals.DealLine": _deal_line,
    "deals.DealConflict": _deal_conflict,
    "deals.DealExtensionRequest": _deal_extension,
    "deals.DealRollup": _deal_rollup,
    "deals.VendorRollup": _vendor_rollup,
    "deals.PartnerTotal": _partner_total,
    "deals.ProductRollup": _product_rollup,
    "deals.PartnerProductTotal": _partner_product_total,
    "deals.PartnerStatusTotal": _partner_status_total,
    "deals.PartnerMonthTotal": _partner_month_total,
    "deals.PartnerPack": _partner_pack,
    "deals.Lead": _lead,
    "deals.LeadOffer": _lead_offer,
    "deals.PartnerAuthorization": _authorization,
    "mdf.Allocation": _allocation,
    "mdf.LedgerEntry": _ledger_entry,
    "mdf.AllocationBalance": _allocation_balance,
    "mdf.FundRequest": _fund_request,
    "mdf.FundClaim": _fund_claim,
    "mdf.ClaimProof": _claim_proof,
    "mdf.ApprovalLimit": _approval_limit,
    "training.Enrollment": _enrollment,
    "training.LessonCompletion": _lesson_completion,
    "training.QuizAttempt": _quiz_attempt,
    "training.CertificationAward": _certification_award,
    "content.AssetEvent": _asset_event,
    "incentives.MdfAttribution": _mdf_attribution,
    "incentives.EarningEntry": _earning_entry,
    "incentives.Statement": _statement,
    "incentives.SettlementLine": _settlement_line,
}


def _declares_rls(model: type[models.Model]) -> bool:
    return any(getattr(model, name, None) for name in ("TENANT_COLUMN", "RLS_VENDOR_ONLY", "RLS_MONEY"))


RLS_MODELS = [model for model in apps.get_models() if _declares_rls(model)]


def _tenant_field(model: type[models.Model]) -> models.Field:
    column = rls.tenant_column(model)
    return next(field for field in model._meta.concrete_fields if field.column == column)


# Tables whose tenant column may be empty: an unassigned lead, a vendor-wide audit event.
UNOWNED_MODELS = [
    model
    for model in RLS_MODELS
    if getattr(model, "TENANT_COLUMN", None)
    and not getattr(model, "RLS_VENDOR_ONLY", False)
    and _tenant_field(model).null
]


# --- what each kind of scope may see and write ---------------------------------------------------------
def _sees(scope: Scope | None, table: str, pk: str, row: models.Model) -> bool:
    return count(table, f'"{pk}" = %s', [row.pk], scope=scope) == 1


def _refused_everything(scope: Scope | None, table: str, pk: str, row: models.Model) -> None:
    """In ``scope`` the row cannot be read, changed or deleted, and a copy cannot be written."""
    assert count(table, f'"{pk}" = %s', [row.pk], scope=scope) == 0
    with tenant_scope(scope):
        assert _rowcount(f'UPDATE "{table}" SET "{pk}" = "{pk}" WHERE "{pk}" = %s', [row.pk]) == 0
        assert _rowcount(f'DELETE FROM "{table}" WHERE "{pk}" = %s', [row.pk]) == 0
    assert _insert_copy(scope, table) == "refused by row-level security"


def _rowcount(sql: str, params: list) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _copy_row(model: type[models.Model], table: str, pk: str, value: Any) -> None:
    """The row into the temporary table ``rls_copy``, without the generated columns (the search
    vectors, prm.search_vectors) that PostgreSQL fills itself and refuses in an INSERT."""
    columns = ", ".join(f'"{f.column}"' for f in model._meta.concrete_fields if not f.generated)
    raw(f'CREATE TEMP TABLE rls_copy AS SELECT {columns} FROM "{table}" WHERE "{pk}" = %s', [value])


def _insert_copy(scope: Scope | None, table: str) -> str:
    """Write the copied row back into ``table`` in ``scope``. PostgreSQL checks a policy's WITH
    CHECK before the unique indexes, so a scope the policy admits gets a duplicate key instead."""
    ((columns,),) = raw(
        "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) FROM pg_attribute"
        " WHERE attrelid = 'rls_copy'::regclass AND attnum > 0 AND NOT attisdropped"
    )
    try:
        with tenant_scope(scope), transaction.atomic():
            raw(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM rls_copy')
    except DatabaseError as exc:
        sqlstate = getattr(exc.__cause__, "sqlstate", None)
        if sqlstate == "42501" and "row-level security" in str(exc):
            return "refused by row-level security"
        if sqlstate == "23505":
            return "admitted (duplicate key)"
        raise
    return "written"


def test_every_model_under_row_level_security_has_a_row_builder() -> None:
    labels = {model._meta.label for model in RLS_MODELS}
    assert labels - set(ROWS) == set(), "add a row builder to ROWS in tests/prm/test_rls.py"
    assert set(ROWS) - labels == set(), "ROWS names a model that no longer declares row-level security"


@pytest.mark.parametrize("model", RLS_MODELS, ids=lambda model: model._meta.label)
def test_every_tenant_table_keeps_its_rows_to_their_scope_in_raw_sql(model: type[models.Model]) -> None:
    assert model in rls.tenant_models(), f"{model.__name__} declares row-level security but gets no policy"
    assert model._meta.label in ROWS, f"add a row builder for {model._meta.label} to ROWS in {__file__}"
    owner, other = factories.PartnerFactory(), factories.PartnerFactory()
    row = ROWS[model._meta.label](owner)
    assert isinstance(row, model)
    table, pk = model._meta.db_table, model._meta.pk.column
    vendor_only = bool(getattr(model, "RLS_VENDOR_ONLY", False))
    money = rls.is_money_table(model)
    if not vendor_only:
        column = rls.tenant_column(model)
        assert raw(f'SELECT "{column}" FROM "{table}" WHERE "{pk}" = %s', [row.pk]) == [(owner.pk,)]
    _copy_row(model, table, pk, row.pk)

    # Vendor staff who see every partner (program admin, finance) see it.
    assert _sees(Scope.vendor(), table, pk, row)
    assert _insert_copy(Scope.vendor(), table) == "admitted (duplicate key)"
    # The owner's scope sees its row and may write it, unless the table is the vendor's alone.
    if vendor_only:
        _refused_everything(Scope.partner(owner.pk), table, pk, row)
    else:
        assert _sees(Scope.partner(owner.pk), table, pk, row)
        assert _insert_copy(Scope.partner(owner.pk), table) == "admitted (duplicate key)"
    # Another partner's scope: nothing of the owner's, and nothing at all in a vendor-only table.
    _refused_everything(Scope.partner(other.pk), table, pk, row)
    if vendor_only:
        assert count(table, scope=Scope.partner(other.pk)) == 0
    else:
        assert count(table, f'"{column}" = %s', [owner.pk], scope=Scope.partner(other.pk)) == 0
    # No scope at all: no row of the table.
    assert count(table, scope=None) == 0
    _refused_everything(None, table, pk, row)
    # A channel account manager: the portfolio's rows only (a vendor-only table has no partner).
    if not vendor_only:
        assert _sees(Scope.vendor(portfolio=[owner.pk]), table, pk, row)
        _refused_everything(Scope.vendor(portfolio=[other.pk]), table, pk, row)
        _refused_everything(Scope.vendor(portfolio=()), table, pk, row)
        assert count(table, f'"{column}" = %s', [owner.pk], scope=Scope.vendor(portfolio=[other.pk])) == 0
    # A money-blind vendor scope (content / training managers): no row of a money table at all.
    if money:
        assert count(table, scope=Scope.vendor(money=False)) == 0
        _refused_everything(Scope.vendor(money=False), table, pk, row)
    else:
        assert _sees(Scope.vendor(money=False), table, pk, row)


@pytest.mark.parametrize("model", UNOWNED_MODELS, ids=lambda model: model._meta.label)
def test_a_row_of_no_partner_is_the_vendors_alone(model: type[models.Model]) -> None:
    """Vendor staff see a row that belongs to no partner (a channel account manager too, whatever
    the portfolio); no partner scope does, nor can one write it."""
    partner = factories.PartnerFactory()
    row = ROWS[model._meta.label](None)
    table, pk, column = model._meta.db_table, model._meta.pk.column, rls.tenant_column(model)
    assert raw(f'SELECT "{column}" FROM "{table}" WHERE "{pk}" = %s', [row.pk]) == [(None,)]
    _copy_row(model, table, pk, row.pk)

    assert _sees(Scope.vendor(), table, pk, row)
    assert _sees(Scope.vendor(portfolio=()), table, pk, row)
    assert _sees(Scope.vendor(portfolio=[partner.pk]), table, pk, row)
    assert _sees(Scope.vendor(money=False), table, pk, row) is not rls.is_money_table(model)
    _refused_everything(Scope.partner(partner.pk), table, pk, row)
    _refused_everything(None, table, pk, row)


# --- the policies themselves ---------------------------------------------------------------------
def test_every_tenant_table_has_forced_fail_closed_policy() -> None:
    tables = {model._meta.db_table for model in rls.tenant_models()}
    assert {"partners_partner", "partners_membership", "partners_invitation", "prm_auditevent"} <= tables
    rows = dict(
        (name, (enabled, forced))
        for name, enabled, forced in raw(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)",
            [list(tables)],
        )
    )
    assert rows.keys() == tables
    assert all(enabled and forced for enabled, forced in rows.values())
    policies = {
        name for (name,) in raw("SELECT tablename FROM pg_policies WHERE policyname = %s", [rls.POLICY_NAME])
    }
    assert tables <= policies


def test_a_portfolio_is_looked_up_through_a_hash_not_compared_id_by_id() -> None:
    """A channel account manager's scope finds a row's partner in the portfolio through a hash
    built once per query (a hashed SubPlan), not ``= ANY(array)``, which compared every row with
    each of the portfolio's ids in turn: 10x slower over a large portfolio's ledger at full size
    (bench/README.md, "Before any view")."""
    partners = factories.PartnerFactory.create_batch(3)
    with tenant_scope(Scope.vendor(portfolio=[p.pk for p in partners[:2]])):
        plan = "\n".join(row for (row,) in raw("EXPLAIN SELECT count(*) FROM deals_deal"))
        assert "hashed SubPlan" in plan
        assert count("partners_partner") == 2


def test_application_role_cannot_bypass_rls() -> None:
    ((superuser, bypass),) = raw("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    assert not superuser and not bypass


def test_models_with_a_partner_foreign_key_declare_their_tenant_column() -> None:
    """A new partner-owned table cannot silently miss its policy."""
    exempt = {"PartnerApplication"}  # vendor-only data, no tenant until approved
    partner_owned = [
        model
        for model in apps.get_models()
        if model.__name__ not in exempt
        and any(
            getattr(field, "related_model", None) is Partner and field.many_to_one
            for field in model._meta.fields
        )
    ]
    assert {"Membership", "Deal", "FundRequest", "EarningEntry"} <= {
        model.__name__ for model in partner_owned
    }
    without = [model.__name__ for model in partner_owned if not getattr(model, "TENANT_COLUMN", None)]
    assert without == [], f"{without} have a partner FK but no TENANT_COLUMN"


def test_an_unset_session_scope_means_no_rows_in_sql_or_the_orm() -> None:
    factories.partner_user(factories.PartnerFactory())
    assert count("partners_partner", scope=None) == 0
    assert count("partners_membership", scope=None) == 0
    with tenant_scope(None):
        assert Partner.objects.count() == 0
        assert Membership.objects.count() == 0


def test_scope_is_restored_after_a_nested_block() -> None:
    partner_a = factories.PartnerFactory()
    with tenant_scope(Scope.partner(partner_a.pk)):
        with tenant_scope(None):
            assert Partner.objects.count() == 0
        assert list(Partner.objects.values_list("pk", flat=True)) == [partner_a.pk]
