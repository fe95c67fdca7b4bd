"""People manage their own API tokens in the portal: the secret is shown once, a name is needed,
revoking is for the owner only, and every change is audited."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from partners.models import PartnerRole
from prm.models import ApiToken, AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def _client(user: object) -> Client:
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    return client


@pytest.fixture
def sales() -> object:
    partner = factories.PartnerFactory()
    return factories.partner_user(partner, role=PartnerRole.SALES)


def test_create_shows_the_secret_once_and_stores_only_its_hash(sales: object) -> None:
    client = _client(sales)
    page = client.post(reverse("api_tokens"), {"name": "CRM sync"})
    assert page.status_code == 200
    secret = page.context["secret"]
    assert secret.startswith("prm_") and secret in page.content.decode()
    token = ApiToken.objects.get(user=sales)
    assert token.name == "CRM sync" and secret not in token.key_hash
    again = client.get(reverse("api_tokens")).content.decode()
    assert secret not in again and token.prefix in again
    assert AuditEvent.objects.filter(action="api_token.issued", target_id=str(token.pk)).exists()


def test_a_token_needs_a_name(sales: object) -> None:
    page = _client(sales).post(reverse("api_tokens"), {"name": "   "})
    assert page.status_code == 400
    assert "Name the token" in page.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_is_for_the_owner_only(sales: object) -> None:
    client = _client(sales)
    client.post(reverse("api_tokens"), {"name": "CRM sync"})
    token = ApiToken.objects.get(user=sales)
    stranger = factories.partner_user(factories.PartnerFactory(), role=PartnerRole.ADMIN)
    assert _client(stranger).post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.is_active
    response = client.post(reverse("api_token_revoke", args=[token.pk]), follow=True)
    assert "revoked" in response.content.decode()
    token.refresh_from_db()
    assert not token.is_active
    assert AuditEvent.objects.filter(action="api_token.revoked", target_id=str(token.pk)).exists()


def test_people_without_a_deal_role_are_told_the_api_is_not_for_them() -> None:
    learner = factories.partner_user(factories.PartnerFactory(), role=PartnerRole.LEARNER)
    client = _client(learner)
    page = client.get(reverse("api_tokens"))
    assert "The API is for partner sales users and partner admins" in page.content.decode()
    client.post(reverse("api_tokens"), {"name": "sneaky"})
    assert not ApiToken.objects.exists()
