"""Stored files nobody points at any more, and the upload handler that stops reading a request
whose files are too large.

An upload is written to storage before the row that names it is committed (the storage is not
part of the database transaction). When that transaction rolls back — a failed validation after
the write, a crashed request, a lost race — the file stays behind with nothing referring to it.
``sweep_orphan_files`` finds such files and deletes them once they are old enough that no
transaction that wrote them can still be open.

Every ``FileField`` of every installed model counts as a reference, so a new upload field is
covered without registering it. Only the folders our upload paths use are walked; anything else
in the bucket or media root is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import models
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from .tenancy import system_scope

logger = logging.getLogger(__name__)

# The top-level folders our ``upload_to`` paths write into (partners/<id>/..., training/...,
# content/assets/<asset id>/..., and exports/<user id>/... for the CSV files export jobs build: a
# file written before its job's row failed to save is named by no row, and prm.exports.sweep,
# which deletes a job's file with its row, never sees it). An export is built in at most an hour
# (prm.exports.EXPORT_TIME_LIMIT), far inside the grace below.
UPLOAD_ROOTS = ("partners", "training", "content", "exports")
# Far longer than any request or task transaction; a file younger than this may still be about
# to be committed.
DEFAULT_GRACE = timedelta(hours=24)


@dataclass(frozen=True)
class SweepResult:
    examined: int
    deleted: list[str]


def referenced_names() -> set[str]:
    """Every file name stored in a ``FileField`` of any model, across all tenants."""
    names: set[str] = set()
    with system_scope():
        for model in apps.get_models():
            for field in model._meta.get_fields():
                if isinstance(field, models.FileField) and not field.many_to_many:
                    values = (
                        model._base_manager.exclude(**{field.name: ""})
                        .exclude(**{f"{field.name}__isnull": True})
                        .values_list(field.name, flat=True)
                    )
                    names.update(values.iterator(chunk_size=5000))
    return names


def _walk(storage: Storage, folder: str) -> Iterator[str]:
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from _walk(storage, f"{folder}/{directory}")


def sweep_orphan_files(
    *, storage: Storage = default_storage, grace: timedelta = DEFAULT_GRACE, now: datetime | None = None
) -> SweepResult:
    """Delete stored files under ``UPLOAD_ROOTS`` that no row refers to and that were last written
    more than ``grace`` ago. Running it twice deletes nothing more."""
    cutoff = (now or timezone.now()) - grace
    # The references are read before the files are listed: a file committed meanwhile is younger
    # than the cutoff and therefore kept anyway.
    referenced = referenced_names()
    examined = 0
    deleted: list[str] = []
    for root in UPLOAD_ROOTS:
        for name in _walk(storage, root):
            examined += 1
            if name in referenced or storage.get_modified_time(name) > cutoff:
                continue
            storage.delete(name)
            deleted.append(name)
    if deleted:
        logger.info("Deleted %d orphan file(s): %s", len(deleted), ", ".join(deleted[:20]))
    return SweepResult(examined=examined, deleted=deleted)


# --- Upload size -------------------------------------------------------------------------------
# The per-file limits are checked with the exact size once a file is in (mdf/uploads.py and the
# other validators: "invoice.pdf is 21.3 MB; files may be at most 20.0 MB"). A file this far past
# the largest limit is not read to its end: nobody needs its exact size to know it is too big.
MEASURE_MARGIN = 1024 * 1024


@dataclass(frozen=True)
class UploadRefused:
    """Why ``UploadLimitHandler`` stopped reading a request: one file (``name``) or all of them
    together (``name`` is None) went past ``limit`` bytes."""

    limit: int
    name: str | None = None
    declared_size: int | None = None


def refused_upload(request: HttpRequest) -> UploadRefused | None:
    return getattr(request, "_upload_refused", None)


class UploadLimitHandler(FileUploadHandler):
    """First of ``FILE_UPLOAD_HANDLERS``: counts the bytes of every uploaded file as they arrive
    and stops reading the request (``StopUpload(connection_reset=True)``: the rest of the body is
    never read) once a file is more than ``MEASURE_MARGIN`` past ``PRM["UPLOAD_MAX_BYTES"]``, or all
    files together more than ``PRM["UPLOAD_MAX_REQUEST_BYTES"]``. A body that declares itself
    larger than that is refused before a byte of it is read. The request is marked
    (``refused_upload``) and ``prm.middleware.UploadLimitMiddleware`` answers it with a message.
    The chunks are passed on unchanged to the handlers that store them."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.file_limit = settings.PRM["UPLOAD_MAX_BYTES"]
        self.request_limit = settings.PRM["UPLOAD_MAX_REQUEST_BYTES"]
        self.file_bytes = 0
        self.request_bytes = 0

    def _refuse(self, refusal: UploadRefused) -> None:
        if self.request is not None:
            self.request._upload_refused = refusal

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],
        content_length: int,
        boundary: bytes,
        encoding: str | None = None,
    ) -> tuple[QueryDict, MultiValueDict] | None:
        # Room for the form's other fields (Django refuses more than DATA_UPLOAD_MAX_MEMORY_SIZE).
        most = self.request_limit + (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0)
        if content_length > most:
            self._refuse(UploadRefused(limit=self.request_limit, declared_size=content_length))
            # Parsed as empty, without reading the body.
            return QueryDict(encoding=encoding), MultiValueDict()
        return None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.file_bytes = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.file_bytes += len(raw_data)
        self.request_bytes += len(raw_data)
        if self.file_bytes > self.file_limit + MEASURE_MARGIN:
            self._refuse(UploadRefused(limit=self.file_limit, name=self.file_name))
            raise StopUpload(connection_reset=True)
        if self.request_bytes > self.request_limit:
            self._refuse(UploadRefused(limit=self.request_limit))
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler holds the file
