"""Partner portal, public pages and vendor console, driven through the test client."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any
from urllib.parse import parse_qs

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.test import Client, override_settings
from django.urls import reverse
from django.utils.html import escape
from PIL import Image

from partners import services
from partners.models import (
    ApplicationStatus,
    Invitation,
    Membership,
    Partner,
    PartnerApplication,
    PartnerRole,
    PartnerStatus,
    PartnerType,
    Region,
)
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification, User
from prm.roles import VendorRole
from tests import factories
from tests.exports import exported
from tests.helpers import login

pytestmark = pytest.mark.django_db


# --- helpers ----------------------------------------------------------------------------------
def png_bytes(size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def text_of(response: Any) -> str:
    return response.content.decode()


def shows(response: Any, message: str) -> bool:
    """The message is on the page (HTML-escaped, or verbatim from a literal ``{% translate %}``)."""
    return escape(message) in text_of(response) or message in text_of(response)


def links(response: Any) -> list[dict[str, list[str]]]:
    """The query parameters of every ``href="?..."`` link on the page."""
    return [parse_qs(html.unescape(href)) for href in re.findall(r'href="\?([^"]*)"', text_of(response))]


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def partner_names(response: Any) -> set[str]:
    return {partner.legal_name for partner in response.context["page"].object_list}


# --- Partner home -----------------------------------------------------------------------------
def test_home_shows_company_tier_and_next_steps(partner: Partner, partner_admin: User) -> None:
    response = login(partner_admin).get(reverse("home"))
    assert response.status_code == 200
    assert response.templates[0].name == "partners/home.html"
    assert "Acme Networks" in text_of(response)
    assert partner.tier.name in text_of(response)
    steps = [str(step["title"]) for step in response.context["next_steps"]]
    # No logo, no phone, alone in the team, no second factor.
    assert steps == [
        "Upload your company logo",
        "Invite your team",
        "Complete your company profile",
        "Turn on two-factor authentication",
    ]
    for step in steps:
        assert step in text_of(response)


def test_home_next_steps_disappear_when_done(partner: Partner, partner_admin: User) -> None:
    actor = factories.actor_for(partner_admin)
    services.partner_set_logo(
        actor=actor,
        partner=partner,
        upload=SimpleUploadedFile("l.png", png_bytes(), content_type="image/png"),
    )
    Partner.objects.filter(pk=partner.pk).update(phone="+1 555 0100")
    factories.partner_user(partner, role=PartnerRole.SALES)
    TOTP.activate(partner_admin, generate_totp_secret())
    response = login(partner_admin).get(reverse("home"))
    assert response.context["next_steps"] == []
    assert "all set" in text_of(response)


def test_vendor_visiting_home_goes_to_console(program_admin: User) -> None:
    response = login(program_admin).get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor:dashboard")


def test_anonymous_home_is_the_landing_page() -> None:
    response = Client().get(reverse("home"))
    assert response.status_code == 200
    assert response.templates[0].name == "partners/landing.html"


def test_signed_in_user_without_company_gets_no_access(db: Any) -> None:
    orphan = factories.UserFactory(email="orphan@example.com")
    response = login(orphan).get(reverse("home"))
    assert response.status_code == 403
    assert "not linked to a partner company" in text_of(response)


# --- Company profile --------------------------------------------------------------------------
def _profile_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "legal_name": "Acme Networks GmbH",
        "partner_type": PartnerType.MSP,
        "country": "US",
        "region": Region.NORTH_AMERICA,
        "website_domain": "https://www.Acme-Networks.example/about",
        "phone": "+49 30 123456",
        "contact_email": "hello@acme.example",
    }
    return {**data, **overrides}


def test_partner_admin_edits_company_profile_and_sees_history(partner: Partner, partner_admin: User) -> None:
    client = login(partner_admin)
    response = client.post(reverse("partners:company"), _profile_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:company")
    partner.refresh_from_db()
    assert partner.legal_name == "Acme Networks GmbH"
    assert partner.website_domain == "acme-networks.example"
    assert partner.partner_type == PartnerType.RESELLER  # vendor-controlled: the posted MSP is ignored
    assert partner.phone == "+49 30 123456"
    event = AuditEvent.objects.get(action="partner.profile_updated", partner_id=partner.pk)
    assert event.actor == partner_admin
    assert event.before["legal_name"] == "Acme Networks"
    assert event.after["legal_name"] == "Acme Networks GmbH"

    page = client.get(reverse("partners:company"))
    assert page.status_code == 200
    assert shows(page, "Company profile saved.")
    assert "partner.profile_updated" in text_of(page)
    assert "Acme Networks GmbH" in text_of(page)
    assert partner_admin.email in text_of(page)


def test_company_profile_form_cannot_change_type_country_or_region(
    partner: Partner, partner_admin: User
) -> None:
    """Issue 9: type, region and country decide content entitlement and lead routing, so they are
    the vendor's; the company form no longer offers them and ignores them when posted."""
    client = login(partner_admin)
    page = client.get(reverse("partners:company"))
    profile_form = re.search(r'<form[^>]*action="/company/".*?</form>', text_of(page), re.S).group(0)
    assert 'id="company-save"' in profile_form
    for name in ("partner_type", "country", "region"):
        assert f'name="{name}"' not in profile_form
    response = client.post(
        reverse("partners:company"),
        _profile_data(partner_type=PartnerType.DISTRIBUTOR, country="DE", region=Region.EMEA),
    )
    assert response.status_code == 302
    partner.refresh_from_db()
    assert (partner.partner_type, partner.country.code, partner.region) == (
        PartnerType.RESELLER,
        "US",
        Region.NORTH_AMERICA,
    )
    event = AuditEvent.objects.get(action="partner.profile_updated", partner_id=partner.pk)
    assert not {"partner_type", "country", "region"} & (set(event.before) | set(event.after))


