"""Checks on library uploads: the size limit, and the real type read from the content (never from
the name or the browser's claim), so a renamed executable cannot pose as a PDF."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from prm.errors import ApplicationError

ACCEPTED = _("PDF, PNG, JPEG, PowerPoint, Word or Excel (.pptx, .docx, .xlsx) or MP4 files")

# Office Open XML documents are zip archives; the part that only that kind of document has tells
# them apart (read from the archive's directory only: nothing is decompressed).
_OOXML_PARTS = {
    "ppt/presentation.xml": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pptx",
    ),
    "word/document.xml": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    "xl/workbook.xml": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    extension: str


def _sniff_ooxml(upload: UploadedFile) -> Sniffed | None:
    try:
        upload.seek(0)
        with zipfile.ZipFile(upload) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    finally:
        upload.seek(0)
    if "[Content_Types].xml" not in names:
        return None
    for part, (content_type, extension) in _OOXML_PARTS.items():
        if part in names:
            return Sniffed(content_type, extension)
    return None


def sniff(upload: UploadedFile) -> Sniffed | None:
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return Sniffed("application/pdf", "pdf")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image/png", "png")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image/jpeg", "jpg")
    # ISO base media: a box size, then "ftyp" and a brand.
    if head[4:8] == b"ftyp":
        return Sniffed("video/mp4", "mp4")
    if head.startswith(b"PK\x03\x04"):
        return _sniff_ooxml(upload)
    return None


def validate_asset_file(upload: UploadedFile) -> Sniffed:
    """The sniffed type of an acceptable library file, or an ApplicationError saying what is wrong."""
    limit = settings.PRM["UPLOAD_MAX_BYTES"]
    name = upload.name or _("The file")
    if upload.size is None or upload.size == 0:
        raise ApplicationError(_("%(name)s is empty.") % {"name": name}, field="upload")
    if upload.size > limit:
        raise ApplicationError(
            _("%(name)s is %(size)s; files may be at most %(limit)s.")
            % {"name": name, "size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            field="upload",
        )
    sniffed = sniff(upload)
    if sniffed is None:
        raise ApplicationError(
            _("%(name)s is not a file type the library accepts. Upload %(accepted)s.")
            % {"name": name, "accepted": ACCEPTED},
            field="upload",
        )
    return sniffed
