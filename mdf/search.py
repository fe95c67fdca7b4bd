"""Fund requests in the one search box (prm.search), through the fund request policy."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from prm.money import format_money
from prm.search import SearchHit, SearchSource, sees_money
from prm.tenancy import Actor

from .policies import fund_request_policy


def _requests(actor: Actor) -> QuerySet | None:
    if not sees_money(actor):
        return None
    return fund_request_policy.scope(actor).only(
        "pk", "reference", "title", "status", "requested_amount", "currency", "created_at"
    )


def _url(actor: Actor, request: Any) -> str:
    if actor.is_partner:
        return reverse("mdf:request_detail", args=[request.pk])
    # Vendor staff decide fund requests in the admin (mdf.admin); without admin access, no link.
    if actor.user is not None and actor.user.is_staff:
        return reverse("admin:mdf_fundrequest_change", args=[request.pk])
    return ""


def _hits(actor: Actor, requests: list[Any]) -> list[SearchHit]:
    return [
        SearchHit(
            title=f"{request.reference} {request.title}",
            url=_url(actor, request),
            detail=request.get_status_display(),
            amount=format_money(request.requested_amount, request.currency),
        )
        for request in requests
    ]


def sources() -> list[SearchSource]:
    return [
        SearchSource(key="mdf.fundrequest", label=_("Fund requests"), rows=_requests, hits=_hits, position=30)
    ]
