"""Writes for the content library: authoring assets and their versions, the publish / archive
transitions (one function each, audited), announcements, and the usage events partners leave
behind. Refusals raise ApplicationError and store nothing."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.contrib.postgres.search import SearchVector
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max, Value
from django.db.models.fields import TextField
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.models import PartnerType, Region, Tier
from prm import audit, transitions
from prm.errors import ApplicationError
from prm.policies import PermissionDenied
from prm.tenancy import Actor

from . import cobranding
from .models import (
    Announcement,
    Asset,
    AssetEvent,
    AssetKind,
    AssetStatus,
    AssetVersion,
    Category,
    EventKind,
)
from .policies import COBRAND, DOWNLOAD, VIEW, asset_policy, is_content_manager
from .uploads import validate_asset_file

SEARCH_CONFIG = "english"
# The fields an author edits; status, versions and the search vector change only here.
EDITABLE_FIELDS = [
    "title",
    "description",
    "category",
    "tags",
    "kind",
    "url",
    "cobrandable",
    "cobrand_template",
    "publish_at",
    "expires_at",
    "partner_types",
    "regions",
]


def _require_manager(actor: Actor) -> None:
    if not is_content_manager(actor):
        raise PermissionDenied(_("Only content managers and program admins manage the content library."))


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Lower-case, trimmed, each once, in the order given: "Zero Trust" and "zero trust " are one."""
    seen: dict[str, None] = {}
    for tag in tags:
        tag = " ".join(str(tag).split()).lower()[:40]
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def check_asset(asset: Asset) -> None:
    """The rules an asset's fields must meet whatever writes them (service, admin form)."""
    if asset.kind == AssetKind.LINK:
        if not asset.url:
            raise ApplicationError(_("A link needs its address."), field="url")
        if not asset.url.lower().startswith(("https://", "http://")):
            raise ApplicationError(_("Links must start with https:// or http://."), field="url")
    if asset.publish_at and asset.expires_at and asset.expires_at <= asset.publish_at:
        raise ApplicationError(
            _("The expiry must come after the date it becomes visible."), field="expires_at"
        )
    if asset.cobrandable:
        if not (asset.cobrand_template or "").strip():
            raise ApplicationError(
                _("A co-brandable asset needs its co-branding template."), field="cobrand_template"
            )
        asset.cobrand_template = cobranding.clean_template(asset.cobrand_template)
    if not set(asset.partner_types) <= set(PartnerType.values):
        raise ApplicationError(_("Unknown partner type."), field="partner_types")
    if not set(asset.regions) <= set(Region.values):
        raise ApplicationError(_("Unknown region."), field="regions")


def refresh_search(asset: Asset) -> None:
    """Rewrite the asset's full-text vector: the title weighs most, then tags and category, then
    the description. Values, not columns, so the category's name can take part without a join in
    the UPDATE."""
    category = Category.objects.filter(pk=asset.category_id).values_list("name", flat=True).first() or ""

    def text(value: str) -> Value:
        return Value(value, output_field=TextField())

    Asset.objects.filter(pk=asset.pk).update(
        search=SearchVector(text(asset.title), weight="A", config=SEARCH_CONFIG)
        + SearchVector(text(" ".join([*asset.tags, category])), weight="B", config=SEARCH_CONFIG)
        + SearchVector(text(asset.description), weight="C", config=SEARCH_CONFIG)
    )


@transaction.atomic
def asset_save(*, actor: Actor, asset: Asset, tiers: Iterable[Tier] | None = None) -> Asset:
    """Create or edit an asset's authored fields (the admin form and ``asset_create`` come here).
    ``tiers`` None leaves them as they are (the admin saves the M2M itself)."""
    _require_manager(actor)
    asset.tags = normalise_tags(asset.tags)
    if asset.kind == AssetKind.FILE:
        asset.url = ""
    check_asset(asset)
    if asset.pk is None:
        asset.created_by = actor.user
        asset.status = AssetStatus.DRAFT
        asset.save()
        audit.record(
            actor=actor.user,
            action="content.asset_created",
            target=asset,
            after=audit.snapshot(asset, ["title", "kind", "category", "status"]),
        )
    else:
        before = Asset.objects.select_for_update().get(pk=asset.pk)
        changed = [name for name in EDITABLE_FIELDS if getattr(before, name) != getattr(asset, name)]
        asset.save(update_fields=[*EDITABLE_FIELDS, "updated_at"])
        if changed:
            audit.record(
                actor=actor.user,
                action="content.asset_changed",
                target=asset,
                before=audit.snapshot(before, changed),
                after=audit.snapshot(asset, changed),
            )
    if tiers is not None:
        asset.tiers.set(tiers)
    refresh_search(asset)
    return asset


def asset_create(
    *,
    actor: Actor,
    title: str,
    category: Category,
    kind: str = AssetKind.FILE,
    description: str = "",
    url: str = "",
    tags: Iterable[str] = (),
    tiers: Iterable[Tier] = (),
    partner_types: Iterable[str] = (),
    regions: Iterable[str] = (),
    publish_at: datetime | None = None,
    expires_at: datetime | None = None,
    cobrandable: bool = False,
    cobrand_template: str = "",
) -> Asset:
    asset = Asset(
        title=title.strip(),
        category=category,
        kind=kind,
        description=description,
        url=url,
        tags=list(tags),
        partner_types=list(partner_types),
        regions=list(regions),
        publish_at=publish_at,
        expires_at=expires_at,
        cobrandable=cobrandable,
        cobrand_template=cobrand_template,
    )
    if not asset.title:
        raise ApplicationError(_("Give the asset a title."), field="title")
    return asset_save(actor=actor, asset=asset, tiers=list(tiers))


