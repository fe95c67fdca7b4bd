"""The PDF certificate: a real PDF whose text names the holder, the certification, the partner
company and the verification code."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format
from pypdf import PdfReader

from tests import factories
from tests.helpers import login
from tests.training import factories as f
from training.certificates import certificate_pdf, verification_url
from training.models import CertificationAward

pytestmark = pytest.mark.django_db


@pytest.fixture
def award(partner: Any) -> CertificationAward:
    built = f.course()
    f.certification("Certified Zero Trust Engineer", courses=[built], validity=24)
    me = f.learner(partner, full_name="Grace Hopperton")
    f.pass_course(me, built)
    return CertificationAward.objects.select_related("user", "partner", "certification").get(user=me.user)


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return re.sub(r"\s+", " ", text)


def test_certificate_pdf_names_holder_certification_partner_and_code(award: CertificationAward) -> None:
    pdf = certificate_pdf(award)
    assert pdf.startswith(b"%PDF")
    assert len(PdfReader(io.BytesIO(pdf)).pages) >= 1
    text = _text(pdf)
    assert "Grace Hopperton" in text
    assert "Certified Zero Trust Engineer" in text
    assert "Acme Networks" in text  # the partner's legal name
    assert award.verification_code in text.replace(" ", "")


def test_certificate_pdf_for_someone_else_shows_their_own_details(partner: Any, other_partner: Any) -> None:
    built = f.course()
    f.certification("Certified Wireless Expert", courses=[built], validity=None)
    them = f.learner(other_partner, full_name="Linus Torvaldsen")
    f.pass_course(them, built)
    award = CertificationAward.objects.get(user=them.user)
    with f.acting(them):  # downloaded by its holder, in the holder's request
        text = _text(certificate_pdf(award))
    assert "Linus Torvaldsen" in text and "Globex Systems" in text and "Acme Networks" not in text
    assert award.verification_code in text.replace(" ", "")


def test_verification_url_carries_the_code(award: CertificationAward) -> None:
    url = verification_url(award)
    assert url.startswith("http")
    assert award.verification_code in url


# --- rendered once per version ------------------------------------------------------------------
@pytest.fixture
def renders(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every WeasyPrint rendering in the test (the real one still runs), with a storage of the
    test's own."""
    from weasyprint import HTML

    factories.media_storage(settings, tmp_path / "media")
    calls: list[Any] = []
    real = HTML.write_pdf

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(HTML, "write_pdf", counting)
    return calls


def test_a_second_download_is_served_without_rendering_again(
    award: CertificationAward, renders: list[Any], tmp_path: Path
) -> None:
    client = login(award.user)
    url = reverse("training:certificate_pdf", args=[award.pk])
    first = client.get(url)
    second = client.get(url)
    assert (first.status_code, second.status_code) == (200, 200)
    assert len(renders) == 1
    assert second.content == first.content
    assert "Grace Hopperton" in _text(second.content)
    stored = factories.stored_files(tmp_path / "media")
    assert len(stored) == 1 and stored[0].startswith(f"rendered/training/certificates/{award.pk}/")


def test_the_certificate_is_rendered_again_when_what_it_shows_changes(
    award: CertificationAward, renders: list[Any], tmp_path: Path
) -> None:
    assert "Grace Hopperton" in _text(certificate_pdf(award))
    award.user.full_name = "Grace Hopper"
    award.user.save(update_fields=["full_name"])
    award.partner.legal_name = "Acme Networks International"
    award.partner.save(update_fields=["legal_name"])
    award = CertificationAward.objects.select_related("user", "partner", "certification").get(pk=award.pk)
    text = _text(certificate_pdf(award))
    assert "Grace Hopper" in text and "Grace Hopperton" not in text
    assert "Acme Networks International" in text
    assert len(renders) == 2
    certificate_pdf(award)
    assert len(renders) == 2
    # The outdated version is gone: one file per certificate (and language).
    assert len(factories.stored_files(tmp_path / "media")) == 1


def test_the_stored_certificate_is_only_served_through_the_checked_view(
    award: CertificationAward, other_partner: Any, renders: list[Any], tmp_path: Path
) -> None:
    url = reverse("training:certificate_pdf", args=[award.pk])
    assert login(award.user).get(url).status_code == 200
    (name,) = factories.stored_files(tmp_path / "media")
    # Another partner's user gets the same 404 as for a certificate that does not exist, and no
    # address serves the stored file directly.
    stranger = factories.partner_user(other_partner)
    assert login(stranger).get(url).status_code == 404
    assert login(stranger).get(settings.MEDIA_URL + name).status_code == 404
    assert Client().get(settings.MEDIA_URL + name).status_code == 404
    assert len(renders) == 1


def test_a_german_holders_certificate_is_german_whoever_downloads_it(
    german: dict, award: CertificationAward
) -> None:
    """Issue 14: the PDF is in its holder's language, its dates in that language's format."""
    award.user.language = "de"
    award.user.save(update_fields=["language"])
    text = _text(certificate_pdf(award))
    assert "Leistungszertifikat" in text and "Hiermit wird bestätigt, dass" in text
    assert "Certificate of Achievement" not in text
    with translation.override("de"):
        awarded = date_format(award.awarded_at, "DATE_FORMAT")  # "5. März 2026"
    assert re.sub(r"\s+", " ", awarded) in text
    # Her English manager downloading it gets the same German certificate.
    with translation.override("en"):
        assert "Leistungszertifikat" in _text(certificate_pdf(award))
