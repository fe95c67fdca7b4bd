"""The pipeline report read from the maintained figures (deals.rollup) instead of the deals.

Why: summing the deals on each request took 3-4 s per breakdown for the vendor at a million deals
(15 s a page) and 0.3-1.3 s for a partner with 20,000. The figures the triggers keep are exact at
every moment (folded rows plus the deltas not folded yet), so a report is the sum of a few thousand
rows. Which rows, by who is asking (the scope is the policy's, and row-level security applies to
every table read here as to the deals):

* a program admin or finance, no partner chosen: VendorRollup (status, stage, month, tier, region;
  with a product chosen, that product's rows), ProductRollup (by product) and PartnerTotal (the
  ranking of partners; with months or a product chosen, the partners' DealRollup rows of those);
* a channel account manager, or anyone with one partner chosen: the portfolio's (or that
  partner's) totals per partner, packed a row per partner and kind (PartnerPack: by status and
  stage, by month, by product) and PartnerTotal (the ranking); with months or a product chosen,
  its DealRollup rows, which hold every breakdown by month and product;
* a partner's admin: the partner's DealRollup rows (drafts included: they are the partner's own);
* a partner's sales user sees only the deals they registered, which no figure is kept for: their
  report is summed from those deals (a few hundred rows at most), as before.

Content and training managers never see money (PRODUCT.md): their report is empty, and their
database scope reads no row of these tables either.

What the report cannot say that the live sum did: dates are whole months (the figures are kept by
month of registration), and with a product chosen, "by product" shows that product only (the
figures do not keep which products a deal combines).
"""

# ruff: noqa: S608 -- SQL here is built from this module's constants and the ORM's own SQL; every
# value travels as a parameter.
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db import connection
from django.db.models import Q, QuerySet
from django.dispatch import receiver

from partners.models import PartnerRole
from partners.policies import business_scope_q, sees_partner_business, vendor_sees_all
from prm.models import ExchangeRate, reporting_rates
from prm.money import Rates, quantize
from prm.pagination import planner
from prm.tenancy import Actor

from . import rollup
from .models import (
    OPEN_STATUSES,
    DealRollup,
    DealStatus,
    PartnerPack,
    PartnerTotal,
    ProductRollup,
    VendorRollup,
)

T = TypeVar("T")

# The partners in the pipeline's chart.
TOP_PARTNERS = 10
# Breakdowns read in one pass over the chosen rows (GROUPING SETS), in this order of bits.
GROUPS = ("status", "stage", "month", "tier_id", "region")


def uses_rollup(actor: Actor) -> bool:
    """Whether this actor's report comes from the figures (a partner's sales user's does not)."""
    return not (actor.is_partner and actor.partner_role != PartnerRole.ADMIN)


def empty_report(actor: Actor, rates: Rates | None = None) -> dict[str, Any]:
    report: dict[str, Any] = {"by_status": [], "by_stage": [], "by_month": [], "currencies": []}
    if actor.is_vendor:
        report.update(
            by_partner=[],
            top_partners=[],
            by_tier=[],
            by_region=[],
            by_product=[],
            partner_count=0,
            partner_matches=0,
        )
    report["currency"] = (rates or reporting_rates()).currency
    report["unconverted"] = []
    return report


def _months(filters: dict[str, Any]) -> Q:
    condition = Q()
    if filters.get("month_from"):
        condition &= Q(month__gte=filters["month_from"])
    if filters.get("month_to"):
        condition &= Q(month__lte=filters["month_to"])
    return condition


def _partner_filters(filters: dict[str, Any], *, with_partner: bool = True) -> Q:
    condition = Q()
    if with_partner and filters.get("partner"):
        condition &= Q(partner_id=filters["partner"])
    if filters.get("tier"):
        condition &= Q(tier_id=filters["tier"])
    if filters.get("region"):
        condition &= Q(region=filters["region"])
    return condition


def _product(filters: dict[str, Any]) -> Q:
    return Q(product_id=filters["product"]) if filters.get("product") else Q(product__isnull=True)


COLUMNS = ("status", "stage", "month", "tier_id", "region", "currency", "deals", "amount", "won_amount")
PRODUCT_COLUMNS = ("product_id", "currency", "deals", "line_amount")
PARTNER_COLUMNS = ("partner_id", "currency", "deals", "amount", "won_amount")


def _sql(queryset: QuerySet) -> tuple[str, tuple[Any, ...]]:
    sql, params = queryset.query.sql_with_params()
    return sql, tuple(params)


def _union(*querysets: QuerySet) -> tuple[str, tuple[Any, ...]]:
    parts, params = [], ()
    for queryset in querysets:
        sql, more = _sql(queryset)
        parts.append(f"({sql})")
        params += more
    return " UNION ALL ".join(parts), params


