"""Webhooks: a partner's systems hear about its deals and leads — signed, retried until accepted,
never about another partner, never with conflict evidence."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from prm import tasks, webhooks
from prm.errors import ApplicationError
from prm.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from prm.tenancy import Actor, Scope, tenant_scope
from tests.deals import factories as f
from tests.helpers import login
from tests.webhook_receiver import receiver

pytestmark = pytest.mark.django_db


def send() -> int:
    """What the worker does after commit (and beat every minute): send the deliveries that are due.
    (A test's transaction never commits, so the after-commit task is checked on its own below.)"""
    return tasks.send_due_webhooks()


def _endpoint(team: f.Team, url: str, events: list[str] | None = None) -> WebhookEndpoint:
    with f.acting(team.admin_actor):
        return webhooks.endpoint_create(actor=team.admin_actor, url=url, events=events or [])


def _verify(secret: str, request: dict[str, Any]) -> bool:
    headers = request["headers"]
    expected = hmac.new(
        secret.encode(), headers["X-PRM-Timestamp"].encode() + b"." + request["body"], hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(headers["X-PRM-Signature"], f"sha256={expected}")


def test_a_decision_reaches_the_partners_endpoint_signed(team_a: f.Team, cam: Actor) -> None:
    with receiver() as hook:
        endpoint = _endpoint(team_a, hook.url)
        deal = f.submitted(team_a.sales_actor, customer="Initech", domain="initech.com")
        with f.acting(cam):
            from deals import services

            services.deal_approve(actor=cam, deal=deal)
        assert send() == 2
        events = [r["json"]["event"] for r in hook.received]
        assert events == ["deal.submitted", "deal.approved"]
        approved = hook.received[1]
        assert _verify(endpoint.secret, approved)
        assert approved["headers"]["X-PRM-Event"] == "deal.approved"
        data = approved["json"]["data"]
        assert (data["reference"], data["status"]) == (deal.reference, "approved")
        assert data["protection_expires_at"] and data["url"].endswith(f"/deals/{deal.pk}/")
    assert WebhookDelivery.objects.filter(status="delivered").count() == 2


def test_only_subscribed_events_are_sent(team_a: f.Team) -> None:
    with receiver() as hook:
        _endpoint(team_a, hook.url, events=["deal.approved"])
        f.submitted(team_a.sales_actor)
        assert send() == 0
        assert hook.received == []
    assert not WebhookDelivery.objects.filter(partner_id=team_a.partner.pk).exists()


def test_the_other_partners_conflict_is_not_in_the_payload(team_a: f.Team, team_b: f.Team) -> None:
    with receiver() as hook:
        _endpoint(team_b, hook.url)
        f.submitted(team_a.sales_actor, customer="Initech", domain="initech.com")
        f.submitted(team_b.sales_actor, customer="Initech", domain="initech.com")
        send()
        assert len(hook.received) == 1  # partner A's submission is not partner B's business
        data = hook.received[0]["json"]["data"]
        assert data["conflict_under_review"] is True
        text = hook.received[0]["body"].decode()
        assert team_a.partner.legal_name not in text


def test_a_failing_endpoint_is_retried_with_growing_pauses_then_gives_up(team_a: f.Team) -> None:
    with receiver() as hook:
        hook.statuses = [500] * webhooks.MAX_ATTEMPTS
        _endpoint(team_a, hook.url)
        f.submitted(team_a.sales_actor)
        assert send() == 1
        delivery = WebhookDelivery.objects.filter(partner_id=team_a.partner.pk).get()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
        pause = delivery.next_attempt_at - timezone.now()
        assert timedelta(seconds=50) < pause <= timedelta(minutes=1)
        assert tasks.send_due_webhooks() == 0  # not due yet
        for attempt in range(2, webhooks.MAX_ATTEMPTS + 1):
            WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
            assert tasks.send_due_webhooks() == 1
            delivery.refresh_from_db()
            assert delivery.attempts == attempt
        assert delivery.status == "failed"
        assert len(hook.received) == webhooks.MAX_ATTEMPTS
        ids = {r["headers"]["X-PRM-Delivery"] for r in hook.received}
        assert ids == {str(delivery.event_id)}  # the same id on every retry: receivers drop repeats
        assert webhooks.deliver(delivery_id=delivery.pk) == "failed"  # idempotent
        assert len(hook.received) == webhooks.MAX_ATTEMPTS


def test_a_retry_that_succeeds_delivers(team_a: f.Team) -> None:
    with receiver() as hook:
        hook.statuses = [503]
        _endpoint(team_a, hook.url)
        f.submitted(team_a.sales_actor)
        send()
        delivery = WebhookDelivery.objects.filter(partner_id=team_a.partner.pk).get()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        tasks.send_due_webhooks()
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("delivered", 2)


def test_nothing_is_sent_when_the_transaction_rolls_back(team_a: f.Team) -> None:
    from django.db import transaction

    with receiver() as hook:
        _endpoint(team_a, hook.url)
        deal = f.draft(team_a.sales_actor)
        with pytest.raises(RuntimeError), transaction.atomic():
            f.submit(team_a.sales_actor, deal)
            raise RuntimeError
        assert send() == 0
        assert hook.received == []
    assert not WebhookDelivery.objects.filter(partner_id=team_a.partner.pk).exists()


def test_a_lead_offer_reaches_the_partner(team_a: f.Team, vendor_admin: Actor) -> None:
    from deals import leads

    with receiver() as hook:
        _endpoint(team_a, hook.url, events=["lead.offered"])
        lead = f.lead(vendor_admin, company="Vandelay Industries")
        with f.acting(vendor_admin):
            leads.lead_assign(actor=vendor_admin, lead=lead, partner=team_a.partner)
        send()
        assert [r["json"]["data"]["company_name"] for r in hook.received] == ["Vandelay Industries"]


@pytest.mark.parametrize(
    "url",
    [
        "http://crm.example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://100.100.100.200/latest/meta-data/",  # shared address space: a cloud metadata service
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped
        "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
        "https://[2002:7f00:1::1]/hook",  # 6to4 of 127.0.0.1
        "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
        "https://127.0.0.1:99999/hook",
        "ftp://x/y",
        "nonsense",
    ],
)
def test_unsafe_urls_are_refused_in_production(settings: Any, team_a: f.Team, url: str) -> None:
    settings.PRM = {**settings.PRM, "WEBHOOK_ALLOW_PRIVATE_URLS": False}
    with pytest.raises(ApplicationError):
        _endpoint(team_a, url)
    assert not WebhookEndpoint.objects.filter(partner_id=team_a.partner.pk).exists()


@pytest.mark.parametrize("location", ["", "http://169.254.169.254/latest/meta-data/"])
def test_a_redirect_is_not_followed_it_is_a_failed_attempt(team_a: f.Team, location: str) -> None:
    with receiver() as hook:
        hook.statuses = [302]
        hook.location = location  # "": back to this receiver, where a followed redirect would show
        _endpoint(team_a, hook.url)
        f.submitted(team_a.sales_actor)
        send()
        assert [(r["method"], r["path"]) for r in hook.received] == [("POST", "/hooks/prm")]
    delivery = WebhookDelivery.objects.filter(partner_id=team_a.partner.pk).get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 302)
    assert delivery.last_error == "HTTP 302: redirects are not followed"


def test_endpoints_and_deliveries_are_the_partners_own(team_a: f.Team, team_b: f.Team) -> None:
    with receiver() as hook:
        _endpoint(team_a, hook.url)
        f.submitted(team_a.sales_actor)
        send()
    with tenant_scope(Scope.partner(team_b.partner.pk)):
        assert not WebhookEndpoint.objects.exists()  # row-level security
        assert not WebhookDelivery.objects.exists()
    with tenant_scope(Scope.partner(team_a.partner.pk)):
        assert WebhookEndpoint.objects.count() == 1


# --- the page -------------------------------------------------------------------------------------
def _client(user: Any) -> Client:
    client = login(user, raise_request_exception=False)
    return client


def test_a_partner_admin_adds_rotates_resends_and_removes(team_a: f.Team) -> None:
    with receiver() as hook:
        client = _client(team_a.admin)
        page = reverse("deals:webhooks")
        response = client.post(page, {"url": hook.url, "description": "CRM", "events": ["deal.submitted"]})
        assert response.status_code == 302
        endpoint = WebhookEndpoint.objects.filter(partner_id=team_a.partner.pk).get()
        assert endpoint.events == ["deal.submitted"]
        assert AuditEvent.objects.filter(action="webhook.created").exists()
        f.submitted(team_a.sales_actor)
        send()
        listing = client.get(page).content.decode()
        assert "deal.submitted" in listing and "Delivered" in listing and endpoint.secret in listing

        old_secret = endpoint.secret
        client.post(reverse("deals:webhook_rotate", args=[endpoint.pk]))
        endpoint.refresh_from_db()
        assert endpoint.secret != old_secret

        delivery = WebhookDelivery.objects.filter(partner_id=team_a.partner.pk).get()
        client.post(reverse("deals:webhook_redeliver", args=[delivery.pk]))
        send()
        assert len(hook.received) == 2 and _verify(endpoint.secret, hook.received[1])

        client.post(reverse("deals:webhook_delete", args=[endpoint.pk]))
        assert not WebhookEndpoint.objects.filter(partner_id=team_a.partner.pk).exists()


def test_bad_input_is_explained(team_a: f.Team) -> None:
    client = _client(team_a.admin)
    response = client.post(reverse("deals:webhooks"), {"url": "not a url"})
    assert response.status_code == 400
    assert "Enter a full URL" in response.content.decode()
    assert not WebhookEndpoint.objects.filter(partner_id=team_a.partner.pk).exists()
    client.post(reverse("deals:webhooks"), {"url": "http://127.0.0.1:9/hooks"})
    again = client.post(reverse("deals:webhooks"), {"url": "http://127.0.0.1:9/hooks"})
    assert again.status_code == 400 and "already registered" in again.content.decode()
    assert WebhookEndpoint.objects.filter(partner_id=team_a.partner.pk).count() == 1


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/a b", "http://127.0.0.1:9/a\r\nX-Injected: 1"])
def test_urls_with_whitespace_or_control_characters_are_refused(team_a: f.Team, url: str) -> None:
    with pytest.raises(ApplicationError, match="Enter a full URL"):
        _endpoint(team_a, url)
    assert not WebhookEndpoint.objects.filter(partner_id=team_a.partner.pk).exists()


def test_only_the_partners_admins_manage_webhooks(team_a: f.Team, team_b: f.Team) -> None:
    with receiver() as hook:
        endpoint = _endpoint(team_a, hook.url)
    assert _client(team_a.sales).get(reverse("deals:webhooks")).status_code == 404
    other = _client(team_b.admin)
    assert endpoint.url not in other.get(reverse("deals:webhooks")).content.decode()
    for name in ("deals:webhook_delete", "deals:webhook_rotate"):
        assert other.post(reverse(name, args=[endpoint.pk])).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, secret=endpoint.secret).exists()


def test_the_worker_is_asked_to_send_after_commit(
    team_a: f.Team, django_capture_on_commit_callbacks: Any
) -> None:
    with receiver() as hook:
        _endpoint(team_a, hook.url)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            f.submitted(team_a.sales_actor)
        assert callbacks  # the delivery task was queued for after commit, and ran
        assert [r["json"]["event"] for r in hook.received] == ["deal.submitted"]
