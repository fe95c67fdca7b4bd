"""The page benchmark's own pieces (bench/pages_bench.py): the WSGI dispatcher that serves the
bare Django page beside the portal must never take a portal URL, and the personas' sessions, made
without the login form, must reach every page the benchmark times (a redirect to the login, MFA or
agreement page would be timed as a fast page)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.urls import Resolver404, resolve

from bench import pages, personas
from bench.bare.dispatch import BARE_PATH, Dispatcher
from bench.bare.handler import BareHandler
from bench.bare.table import ensure_table
from partners.models import Partner, PartnerUserObjectPermission
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as f


def environ(path: str, query: str = "", **extra: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_X_FORWARDED_PROTO": "https",
        **extra,
    }
    setup_testing_defaults(env)
    return env


class Recorder:
    """A WSGI application that only notes which paths reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, environ: dict, start_response: Any) -> list[bytes]:
        self.paths.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]


def call(app: Any, env: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list, exc_info: Any = None) -> None:
        captured.update(status=status, headers=dict(headers))

    response = app(env, start_response)
    try:
        body = b"".join(response)
    finally:
        # As a WSGI server does: Django's request_finished (which resets the thread's URLconf).
        if hasattr(response, "close"):
            response.close()
    return captured["status"], captured["headers"], body


@pytest.fixture
def served_in_the_test_transaction() -> Iterator[None]:
    # A real handler closes the connection at the start and end of a request when it is inside a
    # transaction; the test's transaction must survive it (Django's test client does the same).
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.mark.django_db
def test_every_portal_url_goes_to_the_portal_and_only_the_bare_path_to_the_bare_handler() -> None:
    bare, portal = Recorder(), Recorder()
    dispatcher = Dispatcher(bare=bare, portal=portal)
    portal_paths = [page.path().split("?")[0] for page in pages.PAGES] + [
        "/",
        "/accounts/login/",
        "/static/css/app.css",
        "/bench-bare",
        "/bench-bare/1/",
        "/BENCH-BARE/",
        "//bench-bare/",
        "/bench-bare/../deals/",
        "/deals/bench-bare/",
    ]
    for path in portal_paths:
        call(dispatcher, environ(path))
        call(dispatcher, environ(path, HTTP_X_BENCH_MEASURE="1"))
    call(dispatcher, environ(BARE_PATH))

    assert bare.paths == [BARE_PATH]
    assert portal.paths == [path for path in portal_paths for _ in range(2)]


def test_the_bare_page_is_not_a_portal_url_and_the_bare_handler_serves_nothing_else(
    served_in_the_test_transaction: None,
) -> None:
    with pytest.raises(Resolver404):
        resolve(BARE_PATH)  # the portal's URLconf (settings.ROOT_URLCONF)
    middleware_before = list(settings.MIDDLEWARE)
    handler = BareHandler()
    assert middleware_before == settings.MIDDLEWARE  # the bare list was for building its chain only
    for page in pages.PAGES:
        status, _, _ = call(handler, environ(page.path().split("?")[0]))
        assert status.startswith("404"), page.key


@pytest.mark.django_db
def test_the_bare_page_renders_50_rows_with_one_query_measured_by_the_dispatcher(
    served_in_the_test_transaction: None,
) -> None:
    ensure_table(rows=500)  # 10 buckets of 50, inside the test's transaction
    dispatcher = Dispatcher(bare=BareHandler(), portal=WSGIHandler())

    status, headers, body = call(dispatcher, environ(BARE_PATH, "bucket=3", HTTP_X_BENCH_MEASURE="1"))

    assert status == "200 OK"
    assert body.count(b"<tr><td>") == 50
    assert headers["X-Bench-Queries"] == "1"
    assert float(headers["X-Bench-Time-Ms"]) > 0
    # The portal's requests are measured the same way, through its whole middleware.
    status, headers, _ = call(dispatcher, environ("/healthz", HTTP_X_BENCH_MEASURE="1"))
    assert status == "200 OK"
    assert int(headers["X-Bench-Queries"]) >= 1
    # Without the header nothing is added: wrk's requests pay no measuring.
    _, headers, _ = call(dispatcher, environ(BARE_PATH, "bucket=3"))
    assert "X-Bench-Queries" not in headers


