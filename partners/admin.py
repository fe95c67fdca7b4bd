"""Admin for partners. Changes that are state transitions call the same services as the console,
so the admin and the portal can never disagree, and every change is audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from prm import audit
from prm.admin import (
    AuditEventAdmin,
    BigTableAdmin,
    DirectActionCheckboxMixin,
    LabelledTabularInline,
    NotFoundAdminMixin,
)
from prm.admin_actions import run_each
from prm.models import AuditEvent
from prm.pagination import CappedKeysInSubqueryPaginator

from . import services
from .models import Invitation, Membership, Partner, PartnerApplication, PartnerUserObjectPermission, Tier
from .policies import PORTFOLIO_PERMISSION, partner_scope_q, portfolio_partner_ids, vendor_sees_all


class WholeProgramIndexWalkMixin:
    """For a changelist whose paginator can walk the list's ordering index (prm.views'
    keys-first paginators, ``walk_index``): walking it suits the whole program (vendor staff who
    see every partner), not a search or a channel account manager's portfolio, a few rows better
    read and sorted (a CAM's search walked it for 3-6 s)."""

    def get_paginator(self, request: HttpRequest, queryset: QuerySet, per_page: int, **kwargs: Any) -> Any:
        paginator = super().get_paginator(request, queryset, per_page, **kwargs)  # type: ignore[misc]
        actor = getattr(request, "actor", None)
        if request.GET.get("q") or actor is None or not vendor_sees_all(actor):
            paginator.walk_index = False
        return paginator


class ScopedAdminMixin(NotFoundAdminMixin):
    """Admin querysets pass through the same scoping path as the portal (a CAM sees only the
    partners in their portfolio); a row outside it is the same 404 as a missing one."""

    partner_field = "partner"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset.filter(partner_scope_q(request.actor, self.partner_field))


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "rank",
        "min_trailing_revenue",
        "revenue_currency",
        "min_certified_people",
        "min_deals_won",
        "deal_registration_discount_percent",
        "mdf_accrual_percent",
        "lead_weight",
        "min_score",
        "upgrade_needs_approval",
    ]
    ordering = ["rank"]


