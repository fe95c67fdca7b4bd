"""The partner's library pages, the download (streamed through Django with the original file
name), links, the co-branded PDF (read back with pypdf), the announcements on the home page, the
vendor usage report with its CSV exports, and authoring through the admin."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.urls import reverse
from pypdf import PdfReader

from content.models import Asset, AssetEvent, AssetKind, AssetStatus, EventKind
from partners.models import PartnerRole
from prm.models import AuditEvent
from tests import factories
from tests.content import factories as f
from tests.exports import exported
from tests.helpers import login

pytestmark = pytest.mark.django_db


def streamed(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def pdf_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


@pytest.fixture
def sam(partner: Any) -> Any:
    return f.member(partner, PartnerRole.SALES, full_name="Sam Sato", email="sam@acme.example")


# --- library ------------------------------------------------------------------------------------
def test_library_lists_entitled_assets_with_filters(sam: Any) -> None:
    f.asset("Platform overview", tags=["overview"])
    f.asset("Demo video", kind=AssetKind.LINK, category=f.category("Videos"))
    f.asset("Gold battlecard", tiers=["Gold"])
    response = login(sam.user).get(reverse("content:library"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Platform overview" in page and "Demo video" in page
    assert "Gold battlecard" not in page
    assert 'value="videos"' in page  # the category filter offers what is there
    assert "overview" in page  # and the tags
    for params, shown in [
        ({"category": "videos"}, {"Demo video"}),
        ({"kind": "link"}, {"Demo video"}),
        ({"tag": "overview"}, {"Platform overview"}),
        ({"q": "platform"}, {"Platform overview"}),
        ({"q": "battlecard"}, set()),  # not entitled, so not found either
    ]:
        listed = login(sam.user).get(reverse("content:library"), params).context["page"].paginator.object_list
        assert {asset.title for asset in listed} == shown, params


def test_filters_survive_pagination(sam: Any) -> None:
    videos = f.category("Videos")
    for number in range(30):
        f.asset(f"Recorded webinar {number}", kind=AssetKind.LINK, category=videos, tags=["webinar"])
    # One filter short of matching, each: a file, another category, no "webinar".
    f.asset("Webinar slides", category=videos, tags=["webinar"])
    f.asset("Webinar checklist", kind=AssetKind.LINK, tags=["webinar"])
    f.asset("Product demo", kind=AssetKind.LINK, category=videos)
    response = login(sam.user).get(
        reverse("content:library"), {"q": "webinar", "category": "videos", "kind": "link"}
    )
    page = response.content.decode()
    assert response.context["page"].paginator.count == 30
    assert {asset.title for asset in response.context["page"].paginator.object_list} == {
        f"Recorded webinar {number}" for number in range(30)
    }
    assert "?q=webinar&amp;category=videos&amp;kind=link&page=2" in page
    second = login(sam.user).get(
        reverse("content:library"), {"q": "webinar", "category": "videos", "kind": "link", "page": 2}
    )
    assert len(second.context["page"].object_list) == 6
    assert {asset.title for asset in second.context["page"].object_list} <= {
        f"Recorded webinar {number}" for number in range(30)
    }


def test_htmx_search_swaps_only_the_results(sam: Any) -> None:
    f.asset("Platform overview")
    f.asset("Demo video", kind=AssetKind.LINK)
    response = login(sam.user).get(
        reverse("content:library"),
        {"q": "platform"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="library-results",
    )
    page = response.content.decode()
    assert "Platform overview" in page and "Demo video" not in page
    assert "<html" not in page and 'id="library-filters"' not in page


def test_empty_states_say_what_to_do(sam: Any) -> None:
    client = login(sam.user)
    empty = client.get(reverse("content:library")).content.decode()
    assert 'id="no-assets"' in empty and "channel account manager" in empty
    f.asset("Platform overview")
    none = client.get(reverse("content:library"), {"q": "unheard-of"}).content.decode()
    assert 'id="no-results"' in none and "Clear filters" in none


def test_detail_shows_versions_newest_first_and_records_a_view(sam: Any) -> None:
    asset = f.asset("Platform overview", file=f.pdf("overview-v1.pdf"))
    from content import services

    services.asset_add_version(actor=f.manager(), asset=asset, upload=f.pdf("overview-v2.pdf"))
    response = login(sam.user).get(reverse("content:asset", args=[asset.pk]))
    assert response.status_code == 200
    assert [v.number for v in response.context["versions"]] == [2, 1]
    page = response.content.decode()
    assert page.index("overview-v2.pdf") < page.index("overview-v1.pdf")
    assert reverse("content:download", args=[asset.pk]) in page
    event = AssetEvent.objects.get(asset=asset)
    assert (event.kind, event.user_id, event.partner_id) == (EventKind.VIEW, sam.user.pk, sam.partner_id)


# --- download and links -------------------------------------------------------------------------
def test_download_streams_the_latest_version_with_its_original_name(sam: Any) -> None:
    from content import services

    asset = f.asset("Deck", file=f.pdf("old.pdf", b"%PDF-1.4 old"))
    services.asset_add_version(
        actor=f.manager(), asset=asset, upload=f.pdf("Partner Deck 2026.pdf", b"%PDF-1.7 newest bytes")
    )
    response = login(sam.user).get(reverse("content:download", args=[asset.pk]))
    assert response.status_code == 200
    assert streamed(response) == b"%PDF-1.7 newest bytes"
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Partner Deck 2026.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    event = AssetEvent.objects.get(kind=EventKind.DOWNLOAD)
    assert event.version.original_filename == "Partner Deck 2026.pdf"
    assert event.user_id == sam.user.pk


def test_link_redirects_and_records_a_view(sam: Any) -> None:
    link = f.asset("Demo video", kind=AssetKind.LINK, url="https://videos.example/demo")
    response = login(sam.user).get(reverse("content:download", args=[link.pk]))
    assert response.status_code == 302 and response["Location"] == "https://videos.example/demo"
    assert AssetEvent.objects.filter(asset=link, kind=EventKind.VIEW, user=sam.user).count() == 1


def test_media_files_are_never_linked(sam: Any) -> None:
    asset = f.asset("Deck")
    page = login(sam.user).get(reverse("content:asset", args=[asset.pk])).content.decode()
    assert "/media-not-served/" not in page and asset.current_version.file.name not in page


# --- co-branding --------------------------------------------------------------------------------
ONE_PAGER = (
    "<h1>Secure every user</h1><p>Brought to you by {{ partner.legal_name }}.</p>"
    "<p>{{ partner.logo }}</p><p>Call {{ partner.phone }} or visit {{ partner.website }}.</p>"
    "<p>Your contact: {{ user.name }} ({{ user.email }})</p>"
)


def test_cobranded_pdf_carries_the_partner_and_its_logo(partner: Any, sam: Any) -> None:
    partner.phone = "+1 415 555 0100"
    partner.logo.save("logo.png", ContentFile(f.png(size=(120, 40)).read()), save=False)
    partner.save()
    asset = f.asset("Solution one-pager", cobrandable=True, cobrand_template=ONE_PAGER)
    response = login(sam.user).get(reverse("content:cobranded", args=[asset.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="solution-one-pager-acme-networks.pdf"'
    text = pdf_text(response.content)
    assert "Brought to you by Acme Networks" in text
    assert "+1 415 555 0100" in text and partner.website_domain in text
    assert "Sam Sato (sam@acme.example)" in text
    reader = PdfReader(io.BytesIO(response.content))
    assert any(page.images for page in reader.pages)  # the logo, embedded
    assert AssetEvent.objects.filter(asset=asset, kind=EventKind.COBRANDED, partner=partner).count() == 1


def test_cobranded_pdf_without_a_logo_uses_the_name(sam: Any) -> None:
    asset = f.asset("One-pager", cobrandable=True, cobrand_template="<p>{{ partner.logo }}</p>")
    response = login(sam.user).get(reverse("content:cobranded", args=[asset.pk]))
    assert "Acme Networks" in pdf_text(response.content)


def test_cobranded_is_404_for_assets_that_are_not_cobrandable(sam: Any) -> None:
    asset = f.asset("Deck")
    assert login(sam.user).get(reverse("content:cobranded", args=[asset.pk])).status_code == 404


# --- co-branded PDFs are rendered once per version -------------------------------------------------
@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every WeasyPrint rendering in the test (the real one still runs)."""
    from weasyprint import HTML

    calls: list[Any] = []
    real = HTML.write_pdf

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(HTML, "write_pdf", counting)
    return calls


