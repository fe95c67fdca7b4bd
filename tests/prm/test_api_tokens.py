"""People manage their own API tokens in the portal: the secret is shown once, a name is needed,
revoking is for the owner only, every change is audited, and a token expires on a day chosen when
it is made."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone

from partners.models import PartnerRole
from prm.api import token_issue
from prm.models import ApiToken, AuditEvent
from tests import factories
from tests.helpers import login
from tests.scoping import acting

pytestmark = pytest.mark.django_db


def _client(user: object) -> Client:
    client = login(user)
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
    assert not ApiToken.objects.filter(user=sales).exists()


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
    assert not ApiToken.objects.filter(user=learner).exists()


# --- expiry -------------------------------------------------------------------------------------
PRODUCTS = "/api/v1/products/"
ISSUED = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def test_a_token_expires_after_the_default_lifetime_unless_another_date_is_chosen(sales: object) -> None:
    with time_machine.travel(ISSUED, tick=False):
        client = _client(sales)
        assert client.post(reverse("api_tokens"), {"name": "CRM sync", "expires_on": ""}).status_code == 200
        chosen = timezone.localdate() + timedelta(days=30)
        client.post(reverse("api_tokens"), {"name": "Report", "expires_on": chosen.isoformat()})
        default_token, chosen_token = ApiToken.objects.filter(user=sales).order_by("pk")
        assert default_token.expires_at == _local_midnight(timezone.localdate() + timedelta(days=90))
        assert chosen_token.expires_at == _local_midnight(chosen)


@pytest.mark.parametrize(
    ("expires_in_days", "message"),
    [(0, "after today"), (-3, "after today"), (366, "at most 365 days")],
)
def test_an_expiry_outside_tomorrow_to_a_year_is_refused(
    sales: object, expires_in_days: int, message: str
) -> None:
    with time_machine.travel(ISSUED, tick=False):
        day = timezone.localdate() + timedelta(days=expires_in_days)
        page = _client(sales).post(reverse("api_tokens"), {"name": "CRM sync", "expires_on": day.isoformat()})
    assert page.status_code == 400
    assert message in page.content.decode()
    assert not ApiToken.objects.filter(user=sales).exists()


@pytest.mark.parametrize("value", ["next year", "2026-02-30"])
def test_an_expiry_that_is_not_a_date_is_refused(sales: object, value: str) -> None:
    page = _client(sales).post(reverse("api_tokens"), {"name": "CRM sync", "expires_on": value})
    assert page.status_code == 400
    assert "Enter the expiry as a date" in page.content.decode()
    assert not ApiToken.objects.filter(user=sales).exists()


@time_machine.travel(ISSUED, tick=False)  # "today" must not change between the lines
def test_the_longest_lifetime_is_a_setting(sales: object, settings: Any) -> None:
    settings.PRM = {**settings.PRM, "API_TOKEN_MAX_DAYS": 30}
    client = _client(sales)
    too_late = timezone.localdate() + timedelta(days=31)
    page = client.post(reverse("api_tokens"), {"name": "CRM sync", "expires_on": too_late.isoformat()})
    assert page.status_code == 400 and "at most 30 days" in page.content.decode()
    in_time = timezone.localdate() + timedelta(days=30)
    assert (
        client.post(reverse("api_tokens"), {"name": "CRM", "expires_on": in_time.isoformat()}).status_code
        == 200
    )
    assert list(ApiToken.objects.filter(user=sales).values_list("name", flat=True)) == ["CRM"]


@pytest.mark.parametrize(
    ("issued", "last_day"),
    [
        # 365 days (the setting says days), which is not a year when a 29 February lies between.
        (datetime(2027, 3, 1, 0, 0, 0, tzinfo=UTC), date(2028, 2, 29)),
        (datetime(2027, 2, 28, 23, 59, 59, tzinfo=UTC), date(2028, 2, 28)),
        (datetime(2028, 2, 29, 12, 0, 0, tzinfo=UTC), date(2029, 2, 28)),
    ],
)
def test_the_longest_lifetime_is_365_days_from_the_day_of_issue(
    sales: object, issued: datetime, last_day: date
) -> None:
    with time_machine.travel(issued, tick=False):
        client = _client(sales)
        late = client.post(
            reverse("api_tokens"), {"name": "Late", "expires_on": (last_day + timedelta(days=1)).isoformat()}
        )
        assert late.status_code == 400 and "at most 365 days" in late.content.decode()
        page = client.post(reverse("api_tokens"), {"name": "Last", "expires_on": last_day.isoformat()})
        assert page.status_code == 200
        tomorrow = client.post(
            reverse("api_tokens"),
            {"name": "Tomorrow", "expires_on": (issued.date() + timedelta(days=1)).isoformat()},
        )
        assert tomorrow.status_code == 200
    tokens = ApiToken.objects.filter(user=sales).order_by("pk")
    assert list(tokens.values_list("name", "expires_at")) == [
        ("Last", _local_midnight(last_day)),
        ("Tomorrow", _local_midnight(issued.date() + timedelta(days=1))),
    ]


def test_an_expired_token_is_refused_with_a_401_that_says_so(sales: object) -> None:
    actor = factories.actor_for(sales)
    with time_machine.travel(ISSUED, tick=False), acting(actor):  # as the tokens page issues it
        _token, secret = token_issue(user=sales, name="CRM sync", partner_id=actor.partner_id)
        expires_at = _local_midnight(timezone.localdate() + timedelta(days=90))
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    with time_machine.travel(expires_at - timedelta(seconds=1), tick=False):
        assert Client().get(PRODUCTS, **headers).status_code == 200
    with time_machine.travel(expires_at, tick=False):
        refused = Client().get(PRODUCTS, **headers)
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"].startswith("Bearer")
    assert "expired" in refused.json()["detail"]
    # Another token's secret, or none, still gets the plain answer: expiry is told only to its holder.
    assert "expired" not in Client().get(PRODUCTS, HTTP_AUTHORIZATION="Bearer prm_nope").json()["detail"]


def test_the_tokens_page_shows_when_each_token_expires(sales: object) -> None:
    with time_machine.travel(ISSUED, tick=False):
        actor = factories.actor_for(sales)
        with acting(actor):  # as the tokens page issues it
            token, _secret = token_issue(user=sales, name="CRM sync", partner_id=actor.partner_id)
        page = _client(sales).get(reverse("api_tokens")).content.decode()
        assert formats.date_format(timezone.localtime(token.expires_at), "DATETIME_FORMAT") in page
        assert f'id="revoke-{token.pk}"' in page
        assert 'name="expires_on"' in page
    with time_machine.travel(token.expires_at, tick=False):
        page = _client(sales).get(reverse("api_tokens")).content.decode()
    assert "Expired" in page and f'id="revoke-{token.pk}"' not in page
