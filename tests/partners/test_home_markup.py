"""The partner home, a page written in Jinja2 (templates/jinja2/partners/home.html with the deals
and support panels' Jinja2 templates, prm.jinja2.render_page), is the markup the Django template
made: the template as it was (tests/prm/markup_before/home.html, with its Django panel templates)
rendered with the page's own context, the frame included, compared as HTML — for a partner with
deals, leads, a support case, a team larger than the card and an invitation, and for a new
partner with nothing yet; for the admin and a sales person; in English and German."""

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
from partners.models import Partner, PartnerRole
from prm.models import User
from tests import factories
from tests.helpers import login
from tests.partners import support_factories

pytestmark = pytest.mark.django_db

BEFORE = Path(__file__).parent.parent / "prm" / "markup_before" / "home.html"
_CSRF = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]*"')


def page_context(response: Any) -> dict[str, Any]:
    rendered = response.context if isinstance(response.context, ContextList) else [response.context]
    return next(layer for layer in rendered if "panels" in layer).flatten()


def assert_same_page(response: Any) -> None:
    with translation.override(response.get("Content-Language", "en")):
        old = (
            engines["django"]
            .from_string(BEFORE.read_text())
            .render(page_context(response), response.wsgi_request)
        )
    old, new = _CSRF.sub("CSRF", old), _CSRF.sub("CSRF", response.content.decode())
    assert parse_html(old) == parse_html(new), f"\n--- before\n{old}\n--- now\n{new}"


def busy_partner(partner: Partner, partner_admin: User) -> User:
    """A manager, eleven people, deals in every status, leads waiting, a support case and an open
    invitation; returns a sales person."""
    from tests.deals import factories as deal_factories
    from tests.deals.test_query_counts import bulk_deals, bulk_leads

    manager = factories.vendor_user("channel_account_manager", full_name="Mia <Manager>")
    Partner.objects.filter(pk=partner.pk).update(channel_account_manager=manager, phone="", website_domain="")
    people = [
        factories.partner_user(
            partner, role=PartnerRole.SALES, full_name=f"Sal O'Person {n}" if n % 2 else ""
        )
        for n in range(11)
    ]
    team = deal_factories.Team(partner=partner, admin=partner_admin, sales=people[0], sales2=people[1])
    bulk_deals(team, 20, product=deal_factories.product("Home Markup Probe"))
    bulk_leads(team, 3, creator=factories.vendor_actor("program_admin"))
    actor = factories.actor_for(partner_admin)
    services.invitation_create(
        actor=actor, partner=partner, email="soon@acme.example", role=PartnerRole.SALES
    )
    support_factories.open_case(actor, subject="Invoices <twice> & more")
    return people[0]


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_busy_home_is_the_markup_the_template_made(
    partner: Partner, partner_admin: User, language: str
) -> None:
    sales = busy_partner(partner, partner_admin)
    for who in (partner_admin, sales):
        client = login(who)
        client.cookies["django_language"] = language
        response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        body = response.content.decode()
        assert 'id="deals-panel"' in body
        if who == partner_admin:
            assert 'id="support-panel"' in body and "case-status" in body
        assert_same_page(response)


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_new_home_is_the_markup_the_template_made(partner_admin: User, language: str) -> None:
    client = login(partner_admin)
    client.cookies["django_language"] = language
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    assert_same_page(response)


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_homes_frame_is_the_one_the_django_layout_made(
    partner: Partner, partner_admin: User, language: str
) -> None:
    """The home is a page written in Jinja2 (prm.jinja2.render_page): its frame prints the message
    once, the unread count, the role's navigation, the language and the CSRF token as the Django
    layout did."""
    from tests.deals.test_list_markup import with_message_and_unread

    busy_partner(partner, partner_admin)
    client = login(partner_admin)
    with_message_and_unread(client, partner_admin, partner.pk)
    response = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE=language)
    page = response.content.decode()
    assert page.count("Saved &lt;it&gt; &amp; &#x27;all&#x27;") == 1
    assert 'text-bg-danger prm-badge">3<' in page
    assert f'<html lang="{language}">' in page and '"X-CSRFToken": "' in page
    assert 'name="csrfmiddlewaretoken"' in page and 'id="nav-earnings"' in page
    assert_same_page(response)
    assert "Saved" not in client.get(reverse("home")).content.decode()  # shown once
