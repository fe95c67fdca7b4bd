"""Co-branded assets: a vendor-written HTML template filled with the partner's details and logo,
rendered to PDF by WeasyPrint.

The template is *not* run through Django's template engine: its built-in tags (``{% debug %}``,
``{% include %}``, ``{% load %}``) and attribute lookups would let an author reach far beyond the
handful of values meant for it. Instead the source is sanitised with nh3 when saved, and rendering
only replaces a fixed set of ``{{ placeholder }}`` markers with escaped values. Anything else in
braces is refused when the template is saved.

A co-branded PDF is rendered once per version of what it shows — the asset's template and title,
the partner's details and logo, and the user's name and e-mail when the template names them — and
kept (``prm.rendered``), in a folder of its own per asset and partner (and user, for templates with
user placeholders): one partner's PDF is never handed to another.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import nh3
from django.template.loader import render_to_string
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from prm.errors import ApplicationError
from prm.rendered import stored_pdf

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_.]+)\s*\}\}")
ANY_MARKUP = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)

PLACEHOLDERS: dict[str, Callable[[Any, Any], str]] = {
    "partner.legal_name": lambda partner, user: escape(partner.legal_name),
    "partner.website": lambda partner, user: escape(partner.website_domain),
    "partner.phone": lambda partner, user: escape(partner.phone),
    "partner.email": lambda partner, user: escape(partner.contact_email),
    "partner.logo": lambda partner, user: logo_img(partner),
    "user.name": lambda partner, user: escape(user.full_name or user.email),
    "user.email": lambda partner, user: escape(user.email),
}

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "ul", "ol", "li", "h1", "h2", "h3", "h4",
    "blockquote", "table", "thead", "tbody", "tr", "th", "td", "hr", "span", "div", "section",
    "header", "footer", "small",
}  # fmt: skip
# Classes and inline styles lay the page out; WeasyPrint loads nothing they might point at (see
# _no_fetch), so a url() in a style goes nowhere.
ALLOWED_ATTRIBUTES = {"*": {"class", "style"}}

LOGO_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}


def clean_template(source: str) -> str:
    """The sanitised template, or an ApplicationError naming the marker that is not allowed."""
    source = nh3.clean(source or "", tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=set())
    for match in ANY_MARKUP.finditer(source):
        placeholder = PLACEHOLDER.fullmatch(match.group(0))
        if placeholder is None or placeholder.group(1) not in PLACEHOLDERS:
            raise ApplicationError(
                _("“%(marker)s” is not allowed in a co-branding template. Use only: %(allowed)s.")
                % {
                    "marker": match.group(0)[:60],
                    "allowed": ", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS),
                },
                field="cobrand_template",
            )
    return source


def logo_img(partner: Any) -> str:
    """The partner's logo as an ``<img>`` with a data: URI, read through storage (so it works on
    S3 as on disk) and embedded: the PDF renderer never fetches anything."""
    if not partner.logo:
        return format_html('<span class="cobrand-logo-text">{}</span>', partner.legal_name)
    extension = partner.logo.name.rsplit(".", 1)[-1].lower()
    content_type = LOGO_TYPES.get(extension)
    if content_type is None:
        return format_html('<span class="cobrand-logo-text">{}</span>', partner.legal_name)
    with partner.logo.open("rb") as handle:
        data = base64.b64encode(handle.read()).decode("ascii")
    return format_html(
        '<img class="cobrand-logo" src="data:{};base64,{}" alt="{}">', content_type, data, partner.legal_name
    )


def render_template(source: str, *, partner: Any, user: Any, logo: str | None = None) -> str:
    """Fill the placeholders of a template that ``clean_template`` accepted. ``logo``, when given,
    stands in for the partner's logo (see ``cobranded_pdf``)."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS:
            return ""
        if name == "partner.logo" and logo is not None:
            return logo
        return PLACEHOLDERS[name](partner, user)

    return PLACEHOLDER.sub(fill, clean_template(source))


def uses_user(source: str) -> bool:
    """Whether the template shows who downloads it (then each user gets a PDF of their own)."""
    return any(match.group(1).startswith("user.") for match in PLACEHOLDER.finditer(source or ""))


def cobranded_html(*, asset: Any, partner: Any, user: Any, logo: str) -> str:
    """The page around the filled template; ``logo`` is safe HTML (built with format_html)."""
    return render_to_string(
        "content/cobranded_pdf.html",
        {
            "asset": asset,
            "partner": partner,
            "logo": mark_safe(logo),  # noqa: S308
            "body": mark_safe(render_template(asset.cobrand_template, partner=partner, user=user, logo=logo)),  # noqa: S308
        },
    )


def cobranded_pdf(*, asset: Any, partner: Any, user: Any) -> bytes:
    # The key is the page with the logo's stored name in place of its bytes: every upload gets a
    # new name (partners.storage), so the key follows the logo without reading the file from
    # storage on every download.
    key = cobranded_html(
        asset=asset, partner=partner, user=user, logo=format_html("[logo {}]", partner.logo.name or "")
    )
    folder = f"content/cobranded/{asset.pk}/partner-{partner.pk}"
    if uses_user(asset.cobrand_template):
        folder += f"/user-{user.pk}"
    return stored_pdf(
        folder=folder,
        key=key,
        render=lambda: _render(
            cobranded_html(asset=asset, partner=partner, user=user, logo=logo_img(partner))
        ),
    )


def _render(html: str) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Only the data: URI of the logo we embedded ourselves: a co-branded PDF never loads anything
    # from the network or the disk, whatever a template's styles point at.
    fetcher = URLFetcher(allowed_protocols={"data"}, allow_redirects=False)
    return HTML(string=html, url_fetcher=fetcher).write_pdf()
