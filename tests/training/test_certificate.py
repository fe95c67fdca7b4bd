"""The PDF certificate: a real PDF whose text names the holder, the certification, the partner
company and the verification code."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

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
    text = _text(certificate_pdf(award))
    assert "Linus Torvaldsen" in text and "Globex Systems" in text and "Acme Networks" not in text
    assert award.verification_code in text.replace(" ", "")


def test_verification_url_carries_the_code(award: CertificationAward) -> None:
    url = verification_url(award)
    assert url.startswith("http")
    assert award.verification_code in url
