"""No account enumeration (issue 9): the public /apply/ form and the team invitation answer the
same whether or not an e-mail address already has a portal account. Only the owner of the address
(by e-mail, or through the invitation link sent to it) and the vendor's reviewer learn it."""

from __future__ import annotations

import re
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from partners.models import Invitation, Membership, Partner, PartnerApplication, PartnerType, Region
from prm.models import Notification, User
from prm.roles import VendorRole
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db

FRESH = "newcomer@initech.example"


def normalised(content: bytes, *emails: str) -> str:
    """A page with the address typed in, ids and per-request tokens replaced by placeholders."""
    page = content.decode()
    for email in emails:
        page = page.replace(email, "<email>")
    page = re.sub(r"[A-Za-z0-9]{64}", "<token>", page)  # CSRF tokens
    page = re.sub(r"(invitations/|invitation-|resend-|revoke-)\d+", r"\1<id>", page)
    return page


@pytest.fixture
def taken(request: pytest.FixtureRequest, other_partner_admin: Any) -> str:
    """An address that has an account: another company's admin, or vendor staff."""
    if request.param == "vendor":
        return factories.vendor_user(VendorRole.FINANCE, email="fiona@prm.example").email
    return other_partner_admin.email


# --- /apply/ -------------------------------------------------------------------------------------
def _apply(email: str, domain: str) -> Any:
    return Client().post(
        reverse("partners:apply"),
        {
            "company_name": "Initech Solutions Ltd",
            "partner_type": PartnerType.MSP,
            "country": "US",
            "region": Region.NORTH_AMERICA,
            "website_domain": domain,
            "contact_name": "Peter Gibbons",
            "contact_email": email,
            "employee_count": "12",
            "accept_terms": "on",
        },
        follow=True,
    )


@pytest.mark.parametrize("taken", ["partner", "vendor"], indirect=True)
def test_apply_answers_the_same_with_or_without_an_account(taken: str, program_admin: Any) -> None:
    fresh = _apply(FRESH, "initech.example")
    existing = _apply(taken.upper(), "initech-two.example")
    assert fresh.status_code == existing.status_code == 200
    assert fresh.redirect_chain == existing.redirect_chain == [(reverse("partners:apply_thanks"), 302)]
    assert normalised(fresh.content) == normalised(existing.content)
    assert "already has" not in existing.content.decode()
    # Both are stored and announced to the reviewers alike.
    assert PartnerApplication.objects.filter(contact_email__in=[FRESH, taken]).count() == 2
    assert Notification.objects.filter(recipient=program_admin, kind="application.submitted").count() == 2


@pytest.mark.parametrize("taken", ["partner"], indirect=True)
def test_the_reviewer_is_told_instead(taken: str, program_admin: Any) -> None:
    _apply(FRESH, "initech.example")
    _apply(taken, "initech-two.example")
    client = login(program_admin)
    for email, warned in ((FRESH, False), (taken, True)):
        application = PartnerApplication.objects.get(contact_email=email)
        page = client.get(reverse("vendor:application_detail", args=[application.pk])).content.decode()
        assert ('id="application-existing-account"' in page) is warned


def test_a_repeated_application_answers_like_the_first(db: Any) -> None:
    first = _apply(FRESH, "initech.example")
    again = _apply(FRESH, "initech.example")
    assert normalised(first.content) == normalised(again.content)
    assert PartnerApplication.objects.filter(contact_email=FRESH).count() == 1


# --- Team invitations ----------------------------------------------------------------------------
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("taken", ["partner", "vendor"], indirect=True)
@time_machine.travel("2026-03-02 10:00:00+00:00", tick=False)  # both invitations expire alike
def test_invitation_answers_the_same_with_or_without_an_account(
    partner: Partner, partner_admin: Any, taken: str, htmx: bool, django_capture_on_commit_callbacks: Any
) -> None:
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    def invite(email: str) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return login(partner_admin).post(
                reverse("partners:team_invite"), {"email": email, "role": "sales"}, follow=not htmx, **headers
            )

    fresh = invite(FRESH)
    # Withdraw it so both answers show a team with one open invitation, the one just sent.
    Invitation.objects.filter(email=FRESH).update(revoked_at="2020-01-01T00:00:00Z")
    existing = invite(taken)
    assert fresh.status_code == existing.status_code == 200
    assert f"Invitation sent to {FRESH}." in fresh.content.decode()
    assert f"Invitation sent to {taken}." in existing.content.decode()
    assert normalised(fresh.content, FRESH) == normalised(existing.content, taken)
    assert Invitation.objects.filter(partner=partner, email=taken).count() == 1

    # Each address's owner gets the e-mail that fits: an invitation link, or "you have an account".
    (to_fresh,) = [message for message in mail.outbox if FRESH in message.to]
    (to_taken,) = [message for message in mail.outbox if taken in message.to]
    assert to_fresh.subject == to_taken.subject
    assert "/invitations/" in to_fresh.body
    assert "/invitations/" not in to_taken.body
    assert "already has an account" in to_taken.body
    assert reverse("account_login") in to_taken.body


@pytest.mark.parametrize("taken", ["partner"], indirect=True)
def test_the_invitation_link_tells_only_its_holder_and_creates_nothing(
    partner: Partner, partner_admin: Any, taken: str
) -> None:
    from partners import services

    invitation = services.invitation_create(
        actor=factories.actor_for(partner_admin), partner=partner, email=taken, role="sales"
    )
    url = reverse("partners:invitation_accept", args=[services.invitation_token(invitation)])
    page = Client().get(url)
    assert page.status_code == 200
    assert "You already have an account" in page.content.decode()
    assert 'id="accept-invitation"' not in page.content.decode()
    response = Client().post(
        url, {"full_name": "Bob Again", "password1": "a-long-password-1", "password2": "a-long-password-1"}
    )
    assert response.status_code == 200
    assert "You already have an account" in response.content.decode()
    user = User.objects.get(email=taken)
    assert not Membership.objects.filter(partner=partner, user=user).exists()
    assert user.membership.partner != partner
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


@pytest.mark.parametrize("taken", ["partner"], indirect=True)
def test_resending_keeps_telling_the_owner(
    partner: Partner, partner_admin: Any, taken: str, django_capture_on_commit_callbacks: Any
) -> None:
    from partners import services

    actor = factories.actor_for(partner_admin)
    invitation = services.invitation_create(actor=actor, partner=partner, email=taken, role="sales")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_resend(actor=actor, invitation=invitation)
    (message,) = mail.outbox
    assert "already has an account" in message.body