def test_sales_user_cannot_edit_company_profile(partner: Partner, partner_admin: User) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    client = login(sales)
    page = client.get(reverse("partners:company"))
    assert page.status_code == 200
    assert 'id="company-save"' not in text_of(page)
    assert 'name="legal_name"' not in text_of(page)
    assert 'name="logo"' not in text_of(page)
    assert "Only your partner admin can change the company profile." in text_of(page)

    response = client.post(reverse("partners:company"), _profile_data(legal_name="Hijacked Ltd"))
    assert response.status_code == 404
    logo = client.post(
        reverse("partners:company_logo"),
        {"logo": SimpleUploadedFile("l.png", png_bytes(), content_type="image/png")},
        follow=True,
    )
    assert logo.status_code == 200
    partner.refresh_from_db()
    assert partner.legal_name == "Acme Networks"
    assert not partner.logo
    assert not AuditEvent.objects.filter(partner_id=partner.pk).exists()


def test_company_profile_invalid_domain_shows_error_and_saves_nothing(
    partner: Partner, partner_admin: User
) -> None:
    response = login(partner_admin).post(
        reverse("partners:company"), _profile_data(website_domain="not a domain!")
    )
    assert response.status_code in {200, 400}
    assert shows(response, "Enter a website domain such as example.com.")
    partner.refresh_from_db()
    assert partner.legal_name == "Acme Networks"
    assert partner.website_domain != "not a domain!"
    assert not AuditEvent.objects.filter(action="partner.profile_updated", partner_id=partner.pk).exists()


# --- Logo -------------------------------------------------------------------------------------
def test_logo_upload_valid_png(partner: Partner, partner_admin: User) -> None:
    client = login(partner_admin)
    upload = SimpleUploadedFile("My Logo.PNG", png_bytes(), content_type="image/png")
    response = client.post(reverse("partners:company_logo"), {"logo": upload}, follow=True)
    assert response.status_code == 200
    assert shows(response, "Logo updated.")
    partner.refresh_from_db()
    assert partner.logo.name.startswith(f"partners/{partner.pk}/logo/")
    assert partner.logo.name.endswith(".png")
    assert "My Logo" not in partner.logo.name
    served = client.get(reverse("partners:partner_logo", args=[partner.pk]))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert b"".join(served.streaming_content) == png_bytes()


def test_logo_upload_text_file_named_png_is_refused(partner: Partner, partner_admin: User) -> None:
    upload = SimpleUploadedFile(
        "logo.png", b"<script>alert('hi')</script> not an image", content_type="image/png"
    )
    response = login(partner_admin).post(reverse("partners:company_logo"), {"logo": upload}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("partners:company"), 302)]
    assert shows(response, "That file is not an image we can use. Upload a PNG, JPEG, WebP or GIF logo.")
    partner.refresh_from_db()
    assert not partner.logo


def test_logo_upload_oversize_shows_the_limit(partner: Partner, partner_admin: User) -> None:
    limit = 1024
    content = png_bytes((400, 400)) + b"\0" * (limit + 1)
    with override_settings(PRM={**settings.PRM, "LOGO_MAX_BYTES": limit}):
        upload = SimpleUploadedFile("big.png", content, content_type="image/png")
        response = login(partner_admin).post(reverse("partners:company_logo"), {"logo": upload}, follow=True)
    assert response.status_code == 200
    assert shows(response, f"the limit is {filesizeformat(limit)}")
    partner.refresh_from_db()
    assert not partner.logo


def test_logo_upload_without_file_asks_for_one(partner: Partner, partner_admin: User) -> None:
    response = login(partner_admin).post(reverse("partners:company_logo"), {}, follow=True)
    assert response.status_code == 200
    assert shows(response, "Choose a logo file to upload.")


