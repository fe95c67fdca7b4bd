"""The PDF certificate, rendered by WeasyPrint from a template (fonts from the system, no
network: the template references nothing external)."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from .models import CertificationAward


def verification_url(award: CertificationAward) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("training:verify", args=[award.verification_code])


def certificate_pdf(award: CertificationAward) -> bytes:
    from weasyprint import HTML

    html = render_to_string(
        "training/certificate_pdf.html",
        {
            "award": award,
            # The name only: a certificate never carries the holder's e-mail address.
            "holder": award.user.full_name or "—",
            "partner": award.partner.legal_name,
            "certification": award.certification,
            "verification_url": verification_url(award),
        },
    )
    # url_fetcher refuses everything: a certificate never loads anything from anywhere.
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict:
    raise ValueError(f"certificates load nothing external: {url}")
