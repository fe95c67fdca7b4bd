"""Channel-conflict detection at submission.

A submitted deal is compared with other partners' open registrations still inside their
protection window: the same customer domain after normalisation, or a similar company name
(PostgreSQL trigram similarity on the normalised name), weighed with overlapping products. The
evidence is stored for the reviewer; the submitting partner only learns that a possible conflict
is under review.

Two partners submitting the same customer at the same moment are serialised by a transaction
advisory lock per customer key, so the second always sees the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from prm.tenancy import system_scope

from .models import OPEN_STATUSES, CustomerKey, Deal, DealLine

# Words that say what kind of company it is, not which one.
_LEGAL_WORDS = {
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "llc",
    "llp",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "sarl",
    "srl",
    "spa",
    "bv",
    "nv",
    "oy",
    "ab",
    "as",
    "pty",
    "pte",
    "kk",
    "the",
    "group",
    "holdings",
    "holding",
}


def normalise_company_name(name: str) -> str:
    words = re.findall(r"[a-z0-9]+", (name or "").lower())
    kept = [word for word in words if word not in _LEGAL_WORDS]
    return " ".join(kept or words)


@dataclass
class Evidence:
    conflicting_deal: Deal
    domain_match: bool
    name_similarity: float
    shared_products: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        product_part = 0.2 if self.shared_products else 0.0
        return round((0.5 if self.domain_match else 0.0) + 0.3 * self.name_similarity + product_part, 3)


def lock_customer(deal: Deal) -> None:
    """Serialise submissions for the same customer (domain and normalised name) until commit."""
    keys = sorted(
        {f"domain:{deal.customer_domain}" if deal.customer_domain else "", f"name:{deal.customer_key}"}
    )
    with connection.cursor() as cursor:
        for key in filter(None, keys):
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"prm.deal-customer.{key}"]
            )


def _product_ids(deal: Deal) -> set[int]:
    return set(DealLine.objects.filter(deal=deal).values_list("product_id", flat=True))


def remember_customer(deal: Deal) -> None:
    if deal.customer_key:
        CustomerKey.objects.bulk_create([CustomerKey(key=deal.customer_key)], ignore_conflicts=True)


def similar_keys(key: str, limit: int = 50) -> list[str]:
    """Up to ``limit`` known customer keys similar to ``key`` (its own included), most similar
    first. The threshold is set for this transaction so the index does the filtering."""
    threshold = settings.PRM["DEAL_CONFLICT_NAME_SIMILARITY"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(threshold)])
    return list(
        CustomerKey.objects.filter(key__trigram_similar=key)
        .annotate(similarity=TrigramSimilarity("key", key))
        .order_by("-similarity")
        .values_list("key", flat=True)[:limit]
    )


def _candidates(deal: Deal, *, same_partner: bool, keys: list[str] | None = None) -> list[Deal]:
    # Two index lookups instead of a similarity scan over every open deal: the similar names from
    # the small name table, then deals by exact key or domain (deal_customer_key_idx, deal_domain_idx).
    if keys is None:
        keys = similar_keys(deal.customer_key) if deal.customer_key else []
    match = Q(customer_key__in=keys) if keys else Q(pk__in=[])
    if deal.customer_domain:
        match |= Q(customer_domain=deal.customer_domain)
    queryset = (
        Deal.objects.filter(match, status__in=OPEN_STATUSES)
        .filter(Q(protection_expires_at__isnull=True) | Q(protection_expires_at__gt=timezone.now()))
        .exclude(pk=deal.pk)
        .annotate(similarity=TrigramSimilarity("customer_key", deal.customer_key))
        .select_related("partner")
    )
    queryset = (
        queryset.filter(partner_id=deal.partner_id)
        if same_partner
        else queryset.exclude(partner_id=deal.partner_id)
    )
    return list(queryset.order_by("-similarity", "pk")[:20])


def own_existing_registration(deal: Deal, *, keys: list[str] | None = None) -> Deal | None:
    """The partner's own open registration for the same customer, if it has one."""
    candidates = _candidates(deal, same_partner=True, keys=keys)
    return candidates[0] if candidates else None


def find_conflicts(deal: Deal, *, keys: list[str] | None = None) -> list[Evidence]:
    """Other partners' open, protected registrations that may claim this customer.

    Runs in the vendor scope: it must read other tenants' rows, and returns them only to the
    service, never to the submitting partner.
    """
    with system_scope():
        candidates = _candidates(deal, same_partner=False, keys=keys)
        mine = _product_ids(deal)
        lines_by_deal: dict[int, set[int]] = {}
        names: dict[int, str] = {}
        for line in DealLine.objects.filter(deal__in=[c.pk for c in candidates]).select_related("product"):
            lines_by_deal.setdefault(line.deal_id, set()).add(line.product_id)
            names[line.product_id] = line.product.name
        return [
            Evidence(
                conflicting_deal=candidate,
                domain_match=bool(deal.customer_domain) and candidate.customer_domain == deal.customer_domain,
                name_similarity=round(float(candidate.similarity), 3),
                shared_products=sorted(names[pid] for pid in mine & lines_by_deal.get(candidate.pk, set())),
            )
            for candidate in candidates
        ]


def check(deal: Deal) -> tuple[Deal | None, list[Evidence]]:
    """Everything submission needs, looking the similar names up once: the partner's own open
    registration for this customer (if any; then there is nothing else to check) and the other
    partners' conflicting ones."""
    keys = similar_keys(deal.customer_key) if deal.customer_key else []
    own = own_existing_registration(deal, keys=keys)
    if own is not None:
        return own, []
    return None, find_conflicts(deal, keys=keys)
