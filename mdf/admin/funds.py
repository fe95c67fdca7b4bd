"""Periods, budgets, allocations, the ledger and approval limits (program admins)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import (
    ExpressionWrapper,
    QuerySet,
    Sum,
)
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from partners.admin import ScopedAdminMixin
from partners.forms import PartnerChoiceField
from partners.models import PartnerStatus
from partners.selectors import partner_choices
from prm.admin import BigTableAdmin, DateRangeFilter, LabelledTabularInline
from prm.admin_actions import confirm_then_run, run_each
from prm.errors import ApplicationError, add_form_error
from prm.roles import VendorRole

from .. import ledger, services
from ..models import (
    Allocation,
    ApprovalLimit,
    Budget,
    FundPeriod,
    LedgerEntry,
    LedgerKind,
)
from ..policies import allocation_policy
from .common import (
    _DEC,
    EMPTY,
    KIND_COLOURS,
    ZERO,
    AllocateForm,
    DecisionAdminMixin,
    ObjectAction,
    Row,
    _budget_sum_subquery,
    _usage_bar,
    badge,
    history_rows,
    money,
    partner_filter,
)


# --- Periods, budgets, allocations, ledger, limits ------------------------------------------------
class BudgetForm(forms.ModelForm):
    class Meta:
        model = Budget
        fields = ["period", "currency", "amount"]

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"]
        if self.instance.pk and currency != self.instance.currency and self.instance.allocations.exists():
            raise forms.ValidationError(gettext("Funds are allocated in this currency; it cannot change."))
        return currency

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if self.instance.pk:
            allocated = (
                LedgerEntry.objects.filter(
                    allocation__budget=self.instance, kind=LedgerKind.ALLOCATED
                ).aggregate(total=Sum("amount"))["total"]
                or ZERO
            )
            if amount < allocated:
                raise forms.ValidationError(
                    gettext("%(allocated)s is already allocated from this budget; it cannot be less.")
                    % {"allocated": money(allocated, self.instance.currency)}
                )
        return amount


class BudgetInline(LabelledTabularInline):
    model = Budget
    form = BudgetForm
    extra = 0
    fields = ["currency", "amount", "allocated_display"]
    readonly_fields = ["allocated_display"]
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super().get_queryset(request).annotate(allocated_total=_budget_sum_subquery(LedgerKind.ALLOCATED))
        )

    def has_add_permission(self, request: HttpRequest, obj: FundPeriod | None = None) -> bool:
        return super().has_add_permission(request, obj) and not (obj is not None and obj.closed_at)

    def has_change_permission(self, request: HttpRequest, obj: FundPeriod | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj is not None and obj.closed_at)

    @admin.display(description=_("allocated"))
    def allocated_display(self, obj: Budget) -> str | SafeString:
        if obj.pk is None:
            return EMPTY
        allocated = getattr(obj, "allocated_total", ZERO)
        return format_html("{} {}", money(allocated, obj.currency), _usage_bar(allocated, obj.amount))


@admin.register(FundPeriod)
class FundPeriodAdmin(admin.ModelAdmin):
    """Program admins create periods and their budgets; closing (forfeiting unused funds) is the
    scheduled ``close_ended_periods`` job."""

    list_display = ["name", "starts_on", "ends_on", "state_display", "budgets_display"]
    search_fields = ["name"]
    ordering = ["-starts_on"]
    fields = ["name", "starts_on", "ends_on", "closed_at"]
    inlines = [BudgetInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("budgets")

    def get_readonly_fields(self, request: HttpRequest, obj: FundPeriod | None = None) -> list[str]:
        if obj is not None and obj.closed_at:
            return ["name", "starts_on", "ends_on", "closed_at"]  # closed: its funds have forfeited
        return ["closed_at"]

    @admin.display(description=_("state"))
    def state_display(self, obj: FundPeriod) -> SafeString:
        today = timezone.localdate()
        if obj.closed_at:
            return badge(gettext("Closed"), ("#f3f4f6", "#4b5563"))
        if obj.contains(today):
            return badge(gettext("Current"), ("#dcfce7", "#166534"))
        if obj.starts_on > today:
            return badge(gettext("Upcoming"), ("#dbeafe", "#1e40af"))
        return badge(gettext("Ended, not closed"), ("#fef3c7", "#92400e"))

    @admin.display(description=_("budgets"))
    def budgets_display(self, obj: FundPeriod) -> str:
        return ", ".join(money(b.amount, b.currency) for b in obj.budgets.all()) or EMPTY

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: FundPeriod, form: Any, change: bool) -> None:
        services.period_save(actor=request.actor, period=obj)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # The inline's new and changed budgets go through the same service as the budget page.
        for budget in formset.save(commit=False):
            services.budget_save(actor=request.actor, budget=budget)
        formset.save_m2m()


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    form = BudgetForm
    list_display = [
        "period",
        "amount_display",
        "allocated_display",
        "accrued_display",
        "left_display",
        "usage_display",
    ]
    list_filter = ["period", "currency"]
    list_select_related = ["period"]
    ordering = ["-period__starts_on", "currency"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                allocated_total=_budget_sum_subquery(LedgerKind.ALLOCATED),
                accrued_total=_budget_sum_subquery(LedgerKind.ACCRUED),
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["period", "currency"] if obj is not None else []

    def has_change_permission(self, request: HttpRequest, obj: Budget | None = None) -> bool:
        # A closed period's budget is history: its unused funds have forfeited.
        return super().has_change_permission(request, obj) and not (obj is not None and obj.period.closed_at)

    @admin.display(description=_("budget"), ordering="amount")
    def amount_display(self, obj: Budget) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description=_("allocated by hand"), ordering="allocated_total")
    def allocated_display(self, obj: Budget) -> str:
        return money(obj.allocated_total, obj.currency)

    @admin.display(description=_("accrued (co-op)"), ordering="accrued_total")
    def accrued_display(self, obj: Budget) -> str:
        return money(obj.accrued_total, obj.currency)

    @admin.display(description=_("left to allocate"))
    def left_display(self, obj: Budget) -> str:
        return money(obj.amount - obj.allocated_total, obj.currency)

    @admin.display(description=_("allocated vs budget"))
    def usage_display(self, obj: Budget) -> SafeString:
        return _usage_bar(obj.allocated_total, obj.amount)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Budget, form: Any, change: bool) -> None:
        services.budget_save(actor=request.actor, budget=obj)


class LedgerEntryInline(LabelledTabularInline):
    model = LedgerEntry
    extra = 0
    fields = ["created_at", "kind_display", "amount_display", "fund_request", "source", "memo", "actor"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    can_delete = False
    verbose_name_plural = _("ledger (append-only)")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("fund_request", "actor")

    @admin.display(description=_("kind"))
    def kind_display(self, obj: LedgerEntry) -> SafeString:
        return badge(obj.get_kind_display(), KIND_COLOURS.get(obj.kind, ("#e5e7eb", "#374151")))

    @admin.display(description=_("amount"))
    def amount_display(self, obj: LedgerEntry) -> str:
        return money(obj.amount, obj.currency)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AllocateToPartnerForm(AllocateForm):
    # A text box with suggestions, not a drop-down of every active partner (partners.forms).
    partner = PartnerChoiceField(label=_("Partner"), status=PartnerStatus.ACTIVE)
    budget = forms.ModelChoiceField(label=_("Budget"), queryset=Budget.objects.none())
    field_order = ["partner", "budget", "amount", "memo"]

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partner_choices(actor=actor, status=PartnerStatus.ACTIVE)
        self.fields["budget"].queryset = (
            Budget.objects.filter(period__closed_at__isnull=True, period__ends_on__gte=timezone.localdate())
            .select_related("period")
            .order_by("period__starts_on", "currency")
        )
        self.fields["amount"].help_text = _("Never more than the budget has left to allocate.")


def _can_allocate(obj: Allocation) -> bool:
    return True


@admin.register(Allocation)
class AllocationAdmin(DecisionAdminMixin, ScopedAdminMixin, BigTableAdmin):
    partner_field = "partner"
    change_form_template = "admin/mdf/allocation/change_form.html"
    change_list_template = "admin/mdf/allocation/change_list.html"
    list_display = [
        "partner",
        "period",
        "currency",
        "allocated_display",
        "committed_display",
        "claimed_display",
        "paid_display",
        "available_display",
        "usage_display",
    ]
    list_display_links = ["partner"]
    list_filter = [
        ("budget__period", admin.RelatedFieldListFilter),
        partner_filter(),
        ("partner__tier", admin.RelatedFieldListFilter),
        "currency",
    ]
    search_fields = ["partner__legal_name"]
    list_select_related = ["partner", "budget__period"]
    ordering = ["-budget__period__starts_on", "partner__legal_name"]
    inlines = [LedgerEntryInline]
    actions = ["allocate_funds"]
    object_actions = [ObjectAction("allocate_funds", _("Allocate funds…"), "approve", _can_allocate)]
    fieldsets = [(None, {"fields": ["partner", "budget", "currency", "created_at"]})]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("partner", "budget__period")
            .annotate(**ledger.balance_annotations())
            .annotate(balance_available=ExpressionWrapper(ledger.available_expression(), output_field=_DEC))
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # balances move only through the ledger

    def has_allocate_permission(self, request: HttpRequest) -> bool:
        return allocation_policy.can(request.actor, "allocate")

    @admin.display(description=_("period"), ordering="budget__period__starts_on")
    def period(self, obj: Allocation) -> Any:
        return obj.budget.period

    @admin.display(description=_("allocated"), ordering="balance_allocated")
    def allocated_display(self, obj: Allocation) -> str:
        return money(obj.balance_allocated)

    @admin.display(description=_("committed"), ordering="balance_committed")
    def committed_display(self, obj: Allocation) -> str:
        return money(obj.balance_committed)

    @admin.display(description=_("claimed"), ordering="balance_claimed")
    def claimed_display(self, obj: Allocation) -> str:
        return money(obj.balance_claimed)

    @admin.display(description=_("paid"), ordering="balance_paid")
    def paid_display(self, obj: Allocation) -> str:
        return money(obj.balance_paid)

    @admin.display(description=_("available"), ordering="balance_available")
    def available_display(self, obj: Allocation) -> SafeString:
        return format_html("<strong>{}</strong>", money(obj.balance_available))

    @admin.display(description=_("used"))
    def usage_display(self, obj: Allocation) -> SafeString:
        return _usage_bar(obj.balance_committed + obj.balance_claimed, obj.balance_allocated)

    def change_form_panels(self, request: HttpRequest, obj: Allocation) -> dict[str, Any]:
        return {"balances": ledger.balances_from_annotations(obj), "history": history_rows(obj)}

    def get_urls(self) -> list[Any]:
        return [
            path(
                "allocate/",
                self.admin_site.admin_view(self.allocate_view),
                name="mdf_allocation_allocate",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(
            request, {**(extra_context or {}), "can_allocate": self.has_allocate_permission(request)}
        )

    def allocate_view(self, request: HttpRequest) -> HttpResponse:
        """Allocate to a partner that may have no allocation yet (the service creates it)."""
        if not self.has_allocate_permission(request):
            raise PermissionDenied
        actor = request.actor
        form = AllocateToPartnerForm(request.POST if request.method == "POST" else None, actor=actor)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    entry = services.allocation_add(
                        actor=actor,
                        partner=data["partner"],
                        budget=data["budget"],
                        amount=data["amount"],
                        memo=data["memo"],
                    )
            except ApplicationError as exc:
                add_form_error(form, exc)  # next to the field it is about, as on every form
            else:
                self.message_user(
                    request,
                    gettext("%(amount)s allocated to %(partner)s for %(period)s.")
                    % {
                        "amount": money(entry.amount, entry.currency),
                        "partner": data["partner"].legal_name,
                        "period": data["budget"].period,
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse(
                        "admin:mdf_allocation_change",
                        args=[entry.allocation_id],
                        current_app=self.admin_site.name,
                    )
                )
        return self.intermediate_page(
            request,
            [],
            action="",
            template="admin/mdf/allocation/allocate_intermediate.html",
            title=gettext("Allocate funds to a partner"),
            form=form,
            headers=[],
            rows=[],
            submit_label=gettext("Allocate"),
            extra={"standalone": True, "cancel_url": reverse("admin:mdf_allocation_changelist")},
        )

    @admin.action(description=_("Allocate funds…"), permissions=["allocate"])
    def allocate_funds(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        allocations = list(queryset.order_by("partner__legal_name", "pk"))

        def run(form: AllocateForm) -> None:
            amount, memo = form.cleaned_data["amount"], form.cleaned_data["memo"]
            run_each(
                self,
                request,
                allocations,
                lambda actor, a: services.allocation_add(
                    actor=actor, partner=a.partner, budget=a.budget, amount=amount, memo=memo
                ),
                label=lambda a: a.partner.legal_name,
                done_message=lambda count: (
                    ngettext(
                        "%(amount)s allocated to %(count)s partner.",
                        "%(amount)s allocated to each of %(count)s partners.",
                        count,
                    )
                    % {"amount": money(amount), "count": count}
                ),
            )

        def page(form: AllocateForm) -> HttpResponse:
            rows = [
                Row(
                    cells=[
                        a.partner.legal_name,
                        str(a.budget.period),
                        a.currency,
                        money(a.balance_allocated),
                        money(a.balance_available),
                    ]
                )
                for a in allocations
            ]
            return self.intermediate_page(
                request,
                allocations,
                action="allocate_funds",
                template="admin/mdf/allocation/allocate_intermediate.html",
                title=ngettext(
                    "Allocate funds to %(count)s partner",
                    "Allocate funds to %(count)s partners",
                    len(allocations),
                )
                % {"count": len(allocations)},
                form=form,
                headers=[_("Partner"), _("Period"), _("Currency"), _("Allocated"), _("Available")],
                rows=rows,
                submit_label=gettext("Allocate"),
            )

        return confirm_then_run(request, form=AllocateForm, submit_name="post", run=run, page=page)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ScopedAdminMixin, BigTableAdmin):
    """The fund ledger, read-only: it is append-only (the database refuses UPDATE and DELETE)."""

    partner_field = "partner"
    list_display = [
        "created_at",
        "partner",
        "kind_display",
        "amount_display",
        "request_display",
        "memo",
        "actor",
    ]
    list_filter = [
        "kind",
        ("allocation__budget__period", admin.RelatedFieldListFilter),
        partner_filter(),
        "currency",
        ("created_at", DateRangeFilter),
    ]
    search_fields = ["memo", "source", "fund_request__reference", "partner__legal_name"]
    list_select_related = ["partner", "allocation__budget__period", "fund_request", "actor"]
    ordering = ["-created_at", "-pk"]
    readonly_fields = [f.name for f in LedgerEntry._meta.fields]

    @admin.display(description=_("request"), ordering="fund_request__reference")
    def request_display(self, obj: LedgerEntry) -> str:
        return obj.fund_request.reference if obj.fund_request_id else EMPTY

    @admin.display(description=_("kind"), ordering="kind")
    def kind_display(self, obj: LedgerEntry) -> SafeString:
        return badge(obj.get_kind_display(), KIND_COLOURS.get(obj.kind, ("#e5e7eb", "#374151")))

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: LedgerEntry) -> str:
        return money(obj.amount, obj.currency)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApprovalLimitForm(forms.ModelForm):
    class Meta:
        model = ApprovalLimit
        fields = ["user", "amount", "currency"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = (
                self.fields["user"]
                .queryset.filter(vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER, is_active=True)
                .order_by("email")
            )
            self.fields["user"].label = _("Channel account manager")
        self.fields["amount"].help_text = _(
            "The most this manager may approve on one request; above it a program admin decides. "
            "Without a limit here the default applies."
        )


@admin.register(ApprovalLimit)
class ApprovalLimitAdmin(admin.ModelAdmin):
    """Program admins set how much each channel account manager may approve; saving and removing
    go through mdf.services (which check who may, and audit)."""

    form = ApprovalLimitForm
    list_display = ["user", "user_name", "amount_display"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user"]
    ordering = ["user__email"]

    @admin.display(description=_("name"), ordering="user__full_name")
    def user_name(self, obj: ApprovalLimit) -> str:
        return obj.user.full_name

    @admin.display(description=_("approval limit"), ordering="amount")
    def amount_display(self, obj: ApprovalLimit) -> str:
        return money(obj.amount, obj.currency)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["user"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: ApprovalLimit, form: Any, change: bool) -> None:
        services.approval_limit_save(actor=request.actor, limit=obj)

    def delete_model(self, request: HttpRequest, obj: ApprovalLimit) -> None:
        services.approval_limit_remove(actor=request.actor, limit=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset.select_related("user"):
            self.delete_model(request, obj)
