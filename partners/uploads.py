"""Checks on uploaded files: size, and the real type of the content (never the extension).

Logos here; documents (MDF proofs, support case attachments) through :func:`validate_document`,
so every app that takes a partner's file applies the same rules."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from prm.errors import ApplicationError

# Pillow format name -> extension we store. SVG is refused: it can carry script.
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}
LOGO_MAX_PIXELS = 4096


def validate_logo(upload: UploadedFile) -> str:
    """Return the safe extension for a valid logo, or raise ApplicationError saying what is wrong."""
    limit = settings.PRM["LOGO_MAX_BYTES"]
    if upload.size > limit:
        raise ApplicationError(
            _("The logo is %(size)s; the limit is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            field="logo",
        )
    try:
        upload.seek(0)
        with Image.open(upload) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ApplicationError(
            _("That file is not an image we can use. Upload a PNG, JPEG, WebP or GIF logo."), field="logo"
        ) from exc
    finally:
        upload.seek(0)
    if image_format not in LOGO_FORMATS:
        raise ApplicationError(
            _("%(format)s images are not accepted. Upload a PNG, JPEG, WebP or GIF logo.")
            % {"format": image_format},
            field="logo",
        )
    if width > LOGO_MAX_PIXELS or height > LOGO_MAX_PIXELS:
        raise ApplicationError(
            _("The logo is %(w)s×%(h)s pixels; keep it under %(max)s pixels a side.")
            % {"w": width, "h": height, "max": LOGO_MAX_PIXELS},
            field="logo",
        )
    # Store under the extension of the real format, whatever the uploaded name said.
    upload.name = f"logo.{LOGO_FORMATS[image_format]}"
    return LOGO_FORMATS[image_format]


# --- Documents: MDF proofs of performance, support case attachments ---------------------------------
# (content type, extension) by leading bytes.
_SIGNATURES: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
]
DOCUMENT_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})


def sniff(head: bytes) -> tuple[str, str] | None:
    for signature, content_type, extension in _SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def validate_document(upload: UploadedFile, *, accepted: str, field: str = "files") -> tuple[str, str]:
    """Return (content type, extension) of an acceptable PDF or image, or raise ApplicationError on
    ``field`` saying what is wrong (``accepted`` names what may be uploaded instead)."""
    limit = settings.PRM["UPLOAD_MAX_BYTES"]
    name = upload.name or "file"
    if upload.size > limit:
        raise ApplicationError(
            _("%(name)s is %(size)s; files may be at most %(limit)s.")
            % {"name": name, "size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
            field=field,
        )
    if upload.size == 0:
        raise ApplicationError(_("%(name)s is empty.") % {"name": name}, field=field)
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    detected = sniff(head)
    if detected is None:
        raise ApplicationError(
            _("%(name)s is not a file type we accept. Upload %(accepted)s.")
            % {"name": name, "accepted": accepted},
            field=field,
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
                _("%(name)s is not a readable image.") % {"name": name}, field=field
            ) from exc
        finally:
            upload.seek(0)
    return content_type, extension