def cobranded(user: Any, asset: Asset) -> Any:
    return login(user).get(reverse("content:cobranded", args=[asset.pk]))


def test_a_second_cobranded_download_is_served_without_rendering_again(
    partner: Any, sam: Any, renders: list[Any], media: Any
) -> None:
    asset = f.asset("One-pager", cobrandable=True, cobrand_template="<p>By {{ partner.legal_name }}</p>")
    colleague = f.member(partner, PartnerRole.MARKETING)
    first, again, theirs = (
        cobranded(sam.user, asset),
        cobranded(sam.user, asset),
        cobranded(colleague.user, asset),
    )
    assert [r.status_code for r in (first, again, theirs)] == [200, 200, 200]
    # The template names no user: one PDF serves the partner's whole team.
    assert len(renders) == 1
    assert again.content == first.content == theirs.content
    assert "By Acme Networks" in pdf_text(again.content)
    # Each download is still counted.
    assert AssetEvent.objects.filter(asset=asset, kind=EventKind.COBRANDED).count() == 3
    rendered = [name for name in f.stored_files(media) if name.startswith("rendered/")]
    assert len(rendered) == 1
    assert rendered[0].startswith(f"rendered/content/cobranded/{asset.pk}/partner-{partner.pk}/")


def test_the_cobranded_pdf_is_rendered_again_when_the_asset_or_the_partner_changes(
    partner: Any, sam: Any, renders: list[Any], media: Any
) -> None:
    asset = f.asset(
        "One-pager", cobrandable=True, cobrand_template="<p>Call {{ partner.phone }}</p>{{ partner.logo }}"
    )
    cobranded(sam.user, asset)
    partner.phone = "+1 415 555 0199"
    partner.save(update_fields=["phone"])
    assert "Call +1 415 555 0199" in pdf_text(cobranded(sam.user, asset).content)
    assert len(renders) == 2
    partner.logo.save("logo.png", ContentFile(f.png(size=(120, 40)).read()), save=True)
    with_logo = cobranded(sam.user, asset)
    assert any(page.images for page in PdfReader(io.BytesIO(with_logo.content)).pages)
    assert len(renders) == 3
    Asset.objects.filter(pk=asset.pk).update(cobrand_template="<p>Ring {{ partner.phone }}</p>")
    assert "Ring +1 415 555 0199" in pdf_text(cobranded(sam.user, asset).content)
    assert len(renders) == 4
    cobranded(sam.user, asset)
    assert len(renders) == 4
    # Only the current version is kept.
    assert len([name for name in f.stored_files(media) if name.startswith("rendered/")]) == 1