def _sources(actor: Actor, filters: dict[str, Any]) -> dict[str, Any]:
    """The SQL (and parameters) of the rows each breakdown sums: ``main`` (COLUMNS; and ``part``
    if ``parts`` is true), ``product`` (PRODUCT_COLUMNS) and ``partner`` (PARTNER_COLUMNS; vendor
    only)."""
    months, partner_q = _months(filters), _partner_filters(filters)
    pending = DealRollup.objects.filter(folded=False)
    if actor.is_partner:
        rows = DealRollup.objects.filter(partner_id=actor.partner_id)
        main = rows.filter(months, product__isnull=True).values_list(*COLUMNS)
        return {"main": _sql(main)}
    visible = ~Q(status=DealStatus.DRAFT)  # never the vendor's to see (deals.policies)
    if vendor_sees_all(actor) and not filters.get("partner"):
        # Vendor-wide: the sums over every partner, plus the changes not folded yet.
        main = _union(
            VendorRollup.objects.filter(months, partner_q, _product(filters)).values_list(*COLUMNS),
            pending.filter(visible, months, partner_q, _product(filters)).values_list(*COLUMNS),
        )
        products = ProductRollup.objects.filter(months, partner_q)
        product_pending = pending.filter(visible, months, partner_q, product__isnull=False)
        if filters.get("product"):
            products = products.filter(product_id=filters["product"])
            product_pending = product_pending.filter(product_id=filters["product"])
        product = _union(
            products.values_list(*PRODUCT_COLUMNS), product_pending.values_list(*PRODUCT_COLUMNS)
        )
        if months or filters.get("product"):
            # No total per partner and month or product: the partners' own rows of those.
            partner = _sql(
                DealRollup.objects.filter(visible, months, partner_q, _product(filters))
                .values_list(*PARTNER_COLUMNS[:-1])
                .annotate(won=_won())
            )
        else:
            partner = _union(
                PartnerTotal.objects.filter(partner_q).values_list(*PARTNER_COLUMNS),
                pending.filter(visible, partner_q, product__isnull=True)
                .values_list(*PARTNER_COLUMNS[:-1])
                .annotate(won=_won()),
            )
        return {"main": main, "product": product, "partner": partner}
    # A portfolio, or one partner: that partner's rows hold every breakdown.
    scope = _business_scope(actor)
    rows = DealRollup.objects.filter(scope, visible, months, partner_q)
    if months or filters.get("product"):
        partner = _sql(rows.filter(_product(filters)).values_list(*PARTNER_COLUMNS[:-1]).annotate(won=_won()))
    else:
        # The ranking of a portfolio's partners from their totals (1-2 rows a partner, through the
        # same scope and row-level security) plus the changes not folded yet, as the program
        # admin's: summing the portfolio's month rows (about one per deal) took 0.7-1 s a page
        # for 500 partners.
        partner = _union(
            PartnerTotal.objects.filter(scope, partner_q).values_list(*PARTNER_COLUMNS),
            pending.filter(scope, visible, partner_q, product__isnull=True)
            .values_list(*PARTNER_COLUMNS[:-1])
            .annotate(won=_won()),
        )
    one_product = Q(product_id=filters["product"]) if filters.get("product") else Q()
    if months:
        product = _sql(rows.filter(one_product, product__isnull=False).values_list(*PRODUCT_COLUMNS))
    else:
        # The portfolio's products from each partner's totals by product (a row per partner,
        # product and currency, through the same scope and row-level security) plus the changes
        # not folded yet: the partners' product rows by status, stage and month (75,000 for 500
        # partners) took 190 ms a page.
        product = _portfolio_products(
            scope,
            partner_q,
            pending.filter(scope, visible, partner_q, product__isnull=False),
            filters.get("product"),
        )
    if months or filters.get("product"):
        main = _sql(rows.filter(_product(filters)).values_list(*COLUMNS))
    else:
        main = _portfolio_main(
            scope, partner_q, pending.filter(scope, visible, partner_q, product__isnull=True)
        )
    return {
        "main": main,
        "parts": not (months or filters.get("product")),
        "product": product,
        "partner": partner,
    }


def _business_scope(actor: Actor) -> Q:
    """The policy's scope of a vendor's figures. A channel account manager's portfolio as the ids
    resolved with the actor, the very ids row-level security holds them to (as
    deals.policies.DealPolicy.visible does): the policy's subquery of the permission table cost
    10-20 ms in each of the report's statements (500 loops over the permission tables, which
    row-level security made the planner expect one row of)."""
    # An empty portfolio keeps the subquery: ``IN ()`` has no SQL, and the report's SQL is read
    # from the querysets.
    if actor.is_vendor and actor.portfolio and sees_partner_business(actor):
        return Q(partner_id__in_ids=actor.portfolio)
    return business_scope_q(actor)


