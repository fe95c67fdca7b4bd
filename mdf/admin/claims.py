"""Claims: finance approves, rejects and marks payouts paid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin, messages
from django.db.models import (
    Count,
    Q,
    QuerySet,
)
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from partners.admin import ScopedAdminMixin
from prm.admin import BigTableAdmin, DateRangeFilter
from prm.admin_actions import confirm_then_run, run_each

from .. import ledger, services
from ..models import (
    FundClaim,
    RequestStatus,
)
from .common import (
    EMPTY,
    ZERO,
    ApproveClaimsForm,
    DecisionAdminMixin,
    ObjectAction,
    PaymentForm,
    ReasonForm,
    Row,
    _claim_amount,
    age,
    ago,
    history_rows,
    money,
    partner_filter,
    status_badge,
)


# --- Claims ---------------------------------------------------------------------------------------
class ClaimStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"
    statuses = [
        RequestStatus.CLAIM_SUBMITTED,
        RequestStatus.CLAIM_APPROVED,
        RequestStatus.CLAIM_REJECTED,
        RequestStatus.PAID,
    ]

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [(status.value, status.label) for status in self.statuses]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in {status.value for status in self.statuses}:
            return queryset.filter(fund_request__status=self.value())
        return queryset


def _claim_awaiting(obj: FundClaim) -> bool:
    return obj.fund_request.status == RequestStatus.CLAIM_SUBMITTED


def _claim_payable(obj: FundClaim) -> bool:
    return obj.fund_request.status == RequestStatus.CLAIM_APPROVED


@admin.register(FundClaim)
class FundClaimAdmin(DecisionAdminMixin, ScopedAdminMixin, BigTableAdmin):
    partner_field = "partner"
    change_form_template = "admin/mdf/fundclaim/change_form.html"
    change_list_template = "admin/mdf/fundclaim/change_list.html"
    list_display = [
        "reference",
        "partner",
        "status_display",
        "claimed_display",
        "actual_cost_display",
        "preapproved_display",
        "approved_display",
        "proofs_display",
        "age_display",
        "payment_reference",
    ]
    list_display_links = ["reference"]
    list_filter = [
        ClaimStatusFilter,
        partner_filter(),
        ("fund_request__allocation__budget__period", admin.RelatedFieldListFilter),
        ("fund_request__activity_type", admin.ChoicesFieldListFilter),
        ("submitted_at", DateRangeFilter),
    ]
    search_fields = [
        "fund_request__reference",
        "fund_request__title",
        "partner__legal_name",
        "payment_reference",
    ]
    search_help_text = _("Search by request reference, title, partner name or payment reference.")
    list_select_related = ["fund_request", "partner"]
    ordering = ["-submitted_at", "-pk"]
    list_per_page = 50
    actions = ["approve_claims", "reject_claims", "mark_paid"]
    object_actions = [
        ObjectAction("approve_claims", _("Approve claim…"), "approve", _claim_awaiting),
        ObjectAction("reject_claims", _("Reject claim…"), "danger", _claim_awaiting),
        ObjectAction("mark_paid", _("Mark as paid…"), "approve", _claim_payable),
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reference",
                    "status_display",
                    "partner",
                    "fund_request",
                    "submitted_by",
                    "submitted_at",
                ]
            },
        ),
        (
            _("Claim"),
            {
                "fields": [
                    "actual_cost_display",
                    "claimed_display",
                    "preapproved_display",
                    "leads_generated",
                    "attendees",
                    "notes",
                ]
            },
        ),
        (_("Review"), {"fields": ["approved_display", "reviewed_by", "reviewed_at", "rejection_reason"]}),
        (_("Payment"), {"fields": ["paid_at", "paid_by", "payment_reference"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("fund_request", "partner", "fund_request__allocation")
            .annotate(proofs_count=Count("proofs"))
        )

    @admin.display(description=_("request"), ordering="fund_request__reference")
    def reference(self, obj: FundClaim) -> str:
        return obj.fund_request.reference

    @admin.display(description=_("status"), ordering="fund_request__status")
    def status_display(self, obj: FundClaim) -> SafeString:
        return status_badge(obj.fund_request.status)

    @admin.display(description=_("claimed"), ordering="claimed_amount")
    def claimed_display(self, obj: FundClaim) -> str:
        return money(obj.claimed_amount, obj.fund_request.currency)

    @admin.display(description=_("actual cost"), ordering="actual_cost")
    def actual_cost_display(self, obj: FundClaim) -> str:
        return money(obj.actual_cost, obj.fund_request.currency)

    @admin.display(description=_("pre-approved"), ordering="fund_request__approved_amount")
    def preapproved_display(self, obj: FundClaim) -> str:
        return money(obj.fund_request.approved_amount, obj.fund_request.currency)

    @admin.display(description=_("approved"), ordering="approved_amount")
    def approved_display(self, obj: FundClaim) -> str:
        return money(obj.approved_amount, obj.fund_request.currency)

    @admin.display(description=_("proofs"), ordering="proofs_count")
    def proofs_display(self, obj: FundClaim) -> Any:
        return getattr(obj, "proofs_count", EMPTY)

    @admin.display(description=_("age"), ordering="-submitted_at")
    def age_display(self, obj: FundClaim) -> str:
        return age(obj.submitted_at)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        scoped = ScopedAdminMixin.get_queryset(self, request)
        counts = scoped.aggregate(
            awaiting=Count("pk", filter=Q(fund_request__status=RequestStatus.CLAIM_SUBMITTED)),
            payable=Count("pk", filter=Q(fund_request__status=RequestStatus.CLAIM_APPROVED)),
        )
        base = reverse("admin:mdf_fundclaim_changelist", current_app=self.admin_site.name)
        oldest = self.order_param(request, "age_display", descending=True)
        summary = {
            **counts,
            # Finance decides claims; a channel account manager follows them read-only and is told
            # who acts instead of being asked to.
            "can_decide": self.has_change_permission(request),
            "awaiting_url": f"{base}?{urlencode({'status': RequestStatus.CLAIM_SUBMITTED, 'o': oldest})}",
            "payable_url": f"{base}?{urlencode({'status': RequestStatus.CLAIM_APPROVED})}",
        }
        return super().changelist_view(request, {**(extra_context or {}), "claims_summary": summary})

    def change_form_panels(self, request: HttpRequest, obj: FundClaim) -> dict[str, Any]:
        fund_request = obj.fund_request
        currency = fund_request.currency
        prompt = (
            gettext("Approved: waiting for payment")
            if fund_request.status == RequestStatus.CLAIM_APPROVED
            else gettext("Claim awaiting review · submitted %(age)s") % {"age": ago(obj.submitted_at)}
        )
        return {
            "fund_request": fund_request,
            "decision_prompt": prompt,
            "decision_figures": [
                (gettext("Claimed"), money(obj.claimed_amount, currency)),
                (gettext("Pre-approved"), money(fund_request.approved_amount, currency)),
                (gettext("Actual cost"), money(obj.actual_cost, currency)),
                *(
                    [(gettext("Approved"), money(obj.approved_amount, currency))]
                    if obj.approved_amount
                    else []
                ),
            ],
            "request_url": reverse(
                "admin:mdf_fundrequest_change", args=[fund_request.pk], current_app=self.admin_site.name
            ),
            "balances": ledger.balances_of(fund_request.allocation),
            "proofs": [
                {
                    "name": proof.original_name,
                    "size": proof.size,
                    "content_type": proof.content_type,
                    "url": reverse("mdf:proof_download", args=[proof.pk]),
                }
                for proof in obj.proofs.all()
            ],
            "history": history_rows(fund_request),
        }

    def _claims(self, queryset: QuerySet) -> list[FundClaim]:
        return list(queryset.order_by("submitted_at", "pk"))

    def _claim_cells(self, claim: FundClaim) -> list[Any]:
        currency = claim.fund_request.currency
        return [
            format_html("<strong>{}</strong>", claim.fund_request.reference),
            claim.partner.legal_name,
            status_badge(claim.fund_request.status),
            money(claim.actual_cost, currency),
            money(claim.fund_request.approved_amount, currency),
            money(claim.claimed_amount, currency),
            getattr(claim, "proofs_count", EMPTY),
        ]

    _claim_headers = [
        _("Request"),
        _("Partner"),
        _("Status"),
        _("Actual cost"),
        _("Pre-approved"),
        _("Claimed"),
        _("Proofs"),
    ]

    def _skip_note(self, row: Row, claim: FundClaim, wanted: str) -> bool:
        if claim.fund_request.status != wanted:
            row.notes.append(
                (
                    "skip",
                    gettext("Not possible now (%(status)s): it will be left as it is.")
                    % {"status": claim.fund_request.get_status_display().lower()},
                )
            )
            return True
        return False

    @admin.action(description=_("Approve selected claims…"), permissions=["change"])
    def approve_claims(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        claims = self._claims(queryset)
        deciding = [c for c in claims if c.fund_request.status == RequestStatus.CLAIM_SUBMITTED]

        def run(form: Any) -> None:
            done = run_each(
                self,
                request,
                claims,
                lambda actor, claim: services.claim_approve(
                    actor=actor, claim=claim, amount=form.amount(claim.pk)
                ),
                label=lambda claim: claim.fund_request.reference,
            )
            if done:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)s claim approved: %(list)s.",
                        "%(count)s claims approved: %(list)s.",
                        len(done),
                    )
                    % {
                        "count": len(done),
                        "list": ", ".join(_claim_amount(c) for c in done),
                    },
                    messages.SUCCESS,
                )

        def page(form: Any) -> HttpResponse:
            rows = []
            for claim in claims:
                row = Row(cells=self._claim_cells(claim))
                if not self._skip_note(row, claim, RequestStatus.CLAIM_SUBMITTED):
                    row.field = form[f"amount-{claim.pk}"]
                    if not getattr(claim, "proofs_count", 1):
                        row.notes.append(("warning", gettext("No proof of performance attached.")))
                rows.append(row)
            return self.intermediate_page(
                request,
                claims,
                action="approve_claims",
                template="admin/mdf/fundclaim/approve_intermediate.html",
                title=ngettext("Approve %(count)s claim", "Approve %(count)s claims", len(claims))
                % {"count": len(claims)},
                form=form,
                headers=self._claim_headers,
                rows=rows,
                submit_label=gettext("Approve claims"),
                extra={"deciding": deciding},
            )

        return confirm_then_run(
            request,
            form=lambda data: ApproveClaimsForm(
                data,
                rows=[
                    (
                        c.pk,
                        min(c.claimed_amount, c.fund_request.approved_amount),
                        min(c.claimed_amount, c.fund_request.approved_amount),
                        c.fund_request.currency,
                    )
                    for c in deciding
                ],
            ),
            submit_name="post",
            run=run,
            page=page,
        )

    @admin.action(description=_("Reject selected claims…"), permissions=["change"])
    def reject_claims(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        claims = self._claims(queryset)

        def run(form: Any) -> None:
            reason = form.cleaned_data["reason"]
            done = run_each(
                self,
                request,
                claims,
                lambda actor, claim: services.claim_reject(actor=actor, claim=claim, reason=reason),
                label=lambda claim: claim.fund_request.reference,
            )
            if done:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)s claim rejected: %(list)s.",
                        "%(count)s claims rejected: %(list)s.",
                        len(done),
                    )
                    % {"count": len(done), "list": ", ".join(c.fund_request.reference for c in done)},
                    messages.SUCCESS,
                )

        def page(form: Any) -> HttpResponse:
            rows = []
            for claim in claims:
                row = Row(cells=self._claim_cells(claim))
                self._skip_note(row, claim, RequestStatus.CLAIM_SUBMITTED)
                rows.append(row)
            return self.intermediate_page(
                request,
                claims,
                action="reject_claims",
                template="admin/mdf/fundclaim/reject_intermediate.html",
                title=ngettext("Reject %(count)s claim", "Reject %(count)s claims", len(claims))
                % {"count": len(claims)},
                form=form,
                headers=self._claim_headers,
                rows=rows,
                submit_label=gettext("Reject claims"),
                submit_style="danger",
            )

        return confirm_then_run(
            request,
            form=lambda data: ReasonForm(
                data,
                label=_("Reason for rejecting"),
                help_text=_("Required. The partner sees it; the pre-approved funds are released."),
            ),
            submit_name="post",
            run=run,
            page=page,
        )

    @admin.action(description=_("Mark selected as paid…"), permissions=["change"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        claims = self._claims(queryset)

        def run(form: Any) -> None:
            reference = form.cleaned_data["payment_reference"]
            done = run_each(
                self,
                request,
                claims,
                lambda actor, claim: services.claim_mark_paid(
                    actor=actor, claim=claim, payment_reference=reference
                ),
                label=lambda claim: claim.fund_request.reference,
            )
            if done:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)s claim marked paid: %(list)s.",
                        "%(count)s claims marked paid: %(list)s.",
                        len(done),
                    )
                    % {
                        "count": len(done),
                        "list": ", ".join(_claim_amount(c) for c in done),
                    },
                    messages.SUCCESS,
                )

        def page(form: Any) -> HttpResponse:
            rows = []
            totals: dict[str, Decimal] = {}
            for claim in claims:
                cells = self._claim_cells(claim)
                cells[-2] = money(claim.approved_amount, claim.fund_request.currency)  # what is paid
                row = Row(cells=cells)
                if not self._skip_note(row, claim, RequestStatus.CLAIM_APPROVED):
                    currency = claim.fund_request.currency
                    totals[currency] = totals.get(currency, ZERO) + (claim.approved_amount or ZERO)
                rows.append(row)
            headers = list(self._claim_headers)
            headers[-2] = _("To pay")
            return self.intermediate_page(
                request,
                claims,
                action="mark_paid",
                template="admin/mdf/fundclaim/paid_intermediate.html",
                title=ngettext("Mark %(count)s claim as paid", "Mark %(count)s claims as paid", len(claims))
                % {"count": len(claims)},
                form=form,
                headers=headers,
                rows=rows,
                submit_label=gettext("Mark as paid"),
                extra={"totals": [money(total, currency) for currency, total in sorted(totals.items())]},
            )

        return confirm_then_run(
            request,
            form=lambda data: PaymentForm(data),
            submit_name="post",
            run=run,
            page=page,
        )
