"""Proof-of-performance files: size limit and the real type from the content, never the name."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from prm.errors import ApplicationError

# (content type, extension) by leading bytes.
_SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
]
ACCEPTED = _("PDF invoices and PNG, JPEG, GIF or WebP images")


def sniff(head: bytes) -> tuple[str, str] | None:
    for signature, content_type, extension in _SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def validate_proof(upload: UploadedFile) -> tuple[str, str]:
    """Return (content type, extension) of an acceptable proof file or raise ApplicationError."""
    limit = settings.PRM["UPLOAD_MAX_BYTES"]
    name = upload.name or "file"
    if upload.size > limit:
        raise ApplicationError(
            _("%(name)s is %(size)s; files may be at most %(limit)s.")
            % {"name": name, "size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            field="files",
        )
    if upload.size == 0:
        raise ApplicationError(_("%(name)s is empty.") % {"name": name}, field="files")
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    detected = sniff(head)
    if detected is None:
        raise ApplicationError(
            _("%(name)s is not a file type we accept. Upload %(accepted)s.")
            % {"name": name, "accepted": ACCEPTED},
            field="files",
        )
    content_type, extension = detected
    if content_type.startswith("image/"):
        try:
            with Image.open(upload) as image:
                image.verify()
        except (
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            Image.DecompressionBombError,
        ) as exc:
            raise ApplicationError(
                _("%(name)s is not a readable image.") % {"name": name}, field="files"
            ) from exc
        finally:
            upload.seek(0)
    return content_type, extension
