"""Uploads whose rows were rolled back are swept away; files that rows refer to, files still
young enough to belong to an open transaction, and files outside our upload folders stay."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from mdf.models import ClaimProof
from prm import tasks
from prm.files import sweep_orphan_files
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db

LATER = timedelta(days=2)  # past the sweeper's 24-hour grace


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    return m.media_storage(settings, tmp_path / "media")


class RolledBack(Exception):
    pass


def _claimable() -> tuple[m.Team, Any]:
    admin = m.program_admin()
    team = m.team("Northwind Resellers", tier="Gold")
    m.fund(team.partner, m.budget(), "20000.00", admin)
    marketing = team.marketing_actor
    finished = m.approve(admin, m.submit(marketing, m.draft(marketing, **m.past_dates())))
    return team, finished


def test_a_proof_whose_claim_rolled_back_is_swept_and_committed_proofs_stay(media: Path) -> None:
    team, finished = _claimable()
    with pytest.raises(RolledBack), transaction.atomic():
        m.claim(team.marketing_actor, finished, files=[m.pdf("lost-invoice.pdf")])
        raise RolledBack  # e.g. the request failed after the service returned
    orphans = m.stored_files(media)
    assert len(orphans) == 1 and orphans[0].startswith(f"partners/{team.partner.pk}/mdf/claims/")
    assert not ClaimProof.objects.exists()

    m.claim(team.marketing_actor, finished, files=[m.pdf("kept-invoice.pdf"), m.png()])
    kept = sorted(ClaimProof.objects.values_list("file", flat=True))
    assert len(kept) == 2

    # Young files may belong to a transaction still in flight: nothing goes yet.
    assert sweep_orphan_files().deleted == []
    result = sweep_orphan_files(now=timezone.now() + LATER)
    assert result.deleted == orphans
    assert result.examined == 3
    assert m.stored_files(media) == kept
    # Idempotent: a second run finds nothing more.
    assert sweep_orphan_files(now=timezone.now() + LATER).deleted == []
    assert m.stored_files(media) == kept


def test_files_outside_the_upload_folders_are_never_touched(media: Path) -> None:
    default_storage.save("backups/report.csv", ContentFile(b"a,b\n"))
    default_storage.save("partners/42/logo/old.png", ContentFile(b"not referenced"))
    assert sweep_orphan_files(now=timezone.now() + LATER).deleted == ["partners/42/logo/old.png"]
    assert m.stored_files(media) == ["backups/report.csv"]


def test_the_beat_task_sweeps(media: Path) -> None:
    default_storage.save("training/lessons/orphan.pdf", ContentFile(b"%PDF-1.4"))
    assert tasks.sweep_orphan_files.delay().get() == 0  # too young
    # The file's age comes from the file system's clock, so travel relative to the real one.
    with time_machine.travel(timezone.now() + LATER, tick=False):
        assert tasks.sweep_orphan_files.delay().get() == 1
    assert m.stored_files(media) == []


def test_an_empty_storage_is_fine(media: Path) -> None:
    assert sweep_orphan_files() == sweep_orphan_files(now=timezone.now() + LATER)
