"""Demo data for the content library: categories, a published PDF deck, a Gold-only battlecard, a
co-brandable one-pager, a brand logo, a video link, a draft nobody sees yet, announcements, and a
little usage (Acme's Sam downloaded the deck, Globex's Bob viewed it).

Called by ``manage.py seed_demo`` through ``ContentConfig.demo_seeder``; idempotent (skips when the
first category exists). Runs inside the command's vendor scope; everything goes through the
services so versions, search vectors and the audit trail look like real use.
"""

from __future__ import annotations

import functools
import io
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.html import escape
from PIL import Image

from partners.middleware import resolve_actor
from partners.models import Region, Tier

from . import services
from .models import Category, EventKind

User = get_user_model()

CATEGORIES = [
    ("Sales enablement", "sales-enablement"),
    ("Competitive", "competitive"),
    ("Marketing campaigns", "marketing-campaigns"),
    ("Brand assets", "brand-assets"),
    ("Videos", "videos"),
]

ONE_PAGER = """
<h1>Secure every user, device and application</h1>
<p>{{ partner.legal_name }} delivers the platform that protects users, devices and applications
wherever they work, with one policy written once and enforced everywhere.</p>
<h2>Why customers choose it</h2>
<ul>
  <li><strong>Edge Firewall</strong> for branch and data-centre traffic.</li>
  <li><strong>Secure Access</strong> for people working from anywhere.</li>
  <li><strong>Threat Analytics</strong> that correlates what both see.</li>
</ul>
<h2>Talk to us</h2>
<p>{{ partner.logo }}</p>
<p>{{ partner.legal_name }} · {{ partner.website }} · {{ partner.phone }}<br>
Your contact: {{ user.name }} ({{ user.email }})</p>
"""


def _pdf(title: str, paragraphs: list[str]) -> bytes:
    return _rendered_pdf(title, tuple(paragraphs))


# Rendered once per process (see mdf.demo.demo_invoice_pdf): bytes are immutable, so sharing is safe.
@functools.cache
def _rendered_pdf(title: str, paragraphs: tuple[str, ...]) -> bytes:
    from weasyprint import HTML

    body = "".join(f"<p>{escape(text)}</p>" for text in paragraphs)
    html = (
        "<html><head><style>body{font-family:'DejaVu Sans',sans-serif;} h1{color:#0d6efd;}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTML(string=html).write_pdf()


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (240, 80), (13, 110, 253)).save(buffer, format="PNG")
    return buffer.getvalue()


def seed(stdout: Any = None) -> None:
    if Category.objects.filter(slug=CATEGORIES[0][1]).exists():
        return
    with transaction.atomic():
        author = resolve_actor(User.objects.get(email="tom.training@prm.example"))
        categories = {slug: Category.objects.create(name=name, slug=slug) for name, slug in CATEGORIES}

        def file_asset(title: str, category: str, content: bytes, filename: str, **fields: Any) -> Any:
            asset = services.asset_create(actor=author, title=title, category=categories[category], **fields)
            services.asset_add_version(actor=author, asset=asset, upload=ContentFile(content, name=filename))
            return asset

        deck = file_asset(
            "Platform overview for partners",
            "sales-enablement",
            _pdf(
                "Platform overview",
                [
                    "Edge Firewall, Secure Access and Threat Analytics, managed from one console.",
                    "Register every opportunity before quoting to earn the registration discount.",
                ],
            ),
            "platform-overview.pdf",
            description="The three building blocks, deployment options and licensing on four pages. "
            "Start here before the first customer meeting.",
            tags=["overview", "platform", "licensing"],
        )
        # A second version, so the history shows: partners always get the newest.
        services.asset_add_version(
            actor=author,
            asset=deck,
            upload=ContentFile(
                _pdf("Platform overview (2026 edition)", ["Now with the cloud service option."]),
                name="platform-overview-2026.pdf",
            ),
        )
        battlecard = file_asset(
            "Zero-trust competitive battlecard",
            "competitive",
            _pdf("Zero-trust battlecard", ["How we win against legacy VPN vendors, objection by objection."]),
            "zero-trust-battlecard.pdf",
            description="Objection handling and proof points against legacy VPN vendors. Gold partners only.",
            tags=["zero trust", "competition"],
            tiers=list(Tier.objects.filter(name="Gold")),
        )
        one_pager = file_asset(
            "Co-branded solution one-pager",
            "marketing-campaigns",
            _pdf("Solution one-pager", ["The vendor-only version; download it with your logo instead."]),
            "solution-one-pager.pdf",
            description="A one-page solution brief for your customers, with your logo, website and phone.",
            tags=["one-pager", "campaign", "zero trust"],
            cobrandable=True,
            cobrand_template=ONE_PAGER,
        )
        logo = file_asset(
            "Vendor logo (PNG)",
            "brand-assets",
            _png(),
            "vendor-logo.png",
            description="Use it on your website and event material, following the brand guidelines.",
            tags=["brand", "logo"],
        )
        video = services.asset_create(
            actor=author,
            title="Five-minute product demo",
            category=categories["videos"],
            kind="link",
            url="https://www.youtube.com/watch?v=prm-demo",
            description="A short recorded demo to send to prospects before the first call.",
            tags=["demo", "video"],
        )
        file_asset(
            "Q3 campaign kit (coming soon)",
            "marketing-campaigns",
            _pdf("Q3 campaign kit", ["Draft: e-mail copy, social posts and a webinar script."]),
            "q3-campaign-kit.pdf",
            description="E-mail copy, social posts and a webinar script for the autumn campaign.",
            tags=["campaign"],
        )  # left as a draft: no partner sees it
        for asset in (deck, battlecard, one_pager, logo, video):
            services.asset_publish(actor=author, asset=asset)

        services.announcement_create(
            actor=author,
            title="Partner kick-off: register now",
            body="Our yearly partner kick-off is online this year. Sessions on zero trust, the new cloud "
            "service option and the updated incentive programs.",
        )
        services.announcement_create(
            actor=author,
            title="EMEA: new MDF window open",
            body="EMEA partners can request funds for Q3 events until the end of the month.",
            regions=[Region.EMEA],
        )

        sam = resolve_actor(User.objects.get(email="sam.sales@acme.example"))
        services.record_event(actor=sam, asset=deck, kind=EventKind.VIEW)
        services.record_event(actor=sam, asset=deck, kind=EventKind.DOWNLOAD)
        services.record_event(actor=sam, asset=battlecard, kind=EventKind.DOWNLOAD)
        bob = resolve_actor(User.objects.get(email="bob.admin@globex.example"))
        services.record_event(actor=bob, asset=deck, kind=EventKind.VIEW)
    if stdout is not None:
        stdout.write("Content: 6 assets (1 draft, 1 Gold-only, 1 co-brandable), 2 announcements.")
