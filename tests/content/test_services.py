"""Authoring the library through the services: uploads are checked for size and for their real
type (never the name), and a refusal stores nothing; versions number up and the newest is the one
partners get; publish and archive are the only transitions, audited; co-branding templates accept
only the placeholders; usage events are for entitled partner users only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from content import services
from content.models import AssetEvent, AssetKind, AssetStatus, AssetVersion, EventKind
from prm.errors import ApplicationError
from prm.models import AuditEvent
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from tests import factories
from tests.content import factories as f

pytestmark = pytest.mark.django_db


def audit_actions(target: Any) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_id=str(target.pk), action__startswith="content.")
        .order_by("pk")
        .values_list("action", flat=True)
    )


# --- uploads -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "content_type", "extension"),
    [
        (lambda: f.pdf(), "application/pdf", "pdf"),
        (lambda: f.png(), "image/png", "png"),
        (lambda: f.upload("photo.jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 32), "image/jpeg", "jpg"),
        (
            lambda: f.ooxml("deck.pptx", "ppt/presentation.xml"),
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "pptx",
        ),
        (
            lambda: f.ooxml("brief.docx", "word/document.xml"),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
        ),
        (
            lambda: f.ooxml("prices.xlsx", "xl/workbook.xml"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        (lambda: f.mp4(), "video/mp4", "mp4"),
    ],
)
def test_accepted_types_are_sniffed_and_stored_under_the_asset(
    make: Any, content_type: str, extension: str, media: Path
) -> None:
    asset = f.asset(publish=False, file=f.pdf())
    upload = make()
    version = services.asset_add_version(actor=f.manager(), asset=asset, upload=upload)
    assert version.content_type == content_type
    assert version.original_filename == upload.name
    assert version.number == 2
    assert version.file.name.startswith(f"content/assets/{asset.pk}/")
    assert version.file.name.endswith(f".{extension}")
    assert upload.name not in version.file.name  # the stored name never carries the uploaded one
    with version.file.open("rb") as handle:
        upload.seek(0)
        assert handle.read() == upload.read()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: f.exe_as_pdf(), "not a file type the library accepts"),
        (lambda: f.plain_zip(), "not a file type the library accepts"),
        (lambda: f.upload("notes.txt", b"just some text"), "not a file type the library accepts"),
        (lambda: f.upload("empty.pdf", b""), "is empty"),
    ],
)
def test_refused_uploads_store_nothing(make: Any, message: str, media: Path) -> None:
    asset = f.asset(publish=False, file=f.pdf())
    before = f.stored_files(media)
    with pytest.raises(ApplicationError, match=message):
        services.asset_add_version(actor=f.manager(), asset=asset, upload=make())
    assert f.stored_files(media) == before
    assert AssetVersion.objects.filter(asset=asset).count() == 1
    asset.refresh_from_db()
    assert asset.current_version.number == 1


def test_too_large_upload_is_refused_with_the_limit(settings: Any, media: Path) -> None:
    settings.PRM = {**settings.PRM, "UPLOAD_MAX_BYTES": 100}
    asset = f.asset(publish=False, file=f.pdf())
    before = f.stored_files(media)
    with pytest.raises(ApplicationError, match="at most 100"):
        services.asset_add_version(
            actor=f.manager(), asset=asset, upload=f.pdf(content=b"%PDF-" + b"x" * 200)
        )
    assert f.stored_files(media) == before


def test_links_have_no_versions() -> None:
    link = f.asset(kind=AssetKind.LINK, publish=False)
    with pytest.raises(ApplicationError, match="no file versions"):
        services.asset_add_version(actor=f.manager(), asset=link, upload=f.pdf())


def test_newest_version_is_current_and_old_ones_are_kept() -> None:
    asset = f.asset(file=f.pdf("v1.pdf"))
    services.asset_add_version(actor=f.manager(), asset=asset, upload=f.pdf("v2.pdf"))
    asset.refresh_from_db()
    assert [v.original_filename for v in f.versions(asset)] == ["v1.pdf", "v2.pdf"]
    assert asset.current_version.original_filename == "v2.pdf"
    assert audit_actions(asset).count("content.version_added") == 2


# --- authoring and transitions ------------------------------------------------------------------
def test_create_normalises_tags_and_audits() -> None:
    asset = f.asset(publish=False, tags=["Zero Trust", "zero  trust ", "", "Licensing"])
    assert asset.tags == ["zero trust", "licensing"]
    assert asset.status == AssetStatus.DRAFT
    assert audit_actions(asset)[0] == "content.asset_created"


@pytest.mark.parametrize("url", ["", "javascript:alert(1)", "ftp://files.example/x"])
def test_links_need_a_web_address(url: str) -> None:
    with pytest.raises(ApplicationError):
        f.asset(kind=AssetKind.LINK, url=url, publish=False)


def test_expiry_must_follow_the_start() -> None:
    from django.utils import timezone

    now = timezone.now()
    with pytest.raises(ApplicationError, match="expiry"):
        f.asset(publish=False, publish_at=now, expires_at=now)


def test_publish_needs_a_file() -> None:
    asset = services.asset_create(actor=f.manager(), title="Empty", category=f.category())
    with pytest.raises(ApplicationError, match="Upload a file"):
        services.asset_publish(actor=f.manager(), asset=asset)
    asset.refresh_from_db()
    assert asset.status == AssetStatus.DRAFT


def test_publish_archive_and_republish_are_audited() -> None:
    asset = f.asset(publish=False)
    manager = f.manager()
    published = services.asset_publish(actor=manager, asset=asset)
    assert published.status == AssetStatus.PUBLISHED and published.published_at is not None
    assert services.asset_archive(actor=manager, asset=asset).status == AssetStatus.ARCHIVED
    assert services.asset_publish(actor=manager, asset=asset).status == AssetStatus.PUBLISHED
    assert audit_actions(asset)[-3:] == [
        "content.asset_published",
        "content.asset_archived",
        "content.asset_published",
    ]
    event = AuditEvent.objects.filter(action="content.asset_archived", target_id=str(asset.pk)).get()
    assert event.before == {"status": "published"} and event.after == {"status": "archived"}


def test_publishing_twice_changes_nothing() -> None:
    asset = f.asset()
    count = len(audit_actions(asset))
    services.asset_publish(actor=f.manager(), asset=asset)
    assert len(audit_actions(asset)) == count


@pytest.mark.parametrize("role", [VendorRole.FINANCE, VendorRole.CHANNEL_ACCOUNT_MANAGER])
def test_only_content_managers_and_program_admins_author(role: str) -> None:
    asset = f.asset(publish=False)
    actor = f.manager(role)
    with pytest.raises(PermissionDenied):
        services.asset_create(actor=actor, title="Nope", category=f.category())
    with pytest.raises(PermissionDenied):
        services.asset_publish(actor=actor, asset=asset)
    with pytest.raises(PermissionDenied):
        services.asset_add_version(actor=actor, asset=asset, upload=f.pdf())
    assert f.asset(by=f.manager(VendorRole.PROGRAM_ADMIN)).status == AssetStatus.PUBLISHED


def test_partner_users_cannot_author(partner: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.asset_create(actor=f.member(partner), title="Mine", category=f.category())


# --- co-branding templates ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "template",
    [
        "<p>{% debug %}</p>",
        "<p>{{ settings.SECRET_KEY }}</p>",
        "<p>{{ partner.channel_account_manager.email }}</p>",
        "<p>{% include 'base.html' %}</p>",
        "<p>{{ user.password }}</p>",
    ],
)
def test_cobrand_templates_accept_only_the_placeholders(template: str) -> None:
    with pytest.raises(ApplicationError, match="not allowed"):
        f.asset(publish=False, cobrandable=True, cobrand_template=template)


def test_cobrand_template_is_sanitised() -> None:
    asset = f.asset(
        publish=False,
        cobrandable=True,
        cobrand_template='<h1 onclick="x()">Hi {{ partner.legal_name }}</h1><script>alert(1)</script>'
        '<img src="https://tracker.example/p.gif">',
    )
    assert asset.cobrand_template == "<h1>Hi {{ partner.legal_name }}</h1>"


def test_cobrandable_needs_a_template() -> None:
    with pytest.raises(ApplicationError, match="co-branding template"):
        f.asset(publish=False, cobrandable=True)


# --- usage events -------------------------------------------------------------------------------
def test_record_event_for_an_entitled_partner_user(partner: Any) -> None:
    asset = f.asset()
    sam = f.member(partner)
    event = services.record_event(actor=sam, asset=asset, kind=EventKind.DOWNLOAD)
    assert (event.partner_id, event.user_id, event.version_id) == (
        partner.pk,
        sam.user.pk,
        asset.current_version_id,
    )


def test_record_event_refused_when_not_entitled_and_vendor_leaves_no_trace(partner: Any) -> None:
    gold_only = f.asset(tiers=["Gold"])
    with pytest.raises(PermissionDenied):
        services.record_event(actor=f.member(partner), asset=gold_only, kind=EventKind.VIEW)
    assert services.record_event(actor=factories.vendor_actor(), asset=gold_only, kind=EventKind.VIEW) is None
    assert not AssetEvent.objects.filter(asset=gold_only).exists()


def test_orphan_sweeper_covers_library_files(media: Path) -> None:
    """A file left behind by a rolled-back upload is swept; the versions' files are kept."""
    from datetime import timedelta

    from django.core.files.storage import FileSystemStorage
    from django.utils import timezone

    from prm.files import sweep_orphan_files

    asset = f.asset()
    orphan = media / "content" / "assets" / str(asset.pk) / "left-behind.pdf"
    orphan.write_bytes(b"%PDF-1.4 orphan")
    result = sweep_orphan_files(
        storage=FileSystemStorage(location=str(media)),
        grace=timedelta(0),
        now=timezone.now() + timedelta(minutes=5),
    )
    assert result.deleted == [f"content/assets/{asset.pk}/left-behind.pdf"]
    assert (media / asset.current_version.file.name).exists()
