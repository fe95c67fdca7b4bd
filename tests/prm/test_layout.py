"""The layout's chrome (head, navigation, messages, footer, scripts) is rendered by Jinja2 from one
source, templates/jinja2/layout/chrome.html (prm/layout.py), for Django pages (templates/base.html)
and Jinja2 pages (templates/jinja2/layout/page.html) alike. What it writes is what the Django
base.html wrote (kept in tests/prm/markup_before/layout/base.html): the same page is rendered with
the old frame and the new one, for every side, role, gate and language, signed out, on error
pages, with messages, and compared byte for byte but for whitespace and the CSRF token's random
mask; once with the part's shape rendered and once with it reused."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages.storage.fallback import FallbackStorage
from django.db import connection
from django.http import HttpRequest
from django.template import engines
from django.test import RequestFactory, override_settings
from django.test.html import parse_html
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse
from django.utils import translation
from django.utils.safestring import mark_safe

from partners.middleware import partner_gate, resolve_actor
from partners.models import Partner, PartnerRole, PartnerStatus
from prm import layout
from prm.jinja2 import render_page
from prm.models import User
from prm.roles import VendorRole
from prm.templatetags import prm_navigation
from tests import factories

pytestmark = pytest.mark.django_db

OLD_BASE = Path(__file__).parent / "markup_before" / "layout" / "base.html"
LANGUAGES = ["en", "de", "fr", "es"]
BLOCKS = {
    "title": "Deals",
    "extra_head": '<meta name="robots" content="noindex">',
    "content": '<p id="content">The page</p>',
    "scripts": '<script src="/static/js/page.js"></script>',
}
DJANGO_PAGE = "{% extends base %}" + "".join(
    f"{{% block {name} %}}{text}{{% endblock %}}" for name, text in BLOCKS.items()
)
JINJA2_PAGE = '{% extends "layout/page.html" %}' + "".join(
    f"{{% block {name} %}}{text}{{% endblock %}}" for name, text in BLOCKS.items()
)


@pytest.fixture(autouse=True)
def _nothing_kept() -> Any:
    prm_navigation.clear()
    layout._shapes.clear()
    yield
    prm_navigation.clear()
    layout._shapes.clear()


def masked(html: str) -> str:
    """The page with the CSRF token (a new random mask on every render) replaced."""
    html = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]*', r"\1TOKEN", html)
    return re.sub(r'("X-CSRFToken": ")[^"]*', r"\1TOKEN", html)


def normalised(html: str) -> str:
    """The page masked, with its whitespace runs collapsed (none between tags)."""
    html = re.sub(r"\s+", " ", masked(html))
    return re.sub(r">\s+<", "><", html).strip()


def assert_same_page(old: str, new: str) -> None:
    assert normalised(new) == normalised(old), f"\n--- before\n{old}\n--- now\n{new}"
    assert parse_html(masked(new)) == parse_html(masked(old))


def page_request(user: Any, path: str, *, query: dict | None = None, add_messages: tuple = ()) -> HttpRequest:
    """A request as the middleware leaves it for the view: user, actor, partner gate, the URL's
    match, a session and its messages."""
    request = RequestFactory().get(path, query or {})
    request.user = user or AnonymousUser()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    request._messages = FallbackStorage(request)
    for level, text in add_messages:
        messages.add_message(request, level, text)
    request.actor = resolve_actor(user)
    request.partner_gate = partner_gate(request.actor)
    request.resolver_match = resolve(path)
    return request


def render_django(base: Any, make_request: Callable[[], HttpRequest], extra: dict) -> str:
    page = engines["django"].from_string(DJANGO_PAGE)
    return page.render({"base": base, **extra}, make_request())


def old_and_new(make_request: Callable[[], HttpRequest], **extra: Any) -> tuple[str, list[str]]:
    """The page with the old base.html, and with the new one twice: the first render makes the
    parts' shapes and the navigation's fragments, the second reuses them."""
    prm_navigation.clear()  # the old frame's {% cached_navigation %} shares the store
    old = render_django(engines["django"].from_string(OLD_BASE.read_text()).template, make_request, extra)
    prm_navigation.clear()
    layout._shapes.clear()
    new = [render_django("base.html", make_request, extra) for _ in range(2)]
    return old, new


def compare(user: Any, path: str, **kwargs: Any) -> str:
    extra = kwargs.pop("extra", {})
    old, new = old_and_new(lambda: page_request(user, path, **kwargs), **extra)
    for page in new:
        assert_same_page(old, page)
    return new[-1]


@pytest.fixture
def odd_partner(db: Any) -> Partner:
    """A name that Django and Jinja2 escape differently (quotes), and markup."""
    return factories.PartnerFactory(legal_name='O\'Brien & "Sons" <Ltd>')


def partner_people(partner: Partner) -> dict[str, User]:
    people = {
        "admin": factories.partner_user(partner, email="o'brien+admin@acme.example", full_name="Ann O'Brien")
    }
    for role in (PartnerRole.SALES, PartnerRole.MARKETING, PartnerRole.LEARNER):
        people[role] = factories.partner_user(partner, role=role)
    return people


@pytest.mark.parametrize("language", LANGUAGES)
def test_partner_roles_and_pages(language: str, odd_partner: Partner) -> None:
    people = partner_people(odd_partner)
    with translation.override(language):
        for user in people.values():
            for path in (
                "/",
                reverse("deals:list"),
                reverse("partners:company"),
                reverse("support:case_list"),
            ):
                compare(user, path)
        admin = people["admin"]
        compare(admin, reverse("notifications"), extra={"unread_notifications": 1234})
        compare(admin, reverse("search"), query={"q": "a\"b<c'" + "x" * 120})
        compare(admin, reverse("deals:list"), extra={"error_page": True})


@pytest.mark.parametrize("language", LANGUAGES)
def test_vendor_roles(language: str) -> None:
    staff = [factories.vendor_user(role) for role in VendorRole.values]
    staff.append(factories.vendor_user(VendorRole.CONTENT_MANAGER, is_staff=False))
    with translation.override(language):
        for user in staff:
            for path in (
                reverse("vendor:dashboard"),
                reverse("deals:review_queue"),
                reverse("support:queue"),
            ):
                compare(user, path, extra={"unread_notifications": 3})
            compare(user, reverse("vendor:partner_list"), extra={"error_page": True})


@pytest.mark.parametrize("language", LANGUAGES)
def test_gated_partners_and_signed_out(language: str) -> None:
    onboarding = factories.PartnerFactory(legal_name="Newcomer Networks", agreement_version="")
    suspended = factories.PartnerFactory(legal_name="Umbrella", status=PartnerStatus.SUSPENDED)
    with translation.override(language):
        for partner in (onboarding, suspended):
            user = factories.partner_user(partner)
            assert partner_gate(resolve_actor(user))
            for path in ("/", reverse("account_change_password")):
                compare(user, path)
            compare(user, "/", extra={"error_page": True})
        for path in ("/", reverse("account_login"), reverse("locator:directory")):
            compare(None, path)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_messages_are_shown_and_used_up(language: str, partner_admin: User) -> None:
    shown = (
        (messages.ERROR, "Could not save: 'quotes' & <markup>"),
        (messages.SUCCESS, mark_safe('Saved <a href="/deals/">the deal</a>')),
        (messages.INFO, "Noted"),
        (messages.WARNING, "Careful"),
    )
    requests: list[HttpRequest] = []

    def make_request() -> HttpRequest:
        requests.append(page_request(partner_admin, reverse("deals:list"), add_messages=shown))
        return requests[-1]

    with translation.override(language):
        old, new = old_and_new(make_request)
    for page in new:
        assert_same_page(old, page)
    assert 'class="alert alert-danger' in new[0] and "&#x27;quotes&#x27; &amp; &lt;markup&gt;" in new[0]
    for request in requests:  # each page read its messages: they are gone from the storage
        assert request._messages.used


def test_a_page_rendered_without_a_request(partner_admin: User) -> None:
    """The server error page when the database is down (prm.views.server_error): no request, no
    context processors; the signed-out chrome, as before."""
    old_base = engines["django"].from_string(OLD_BASE.read_text()).template
    page = engines["django"].from_string(DJANGO_PAGE)
    prm_navigation.clear()
    old = page.render({"base": old_base, "error_page": True})
    prm_navigation.clear()
    for _ in range(2):
        assert_same_page(old, page.render({"base": "base.html", "error_page": True}))


def test_while_developing_the_parts_are_rendered_each_time(partner_admin: User) -> None:
    with override_settings(DEBUG=True):
        old, new = old_and_new(lambda: page_request(partner_admin, "/"))
        assert not layout._shapes and not prm_navigation._fragments
    for page in new:
        assert_same_page(old, page)


def test_the_chrome_costs_no_query(partner_admin: User) -> None:
    old_base = engines["django"].from_string(OLD_BASE.read_text()).template
    counts = []
    for base in (old_base, "base.html", "base.html"):
        request = page_request(partner_admin, "/")
        with CaptureQueriesContext(connection) as queries:
            render_django(base, lambda request=request: request, {})
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2] == 1  # the unread count (prm.context_processors)


def test_no_shape_holds_anything_of_a_tenant_or_a_person(
    partner: Partner, partner_admin: User, other_partner: Partner, other_partner_admin: User
) -> None:
    first = compare(partner_admin, "/", extra={"unread_notifications": 7})
    second = compare(other_partner_admin, "/", extra={"unread_notifications": 7})
    assert partner.legal_name in first and other_partner.legal_name in second
    assert partner.legal_name not in second and partner_admin.email not in second
    assert layout._shapes
    for shape in layout._shapes.values():
        text = "".join(shape[::2])  # the markup; between its pieces, the names of what fills it
        for private in (partner.legal_name, other_partner.legal_name, partner_admin.email, "Alice", "csrf"):
            assert private not in text


def jinja2_templates(folder: Path) -> list[dict]:
    templates = copy.deepcopy(settings.TEMPLATES)
    jinja2 = next(engine for engine in templates if engine.get("NAME") == "jinja2")
    jinja2["DIRS"] = [*jinja2["DIRS"], folder]
    return templates


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_jinja2_page_gets_the_same_chrome(
    language: str, tmp_path: Path, odd_partner: Partner, program_admin: User
) -> None:
    (tmp_path / "example").mkdir()
    (tmp_path / "example" / "page.html").write_text(JINJA2_PAGE)
    people = [*partner_people(odd_partner).values(), program_admin, None]
    path = reverse("notifications")
    with override_settings(TEMPLATES=jinja2_templates(tmp_path)), translation.override(language):
        for user in people:
            for extra in ({}, {"error_page": True}):

                def make_request(user: Any = user) -> HttpRequest:
                    return page_request(user, path, add_messages=((messages.SUCCESS, "Saved 'it'"),))

                prm_navigation.clear()
                django_page = render_django("base.html", make_request, extra)
                prm_navigation.clear()
                layout._shapes.clear()
                for _ in range(2):
                    response = render_page(make_request(), "example/page.html", extra, status=201)
                    assert response.status_code == 201
                    assert_same_page(django_page, response.content.decode())
