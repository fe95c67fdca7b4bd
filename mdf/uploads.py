"""Proof-of-performance files: size limit and the real type from the content, never the name (the
rules every partner document follows: partners.uploads.validate_document)."""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from partners.uploads import sniff, validate_document

__all__ = ["ACCEPTED", "sniff", "validate_proof"]

ACCEPTED = _("PDF invoices and PNG, JPEG, GIF or WebP images")


def validate_proof(upload: UploadedFile) -> tuple[str, str]:
    """Return (content type, extension) of an acceptable proof file or raise ApplicationError."""
    return validate_document(upload, accepted=str(ACCEPTED), field="files")
