"""Channel-conflict detection at submission.

A submitted deal is compared with other partners' open registrations still inside their
protection window: the same customer domain after normalisation, or a similar company name
(PostgreSQL trigram similarity of the names' cores, see ``deals.names``), weighed with
overlapping products. The
evidence is stored for the reviewer; the submitting partner only learns that a possible conflict
is under review.

Two partners submitting the same customer at the same moment are serialised by a transaction
advisory lock per customer key, so the second always sees the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from prm.tenancy import system_scope

from .models import OPEN_STATUSES, CustomerKey, Deal, DealLine
from .names import differ_in_accented_letters, split_company_key


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


def remember_customer(deal: Deal) -> None:
    if deal.customer_key:
        core, descriptors = split_company_key(deal.customer_key)
        CustomerKey.objects.bulk_create(
            [CustomerKey(key=deal.customer_key, core=core, descriptors=descriptors)], ignore_conflicts=True
        )


def similar_keys(key: str, limit: int = 50) -> dict[str, float]:
    """Up to ``limit`` known customer keys whose core is similar to this key's core and whose
    descriptors do not contradict it (``deals.names``), its own included, each with the trigram
    similarity of the cores, most similar first. The threshold is set for this transaction so the
    trigram index does the filtering."""
    core, descriptors = split_company_key(key)
    threshold = settings.PRM["DEAL_CONFLICT_NAME_SIMILARITY"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true)", [str(threshold)])
    candidates = CustomerKey.objects.filter(core__trigram_similar=core)
    if descriptors:
        candidates = candidates.filter(Q(descriptors=[]) | Q(descriptors__overlap=descriptors))
    rows = (
        candidates.annotate(similarity=TrigramSimilarity("core", core), whole=TrigramSimilarity("key", key))
        .order_by("-similarity", "-whole", "key")
        .values_list("key", "similarity")[:limit]
    )
    return {found: round(float(similarity), 3) for found, similarity in rows}


@dataclass
class Findings:
    """What submission needs to know: the partner's own open registration for this customer (then
    there is nothing else to check) or the other partners' conflicting ones."""

    own: Deal | None
    evidence: list[Evidence]


def find_registrations(deal: Deal, *, keys: dict[str, float], limit: int = 20) -> Findings:
    """Open registrations still inside their protection window with this customer's domain or one
    of the similar names ``keys`` (from ``similar_keys``): the partner's own first, else other
    partners' best matches.

    One query in the vendor scope (it must read other tenants' rows; it returns them only to the
    service, never to the submitting partner): the deals come by exact key or domain through
    ``deal_customer_key_idx`` / ``deal_domain_idx``, and the products both deals share are
    computed only for the rows that survive the sort and limit.
    """
    names, similarities = list(keys), list(keys.values())
    match = Q(customer_key__in=names) if names else Q(pk__in=[])
    if deal.customer_domain:
        match |= Q(customer_domain=deal.customer_domain)
    my_products = DealLine.objects.filter(deal_id=deal.pk).values("product_id")
    shared_products = ArraySubquery(
        DealLine.objects.filter(deal_id=OuterRef("pk"), product_id__in=my_products)
        .order_by()
        .values("product__name")
    )
    with system_scope():
        rows = list(
            Deal.objects.filter(match, status__in=OPEN_STATUSES)
            .filter(Q(protection_expires_at__isnull=True) | Q(protection_expires_at__gt=timezone.now()))
            .exclude(pk=deal.pk)
            .annotate(
                is_own=ExpressionWrapper(Q(partner_id=deal.partner_id), output_field=BooleanField()),
                # The similarity of the names as similar_keys measured it (0 for a domain-only match).
                similarity=RawSQL(
                    "coalesce((%s::float8[])[array_position(%s::text[], customer_key::text)], 0)",
                    (similarities, names),
                ),
                shared_products=shared_products,
            )
            .only(
                "id", "partner_id", "reference", "status", "customer_name", "customer_domain", "customer_key"
            )
            .order_by("-is_own", "-similarity", "pk")[:limit]
        )
    # Names one accented letter apart ("Müller" / "Möller") are two companies, unless the domain
    # says they are one.
    rows = [
        row
        for row in rows
        if (deal.customer_domain and row.customer_domain == deal.customer_domain)
        or not differ_in_accented_letters(row.customer_name, deal.customer_name)
    ]
    if rows and rows[0].is_own:
        return Findings(own=rows[0], evidence=[])
    return Findings(
        own=None,
        evidence=[
            Evidence(
                conflicting_deal=row,
                domain_match=bool(deal.customer_domain) and row.customer_domain == deal.customer_domain,
                name_similarity=round(float(row.similarity), 3),
                shared_products=sorted(set(row.shared_products)),
            )
            for row in rows
        ],
    )


def check(deal: Deal) -> Findings:
    """Everything submission needs; call it under ``lock_customer``."""
    keys = similar_keys(deal.customer_key) if deal.customer_key else {}
    return find_registrations(deal, keys=keys)
