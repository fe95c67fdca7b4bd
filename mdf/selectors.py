"""Reads for funds: balances from the ledger, requests and claims, reports. Scoped by policy."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    QuerySet,
    Value,
    Window,
)
from django.db.models.functions import RowNumber
from django.utils.translation import gettext as _

from prm.statements import Statement
from prm.tenancy import Actor

from . import ledger
from .models import Allocation, ClaimProof, FundClaim, FundPeriod, FundRequest, LedgerEntry, RequestStatus
from .policies import allocation_policy, fund_request_policy

_DEC = DecimalField(max_digits=16, decimal_places=2)


def allocations_with_balances(*, actor: Actor) -> QuerySet[Allocation]:
    """Each allocation with every balance annotated (one query, whatever the ledger size)."""
    return (
        allocation_policy.scope(actor)
        .select_related("budget__period", "partner", "partner__tier")
        .annotate(**ledger.balance_annotations())
        .annotate(balance_available=ExpressionWrapper(ledger.available_expression(), output_field=_DEC))
        .order_by("-budget__period__starts_on", "partner__legal_name")
    )


def fund_summary(*, actor: Actor) -> list[dict[str, Any]]:
    """Totals per currency across the actor's allocations (the partner funds page)."""
    summary: dict[str, dict[str, Decimal]] = {}
    for allocation in allocations_with_balances(actor=actor):
        row = summary.setdefault(
            allocation.currency,
            {
                k: Decimal("0")
                for k in ("allocated", "committed", "claimed", "paid", "available", "forfeited")
            },
        )
        balances = ledger.balances_from_annotations(allocation)
        for key in ("allocated", "committed", "claimed", "paid", "forfeited"):
            row[key] += getattr(balances, key)
        row["available"] += balances.available
    return [{"currency": currency, **values} for currency, values in sorted(summary.items())]


def request_list(*, actor: Actor, filters: dict[str, Any] | None = None) -> QuerySet[FundRequest]:
    filters = filters or {}
    queryset = (
        fund_request_policy.scope(actor)
        .select_related("partner", "partner__tier", "allocation__budget__period", "requested_by", "claim")
        # No list or export shows them: the search vector and the free text are the widest
        # columns of the row.
        .defer("description", "search_vector")
    )
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    if filters.get("activity_type"):
        queryset = queryset.filter(activity_type=filters["activity_type"])
    if filters.get("period"):
        queryset = queryset.filter(allocation__budget__period_id=filters["period"])
    if filters.get("partner"):
        queryset = queryset.filter(partner_id=filters["partner"])
    return queryset.order_by("-created_at", "-pk")


class RequestRow(NamedTuple):
    """What the partner's request list prints of one request: plain values read by
    :func:`request_rows`, not a FundRequest with its allocation, budget, period and requester (five
    model instances a row, a fifth of the page's time)."""

    pk: int
    reference: str
    title: str
    activity_type: str
    status: str
    start_date: Any
    end_date: Any
    requested_amount: Decimal
    approved_amount: Decimal | None
    currency: str
    claim_deadline: Any
    period_name: str
    requester_name: str
    requester_email: str


_REQUEST_ROW_FIELDS = [
    "pk",
    "reference",
    "title",
    "activity_type",
    "status",
    "start_date",
    "end_date",
    "requested_amount",
    "approved_amount",
    "currency",
    "claim_deadline",
    "allocation__budget__period__name",
    "requested_by__full_name",
    "requested_by__email",
]


def request_rows(requests: QuerySet[FundRequest]) -> list[RequestRow]:
    """The rows of ``requests`` (a :func:`request_list` queryset, so scoped by policy, narrowed to
    a page's ids), in its order, as :class:`RequestRow`: one query whatever the rows."""
    return [RequestRow(*values) for values in requests.values_list(*_REQUEST_ROW_FIELDS)]


# The partner's request list's three reads, compiled once per shape (prm.statements): building
# them through the ORM (scope, joins, filters, compiler) was a third of the page's CPU.
def _request_list_keys(
    actor: Actor,
    *,
    bottom: int,
    top: int,
    status: str | None = None,
    activity_type: str | None = None,
    period: int | None = None,
) -> QuerySet[FundRequest]:
    filters = {"status": status, "activity_type": activity_type, "period": period}
    return request_list(actor=actor, filters=filters).values_list("pk")[bottom:top]


_REQUEST_LIST_KEYS = Statement(
    "mdf.request_list_keys", _request_list_keys, values=["status", "activity_type", "period"]
)


