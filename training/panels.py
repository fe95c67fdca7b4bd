"""What training contributes to pages of the partners app (see partners.panels.app_panels): the
certifications panel of the partner 360 page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, F, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from .models import AwardStatus, CertificationAward
from .policies import award_policy

# "Expiring soon" on the page: what a channel account manager should raise on the next call.
EXPIRING_DAYS = 90
EXPIRING_ROWS = 8


def _valid_awards(actor: Any, partner: Any, now: Any) -> QuerySet[CertificationAward]:
    """Awards valid now, held by people still active in the partner that earned them (the same
    rule as the certified-people KPI, training.kpis: a person who left takes the certification)."""
    return award_policy.scope(actor).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        partner_id=partner.pk,
        status=AwardStatus.ACTIVE,
        user__membership__partner_id=F("partner_id"),
        user__membership__is_active=True,
    )


def partner_360_panel(request: HttpRequest, *, partner: Any) -> dict[str, Any] | None:
    """Certified people and certifications held, per certification, and the certifications that
    expire within EXPIRING_DAYS. Not money: every vendor role that sees the partner sees it. Three
    queries: the totals, the per-certification counts, the soonest expiring awards."""
    actor = request.actor
    now = timezone.now()
    soon = now + timedelta(days=EXPIRING_DAYS)
    valid = _valid_awards(actor, partner, now)
    totals = valid.order_by().aggregate(
        people=Count("user_id", distinct=True),
        held=Count("*"),
        expiring=Count("pk", filter=Q(expires_at__lte=soon)),
    )
    by_certification = list(
        valid.order_by()
        .values("certification_id", "certification__name")
        .annotate(people=Count("user_id", distinct=True))
        .order_by("-people", "certification__name")
    )
    expiring = list(
        valid.filter(expires_at__lte=soon)
        .select_related("user", "certification")
        .order_by("expires_at", "pk")[:EXPIRING_ROWS]
    )
    return {
        "template": "training/_partner_360_panel.html",
        "partner": partner,
        "people": totals["people"],
        "held": totals["held"],
        "expiring_count": totals["expiring"],
        "expiring": expiring,
        "expiring_more": max(totals["expiring"] - EXPIRING_ROWS, 0),
        "expiring_days": EXPIRING_DAYS,
        "by_certification": by_certification,
    }
