"""Deals a support case may be about (partners.support.linkables): the partner's own deals, as the
deal policy lets the person see them."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from partners.support.linkables import CHOICES_LIMIT, Linkable
from prm.tenancy import Actor

from .policies import deal_policy


def _label(deal: object) -> str:
    return f"{deal.reference} {deal.customer_name}"


def _choices(actor: Actor) -> list[tuple[int, str]]:
    if not actor.is_partner:
        return []
    deals = deal_policy.scope(actor).only("pk", "reference", "customer_name").order_by("-created_at", "-pk")
    return [(deal.pk, _label(deal)) for deal in deals[:CHOICES_LIMIT]]


def _resolve(actor: Actor, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    deals = deal_policy.scope(actor).filter(pk__in=list(ids)).only("pk", "reference", "customer_name")
    page = "deals:detail" if actor.is_partner else "deals:review_detail"
    return {deal.pk: (_label(deal), reverse(page, args=[deal.pk])) for deal in deals}


def linkables() -> list[Linkable]:
    return [Linkable(key="deals.deal", label=_("Deal"), choices=_choices, resolve=_resolve)]
