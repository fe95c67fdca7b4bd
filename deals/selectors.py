"""Reads for deals, the review queue, leads and pipeline reports; every one goes through the
policies' scope."""

from __future__ import annotations

import time as monotonic_clock
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    CharField,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from partners.models import Region
from partners.policies import business_scope_q, partner_policy, sees_partner_business, vendor_sees_all
from prm import catalogue_cache
from prm.kept import Kept
from prm.models import reporting_rates
from prm.money import Rates, quantize
from prm.pagination import COUNT_CAP
from prm.statements import Prepared, Statement
from prm.tenancy import Actor, system_scope

from . import names, pipeline
from .models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    ConflictStatus,
    CustomerKey,
    Deal,
    DealConflict,
    DealExtensionRequest,
    DealLine,
    DealRollup,
    DealStage,
    DealStatus,
    Lead,
    LeadOffer,
    LeadStatus,
    VendorRollup,
)
from .policies import conflict_policy, deal_policy, extension_policy, lead_policy

ZERO = Value(0, output_field=DecimalField(max_digits=16, decimal_places=2))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# How many customer names a vendor search looks deals up by; a word more common than that is
# searched by walking the list instead (it finds a page of matches early).
SEARCH_KEYS = 500


# A channel account manager's list is read whole and sorted (the portfolio's deals: 42,000 for
# 500 partners on the benchmark data). Row-level security makes PostgreSQL expect one row from
# every table, so it joined each of those deals to its partner for a tier or region, and read
# each one's heap row for a customer name (0.5-1.5 s). Those filters are first turned into
# candidate ids, at most this many, read from the small side (the portfolio's partners of that
# tier or region, the deals of the matching names); more than that, and the filter stays a join.
NARROW_IDS = 5_000


def _candidates(ids: QuerySet) -> list[Any] | None:
    """The ids of ``ids`` (a values_list), or None when there are more than NARROW_IDS."""
    found = list(ids[: NARROW_IDS + 1])
    return None if len(found) > NARROW_IDS else found


def narrows_by_ids(actor: Actor) -> bool:
    """Whether this actor's deal lists turn filters into candidate ids first: a vendor held to a
    portfolio (a channel account manager)."""
    return actor.is_vendor and actor.portfolio is not None


def vendor_search(search: str, *, narrow: bool = False) -> Q:
    """A vendor's search over every partner's deals: the exact reference, the exact website
    domain, or a customer whose name contains the words typed. Through indexes only: under
    row-level security PostgreSQL uses no index for ILIKE (the operator is not leakproof), so a
    substring match over a million deals read them all (seconds). The customer names come from
    the conflict check's name table (deals_customerkey, trigram-indexed, no tenant data), then
    the deals by their exact key."""
    condition = Q(reference=search.upper())
    if "." in search and " " not in search:
        condition |= Q(customer_domain=search.lower().removeprefix("www."))
    name = names.normalise_company_name(search)
    if name:
        matching = CustomerKey.objects.filter(key__contains=name)
        keys = list(matching.values_list("key", flat=True)[: SEARCH_KEYS + 1])
        if len(keys) > SEARCH_KEYS and narrow:
            # A portfolio's list (narrow): the deals of those names first, by the name index
            # (row-level security leaves the portfolio's; the list keeps its own scope on top).
            ids = _candidates(
                Deal.objects.filter(customer_key__in=matching.values("key")).values_list("pk", flat=True)
            )
            condition |= Q(pk__in=ids) if ids is not None else Q(customer_key__in=matching.values("key"))
        elif len(keys) > SEARCH_KEYS:
            condition |= Q(customer_key__in=matching.values("key"))
        elif keys:
            condition |= Q(customer_key__in=keys)
    return condition


def _filter_deals(
    queryset: QuerySet[Deal],
    filters: dict[str, Any],
    *,
    indexed_search: bool = False,
    narrow: Actor | None = None,
) -> QuerySet[Deal]:
    """``narrow``: the actor of a portfolio's list, whose tier, region and name filters become
    candidate ids first (see NARROW_IDS) and whose product filter reads the portfolio's lines."""
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("stage"):
        queryset = queryset.filter(stage=filters["stage"])
    if filters.get("partner"):
        queryset = queryset.filter(partner_id=filters["partner"])
    partners = Q()
    if filters.get("tier"):
        partners &= Q(tier_id=filters["tier"])
    if filters.get("region"):
        partners &= Q(region=filters["region"])
    if partners and narrow is not None:
        # The portfolio's partners of that tier or region (a few hundred at most), then their deals.
        ids = _candidates(partner_policy.scope(narrow).filter(partners).values_list("pk", flat=True))
        if ids is not None:
            queryset = queryset.filter(partner_id__in=ids)
            partners = Q()
    if partners:
        queryset = queryset.filter(**{f"partner__{key}": value for key, value in partners.children})
    if filters.get("product"):
        lines = DealLine.objects.filter(product_id=filters["product"])
        if narrow is not None:
            # The portfolio's lines of the product only: PostgreSQL then reads them from
            # dealline_product_partner_idx (a few thousand) and fetches their deals, rather than
            # scanning every line of the product (deals 0016).
            lines = lines.filter(partner_id__in_ids=narrow.portfolio)
        # EXISTS, not a join and DISTINCT: the list then still walks its ordering index and stops
        # after a page, where DISTINCT sorted every matching deal (a million for the vendor).
        queryset = queryset.filter(Exists(lines.filter(deal_id=OuterRef("pk"))))
    # Dates as a range of the timestamp (the first moment of the day, in the current time zone),
    # not created_at::date, so the (created_at, id) indexes serve them.
    if filters.get("created_from"):
        queryset = queryset.filter(created_at__gte=_day_start(filters["created_from"]))
    if filters.get("created_to"):
        queryset = queryset.filter(created_at__lt=_day_start(filters["created_to"] + timedelta(days=1)))
    # The pipeline's whole months (deals.pipeline keeps figures by month of registration).
    if filters.get("month_from"):
        queryset = queryset.filter(created_at__gte=_day_start(filters["month_from"].replace(day=1)))
    if filters.get("month_to"):
        following = (filters["month_to"].replace(day=1) + timedelta(days=31)).replace(day=1)
        queryset = queryset.filter(created_at__lt=_day_start(following))
    search = (filters.get("q") or "").strip()
    if search and indexed_search:
        queryset = queryset.filter(vendor_search(search, narrow=narrow is not None))
    elif search:
        queryset = queryset.filter(
            Q(customer_name__icontains=search)
            | Q(reference__iexact=search)
            | Q(customer_domain__icontains=search)
            | Q(title__icontains=search)
        )
    return queryset


