"""Partners and people in the one search box (prm.search), through the partner and membership
policies: a partner's people find their colleagues; vendor staff the partners (and their people)
they may work with."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from prm.search import SearchHit, SearchSource, tsquery
from prm.tenancy import Actor

from .policies import membership_policy, partner_policy


def _partners(actor: Actor) -> QuerySet | None:
    if not actor.is_vendor:
        return None
    return partner_policy.scope(actor).only("pk", "legal_name", "website_domain", "country", "status")


def _partner_hits(actor: Actor, partners: list[Any]) -> list[SearchHit]:
    return [
        SearchHit(
            title=partner.legal_name,
            url=reverse("vendor:partner_detail", args=[partner.pk]),
            detail=" · ".join(
                part
                for part in (partner.get_status_display(), partner.country.name, partner.website_domain)
                if part
            ),
        )
        for partner in partners
    ]


# How many matching people a vendor's search looks memberships up by (the first found).
PEOPLE_LIMIT = 500


def _people_match(actor: Actor, terms: list[str], text: str) -> Q:
    """People by their user row's vector. For vendor staff the users come first, at most
    ``PEOPLE_LIMIT`` of them, by the GIN index of prm_user (no row-level security there: a
    person's name and address, not a partner's data), then their memberships by user id — not
    every membership of every partner joined to its user and filtered one by one."""
    query = tsquery(terms)
    if actor.is_vendor:
        users = get_user_model().objects.filter(search_vector=query).order_by()
        return Q(user_id__in=list(users.values_list("pk", flat=True)[:PEOPLE_LIMIT]))
    return Q(user__search_vector=query)


def _people(actor: Actor) -> QuerySet:
    return (
        membership_policy.scope(actor)
        .filter(is_active=True)
        .select_related("user", "partner")
        .only("pk", "role", "job_title", "user__full_name", "user__email", "partner__legal_name")
    )


def _people_hits(actor: Actor, memberships: list[Any]) -> list[SearchHit]:
    hits = []
    for membership in memberships:
        if actor.is_partner:
            url = reverse("partners:team")
            where = membership.job_title or membership.get_role_display()
        else:
            url = reverse("vendor:partner_detail", args=[membership.partner_id])
            where = membership.partner.legal_name
        hits.append(
            SearchHit(
                title=membership.user.full_name or membership.user.email,
                url=url,
                detail=" · ".join(part for part in (membership.user.email, where) if part),
            )
        )
    return hits


def sources() -> list[SearchSource]:
    return [
        SearchSource(
            key="partners.partner",
            label=_("Partners"),
            rows=_partners,
            hits=_partner_hits,
            order_by=("legal_name", "pk"),
            position=5,
        ),
        SearchSource(
            key="partners.membership",
            label=_("People"),
            rows=_people,
            hits=_people_hits,
            vector="user__search_vector",
            condition=_people_match,
            order_by=("user__full_name", "pk"),
            position=40,
        ),
    ]