def _statement_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """RequestFilterForm's filters as the list statements' values: an absent or empty one is None
    (no filter: a ``""`` would be probed as a value and filtered on), the period by its key."""
    return {
        "status": filters.get("status") or None,
        "activity_type": filters.get("activity_type") or None,
        "period": int(filters["period"]) if filters.get("period") else None,
    }


def request_list_keys(*, actor: Actor, filters: dict[str, Any], bottom: int, top: int) -> list[int]:
    """The keys of the rows ``[bottom:top]`` of :func:`request_list` with ``filters`` (status,
    activity type, period: those of RequestFilterForm), in its order."""
    rows = _REQUEST_LIST_KEYS.rows(
        actor,
        bottom=bottom,
        top=top,
        **_statement_filters(filters),
    )
    return [row[0] for row in rows]


def _request_rows_of(actor: Actor, *, keys: list[int]) -> QuerySet[FundRequest]:
    return request_list(actor=actor).filter(pk__in_ids=keys).values_list(*_REQUEST_ROW_FIELDS)


_REQUEST_ROWS = Statement("mdf.request_rows", _request_rows_of, values=["keys"])


def request_rows_of(*, actor: Actor, keys: list[int]) -> list[RequestRow]:
    """The requests of ``keys`` that ``actor``'s request list may show (:func:`request_list`'s
    scope), in the list's order, as :class:`RequestRow`."""
    if not keys:
        return []
    return [RequestRow(*values) for values in _REQUEST_ROWS.rows(actor, keys=[int(key) for key in keys])]


# The kinds of row of the request list's first statement (request_list_page): its first column.
_PAGE_KEY, _STATUS_COUNT, _FILTERED_COUNT, _PERIOD = 1, 2, 3, 4


def _request_list_page(
    actor: Actor,
    *,
    bottom: int,
    top: int,
    status: str | None = None,
    activity_type: str | None = None,
    period: int | None = None,
) -> QuerySet:
    """The rows of :func:`request_list_page`, as (kind, key, label, n), each part the ORM's own read
    through the policy's scope, in a UNION ALL:

    * the keys of the list's rows ``[bottom:top]`` with the filters (as :func:`request_list_keys`),
      n = 0 (their order is the rows' statement's, :func:`request_rows_of`);
    * the actor's requests by status (as :func:`request_counts`), a row per status;
    * with a filter the status counts do not answer (activity, period), the filtered list's count:
      one aggregate row, there even when nothing matches;
    * the program's fund periods (the period filter's choices: the vendor's calendar, the same for
      every tenant), n their place newest first (a UNION ALL promises no order of its own)."""
    filters = {"status": status, "activity_type": activity_type, "period": period}
    no_key = Value(None, output_field=BigIntegerField())
    no_label = Value("", output_field=CharField())
    keys = (
        request_list(actor=actor, filters=filters)
        .values(
            kind=Value(_PAGE_KEY), key=F("pk"), label=no_label, n=Value(0, output_field=BigIntegerField())
        )
        .values_list("kind", "key", "label", "n")[bottom:top]
    )
    by_status = (
        fund_request_policy.scope(actor)
        .order_by()
        .values(kind=Value(_STATUS_COUNT), label=F("status"))
        .annotate(key=no_key, n=Count("*"))
        .values_list("kind", "key", "label", "n")
    )
    parts = [by_status]
    if activity_type or period:
        parts.append(
            request_list(actor=actor, filters=filters)
            .order_by()
            .values(kind=Value(_FILTERED_COUNT), label=no_label)
            .annotate(key=no_key, n=Count("*"))
            .values_list("kind", "key", "label", "n")
        )
    periods = (
        FundPeriod.objects.order_by()
        .values(kind=Value(_PERIOD), key=F("pk"), label=F("name"))
        .annotate(n=Window(RowNumber(), order_by=[F("starts_on").desc(), F("pk").desc()]))
        .values_list("kind", "key", "label", "n")
    )
    parts.append(periods)
    return keys.union(*parts, all=True)


# One round trip for what the list's page needs before its rows (they were four statements).
_REQUEST_LIST_PAGE = Statement(
    "mdf.request_list_page", _request_list_page, values=["status", "activity_type", "period"]
)


class RequestListPage(NamedTuple):
    """What :func:`request_list_page` read: the page's keys (in no order), the requests by status,
    the filtered list's count (None when the status counts answer it), the periods newest first."""

    keys: list[int]
    counts: dict[str, int]
    filtered_count: int | None
    periods: list[tuple[int, str]]


