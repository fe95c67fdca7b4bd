"""Admin for deals and leads. Decisions call the same services as the vendor console, so the admin
and the portal can never disagree; querysets pass through the same scoping path (a channel account
manager sees only the partners in their portfolio)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partners.admin import ScopedAdminMixin
from partners.policies import vendor_sees_all
from prm.admin import BigTableAdmin, DateRangeFilter
from prm.admin_actions import confirm_then_run, confirmation_context, run_each
from prm.views import CappedKeysFirstPaginator

from . import selectors, services
from .models import Deal, DealLine, DealStatus, Lead, LeadOffer, Product


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "sku", "product_line", "list_price", "currency", "active"]
    list_filter = ["product_line", "active"]
    search_fields = ["name", "sku", "product_line"]
    list_editable = ["active"]
    ordering = ["product_line", "name"]


class DealLineInline(admin.TabularInline):
    model = DealLine
    extra = 0
    fields = ["product", "quantity", "unit_price", "amount"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the partner sees it)"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
    )


@admin.register(Deal)
class DealAdmin(ScopedAdminMixin, BigTableAdmin):
    partner_field = "partner"
    list_display = [
        "reference",
        "partner",
        "customer_name",
        "amount",
        "currency",
        "status",
        "conflict_status",
        "submitted_at",
    ]
    list_filter = [
        "status",
        "conflict_status",
        "partner__tier",
        "partner__region",
        ("created_at", DateRangeFilter),
    ]
    search_fields = ["reference", "customer_name", "customer_domain"]
    list_select_related = ["partner", "partner__tier"]
    inlines = [DealLineInline]
    # A page's ids from the (created_at, id) index first, then those rows with their partner and
    # tier (prm.views.KeysFirstPaginator): row-level security hides the row counts from the
    # planner, which joined every deal before sorting (20 s at a million deals).
    paginator = CappedKeysFirstPaginator
    actions = ["approve_selected", "reject_selected", "confirm_won_selected", "reject_won_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The portal's rule, not only the portfolio: partners' drafts are not the vendor's to see.
        return super().get_queryset(request).exclude(status=DealStatus.DRAFT)

    def get_paginator(self, request: HttpRequest, queryset: QuerySet, per_page: int, **kwargs: Any) -> Any:
        paginator = super().get_paginator(request, queryset, per_page, **kwargs)
        # Walking the ordering index suits the whole program, not a search or a portfolio
        # (a CAM's search walked it for 3-6 s): see prm.views.CappedKeysFirstPaginator.
        actor = getattr(request, "actor", None)
        if request.GET.get("q") or actor is None or not vendor_sees_all(actor):
            paginator.walk_index = False
        return paginator

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # The vendor list's indexed search (reference, domain, customer name): the default
        # icontains over search_fields reads every one of a million deals.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(selectors.vendor_search(term)), False

    # Every change is a state transition made through a service (audited); the admin shows the
    # registration read-only.
    fieldsets = [
        (None, {"fields": ["reference", "partner", "registered_by", "status", "conflict_status"]}),
        (
            _("Customer"),
            {
                "fields": [
                    "customer_name",
                    "customer_domain",
                    "customer_country",
                    "customer_region",
                    "contact_name",
                    "contact_email",
                    "contact_phone",
                ]
            },
        ),
        (
            _("Opportunity"),
            {"fields": ["title", "stage", "expected_close_date", "amount", "currency", "notes"]},
        ),
        (
            _("Review"),
            {
                "fields": [
                    "submitted_at",
                    "review_due_at",
                    "reviewed_by",
                    "reviewed_at",
                    "decision_reason",
                    "approved_at",
                    "protection_expires_at",
                    "discount_percent",
                    "extensions_used",
                ]
            },
        ),
        (
            _("Outcome"),
            {
                "fields": [
                    "won_amount",
                    "closed_on",
                    "lost_reason",
                    "won_claimed_at",
                    "won_checks",
                    "won_reviewed_by",
                    "won_reviewed_at",
                    "won_review_reason",
                ]
            },
        ),
        (_("Timestamps"), {"fields": ["created_at", "updated_at"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # partners register deals in the portal

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # registrations are history; they end by rejection, loss or expiry

    @admin.action(description=_("Approve selected deals"))
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda actor, deal: services.deal_approve(actor=actor, deal=deal),
            done_message=lambda n: (
                ngettext("%(count)s deal approved.", "%(count)s deals approved.", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Reject selected deals (reason: …)"))
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Asks for the reason on an intermediate page, then rejects each deal through the service."""
        return self._with_reason(
            request,
            queryset,
            action="reject_selected",
            title=_("Reject deals"),
            call=lambda actor, deal, reason: services.deal_reject(actor=actor, deal=deal, reason=reason),
            done=lambda n: (
                ngettext("%(count)s deal rejected.", "%(count)s deals rejected.", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Confirm the reported wins of the selected deals, as reported"))
    def confirm_won_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        # Corrections of the amount or close date are made on the vendor review page.
        run_each(
            self,
            request,
            queryset,
            lambda actor, deal: services.deal_confirm_won(actor=actor, deal=deal),
            done_message=lambda n: (
                ngettext("%(count)s win confirmed.", "%(count)s wins confirmed.", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Turn down the reported wins of the selected deals (reason: …)"))
    def reject_won_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            action="reject_won_selected",
            title=_("Turn down reported wins"),
            intro=_(
                "The wins reported on these deals will be turned down; nothing accrues from them. "
                "The partner is notified and sees the reason:"
            ),
            call=lambda actor, deal, reason: services.deal_reject_won(actor=actor, deal=deal, reason=reason),
            done=lambda n: (
                ngettext("%(count)s win turned down.", "%(count)s wins turned down.", n) % {"count": n}
            ),
        )

    def _with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        action: str,
        title: str,
        call: Callable[[Any, Any, str], Any],
        done: Callable[[int], str],
        intro: str = "",
    ) -> HttpResponse | None:
        """Asks for the reason on an intermediate page, then calls the service for each deal."""
        return confirm_then_run(
            request,
            form=RejectForm,
            submit_name="apply",
            run=lambda form: run_each(
                self,
                request,
                queryset,
                lambda actor, deal: call(actor, deal, form.cleaned_data["reason"]),
                done_message=done,
            ),
            page=lambda form: TemplateResponse(
                request,
                "deals/admin/reject_reason.html",
                confirmation_context(
                    self, request, title=title, action=action, form=form, intro=intro, deals=queryset
                ),
            ),
        )


class LeadOfferInline(admin.TabularInline):
    model = LeadOffer
    extra = 0
    fields = ["partner", "offered_at", "respond_by", "outcome", "responded_by", "responded_at", "reason"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(ScopedAdminMixin, BigTableAdmin):
    # A channel account manager sees the leads of their portfolio's partners.
    partner_field = "assigned_partner"
    list_display = [
        "company_name",
        "region",
        "country",
        "status",
        "assigned_partner",
        "respond_by",
        "estimated_value",
        "currency",
        "created_at",
    ]
    list_filter = ["status", "region", ("created_at", DateRangeFilter)]
    search_fields = ["company_name", "domain", "contact_email"]
    list_select_related = ["assigned_partner", "deal"]
    inlines = [LeadOfferInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Offers, answers and reassignment go through deals.leads (audited and notified).
        return [field.name for field in Lead._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # leads are added and imported in the vendor console (audited)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