def _pack(scope: Q, partner_q: Q, kind: str) -> tuple[str, tuple[Any, ...]]:
    """The portfolio's packed rows of ``kind`` (deals.models.PartnerPack) through the policy's
    scope and row-level security, as ``pack``, each figure unnested as ``u`` (the columns of the
    kind's table)."""
    arrays = rollup.PACKS[kind][1]
    sql, params = _sql(
        PartnerPack.objects.filter(scope, partner_q, kind=kind).values_list("tier_id", "region", *arrays)
    )
    unnested = ", ".join(f"pack.{name}" for name in arrays)
    return f"({sql}) pack CROSS JOIN LATERAL unnest({unnested}) AS u ({', '.join(arrays.values())})", params


def _portfolio_main(scope: Q, partner_q: Q, pending: QuerySet) -> tuple[str, tuple[Any, ...]]:
    """The breakdowns' rows of a portfolio (or one partner), all months, from the partners'
    packed totals: by status and stage ('s', for every breakdown but the months) and by month
    ('m', for the months), and the changes not folded yet ('x', for every breakdown); see
    ``_breakdowns``. The partners' month rows by status and stage (27,000 for 500 partners) took
    120-200 ms a page, most of it row-level security testing each row."""
    statuses, params = _pack(scope, partner_q, "s")
    months, more = _pack(scope, partner_q, "m")
    changes, pending_params = _sql(pending.values_list(*COLUMNS))
    return (
        f"SELECT u.status, u.stage, NULL::date AS month, pack.tier_id, pack.region, u.currency, u.deals, "
        f"u.amount, u.won_amount, 's' AS part FROM {statuses} "
        # The months' rows need no tier or region (they count in the months alone): without them
        # they group into a few hundred (months and currencies) before the breakdowns.
        f"UNION ALL SELECT NULL, NULL, u.month, NULL, NULL, u.currency, u.deals, u.amount, 0, 'm' "
        f"FROM {months} "
        f"UNION ALL SELECT {', '.join(COLUMNS)}, 'x' FROM ({changes}) changes",
        params + more + pending_params,
    )


def _portfolio_products(
    scope: Q, partner_q: Q, pending: QuerySet, product: Any
) -> tuple[str, tuple[Any, ...]]:
    """A portfolio's (or one partner's) rows by product, all months: the partners' packed totals
    by product plus the changes not folded yet (``product``: that product's only)."""
    packed, params = _pack(scope, partner_q, "p")
    one = ""
    if product:
        one, params = " WHERE u.product_id = %s", (*params, getattr(product, "pk", product))
        pending = pending.filter(product_id=getattr(product, "pk", product))
    changes, more = _sql(pending.values_list(*PRODUCT_COLUMNS))
    return (
        f"SELECT u.product_id, u.currency, u.deals, u.line_amount FROM {packed}{one} "
        f"UNION ALL SELECT {', '.join(PRODUCT_COLUMNS)} FROM ({changes}) changes",
        params + more,
    )


def _won() -> Any:
    """A row's won amount as the pipeline counts it: the won deals' only (a win awaiting the
    vendor's confirmation has an amount, but is not won yet)."""
    from django.db.models import Case, F, Value, When

    return Case(When(status=DealStatus.WON, then=F("won_amount")), default=Value(Decimal(0)))


