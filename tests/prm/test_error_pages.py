"""The portal's own error pages (403, 404, 500, CSRF failure, rate limited): the base layout with
the navigation of the user's role, a plain message that says what to do next, never a stack
trace -- with production settings (DEBUG off, as in the test settings)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse

from partners.models import PartnerRole
from prm.roles import VendorRole
from tests import factories
from tests.helpers import body_text, login

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_limits() -> None:
    cache.clear()  # the rate limits count in the cache


def assert_portal_error_page(response: Any, status: int, *, says: str, nav: str | None) -> str:
    text = body_text(response)
    assert response.status_code == status
    assert not settings.DEBUG
    assert f'id="error-page" data-status="{status}"' in text  # the portal's template, not Django's
    assert 'aria-label="Main navigation"' in text and "bootstrap.min.css" in text  # the base layout
    assert says in text
    assert "Traceback" not in text and "Request Method" not in text and "Reason given" not in text
    if nav is not None:
        assert nav in text, f"the navigation of the user's role ({nav}) is missing"
    return text


def test_404_is_the_portals_page_with_the_partners_navigation() -> None:
    client = login(factories.partner_user(role=PartnerRole.SALES))
    response = client.get("/no-such-page/")
    assert_portal_error_page(response, 404, says="We could not find that page", nav=reverse("deals:list"))


def test_error_pages_name_no_company_or_person() -> None:
    """A 404 answers for another partner's id as for a missing one: nothing on it (not even the
    user's own company or e-mail in the navigation) depends on who asks."""
    user = factories.partner_user(email="peggy@northwind.example")
    client = login(user)
    text = assert_portal_error_page(
        client.get("/no-such-page/"), 404, says="could not find", nav=reverse("partners:team")
    )
    assert user.membership.partner.legal_name not in text
    assert "peggy@northwind.example" not in text and user.full_name not in text


def test_404_for_someone_signed_out_offers_sign_in() -> None:
    response = Client().get("/no-such-page/")
    assert_portal_error_page(
        response, 404, says="start again from the home page", nav=reverse("account_login")
    )


def test_403_is_the_portals_page_with_the_vendor_navigation() -> None:
    # Finance may not manage users: the admin raises PermissionDenied.
    client = login(factories.vendor_user(VendorRole.FINANCE))
    response = client.get(reverse("admin:prm_user_changelist"))
    assert_portal_error_page(
        response, 403, says="Your role does not include this page", nav=reverse("vendor:dashboard")
    )


def test_500_is_the_portals_page_without_a_stack_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(**kwargs: Any) -> Any:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("prm.views.inbox_pages", boom)
    client = login(factories.partner_user(), raise_request_exception=False)
    response = client.get(reverse("notifications"))
    text = assert_portal_error_page(
        response, 500, says="Something went wrong on our side", nav=reverse("partners:team")
    )
    assert "secret internals" not in text


def test_500_page_renders_without_the_request_if_need_be(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.test import RequestFactory

    from prm import views

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database gone")

    monkeypatch.setattr(views, "render", broken)
    response = views.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert 'data-status="500"' in response.content.decode()


def test_csrf_failure_says_the_form_expired_and_offers_to_reload_it() -> None:
    user = factories.partner_user()
    client = login(user, enforce_csrf_checks=True)
    team = reverse("partners:team")
    response = client.post(
        reverse("partners:team_invite"),
        {"email": "csrf@acme.example", "role": "admin"},
        HTTP_REFERER=f"http://testserver{team}",
    )
    text = assert_portal_error_page(response, 403, says="Your form has expired", nav=reverse("partners:team"))
    assert f'href="http://testserver{team}"' in text  # back to the form
    assert "CSRF cookie" not in text and "Forbidden" not in text


def test_csrf_retry_link_never_points_to_another_site() -> None:
    client = login(factories.partner_user(), enforce_csrf_checks=True)
    response = client.post(reverse("partners:team_invite"), {}, HTTP_REFERER="https://evil.example/x")
    assert "evil.example" not in body_text(response)


def test_allauth_rate_limit_is_the_portals_429_page() -> None:
    user = factories.partner_user()
    client = Client()
    with override_settings(ACCOUNT_RATE_LIMITS={"login_failed": "1/5m/ip", "login": "1/m/ip"}):
        client.post(reverse("account_login"), {"login": user.email, "password": "wrong-password-123"})
        response = client.post(reverse("account_login"), {"login": user.email, "password": "wrong-again-123"})
    assert_portal_error_page(response, 429, says="Wait a few minutes, then try again", nav=None)


def test_the_projects_own_rate_limit_answers_inside_the_portal_layout() -> None:
    client = Client()
    with override_settings(PRM={**settings.PRM, "VERIFY_RATE_LIMIT": "1/m"}):
        client.get(reverse("training:verify", args=["NOPE"]))
        response = client.get(reverse("training:verify", args=["NOPE"]))
    text = body_text(response)
    assert response.status_code == 429
    assert 'aria-label="Main navigation"' in text and "Traceback" not in text