def _narrow(actor: Actor) -> Actor | None:
    return actor if narrows_by_ids(actor) else None


def deal_list(*, actor: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Deal]:
    queryset = deal_policy.scope(actor).select_related("partner", "partner__tier", "registered_by")
    # A partner searches its own deals, drafts too (whose names the name table does not hold).
    return _filter_deals(
        queryset, filters or {}, indexed_search=actor.is_vendor, narrow=_narrow(actor)
    ).order_by("-created_at", "-pk")


# The filters of the vendor's deal list that the vendor-wide figures keep (deals.models.
# VendorRollup: a product's deals by status, stage, tier and region).
ROLLUP_COUNTED_FILTERS = frozenset({"product", "status", "stage", "tier", "region"})


def vendor_deal_count(*, actor: Actor, filters: dict[str, Any]) -> int | None:
    """How many deals the program's list holds with a product chosen, from the maintained figures
    (VendorRollup's rows of the product plus the changes not folded yet, through the same policy
    and row-level security as the pipeline), or None where they cannot say (another filter, or an
    actor who does not see every partner). Counting the deals that have a line of the product
    probed 10,000 deals' lines (240-280 ms); the figures hold exactly that number: a deal counts
    once per product it has lines of, drafts never."""
    if not filters.get("product") or not set(filters) <= ROLLUP_COUNTED_FILTERS:
        return None
    if not (actor.is_vendor and vendor_sees_all(actor) and sees_partner_business(actor)):
        return None
    keys = {name: filters[name] for name in ("status", "stage", "region") if filters.get(name)}
    if filters.get("tier"):
        keys["tier_id"] = filters["tier"]
    condition = Q(product_id=filters["product"], **keys) & ~Q(status=DealStatus.DRAFT)
    sql, params = pipeline._union(
        VendorRollup.objects.filter(condition).values_list("deals"),
        DealRollup.objects.filter(condition, folded=False).values_list("deals"),
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(sum(deals), 0) FROM ({sql}) figures (deals)", params)  # noqa: S608
        return int(cursor.fetchone()[0])


def partner_deal_list(*, actor: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Deal]:
    """The partner's own deal list page: every row is the actor's partner's, so the rows come
    without their partner and tier (a join, under row-level security, to two more tables for each
    page); the registrant is shown to partner admins."""
    queryset = deal_policy.scope(actor).select_related("registered_by")
    return _filter_deals(queryset, filters or {}).order_by("-created_at", "-pk")


class PartnerDealRow(NamedTuple):
    """A deal as the partner's deal list shows it (a row of its table, an entry of its "Expiring
    soon" box): the columns the page prints, read as a tuple. A Deal per row (46 columns, its
    registrant's 16 more, a dozen timestamps to parse, a model to build) was a quarter of the
    page's CPU."""

    pk: int
    partner_id: int  # the partner whose deal it is (not shown; what the isolation tests check)
    reference: str
    customer_name: str
    customer_domain: str
    title: str
    amount: Decimal
    currency: str
    status: str
    conflict_status: str
    stage: str
    expected_close_date: date | None
    protection_expires_at: datetime | None
    registrant_name: str
    registrant_email: str

    @property
    def protected_until(self) -> datetime | None:
        """As Deal.protected_until: none once the deal is won or lost."""
        return None if self.status in CLOSED_STATUSES else self.protection_expires_at

    @property
    def registrant(self) -> str:
        return self.registrant_name or self.registrant_email


# PartnerDealRow's fields, in its order, as the ORM names them.
_PARTNER_DEAL_ROW_COLUMNS = (
    "id",
    *PartnerDealRow._fields[1:-2],
    "registered_by__full_name",
    "registered_by__email",
)


def _partner_deal_rows(actor: Actor, keys: QuerySet[Deal]) -> QuerySet[Deal]:
    """The rows (PartnerDealRow's columns) of the deals whose keys ``keys`` reads, through the
    policy's scope."""
    return deal_policy.scope(actor).filter(pk__in=keys).values_list(*_PARTNER_DEAL_ROW_COLUMNS)


# The deal list's "Expiring soon" box.
EXPIRING_SHOWN = 5


def _partner_deal_page(
    actor: Actor, *, now: datetime, until: datetime, bottom: int, top: int, **filters: str | None
) -> QuerySet[Deal]:
    """The rows of the deal list's page ``[bottom:top]`` (``filters`` applied, in the list's order),
    each ending in False, then those of the "Expiring soon" box, each ending in True: a UNION ALL of
    two parts, each the rows of the deals whose keys its subquery reads (keys first, as
    KeysFirstPaginator reads them: an index-only scan that stops after the page, then the rows by
    primary key), each part in its own order."""
    expiring = expiring_soon(actor=actor, now=now, until=until).order_by("protection_expires_at", "pk")
    box = (
        _partner_deal_rows(actor, expiring.values("pk")[:EXPIRING_SHOWN])
        .order_by("protection_expires_at", "pk")
        .values_list(*_PARTNER_DEAL_ROW_COLUMNS, Value(True))
    )
    if top <= bottom:
        return box
    filters = {name: value for name, value in filters.items() if value}
    listed = partner_deal_list(actor=actor, filters=filters)
    page = (
        _partner_deal_rows(actor, listed.values("pk")[bottom:top])
        .order_by(*listed.query.order_by)
        .values_list(*_PARTNER_DEAL_ROW_COLUMNS, Value(False))
    )
    return page.union(box, all=True)


# Compiled once per shape (prm.statements): building the page's statement through the ORM was a
# third of the page's CPU. One statement where the page's keys and its rows were two.
_PARTNER_DEAL_PAGE = Statement(
    "deals.partner_deal_page", _partner_deal_page, values=["now", "until", "q", "status", "stage"]
)

# The "Expiring soon" box's window.
EXPIRING_DAYS = 14


def partner_deal_page(
    *, actor: Actor, filters: dict[str, Any], bottom: int, top: int, now: datetime | None = None
) -> tuple[list[PartnerDealRow], list[PartnerDealRow]]:
    """The partner deal list's rows ``[bottom:top]`` (``filters`` applied, in the list's order) and
    the first EXPIRING_SHOWN approved deals whose protection ends within EXPIRING_DAYS whatever the
    filters (soonest first), as PartnerDealRow: one statement."""
    now = now or timezone.now()
    rows = _PARTNER_DEAL_PAGE.rows(
        actor,
        now=now,
        until=now + timedelta(days=EXPIRING_DAYS),
        bottom=bottom,
        top=top,
        q=filters.get("q") or None,
        status=filters.get("status") or None,
        stage=filters.get("stage") or None,
    )
    page: list[PartnerDealRow] = []
    expiring: list[PartnerDealRow] = []
    for *columns, in_box in rows:
        (expiring if in_box else page).append(PartnerDealRow._make(columns))
    # Each part comes in its own order (PostgreSQL appends the parts of a UNION ALL as they are);
    # the box's is sorted again, as cheap as it is certain.
    expiring.sort(key=lambda deal: (deal.protection_expires_at, deal.pk))
    return page, expiring


def deal_get(*, actor: Actor, pk: Any) -> Deal:
    return deal_policy.get_or_404(
        actor,
        Deal.objects.select_related(
            "partner", "partner__tier", "registered_by", "reviewed_by"
        ).prefetch_related("lines__product"),
        pk=pk,
    )


def review_queue(*, actor: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Deal]:
    """Submitted deals of the partners this reviewer works, oldest first (the SLA clock)."""
    if not actor.is_vendor:
        return Deal.objects.none()
    queryset = deal_policy.scope(actor).filter(status=DealStatus.SUBMITTED)
    return (
        _filter_deals(queryset, filters or {}, indexed_search=True, narrow=_narrow(actor))
        .select_related("partner", "partner__tier", "registered_by")
        .order_by("submitted_at", "pk")
    )


def _capped_sql(queryset: QuerySet, *columns: str) -> tuple[str, list[Any]]:
    """The ORM's SQL of the first COUNT_CAP + 1 rows of ``queryset`` (``columns``, or the key),
    its values apart as parameters."""
    sql, params = queryset.values(*(columns or ("pk",)))[: COUNT_CAP + 1].query.sql_with_params()
    return sql, list(params)


def review_counts(*, actor: Actor, now: datetime) -> dict[str, Any]:
    """What waits for the vendor's reviewers, each counted up to COUNT_CAP (``more``: the names
    of the figures that go past it): submitted deals (``waiting``), those past their SLA
    (``overdue``) or with a possible conflict (``conflicts``), and reported wins to confirm
    (``wins_waiting``). One statement; a second for the overdue ones when the submitted deals
    pass the cap.

    Counted in full, these read every submitted deal's entry of the review queue's index on each
    dashboard request (150,000 at a million deals: 130-190 ms); capped, each stops after COUNT_CAP
    + 1 matches, as the review queue's own count does. The overdue ones are counted in the same
    pass as the submitted ones (all of them while those are under the cap: a portfolio's, from
    deal_partner_review_due_idx); past it, on their own, and the oldest submissions, first in the
    queue's index, are the overdue ones. The possible conflicts have their own small index
    (deal_conflict_review_idx)."""
    figures = ("waiting", "overdue", "conflicts", "wins_waiting")
    if not actor.is_vendor:
        return {**dict.fromkeys(figures, 0), "more": []}
    deals = deal_policy.scope(actor).order_by()
    submitted = deals.filter(status=DealStatus.SUBMITTED)
    try:
        queue_sql, params = _capped_sql(submitted, "pk", "review_due_at")
        conflicts_sql, more = _capped_sql(submitted.filter(conflict_status=ConflictStatus.UNDER_REVIEW))
        wins_sql, most = _capped_sql(deals.filter(status=DealStatus.WON_PENDING))
    except EmptyResultSet:
        # A scope that can match nothing (a channel account manager with no partners yet: the
        # policy's partner_id IN ()) has no SQL; the ORM would answer such a count with 0 unasked.
        return {**dict.fromkeys(figures, 0), "more": []}
    # The ORM's own SQL, its values passed apart as parameters.
    sql = f"""SELECT queue.waiting, queue.overdue,
                     (SELECT count(*) FROM ({conflicts_sql}) conflicts),
                     (SELECT count(*) FROM ({wins_sql}) wins)
                FROM (SELECT count(*) AS waiting, count(*) FILTER (WHERE review_due_at < %s) AS overdue
                        FROM ({queue_sql}) submitted) queue"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*more, *most, now, *params])
        counts = dict(zip(figures, cursor.fetchone(), strict=True))
        if counts["waiting"] > COUNT_CAP:
            # Past the cap, the overdue ones among the first submitted deals are not all of them.
            overdue_sql, params = _capped_sql(submitted.filter(review_due_at__lt=now))
            cursor.execute(f"SELECT count(*) FROM ({overdue_sql}) overdue", params)  # noqa: S608
            counts["overdue"] = cursor.fetchone()[0]
    return {
        **{name: min(n, COUNT_CAP) for name, n in counts.items()},
        "more": [name for name, n in counts.items() if n > COUNT_CAP],
    }


def won_queue(*, actor: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Deal]:
    """Wins reported outside what was registered, waiting for the vendor's confirmation, of the
    partners this reviewer works; the oldest report first."""
    if not actor.is_vendor:
        return Deal.objects.none()
    queryset = deal_policy.scope(actor).filter(status=DealStatus.WON_PENDING)
    return (
        _filter_deals(queryset, filters or {}, indexed_search=True, narrow=_narrow(actor))
        .select_related("partner", "partner__tier", "registered_by")
        .order_by("won_claimed_at", "pk")
    )


def conflicts_for(*, actor: Actor, deal: Deal) -> list[DealConflict]:
    """The evidence, for reviewers only (vendor-only rows)."""
    if not (actor.is_vendor and deal_policy.can(actor, "review", deal)):
        return []
    with system_scope():
        return list(
            DealConflict.objects.filter(deal=deal)
            .select_related("conflicting_deal", "conflicting_deal__partner", "resolved_by")
            .prefetch_related("conflicting_deal__lines__product")
        )


def conflict_get(*, actor: Actor, pk: Any) -> DealConflict:
    """A conflict the actor may resolve; anyone else's, or none, is the same 404."""
    with system_scope():
        return conflict_policy.get_or_404(
            actor, DealConflict.objects.select_related("deal", "deal__partner"), pk=pk
        )


def extension_requests(*, actor: Actor, deal: Deal) -> QuerySet[DealExtensionRequest]:
    return extension_policy.scope(actor).filter(deal=deal).select_related("requested_by", "reviewed_by")


def pending_extensions(*, actor: Actor) -> QuerySet[DealExtensionRequest]:
    return (
        extension_policy.scope(actor)
        .filter(status="pending")
        .select_related("deal", "deal__partner", "requested_by")
    )


def extension_get(*, actor: Actor, pk: Any) -> DealExtensionRequest:
    """An extension request of a deal the actor sees; anything else is the same 404."""
    return extension_policy.get_or_404(actor, DealExtensionRequest.objects.select_related("deal"), pk=pk)


# --- Leads ----------------------------------------------------------------------------------------
def lead_list(*, actor: Actor, status: str = "") -> QuerySet[Lead]:
    queryset = lead_policy.scope(actor).select_related("assigned_partner", "deal")
    if status:
        queryset = queryset.filter(status=status)
    return (
        queryset.order_by("respond_by", "-created_at", "-pk")
        if actor.is_partner
        else queryset.order_by("-created_at", "-pk")
    )


def lead_get(*, actor: Actor, pk: Any) -> Lead:
    return lead_policy.get_or_404(actor, Lead.objects.select_related("assigned_partner", "deal"), pk=pk)


def lead_offers(*, actor: Actor, lead: Lead) -> QuerySet[LeadOffer]:
    if not actor.is_vendor:
        return LeadOffer.objects.none()
    return (
        LeadOffer.objects.filter(lead=lead).select_related("partner", "responded_by").order_by("offered_at")
    )


# --- Reporting ---------------------------------------------------------------------------------
def _in_reporting_currency(
    rows: list[dict[str, Any]], group: tuple[str, ...], rates: Rates, unconverted: set[str]
) -> list[dict[str, Any]]:
    """Rows grouped by ``group`` and currency, folded into one row per group with the values in
    the reporting currency (exact Decimals, rounded once at the end). Amounts in a currency without
    a rate stay out of the values and the currency is reported in ``unconverted``; their deals are
    still counted."""
    folded: dict[tuple, dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[name] for name in group)
        entry = folded.setdefault(
            key, {**{name: row[name] for name in group}, "count": 0, "value": Decimal(0), "won": Decimal(0)}
        )
        entry["count"] += row["count"]
        value = rates.convert(row["value"], row["currency"])
        if value is None:
            unconverted.add(row["currency"])
            continue
        entry["value"] += value
        entry["won"] += rates.convert(row.get("won") or Decimal(0), row["currency"])
    for entry in folded.values():
        entry["value"] = quantize(entry["value"], rates.currency)
        entry["won"] = quantize(entry["won"], rates.currency)
    return list(folded.values())


def _totals(queryset: QuerySet[Deal], *group: str) -> list[dict[str, Any]]:
    return list(
        queryset.order_by()
        .values(*group, "currency")
        .annotate(
            count=Count("pk"),
            value=Coalesce(Sum("amount"), ZERO),
            won=Coalesce(Sum("won_amount", filter=Q(status=DealStatus.WON)), ZERO),
        )
        .order_by(*group, "currency")
    )


def pipeline_report(
    *,
    actor: Actor,
    filters: dict[str, Any] | None = None,
    partners: int | None = 10,
    partners_offset: int = 0,
    partner_search: str = "",
) -> dict[str, Any]:
    """Aggregates for the pipeline pages: a fixed number of queries whatever the row count.
    Values are in the reporting currency (``report["currency"]``), converted at the vendor's
    exchange rates; ``report["unconverted"]`` lists currencies that have no rate. Read from the
    maintained figures (deals.pipeline) for everyone they are kept for; the vendor's ranking of
    partners is ``partners`` long (None: all) from ``partners_offset``, ``report["partner_count"]``
    partners in all (those named like ``partner_search``)."""
    if pipeline.uses_rollup(actor):
        return pipeline.pipeline_report(
            actor=actor,
            filters=filters,
            partners=partners,
            partners_offset=partners_offset,
            partner_search=partner_search,
        )
    return live_pipeline_report(actor=actor, filters=filters)


def live_pipeline_report(*, actor: Actor, filters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pipeline report summed from the deals themselves: for a partner's sales user (their own
    registrations, which no maintained figure is kept for), and the reference the figures are
    tested against."""
    deals = _filter_deals(deal_policy.scope(actor), filters or {})
    rates = reporting_rates()
    unconverted: set[str] = set()

    def convert(rows: list[dict[str, Any]], *group: str) -> list[dict[str, Any]]:
        return _in_reporting_currency(rows, group, rates, unconverted)

    by_month = convert(
        list(
            deals.order_by()
            .annotate(month=TruncMonth("created_at"))
            .values("month", "currency")
            .annotate(count=Count("pk"), value=Coalesce(Sum("amount"), ZERO))
            .order_by("month", "currency")
        ),
        "month",
    )
    report: dict[str, Any] = {
        "by_status": convert(_totals(deals, "status"), "status"),
        "by_stage": convert(_totals(deals.filter(status__in=OPEN_STATUSES), "stage"), "stage"),
        "by_month": [
            {**row, "month": row["month"].date().isoformat()[:7] if row["month"] else ""} for row in by_month
        ],
        "currencies": sorted(set(deals.order_by().values_list("currency", flat=True).distinct())),
    }
    if actor.is_vendor:
        report["by_partner"] = convert(_totals(deals, "partner__legal_name"), "partner__legal_name")
        report["partner_count"] = report["partner_matches"] = len(report["by_partner"])
        report["top_partners"] = sorted(report["by_partner"], key=lambda row: row["value"], reverse=True)[:10]
        report["by_tier"] = convert(_totals(deals, "partner__tier__name"), "partner__tier__name")
        report["by_region"] = convert(_totals(deals, "partner__region"), "partner__region")
        by_product = convert(
            list(
                DealLine.objects.filter(deal__in=deals.values("pk"))
                .order_by()
                .values("product__name", currency=F("deal__currency"))
                .annotate(count=Count("deal", distinct=True), value=Coalesce(Sum("amount"), ZERO))
                .order_by("product__name", "currency")
            ),
            "product__name",
        )
        for row in by_product:
            row.pop("won")  # a line has no won amount
        report["by_product"] = sorted(by_product, key=lambda row: row["value"], reverse=True)
    report["currency"] = rates.currency
    report["unconverted"] = sorted(unconverted)
    return report


def expiring_soon(
    *, actor: Actor, within_days: int = 14, now: datetime | None = None, until: datetime | None = None
) -> QuerySet[Deal]:
    """Approved deals whose protection ends after ``now`` and by ``until`` (``within_days`` later)."""
    now = now or timezone.now()
    return (
        deal_policy.scope(actor)
        .filter(
            status=DealStatus.APPROVED,
            protection_expires_at__gt=now,
            protection_expires_at__lte=until or now + timedelta(days=within_days),
        )
        .order_by("protection_expires_at")
    )


def rollup_counts_exact(actor: Actor) -> bool:
    """Whether ``actor`` sees every deal of one partner and nothing else (a partner's admin), so
    that the partner's maintained figures (deals.rollup) count exactly the deals it sees. A sales
    user sees only their own registrations, which no figure is kept for."""
    return actor.is_partner and pipeline.uses_rollup(actor)


def _rollup_status_counts(actor: Actor) -> dict[str, int]:
    """The partner's deals by status from its DealRollup rows, folded or not (their sum is exact at
    every moment: the triggers write each change in the change's own transaction). Counting the
    deals themselves was a GROUP BY over every deal of the partner (20,157 for the busiest one on
    the benchmark data); these are the partner's rows by status, stage, currency and month (a few
    hundred to a few thousand), read by dealrollup_partner_idx. Scoped as the deals are: the deal
    policy's condition for a partner's admin is the partner's column, which these rows carry too
    (and row-level security holds them to it as well)."""
    return {status: int(n) for status, n in _ROLLUP_STATUS_COUNTS.rows(actor) if n}


def _rollup_status_rows(actor: Actor) -> QuerySet[DealRollup]:
    return (
        DealRollup.objects.filter(deal_policy.visible(actor), product__isnull=True)
        .order_by()
        .values("status")
        .annotate(n=Sum("deals"))
        .values_list("status", "n")
    )


_ROLLUP_STATUS_COUNTS = Statement("deals.rollup_status_counts", _rollup_status_rows)


def deal_counts(*, actor: Actor) -> dict[str, int]:
    """The actor's deals by status (statuses with none left out)."""
    if rollup_counts_exact(actor):
        return _rollup_status_counts(actor)
    # Count("*"), not Count("pk"): PostgreSQL can answer from deal_partner_status_idx alone.
    rows = deal_policy.scope(actor).order_by().values("status").annotate(n=Count("*"))
    return {row["status"]: row["n"] for row in rows}


# The kinds of row of the home's figures (partner_home_figures): the union's first column.
_SOON, _LEADS, _BY_STATUS = 1, 2, 3


def _partner_home_figure_rows(actor: Actor, *, now: datetime, until: datetime) -> QuerySet:
    """The rows of partner_home_figures, as (kind, status, n, first). Each part is the ORM's own
    read through its policy's scope: the approved deals losing their protection after ``now`` and
    by ``until``, and the leads offered, one aggregate row each (there even when nothing matches);
    then the deals by status, a row per status (as :func:`deal_counts`)."""
    no_status = Value("", output_field=CharField())
    soon = (
        expiring_soon(actor=actor, now=now, until=until)
        .order_by()
        .values(kind=Value(_SOON), label=no_status)
        .annotate(n=Count("*"), first=Min("protection_expires_at"))
        .values_list("kind", "label", "n", "first")
    )
    leads = (
        lead_policy.scope(actor)
        .filter(status=LeadStatus.OFFERED)
        .order_by()
        .values(kind=Value(_LEADS), label=no_status)
        .annotate(n=Count("*"), first=Min("respond_by"))
        .values_list("kind", "label", "n", "first")
    )
    if rollup_counts_exact(actor):
        deals: QuerySet = DealRollup.objects.filter(deal_policy.visible(actor), product__isnull=True)
        counted: Any = Sum("deals")
    else:
        # Count("*"), not Count("pk"): PostgreSQL can answer from deal_partner_status_idx alone.
        deals, counted = deal_policy.scope(actor), Count("*")
    by_status = (
        deals.order_by()
        .values(kind=Value(_BY_STATUS), label=F("status"))
        .annotate(n=counted, first=Value(None, output_field=DateTimeField()))
        .values_list("kind", "label", "n", "first")
    )
    return soon.union(leads, by_status, all=True)


# Compiled once per shape (prm.statements): building and compiling the three parts through the
# ORM was about a sixth of the home's CPU.
_PARTNER_HOME_FIGURES = Statement(
    "deals.partner_home_figures", _partner_home_figure_rows, values=["now", "until"]
)


def partner_home_figures(
    *, actor: Actor, within_days: int = 14, now: datetime | None = None
) -> dict[str, Any]:
    """What the partner home's deals panel shows, in one statement: the deals by status
    (``counts``, as :func:`deal_counts`), how many approved ones lose their protection within
    ``within_days`` (``expiring``, as ``expiring_soon(...).count()``), and the leads offered to the
    partner waiting for an answer (``leads``) with the earliest answer due (``leads_due``).

    One round trip instead of three: each part is the ORM's own query through its policy's scope,
    in a UNION ALL (``now`` and the window's end are values of the kept statement, not computed
    inside it)."""
    now = now or timezone.now()
    rows = _PARTNER_HOME_FIGURES.rows(actor, now=now, until=now + timedelta(days=within_days))
    figures: dict[str, Any] = {"counts": {}, "expiring": 0, "leads": 0, "leads_due": None}
    for kind, status, n, first in rows:
        if kind == _SOON:
            figures["expiring"] = int(n)
        elif kind == _LEADS:
            figures["leads"], figures["leads_due"] = int(n), first
        elif n:
            figures["counts"][status] = int(n)
    return figures


# --- The vendor's deal lists as kept statements (prm.statements) ---------------------------------
# The review queue and the program's deal list read a page in three statements: the capped count,
# the page's keys in the list's order, and those rows. Built through the ORM on every request they
# were a fifth of each page's CPU; kept, each is its SQL sent again with the call's values. The SQL
# is the one the ORM builds for the same list (deals.vendor_views' paginators used to build it).

# The filters a kept statement takes as values. Any other filter builds the queryset each time: a
# search reads the name table first (vendor_search), the dates become moments, and a channel
# account manager's tier or region becomes candidate ids read by a query of their own.
KEPT_FILTERS = frozenset({"partner", "status", "stage", "tier", "region", "product"})


def kept_filters(actor: Actor, filters: dict[str, Any], allowed: frozenset[str]) -> dict[str, Any] | None:
    """``filters`` as the vendor lists' kept statements take them, or None where they cannot."""
    if not set(filters) <= allowed:
        return None
    if narrows_by_ids(actor) and (filters.get("tier") or filters.get("region")):
        return None
    return {name: filters.get(name) or None for name in allowed}


def _shown_filters(filters: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in filters.items() if value is not None}


class ListStatements:
    """A vendor list's three kept statements: ``count`` (its rows, up to COUNT_CAP + 1), ``keys``
    (the keys of rows ``[bottom:top]`` in the list's order) and ``rows`` (``columns`` of the rows
    of ``keys``, through the list's own scope and condition, unfiltered and unordered; or
    ``read_rows(actor, keys)``'s, where the list reads its page's rows its own way).
    ``count_from_figures``: see :func:`review_queue_length`."""

    def __init__(
        self,
        name: str,
        listing: Any,
        columns: tuple[str, ...],
        filters: frozenset[str],
        *,
        read_rows: Callable[[Actor, list[int]], QuerySet] | None = None,
        count_from_figures: Callable[..., Prepared | None] | None = None,
        newest_first: bool = False,
    ) -> None:
        self.listing = listing  # listing(actor=..., filters=...): the list's queryset
        self.filters = filters
        values = sorted(filters)

        def counted(actor: Actor, **filters: Any) -> QuerySet:
            return (
                listing(actor=actor, filters=_shown_filters(filters))
                .order_by()
                .values_list("pk")[: COUNT_CAP + 1]
            )

        def keys(actor: Actor, *, bottom: int, top: int, **filters: Any) -> QuerySet:
            return listing(actor=actor, filters=_shown_filters(filters)).values_list("pk")[bottom:top]

        def rows(actor: Actor, keys: list[int]) -> QuerySet:
            return listing(actor=actor).filter(pk__in_ids=keys).order_by().values_list(*columns)

        def walked_keys(actor: Actor, *, bottom: int, top: int, since: datetime, **filters: Any) -> QuerySet:
            listed = listing(actor=actor, filters=_shown_filters(filters))
            return listed.filter(created_at__gte=since).values_list("pk")[bottom:top]

        self.count = Statement(f"{name}.count", counted, values=values, count=True)
        # ``newest_first`` (a list ordered by created_at, newest first): ``walked_keys``, the keys
        # of the rows created since a moment (deals.vendor_views.KeptListPaginator's bounded walk).
        self.walked_keys = (
            Statement(f"{name}.walked_keys", walked_keys, values=[*values, "since"]) if newest_first else None
        )
        self.keys = Statement(f"{name}.keys", keys, values=values)
        self.rows = Statement(f"{name}.rows", read_rows or rows, values=["keys"])
        # ``count_from_figures(actor, **filters)``: the list's exact length from the maintained
        # figures, unsent, where they hold it (else None: the count statement counts).
        self.count_from_figures = count_from_figures


def _label(choices: Any, value: str) -> str:
    """A choice's label, as get_FOO_display gives it (the value itself when not a choice)."""
    return str(dict(choices.choices).get(value, value))


class _Shown:
    """What a row says of its partner and the partner's tier, as a Deal's ``partner.legal_name``
    and ``partner.tier.name`` (for templates written for Deal instances)."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


class ReviewRow(NamedTuple):
    """A submitted deal as the review queue shows it: the columns of its row, read as a tuple."""

    pk: int
    partner_id: int
    reference: str
    customer_name: str
    customer_domain: str
    conflict_status: str
    amount: Decimal
    currency: str
    submitted_at: datetime | None
    review_due_at: datetime | None
    partner_name: str
    tier_name: str | None

    @property
    def partner(self) -> _Shown:
        return _Shown(pk=self.partner_id, legal_name=self.partner_name, tier=_Shown(name=self.tier_name))


class VendorDealRow(NamedTuple):
    """A deal as the program's deal list shows it: the columns of its row, read as a tuple."""

    pk: int
    partner_id: int
    reference: str
    customer_name: str
    customer_domain: str
    conflict_status: str
    amount: Decimal
    currency: str
    status: str
    stage: str
    created_at: datetime
    protection_expires_at: datetime | None
    partner_name: str
    partner_region: str
    tier_name: str | None

    @property
    def partner(self) -> _Shown:
        return _Shown(
            pk=self.partner_id,
            legal_name=self.partner_name,
            region=self.partner_region,
            get_region_display=lambda: _label(Region, self.partner_region),
            tier=_Shown(name=self.tier_name),
        )

    # As a Deal's (for templates written for Deal instances; the page's own uses label maps).
    def get_status_display(self) -> str:
        return _label(DealStatus, self.status)

    def get_stage_display(self) -> str:
        return _label(DealStage, self.stage)

    @property
    def protected_until(self) -> datetime | None:
        """As Deal.protected_until: none once the deal is won or lost."""
        return None if self.status in CLOSED_STATUSES else self.protection_expires_at


def _columns(row: type, *related: str) -> tuple[str, ...]:
    """A row type's fields as the ORM names them: ``id``, the deal's own, then ``related``."""
    return ("id", *row._fields[1 : len(row._fields) - len(related)], *related)


_REVIEW_QUEUE_COLUMNS = _columns(ReviewRow, "partner__legal_name", "partner__tier__name")


def _review_queue_rows(actor: Actor, keys: list[int]) -> QuerySet:
    """The review queue's rows of ``keys`` (the page's keys, just read from the queue).

    For a vendor user who sees every partner, each deal by its key, through the deal policy's
    scope, with its partner's name and tier read per row through the partner policy's scope (a
    deal this actor sees is of a partner it sees). Joined to the partners, the rows were read
    partner first where the partners are few (the small data set: under row-level security
    PostgreSQL expects one partner, so it read every partner and, for each, all its submitted
    deals to find the page's 25: 1,535 buffers, 1.3 ms); filtered on the status again, with stale
    statistics, through a bitmap of the queue's whole partial index AND-ed with the keys' (18 ms
    at full size while it loaded). By key alone, with a lookup of each row's partner, the page is
    25 probes of the primary key whatever the sizes (0.25-0.4 ms). The keys' status is the
    queue's: they were read under the same scope a moment before, in the same request (a deal
    decided in between is listed as it was, as it would be if it were decided a moment after the
    page was sent). The keys may be others of the actor's deals too: the extension panel's deals
    are read with the page's rows (review_queue_side).

    A channel account manager's scope is a list of the portfolio's partners (500 at full size),
    which the partner lookups would each repeat (planning 2.7 ms instead of 1.4): their rows are
    joined to the partners, as the list's were (deals first: the portfolio's deals are never the
    few)."""
    if not actor.is_vendor:
        return Deal.objects.none().values_list(*_REVIEW_QUEUE_COLUMNS)
    if not vendor_sees_all(actor):
        return deal_policy.scope(actor).filter(pk__in_ids=keys).order_by().values_list(*_REVIEW_QUEUE_COLUMNS)
    partner = partner_policy.scope(actor).filter(pk=OuterRef("partner_id")).order_by()
    return (
        deal_policy.scope(actor)
        .filter(pk__in_ids=keys)
        .order_by()
        .annotate(
            shown_partner_name=Subquery(partner.values("legal_name")),
            shown_tier_name=Subquery(partner.values("tier__name")),
        )
        .values_list(*_columns(ReviewRow, "shown_partner_name", "shown_tier_name"))
    )


# The submitted deals in the maintained figures (deals.rollup): each deal's own row (no product),
# folded into VendorRollup or not folded yet, as the pipeline reads them (deals.pipeline._sources).
def _submitted_folded(actor: Actor) -> QuerySet:
    return VendorRollup.objects.filter(status=DealStatus.SUBMITTED, product__isnull=True).values_list("deals")


def _submitted_pending(actor: Actor) -> QuerySet:
    return DealRollup.objects.filter(
        business_scope_q(actor), folded=False, status=DealStatus.SUBMITTED, product__isnull=True
    ).values_list("deals")


_SUBMITTED_FOLDED = Statement("deals.review_queue.folded", _submitted_folded)
_SUBMITTED_PENDING = Statement("deals.review_queue.pending", _submitted_pending)


def review_queue_length(actor: Actor, **filters: Any) -> Prepared | None:
    """How many deals the whole review queue of a vendor user who sees every partner holds, from
    the maintained figures (deals.rollup: VendorRollup's rows of the status plus the changes not
    folded yet, read in one statement, so a fold in between is seen whole or not at all), unsent;
    None for a filtered queue or a portfolio (their count counts the deals). Exact, as the
    pipeline's figures are: a deal's own row counts it once under its status, and a vendor user
    who sees every partner sees every deal but drafts, which the queue never holds. At full size
    the count read 10,001 entries of the queue's index (2.2 ms) to say "more than 10,000"; the
    figures are 288 rows (0.6 ms)."""
    if any(filters.values()):
        return None
    if not (actor.is_vendor and vendor_sees_all(actor) and sees_partner_business(actor)):
        return None
    folded, pending = _SUBMITTED_FOLDED.prepare(actor), _SUBMITTED_PENDING.prepare(actor)
    if folded.sql is None or pending.sql is None:
        return None
    return Prepared(
        f"SELECT coalesce(sum(n), 0)::bigint FROM (({folded.sql}) UNION ALL ({pending.sql})) figures (n)",  # noqa: S608
        (*folded.params, *pending.params),
        list,
    )


REVIEW_QUEUE = ListStatements(
    "deals.review_queue",
    review_queue,
    _REVIEW_QUEUE_COLUMNS,
    frozenset({"partner"}),
    read_rows=_review_queue_rows,
    count_from_figures=review_queue_length,
)
VENDOR_DEALS = ListStatements(
    "deals.vendor_deals",
    deal_list,
    _columns(VendorDealRow, "partner__legal_name", "partner__region", "partner__tier__name"),
    KEPT_FILTERS,
    newest_first=True,
)


# --- Where a channel account manager's newest deals start (steers the deal list's plan) ----------
# A portfolio's list, newest first, was read as every deal of the portfolio's 500 partners (58,000
# at full size, through deal_partner_status_idx) sorted for the page's 25: 30-45 ms a page. Walking
# the program's date index (deal_recent_idx) instead reads the program's deals until the page's
# are found: a few hundred for a recent page of a large portfolio, but most of the million for a
# deep page or a portfolio whose deals are old or few. The maintained figures say which: the
# portfolio's deals per month and the program's. They only steer the plan, never the rows (the walk
# is bounded by the month it expects to reach, and read again the old way if it falls short), so
# they are kept per process for a few minutes.
PORTFOLIO_MONTHS_SECONDS = 300.0
# Walk only where the walk reads at most this many of the program's index entries per portfolio
# deal the sort would read (each entry read by the walk is tested against the portfolio like each
# the sort reads, and the walk sorts nothing).
WALK_ENTRIES_PER_SORTED = 0.5


class PortfolioMonths(NamedTuple):
    """Deals per month (the first day, in settings.TIME_ZONE), newest month first: the
    portfolio's and the whole program's, drafts left out."""

    portfolio: list[tuple[date, int]]
    program: dict[date, int]

    @property
    def portfolio_deals(self) -> int:
        return sum(deals for _month, deals in self.portfolio)


PORTFOLIO_MONTHS_KEPT = 1000
_portfolio_months_kept: Kept[tuple[str, tuple[int, ...]], tuple[float, PortfolioMonths]] = Kept(
    PORTFOLIO_MONTHS_KEPT
)


def forget_portfolio_months() -> None:
    """Drop the kept figures (tests; a process sees new figures within PORTFOLIO_MONTHS_SECONDS)."""
    _portfolio_months_kept.clear()


def _read_portfolio_months(actor: Actor) -> PortfolioMonths:
    """The figures, in one statement, through the pipeline's scope of the actor's business figures
    and row-level security: the portfolio's packed month totals (PartnerPack 'm') and its changes
    not folded yet, and the program's month totals (VendorRollup, vendor staff only; the changes
    not folded yet of partners outside the portfolio are not the actor's to read, and a minute of
    them changes no plan)."""
    scope = pipeline._business_scope(actor)
    packed, params = pipeline._pack(scope, Q(), "m")
    pending, pending_params = pipeline._sql(
        DealRollup.objects.filter(scope, ~Q(status=DealStatus.DRAFT), folded=False, product__isnull=True)
        .order_by()
        .values_list("month", "deals")
    )
    program, program_params = pipeline._sql(
        VendorRollup.objects.filter(product__isnull=True).order_by().values_list("month", "deals")
    )
    sql = (
        f"SELECT true, u.month, sum(u.deals) FROM {packed} GROUP BY u.month "  # noqa: S608
        f"UNION ALL SELECT true, month, sum(deals) FROM ({pending}) pending (month, deals) GROUP BY month "
        f"UNION ALL SELECT false, month, sum(deals) FROM ({program}) program (month, deals) GROUP BY month"
    )
    portfolio: dict[date, int] = {}
    everyone: dict[date, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, (*params, *pending_params, *program_params))
        for of_portfolio, month, deals in cursor.fetchall():
            months = portfolio if of_portfolio else everyone
            months[month] = months.get(month, 0) + int(deals)
    # A month the changes not folded yet emptied (a deal moved or deleted) is no month of deals.
    return PortfolioMonths(
        sorted(((month, deals) for month, deals in portfolio.items() if deals > 0), reverse=True),
        {month: deals for month, deals in everyone.items() if deals > 0},
    )


def portfolio_months(actor: Actor) -> PortfolioMonths | None:
    """The figures of the actor's portfolio, kept per process for PORTFOLIO_MONTHS_SECONDS; None
    for an actor they are not for (vendor staff who see every partner walk the index anyway; a
    partner; staff who do not see the business figures)."""
    if not (actor.is_vendor and actor.portfolio and sees_partner_business(actor)):
        return None
    key = (connection.settings_dict["NAME"], tuple(actor.portfolio))
    now = monotonic_clock.monotonic()
    kept = _portfolio_months_kept.get(key)
    if kept is not None and now - kept[0] < PORTFOLIO_MONTHS_SECONDS:
        return kept[1]
    months = _read_portfolio_months(actor)
    _portfolio_months_kept.keep(key, (now, months))
    return months


def walk_bound(months: PortfolioMonths, top: int) -> datetime | None:
    """Where a walk of the program's date index for the portfolio's ``top`` newest deals may stop:
    the start of the newest month M such that the portfolio has at least ``top`` deals in M and
    after, if the program's deals the walk is expected to read are few beside the portfolio's
    (what reading and sorting them all reads); else None (keep the sort). The bound keeps a walk
    misled by the figures to the program's deals since M."""
    portfolio_since = 0
    for month, deals in months.portfolio:
        if deals > 0 and portfolio_since + deals >= top:
            # The walk reads the program's deals of the months after M (those the portfolio has no
            # deal in too), then M's until the portfolio's are found: as they come, in proportion.
            program_after = sum(deals for since, deals in months.program.items() if since > month)
            in_month = months.program.get(month, deals) * (top - portfolio_since) / deals
            if program_after + in_month > WALK_ENTRIES_PER_SORTED * months.portfolio_deals:
                return None
            return timezone.make_aware(datetime(month.year, month.month, 1), timezone.get_default_timezone())
        portfolio_since += deals
    return None


def _won_waiting(actor: Actor) -> QuerySet:
    return won_queue(actor=actor).order_by().values_list("pk")


_WON_WAITING = Statement("deals.won_waiting", _won_waiting, count=True)


def won_waiting_count(*, actor: Actor) -> int:
    """How many reported wins wait for the vendor's confirmation (``won_queue(...).count()``)."""
    if not actor.is_vendor:
        return 0
    return _WON_WAITING.count(actor)


class PendingExtension(NamedTuple):
    """A pending extension request as the review queue's panel shows it."""

    pk: int
    deal_id: int
    created_at: datetime
    reference: str
    customer_name: str
    partner_name: str

    @property
    def deal(self) -> _Shown:
        return _Shown(
            pk=self.deal_id,
            reference=self.reference,
            customer_name=self.customer_name,
            partner=_Shown(legal_name=self.partner_name),
        )


def _send(statement: Prepared) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.params)
        return statement.convert(cursor.fetchall())