# --- Team -------------------------------------------------------------------------------------
def test_team_invite_plain_post(partner: Partner, partner_admin: User) -> None:
    client = login(partner_admin)
    response = client.post(
        reverse("partners:team_invite"), {"email": "New.Person@Acme.example", "role": "sales"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:team")
    invitation = Invitation.objects.get(partner=partner)
    assert invitation.email == "new.person@acme.example"
    assert invitation.role == PartnerRole.SALES
    assert invitation.invited_by == partner_admin
    page = client.get(reverse("partners:team"))
    assert shows(page, "Invitation sent to new.person@acme.example.")
    assert "new.person@acme.example" in text_of(page)


def test_team_invite_htmx_returns_panel_with_new_invitation(partner: Partner, partner_admin: User) -> None:
    response = login(partner_admin).post(
        reverse("partners:team_invite"),
        {"email": "htmx@acme.example", "role": "marketing"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "<html" not in page  # only the panel
    assert 'id="invitations-table"' in page
    invitation = Invitation.objects.get(partner=partner)
    assert f'id="invitation-{invitation.pk}"' in page
    assert "htmx@acme.example" in page
    assert shows(response, "Invitation sent to htmx@acme.example.")


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_duplicate_invite_shows_clear_error(partner: Partner, partner_admin: User, htmx: bool) -> None:
    client = login(partner_admin)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    client.post(reverse("partners:team_invite"), {"email": "twice@acme.example", "role": "sales"}, **headers)
    response = client.post(
        reverse("partners:team_invite"), {"email": "TWICE@acme.example", "role": "sales"}, **headers
    )
    assert response.status_code in {200, 400}
    assert shows(response, "twice@acme.example already has an open invitation; resend it instead.")
    assert Invitation.objects.filter(partner=partner).count() == 1


def test_invite_team_member_and_bad_input_show_errors(partner: Partner, partner_admin: User) -> None:
    client = login(partner_admin)
    response = client.post(reverse("partners:team_invite"), {"email": partner_admin.email, "role": "sales"})
    assert response.status_code == 400
    assert shows(response, f"{partner_admin.email} is already on your team.")
    response = client.post(reverse("partners:team_invite"), {"email": "not-an-email", "role": "boss"})
    assert response.status_code == 400
    assert shows(response, "Enter a valid email address.")
    assert not Invitation.objects.filter(partner=partner).exists()


def test_sales_user_cannot_invite(partner: Partner, partner_admin: User) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    client = login(sales)
    page = client.get(reverse("partners:team"))
    assert 'id="invite-form"' not in text_of(page)
    response = client.post(reverse("partners:team_invite"), {"email": "x@acme.example", "role": "admin"})
    assert response.status_code in {400, 403, 404}
    assert not Invitation.objects.filter(partner=partner).exists()


def test_role_change(partner: Partner, partner_admin: User) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES, full_name="Sam Seller")
    client = login(partner_admin)
    response = client.post(
        reverse("partners:member_role", args=[sales.membership.pk]), {"role": "marketing"}, follow=True
    )
    assert response.status_code == 200
    assert shows(response, "Sam Seller's role changed.")
    assert Membership.objects.get(pk=sales.membership.pk).role == PartnerRole.MARKETING
    assert AuditEvent.objects.filter(action="membership.role_changed", partner_id=partner.pk).count() == 1
    assert Notification.objects.filter(recipient=sales, kind="membership.role_changed").exists()

    htmx = client.post(
        reverse("partners:member_role", args=[sales.membership.pk]),
        {"role": "learner"},
        HTTP_HX_REQUEST="true",
    )
    assert htmx.status_code == 200
    assert 'id="members-table"' in text_of(htmx)
    assert Membership.objects.get(pk=sales.membership.pk).role == PartnerRole.LEARNER


def test_deactivate_and_reactivate_member(partner: Partner, partner_admin: User) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES, full_name="Sam Seller")
    client = login(partner_admin)
    client.post(reverse("partners:member_deactivate", args=[sales.membership.pk]))
    sales.refresh_from_db()
    assert not sales.is_active
    assert not Membership.objects.get(pk=sales.membership.pk).is_active
    client.post(reverse("partners:member_reactivate", args=[sales.membership.pk]))
    sales.refresh_from_db()
    assert sales.is_active
    assert Membership.objects.get(pk=sales.membership.pk).is_active


def test_deactivating_last_admin_shows_error(partner: Partner, partner_admin: User) -> None:
    partner_admin.full_name = "Alice Admin"
    partner_admin.save(update_fields=["full_name"])
    client = login(partner_admin)
    response = client.post(
        reverse("partners:member_deactivate", args=[partner_admin.membership.pk]), follow=True
    )
    assert response.status_code == 200
    assert shows(response, "Alice Admin is the last partner admin and cannot be deactivated.")
    partner_admin.refresh_from_db()
    assert partner_admin.is_active
    assert Membership.objects.get(pk=partner_admin.membership.pk).is_active
    demote = client.post(
        reverse("partners:member_role", args=[partner_admin.membership.pk]), {"role": "sales"}, follow=True
    )
    assert shows(demote, "Alice Admin is the last partner admin; make someone else an admin first.")
    assert Membership.objects.get(pk=partner_admin.membership.pk).role == PartnerRole.ADMIN


def test_resend_and_revoke_invitation(
    partner: Partner, partner_admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    actor = factories.actor_for(partner_admin)
    invitation = services.invitation_create(
        actor=actor, partner=partner, email="ivy@acme.example", role="sales"
    )
    client = login(partner_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("partners:invitation_resend", args=[invitation.pk]), follow=True)
    assert shows(response, "Invitation to ivy@acme.example sent again.")
    assert [m.to for m in mail.outbox] == [["ivy@acme.example"]]
    response = client.post(reverse("partners:invitation_revoke", args=[invitation.pk]), follow=True)
    assert shows(response, "Invitation to ivy@acme.example withdrawn.")
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert 'id="invitation-' not in text_of(response)


def test_team_export_csv(partner: Partner, partner_admin: User) -> None:
    factories.partner_user(
        partner, role=PartnerRole.SALES, email="sam@acme.example", full_name="=cmd|' /C calc'!A0"
    )
    response = exported(login(partner_admin), reverse("partners:team_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert rows[0] == ["name", "email", "role", "active", "joined"]
    assert {row[1] for row in rows[1:]} == {partner_admin.email, "sam@acme.example"}
    # Formula injection is neutralised.
    assert any(row[0] == "'=cmd|' /C calc'!A0" for row in rows[1:])


# --- Invitation acceptance -------------------------------------------------------------------
@pytest.fixture
def invitation(partner: Partner, partner_admin: User) -> Invitation:
    return services.invitation_create(
        actor=factories.actor_for(partner_admin),
        partner=partner,
        email="newbie@acme.example",
        role=PartnerRole.SALES,
    )


def _accept_url(invitation: Invitation) -> str:
    return reverse("partners:invitation_accept", args=[services.invitation_token(invitation)])


def test_invitation_accept_page_shows_partner(invitation: Invitation) -> None:
    response = Client().get(_accept_url(invitation))
    assert response.status_code == 200
    assert "Acme Networks" in text_of(response)
    assert "newbie@acme.example" in text_of(response)


def test_invitation_accept_mismatching_passwords(invitation: Invitation) -> None:
    response = Client().post(
        _accept_url(invitation),
        {"full_name": "Newbie", "password1": "long-enough-pass-1", "password2": "long-enough-pass-2"},
    )
    assert response.status_code == 200
    assert shows(response, "The two passwords differ.")
    assert not User.objects.filter(email="newbie@acme.example").exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_invitation_accept_weak_password(invitation: Invitation) -> None:
    response = Client().post(
        _accept_url(invitation), {"full_name": "Newbie", "password1": "1234567890", "password2": "1234567890"}
    )
    assert response.status_code == 200
    assert "too common" in text_of(response) or "entirely numeric" in text_of(response)
    assert not User.objects.filter(email="newbie@acme.example").exists()


def test_invitation_accept_creates_user_and_logs_in(
    invitation: Invitation, partner: Partner, partner_admin: User
) -> None:
    client = Client()
    response = client.post(
        _accept_url(invitation),
        {"full_name": "Nina Newbie", "password1": "tulip-orbit-lantern", "password2": "tulip-orbit-lantern"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    user = User.objects.get(email="newbie@acme.example")
    assert user.full_name == "Nina Newbie"
    assert user.check_password("tulip-orbit-lantern")
    assert user.membership.partner == partner
    assert user.membership.role == PartnerRole.SALES
    assert int(client.session["_auth_user_id"]) == user.pk
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert shows(home, "Welcome, Nina Newbie! Your account is ready.")
    assert Notification.objects.filter(recipient=partner_admin, kind="invitation.accepted").exists()
    # The link works once.
    again = Client().get(_accept_url(invitation))
    assert again.status_code == 404


@pytest.mark.parametrize("token", ["garbage", "eyJpIjoxfQ:bad-signature"])
def test_invalid_invitation_token(db: Any, token: str) -> None:
    response = Client().get(reverse("partners:invitation_accept", args=[token]))
    assert response.status_code == 404
    assert "This invitation link is no longer valid" in text_of(response)


def test_revoked_invitation_token_is_invalid(invitation: Invitation, partner_admin: User) -> None:
    services.invitation_revoke(actor=factories.actor_for(partner_admin), invitation=invitation)
    response = Client().post(
        _accept_url(invitation),
        {"full_name": "Late", "password1": "tulip-orbit-lantern", "password2": "tulip-orbit-lantern"},
    )
    assert response.status_code == 404
    assert not User.objects.filter(email="newbie@acme.example").exists()


# --- Agreement gate and suspended access -----------------------------------------------------
@pytest.fixture
def new_partner(db: Any) -> Partner:
    return factories.PartnerFactory(
        legal_name="Initech Resellers", agreement_version="", status=PartnerStatus.ONBOARDING
    )


def test_agreement_gate_redirects_admin_and_accepts(new_partner: Partner) -> None:
    admin = factories.partner_user(new_partner, email="peter@initech.example")
    client = login(admin)
    for url in (reverse("home"), reverse("partners:team"), reverse("partners:company")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == reverse("partners:agreement")

    page = client.get(reverse("partners:agreement"))
    assert page.status_code == 200
    assert 'name="accept"' in text_of(page)

    missing = client.post(reverse("partners:agreement"), {})
    assert missing.status_code == 200
    assert shows(missing, "Tick the box to accept the agreement.")
    new_partner.refresh_from_db()
    assert new_partner.agreement_version == ""

    accepted = client.post(reverse("partners:agreement"), {"accept": "1"})
    assert accepted.status_code == 302
    assert accepted["Location"] == reverse("home")
    new_partner.refresh_from_db()
    assert new_partner.agreement_version == settings.PRM["PARTNER_AGREEMENT_VERSION"]
    assert new_partner.agreement_accepted_by == admin
    assert new_partner.status == PartnerStatus.ACTIVE
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert shows(home, "Thank you. Welcome to the partner program!")
    # Once accepted, the agreement page sends people home.
    assert client.get(reverse("partners:agreement"))["Location"] == reverse("home")


def test_agreement_gate_sales_user_sees_notice_and_no_form(new_partner: Partner) -> None:
    factories.partner_user(new_partner, email="peter@initech.example")
    sales = factories.partner_user(new_partner, role=PartnerRole.SALES, email="milton@initech.example")
    client = login(sales)
    assert client.get(reverse("home"))["Location"] == reverse("partners:agreement")
    page = client.get(reverse("partners:agreement"))
    assert page.status_code == 200
    assert shows(
        page, "Your company's partner admin must accept the agreement before you can use the portal."
    )
    assert 'name="accept"' not in text_of(page)
    response = client.post(reverse("partners:agreement"), {"accept": "1"})
    assert response.status_code == 200
    assert shows(response, "Only a partner admin can accept the partner agreement.")
    new_partner.refresh_from_db()
    assert new_partner.agreement_version == ""


@pytest.mark.parametrize("status", [PartnerStatus.SUSPENDED, PartnerStatus.TERMINATED])
def test_suspended_partner_user_gets_403_notice(partner: Partner, partner_admin: User, status: str) -> None:
    Partner.objects.filter(pk=partner.pk).update(status=status)
    client = login(partner_admin)
    for url in (reverse("home"), reverse("partners:team"), reverse("partners:team_export")):
        response = client.get(url)
        assert response.status_code == 403
        assert response.templates[0].name == "partners/access_suspended.html"
    text = text_of(client.get(reverse("home")))
    assert (
        "Portal access is suspended" if status == PartnerStatus.SUSPENDED else "Your partnership has ended"
    ) in text
    response = client.post(reverse("partners:team_invite"), {"email": "x@acme.example", "role": "sales"})
    assert response.status_code == 403
    assert not Invitation.objects.filter(partner=partner).exists()


# --- Public application ----------------------------------------------------------------------
def _application_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "company_name": "Wayne Cloud Partners LLC",
        "partner_type": PartnerType.MSP,
        "country": "US",
        "region": Region.NORTH_AMERICA,
        "website_domain": "https://www.Wayne-Cloud.example/about",
        "contact_name": "Bruce Wayne",
        "contact_email": "Bruce@Wayne-Cloud.example",
        "contact_phone": "",
        "employee_count": "42",
        "message": "We run clouds.",
        "homepage": "",
        "accept_terms": "on",
    }
    return {**data, **overrides}


def applications() -> Any:
    """This module's applications (other suites may leave rows in a shared, reused test database)."""
    return PartnerApplication.objects.filter(company_name="Wayne Cloud Partners LLC")


def test_apply_get(db: Any) -> None:
    response = Client().get(reverse("partners:apply"))
    assert response.status_code == 200
    assert 'name="company_name"' in text_of(response)


def test_apply_valid_post_creates_one_application(db: Any) -> None:
    client = Client()
    response = client.post(reverse("partners:apply"), _application_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:apply_thanks")
    application = applications().get()
    assert application.company_name == "Wayne Cloud Partners LLC"
    assert application.website_domain == "wayne-cloud.example"
    assert application.contact_email == "bruce@wayne-cloud.example"
    assert application.status == ApplicationStatus.SUBMITTED
    assert client.get(response["Location"]).status_code == 200


def test_apply_notifies_program_admins(program_admin: User) -> None:
    """Program admins exist in every real deployment; the anonymous request must still succeed."""
    response = Client().post(reverse("partners:apply"), _application_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:apply_thanks")
    application = applications().get()
    notification = Notification.objects.get(recipient=program_admin, kind="application.submitted")
    assert notification.url == reverse("vendor:application_detail", args=[application.pk])


def test_apply_invalid_domain_and_missing_fields(db: Any) -> None:
    response = Client().post(
        reverse("partners:apply"),
        _application_data(website_domain="not a domain", contact_name="", accept_terms=""),
    )
    assert response.status_code == 400
    assert shows(response, "Enter a website domain such as example.com.")
    assert shows(response, "This field is required.")
    assert shows(response, "Please correct the errors below.")
    assert not applications().exists()


def test_apply_honeypot_pretends_success_but_stores_nothing(db: Any) -> None:
    response = Client().post(reverse("partners:apply"), _application_data(homepage="http://spam.example"))
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:apply_thanks")
    assert not applications().exists()


def test_apply_duplicate_pending_application(db: Any) -> None:
    client = Client()
    client.post(reverse("partners:apply"), _application_data())
    response = client.post(reverse("partners:apply"), _application_data())
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:apply_thanks")
    assert applications().count() == 1


def test_apply_from_existing_account_email(partner_admin: User) -> None:
    """Accepted like any application (see test_enumeration.py); the reviewer is warned."""
    response = Client().post(reverse("partners:apply"), _application_data(contact_email=partner_admin.email))
    assert response.status_code == 302
    assert response["Location"] == reverse("partners:apply_thanks")
    assert applications().filter(contact_email=partner_admin.email).count() == 1


def test_apply_rate_limit(db: Any) -> None:
    client = Client()
    with override_settings(PRM={**settings.PRM, "APPLY_RATE_LIMIT": "2/h"}):
        first = client.post(reverse("partners:apply"), _application_data())
        second = client.post(
            reverse("partners:apply"),
            _application_data(contact_email="alfred@wayne-cloud.example", website_domain="wayne-two.example"),
        )
        third = client.post(
            reverse("partners:apply"),
            _application_data(
                contact_email="lucius@wayne-cloud.example", website_domain="wayne-three.example"
            ),
        )
    assert first.status_code == 302
    assert second.status_code == 302
    assert third.status_code == 429
    assert shows(third, "Too many applications from your network. Please try again in an hour.")
    assert applications().count() == 2


# --- Vendor console ---------------------------------------------------------------------------
@pytest.fixture
def console(program_admin: User, channel_manager: User) -> dict[str, Any]:
    admin_actor = factories.actor_for(program_admin)
    northwind = factories.PartnerFactory(
        legal_name="Northwind Traders",
        status=PartnerStatus.ACTIVE,
        tier=factories.tier("Gold"),
        partner_type=PartnerType.DISTRIBUTOR,
        region=Region.EMEA,
        country="DE",
    )
    contoso = factories.PartnerFactory(
        legal_name="Contoso Pharma",
        status=PartnerStatus.SUSPENDED,
        tier=factories.tier("Registered"),
        partner_type=PartnerType.RESELLER,
        region=Region.NORTH_AMERICA,
    )
    fabrikam = factories.PartnerFactory(
        legal_name="Fabrikam Cloud",
        status=PartnerStatus.ONBOARDING,
        tier=factories.tier("Silver"),
        partner_type=PartnerType.MSP,
        region=Region.APAC,
        country="AU",
    )
    services.partner_assign_channel_manager(actor=admin_actor, partner=northwind, manager=channel_manager)
    factories.partner_user(northwind)
    factories.partner_user(northwind, role=PartnerRole.SALES)
    return {
        "northwind": northwind,
        "contoso": contoso,
        "fabrikam": fabrikam,
        "cam": channel_manager,
        "client": login(program_admin),
        "admin": program_admin,
    }


def test_dashboard(console: dict[str, Any]) -> None:
    factories.PartnerFactory(status=PartnerStatus.ACTIVE, tier=factories.tier("Gold"))
    factories.ApplicationFactory(company_name="Pending Applicant Co")
    # Counted from the database, so rows other suites left in a reused test database do not matter.
    expected_status = {
        status: Partner.objects.filter(status=status).count() for status in PartnerStatus.values
    }
    expected_tier = {
        tier.name: tier.partners.count() for tier in factories.default_tiers() if tier.partners.exists()
    }
    expected_pending = PartnerApplication.objects.filter(status=ApplicationStatus.SUBMITTED).count()
    assert expected_status["active"] >= 2 and expected_tier["Gold"] >= 2
    response = console["client"].get(reverse("vendor:dashboard"))
    assert response.status_code == 200
    assert response.context["total"] == Partner.objects.count()
    by_status = {value: count for _label, count, value in response.context["by_status"]}
    assert by_status == expected_status
    assert {row["label"]: row["n"] for row in response.context["by_tier"]} == expected_tier
    assert response.context["pending_applications"] == expected_pending
    assert "Pending Applicant Co" in text_of(response)


def test_dashboard_for_cam_counts_portfolio(console: dict[str, Any]) -> None:
    response = login(console["cam"]).get(reverse("vendor:dashboard"))
    assert response.status_code == 200
    assert response.context["total"] == 1
    by_status = {value: count for _label, count, value in response.context["by_status"]}
    assert by_status == {"prospect": 0, "onboarding": 0, "active": 1, "suspended": 0, "terminated": 0}


MINE = {"Northwind Traders", "Contoso Pharma", "Fabrikam Cloud"}


@pytest.mark.parametrize(
    ("params", "expected", "others"),
    [
        # ``others``: what any partner another test left in a reused database must match to be
        # listed too (the search cases constrain nothing beyond this test's three).
        ({}, MINE, {}),
        ({"status": "suspended"}, {"Contoso Pharma"}, {"status": "suspended"}),
        ({"tier": "Gold"}, {"Northwind Traders"}, {"tier__name": "Gold"}),
        ({"partner_type": "msp"}, {"Fabrikam Cloud"}, {"partner_type": "msp"}),
        ({"region": "emea"}, {"Northwind Traders"}, {"region": "emea"}),
        (
            {"channel_account_manager": "cam"},
            {"Northwind Traders"},
            {"channel_account_manager__email": "cam"},
        ),
        ({"q": "wind"}, {"Northwind Traders"}, {}),
        ({"q": "fabri"}, {"Fabrikam Cloud"}, {}),
        ({"q": "northwnd"}, {"Northwind Traders"}, {}),
        ({"status": "active", "region": "apac"}, set(), {"status": "active", "region": "apac"}),
    ],
)
def test_partner_list_filters(
    console: dict[str, Any], params: dict[str, str], expected: set[str], others: dict[str, str]
) -> None:
    cam = console["cam"]
    query = {**params, "q": params.get("q", "")}
    if "tier" in params:
        query["tier"] = factories.tier(params["tier"]).pk
    if "channel_account_manager" in params:
        query["channel_account_manager"] = cam.pk
    others = {key: cam.email if value == "cam" else value for key, value in others.items()}
    response = console["client"].get(reverse("vendor:partner_list"), query)
    assert response.status_code == 200
    # This test's three: exactly the expected ones are listed, the others are not.
    assert partner_names(response) & MINE == expected
    page = text_of(response)
    assert {name for name in MINE if name in page} == expected
    # Anything else listed matches the filter too.
    listed = {partner.pk for partner in response.context["page"].object_list}
    assert listed <= set(Partner.objects.filter(**others).values_list("pk", flat=True))


def test_partner_list_invalid_filter_is_not_an_error(console: dict[str, Any]) -> None:
    response = console["client"].get(reverse("vendor:partner_list"), {"status": "bogus", "tier": "999999"})
    assert response.status_code == 200


def test_partner_list_pagination_keeps_filters(console: dict[str, Any]) -> None:
    for number in range(30):
        factories.PartnerFactory(legal_name=f"Paging Probe {number:02}", status=PartnerStatus.PROSPECT)
    factories.PartnerFactory(legal_name="Paging Probe Active", status=PartnerStatus.ACTIVE)
    client = console["client"]
    filters = {"status": "prospect", "q": "Paging Probe"}
    first = client.get(reverse("vendor:partner_list"), filters)
    assert first.status_code == 200
    assert len(first.context["page"].object_list) == 25
    assert first.context["page"].paginator.count == 30
    page_links = [params for params in links(first) if params.get("page") == ["2"]]
    assert page_links
    for params in page_links:
        assert params.get("status") == ["prospect"]
        assert params.get("q") == ["Paging Probe"]
    export_link = re.search(r'action="([^"]*export\.csv[^"]*)"', text_of(first))
    assert export_link
    assert parse_qs(html.unescape(export_link.group(1)).split("?", 1)[1]) == {
        "status": ["prospect"],
        "q": ["Paging Probe"],
    }
    second = client.get(reverse("vendor:partner_list"), {**filters, "page": "2"})
    names = [p.legal_name for p in second.context["page"].object_list]
    assert names == [f"Paging Probe {number:02}" for number in range(25, 30)]


def test_partner_export_honours_filters(console: dict[str, Any]) -> None:
    client = console["client"]
    response = exported(client, reverse("vendor:partner_export"), {"region": "emea"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == [
        "id",
        "legal_name",
        "type",
        "country",
        "region",
        "status",
        "tier",
        "channel_account_manager",
        "website_domain",
        "active_users",
        "agreement_version",
        "created",
    ]
    records = [dict(zip(rows[0], values, strict=True)) for values in rows[1:]]
    assert {r["legal_name"] for r in records} & MINE == {"Northwind Traders"}
    assert {r["region"] for r in records} == {"Europe, Middle East & Africa"}
    row = next(r for r in records if r["legal_name"] == "Northwind Traders")
    assert row["channel_account_manager"] == console["cam"].email
    assert row["active_users"] == "2"
    assert row["tier"] == "Gold"
    everything = csv_rows(exported(client, reverse("vendor:partner_export")))
    assert {r[1] for r in everything[1:]} >= MINE
    suspended = csv_rows(
        exported(client, reverse("vendor:partner_export"), {"status": "suspended", "q": "Contoso"})
    )
    assert [r[1] for r in suspended[1:]] == ["Contoso Pharma"]


def test_partner_detail_shows_audit_history(console: dict[str, Any]) -> None:
    northwind = console["northwind"]
    services.partner_change_tier(
        actor=factories.actor_for(console["admin"]),
        partner=northwind,
        tier=factories.tier("Platinum"),
        reason="Record year",
    )
    response = console["client"].get(reverse("vendor:partner_detail", args=[northwind.pk]))
    assert response.status_code == 200
    page = text_of(response)
    assert "Northwind Traders" in page
    assert "partner.tier_changed" in page
    assert "Record year" in page
    assert "partner.channel_manager_changed" in page
    assert console["cam"].full_name in page


def test_partner_status_change(console: dict[str, Any]) -> None:
    northwind = console["northwind"]
    response = console["client"].post(
        reverse("vendor:partner_change_status", args=[northwind.pk]),
        {"action": "suspend", "reason": "Unpaid invoices"},
        follow=True,
    )
    assert response.status_code == 200
    assert shows(response, "Status updated.")
    northwind.refresh_from_db()
    assert northwind.status == PartnerStatus.SUSPENDED
    event = AuditEvent.objects.get(action="partner.suspended", partner_id=northwind.pk)
    assert event.reason == "Unpaid invoices"
    assert event.before == {"status": "active"} and event.after == {"status": "suspended"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "onboarding"}, "A partner that is active cannot become onboarding."),
        ({"action": "reinstate"}, "Only a suspended partner can be reinstated."),
        ({"action": "suspend", "reason": "  "}, "Say why the partner is suspended; its admins will see it."),
        ({"action": "explode"}, "Choose a status change."),
    ],
)
def test_partner_disallowed_status_change_shows_error(
    console: dict[str, Any], data: dict, message: str
) -> None:
    northwind = console["northwind"]
    response = console["client"].post(
        reverse("vendor:partner_change_status", args=[northwind.pk]), data, follow=True
    )
    assert response.status_code == 200
    assert shows(response, message)
    northwind.refresh_from_db()
    assert northwind.status == PartnerStatus.ACTIVE


def test_partner_tier_and_manager_change(console: dict[str, Any]) -> None:
    client, contoso, cam = console["client"], console["contoso"], console["cam"]
    response = client.post(
        reverse("vendor:partner_change_tier", args=[contoso.pk]),
        {"tier": factories.tier("Silver").pk, "reason": "Upgrade"},
        follow=True,
    )
    assert shows(response, "Tier updated.")
    response = client.post(
        reverse("vendor:partner_assign_manager", args=[contoso.pk]),
        {"channel_account_manager": cam.pk},
        follow=True,
    )
    assert shows(response, "Channel account manager updated.")
    contoso.refresh_from_db()
    assert contoso.tier.name == "Silver"
    assert contoso.channel_account_manager == cam
    cam_list = login(cam).get(reverse("vendor:partner_list"))
    assert partner_names(cam_list) == {"Northwind Traders", "Contoso Pharma"}


def test_cam_cannot_change_tier_of_own_partner(console: dict[str, Any]) -> None:
    northwind = console["northwind"]
    response = login(console["cam"]).post(
        reverse("vendor:partner_change_tier", args=[northwind.pk]),
        {"tier": factories.tier("Platinum").pk},
        follow=True,
    )
    assert response.status_code == 200
    assert shows(response, "You are not allowed to do that.")
    northwind.refresh_from_db()
    assert northwind.tier.name == "Gold"


def test_application_list_and_detail(console: dict[str, Any]) -> None:
    pending = factories.ApplicationFactory(company_name="Pending Applicant Co")
    factories.ApplicationFactory(company_name="Old Rejected Co", status=ApplicationStatus.REJECTED)
    client = console["client"]
    listing = client.get(reverse("vendor:application_list"))
    assert listing.status_code == 200
    assert "Pending Applicant Co" in text_of(listing)
    assert "Old Rejected Co" not in text_of(listing)
    everything = client.get(reverse("vendor:application_list"), {"status": "all"})
    assert "Old Rejected Co" in text_of(everything)
    assert "Pending Applicant Co" in text_of(everything)
    rejected = client.get(reverse("vendor:application_list"), {"status": ApplicationStatus.REJECTED})
    assert "Old Rejected Co" in text_of(rejected)
    assert "Pending Applicant Co" not in text_of(rejected)
    detail = client.get(reverse("vendor:application_detail", args=[pending.pk]))
    assert detail.status_code == 200
    assert "Pending Applicant Co" in text_of(detail)
    assert pending.contact_email in text_of(detail)


def test_application_approve_creates_partner_invitation_and_email(
    console: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    application = factories.ApplicationFactory(
        company_name="Wayne Cloud Partners LLC",
        contact_email="bruce@wayne-cloud.example",
        website_domain="wayne-cloud.example",
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = console["client"].post(
            reverse("vendor:application_approve", args=[application.pk]),
            {"tier": factories.tier("Silver").pk},
        )
    partner = Partner.objects.get(legal_name="Wayne Cloud Partners LLC")
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor:partner_detail", args=[partner.pk])
    assert partner.status == PartnerStatus.ONBOARDING
    assert partner.tier.name == "Silver"
    assert partner.website_domain == "wayne-cloud.example"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.partner == partner
    assert application.reviewed_by == console["admin"]
    invitation = Invitation.objects.get(partner=partner)
    assert invitation.email == "bruce@wayne-cloud.example"
    assert invitation.role == PartnerRole.ADMIN
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["bruce@wayne-cloud.example"]
    assert services.invitation_url(invitation) in message.body
    follow = console["client"].get(response["Location"])
    assert shows(
        follow,
        "Wayne Cloud Partners LLC approved; bruce@wayne-cloud.example was invited as its partner admin.",
    )
    # Approving twice is refused with a message, never a second partner.
    again = console["client"].post(reverse("vendor:application_approve", args=[application.pk]), follow=True)
    assert again.status_code == 200
    assert shows(again, "This application was already approved.")
    assert Partner.objects.filter(legal_name="Wayne Cloud Partners LLC").count() == 1


def test_approved_applicant_can_accept_the_invitation(console: dict[str, Any]) -> None:
    """The vendor-sent invitation (from an approval) is accepted like any other."""
    application = factories.ApplicationFactory(
        company_name="Wayne Cloud Partners LLC", contact_email="bruce@wayne-cloud.example"
    )
    console["client"].post(reverse("vendor:application_approve", args=[application.pk]))
    invitation = Invitation.objects.get(email="bruce@wayne-cloud.example")
    client = Client()
    response = client.post(
        _accept_url(invitation),
        {"full_name": "Bruce Wayne", "password1": "gotham-knight-2026", "password2": "gotham-knight-2026"},
    )
    assert response.status_code == 302
    user = User.objects.get(email="bruce@wayne-cloud.example")
    assert user.membership.role == PartnerRole.ADMIN
    assert client.get(reverse("home"))["Location"] == reverse("partners:agreement")
    assert Notification.objects.filter(recipient=console["admin"], kind="invitation.accepted").exists()


def test_application_reject(console: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    application = factories.ApplicationFactory(contact_email="founder@applicant.example")
    client = console["client"]
    response = client.post(
        reverse("vendor:application_reject", args=[application.pk]), {"reason": ""}, follow=True
    )
    assert response.status_code == 200
    assert shows(response, "Give the applicant a reason for the rejection.")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("vendor:application_reject", args=[application.pk]),
            {"reason": "We are not recruiting in your region."},
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("vendor:application_list")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert application.rejection_reason == "We are not recruiting in your region."
    assert [m.to for m in mail.outbox] == [["founder@applicant.example"]]
    assert "We are not recruiting in your region." in mail.outbox[0].body
    assert not Partner.objects.filter(legal_name=application.company_name).exists()


def test_vendor_without_console_role_rights_cannot_review(console: dict[str, Any]) -> None:
    application = factories.ApplicationFactory()
    finance = factories.vendor_user(VendorRole.FINANCE, email="fin@prm.example")
    client = login(finance)
    assert client.get(reverse("vendor:application_detail", args=[application.pk])).status_code == 404
    response = client.post(reverse("vendor:application_approve", args=[application.pk]))
    assert response.status_code == 404
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED


# --- Notifications ----------------------------------------------------------------------------
def test_notifications_list_open_and_mark_all_read(partner: Partner, partner_admin: User) -> None:
    first = Notification.objects.create(
        recipient=partner_admin,
        partner_id=partner.pk,
        kind="test",
        title="Your deal was approved",
        url=reverse("partners:team"),
    )
    Notification.objects.create(
        recipient=partner_admin, partner_id=partner.pk, kind="test", title="New training available"
    )
    Notification.objects.create(
        recipient=partner_admin, partner_id=partner.pk, kind="test", title="MDF claim paid"
    )
    client = login(partner_admin)
    page = client.get(reverse("notifications"))
    assert page.status_code == 200
    for title in ("Your deal was approved", "New training available", "MDF claim paid"):
        assert title in text_of(page)
    assert page.context["unread_notifications"] == 3

    opened = client.get(reverse("notification_open", args=[first.pk]))
    assert opened.status_code == 302
    assert opened["Location"] == reverse("partners:team")
    first.refresh_from_db()
    assert first.read_at is not None
    assert Notification.objects.filter(recipient=partner_admin, read_at__isnull=True).count() == 2

    response = client.post(reverse("notifications_read_all"), follow=True)
    assert response.status_code == 200
    assert shows(response, "2 notifications marked as read.")
    assert not Notification.objects.filter(recipient=partner_admin, read_at__isnull=True).exists()
    assert response.context["unread_notifications"] == 0


def test_notification_without_url_opens_the_list(program_admin: User) -> None:
    notification = Notification.objects.create(recipient=program_admin, kind="test", title="Hello")
    response = login(program_admin).get(reverse("notification_open", args=[notification.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("notifications")


def test_mark_all_read_requires_post(partner_admin: User) -> None:
    Notification.objects.create(
        recipient=partner_admin, partner_id=partner_admin.membership.partner_id, kind="test", title="Unread"
    )
    response = login(partner_admin).get(reverse("notifications_read_all"))
    assert response.status_code == 405
    assert Notification.objects.filter(recipient=partner_admin, read_at__isnull=True).count() == 1


def test_a_refused_status_change_leaves_nothing_half_written(
    partner: Partner, program_admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console's services run in a savepoint (prm.errors.attempt): a refusal after a write no
    longer keeps the write (the request's transaction commits, the error was caught)."""
    name = partner.legal_name

    def suspend_then_refuse(*, actor: Any, partner: Partner, reason: str) -> Partner:
        Partner.objects.filter(pk=partner.pk).update(legal_name="Half-written")
        raise ApplicationError("Not now.")

    monkeypatch.setattr(services, "partner_suspend", suspend_then_refuse)
    response = login(program_admin).post(
        reverse("vendor:partner_change_status", args=[partner.pk]),
        {"action": "suspend", "reason": "Unpaid invoices"},
        follow=True,
    )
    assert response.redirect_chain == [(reverse("vendor:partner_detail", args=[partner.pk]), 302)]
    assert shows(response, "Not now.")
    assert Partner.objects.get(pk=partner.pk).legal_name == name