@pytest.mark.django_db
def test_each_persona_session_reaches_every_page_of_its_side() -> None:
    busiest, typical, _without_deals = (
        f.team(name) for name in ("Busy Networks", "Typical IT", "Small Systems")
    )
    for team, deals in ((busiest, 3), (typical, 1)):
        for n in range(deals):
            f.draft(
                team.admin_actor,
                customer=f"Customer {team.partner.pk}-{n}",
                domain=f"c{team.partner.pk}-{n}.com",
            )
    factories.vendor_user(VendorRole.PROGRAM_ADMIN)
    # A channel account manager as the bulk loader leaves one: manager of record of two partners,
    # but no portfolio permissions, no admin access and no MFA.
    cam = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, is_staff=False, totp=False)
    Partner.objects.filter(pk__in=[busiest.partner.pk, typical.partner.pk]).update(
        channel_account_manager=cam
    )

    found = {persona.key: persona for persona in personas.find_personas()}

    assert set(found) == {"busiest", "typical", "program_admin", "cam"}
    assert (found["busiest"].partner_id, found["busiest"].deals) == (busiest.partner.pk, 3)
    assert (found["typical"].partner_id, found["typical"].deals) == (typical.partner.pk, 1)
    assert (found["cam"].user_id, found["cam"].portfolio) == (cam.pk, 2)
    assert PartnerUserObjectPermission.objects.filter(user=cam).count() == 2
    cam.refresh_from_db()
    assert cam.is_staff and factories.has_totp(cam)

    for persona in found.values():
        client = Client(HTTP_X_FORWARDED_PROTO="https")
        client.cookies[settings.SESSION_COOKIE_NAME] = personas.create_session(persona.user_id)
        for page in pages.PAGES:
            if page.side != persona.side:
                continue
            response = client.get(page.path())
            assert response.status_code == 200, (persona.key, page.key, response.get("Location"))
            assert response.wsgi_request.user.pk == persona.user_id, (persona.key, page.key)
        # The page the benchmark signs in with refuses anybody else.
        assert (
            Client(HTTP_X_FORWARDED_PROTO="https").get(pages.signed_in_path(persona.side)).status_code == 302
        )


def test_a_pages_ratio_is_to_the_bare_page_just_before_it_when_paired() -> None:
    from bench.pages_bench import set_ratios

    report = {
        "bare": {"rps_mean": 500.0},
        "pages": [
            {"wrk": {"requests_per_s": 200.0}, "bare_before": {"requests_per_s": 400.0}},
            {"wrk": {"requests_per_s": 200.0}},
            {"failed": "500"},
        ],
    }
    set_ratios(report)
    assert report["pages"][0]["ratio"] == 0.5  # to the bare page just before it
    assert report["pages"][1]["ratio"] == 0.4  # to the start and end runs' mean
    assert "ratio" not in report["pages"][2]


@pytest.mark.django_db
def test_a_personas_cookie_carries_a_csrf_secret_the_portal_keeps() -> None:
    """As a browser's second page: the CSRF secret in the cookie is taken, not drawn again."""
    from django.urls import reverse

    _session, csrf = personas.cookie_header("no-such-session").split("; ")
    name, secret = csrf.split("=")
    assert name == settings.CSRF_COOKIE_NAME and len(secret) == 32
    client = Client()
    client.cookies[name] = secret
    response = client.get(reverse("account_login"))  # a form: the page asks for the token
    assert response.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()
    assert response.cookies[name].value == secret  # sent again as it came (its expiry renewed)
    fresh = Client().get(reverse("account_login"))
    assert fresh.cookies[name].value != secret  # without one, Django draws a secret of its own
