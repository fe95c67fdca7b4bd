"""Authentication and request-level security: MFA gate for vendor staff, allauth login (with its MFA
stage and rate limit), the admin behind allauth, closed sign-up and CSRF."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from partners.models import Invitation, Partner, PartnerRole
from prm.models import User
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db

LOGIN_URL = "/accounts/login/"


def signed_in_user_id(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


# --- MFA gate ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["/vendor/", "/vendor/partners/", "/admin/", "/admin/partners/partner/", "/"]
)
def test_vendor_without_totp_is_sent_to_mfa_setup(db: Any, path: str) -> None:
    vendor = factories.VendorUserFactory(email="nomfa@prm.example", totp=False)
    assert not factories.has_totp(vendor)
    response = login(vendor).get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    assert f"next={path}" in response["Location"]


def test_vendor_without_totp_cannot_post_console_actions(partner: Partner) -> None:
    vendor = factories.VendorUserFactory(email="nomfa@prm.example", totp=False)
    response = login(vendor).post(
        reverse("vendor:partner_change_status", args=[partner.pk]), {"action": "suspend", "reason": "no MFA"}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("mfa_activate_totp"))
    partner.refresh_from_db()
    assert partner.status == "active"


@pytest.mark.parametrize("path", ["/vendor/", "/admin/"])
def test_vendor_with_totp_gets_in(program_admin: User, path: str) -> None:
    assert factories.has_totp(program_admin)
    assert login(program_admin).get(path).status_code == 200


def test_vendor_without_totp_can_reach_the_mfa_pages(db: Any) -> None:
    """The gate leaves /accounts/ open, so setting up MFA is possible (no redirect loop)."""
    vendor = factories.VendorUserFactory(email="nomfa@prm.example", totp=False)
    client = Client()
    response = client.post(LOGIN_URL, {"login": vendor.email, "password": factories.PASSWORD}, follow=True)
    assert response.status_code == 200
    assert signed_in_user_id(client) == vendor.pk
    chain = [url for url, _status in response.redirect_chain]
    assert any(url.startswith(reverse("mfa_activate_totp")) for url in chain)
    # allauth asks for the password once more before a second factor can be added.
    assert chain[-1].startswith(reverse("account_reauthenticate")), chain
    response = client.post(chain[-1], {"password": factories.PASSWORD}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith(reverse("mfa_activate_totp"))
    assert 'name="code"' in response.content.decode()


def test_partner_user_without_totp_is_not_forced(partner_admin: User) -> None:
    assert not factories.has_totp(partner_admin)
    client = login(partner_admin)
    for path in (reverse("home"), reverse("partners:team"), reverse("partners:company")):
        response = client.get(path)
        assert response.status_code == 200, path


def test_partner_user_cannot_enter_the_admin(partner_admin: User) -> None:
    client = login(partner_admin)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert b"Program administration" not in response.content
    changelist = client.get("/admin/partners/partner/", follow=True)
    assert changelist.status_code == 403
    assert b"Acme Networks" not in changelist.content


# --- Admin login goes through allauth --------------------------------------------------------
def test_admin_login_redirects_to_allauth_for_anonymous(db: Any) -> None:
    response = Client().get("/admin/login/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == LOGIN_URL
    assert parse_qs(location.query)["next"] == ["/admin/login/"]


def test_admin_index_for_anonymous_ends_at_allauth_login(db: Any) -> None:
    response = Client().get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(LOGIN_URL)
    assert response.status_code == 200


def test_admin_login_form_post_does_not_authenticate(partner_admin: User, program_admin: User) -> None:
    """Posting straight to Django's admin login cannot skip allauth's MFA stage."""
    client = Client()
    response = client.post("/admin/login/", {"username": program_admin.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert signed_in_user_id(client) is None


# --- allauth login ----------------------------------------------------------------------------
def test_partner_user_logs_in_with_allauth(partner_admin: User) -> None:
    client = Client()
    response = client.post(LOGIN_URL, {"login": partner_admin.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert signed_in_user_id(client) == partner_admin.pk
    assert client.get(reverse("home")).status_code == 200


def test_login_is_case_insensitive_on_email(partner_admin: User) -> None:
    client = Client()
    client.post(LOGIN_URL, {"login": partner_admin.email.upper(), "password": factories.PASSWORD})
    assert signed_in_user_id(client) == partner_admin.pk


def test_wrong_password_does_not_log_in(partner_admin: User) -> None:
    client = Client()
    response = client.post(LOGIN_URL, {"login": partner_admin.email, "password": "wrong-password-123"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert signed_in_user_id(client) is None


def test_deactivated_partner_user_cannot_log_in(partner: Partner, partner_admin: User) -> None:
    from partners import services

    sales = factories.partner_user(partner, role=PartnerRole.SALES, email="gone@acme.example")
    services.membership_deactivate(actor=factories.actor_for(partner_admin), membership=sales.membership)
    client = Client()
    client.post(LOGIN_URL, {"login": "gone@acme.example", "password": factories.PASSWORD})
    assert signed_in_user_id(client) is None


def test_vendor_with_totp_goes_to_mfa_stage(program_admin: User) -> None:
    client = Client()
    response = client.post(LOGIN_URL, {"login": program_admin.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert "/accounts/2fa/authenticate/" in response["Location"]
    assert signed_in_user_id(client) is None
    # Without the second factor the console stays closed.
    console = client.get(reverse("vendor:dashboard"))
    assert console.status_code == 302
    assert console["Location"].startswith(LOGIN_URL)


def test_login_rate_limit(partner_admin: User) -> None:
    client = Client()
    with override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "3/5m/ip"}):
        for _ in range(3):
            response = client.post(
                LOGIN_URL, {"login": partner_admin.email, "password": "wrong-password-123"}
            )
            assert response.status_code == 200
            assert "Too many failed login attempts" not in response.content.decode()
        # Even the right password is refused once the limit is reached.
        blocked = client.post(LOGIN_URL, {"login": partner_admin.email, "password": factories.PASSWORD})
    assert blocked.status_code == 429 or "Too many failed login attempts" in blocked.content.decode()
    assert signed_in_user_id(client) is None


# --- No open sign-up --------------------------------------------------------------------------
def test_signup_is_closed(db: Any) -> None:
    client = Client()
    page = client.get("/accounts/signup/")
    content = page.content.decode()
    assert page.status_code in {200, 403}
    assert "closed" in content.lower()
    assert 'name="password1"' not in content
    client.post(
        "/accounts/signup/",
        {
            "email": "walkin@example.com",
            "password1": "tulip-orbit-lantern",
            "password2": "tulip-orbit-lantern",
        },
    )
    assert not User.objects.filter(email="walkin@example.com").exists()


# --- CSRF -------------------------------------------------------------------------------------
def test_team_invite_without_csrf_token_is_refused(partner: Partner, partner_admin: User) -> None:
    client = login(partner_admin, enforce_csrf_checks=True)
    response = client.post(reverse("partners:team_invite"), {"email": "csrf@acme.example", "role": "admin"})
    assert response.status_code == 403
    assert not Invitation.objects.filter(partner=partner).exists()


def test_team_invite_with_csrf_token_is_accepted_control(partner: Partner, partner_admin: User) -> None:
    client = login(partner_admin, enforce_csrf_checks=True)
    page = client.get(reverse("partners:team")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        reverse("partners:team_invite"),
        {"email": "csrf@acme.example", "role": "sales", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert Invitation.objects.filter(partner=partner, email="csrf@acme.example").exists()


def test_htmx_post_without_csrf_header_is_refused(partner: Partner, partner_admin: User) -> None:
    client = login(partner_admin, enforce_csrf_checks=True)
    response = client.post(
        reverse("partners:team_invite"),
        {"email": "csrf@acme.example", "role": "admin"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 403
    assert not Invitation.objects.filter(partner=partner).exists()


def test_a_totp_code_of_the_neighbouring_step_is_accepted_but_not_an_older_one(db: Any) -> None:
    import time

    from allauth.mfa.totp.internal.auth import (
        format_hotp_value,
        generate_totp_secret,
        hotp_value,
        validate_totp_code,
    )

    secret = generate_totp_secret()
    now = int(time.time()) // 30
    assert validate_totp_code(secret, format_hotp_value(hotp_value(secret, now - 1)))
    assert not validate_totp_code(secret, format_hotp_value(hotp_value(secret, now - 3)))


# --- The client's address behind the TLS proxy (rate limits) --------------------------------------
PROXY = "10.0.0.2"  # REMOTE_ADDR of every request that came through our proxy
VERIFY_URL = "/verify/NO-SUCH-CODE/"  # a public page with the portal's own rate limit


def _verify(client: Client, forwarded_for: str | None = None, remote: str = PROXY) -> int:
    extra = {"REMOTE_ADDR": remote}
    if forwarded_for is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.get(VERIFY_URL, **extra).status_code


@pytest.mark.parametrize(
    "trusted, forwarded_for, expected",
    [
        (0, None, "10.0.0.2"),
        (0, "203.0.113.5", "10.0.0.2"),  # no trusted proxy: the header is the client's word
        (1, None, "10.0.0.2"),  # did not come through the proxy
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "198.51.100.9, 203.0.113.5", "203.0.113.5"),  # the left entry was forged by the client
        (2, "198.51.100.9, 203.0.113.5, 10.0.0.7", "203.0.113.5"),
        (2, "203.0.113.5", "10.0.0.2"),  # fewer hops than proxies: only the connection is known
        (1, "not-an-address", "10.0.0.2"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_ip_counts_trusted_proxies_from_the_right(
    trusted: int, forwarded_for: str | None, expected: str
) -> None:
    from django.test import RequestFactory

    from partners.ratelimit import client_ip

    headers = {"REMOTE_ADDR": PROXY}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    with override_settings(PRM_TRUSTED_PROXY_COUNT=trusted):
        assert client_ip(RequestFactory().get("/", **headers)) == expected


def test_two_clients_behind_one_proxy_have_their_own_portal_rate_limit(db: Any, settings: Any) -> None:
    settings.PRM_TRUSTED_PROXY_COUNT = 1
    settings.PRM = {**settings.PRM, "VERIFY_RATE_LIMIT": "2/m"}
    first, second = Client(), Client()
    assert [_verify(first, "203.0.113.5") for _ in range(3)] == [200, 200, 429]
    # Another client behind the same proxy still has its whole allowance.
    assert [_verify(second, "203.0.113.6") for _ in range(3)] == [200, 200, 429]
    # A forged entry left of the proxy's does not give the first client a new bucket.
    assert _verify(first, "198.51.100.1, 203.0.113.5") == 429


def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(db: Any, settings: Any) -> None:
    settings.PRM_TRUSTED_PROXY_COUNT = 0
    settings.PRM = {**settings.PRM, "VERIFY_RATE_LIMIT": "2/m"}
    client = Client()
    codes = [_verify(client, f"198.51.100.{n}", remote="203.0.113.5") for n in range(3)]
    assert codes == [200, 200, 429]


def _fail_login(client: Client, forwarded_for: str, email: str) -> int:
    response = client.post(
        LOGIN_URL,
        {"login": email, "password": "wrong-password-123"},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )
    return (
        429
        if response.status_code == 429 or "Too many failed login attempts" in response.content.decode()
        else 200
    )


def test_two_clients_behind_one_proxy_have_their_own_login_rate_limit(partner_admin: User) -> None:
    first, second = Client(), Client()
    with override_settings(
        PRM_TRUSTED_PROXY_COUNT=1,
        ALLAUTH_TRUSTED_PROXY_COUNT=1,
        ACCOUNT_RATE_LIMITS={"login_failed": "2/5m/ip"},
    ):
        assert [_fail_login(first, "203.0.113.5", partner_admin.email) for _ in range(3)] == [200, 200, 429]
        # The other client behind the proxy may still sign in.
        response = second.post(
            LOGIN_URL,
            {"login": partner_admin.email, "password": factories.PASSWORD},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR="203.0.113.6",
        )
    assert response.status_code == 302
    assert signed_in_user_id(second) == partner_admin.pk


def test_without_trusted_proxies_a_forged_forwarded_for_does_not_escape_the_login_limit(
    partner_admin: User,
) -> None:
    client = Client()
    with override_settings(
        PRM_TRUSTED_PROXY_COUNT=0,
        ALLAUTH_TRUSTED_PROXY_COUNT=0,
        ACCOUNT_RATE_LIMITS={"login_failed": "2/5m/ip"},
    ):
        codes = [_fail_login(client, f"198.51.100.{n}", partner_admin.email) for n in range(3)]
    assert codes == [200, 200, 429]


def test_allauth_and_the_portal_read_the_trusted_proxy_count_from_one_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import runpy

    from django.conf import settings

    monkeypatch.setenv("PRM_TRUSTED_PROXY_COUNT", "2")
    base = runpy.run_path(str(settings.BASE_DIR / "prm" / "settings" / "base.py"))
    assert base["PRM_TRUSTED_PROXY_COUNT"] == 2
    assert base["ALLAUTH_TRUSTED_PROXY_COUNT"] == 2
    # And nothing trusts the header unless told to.
    assert settings.PRM_TRUSTED_PROXY_COUNT == 0
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == 0
