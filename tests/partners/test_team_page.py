"""The team page: its members 25 a page (the busiest partner has a hundred people), the panel
htmx swaps in after a change staying on the person's page, and the panel rendered by Jinja2
(templates/jinja2/partners/_team_panel.html) being the markup the Django template made (kept in
tests/prm/markup_before/team_panel.html), compared as HTML for a team with and without
invitations, for an admin and for a member who may not manage, in English and German."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.template import engines
from django.test.html import parse_html
from django.test.utils import ContextList
from django.urls import reverse
from django.utils import timezone, translation

from partners import services
from partners.models import Membership, Partner, PartnerRole
from partners.views import TEAM_PAGE_SIZE
from prm.models import User
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db

BEFORE = Path(__file__).parent.parent / "prm" / "markup_before" / "team_panel.html"
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def panel_of(response: Any) -> str:
    """The panel the page printed inside ``<div id="team-panel">`` (Jinja2's)."""
    panel = str(response.context["team_panel"])
    assert panel in response.content.decode()
    return panel


def old_panel(response: Any) -> str:
    """The Django template the panel was, rendered with the page's own context."""
    # One Context when the response rendered one template, a ContextList when it rendered more.
    rendered = response.context if isinstance(response.context, ContextList) else [response.context]
    context = next(layer for layer in rendered if "team_panel" in layer).flatten()
    context["members"] = list(context["page"].object_list)
    with translation.override(response.get("Content-Language", "en")):
        return engines["django"].from_string(BEFORE.read_text()).render(context, response.wsgi_request)


def assert_same_panel(response: Any, new: str) -> None:
    old = _CSRF.sub("CSRF", old_panel(response))
    new = _CSRF.sub("CSRF", new)
    assert parse_html(old) == parse_html(new), f"\n--- before\n{old}\n--- now\n{new}"


def people(partner: Partner, count: int, *, deactivate_every: int = 0) -> list[User]:
    admin_actor = factories.actor_for(Membership.objects.filter(partner=partner, role="admin").first().user)
    made = []
    for number in range(count):
        user = factories.partner_user(
            partner,
            role=[PartnerRole.SALES, PartnerRole.MARKETING, PartnerRole.LEARNER][number % 3],
            email=f"person{number:03}@acme.example",
            full_name=f"Person {number:03} <O'Hara>" if number % 4 else "",
        )
        if deactivate_every and number % deactivate_every == 0:
            services.membership_deactivate(actor=admin_actor, membership=user.membership)
        made.append(user)
    return made


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("with_invitations", [False, True])
def test_the_panel_is_the_markup_the_template_made(
    partner: Partner, partner_admin: User, language: str, with_invitations: bool
) -> None:
    people(partner, 7, deactivate_every=4)
    if with_invitations:
        actor = factories.actor_for(partner_admin)
        for number in range(3):
            services.invitation_create(
                actor=actor, partner=partner, email=f"invitee{number}@acme.example", role=PartnerRole.SALES
            )
    sales = Membership.objects.filter(partner=partner, role=PartnerRole.SALES, is_active=True).first().user
    for who in (partner_admin, sales):
        client = login(who)
        client.cookies["django_language"] = language
        response = client.get(reverse("partners:team"), HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200
        assert_same_panel(response, panel_of(response))


def test_htmx_panel_after_a_bad_invite_is_the_markup_the_template_made(
    partner: Partner, partner_admin: User
) -> None:
    response = login(partner_admin).post(
        reverse("partners:team_invite"), {"email": "not-an-email", "role": "boss"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert_same_panel(response, response.content.decode())


def test_members_come_25_a_page(partner: Partner, partner_admin: User) -> None:
    people(partner, 2 * TEAM_PAGE_SIZE + 3)
    client = login(partner_admin)
    seen: set[int] = set()
    for number in (1, 2, 3):
        response = client.get(reverse("partners:team"), {"page": number})
        page = response.context["page"]
        assert page.paginator.count == 2 * TEAM_PAGE_SIZE + 4  # with the admin
        text = response.content.decode()
        rows = {int(pk) for pk in re.findall(r'<tr id="member-(\d+)"', text)}
        assert len(rows) == (TEAM_PAGE_SIZE if number < 3 else 4)
        assert not rows & seen
        seen |= rows
        assert f'<span class="badge text-bg-light border">{2 * TEAM_PAGE_SIZE + 4}</span>' in text
        assert 'aria-label="Pagination"' in text
    assert seen == set(Membership.objects.filter(partner=partner).values_list("pk", flat=True))


def test_a_team_of_one_page_has_no_pagination(partner: Partner, partner_admin: User) -> None:
    people(partner, 3)
    text = login(partner_admin).get(reverse("partners:team")).content.decode()
    assert 'aria-label="Pagination"' not in text
    assert len(re.findall(r'<tr id="member-', text)) == 4


def test_an_htmx_change_keeps_the_page_the_person_is_on(partner: Partner, partner_admin: User) -> None:
    people(partner, TEAM_PAGE_SIZE + 5)
    client = login(partner_admin)
    second = client.get(reverse("partners:team"), {"page": 2})
    on_second = [int(pk) for pk in re.findall(r'<tr id="member-(\d+)"', second.content.decode())]
    target = Membership.objects.get(pk=on_second[-1])
    assert target.is_active
    response = client.post(
        reverse("partners:member_role", args=[target.pk]),
        {"role": PartnerRole.LEARNER},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{reverse('partners:team')}?page=2",
    )
    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert f'id="member-{target.pk}"' in response.content.decode()
    # Without the header (a plain form post falls back to the first page of the redirect).
    first = client.post(
        reverse("partners:member_role", args=[target.pk]), {"role": PartnerRole.SALES}, HTTP_HX_REQUEST="true"
    )
    assert first.context["page"].number == 1


def test_invitation_expiry_and_dates_render_in_the_panel(partner: Partner, partner_admin: User) -> None:
    actor = factories.actor_for(partner_admin)
    invitation = services.invitation_create(
        actor=actor, partner=partner, email="late@acme.example", role=PartnerRole.MARKETING
    )
    type(invitation).objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    response = login(partner_admin).get(reverse("partners:team"))
    assert "status-expired" in response.content.decode()
    assert_same_panel(response, panel_of(response))


def test_htmx_panel_with_its_message_is_the_markup_the_template_made(
    partner: Partner, partner_admin: User
) -> None:
    (colleague,) = people(partner, 1)
    response = login(partner_admin).post(
        reverse("partners:member_deactivate", args=[colleague.membership.pk]), HTTP_HX_REQUEST="true"
    )
    text = response.content.decode()
    assert "can no longer sign in." in text and "team-messages" in text
    assert_same_panel(response, text)


@pytest.mark.parametrize("number", [1, 2])
def test_the_members_statements_are_compiled_once_and_kept(
    partner: Partner, partner_admin: User, number: int, settings: Any
) -> None:
    """The members' count and page are statements kept compiled (prm.statements; each call checked
    against the ORM's, PRM["VERIFY_STATEMENTS"]), not built again on every request."""
    from partners import selectors

    assert settings.PRM["VERIFY_STATEMENTS"]
    people(partner, TEAM_PAGE_SIZE + 2)
    response = login(partner_admin).get(reverse("partners:team"), {"page": number})
    assert response.status_code == 200
    page = response.context["page"]
    actor = factories.actor_for(partner_admin)
    assert selectors._TEAM_COUNT.is_kept(actor, partner_id=partner.pk)
    bottom = (page.number - 1) * TEAM_PAGE_SIZE
    assert selectors._TEAM_ROWS.is_kept(
        actor, partner_id=partner.pk, bottom=bottom, top=bottom + len(page.object_list)
    )
    assert selectors._OPEN_INVITATIONS.is_kept(actor, partner_id=partner.pk)