@transaction.atomic
def asset_add_version(*, actor: Actor, asset: Asset, upload: UploadedFile) -> AssetVersion:
    """Store a new file as the asset's newest version (the one partners get). Validated before
    anything is written: a refused upload leaves no file and no row."""
    _require_manager(actor)
    sniffed = validate_asset_file(upload)
    given = asset
    asset = Asset.objects.select_for_update().get(pk=given.pk)
    if asset.kind != AssetKind.FILE:
        raise ApplicationError(_("Links have no file versions."), field="upload")
    number = (asset.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    original = (upload.name or f"file.{sniffed.extension}").replace("\\", "/").rsplit("/", 1)[-1][:255]
    version = AssetVersion(
        asset=asset,
        number=number,
        original_filename=original,
        size=upload.size,
        content_type=sniffed.content_type,
        uploaded_by=actor.user,
    )
    upload.seek(0)
    # The stored name takes the sniffed extension, never the uploaded one.
    version.file.save(f"upload.{sniffed.extension}", upload, save=False)
    version.save()
    asset.current_version = version
    asset.save(update_fields=["current_version", "updated_at"])
    given.current_version = version  # the caller's instance offers the new version at once
    audit.record(
        actor=actor.user,
        action="content.version_added",
        target=asset,
        after={"version": number, "file": original, "size": upload.size, "type": sniffed.content_type},
    )
    return version


@transaction.atomic
def _transition(*, actor: Actor, asset: Asset, to: str, action: str) -> Asset:
    _require_manager(actor)
    asset = transitions.lock(asset)
    if asset.status == to:
        return asset
    with transitions.transition(asset, to=to, actor=actor.user, action=action) as change:
        if to == AssetStatus.PUBLISHED:
            change.set(published_at=timezone.now())
    return asset


def asset_publish(*, actor: Actor, asset: Asset) -> Asset:
    """Make the asset visible to the partners it is meant for (from its ``publish_at``, if set)."""
    current = Asset.objects.get(pk=asset.pk)
    if current.kind == AssetKind.FILE and current.current_version_id is None:
        raise ApplicationError(_("Upload a file before publishing “%(title)s”.") % {"title": current.title})
    check_asset(current)
    return _transition(actor=actor, asset=asset, to=AssetStatus.PUBLISHED, action="content.asset_published")


def asset_archive(*, actor: Actor, asset: Asset) -> Asset:
    """Take the asset away from partners; its versions and usage history are kept."""
    return _transition(actor=actor, asset=asset, to=AssetStatus.ARCHIVED, action="content.asset_archived")


# --- Usage ---------------------------------------------------------------------------------------
_ACTION_FOR_EVENT = {EventKind.VIEW: VIEW, EventKind.DOWNLOAD: DOWNLOAD, EventKind.COBRANDED: COBRAND}


def record_event(*, actor: Actor, asset: Asset, kind: str) -> AssetEvent | None:
    """A partner user viewed, downloaded or co-branded an asset they are entitled to. Vendor staff
    previewing the library leave no trace (the report counts partners' use only). Not audited:
    the event row is itself the record, and a view is not a state change."""
    if not actor.is_partner:
        return None
    if not asset_policy.can(actor, _ACTION_FOR_EVENT[EventKind(kind)], asset):
        raise PermissionDenied(_("This asset is not available to you."))
    version_id = asset.current_version_id if kind != EventKind.VIEW else None
    return AssetEvent.objects.create(
        partner_id=actor.partner_id, user=actor.user, asset=asset, version_id=version_id, kind=kind
    )


# --- Announcements -------------------------------------------------------------------------------
@transaction.atomic
def announcement_save(
    *, actor: Actor, announcement: Announcement, tiers: Iterable[Tier] | None = None
) -> Announcement:
    _require_manager(actor)
    announcement.title = (announcement.title or "").strip()
    if not announcement.title or not (announcement.body or "").strip():
        raise ApplicationError(_("An announcement needs a title and a text."))
    if announcement.link and not announcement.link.lower().startswith(("https://", "http://")):
        raise ApplicationError(_("Links must start with https:// or http://."), field="link")
    if announcement.publish_at is None:
        announcement.publish_at = timezone.now()
    if announcement.expires_at and announcement.expires_at <= announcement.publish_at:
        raise ApplicationError(
            _("The expiry must come after the date it becomes visible."), field="expires_at"
        )
    created = announcement.pk is None
    if created:
        announcement.created_by = actor.user
    announcement.save()
    if tiers is not None:
        announcement.tiers.set(tiers)
    audit.record(
        actor=actor.user,
        action="content.announcement_created" if created else "content.announcement_changed",
        target=announcement,
        after=audit.snapshot(announcement, ["title", "publish_at", "expires_at"]),
    )
    return announcement


def announcement_create(*, actor: Actor, title: str, body: str, **fields: Any) -> Announcement:
    tiers = fields.pop("tiers", ())
    return announcement_save(
        actor=actor, announcement=Announcement(title=title, body=body, **fields), tiers=list(tiers)
    )
