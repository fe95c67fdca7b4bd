"""The admin of the performance engine: KPI switches and scorecard templates (program admins), and
the channel account managers' quarterly ratings (their portfolio only). Saves go through the
services, which audit them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partners.models import (
    KpiSetting,
    Partner,
    PartnerAssessment,
    ScorecardLine,
    ScorecardTemplate,
    TierChangeProposal,
    TierGracePeriod,
)
from partners.policies import partner_scope_q
from prm.admin import BigTableAdmin, LabelledTabularInline, NotFoundAdminMixin
from prm.admin_actions import run_each
from prm.errors import ApplicationError, add_form_error
from prm.tenancy import Actor

from . import services, tier_services
from .kpis import Direction, Unit, kpi_registry, quarter_start
from .policies import TIER_VENDOR_ROLES, assessment_policy, tier_grace_policy, tier_proposal_policy


def _kpi_choices() -> list[tuple[str, str]]:
    return [(key, f"{kpi.label} ({key})") for key, kpi in kpi_registry().items()]


# --- KPI switches ------------------------------------------------------------------------------------
@admin.register(KpiSetting)
class KpiSettingAdmin(admin.ModelAdmin):
    """Every KPI of the registry, on or off. A KPI switched off is neither computed nor scored from
    the next nightly run on; templates keep their line for it (its weight goes to the others)."""

    list_display = [
        "key",
        "label",
        "app",
        "unit",
        "direction",
        "money",
        "enabled",
        "updated_by",
        "updated_at",
    ]
    list_filter = ["enabled"]
    fields = ["key", "label", "description", "enabled"]
    readonly_fields = ["key", "label", "description"]
    actions = ["switch_on", "switch_off"]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._registry = kpi_registry()
        if self.has_change_permission(request):
            services.kpi_settings_sync()
        return super().changelist_view(request, extra_context)

    def _kpi(self, obj: KpiSetting) -> Any:
        registry = getattr(self, "_registry", None) or kpi_registry()
        return registry.get(obj.key)

    @admin.display(description=_("KPI"))
    def label(self, obj: KpiSetting) -> str:
        kpi = self._kpi(obj)
        return str(kpi.label) if kpi else _("(no longer provided)")

    @admin.display(description=_("description"))
    def description(self, obj: KpiSetting) -> str:
        kpi = self._kpi(obj)
        return str(kpi.description) if kpi else ""

    @admin.display(description=_("app"))
    def app(self, obj: KpiSetting) -> str:
        kpi = self._kpi(obj)
        return kpi.app_label if kpi else ""

    @admin.display(description=_("unit"))
    def unit(self, obj: KpiSetting) -> str:
        kpi = self._kpi(obj)
        return str(Unit(kpi.unit).label) if kpi else ""

    @admin.display(description=_("better when"))
    def direction(self, obj: KpiSetting) -> str:
        kpi = self._kpi(obj)
        return str(Direction(kpi.direction).label) if kpi else ""

    @admin.display(description=_("money figure"), boolean=True)
    def money(self, obj: KpiSetting) -> bool | None:
        kpi = self._kpi(obj)
        return kpi.money if kpi else None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one row per KPI of the registry, made by the list page

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: KpiSetting, form: Any, change: bool) -> None:
        services.kpi_setting_set(actor=request.actor, key=obj.key, enabled=form.cleaned_data["enabled"])

    def _switch(self, request: HttpRequest, queryset: QuerySet, enabled: bool) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda actor, setting: services.kpi_setting_set(actor=actor, key=setting.key, enabled=enabled),
            done_message=lambda n: ngettext("%(n)d KPI updated.", "%(n)d KPIs updated.", n) % {"n": n},
        )

    @admin.action(description=_("Switch the selected KPIs on"), permissions=["change"])
    def switch_on(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._switch(request, queryset, True)

    @admin.action(description=_("Switch the selected KPIs off"), permissions=["change"])
    def switch_off(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._switch(request, queryset, False)


# --- scorecard templates ----------------------------------------------------------------------------
class ScorecardLineForm(forms.ModelForm):
    # Choices from the registry when the form is built: a new certification track is offered at once.
    kpi = forms.ChoiceField(label=_("KPI"), choices=_kpi_choices)

    class Meta:
        model = ScorecardLine
        fields = ["position", "kpi", "weight", "target", "bands"]


class ScorecardLineFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        lines = [
            (
                form.cleaned_data["kpi"],
                form.cleaned_data.get("weight"),
                form.cleaned_data.get("target"),
                form.cleaned_data.get("bands"),
            )
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        errors = services.template_errors(lines)
        if errors:
            raise ValidationError(errors)


class ScorecardLineInline(LabelledTabularInline):
    model = ScorecardLine
    form = ScorecardLineForm
    formset = ScorecardLineFormSet
    extra = 0
    fields = ["position", "kpi", "weight", "target", "bands"]


@admin.register(ScorecardTemplate)
class ScorecardTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "tier", "partner_type", "is_active", "kpi_count", "updated_at"]
    list_filter = ["is_active", "tier", "partner_type"]
    search_fields = ["name"]
    list_select_related = ["tier"]
    fields = ["name", "description", "tier", "partner_type", "is_active"]
    inlines = [ScorecardLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(line_count=Count("lines"))

    @admin.display(description=_("KPIs"), ordering="line_count")
    def kpi_count(self, obj: ScorecardTemplate) -> int:
        return obj.line_count

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        services.template_saved(actor=request.actor, template=form.instance, created=not change)


# --- qualitative assessments -------------------------------------------------------------------------
class AssessmentAdminForm(forms.ModelForm):
    actor: Actor  # set by the admin's get_form

    class Meta:
        model = PartnerAssessment
        fields = ["partner", "period_start", "rating", "comment"]

    def clean_period_start(self) -> Any:
        day = self.cleaned_data.get("period_start")
        # Any day of the quarter names it; stored as its first day (and so checked for a repeat).
        return quarter_start(day) if day else day

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        partner = cleaned.get("partner") or (self.instance.partner if self.instance.partner_id else None)
        period_start = cleaned.get("period_start") or self.instance.period_start
        if partner is not None and period_start is not None and not self.errors:
            try:
                services.assessment_check(
                    actor=self.actor,
                    partner=partner,
                    period_start=period_start,
                    rating=cleaned.get("rating"),
                    comment=cleaned.get("comment", ""),
                )
            except ApplicationError as exc:
                add_form_error(self, exc)
        return cleaned


@admin.register(PartnerAssessment)
class PartnerAssessmentAdmin(NotFoundAdminMixin, BigTableAdmin):
    form = AssessmentAdminForm
    list_display = ["partner", "period_label", "rating", "assessed_by", "updated_at"]
    list_filter = ["rating", "period_start"]
    search_fields = ["partner__legal_name", "comment"]
    list_select_related = ["partner", "assessed_by"]
    readonly_fields = ["assessed_by", "created_at", "updated_at"]

    @admin.display(description=_("quarter"), ordering="period_start")
    def period_label(self, obj: PartnerAssessment) -> str:
        return obj.period_label

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return assessment_policy.scope(request.actor, super().get_queryset(request))

    def get_readonly_fields(self, request: HttpRequest, obj: PartnerAssessment | None = None) -> list[str]:
        # A rating belongs to its partner and quarter; a different one is a new rating.
        return [*self.readonly_fields, "partner", "period_start"] if obj else list(self.readonly_fields)

    def get_fields(self, request: HttpRequest, obj: PartnerAssessment | None = None) -> list[str]:
        return ["partner", "period_start", "rating", "comment", *self.readonly_fields]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "partner":
            # The partners this person rates: a channel account manager's portfolio.
            kwargs["queryset"] = Partner.objects.filter(partner_scope_q(request.actor, "pk")).order_by(
                "legal_name"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.actor
        return form

    def save_model(self, request: HttpRequest, obj: PartnerAssessment, form: Any, change: bool) -> None:
        try:
            saved = services.assessment_record(
                actor=request.actor,
                partner=obj.partner,
                period_start=obj.period_start,
                rating=obj.rating,
                comment=obj.comment,
            )
        except ApplicationError as exc:
            # The form was checked first: only a race (the portfolio changed meanwhile) ends here.
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk, obj.assessed_by = saved.pk, saved.assessed_by
        obj._state.adding = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a rating is replaced by a new one for the quarter, never erased


# --- tier evaluation -----------------------------------------------------------------------------------
class _ReadOnlyTierRows(NotFoundAdminMixin, BigTableAdmin):
    """Rows the tier evaluation writes and services change: read-only here (the vendor's tier
    reviews page decides proposals with a note; approving also works from this list)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(TierGracePeriod)
class TierGracePeriodAdmin(_ReadOnlyTierRows):
    list_display = ["partner", "tier", "status", "started_on", "ends_on", "closed_on"]
    list_filter = ["status", "tier"]
    search_fields = ["partner__legal_name"]
    list_select_related = ["partner", "tier"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return tier_grace_policy.scope(request.actor, super().get_queryset(request))


@admin.register(TierChangeProposal)
class TierChangeProposalAdmin(_ReadOnlyTierRows):
    list_display = ["partner", "direction", "from_tier", "to_tier", "status", "as_of", "decided_by"]
    list_filter = ["status", "direction", "to_tier"]
    search_fields = ["partner__legal_name"]
    list_select_related = ["partner", "from_tier", "to_tier", "decided_by"]
    actions = ["approve_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return tier_proposal_policy.scope(request.actor, super().get_queryset(request))

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.actor.is_vendor and request.actor.vendor_role in TIER_VENDOR_ROLES

    @admin.action(description=_("Approve the selected tier changes"), permissions=["approve"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda actor, proposal: tier_services.tier_proposal_approve(actor=actor, proposal=proposal),
            done_message=lambda n: (
                ngettext("%(n)d tier change approved.", "%(n)d tier changes approved.", n) % {"n": n}
            ),
        )
