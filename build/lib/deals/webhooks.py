"""What a partner's webhook receives about its deals and leads (see prm.webhooks). Only what the
partner may see in the portal: never a conflicting registration or who holds it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse

from prm import webhooks

from .models import ConflictStatus, Deal, DealStatus, Lead

# The events a partner can subscribe to (the vendor's own reminders, such as a review falling due,
# are not the partner's business).
DEAL_EVENTS = (
    "deal.submitted",
    "deal.approved",
    "deal.rejected",
    "deal.returned",
    "deal.won",
    "deal.lost",
    "deal.expiring",
    "deal.expired",
    "deal.extension_requested",
    "deal.extension_decided",
)
LEAD_EVENTS = ("lead.offered",)
EVENTS = DEAL_EVENTS + LEAD_EVENTS


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def deal_payload(deal: Deal) -> dict[str, Any]:
    return {
        "type": "deal",
        "id": deal.pk,
        "reference": deal.reference,
        "status": deal.status,
        "stage": deal.stage,
        "customer_name": deal.customer_name,
        "customer_domain": deal.customer_domain,
        "amount": deal.amount,
        "currency": deal.currency,
        "expected_close_date": deal.expected_close_date,
        "protection_expires_at": deal.protection_expires_at,
        "discount_percent": deal.discount_percent,
        "won_amount": deal.won_amount,
        "conflict_under_review": deal.conflict_status == ConflictStatus.UNDER_REVIEW
        and deal.status in {DealStatus.SUBMITTED, DealStatus.RETURNED},
        "url": _absolute(reverse("deals:detail", args=[deal.pk])),
        "api_url": _absolute(reverse("api-deal-detail", args=[deal.pk])),
    }


def lead_payload(lead: Lead) -> dict[str, Any]:
    return {
        "type": "lead",
        "id": lead.pk,
        "company_name": lead.company_name,
        "domain": lead.domain,
        "country": str(lead.country),
        "status": lead.status,
        "respond_by": lead.respond_by,
        "url": _absolute(reverse("deals:lead_list")),
        "api_url": _absolute(reverse("api-lead-detail", args=[lead.pk])),
    }


def emit_deal_event(deal: Deal, event: str) -> None:
    if event not in DEAL_EVENTS:
        return
    webhooks.emit(partner_id=deal.partner_id, event=event, data=deal_payload(deal))


def emit_lead_event(lead: Lead, event: str) -> None:
    if lead.assigned_partner_id:
        webhooks.emit(partner_id=lead.assigned_partner_id, event=event, data=lead_payload(lead))
