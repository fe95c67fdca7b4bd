"""The company page prints its form fields kept per form, language and values (partners.views
_fields_html) where its template included includes/field.html for each: the page is the markup the
template made (kept in tests/prm/markup_before/company.html), byte for byte but for the CSRF
tokens, for an admin (both forms), a role that may not edit, an admin with a pending request, an
invalid post, in English and German, on a first and a second view (kept fields)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.template import engines
from django.test.utils import ContextList
from django.urls import reverse
from django.utils import translation

from partners import services
from partners.models import Partner, PartnerRole, ProfileChangeRequest
from prm.models import User
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db

BEFORE = Path(__file__).parent.parent / "prm" / "markup_before" / "company.html"
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def assert_same_page(response: Any) -> None:
    rendered = response.context if isinstance(response.context, ContextList) else [response.context]
    context = next(layer for layer in rendered if "change_fields" in layer).flatten()
    with translation.override(response.get("Content-Language", "en")):
        old = engines["django"].from_string(BEFORE.read_text()).render(context, response.wsgi_request)
    new = response.content.decode()
    assert _CSRF.sub("CSRF", old) == _CSRF.sub("CSRF", new)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("role", [PartnerRole.ADMIN, PartnerRole.SALES])
def test_the_page_is_the_markup_the_template_made(
    partner: Partner, partner_admin: User, language: str, role: str
) -> None:
    services.partner_update_profile(
        actor=factories.actor_for(partner_admin),
        partner=partner,
        data={"legal_name": "Acme <Renamed> & Co", "phone": "+1 555 0100", "contact_email": ""},
    )
    who = partner_admin if role == PartnerRole.ADMIN else factories.partner_user(partner, role=role)
    client = login(who)
    client.cookies["django_language"] = language
    for _view in range(2):
        response = client.get(reverse("partners:company"), HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        assert 'class="timeline mb-0"' in response.content.decode()
        assert_same_page(response)


def test_with_a_pending_request_and_after_an_invalid_post(partner: Partner, partner_admin: User) -> None:
    client = login(partner_admin)
    bad = client.post(reverse("partners:company"), {"legal_name": "", "contact_email": "not-an-address"})
    assert bad.status_code == 400
    assert_same_page(bad)
    ProfileChangeRequest.objects.create(
        partner=partner,
        requested_by=partner_admin,
        partner_type=partner.partner_type,
        country="DE",
        region=partner.region,
        from_partner_type=partner.partner_type,
        from_country=partner.country,
        from_region=partner.region,
        message="We moved.",
    )
    pending = client.get(reverse("partners:company"))
    assert 'id="profile-change-form"' not in pending.content.decode()
    assert_same_page(pending)
