"""PDFs rendered once per version of what they show, and kept in the default storage.

WeasyPrint needs from a fraction of a second to several seconds of CPU per document; rendering on
every download lets anybody with a download link load the server. Each PDF is therefore stored
under a name derived from a hash of the exact HTML it is rendered from: the same HTML is rendered
once, and any change in what the document shows (a renamed partner, a statement that was paid, a
new logo, another language) gives a new name and one new rendering. Hashing the HTML rather than
listing the inputs means a field added to a template can never be forgotten in the key.

The files live under ``rendered/``, outside the upload folders the orphan sweep walks
(``prm.files.UPLOAD_ROOTS``); when a new version of a document is stored, the older ones in its
folder are deleted. The default storage has no public URL (MEDIA_URL is not served): a stored PDF
leaves only through the view that checked the policy and called ``stored_pdf``. Callers put the
owning object — and for co-branded PDFs the partner — into ``folder``, so two owners never share a
file even if their HTML were identical.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import get_language

logger = logging.getLogger(__name__)

ROOT = "rendered"
# Part of every key: bump it when the renderer changes what the same HTML turns into (a WeasyPrint
# upgrade, other fonts), so every stored PDF is rendered again.
RENDERER_VERSION = "1"


def pdf_name(*, folder: str, key: str) -> str:
    """The stored name of the PDF for ``key`` (the HTML it is rendered from) in ``folder``."""
    digest = hashlib.sha256(f"{RENDERER_VERSION}\n{key}".encode()).hexdigest()[:40]
    return f"{_folder(folder)}/{digest}.pdf"


def stored_pdf(*, folder: str, key: str, render: Callable[[], bytes]) -> bytes:
    """The PDF stored for ``key`` in ``folder``, or ``render()``'s, stored for the next request.

    A storage that fails (S3 unreachable, disk full) costs a rendering, never the download."""
    name = pdf_name(folder=folder, key=key)
    try:
        if default_storage.exists(name):
            with default_storage.open(name, "rb") as handle:
                stored = handle.read()
            if _is_whole_pdf(stored):
                return stored
            # Half a document: a write that crashed, or one another request is still making (local
            # disk writes in place). Never serve it; render afresh and store over it.
            default_storage.delete(name)
    except Exception:
        logger.exception("Could not read the stored PDF %s; rendering it again", name)
    pdf = render()
    try:
        _store(name, pdf)
    except Exception:
        logger.exception("Could not store the PDF %s; it will be rendered again next time", name)
    return pdf


def _folder(folder: str) -> str:
    # Each language has its own folder: its versions do not push the other languages' out.
    return f"{ROOT}/{folder.strip('/')}/{get_language() or 'default'}"


def _is_whole_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")


def _store(name: str, pdf: bytes) -> None:
    saved = default_storage.save(name, ContentFile(pdf))
    if saved != name:
        # Two requests rendered the same version at once and the other stored it first: the
        # storage gave this copy another name, and nobody will ever ask for it.
        default_storage.delete(saved)
    folder, _, current = name.rpartition("/")
    try:
        _, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for other in files:
        if other != current:
            default_storage.delete(f"{folder}/{other}")
