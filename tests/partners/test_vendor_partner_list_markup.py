"""The vendor's partner list with its rows rendered by Jinja2
(templates/jinja2/partners/_vendor_partner_rows.html) and its pagination by the Python tag is the
page the Django template made (tests/prm/markup_before/vendor_partner_list.html), rendered with
the page's own context and compared as HTML: a page of partners with and without a manager, a
website or people, a second page, a filter matching nothing; in English and German."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.template import engines
from django.test.html import parse_html
from django.test.utils import ContextList
from django.urls import reverse
from django.utils import translation

from partners import services
from prm.models import User
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db

BEFORE = Path(__file__).parent.parent / "prm" / "markup_before" / "vendor_partner_list.html"
_CSRF = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]*"')


def assert_same_page(response: Any) -> None:
    rendered = response.context if isinstance(response.context, ContextList) else [response.context]
    context = next(layer for layer in rendered if "rows" in layer).flatten()
    with translation.override(response.get("Content-Language", "en")):
        old = engines["django"].from_string(BEFORE.read_text()).render(context, response.wsgi_request)
    old, new = _CSRF.sub("CSRF", old), _CSRF.sub("CSRF", response.content.decode())
    assert parse_html(old) == parse_html(new), f"\n--- before\n{old}\n--- now\n{new}"


@pytest.fixture
def partners(program_admin: User) -> None:
    admin_actor = factories.actor_for(program_admin)
    manager = factories.vendor_user("channel_account_manager", full_name="")
    tiers = factories.default_tiers()
    for number in range(30):
        partner = factories.PartnerFactory(
            legal_name=f"Markup <Probe> & Co {number:02}",
            tier=tiers[number % len(tiers)],
            website_domain="" if number % 3 else f"probe{number}.example",
        )
        if number % 2:
            factories.partner_user(partner)
        if number % 4 == 0:
            services.partner_assign_channel_manager(actor=admin_actor, partner=partner, manager=manager)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("query", [{}, {"page": 2}, {"q": "Markup"}, {"q": "nothing like it"}])
def test_the_partner_list_is_the_page_the_template_made(
    program_admin: User, partners: None, language: str, query: dict
) -> None:
    client = login(program_admin)
    client.cookies["django_language"] = language
    response = client.get(reverse("vendor:partner_list"), query, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert_same_page(response)
