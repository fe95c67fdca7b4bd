"""Session lifetimes by side (prm.sessions): vendor staff are signed out after 30 idle minutes and
12 hours at most; partner users keep long sessions with their own limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client, override_settings

from prm.models import User
from tests.helpers import login

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
PAGE = "/notifications/"  # any signed-in page


def signed_in(user: User) -> Client:
    client = login(user)
    return client


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def messages_on_login_page(client: Client, response: Any) -> str:
    return client.get(response["Location"]).content.decode()


def test_vendor_is_signed_out_after_30_idle_minutes(program_admin: User) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(program_admin)
        assert client.get(PAGE).status_code == 200
        clock.shift(timedelta(minutes=29))
        assert client.get(PAGE).status_code == 200  # activity restarts the idle clock
        clock.shift(timedelta(minutes=29))
        assert client.get(PAGE).status_code == 200
        clock.shift(timedelta(minutes=30))
        response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fnotifications%2F"
    assert not is_signed_in(client)
    assert "signed out after 30\xa0minutes without activity" in messages_on_login_page(client, response)


def test_vendor_session_ends_12_hours_after_sign_in_however_active(program_admin: User) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(program_admin)
        for _ in range(28):  # a request every 25 minutes: 11 h 40 min
            assert client.get(PAGE).status_code == 200
            clock.shift(timedelta(minutes=25))
        assert client.get(PAGE).status_code == 200
        clock.shift(timedelta(minutes=20))  # 12 h after the first request
        response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not is_signed_in(client)
    assert "Your session has ended" in messages_on_login_page(client, response)


def test_vendor_session_cookie_and_store_expire_12_hours_after_sign_in(program_admin: User) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(program_admin)
        client.get(PAGE)  # right after signing in nothing is written
        clock.shift(timedelta(minutes=1))
        response = client.get(PAGE)
        assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 12 * 60 * 60 - 60
        assert client.session.get_expiry_date() == START + timedelta(hours=12)


def test_a_session_not_remembered_still_ends_with_the_browser(program_admin: User) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(program_admin)
        session = client.session
        session.set_expiry(0)  # "Remember me" unticked at sign-in
        session.save()
        clock.shift(timedelta(minutes=1))
        response = client.get(PAGE)
        assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == ""  # a browser-session cookie
        assert client.session.get_expire_at_browser_close()
        clock.shift(timedelta(minutes=31))
        assert client.get(PAGE).status_code == 302  # and the idle limit still holds


def test_a_session_older_than_this_code_ends_by_the_last_sign_in(program_admin: User) -> None:
    """Sessions from before the limits carry no start time: the user's last login stands in."""
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(program_admin)
        clock.shift(timedelta(hours=13))
        response = client.get(PAGE)
    assert response.status_code == 302
    assert not is_signed_in(client)


def test_partner_user_keeps_a_long_session(partner_admin: User) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(partner_admin)
        clock.shift(timedelta(minutes=1))
        response = client.get(PAGE)
        assert response.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 14 * 24 * 60 * 60 - 60
        clock.shift(timedelta(hours=13))  # past both vendor limits
        assert client.get(PAGE).status_code == 200
        assert is_signed_in(client)
        clock.shift(timedelta(days=7))  # a week without a request: the partner idle limit
        response = client.get(PAGE)
    assert response.status_code == 302
    assert not is_signed_in(client)
    assert "signed out after 1\xa0week without activity" in messages_on_login_page(client, response)


def test_limits_are_settings(partner_admin: User) -> None:
    limits = {**settings.PRM, "PARTNER_SESSION_MAX_AGE": 3600, "PARTNER_SESSION_IDLE_TIMEOUT": 0}
    with override_settings(PRM=limits), time_machine.travel(START, tick=False) as clock:
        client = signed_in(partner_admin)
        assert client.get(PAGE).status_code == 200
        clock.shift(timedelta(minutes=59))  # no idle timeout
        assert client.get(PAGE).status_code == 200
        clock.shift(timedelta(minutes=1))
        assert client.get(PAGE).status_code == 302
    assert not is_signed_in(client)


def test_idle_htmx_request_sends_the_whole_page_to_the_login(program_admin: User) -> None:
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(program_admin)
        client.get(PAGE)
        clock.shift(timedelta(minutes=31))
        response = client.post(PAGE, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/"
    assert not is_signed_in(client)


@pytest.mark.parametrize(
    ("lifetime", "side"), [(timedelta(hours=12), "VENDOR"), (timedelta(days=14), "PARTNER")]
)
def test_a_session_lasts_its_lifetime_to_the_second(
    program_admin: User, partner_admin: User, lifetime: timedelta, side: str
) -> None:
    """Signed in at 08:00 on 2 March 2026: still in one second before the end, out at the end (no
    idle timeout here, so only the absolute limit counts)."""
    user = program_admin if side == "VENDOR" else partner_admin
    limits = {**settings.PRM, f"{side}_SESSION_IDLE_TIMEOUT": 0}
    with override_settings(PRM=limits), time_machine.travel(START, tick=False) as clock:
        client = signed_in(user)
        assert client.get(PAGE).status_code == 200
        clock.move_to(START + lifetime - timedelta(seconds=1))
        assert client.get(PAGE).status_code == 200
        clock.move_to(START + lifetime)
        response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not is_signed_in(client)
