"""prm.rendered: a PDF is rendered once per key and read back from storage afterwards; half a
stored document is never served; a failing storage costs a rendering, never the download; each
language keeps its own version; the orphan sweep leaves the stored PDFs alone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.utils import timezone, translation

from prm import rendered
from prm.files import sweep_orphan_files
from tests import factories

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    return factories.media_storage(settings, tmp_path / "media")


class Renderer:
    def __init__(self, *outputs: bytes) -> None:
        self.outputs = list(outputs) or [PDF]
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        return self.outputs[min(self.calls, len(self.outputs)) - 1]


def test_the_same_key_is_rendered_once_and_a_new_key_replaces_it(media: Path) -> None:
    render = Renderer()
    assert rendered.stored_pdf(folder="things/1", key="<p>v1</p>", render=render) == PDF
    assert rendered.stored_pdf(folder="things/1", key="<p>v1</p>", render=render) == PDF
    assert render.calls == 1
    rendered.stored_pdf(folder="things/1", key="<p>v2</p>", render=render)
    assert render.calls == 2
    assert factories.stored_files(media) == [rendered.pdf_name(folder="things/1", key="<p>v2</p>")]


def test_half_a_stored_document_is_never_served(media: Path) -> None:
    name = rendered.pdf_name(folder="things/1", key="k")
    default_storage.save(name, ContentFile(PDF[:20]))
    render = Renderer()
    assert rendered.stored_pdf(folder="things/1", key="k", render=render) == PDF
    assert render.calls == 1
    with default_storage.open(name, "rb") as handle:
        assert handle.read() == PDF  # stored over the broken one
    assert rendered.stored_pdf(folder="things/1", key="k", render=render) == PDF
    assert render.calls == 1


def test_a_failing_storage_costs_a_rendering_not_the_download(
    media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(FileSystemStorage, "_save", broken)
    render = Renderer()
    assert rendered.stored_pdf(folder="things/1", key="k", render=render) == PDF
    assert rendered.stored_pdf(folder="things/1", key="k", render=render) == PDF
    assert render.calls == 2


def test_each_language_keeps_its_own_version(media: Path) -> None:
    render = Renderer()
    with translation.override("en"):
        rendered.stored_pdf(folder="things/1", key="k-en", render=render)
    with translation.override("de"):
        rendered.stored_pdf(folder="things/1", key="k-de", render=render)
    with translation.override("en"):
        rendered.stored_pdf(folder="things/1", key="k-en", render=render)
    assert render.calls == 2
    assert len(factories.stored_files(media)) == 2


@pytest.mark.django_db
def test_the_orphan_sweep_leaves_stored_pdfs_alone(media: Path) -> None:
    rendered.stored_pdf(folder="training/certificates/1", key="k", render=Renderer())
    assert sweep_orphan_files(now=timezone.now() + timedelta(days=30)).deleted == []
    assert len(factories.stored_files(media)) == 1
