"""Content library: vendor-owned assets (files with versions, or links) in categories with tags,
shown to the partners an asset's audience rules entitle; announcements for the partner home page;
and the tenant-owned record of who viewed, downloaded or co-branded what."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import Partner, PartnerType, Region, Tier
from prm.transitions import StateMachine


class Category(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class AudienceRules(models.Model):
    """Who is entitled, and when. Every empty rule means "everybody"; a partner must match all
    non-empty rules (``content.policies.audience_q`` is the one place that reads them)."""

    tiers = models.ManyToManyField(
        Tier,
        blank=True,
        related_name="+",
        verbose_name=_("tiers"),
        help_text=_("Leave empty for every tier."),
    )
    partner_types = ArrayField(
        models.CharField(max_length=32, choices=PartnerType.choices),
        default=list,
        blank=True,
        verbose_name=_("partner types"),
        help_text=_("Leave empty for every partner type."),
    )
    regions = ArrayField(
        models.CharField(max_length=8, choices=Region.choices),
        default=list,
        blank=True,
        verbose_name=_("regions"),
        help_text=_("Leave empty for every region."),
    )
    publish_at = models.DateTimeField(
        _("visible from"), null=True, blank=True, help_text=_("Empty: as soon as it is published.")
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, help_text=_("Empty: never."))

    class Meta:
        abstract = True


class AssetKind(models.TextChoices):
    FILE = "file", _("File")
    LINK = "link", _("Link")


class AssetStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


# The only status changes an asset goes through; content.services enforces them.
ASSET_TRANSITIONS: dict[str, set[str]] = {
    AssetStatus.DRAFT: {AssetStatus.PUBLISHED, AssetStatus.ARCHIVED},
    AssetStatus.PUBLISHED: {AssetStatus.ARCHIVED},
    AssetStatus.ARCHIVED: {AssetStatus.PUBLISHED},
}


class Asset(AudienceRules):
    """Vendor content, not tenant-owned: one row serves every entitled partner."""

    TRANSITIONS = StateMachine(ASSET_TRANSITIONS, refusal=_("A %(current)s asset cannot be %(target)s."))

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="assets", verbose_name=_("category")
    )
    tags = ArrayField(
        models.CharField(max_length=40), default=list, blank=True, verbose_name=_("tags"), size=20
    )
    kind = models.CharField(_("kind"), max_length=8, choices=AssetKind.choices, default=AssetKind.FILE)
    url = models.URLField(_("link"), max_length=500, blank=True, help_text=_("For links only."))
    status = models.CharField(
        _("status"), max_length=12, choices=AssetStatus.choices, default=AssetStatus.DRAFT
    )
    cobrandable = models.BooleanField(
        _("co-brandable"), default=False, help_text=_("Partners can download it as a PDF with their logo.")
    )
    cobrand_template = models.TextField(
        _("co-branding template (HTML)"),
        blank=True,
        help_text=_(
            "Sanitised HTML with placeholders: {{ partner.legal_name }}, {{ partner.logo }}, "
            "{{ partner.website }}, {{ partner.phone }}, {{ partner.email }}, {{ user.name }}, "
            "{{ user.email }}."
        ),
    )
    # Denormalised by content.services.asset_add_version so lists never look for the newest version.
    current_version = models.ForeignKey(
        "AssetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # Written by content.services (title, description, tags, category): the full-text index.
    search = SearchVectorField(null=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-published_at", "title"]
        indexes = [
            models.Index(fields=["status", "publish_at", "expires_at"], name="asset_window_idx"),
            models.Index(fields=["category", "status"], name="asset_category_idx"),
            GinIndex(fields=["search"], name="asset_search_idx"),
            GinIndex(fields=["tags"], name="asset_tags_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_file(self) -> bool:
        return self.kind == AssetKind.FILE


def asset_version_path(instance: AssetVersion, filename: str) -> str:
    """``content/assets/<asset id>/<uuid>.<ext>``: the stored name never carries the uploaded one
    (kept in ``original_filename``), and the extension is the sniffed type's, set by the service."""
    extension = PurePosixPath(filename).suffix.lower().lstrip(".") or "bin"
    return f"content/assets/{instance.asset_id}/{uuid.uuid4().hex}.{extension}"


class AssetVersion(models.Model):
    """Every upload is kept; the newest is what partners download."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    file = models.FileField(_("file"), upload_to=asset_version_path, max_length=300)
    original_filename = models.CharField(_("original file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size (bytes)"))
    content_type = models.CharField(_("content type"), max_length=120)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["asset", "-number"]
        constraints = [models.UniqueConstraint(fields=["asset", "number"], name="assetversion_number_once")]

    def __str__(self) -> str:
        return f"{self.asset} v{self.number}"


class EventKind(models.TextChoices):
    VIEW = "view", _("Viewed")
    DOWNLOAD = "download", _("Downloaded")
    COBRANDED = "cobranded", _("Co-branded")


class AssetEvent(models.Model):
    """A partner user viewed, downloaded or co-branded an asset. Tenant-owned: a partner's usage
    is its own business, and the vendor report counts it per partner."""

    TENANT_COLUMN = "partner_id"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="events")
    version = models.ForeignKey(
        AssetVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    kind = models.CharField(max_length=12, choices=EventKind.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["asset", "kind"], name="assetevent_asset_kind_idx"),
            models.Index(fields=["asset", "partner"], name="assetevent_asset_partner_idx"),
            models.Index(fields=["partner", "at"], name="assetevent_partner_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.asset_id} by {self.user_id}"


class Announcement(AudienceRules):
    """A short notice on the partner home page, for the partners its audience rules name, inside
    its window."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), help_text=_("Plain text; line breaks are kept."))
    link = models.URLField(_("link"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-publish_at", "-pk"]
        indexes = [models.Index(fields=["publish_at", "expires_at"], name="announcement_window_idx")]

    def __str__(self) -> str:
        return self.title
