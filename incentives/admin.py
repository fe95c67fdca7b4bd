"""Programs are edited here; the earnings ledger and statements are read-only (money moves only
through incentives.services: the settlements page runs the statement transitions, and the
"Reverse selected accruals…" action here posts reversals after a confirmation page with a
reason)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prm.admin import BigTableAdmin, DateRangeFilter, LabelledTabularInline, NotFoundAdminMixin
from prm.admin_actions import confirm_then_run, confirmation_context, run_each

from . import services
from .models import EarningEntry, EarningKind, IncentiveProgram, SettlementLine, Statement
from .policies import earning_policy, statement_policy


@admin.register(IncentiveProgram)
class IncentiveProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "status", "currency", "starts_on", "ends_on"]
    list_filter = ["kind", "status", "currency"]
    search_fields = ["name"]
    filter_horizontal = ["tiers"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request: HttpRequest, obj: IncentiveProgram, form: Any, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class ReadOnlyAdmin(NotFoundAdminMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReverseReasonForm(forms.Form):
    reason = forms.CharField(error_messages={"required": gettext_lazy("Say why the earnings are reversed.")})


@admin.register(EarningEntry)
class EarningEntryAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ["created_at", "partner", "program", "deal", "kind", "amount", "currency"]
    list_filter = ["kind", "currency", "program", ("created_at", DateRangeFilter)]
    list_select_related = ["partner", "program", "deal"]
    search_fields = ["idempotency_key", "partner__legal_name", "deal__reference"]
    actions = ["reverse_accruals"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return earning_policy.scope(request.actor, super().get_queryset(request))

    @admin.action(description=gettext_lazy("Reverse selected accruals…"))
    def reverse_accruals(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        actor = request.actor
        if not earning_policy.can(actor, "reverse"):
            self.message_user(
                request, _("Only vendor finance and program admins reverse earnings."), messages.ERROR
            )
            return None
        entries = list(
            earning_policy.scope(actor, queryset)
            .filter(kind=EarningKind.ACCRUAL)
            .select_related("partner", "program", "deal")
        )
        if not entries:
            self.message_user(request, _("Select accruals to reverse."), messages.WARNING)
            return None
        return confirm_then_run(
            request,
            form=ReverseReasonForm,
            submit_name="confirm",
            run=lambda form: run_each(
                self,
                request,
                entries,
                lambda actor, entry: services.earning_reverse(
                    actor=actor, entry=entry, reason=form.cleaned_data["reason"]
                ),
                label=lambda entry: entry.idempotency_key,
                done_message=lambda n: _("%(count)d accrual(s) reversed.") % {"count": n},
                # A refusal means the entry was reversed already (or is no accrual): worth a look, no alarm.
                error_level=messages.WARNING,
            ),
            page=lambda form: TemplateResponse(
                request,
                "incentives/admin_reverse_confirm.html",
                confirmation_context(
                    self,
                    request,
                    title=_("Reverse accruals"),
                    action="reverse_accruals",
                    entries=entries,
                    # The page writes its own reason field; it shows only the error.
                    error=" ".join(form.errors.get("reason", [])),
                ),
            ),
        )


class SettlementLineInline(LabelledTabularInline):
    model = SettlementLine
    fields = ["entry", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ["number", "partner", "currency", "period_end", "total", "status"]
    list_filter = ["status", "currency"]
    list_select_related = ["partner"]
    search_fields = ["number", "partner__legal_name"]
    inlines = [SettlementLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return statement_policy.scope(request.actor, super().get_queryset(request))
