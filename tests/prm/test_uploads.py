"""Uploads stop being read past the limit (prm.files.UploadLimitHandler): a file far over
PRM["UPLOAD_MAX_BYTES"], files over PRM["UPLOAD_MAX_REQUEST_BYTES"] together, or a body declared
larger than that, and the person gets a message instead of a 500 or a CSRF failure. Files a little
over the limit are still read and refused with their exact size (tests/mdf/test_views.py)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import StopUpload
from django.core.handlers.wsgi import WSGIRequest
from django.test import RequestFactory, override_settings
from django.urls import reverse

from partners.models import Partner
from prm.files import MEASURE_MARGIN, UploadLimitHandler, refused_upload
from prm.models import User
from tests.helpers import login

LIMIT = 1000
CHUNK = 64 * 1024  # Django's upload chunk size


def limits(**overrides: int) -> dict[str, Any]:
    return {**settings.PRM, "UPLOAD_MAX_BYTES": LIMIT, **overrides}


class CountingInput(io.BytesIO):
    """A wsgi.input that counts how much of the body the server was made to read."""

    def __init__(self, body: bytes) -> None:
        super().__init__(body)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.bytes_read += len(data)
        return data


def multipart_request(files: dict[str, bytes], **fields: str) -> tuple[WSGIRequest, CountingInput]:
    data: dict[str, Any] = {name: SimpleUploadedFile(name, content) for name, content in files.items()}
    built = RequestFactory().post("/upload/", {**data, **fields})
    body = built.environ["wsgi.input"].read(int(built.environ["CONTENT_LENGTH"]))
    stream = CountingInput(body)
    return WSGIRequest({**built.environ, "wsgi.input": stream}), stream


def test_the_handler_stops_a_file_once_it_is_far_past_the_limit() -> None:
    request = RequestFactory().post("/upload/")
    with override_settings(PRM=limits()):
        handler = UploadLimitHandler(request)
    handler.new_file("files", "huge.pdf", "application/pdf", None)
    fed = 0
    with pytest.raises(StopUpload) as stopped:
        for _ in range(1000):  # 64 MiB on offer
            assert handler.receive_data_chunk(b"x" * CHUNK, fed) is not None
            fed += CHUNK
    assert stopped.value.connection_reset  # the rest of the body is not read
    assert LIMIT + MEASURE_MARGIN <= fed + CHUNK <= LIMIT + MEASURE_MARGIN + CHUNK
    refusal = refused_upload(request)
    assert refusal.name == "huge.pdf" and refusal.limit == LIMIT


def test_the_handler_passes_chunks_of_files_within_the_limit_on() -> None:
    with override_settings(PRM=limits()):
        handler = UploadLimitHandler(RequestFactory().post("/upload/"))
    handler.new_file("files", "small.pdf", "application/pdf", None)
    assert handler.receive_data_chunk(b"%PDF-" + b"x" * 500, 0) == b"%PDF-" + b"x" * 500
    assert handler.file_complete(505) is None  # the storing handler after it makes the file


def test_reading_the_body_stops_soon_after_an_oversized_file() -> None:
    request, body = multipart_request({"huge.pdf": b"%PDF-" + b"x" * (10 * 1024 * 1024)}, note="hello")
    with override_settings(PRM=limits()):
        assert "huge.pdf" not in request.FILES
    assert refused_upload(request).name == "huge.pdf"
    total = int(request.META["CONTENT_LENGTH"])
    assert body.bytes_read < LIMIT + MEASURE_MARGIN + 2 * CHUNK < total / 5


def test_files_too_large_together_are_stopped_too() -> None:
    files = {f"proof-{n}.pdf": b"%PDF-" + b"x" * 100_000 for n in range(20)}  # each within the limit
    request, body = multipart_request(files)
    with override_settings(PRM=limits(UPLOAD_MAX_BYTES=200_000, UPLOAD_MAX_REQUEST_BYTES=250_000)):
        request.FILES  # noqa: B018
    refusal = refused_upload(request)
    assert refusal.name is None and refusal.limit == 250_000
    assert body.bytes_read < 250_000 + 3 * CHUNK < int(request.META["CONTENT_LENGTH"]) / 4


def test_a_body_declared_too_large_is_refused_without_reading_it() -> None:
    request, body = multipart_request({"huge.pdf": b"%PDF-" + b"x" * 4000})
    with override_settings(PRM=limits(UPLOAD_MAX_REQUEST_BYTES=100), DATA_UPLOAD_MAX_MEMORY_SIZE=100):
        assert not request.FILES and not request.POST
    assert body.bytes_read == 0
    assert refused_upload(request).declared_size == int(request.META["CONTENT_LENGTH"])


def test_small_uploads_are_untouched() -> None:
    request, _ = multipart_request({"invoice.pdf": b"%PDF-1.4 tiny"}, note="hello")
    with override_settings(PRM=limits()):
        assert request.FILES["invoice.pdf"].read() == b"%PDF-1.4 tiny"
        assert request.POST["note"] == "hello"
    assert refused_upload(request) is None


@pytest.mark.django_db
def test_an_oversized_upload_gets_a_message_not_an_error(
    partner: Partner, partner_admin: User, settings: Any, tmp_path: Any
) -> None:
    from tests import factories

    factories.media_storage(settings, tmp_path)
    client = login(partner_admin, enforce_csrf_checks=True)
    company = client.get(reverse("partners:company"))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', company.content.decode()).group(1)
    huge = SimpleUploadedFile("huge.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (2 * 1024 * 1024), "image/png")
    with override_settings(PRM=limits()):
        # The CSRF token comes after the file, so it is never read: still a message, not a 403.
        response = client.post(
            reverse("partners:company_logo"),
            {"logo": huge, "csrfmiddlewaretoken": token},
            HTTP_REFERER="http://testserver/company/",
        )
    assert response.status_code == 302
    assert response["Location"] == "http://testserver/company/"  # back where the form was
    page = client.get(response["Location"]).content.decode()
    assert "huge.png is more than 1000\xa0bytes; files may be at most 1000\xa0bytes." in page
    partner.refresh_from_db()
    assert not partner.logo
