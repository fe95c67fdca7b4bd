"""Checks on uploaded files: size, and the real type of the content (never the extension)."""

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
