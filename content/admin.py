"""Authoring the library: categories, assets (with their versions and an upload field for a new
one) and announcements. Saving, uploading, publishing and archiving call the same services as
everything else (validated, audited); the status is read-only here. Versions are never edited or
deleted: they are the record of what partners downloaded."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from prm.admin import LabelledTabularInline
from prm.admin_actions import run_each

from . import services
from .forms import AnnouncementAdminForm, AssetAdminForm
from .models import Announcement, Asset, AssetVersion, Category


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    # Reference data with no state or audience of its own: plain admin writes are enough.
    list_display = ["name", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class AssetVersionInline(LabelledTabularInline):
    model = AssetVersion
    extra = 0
    can_delete = False
    ordering = ["-number"]
    fields = ["number", "original_filename", "size", "content_type", "uploaded_by", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # through the form's upload field (validated by the service)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    form = AssetAdminForm
    list_display = [
        "title",
        "category",
        "kind",
        "status",
        "current_version_number",
        "publish_at",
        "expires_at",
    ]
    list_filter = ["status", "kind", "category", "cobrandable"]
    list_select_related = ["category", "current_version"]
    search_fields = ["title", "description"]
    filter_horizontal = ["tiers"]
    readonly_fields = ["status", "published_at", "current_version_number", "usage_link"]
    fieldsets = [
        (None, {"fields": ["title", "description", "category", "tags", "status", "published_at"]}),
        (_("File or link"), {"fields": ["kind", "url", "upload", "current_version_number"]}),
        (
            _("Audience and window"),
            {"fields": ["publish_at", "expires_at", "tiers", "partner_types", "regions"]},
        ),
        (_("Co-branding"), {"fields": ["cobrandable", "cobrand_template"]}),
        (_("Usage"), {"fields": ["usage_link"]}),
    ]
    inlines = [AssetVersionInline]
    actions = ["publish_selected", "archive_selected"]

    @admin.display(description=_("current version"))
    def current_version_number(self, obj: Asset) -> str:
        return f"v{obj.current_version.number}" if obj.current_version_id else "—"

    @admin.display(description=_("usage"))
    def usage_link(self, obj: Asset) -> str:
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}?asset={}">{}</a>',
            reverse("content:vendor_report"),
            obj.pk,
            _("Views and downloads per partner"),
        )

    def has_delete_permission(self, request: HttpRequest, obj: Asset | None = None) -> bool:
        # Once partners could see an asset its usage history matters: archive it instead. Only a
        # draft that was never published may be deleted (with its versions).
        if obj is not None and obj.published_at is not None:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Asset, form: Any, change: bool) -> None:
        actor = request.actor
        services.asset_save(actor=actor, asset=obj)
        if upload := form.cleaned_data.get("upload"):
            services.asset_add_version(actor=actor, asset=obj, upload=upload)

    @admin.action(description=_("Publish selected assets"), permissions=["change"])
    def publish_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda actor, asset: services.asset_publish(actor=actor, asset=asset),
            done_message=lambda n: (
                ngettext("%(n)d asset published.", "%(n)d assets published.", n) % {"n": n}
            ),
        )

    @admin.action(description=_("Archive selected assets"), permissions=["change"])
    def archive_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda actor, asset: services.asset_archive(actor=actor, asset=asset),
            done_message=lambda n: ngettext("%(n)d asset archived.", "%(n)d assets archived.", n) % {"n": n},
        )


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    form = AnnouncementAdminForm
    list_display = ["title", "publish_at", "expires_at"]
    search_fields = ["title", "body"]
    filter_horizontal = ["tiers"]
    date_hierarchy = "publish_at"

    def save_model(self, request: HttpRequest, obj: Announcement, form: Any, change: bool) -> None:
        services.announcement_save(actor=request.actor, announcement=obj)
