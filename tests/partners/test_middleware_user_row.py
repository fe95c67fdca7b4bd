"""What every signed-in page pays before its view (issue 11): the MFA gate of vendor pages answers
from the flag the user row read with it (prm.auth_backends.LoadedUserState), and the bell's unread
count comes with the statement that writes the request's scope (prm.tenancy.tenant_scope's
``along``). A partner page sends one statement fewer than before, a vendor page two fewer, with the
same gate and the same count."""

from __future__ import annotations

import time
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners import middleware
from partners.models import Partner
from prm.models import User
from prm.notifications import notify
from prm.tenancy import system_scope
from tests import factories

pytestmark = pytest.mark.django_db

BACKEND = "prm.auth_backends.AuthenticationBackend"
DJANGO_BACKEND = "django.contrib.auth.backends.ModelBackend"
PARTNER_PAGE = reverse("partners:company")
VENDOR_PAGE = reverse("vendor:dashboard")


def signed_in(user: User, backend: str = BACKEND) -> Client:
    client = Client()
    client.force_login(user, backend=backend)
    return client


def statements(client: Client, path: str) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
        response.content  # noqa: B018 (a streamed body would be read here)
    return response, [query["sql"] for query in context.captured_queries]


def reading(table: str, sqls: list[str]) -> list[str]:
    return [sql for sql in sqls if f'"{table}"' in sql]


def notes(user: User, partner_id: int | None, how_many: int) -> None:
    with system_scope():
        for n in range(how_many):
            notify(recipient=user, kind="test", title=f"Note {n}", partner_id=partner_id, email=False)


# --- the MFA gate ---------------------------------------------------------------------------------
def test_a_vendor_without_totp_is_still_sent_to_mfa_setup_from_the_loaded_flag() -> None:
    vendor = factories.VendorUserFactory(email="nomfa@prm.example", totp=False)
    response, sqls = statements(signed_in(vendor), VENDOR_PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('mfa_activate_totp')}?next={VENDOR_PAGE}"
    assert len(reading("mfa_authenticator", sqls)) == 1  # in the user row statement
    assert reading("mfa_authenticator", sqls)[0].startswith('SELECT "prm_user"."id"')


def test_a_vendor_with_totp_gets_in_without_a_statement_for_the_gate(program_admin: User) -> None:
    response, sqls = statements(signed_in(program_admin), VENDOR_PAGE)
    assert response.status_code == 200
    assert [sql[:24] for sql in reading("mfa_authenticator", sqls)] == ['SELECT "prm_user"."id", ']


@pytest.mark.parametrize("totp", [True, False])
def test_a_user_loaded_by_another_backend_is_checked_in_the_database(totp: bool) -> None:
    vendor = factories.VendorUserFactory(email="other@prm.example", totp=totp)
    response, sqls = statements(signed_in(vendor, DJANGO_BACKEND), VENDOR_PAGE)
    assert response.status_code == (200 if totp else 302)
    assert len(reading("mfa_authenticator", sqls)) == 1
    assert reading("mfa_authenticator", sqls)[0].startswith('SELECT 1 AS "a" FROM "mfa_authenticator"')


def test_activating_totp_lets_the_vendor_in_on_the_next_request() -> None:
    """allauth's flow as a person goes through it: signed in without TOTP, sent to set it up
    (after the password again), the code accepted, then the page asked for first opens."""
    vendor = factories.VendorUserFactory(email="newmfa@prm.example", totp=False)
    client = Client()
    response = client.post("/accounts/login/", {"login": vendor.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    gate = client.get(VENDOR_PAGE)
    assert gate["Location"].startswith(reverse("mfa_activate_totp"))
    response = client.get(gate["Location"], follow=True)
    reauthenticate = response.redirect_chain[-1][0]
    assert reauthenticate.startswith(reverse("account_reauthenticate"))
    response = client.post(reauthenticate, {"password": factories.PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("mfa_activate_totp"))
    secret = client.session[SECRET_SESSION_KEY]
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    response = client.post(response.redirect_chain[-1][0], {"code": code})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert factories.has_totp(vendor)
    response = client.get(VENDOR_PAGE)
    assert response.status_code == 200
    assert response.wsgi_request.user.pk == vendor.pk


# --- the statements of a page: before and after ---------------------------------------------------
def old_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """As every page was read before: the count in a statement of its own."""
    monkeypatch.setattr(middleware, "_bell_read", lambda request, actor: None)


@pytest.mark.parametrize("how_many", [1, 12])
def test_a_partner_page_sends_one_statement_fewer_with_the_same_bell(
    partner: Partner, partner_admin: User, how_many: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes(partner_admin, partner.pk, how_many)
    after, sqls_after = statements(signed_in(partner_admin), PARTNER_PAGE)
    with monkeypatch.context() as patched:
        old_way(patched)
        before, sqls_before = statements(signed_in(partner_admin, DJANGO_BACKEND), PARTNER_PAGE)
    assert after.status_code == before.status_code == 200
    assert after.context["unread_notifications"] == before.context["unread_notifications"] == how_many
    assert len(sqls_after) == len(sqls_before) - 1
    # The one read of notifications is the statement that writes the scope.
    [count] = reading("prm_notification", sqls_after)
    assert "set_config" in count


@pytest.mark.parametrize("how_many", [1, 12])
def test_a_vendor_page_sends_two_statements_fewer_with_the_same_bell(
    program_admin: User, how_many: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes(program_admin, None, how_many)
    after, sqls_after = statements(signed_in(program_admin), VENDOR_PAGE)
    with monkeypatch.context() as patched:
        old_way(patched)
        before, sqls_before = statements(signed_in(program_admin, DJANGO_BACKEND), VENDOR_PAGE)
    assert after.status_code == before.status_code == 200
    assert after.context["unread_notifications"] == before.context["unread_notifications"] == how_many
    assert len(sqls_after) == len(sqls_before) - 2
    [count] = reading("prm_notification", sqls_after)
    assert "set_config" in count


def test_healthz_does_not_read_the_count(partner_admin: User) -> None:
    response, sqls = statements(signed_in(partner_admin), "/healthz")
    assert response.status_code == 200
    assert reading("prm_notification", sqls) == []


def test_marking_all_read_then_the_inbox_shows_none_unread(partner: Partner, partner_admin: User) -> None:
    """The POST marks them read (its scope statement carries no count: a POST mostly redirects);
    the inbox it redirects to reads the count with its scope, after the write."""
    notes(partner_admin, partner.pk, 2)
    client = signed_in(partner_admin)
    assert client.get(reverse("notifications")).context["unread_notifications"] == 2
    with CaptureQueriesContext(connection) as context:
        response = client.post(reverse("notifications_read_all"))
    assert response.status_code == 302
    assert not any(
        "prm_notification" in q["sql"] and "set_config" in q["sql"] for q in context.captured_queries
    )
    response = client.get(response["Location"])
    assert response.context["unread_notifications"] == 0