def _pending_extension_keys_first(actor: Actor, *, limit: int) -> QuerySet:
    return (
        pending_extensions(actor=actor)
        .select_related(None)
        .order_by("created_at", "pk")
        .annotate(total=Window(Count("pk")))
        .values_list("id", "deal_id", "created_at", "total")[:limit]
    )


_PENDING_EXTENSION_KEYS_FIRST = Statement("deals.pending_extension_keys_first", _pending_extension_keys_first)


class PendingKeys(NamedTuple):
    """A pending extension request of the review queue's panel before its deal's columns are read."""

    pk: int
    deal_id: int
    created_at: datetime

    def shown(self, deal: Any) -> PendingExtension:
        """The request as the panel shows it, with its deal's row (a ReviewRow)."""
        return PendingExtension(
            self.pk, self.deal_id, self.created_at, deal.reference, deal.customer_name, deal.partner_name
        )


def review_queue_side(
    *, actor: Actor, limit: int, send: Callable[[Prepared], list[tuple]] = _send
) -> tuple[list[PendingKeys], int, int]:
    """What the review queue shows beside its list: the ``limit`` oldest pending extension
    requests (their keys, deals and dates: :class:`PendingKeys`) and how many there are, and how
    many reported wins wait (:func:`won_waiting_count`), in one statement where they were two
    round trips a request: the wins' count as the one row the panel's rows are joined to (``LEFT
    JOIN LATERAL``: that row even when no request waits), each the kept statement's own SQL and
    values. ``send(statement)`` sends it and returns its rows (the list's paginator sends it with
    its planner settings: deals.vendor_views.KeptListPaginator.read_before).

    The requests' deals (reference, customer, partner) are read with the page's rows, by key
    (REVIEW_QUEUE's rows, :meth:`PendingKeys.shown`): joined here to the deals and the partners,
    under row-level security, the statement took 0.7-0.8 ms to plan where the requests alone take
    0.3."""
    won = _WON_WAITING.prepare(actor)
    panel = _PENDING_EXTENSION_KEYS_FIRST.prepare(actor, limit=limit)
    if not actor.is_vendor or won.sql is None or panel.sql is None:
        # A scope that can match nothing (an empty portfolio): each says so without a round trip.
        rows = _PENDING_EXTENSION_KEYS_FIRST.rows(actor, limit=limit)
        return (
            [PendingKeys._make(row[:-1]) for row in rows],
            rows[0][-1] if rows else 0,
            won_waiting_count(actor=actor),
        )
    fetched = send(
        Prepared(
            f"SELECT won.n, panel.* FROM ({won.sql}) won (n) LEFT JOIN LATERAL ({panel.sql}) panel ON true",  # noqa: S608
            (*won.params, *panel.params),
            list,
        )
    )
    waiting = fetched[0][0]
    rows = panel.convert([row[1:] for row in fetched if row[1] is not None])
    # The panel's own order (oldest first), whatever order the join returned its rows in.
    rows.sort(key=lambda row: (row[2], row[0]))
    return [PendingKeys._make(row[:-1]) for row in rows], rows[0][-1] if rows else 0, waiting


# --- The vendor filters' choices -------------------------------------------------------------------
# The tiers and products the filter bar of the program's deal list and of the pipeline offer: the
# vendor's catalogue, alike for every vendor user, changed a few times a year. Read on every
# request they were two queries and a model per option; kept (prm.catalogue_cache) until a tier or
# a product is saved or deleted (deals.apps).
FILTER_CHOICES_CACHE = "deal-filter-choices"


def filter_choices(form_class: Any) -> dict[str, list[tuple[int, str]]]:
    """The ``tier`` and ``product`` options (key, label) of ``form_class``'s fields (their
    querysets, in their order), without the empty choice."""

    def compute() -> tuple[dict[str, list[tuple[int, str]]], None]:
        choices = {}
        for name in ("tier", "product"):
            field = form_class.base_fields[name]
            choices[name] = [(row.pk, str(field.label_from_instance(row))) for row in field.queryset.all()]
        return choices, None

    return catalogue_cache.cached(FILTER_CHOICES_CACHE, (form_class.__name__,), compute)
