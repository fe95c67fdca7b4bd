"""The vendor's support settings in the admin: case kinds, SLA targets and teams (no tenant rows:
cases themselves are worked in the console, through the services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from partners.models import CaseKind, SlaTarget, SupportTeam
from prm.admin import LabelledListEditableMixin


@admin.register(CaseKind)
class CaseKindAdmin(LabelledListEditableMixin, admin.ModelAdmin):
    list_display = ["name", "key", "is_active", "position"]
    list_editable = ["is_active", "position"]
    search_fields = ["name", "key"]
    prepopulated_fields = {"key": ["name"]}

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Cases keep their kind: a kind nobody should pick any more is switched off instead.
        return False


@admin.register(SlaTarget)
class SlaTargetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "kind", "priority", "first_response_hours", "resolution_hours"]
    list_filter = ["priority", "kind"]


@admin.register(SupportTeam)
class SupportTeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    filter_horizontal = ["members"]
    search_fields = ["name"]

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "members":
            from django.contrib.auth import get_user_model

            # Vendor staff only: a partner's user never works cases.
            kwargs["queryset"] = get_user_model().objects.exclude(vendor_role="").order_by("email")
        return super().formfield_for_manytomany(db_field, request, **kwargs)
