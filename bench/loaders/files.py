"""A few small real files that every generated file row points at (claim proofs, content asset
versions), so a download of any of them works without a million files on disk.

They live under ``bench/`` in the default storage (``PRM_MEDIA_ROOT``), outside the folders the
orphan sweep walks (``prm.files.UPLOAD_ROOTS``). A process that serves the loaded database from
another media root calls :func:`ensure_placeholders` once itself.
"""

from __future__ import annotations

import base64


def _pdf(text: str) -> bytes:
    """A valid one-page PDF showing ``text``, with its cross-reference table."""
    stream = f"BT /F1 24 Tf 72 760 Td ({text}) Tj ET".encode()
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length %d>>stream\n%s\nendstream" % (len(stream), stream),
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


# The smallest files each viewer opens: a one-page PDF and a 1x1 PNG.
_PDF = _pdf("Placeholder")
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

# key -> (content, content type)
PLACEHOLDERS: dict[str, tuple[bytes, str]] = {
    "bench/placeholders/document.pdf": (_PDF, "application/pdf"),
    "bench/placeholders/invoice.pdf": (_PDF, "application/pdf"),
    "bench/placeholders/photo.png": (_PNG, "image/png"),
}
PROOF_KEYS = list(PLACEHOLDERS)
ASSET_KEYS = ["bench/placeholders/document.pdf", "bench/placeholders/photo.png"]


def size_of(key: str) -> int:
    return len(PLACEHOLDERS[key][0])


def content_type_of(key: str) -> str:
    return PLACEHOLDERS[key][1]


def ensure_placeholders() -> int:
    """Write the placeholder files that are missing; how many were written."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    written = 0
    for key, (content, _content_type) in PLACEHOLDERS.items():
        if not default_storage.exists(key):
            # The storage keeps the name as given when it is free (it is: exists() said so).
            default_storage.save(key, ContentFile(content))
            written += 1
    return written
