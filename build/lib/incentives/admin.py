"""Programs are edited here; the earnings ledger and statements are read-only (money moves only
through incentives.services: the settlements page runs the statement transitions, and the
"Reverse selected accruals…" action here posts reversals after a confirmation page with a
reason)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prm.errors import ApplicationError

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


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EarningEntry)
class EarningEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "partner", "program", "deal", "kind", "amount", "currency"]
    list_filter = ["kind", "currency", "program"]
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
        error = ""
        if request.POST.get("confirm"):
            reason = request.POST.get("reason", "").strip()
            if reason:
                self._reverse(request, entries, reason)
                return None
            error = _("Say why the earnings are reversed.")
        return TemplateResponse(
            request,
            "incentives/admin_reverse_confirm.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Reverse accruals"),
                "entries": entries,
                "error": error,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    def _reverse(self, request: HttpRequest, entries: list[EarningEntry], reason: str) -> None:
        reversed_count = 0
        for entry in entries:
            try:
                with transaction.atomic():
                    services.earning_reverse(actor=request.actor, entry=entry, reason=reason)
            except ApplicationError as exc:
                self.message_user(request, f"{entry.idempotency_key}: {exc.message}", messages.WARNING)
            else:
                reversed_count += 1
        if reversed_count:
            self.message_user(
                request, _("%(count)d accrual(s) reversed.") % {"count": reversed_count}, messages.SUCCESS
            )


class SettlementLineInline(admin.TabularInline):
    model = SettlementLine
    fields = ["entry", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ["number", "partner", "currency", "period_end", "total", "status"]
    list_filter = ["status", "currency"]
    list_select_related = ["partner"]
    search_fields = ["number", "partner__legal_name"]
    inlines = [SettlementLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return statement_policy.scope(request.actor, super().get_queryset(request))