def test_a_partner_never_gets_another_partners_cobranded_pdf(
    partner: Any, other_partner: Any, sam: Any, renders: list[Any], media: Any
) -> None:
    asset = f.asset("One-pager", cobrandable=True, cobrand_template="<p>By {{ partner.legal_name }}</p>")
    theirs = f.member(other_partner, PartnerRole.MARKETING)
    mine_text = pdf_text(cobranded(sam.user, asset).content)
    theirs_text = pdf_text(cobranded(theirs.user, asset).content)
    assert "Acme Networks" in mine_text and "Globex" not in mine_text
    assert "Globex Systems" in theirs_text and "Acme" not in theirs_text
    assert len(renders) == 2
    rendered = sorted(name for name in f.stored_files(media) if name.startswith("rendered/"))
    assert [name.split("/")[4] for name in rendered] == sorted(
        [f"partner-{partner.pk}", f"partner-{other_partner.pk}"]
    )
    # Nothing serves the stored files directly.
    for name in rendered:
        assert login(theirs.user).get(settings.MEDIA_URL + name).status_code == 404


def test_a_template_that_names_the_user_gets_a_pdf_per_user(
    partner: Any, sam: Any, renders: list[Any], media: Any
) -> None:
    asset = f.asset("One-pager", cobrandable=True, cobrand_template="<p>Your contact: {{ user.name }}</p>")
    colleague = f.member(partner, PartnerRole.MARKETING, full_name="Kim Kato")
    assert "Your contact: Sam Sato" in pdf_text(cobranded(sam.user, asset).content)
    assert "Your contact: Kim Kato" in pdf_text(cobranded(colleague.user, asset).content)
    assert "Your contact: Sam Sato" in pdf_text(cobranded(sam.user, asset).content)
    assert len(renders) == 2


