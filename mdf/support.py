"""Fund requests a support case may be about (partners.support.linkables): the partner's own
requests, as the fund request policy lets the person see them."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from partners.support.linkables import CHOICES_LIMIT, Linkable
from prm.tenancy import Actor

from .policies import fund_request_policy


def _label(request: object) -> str:
    return f"{request.reference} {request.title}"


def _choices(actor: Actor) -> list[tuple[int, str]]:
    if not actor.is_partner:
        return []
    requests = (
        fund_request_policy.scope(actor).only("pk", "reference", "title").order_by("-created_at", "-pk")
    )
    return [(request.pk, _label(request)) for request in requests[:CHOICES_LIMIT]]


def _resolve(actor: Actor, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    requests = fund_request_policy.scope(actor).filter(pk__in=list(ids)).only("pk", "reference", "title")
    # Vendor staff decide on requests in the admin; partners have the request's page.
    page = "mdf:request_detail" if actor.is_partner else "admin:mdf_fundrequest_change"
    return {request.pk: (_label(request), reverse(page, args=[request.pk])) for request in requests}


def linkables() -> list[Linkable]:
    return [Linkable(key="mdf.fundrequest", label=_("Fund request"), choices=_choices, resolve=_resolve)]
