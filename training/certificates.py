"""The PDF certificate, rendered by WeasyPrint from a template (fonts from the system, no
network: the template references nothing external).

A certificate is rendered once and kept (``prm.rendered``): it is rendered again only when what it
shows changes — the holder's name, the partner's name, the dates, the language."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from prm.rendered import stored_pdf

from .models import CertificationAward


def verification_url(award: CertificationAward) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("training:verify", args=[award.verification_code])


def certificate_html(award: CertificationAward) -> str:
    """In the holder's language (their profile's; the active language when they chose none),
    whoever downloads it: the certificate is theirs."""
    with translation.override(award.user.language or translation.get_language()):
        return render_to_string(
            "training/certificate_pdf.html",
            {
                "award": award,
                # The name only: a certificate never carries the holder's e-mail address.
                "holder": award.user.full_name or "—",
                "partner": award.partner.legal_name,
                "certification": award.certification,
                "verification_url": verification_url(award),
                "LANGUAGE_CODE": translation.get_language(),
            },
        )


def certificate_pdf(award: CertificationAward) -> bytes:
    html = certificate_html(award)
    return stored_pdf(folder=f"training/certificates/{award.pk}", key=html, render=lambda: _render(html))


def _render(html: str) -> bytes:
    from weasyprint import HTML

    # url_fetcher refuses everything: a certificate never loads anything from anywhere.
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict:
    raise ValueError(f"certificates load nothing external: {url}")