def _fetch(sql: str, params: tuple[Any, ...]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _breakdowns(sql: str, params: tuple[Any, ...], *, parts: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Every breakdown of ``main`` in one pass: by status (all rows), by stage (open deals only),
    by month, tier and region, each by currency. ``parts``: ``main`` has a column ``part`` that
    says which breakdowns a row is for: 'm' the months only, 's' all but the months, 'x' all."""
    open_statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
    is_open = f"status IN ({open_statuses})"
    part = "part, " if parts else ""
    source = f"({sql}) src"
    if parts:
        # A portfolio's 23,000 rows summed by their whole key first (a single hash, a few hundred
        # groups), then broken down: each grouping set hashing every row took 85 ms.
        keys = f"{', '.join(GROUPS)}, currency, part"
        source = (
            f"(SELECT {keys}, sum(deals) AS deals, sum(amount) AS amount, sum(won_amount) AS won_amount "
            f"FROM ({sql}) rows GROUP BY {keys}) src"
        )
    statement = f"""
        SELECT GROUPING({", ".join(GROUPS)}), {", ".join(GROUPS)}, currency, {"part" if parts else "NULL"},
               sum(deals), sum(amount), sum(won_amount) FILTER (WHERE status = 'won'),
               sum(deals) FILTER (WHERE {is_open}), sum(amount) FILTER (WHERE {is_open})
          FROM {source}
         GROUP BY GROUPING SETS ({", ".join(f"({part}{name}, currency)" for name in GROUPS)})
        """
    rows = _fetch(statement, params)
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in GROUPS}
    for grouping, *keys, currency, row_part, deals, amount, won, open_deals, open_amount in rows:
        # GROUPING() sets the bit of every column *not* grouped: the one clear bit is the set.
        index = next(i for i in range(len(GROUPS)) if not grouping & (1 << (len(GROUPS) - 1 - i)))
        name = GROUPS[index]
        if row_part is not None and row_part != "x" and (row_part == "m") != (name == "month"):
            continue  # a month total in a breakdown by status, or the reverse
        if name == "stage":
            deals, amount, won = open_deals, open_amount, None
        elif name == "month":
            won = None  # the months show what was registered, not what was won
        # A group without deals is left out, unless it still moves an amount: a portfolio's
        # changes not folded yet ('x') are grouped apart from its totals, and a deal whose amount
        # changed is one such group of no deals (-1 and +1) and the difference of the amounts;
        # _convert adds it to its key's totals. (Leaving it out showed the old amount until the
        # next fold.)
        if not deals and not amount and not won:
            continue
        tables[name].append(
            {"key": keys[index], "currency": currency, "count": int(deals), "value": amount, "won": won}
        )
    return tables


def _product_rows(sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    """The rows by product and currency (``key``: the product's id; named by :func:`_name`)."""
    rows = _fetch(
        f"SELECT src.product_id, src.currency, sum(src.deals) AS deals, sum(src.line_amount) AS value "
        f"FROM ({sql}) src GROUP BY 1, 2 HAVING sum(src.deals) <> 0",
        params,
    )
    return [
        {"key": product_id, "currency": currency, "count": int(deals), "value": value}
        for product_id, currency, deals, value in rows
    ]


def _rates_sql(rates: Rates) -> tuple[str, tuple[Any, ...]]:
    values = ", ".join(["(%s, %s::numeric)"] * len(rates.rates)) or "(NULL::text, NULL::numeric)"
    params: tuple[Any, ...] = ()
    for currency, rate in rates.rates.items():
        params += (currency, rate)
    return f"(VALUES {values}) AS rate (currency, rate)", params


def _partner_rows(
    sql: str,
    params: tuple[Any, ...],
    rates: Rates,
    *,
    limit: int | None,
    offset: int,
    search: str,
) -> tuple[list[dict[str, Any]], int]:
    """The partners ranked by value in the reporting currency (then by id): rows by currency of
    those on the requested slice (named by :func:`_name`), and how many partners there are in all."""
    rates_sql, rate_params = _rates_sql(rates)
    named = ""
    name_params: tuple[Any, ...] = ()
    if search:
        named = "WHERE per.partner_id IN (SELECT id FROM partners_partner WHERE legal_name ILIKE %s)"
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        name_params = (f"%{escaped}%",)
    # One pass: each partner's value (ranked) with its rows by currency gathered in arrays, so
    # the page of partners needs no second join with the rows (whose number row-level security
    # hides from the planner, which then joined them by a nested loop).
    rows = _fetch(
        f"""
        WITH ranked AS (
            SELECT src.partner_id, coalesce(sum(src.amount * rate.rate), 0) AS value,
                   array_agg(src.currency) AS currencies, array_agg(src.deals) AS deals,
                   array_agg(src.amount) AS amounts, array_agg(src.won) AS won
              FROM ({sql}) src (partner_id, currency, deals, amount, won)
              LEFT JOIN {rates_sql} ON rate.currency = src.currency
             {named.replace("per.", "src.")}
             GROUP BY 1 HAVING sum(src.deals) <> 0
        )
        SELECT page.partner_id, page.currencies, page.deals, page.amounts, page.won,
               (SELECT count(*) FROM ranked)
          FROM (SELECT * FROM ranked ORDER BY value DESC, partner_id LIMIT %s OFFSET %s) page
         ORDER BY page.value DESC, page.partner_id
        """,
        params + rate_params + name_params + (limit, offset),
    )
    count = rows[0][-1] if rows else _partner_count(sql, params, named, name_params)
    return [
        {
            "partner_id": partner_id,
            "currency": currency,
            "count": int(deals),
            "value": amount,
            "won": won,
        }
        for partner_id, currencies, deal_counts, amounts, wons, _count in rows
        for currency, deals, amount, won in zip(currencies, deal_counts, amounts, wons, strict=True)
    ], int(count or 0)


def _partner_count(sql: str, params: tuple[Any, ...], named: str, name_params: tuple[Any, ...]) -> int:
    rows = _fetch(
        f"SELECT count(*) FROM (SELECT per.partner_id FROM (SELECT src.partner_id FROM ({sql}) src "
        f"(partner_id, currency, deals, amount, won) GROUP BY 1 HAVING sum(src.deals) <> 0) per {named}) n",
        params + name_params,
    )
    return int(rows[0][0])


def _convert(
    rows: list[dict[str, Any]], rates: Rates, unconverted: set[str], *, key: str = "key"
) -> list[dict[str, Any]]:
    """Rows by (``key``, currency) folded into one row per ``key`` in the reporting currency
    (exact Decimals, rounded once); an amount without a rate stays out of the value and its
    currency is named in ``unconverted`` (its deals are still counted)."""
    folded: dict[Any, dict[str, Any]] = {}
    for row in rows:
        entry = folded.setdefault(
            row[key],
            {**{k: v for k, v in row.items() if k not in {"currency", "count", "value", "won"}},
             "count": 0, "value": Decimal(0), "won": Decimal(0)},
        )  # fmt: skip
        entry["count"] += row["count"]
        value = rates.convert(row["value"] or Decimal(0), row["currency"])
        if value is None:
            unconverted.add(row["currency"])
            continue
        entry["value"] += value
        entry["won"] += rates.convert(row.get("won") or Decimal(0), row["currency"]) or Decimal(0)
    for entry in folded.values():
        entry["value"] = quantize(entry["value"], rates.currency)
        entry["won"] = quantize(entry["won"], rates.currency)
    return list(folded.values())


def pipeline_report(
    *,
    actor: Actor,
    filters: dict[str, Any] | None = None,
    partners: int | None = 10,
    partners_offset: int = 0,
    partner_search: str = "",
) -> dict[str, Any]:
    """The pipeline report (the shape of ``selectors.pipeline_report``) from the figures, in at
    most four queries whatever the number of deals. ``partners``: how many partners of the
    ranking (None: all, for the export), from ``partners_offset``, those whose name contains
    ``partner_search``; ``report["partner_count"]`` says how many there are.

    A vendor's figures come from the cache when they are there for the figures as they are now
    (:func:`_kept_figures`); the names of partners, products and tiers are read on every request."""
    filters = filters or {}
    search = partner_search.strip()
    if _kept_for(actor) and not search:
        state, rates, _none = _state_and_rates()
        figures = _kept_figures(actor, filters, rates, partners, partners_offset, state)
        return _report(actor, figures, rates, _names_of(figures))
    rates = reporting_rates()
    if not sees_partner_business(actor) or (not actor.is_vendor and not actor.is_partner):
        return empty_report(actor, rates)
    figures = _figures(actor, filters, rates, partners, partners_offset, search)
    return _report(actor, figures, rates, _names_of(figures) if actor.is_vendor else None)


def _kept_for(actor: Actor) -> bool:
    """Whether this actor's figures are kept (:func:`_kept_figures`): a vendor's who sees money."""
    return actor.is_vendor and sees_partner_business(actor)


def _figures(
    actor: Actor, filters: dict[str, Any], rates: Rates, partners: int | None, offset: int, search: str
) -> dict[str, Any]:
    """What the report sums from the figures, before the names and the currency conversion:
    every breakdown by its key and currency (``tables``), and for a vendor the rows by product
    (``products``) and the partners' ranking (``partners``, ``matches``; ``top``, ``total``), by id."""
    sources = _sources(actor, filters)
    # A portfolio's breakdowns and products are grouped in hashes, not by sorting what they sum
    # (SET LOCAL enable_sort = off for these two statements alone): expecting a handful of rows
    # under row-level security, PostgreSQL sorted the 23,000 breakdown rows on seven keys first
    # (80 ms against 20), and the product rows, when they were 75,000, on disk (0.74 s against
    # 0.28 s). Not for the whole report: the ranking's plans got far worse (5-11 s).
    hashed = actor.is_vendor and actor.portfolio is not None and connection.in_atomic_block
    with planner(enable_sort="off") if hashed else nullcontext():
        figures: dict[str, Any] = {"tables": _breakdowns(*sources["main"], parts=sources.get("parts", False))}
        if actor.is_vendor:
            figures["products"] = _product_rows(*sources["product"])
    if actor.is_vendor:
        figures["partners"], figures["matches"] = _partner_rows(
            *sources["partner"], rates, limit=partners, offset=offset, search=search
        )
        if search or offset or (partners is not None and partners < TOP_PARTNERS):
            figures["top"], figures["total"] = _partner_rows(
                *sources["partner"], rates, limit=TOP_PARTNERS, offset=0, search=""
            )
        else:
            figures["top"], figures["total"] = figures["partners"], figures["matches"]
    return figures


# How long a vendor's figures stay in the cache. Not what keeps them right (the key does, see
# _kept_figures): what bounds the memory of keys no request asks for any more.
KEPT_SECONDS = 600


# What a report's figures are as of now (see _kept_figures): the rollup's version, and the rows not
# folded yet, counted and their ids summed.
_STATE_COLUMNS = f"(SELECT version FROM {rollup.VERSION_TABLE} WHERE id = 1), count(*), sum(id)"


Names = dict[str, dict[Any, str]]
State = tuple[int, int, int]


def _state_and_rates(
    names_of: tuple[list[Any], list[Any]] | None = None,
) -> tuple[State, Rates, Names | None]:
    """What a vendor's figures are as of now (the rollup's version, the rows not folded yet that
    this actor's scope sees, counted and their ids summed: see :func:`_kept_figures`) and the
    exchange rates into the reporting currency (as prm.models.reporting_rates reads them), in one
    statement: they were two round trips on every request of the page. With ``names_of`` (partner
    and product ids), also those names (:func:`_names`) in the same statement; None without."""
    table = ExchangeRate._meta.db_table
    names_column, params = "NULL", ()
    if names_of is not None:
        names_column = f"(SELECT json_agg(json_build_array(n.kind, n.id, n.name)) FROM ({_NAMES_SQL}) n)"
        params = (list(names_of[0]), list(names_of[1]))
    with connection.cursor() as cursor:
        # Row-level security holds the count to the rows this actor may read, as it holds the sums
        # and the partners named.
        cursor.execute(
            f"SELECT {_STATE_COLUMNS}, ARRAY(SELECT currency FROM {table} ORDER BY currency), "
            f"ARRAY(SELECT rate FROM {table} ORDER BY currency), {names_column} "
            "FROM deals_dealrollup WHERE NOT folded",
            params,
        )
        version, pending, pending_ids, currencies, values, named = cursor.fetchone()
    reporting = settings.PRM["REPORTING_CURRENCY"]
    rates = dict(zip(currencies, values, strict=True))
    rates[reporting] = Decimal(1)
    names = None if names_of is None else _named(named or [])
    return (version or 0, pending, pending_ids or 0), Rates(currency=reporting, rates=rates), names


def _figures_key(
    actor: Actor,
    filters: dict[str, Any],
    rates: Rates,
    partners: int | None,
    offset: int,
    state: tuple[int, int, int],
) -> str:
    """What a vendor's figures are made of and how they are ranked (see :func:`_kept_figures`)."""
    scope = "all" if vendor_sees_all(actor) else sorted(actor.portfolio or ())
    described = repr(
        (
            *state,
            actor.vendor_role,
            sees_partner_business(actor),
            scope,
            sorted((name, str(getattr(value, "pk", value))) for name, value in filters.items()),
            partners,
            offset,
            rates.currency,
            sorted(rates.rates.items()),
        )
    )
    return f"deals:pipeline:2:{hashlib.sha256(described.encode()).hexdigest()}"


def _kept_figures(
    actor: Actor,
    filters: dict[str, Any],
    rates: Rates,
    partners: int | None,
    offset: int,
    state: tuple[int, int, int],
) -> dict[str, Any]:
    """:func:`_figures` of a vendor, from the cache when the figures have not changed since.

    Summing the figures took 80-110 ms a request at a million deals (the ranking of 10,000
    partners above all), the same sums on every request until a deal changes. The key holds
    what the sums are made of: ``state`` (:func:`_state_and_rates`): the rollup's version
    (rollup.VERSION_TABLE: bumped by every fold that merges something, in its transaction) and
    the DealRollup rows not folded yet that this actor's scope sees, counted and their ids summed
    (between two folds they are only ever added, each with a new id; a fold removes them in the
    transaction that bumps the version), read before the figures; and what decides which sums and
    how they are ranked: the scope (every partner, or the portfolio's ids), the vendor role, the
    filters, the slice of the ranking, the exchange rates. So a deal that moves changes the key as
    soon as its change commits, and a report is never made from figures older than the key says.
    Nothing here depends on the language; the names are read per request (:func:`_names_of`)."""
    key = _figures_key(actor, filters, rates, partners, offset, state)
    figures = cache.get(key)
    if figures is None:
        figures = _figures(actor, filters, rates, partners, offset, "")
        figures["converted"] = _converted(figures["tables"], rates)
        cache.set(key, figures, KEPT_SECONDS)
    return figures


# The names of some partners and products, and of every tier (``kind`` "p", "d", "t").
_NAMES_SQL = (
    "SELECT 'p' AS kind, id, legal_name AS name FROM partners_partner WHERE id = ANY(%s) "
    "UNION ALL SELECT 'd', id, name FROM deals_product WHERE id = ANY(%s) "
    "UNION ALL SELECT 't', id, name FROM partners_tier"
)


def _names(partner_ids: Iterable[Any], product_ids: Iterable[Any]) -> Names:
    """The names of these partners and products, and of every tier, in one statement (``"p"``,
    ``"d"``, ``"t"``): read on every request, never kept with the figures, so a renamed partner
    shows renamed at once. Row-level security holds the partners to those the actor sees."""
    return _named(_fetch(_NAMES_SQL, (sorted(partner_ids), sorted(product_ids))))


def _named(rows: Iterable[Sequence[Any]]) -> Names:
    names: Names = {"p": {}, "d": {}, "t": {}}
    for kind, pk, name in rows:
        names[kind][pk] = name
    return names


def _shown_ids(figures: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """The partners (ranked and top) and the products a vendor's report names, sorted."""
    return (
        sorted({row["partner_id"] for row in (*figures["partners"], *figures["top"])}),
        sorted({row["key"] for row in figures["products"]}),
    )


def _names_of(figures: dict[str, Any]) -> Names:
    """The names a vendor's report shows (:func:`_names`): its ranked partners and its products."""
    return _names(*_shown_ids(figures))


def _name(rows: list[dict[str, Any]], id_name: str, names: dict[Any, str]) -> list[dict[str, Any]]:
    """``rows`` keyed by name (``key``) rather than by id; the rows of an id without a name (a
    partner or product gone, as the join to them left out) are left out."""
    return [{**row, "key": names[row[id_name]]} for row in rows if row[id_name] in names]


def _converted(tables: dict[str, list[dict[str, Any]]], rates: Rates) -> dict[str, Any]:
    """The breakdowns that name nothing (status, stage, month, region) in the reporting currency,
    and the currencies without a rate (``unconverted``): kept with a vendor's figures, whose key
    holds the rates (summing the rows of every month by currency was a tenth of the page)."""
    unconverted: set[str] = set()
    converted: dict[str, Any] = {
        "by_status": _convert(_keyed(tables["status"], "status"), rates, unconverted, key="status"),
        "by_stage": _convert(_keyed(tables["stage"], "stage"), rates, unconverted, key="stage"),
        "by_month": [
            {**row, "month": row["month"].isoformat()[:7]}
            for row in sorted(
                _convert(_keyed(tables["month"], "month"), rates, unconverted, key="month"),
                key=lambda row: row["month"],
            )
        ],
        "currencies": sorted({row["currency"] for row in tables["status"]}),
    }
    if "region" in tables:
        converted["by_region"] = _convert(
            _keyed(tables["region"], "partner__region"), rates, unconverted, key="partner__region"
        )
    converted["unconverted"] = unconverted
    return converted


def _report(
    actor: Actor, figures: dict[str, Any], rates: Rates, names: dict[str, dict[Any, str]] | None
) -> dict[str, Any]:
    """The report from ``figures``: converted into the reporting currency and, for a vendor, named
    with ``names`` (:func:`_names_of`, read for this request)."""
    tables = figures["tables"]
    converted = figures.get("converted") or _converted(tables, rates)
    unconverted: set[str] = set(converted["unconverted"])
    report: dict[str, Any] = {
        name: converted[name] for name in ("by_status", "by_stage", "by_month", "currencies")
    }
    if actor.is_vendor:
        if names is None:
            raise TypeError("a vendor's report shows names: pass them (_names_of)")
        tiers = names["t"]
        by_tier = _convert(
            [{**row, "tier": tiers.get(row["key"], "")} for row in tables["tier_id"]],
            rates,
            unconverted,
            key="tier",
        )
        report["by_tier"] = [{"partner__tier__name": row["tier"], **row} for row in by_tier]
        report["by_region"] = converted["by_region"]
        products = [{**row, "product_id": row["key"]} for row in figures["products"]]
        by_product = _convert(
            _keyed(_name(products, "product_id", names["d"]), "product__name"),
            rates,
            set(),
            key="product__name",
        )
        for row in by_product:
            row.pop("product_id", None)
            row.pop("won")  # a line has no won amount
        report["by_product"] = sorted(by_product, key=lambda row: row["value"], reverse=True)

        def named(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            ranked = _convert(_name(rows, "partner_id", names["p"]), rates, set(), key="partner_id")
            return [{"partner__legal_name": row["key"], **row} for row in ranked]

        report["by_partner"] = named(figures["partners"])
        report["top_partners"] = named(figures["top"])[:TOP_PARTNERS]
        report["partner_count"] = figures["total"]
        report["partner_matches"] = figures["matches"]
    report["currency"] = rates.currency
    report["unconverted"] = sorted(unconverted)
    return report


def _keyed(rows: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [{name: row["key"], **row} for row in rows]


def month_start(value: date) -> date:
    return value.replace(day=1)


# --- The partner's pipeline page, kept ------------------------------------------------------------
# A partner admin's page (its context and rendered body) is the same until the partner's figures
# or what frames them change: rendering it was two thirds of the page's CPU, on every request,
# for figures that move when a deal does. How many pages a process keeps (the oldest forgotten
# first; a page is ~20 KB).
PAGES_KEPT = 256
_pages: OrderedDict[str, Any] = OrderedDict()
_pages_lock = threading.Lock()


def kept_partner_page(actor: Actor, shown: tuple[Hashable, ...], build: Callable[[], T]) -> T:
    """``build()`` (the partner pipeline page's context), or what it returned for the same key
    before, in this process. Only for a partner admin, whose page is the partner's figures
    (:func:`uses_rollup`); any other actor's is built each time.

    The key holds what the page shows: the partner and its figures as of now (the rollup's
    version and the partner's rows not folded yet, counted and their ids summed, as
    :func:`_kept_figures` has them: a deal that changes adds such a row as its change commits, and a
    fold that removes them bumps the version in its transaction), the exchange rates and the
    reporting currency; and what frames it (``shown``: the role, the language, the links the
    user may follow). Read before the figures, so a page is never kept under a key newer than
    its figures."""
    if not (actor.is_partner and uses_rollup(actor) and actor.partner_id is not None):
        return build()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_STATE_COLUMNS}, (SELECT string_agg(currency || '=' || rate::text, ',' "
            f"ORDER BY currency) FROM {ExchangeRate._meta.db_table}) "
            "FROM deals_dealrollup WHERE NOT folded AND partner_id = %s",
            (actor.partner_id,),
        )
        state = cursor.fetchone()
    described = repr((actor.partner_id, tuple(state), settings.PRM["REPORTING_CURRENCY"], shown))
    key = hashlib.sha256(described.encode()).hexdigest()
    with _pages_lock:
        page = _pages.get(key)
        if page is not None:
            _pages.move_to_end(key)
            return page
    page = build()
    with _pages_lock:
        _pages[key] = page
        while len(_pages) > PAGES_KEPT:
            _pages.popitem(last=False)
    return page


# --- The vendor's pipeline page, kept ------------------------------------------------------------
# A vendor's page (its context and rendered body) is the same until the figures, the names it shows
# or what frames it change: turning the figures into tables and rendering the 45 KB body were
# two thirds of the page's CPU on every request. How many pages a process keeps (the oldest
# forgotten first; a page, its body and its tables, is 100-200 KB).
VENDOR_PAGES_KEPT = 64


@dataclass(frozen=True)
class _KeptVendorPage:
    figures_key: str  # _figures_key: what the figures were made of
    shown_ids: tuple[list[Any], list[Any]]  # the partners and products named (_shown_ids)
    names: Names  # their names, and the tiers', as the page shows them
    catalogue: object  # the filters' options the page was rendered with
    page: Any


_vendor_pages: OrderedDict[str, _KeptVendorPage] = OrderedDict()


@receiver(setting_changed)
def _forget_vendor_pages(*, setting: str, **kwargs: Any) -> None:
    # The kept pages' words are the catalogs' (the key names the language, not its catalog).
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        with _pages_lock:
            _vendor_pages.clear()


def kept_vendor_page(
    *,
    actor: Actor,
    filters: dict[str, Any],
    partners: int,
    partners_offset: int,
    shown: Hashable,
    catalogue: object,
    build: Callable[[dict[str, Any]], T],
) -> T:
    """``build(report)`` for the vendor's pipeline page (``report``: :func:`pipeline_report` for
    these arguments, without a search of the ranking), or what it returned before in this process
    while nothing the page shows has changed. Only for a vendor whose figures are kept
    (:func:`_kept_for`); anyone else's page is built each time.

    A page is kept in the place of everything that frames it: the scope (every partner, or the
    portfolio's ids), the role, the filters, the slice of the ranking and ``shown`` (the language,
    the query, the links the user may follow). It is served again only if, read now in one
    statement, the figures are what they were (:func:`_figures_key`: their state and the exchange
    rates, as :func:`_kept_figures` keys them), the names of the partners, products and tiers it
    shows are what they were (so a renamed partner shows renamed at once), and the filters' options
    are the very ``catalogue`` object (deals.selectors.filter_choices: a new object once a tier or
    product changes). Otherwise it is built again: the figures from the cache, the names read again
    if other partners or products are shown. ``build`` must print nothing else: no user, no token
    (the CSRF input is put in by the caller)."""
    if not _kept_for(actor):
        return build(
            pipeline_report(actor=actor, filters=filters, partners=partners, partners_offset=partners_offset)
        )
    scope = "all" if vendor_sees_all(actor) else sorted(actor.portfolio or ())
    framed = repr(
        (
            actor.vendor_role,
            scope,
            sorted((name, str(getattr(value, "pk", value))) for name, value in filters.items()),
            partners,
            partners_offset,
            shown,
        )
    )
    place = hashlib.sha256(framed.encode()).hexdigest()
    with _pages_lock:
        last = _vendor_pages.get(place)
    state, rates, names = _state_and_rates(None if last is None else last.shown_ids)
    figures_key = _figures_key(actor, filters, rates, partners, partners_offset, state)
    if (
        last is not None
        and last.figures_key == figures_key
        and last.names == names
        and last.catalogue is catalogue
    ):
        with _pages_lock:
            if place in _vendor_pages:
                _vendor_pages.move_to_end(place)
        return last.page
    figures = _kept_figures(actor, filters, rates, partners, partners_offset, state)
    shown_ids = _shown_ids(figures)
    if names is None or last is None or shown_ids != last.shown_ids:
        names = _names(*shown_ids)
    page = build(_report(actor, figures, rates, names))
    with _pages_lock:
        _vendor_pages[place] = _KeptVendorPage(figures_key, shown_ids, names, catalogue, page)
        _vendor_pages.move_to_end(place)
        while len(_vendor_pages) > VENDOR_PAGES_KEPT:
            _vendor_pages.popitem(last=False)
    return page