# --- home page ----------------------------------------------------------------------------------
def test_announcements_panel_on_the_partner_home(partner: Any, partner_admin: Any) -> None:
    f.announcement("Partner kick-off", body="Register now.\nSessions on zero trust.")
    f.announcement("Gold lounge", tiers=["Gold"])
    f.asset("Platform overview")
    response = login(partner_admin).get(reverse("home"))
    page = response.content.decode()
    assert 'id="content-panel"' in page
    assert "Partner kick-off" in page and "Register now.<br>Sessions on zero trust." in page
    assert "Gold lounge" not in page
    assert "Platform overview" in page  # new in the library


def test_no_panel_when_there_is_nothing_to_show(partner_admin: Any) -> None:
    page = login(partner_admin).get(reverse("home")).content.decode()
    assert 'id="content-panel"' not in page


# --- vendor report ------------------------------------------------------------------------------
def test_vendor_report_counts_per_asset_and_per_partner(partner: Any, other_partner: Any, sam: Any) -> None:
    from content import services

    deck = f.asset("Deck")
    bob = f.member(other_partner)
    for actor, kind in [
        (sam, EventKind.VIEW),
        (sam, EventKind.DOWNLOAD),
        (sam, EventKind.DOWNLOAD),
        (bob, EventKind.VIEW),
    ]:
        services.record_event(actor=actor, asset=deck, kind=kind)
    client = login(factories.vendor_user())
    response = client.get(reverse("content:vendor_report"), {"asset": deck.pk})
    assert response.status_code == 200
    row = next(a for a in response.context["page"].object_list if a.pk == deck.pk)
    assert (row.view_total, row.download_total, row.partner_total) == (2, 2, 2)
    per_partner = {r["partner__legal_name"]: r for r in response.context["partner_rows"]}
    assert per_partner["Acme Networks"]["download_total"] == 2
    assert per_partner["Globex Systems"]["view_total"] == 1

    export = list(
        csv.reader(io.StringIO(exported(client, reverse("content:vendor_report_export")).content.decode()))
    )
    assert export[0][:2] == ["asset_id", "asset"] and [str(deck.pk), "Deck"] == export[1][:2]
    per_partner_csv = list(
        csv.reader(
            io.StringIO(
                exported(client, reverse("content:vendor_report_export"), {"asset": deck.pk}).content.decode()
            )
        )
    )
    assert [row[1] for row in per_partner_csv[1:]] == ["Acme Networks", "Globex Systems"]


