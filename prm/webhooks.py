"""Signed webhooks: a partner's systems hear about its deals and leads as they change.

Any app calls :func:`emit` inside its transaction; one ``WebhookDelivery`` row per subscribed
endpoint is written with the event, and a Celery task POSTs it after commit. Each request carries

* ``X-PRM-Event`` (``deal.approved``), ``X-PRM-Delivery`` (the event's UUID, the same on every
  retry so the receiver can drop repeats) and ``X-PRM-Timestamp`` (Unix seconds);
* ``X-PRM-Signature: sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<body>"`` with the
  endpoint's secret, so the receiver can tell it is from us and recent.

A 2xx answer delivers it; anything else (or no answer in 10 s) is retried with growing pauses,
up to ``MAX_ATTEMPTS``; a beat job picks up retries that are due, so a lost task loses nothing.

Endpoints must be ``https://`` and every address of their host globally routable (a
partner-supplied URL must not become a way into our network): checked when registered, and again
at each attempt, where the connection is pinned to the address just checked and redirects are not
followed (:mod:`prm.outbound`). ``PRM["WEBHOOK_ALLOW_PRIVATE_URLS"]`` lifts the address and https
rules for tests and local development; production settings force it off.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import secrets
import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import SplitResult, urlsplit

import urllib3
from celery import shared_task
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import audit, outbound
from .errors import ApplicationError
from .models import WebhookDelivery, WebhookEndpoint
from .tenancy import Actor, system_scope

MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 10
MAX_ENDPOINTS_PER_PARTNER = 10
# Minutes before attempt n+1: 1, 2, 4, 8, ... (about four hours in all).
RETRY_BASE_MINUTES = 1


def _allow_private() -> bool:
    return bool(settings.PRM.get("WEBHOOK_ALLOW_PRIVATE_URLS"))


def _parse(url: str) -> SplitResult:
    url = (url or "").strip()
    parts = urlsplit(url)
    try:
        complete = (
            parts.scheme in ("https", "http")
            and bool(parts.hostname)
            and parts.port != 0
            # Whitespace or control characters would end up in the request line (http.client
            # refuses them there, after the connection is made).
            and not any(character.isspace() or not character.isprintable() for character in url)
        )
    except ValueError:  # a port that is not a number from 0 to 65535
        complete = False
    if not complete:
        raise ApplicationError(_("Enter a full URL such as https://crm.example.com/hooks/prm."), field="url")
    if parts.scheme != "https" and not _allow_private():
        raise ApplicationError(_("Webhook URLs must use https://."), field="url")
    return parts


# One text for a host that does not resolve and one that resolves to an address we refuse: two
# texts would tell a partner which names exist inside our network.
REFUSED_HOST = gettext_lazy("Webhook URLs must point to a host with public internet addresses only.")


def check_url(url: str) -> str:
    """The URL if a partner may register it; ApplicationError saying why not."""
    parts = _parse(url)
    try:
        outbound.resolve(
            host=parts.hostname or "",
            port=parts.port or (443 if parts.scheme == "https" else 80),
            allow_private=_allow_private(),
        )
    except outbound.RefusedDestination as exc:
        raise ApplicationError(str(REFUSED_HOST), field="url") from exc
    return url.strip()


# --- reads (the scoping path for webhook rows: the actor's own partner, admins only) -------------
def may_manage(actor: Actor) -> bool:
    return actor.is_partner and actor.partner_role == "admin"


def endpoint_list(*, actor: Actor) -> list[WebhookEndpoint]:
    if not may_manage(actor):
        return []
    return list(WebhookEndpoint.objects.filter(partner_id=actor.partner_id))


def endpoint_get(*, actor: Actor, pk: Any) -> WebhookEndpoint:
    endpoint = (
        WebhookEndpoint.objects.filter(pk=pk, partner_id=actor.partner_id).first()
        if may_manage(actor)
        else None
    )
    if endpoint is None:
        raise Http404
    return endpoint


def delivery_get(*, actor: Actor, pk: Any) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.filter(pk=pk, partner_id=actor.partner_id).first()
        if may_manage(actor)
        else None
    )
    if delivery is None:
        raise Http404
    return delivery


def recent_deliveries(
    *, endpoints: list[WebhookEndpoint], per_endpoint: int = 10
) -> dict[int, list[WebhookDelivery]]:
    """The latest deliveries of each endpoint (one query, bounded)."""
    recent: dict[int, list[WebhookDelivery]] = {endpoint.pk: [] for endpoint in endpoints}
    rows = WebhookDelivery.objects.filter(endpoint__in=endpoints).order_by("-created_at", "-pk")
    for delivery in rows[: per_endpoint * max(len(endpoints), 1) * 2]:
        if len(recent[delivery.endpoint_id]) < per_endpoint:
            recent[delivery.endpoint_id].append(delivery)
    return recent


# --- endpoints (partner admins) ------------------------------------------------------------------
def _require_partner_admin(actor: Actor) -> None:
    if not may_manage(actor):
        raise ApplicationError(_("Only partner admins manage webhooks."))


def endpoint_create(*, actor: Actor, url: str, events: list[str], description: str = "") -> WebhookEndpoint:
    _require_partner_admin(actor)
    url = check_url(url)
    if WebhookEndpoint.objects.filter(partner_id=actor.partner_id, url=url).exists():
        raise ApplicationError(_("This URL is already registered; add events to it instead."), field="url")
    if WebhookEndpoint.objects.filter(partner_id=actor.partner_id).count() >= MAX_ENDPOINTS_PER_PARTNER:
        raise ApplicationError(_("A company has at most 10 webhook endpoints; remove one first."))
    endpoint = WebhookEndpoint.objects.create(
        partner_id=actor.partner_id,
        url=url,
        events=sorted(set(events)),
        description=description.strip()[:200],
        secret=secrets.token_hex(32),
        created_by=actor.user,
    )
    audit.record(
        actor=actor.user,
        action="webhook.created",
        target=endpoint,
        partner_id=actor.partner_id,
        after={"url": url, "events": endpoint.events},
    )
    return endpoint


def endpoint_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    _require_partner_admin(actor)
    audit.record(
        actor=actor.user,
        action="webhook.deleted",
        target=endpoint,
        partner_id=endpoint.partner_id,
        before={"url": endpoint.url},
    )
    endpoint.delete()


def endpoint_rotate_secret(*, actor: Actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    _require_partner_admin(actor)
    endpoint.secret = secrets.token_hex(32)
    endpoint.save(update_fields=["secret"])
    audit.record(
        actor=actor.user, action="webhook.secret_rotated", target=endpoint, partner_id=endpoint.partner_id
    )
    return endpoint


# --- events --------------------------------------------------------------------------------------
def emit(*, partner_id: int, event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue ``event`` for every active endpoint of the partner that subscribed to it. Call it in
    the transaction that made the change: nothing is sent if that transaction rolls back."""
    with system_scope():  # the emitting service may run in the vendor's or the partner's scope
        endpoints = [
            endpoint
            for endpoint in WebhookEndpoint.objects.filter(partner_id=partner_id, is_active=True)
            if not endpoint.events or event in endpoint.events
        ]
        deliveries = [
            WebhookDelivery.objects.create(
                partner_id=partner_id,
                endpoint=endpoint,
                event=event,
                event_id=uuid.uuid4(),
                payload=json.loads(json.dumps({"event": event, "data": data}, cls=DjangoJSONEncoder)),
            )
            for endpoint in endpoints
        ]
    if deliveries:
        ids = [delivery.pk for delivery in deliveries]
        transaction.on_commit(lambda: [deliver_webhook.delay(pk) for pk in ids])
    return deliveries


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """One POST of the delivery: the answer's status (None for no answer) and what went wrong.

    For a refused host the text is the same whatever the reason, and nothing is sent; the detail
    of a failed connection (refused, timed out, TLS) is given only for the checked, public
    addresses, where it tells the partner nothing about our network."""
    body = json.dumps(
        {"id": str(delivery.event_id), "created_at": delivery.created_at.isoformat(), **delivery.payload}
    ).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PRM-Webhooks/1.0",
        "X-PRM-Event": delivery.event,
        "X-PRM-Delivery": str(delivery.event_id),
        "X-PRM-Timestamp": timestamp,
        "X-PRM-Signature": signature(delivery.endpoint.secret, timestamp, body),
    }
    try:
        status = outbound.post(
            url=delivery.endpoint.url,
            body=body,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
            allow_private=_allow_private(),
        )
    except outbound.RefusedDestination:
        return None, str(REFUSED_HOST)
    except urllib3.exceptions.NewConnectionError as exc:  # before its base, ConnectTimeoutError
        reason = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        return None, f"Could not connect: {getattr(reason, 'strerror', None) or reason}"[:300]
    except urllib3.exceptions.ConnectTimeoutError:
        return None, f"No connection within {TIMEOUT_SECONDS} s"
    except urllib3.exceptions.ReadTimeoutError:
        return None, f"No answer within {TIMEOUT_SECONDS} s"
    except urllib3.exceptions.SSLError as exc:
        return None, f"TLS error: {exc}"[:300]
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
        return None, f"Delivery failed: {exc}"[:300]
    if 300 <= status < 400:
        return status, f"HTTP {status}: redirects are not followed"
    return status, "" if 200 <= status < 300 else f"HTTP {status}"