def request_list_page(*, actor: Actor, filters: dict[str, Any], bottom: int, top: int) -> RequestListPage:
    """In one statement: the keys of the rows ``[bottom:top]`` of :func:`request_list` with
    ``filters`` (status, activity type, period: those of RequestFilterForm), the actor's requests by
    status, the list's count when a filter other than the status applies, and the fund periods as
    ``(pk, name)`` newest first (the period filter's choices)."""
    rows = _REQUEST_LIST_PAGE.rows(
        actor,
        bottom=bottom,
        top=top,
        **_statement_filters(filters),
    )
    keys: list[int] = []
    counts: dict[str, int] = {}
    filtered_count = None
    periods: list[tuple[int, int, str]] = []
    for kind, key, label, n in rows:
        if kind == _PAGE_KEY:
            keys.append(key)
        elif kind == _STATUS_COUNT:
            counts[label] = int(n)
        elif kind == _FILTERED_COUNT:
            filtered_count = int(n)
        else:
            periods.append((n, key, label))
    periods.sort()
    return RequestListPage(keys, counts, filtered_count, [(key, label) for _n, key, label in periods])


def request_get(*, actor: Actor, pk: Any) -> FundRequest:
    return fund_request_policy.get_or_404(
        actor,
        FundRequest.objects.select_related(
            "partner", "allocation__budget__period", "requested_by", "decided_by"
        ),
        pk=pk,
    )


def claim_for(*, actor: Actor, fund_request: FundRequest) -> FundClaim | None:
    return (
        FundClaim.objects.filter(fund_request=fund_request)
        .filter(fund_request__in=fund_request_policy.scope(actor).values("pk"))
        .prefetch_related("proofs")
        .first()
    )


def proof_get(*, actor: Actor, pk: Any) -> ClaimProof:
    """A proof file by id, only if the actor may see its request; else the same 404."""
    from django.http import Http404

    proof = (
        ClaimProof.objects.filter(
            pk=pk, claim__fund_request__in=fund_request_policy.scope(actor).values("pk")
        )
        .select_related("claim__fund_request")
        .first()
    )
    if proof is None:
        raise Http404
    return proof


def ledger_for(*, actor: Actor, allocation: Allocation) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(allocation=allocation)
        .filter(allocation__in=allocation_policy.scope(actor).values("pk"))
        .select_related("fund_request", "actor")
    )


def utilisation_report(*, actor: Actor, group: str = "partner") -> list[dict[str, Any]]:
    """Allocated / committed / claimed / paid / available grouped by partner, tier or period."""
    field = {
        "partner": "partner__legal_name",
        "tier": "partner__tier__name",
        "period": "budget__period__name",
    }[group]
    rows = (
        allocation_policy.scope(actor)
        .order_by()
        .values(field, "currency")
        .annotate(**ledger.balance_annotations())
        .order_by(field, "currency")
    )
    return [
        {
            "group": row[field],
            "currency": row["currency"],
            "allocated": row["balance_allocated"],
            "committed": row["balance_committed"],
            "claimed": row["balance_claimed"],
            "paid": row["balance_paid"],
            "available": row["balance_allocated"] - row["balance_committed"] - row["balance_claimed"],
        }
        for row in rows
    ]


def deadlines(*, actor: Actor) -> QuerySet[FundRequest]:
    """Approved requests waiting for a claim, nearest deadline first."""
    return request_list(actor=actor, filters={"status": RequestStatus.APPROVED}).order_by("claim_deadline")


def _request_counts(actor: Actor) -> QuerySet[FundRequest]:
    return (
        fund_request_policy.scope(actor)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )


# Kept compiled (prm.statements): the list and the funds page read it on every request.
_REQUEST_COUNTS = Statement("mdf.request_counts", _request_counts)


def request_counts(*, actor: Actor) -> dict[str, int]:
    return dict(_REQUEST_COUNTS.rows(actor))


UTILISATION_KEYS = ("allocated", "committed", "claimed", "paid", "available")


def utilisation_summary(*, actor: Actor, group: str) -> dict[str, Any]:
    """The utilisation report's rows with payable and used share, and totals per currency (the
    vendor page and its CSV export)."""
    rows = utilisation_report(actor=actor, group=group)
    for row in rows:
        row["payable"] = row["claimed"] - row["paid"]
        row["group"] = row["group"] or _("(none)")
        # Committed or spent, as a share of the allocation.
        used = (
            ((row["committed"] + row["claimed"]) * 100 / row["allocated"]).quantize(Decimal("1"))
            if row["allocated"] > 0
            else None
        )
        row["used_percent"] = used
        row["used_bar"] = min(max(int(used), 0), 100) if used is not None else 0
    totals: dict[str, dict[str, Decimal]] = {}
    for row in rows:
        total = totals.setdefault(row["currency"], {key: Decimal("0") for key in UTILISATION_KEYS})
        for key in UTILISATION_KEYS:
            total[key] += row[key]
    return {"rows": rows, "totals": totals}