def test_cam_sees_only_portfolio_usage(
    partner: Any, other_partner: Any, channel_manager: Any, sam: Any
) -> None:
    from guardian.shortcuts import assign_perm

    from content import services
    from partners.policies import PORTFOLIO_PERMISSION

    deck = f.asset("Deck")
    services.record_event(actor=sam, asset=deck, kind=EventKind.DOWNLOAD)
    services.record_event(actor=f.member(other_partner), asset=deck, kind=EventKind.DOWNLOAD)
    assign_perm(f"partners.{PORTFOLIO_PERMISSION}", channel_manager, other_partner)
    response = login(channel_manager).get(reverse("content:vendor_report"), {"asset": deck.pk})
    assert [r["partner__legal_name"] for r in response.context["partner_rows"]] == ["Globex Systems"]
    assert "Acme Networks" not in response.content.decode()


# --- admin --------------------------------------------------------------------------------------
def test_admin_creates_an_asset_with_a_first_version_and_publishes_it(settings: Any) -> None:
    manager = factories.vendor_user(f.manager().vendor_role)
    client = login(manager)
    category = f.category("Sales enablement")
    response = client.post(
        reverse("admin:content_asset_add"),
        {
            "title": "Partner deck",
            "description": "All about it",
            "category": category.pk,
            "tags": "Deck, Overview",
            "kind": "file",
            "url": "",
            "cobrand_template": "",
            "upload": f.pdf("Partner deck.pdf"),
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    asset = Asset.objects.get(title="Partner deck")
    assert asset.tags == ["deck", "overview"]
    assert asset.current_version.original_filename == "Partner deck.pdf"
    client.post(
        reverse("admin:content_asset_changelist"),
        {"action": "publish_selected", "_selected_action": [asset.pk]},
    )
    asset.refresh_from_db()
    assert asset.status == AssetStatus.PUBLISHED
    assert AuditEvent.objects.filter(target_id=str(asset.pk), actor=manager, action="content.asset_published")


def test_admin_refuses_a_disguised_upload_as_a_form_error() -> None:
    client = login(factories.vendor_user(f.manager().vendor_role))
    response = client.post(
        reverse("admin:content_asset_add"),
        {
            "title": "Sneaky",
            "category": f.category().pk,
            "kind": "file",
            "upload": f.exe_as_pdf(),
            "versions-TOTAL_FORMS": "0",
            "versions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "not a file type the library accepts" in str(response.context["adminform"].form.errors)
    assert not Asset.objects.filter(title="Sneaky").exists()


def test_admin_announcement_goes_through_the_service_and_is_audited() -> None:
    manager = factories.vendor_user(f.manager().vendor_role)
    response = login(manager).post(
        reverse("admin:content_announcement_add"),
        {"title": "Kick-off", "body": "Join us.", "link": "", "publish_at_0": "", "publish_at_1": ""},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    from content.models import Announcement

    item = Announcement.objects.get(title="Kick-off", created_by=manager)
    assert item.publish_at is not None and item.created_by == manager
    assert AuditEvent.objects.filter(action="content.announcement_created", target_id=str(item.pk)).exists()


def test_content_managers_hold_the_authoring_permissions() -> None:
    from prm.roles import VendorRole

    manager = factories.vendor_user(VendorRole.CONTENT_MANAGER)
    assert manager.has_perms(["content.add_asset", "content.change_asset", "content.add_announcement"])
    assert not manager.has_perm("content.delete_assetversion")
    finance = factories.vendor_user(VendorRole.FINANCE)
    assert not finance.has_perm("content.add_asset")


def test_published_assets_cannot_be_deleted_in_the_admin_only_archived() -> None:
    client = login(factories.vendor_user(f.manager().vendor_role))
    draft = f.asset("Draft", publish=False)
    published = f.asset("Published")
    assert client.get(reverse("admin:content_asset_delete", args=[published.pk])).status_code == 403
    assert client.get(reverse("admin:content_asset_delete", args=[draft.pk])).status_code == 200