def deliver(*, delivery_id: int) -> str:
    """One attempt at a due delivery (idempotent: a delivered or failed one is left alone).
    Returns the delivery's status afterwards."""
    with system_scope():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:  # gone, or another worker is on it right now
            return "skipped"
        if delivery.status != WebhookDelivery.Status.PENDING:
            return delivery.status
        if not delivery.endpoint.is_active:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.last_error = "endpoint disabled"
            delivery.save(update_fields=["status", "last_error"])
            return delivery.status
        try:
            # Again at each attempt (a host name may resolve elsewhere than when it was
            # registered); the address check comes with the one lookup inside _post.
            _parse(delivery.endpoint.url)
            code, error = _post(delivery)
        except ApplicationError as exc:
            code, error = None, str(exc)
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_status_code = code
        delivery.last_error = error
        if code is not None and 200 <= code < 300:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = now
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            pause = RETRY_BASE_MINUTES * 2 ** (delivery.attempts - 1)
            delivery.next_attempt_at = now + timedelta(minutes=pause)
        delivery.save()
        return delivery.status


# The task lives beside deliver() rather than in prm.tasks: emit() and redeliver() queue it, and
# prm.tasks calls deliver(), so defining it there made the two modules import each other. Its
# name stays the one already queued messages and the worker know.
@shared_task(name="prm.tasks.deliver_webhook", acks_late=True)
def deliver_webhook(delivery_id: int) -> str:
    """One attempt; a failed one is retried by ``send_due_webhooks`` when its pause is over."""
    return deliver(delivery_id=delivery_id)


def due_delivery_ids(*, now: Any = None, limit: int = 500) -> list[int]:
    with system_scope():
        return list(
            WebhookDelivery.objects.filter(
                status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now or timezone.now()
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )


def redeliver(*, actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """A partner admin sends a failed (or delivered) event again, as a new attempt series."""
    _require_partner_admin(actor)
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    transaction.on_commit(lambda: deliver_webhook.delay(delivery.pk))
    return delivery
