"""Deals and leads in the one search box (prm.search), each through its own policy."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet, Subquery
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from prm.money import format_money
from prm.search import COUNT_CAP, SearchHit, SearchSource, sees_money, tsquery
from prm.tenancy import Actor

from .policies import deal_policy, lead_policy
from .selectors import vendor_search


def _deals(actor: Actor) -> QuerySet | None:
    if not sees_money(actor):
        return None
    return deal_policy.scope(actor).only(
        "pk", "reference", "customer_name", "title", "status", "amount", "currency", "created_at"
    )


def _deal_match(actor: Actor, terms: list[str], text: str) -> Q:
    """Under row-level security no index serves the text-search match, so: a partner's deals by
    their vectors in ``deal_partner_search_idx`` alone (the ids first, an index-only scan of the
    partner's entries, at most one more than a page can count), then those rows; vendor staff,
    over every partner's million deals, through the deal list's indexed vendor search (the exact
    reference or website, or a customer whose name contains the words, from the name table)."""
    if actor.is_partner:
        ids = deal_policy.scope(actor).filter(search_vector=tsquery(terms)).order_by().values("pk")
        return Q(pk__in=Subquery(ids[: COUNT_CAP + 1]))
    return vendor_search(text)


def _deal_hits(actor: Actor, deals: list[Any]) -> list[SearchHit]:
    page = "deals:detail" if actor.is_partner else "deals:review_detail"
    return [
        SearchHit(
            title=f"{deal.reference} {deal.customer_name}",
            url=reverse(page, args=[deal.pk]),
            detail=" · ".join(part for part in (deal.get_status_display(), deal.title) if part),
            amount=format_money(deal.amount, deal.currency),
        )
        for deal in deals
    ]


def _leads(actor: Actor) -> QuerySet | None:
    if not sees_money(actor):
        return None
    return lead_policy.scope(actor).only(
        "pk", "company_name", "contact_name", "status", "estimated_value", "currency", "created_at"
    )


def _lead_hits(actor: Actor, leads: list[Any]) -> list[SearchHit]:
    hits = []
    for lead in leads:
        url = (
            reverse("deals:lead_list")
            if actor.is_partner
            else reverse("deals:vendor_lead_detail", args=[lead.pk])
        )
        hits.append(
            SearchHit(
                title=lead.company_name,
                url=url,
                detail=" · ".join(part for part in (lead.get_status_display(), lead.contact_name) if part),
                amount=format_money(lead.estimated_value, lead.currency, empty=""),
            )
        )
    return hits


def sources() -> list[SearchSource]:
    return [
        SearchSource(
            key="deals.deal",
            label=_("Deals"),
            rows=_deals,
            hits=_deal_hits,
            condition=_deal_match,
            position=10,
        ),
        SearchSource(key="deals.lead", label=_("Leads"), rows=_leads, hits=_lead_hits, position=20),
    ]