class MembershipInline(LabelledTabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "is_active", "created_at"]
    readonly_fields = ["user", "role", "is_active", "created_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # people join by invitation


# No django-guardian GuardedModelAdminMixin here: its object-permission pages let anyone holding
# change_partner (channel account managers do) grant any user any right on a partner, outside the
# program-admin-only portfolio services and without an audit event. Portfolios change in the
# partner console (services.portfolio_grant / portfolio_revoke / partner_assign_channel_manager);
# the admin shows them read-only, and the pages' old addresses fall through to a plain 404.
@admin.register(Partner)
class PartnerAdmin(DirectActionCheckboxMixin, ScopedAdminMixin, BigTableAdmin):
    partner_field = "pk"
    list_display = [
        "legal_name",
        "partner_type",
        "country_name",
        "region",
        "tier",
        "status",
        "channel_account_manager",
    ]
    list_filter = ["status", "partner_type", "region", "tier", "channel_account_manager"]
    search_fields = ["legal_name", "website_domain"]
    list_select_related = ["tier", "channel_account_manager"]
    # Status, tier and manager change through services (audited); the admin shows them read-only.
    readonly_fields = [
        "status",
        "tier",
        "channel_account_manager",
        "portfolio",
        "agreement_version",
        "agreement_accepted_by",
        "agreement_accepted_at",
        "created_at",
        "updated_at",
    ]
    fields = [
        "legal_name",
        "partner_type",
        "country",
        "region",
        "website_domain",
        "phone",
        "contact_email",
        "status",
        "tier",
        "channel_account_manager",
        "portfolio",
        "agreement_version",
        "agreement_accepted_by",
        "agreement_accepted_at",
        "created_at",
        "updated_at",
    ]
    inlines = [MembershipInline]
    actions = ["suspend_selected", "reinstate_selected"]
    # A page's 100 partners by their keys first, then joined to their tier and manager: joined
    # first, all 10,000 were (row-level security hides the size from the planner), then sorted.
    paginator = CappedKeysInSubqueryPaginator

    @admin.display(description=Partner._meta.get_field("country").verbose_name, ordering="country")
    def country_name(self, obj: Partner) -> str:
        # The country's name, as the column showed it. Listed as the field, the admin looked each
        # row's value up in the field's flattened choices, rebuilt per cell from the ~250
        # translated country names: two thirds of the changelist's time (1.2 s of 2 s for 100
        # rows in a profile).
        return obj.country.name

    def view_on_site(self, obj: Partner) -> str:
        # The change page's "View on site" button opens the partner 360 page (partners.vendor_360).
        return reverse("vendor:partner_360", args=[obj.pk])

    @admin.display(description=_("portfolio (channel account managers who work this partner)"))
    def portfolio(self, obj: Partner) -> str:
        # ``obj`` came through the scoped get_queryset(), so its holders are the actor's to see.
        emails = (
            PartnerUserObjectPermission.objects.filter(
                content_object_id=obj.pk, permission__codename=PORTFOLIO_PERMISSION
            )
            .order_by("user__email")
            .values_list("user__email", flat=True)
        )
        return ", ".join(emails) or "—"

    def save_model(self, request: HttpRequest, obj: Partner, form: Any, change: bool) -> None:
        if change:
            services.partner_update_profile(
                actor=request.actor,
                partner=obj,
                data={
                    name: form.cleaned_data[name]
                    for name in services.PROFILE_FIELDS
                    if name in form.cleaned_data
                },
            )
        else:
            super().save_model(request, obj, form, change)
            audit.record(
                actor=request.user,
                action="partner.created",
                target=obj,
                partner_id=obj.pk,
                after=audit.snapshot(obj, ["legal_name", "status", "tier"]),
            )

    @admin.action(description=_("Suspend selected partners"))
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(
            request,
            queryset,
            lambda actor, p: services.partner_suspend(
                actor=actor, partner=p, reason="Suspended from the admin"
            ),
        )

    @admin.action(description=_("Reinstate selected partners"))
    def reinstate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(request, queryset, lambda actor, p: services.partner_reinstate(actor=actor, partner=p))

    def _run(self, request: HttpRequest, queryset: QuerySet, action: Any) -> None:
        run_each(
            self,
            request,
            queryset,
            action,
            done_message=lambda n: _("%(count)s partners updated.") % {"count": n},
        )


@admin.register(Membership)
class MembershipAdmin(ScopedAdminMixin, BigTableAdmin):
    list_display = ["user", "partner", "role", "is_active", "created_at"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__email", "user__full_name", "partner__legal_name"]
    list_select_related = ["user", "partner"]
    readonly_fields = ["user", "partner", "role", "is_active", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(ScopedAdminMixin, BigTableAdmin):
    list_display = [
        "email",
        "partner",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
        "accepted_at",
        "revoked_at",
    ]
    list_filter = ["role"]
    search_fields = ["email", "partner__legal_name"]
    list_select_related = ["partner", "invited_by"]
    readonly_fields = [f.name for f in Invitation._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(PartnerApplication)
class PartnerApplicationAdmin(admin.ModelAdmin):
    list_display = ["company_name", "partner_type", "country", "contact_email", "status", "submitted_at"]
    list_filter = ["status", "partner_type", "region"]
    search_fields = ["company_name", "website_domain", "contact_email"]
    date_hierarchy = "submitted_at"
    readonly_fields = ["status", "reviewed_by", "reviewed_at", "rejection_reason", "partner", "submitted_at"]
    actions = ["approve_selected", "reject_selected"]

    @admin.action(description=_("Approve selected applications (invites the applicant)"))
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda actor, application: services.application_approve(actor=actor, application=application),
            row_done_message=lambda application: _("%(name)s approved.") % {"name": application},
        )

    @admin.action(description=_("Reject selected applications"))
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda actor, application: services.application_reject(
                actor=actor,
                application=application,
                reason="Your profile does not match our current program needs.",
            ),
            row_done_message=lambda application: _("%(name)s rejected.") % {"name": application},
        )


# The audit trail in the admin follows the same scoping path: a channel account manager sees the
# history of the partners in their portfolio only.
admin.site.unregister(AuditEvent)


@admin.register(AuditEvent)
class ScopedAuditEventAdmin(ScopedAdminMixin, AuditEventAdmin):
    partner_field = "partner_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        actor = request.actor
        queryset = AuditEventAdmin.get_queryset(self, request)
        if vendor_sees_all(actor):
            return queryset
        return (
            queryset.filter(partner_id__in=portfolio_partner_ids(actor))
            if actor.is_vendor
            else queryset.none()
        )


# The performance engine's admin (KPI switches, scorecard templates, ratings) lives beside it.
from .performance import admin as performance_admin  # noqa: E402, F401

# The support settings (case kinds, SLA targets, teams) likewise.
from .support import admin as support_admin  # noqa: E402, F401
