"""Stored files nobody points at any more.

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

from django.apps import apps
from django.core.files.storage import Storage, default_storage
from django.db import models
from django.utils import timezone

from .tenancy import system_scope

logger = logging.getLogger(__name__)

# The top-level folders our ``upload_to`` paths write into (partners/<id>/..., training/...,
# content/assets/<asset id>/...).
UPLOAD_ROOTS = ("partners", "training", "content")
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
