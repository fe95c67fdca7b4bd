"""Builders for content tests: uploads of every accepted type (and disguised ones), categories,
assets authored and published through the real services, partners by tier, type and region, and
partner users acting in their own database scope."""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Iterable
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from content import services
from content.models import Announcement, Asset, AssetKind, AssetVersion, Category
from partners.models import Partner, PartnerRole, PartnerType, Region
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.factories import media_storage as media_storage  # re-exported: app tests use both
from tests.factories import stored_files as stored_files
from tests.scoping import acting as acting  # re-exported: the app's tests say f.acting

_seq = itertools.count(1)

PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


# --- uploads -------------------------------------------------------------------------------------
def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def pdf(name: str = "deck.pdf", content: bytes = PDF_BYTES) -> SimpleUploadedFile:
    return upload(name, content, "application/pdf")


def png(name: str = "logo.png", size: tuple[int, int] = (40, 20)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return upload(name, buffer.getvalue(), "image/png")


def ooxml(name: str, part: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(part, "<doc/>")
    return upload(name, buffer.getvalue())


def plain_zip(name: str = "slides.pptx") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.exe", b"MZ\x90\x00")
    return upload(name, buffer.getvalue())


def mp4(name: str = "demo.mp4") -> SimpleUploadedFile:
    return upload(name, b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64, "video/mp4")


def exe_as_pdf(name: str = "datasheet.pdf") -> SimpleUploadedFile:
    return upload(name, b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64, "application/pdf")


# --- people --------------------------------------------------------------------------------------
def manager(role: str = VendorRole.CONTENT_MANAGER) -> Actor:
    return factories.vendor_actor(role)


def partner(
    tier: str = "Registered",
    partner_type: str = PartnerType.RESELLER,
    region: str = Region.NORTH_AMERICA,
    **kwargs: Any,
) -> Partner:
    return factories.PartnerFactory(
        tier=factories.tier(tier), partner_type=partner_type, region=region, **kwargs
    )


def member(partner: Partner, role: str = PartnerRole.SALES, **user_kwargs: Any) -> Actor:
    return factories.actor_for(factories.partner_user(partner, role=role, **user_kwargs))


# --- content -------------------------------------------------------------------------------------
def category(name: str | None = None) -> Category:
    name = name or f"Category {next(_seq)}"
    return Category.objects.get_or_create(slug=name.lower().replace(" ", "-"), defaults={"name": name})[0]


def asset(
    title: str | None = None,
    *,
    by: Actor | None = None,
    publish: bool = True,
    file: SimpleUploadedFile | None = None,
    tiers: Iterable[str] = (),
    kind: str = AssetKind.FILE,
    **fields: Any,
) -> Asset:
    """An asset made through the services: a file one gets a PDF version; published unless told."""
    author = by or manager()
    fields.setdefault("category", category("Sales enablement"))
    if kind == AssetKind.LINK:
        fields.setdefault("url", "https://example.com/video")
    made = services.asset_create(
        actor=author,
        title=title or f"Asset {next(_seq)}",
        kind=kind,
        tiers=[factories.tier(name) for name in tiers],
        **fields,
    )
    if kind == AssetKind.FILE:
        services.asset_add_version(actor=author, asset=made, upload=file or pdf())
    if publish:
        services.asset_publish(actor=author, asset=made)
    return Asset.objects.select_related("current_version").get(pk=made.pk)


def announcement(title: str | None = None, *, tiers: Iterable[str] = (), **fields: Any) -> Announcement:
    return services.announcement_create(
        actor=manager(),
        title=title or f"Announcement {next(_seq)}",
        body=fields.pop("body", "Something new for partners."),
        tiers=[factories.tier(name) for name in tiers],
        **fields,
    )


def versions(asset: Asset) -> list[AssetVersion]:
    return list(AssetVersion.objects.filter(asset=asset).order_by("number"))
