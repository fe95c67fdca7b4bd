"""The pipeline's figures, maintained instead of recomputed (models.DealRollup, VendorRollup).

Why triggers: the pipeline sums every deal and line in the vendor's scope, which takes seconds at a
million deals. The sums change only when a deal, a line or a partner's tier or region changes, so
PostgreSQL triggers on those tables write the change of the sums (a delta row) in the same
transaction as the change itself. A trigger, not the services, because not every write is a
service: bulk updates, data migrations, the benchmark's loader and the test suite's factories
write deals too, and a figure that misses one of them drifts for good.

What a deal contributes (the one definition; the triggers, :func:`rebuild` and :func:`expected`
all follow it):

* a deal row: 1 deal, its amount and won amount, under its partner, the partner's tier and region,
  its status, stage, currency and month of registration;
* for each product it has lines of, unless it is a draft: 1 deal, its amount and won amount, and
  the value of its lines of that product, under the same key plus the product.

Delta rows are appended, never updated, so concurrent writers never wait on one another for a
figure. :func:`fold` (Celery beat, every minute) merges them: a partner's deal rows into one
``folded`` row per key, and everything (drafts aside) into :class:`~deals.models.VendorRollup`,
the vendor-wide figures by tier and region, and into the coarser tables the pipeline reads
(PartnerTotal, ProductRollup, and per partner without month, status or stage: PARTNER_SUMS,
packed in PartnerPack). A figure is always the sum of the rows, folded or not, so readers never
wait for a fold either.

Row-level security applies to the rollup tables like their sources: a delta row carries its
partner and is written in the scope of the change (a partner writes its own), the vendor-wide
table is vendor-only and written by the fold in the system scope.
"""

# ruff: noqa: S608 -- the SQL here is built from this module's constants only, never from input.
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from prm.tenancy import system_scope

from .models import DealStatus


@dataclass(frozen=True)
class PartnerSums:
    """A per-partner table summed from a partner's DealRollup rows over the key columns it leaves
    out (drafts never: the vendor's readers are its only readers), kept by the fold, filled by
    :func:`rebuild` and checked like the others. ``products``: from the product rows (else the
    deal rows). Tenant-owned (``partner_id``), so a channel account manager reads the portfolio's
    rows through the same policy and row-level security as DealRollup's."""

    table: str
    key: tuple[str, ...]
    measures: tuple[str, ...]
    products: bool

    @property
    def where(self) -> str:
        return f"status <> 'draft' AND product_id IS {'NOT ' if self.products else ''}NULL"


# The portfolio's "by product" (deals.models.PartnerProductTotal).
PARTNER_PRODUCTS = PartnerSums(
    "deals_partnerproducttotal",
    ("partner_id", "product_id", "tier_id", "region", "currency"),
    ("deals", "line_amount"),
    products=True,
)
# A portfolio's breakdowns by status, stage, tier and region (deals.models.PartnerStatusTotal),
# and by month (PartnerMonthTotal).
PARTNER_STATUSES = PartnerSums(
    "deals_partnerstatustotal",
    ("partner_id", "tier_id", "region", "status", "stage", "currency"),
    ("deals", "amount", "won_amount"),
    products=False,
)
PARTNER_MONTHS = PartnerSums(
    "deals_partnermonthtotal",
    ("partner_id", "tier_id", "region", "currency", "month"),
    ("deals", "amount"),
    products=False,
)
PARTNER_SUMS = (PARTNER_PRODUCTS, PARTNER_STATUSES, PARTNER_MONTHS)

# PARTNER_SUMS packed: a row per partner and kind (deals.models.PartnerPack), what a portfolio's
# pipeline reads: each kind's arrays and the column of its table each holds.
PACK_TABLE = "deals_partnerpack"
PACK_ARRAYS = ("product_ids", "statuses", "stages", "currencies", "months", "deals", "amounts", "won_amounts")
PACKS: dict[str, tuple[PartnerSums, dict[str, str]]] = {
    "p": (
        PARTNER_PRODUCTS,
        {"product_ids": "product_id", "currencies": "currency", "deals": "deals", "amounts": "line_amount"},
    ),
    "s": (
        PARTNER_STATUSES,
        {
            "statuses": "status",
            "stages": "stage",
            "currencies": "currency",
            "deals": "deals",
            "amounts": "amount",
            "won_amounts": "won_amount",
        },
    ),
    "m": (
        PARTNER_MONTHS,
        {"months": "month", "currencies": "currency", "deals": "deals", "amounts": "amount"},
    ),
}

ROLLUP_TABLES = (
    "deals_dealrollup",
    "deals_vendorrollup",
    "deals_partnertotal",
    "deals_productrollup",
    *(sums.table for sums in PARTNER_SUMS),
    PACK_TABLE,
)


def _pack(cursor: Any, partners: list[int] | None) -> None:
    """Rewrite the packed rows of ``partners`` (None: every partner) from PARTNER_SUMS."""
    where = "" if partners is None else "WHERE partner_id = ANY(%(partners)s)"
    params = None if partners is None else {"partners": partners}
    cursor.execute(f"DELETE FROM {PACK_TABLE} {where}", params)
    for kind, (sums, arrays) in PACKS.items():
        # No ORDER BY: the aggregates of a group take its rows in one order, so the arrays stay
        # parallel (each one sorted on its own could order the ties differently).
        values = ", ".join(f"array_agg({arrays[name]})" if name in arrays else "'{}'" for name in PACK_ARRAYS)
        cursor.execute(
            f"INSERT INTO {PACK_TABLE} (partner_id, tier_id, region, kind, {', '.join(PACK_ARRAYS)}) "
            f"SELECT partner_id, tier_id, region, '{kind}', {values} FROM {sums.table} {where} "
            "GROUP BY 1, 2, 3",
            params,
        )


def pack_differences() -> list[tuple]:
    """Every figure of the packed rows that differs from PARTNER_SUMS (empty: all the same)."""
    found = []
    with system_scope(), connection.cursor() as cursor:
        for kind, (sums, arrays) in PACKS.items():
            columns = ", ".join(arrays.values())
            cursor.execute(
                f"SELECT p.partner_id, p.tier_id, p.region, u.* FROM {PACK_TABLE} p CROSS JOIN LATERAL "
                f"unnest({', '.join(f'p.{name}' for name in arrays)}) AS u ({columns}) WHERE p.kind = %s",
                [kind],
            )
            held = sorted(cursor.fetchall(), key=str)
            cursor.execute(f"SELECT partner_id, tier_id, region, {columns} FROM {sums.table}")
            expected_rows = sorted(cursor.fetchall(), key=str)
            if held != expected_rows:
                found.append((kind, sorted(set(expected_rows) ^ set(held), key=str)[:20]))
    return found


# pg_advisory_xact_lock key: one fold or rebuild at a time, whoever runs it.
LOCK_KEY = 7_731_001

# How many times the folded tables changed (a fold that merged something, a rebuild, a refill),
# counted in the transaction of the change: one row (id 1). Why: the vendor's pipeline keeps its
# figures in the cache (deals.pipeline._kept_figures) under a key made of this version and of the
# DealRollup rows not folded yet (how many, and the sum of their ids). Between two folds those rows
# are only ever added, each with a new id, and a fold removes them and changes the folded tables in
# one transaction that also bumps this; so any change of a figure (a deal's, as soon as it commits)
# changes the key. A table of this module's SQL like the triggers (migration 0023), not a model: a
# count of folds, not tenant data, and nothing the admin or a page shows.
VERSION_TABLE = "deals_rollupversion"
VERSION_TABLE_SQL = f"CREATE TABLE {VERSION_TABLE} (id integer PRIMARY KEY, version bigint NOT NULL)"


def bump_version(cursor: Any) -> None:
    """Count one more change of the folded tables (VERSION_TABLE), in the transaction that makes
    it. An upsert: the row is made by the first fold."""
    cursor.execute(
        f"INSERT INTO {VERSION_TABLE} (id, version) VALUES (1, 1) "
        f"ON CONFLICT (id) DO UPDATE SET version = {VERSION_TABLE}.version + 1"
    )


MEASURES = ("deals", "amount", "won_amount", "line_amount")
KEY = ("partner_id", "product_id", "tier_id", "region", "status", "stage", "currency", "month")
COLUMNS = ", ".join(KEY + MEASURES)
VENDOR_KEY = ", ".join(KEY[1:])
PARTNER_KEY = ", ".join(name for name in KEY if name != "product_id")
# PartnerTotal: a partner's non-draft deals by currency; ProductRollup: VendorRollup's product
# rows without status and stage (see deals.models).
TOTAL_KEY = "partner_id, tier_id, region, currency"
TOTAL_MEASURES = ("deals", "amount", "won_amount")
TOTAL_SUMS = "sum(deals), sum(amount), coalesce(sum(won_amount) FILTER (WHERE status = 'won'), 0)"
PRODUCT_KEY = "product_id, tier_id, region, currency, month"
PRODUCT_MEASURES = ("deals", "line_amount")


def month_sql(column: str) -> str:
    """The month of a timestamp as the pipeline shows it: Django's TruncMonth in the current time
    zone, which is settings.TIME_ZONE (nothing activates another)."""
    zone = settings.TIME_ZONE.replace("'", "")
    return f"date_trunc('month', {column} AT TIME ZONE '{zone}')::date"


NONZERO = "(sum(deals) <> 0 OR sum(amount) <> 0 OR sum(won_amount) <> 0 OR sum(line_amount) <> 0)"


def _lock_partners(changes: str, what: str) -> str:
    """Statements that hold the partners of ``changes`` (shared) until commit, and refuse a
    change whose partner this scope cannot see (its figures would be lost)."""
    return f"""
    SELECT count(DISTINCT c.partner_id) INTO partners_seen FROM {changes} c;
    -- Writers of a partner's deals hold its row (shared) until they commit, so a change of its
    -- tier or region waits for them and they for it: no delta lands under a tier it just left.
    PERFORM 1 FROM partners_partner
     WHERE id IN (SELECT c.partner_id FROM {changes} c) ORDER BY id FOR SHARE;
    GET DIAGNOSTICS partners_locked = ROW_COUNT;
    IF partners_locked <> partners_seen THEN
        RAISE EXCEPTION 'deals.rollup: a changed {what}''s partner is not visible in this scope';
    END IF;"""


def _deal_sql(changes: str) -> str:
    """A deal statement trigger's body. ``changes``: a subquery of the changed deal rows, each
    with ``sign`` +1 (as it is now) or -1 (as it was)."""
    month = month_sql("c.created_at")
    return f"""
DECLARE
    partners_seen integer;
    partners_locked integer;
BEGIN
    {_lock_partners(changes, "deal")}
    INSERT INTO deals_dealrollup ({COLUMNS}, folded)
    SELECT c.partner_id, NULL::bigint, p.tier_id, p.region, c.status, c.stage, c.currency, {month},
           sum(c.sign), sum(c.sign * c.amount), sum(c.sign * coalesce(c.won_amount, 0)), 0, false
      FROM {changes} c JOIN partners_partner p ON p.id = c.partner_id
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(c.sign) <> 0 OR sum(c.sign * c.amount) <> 0 OR sum(c.sign * coalesce(c.won_amount, 0)) <> 0;
    -- The deal's products, from its lines as they are now (a deal is written before its lines,
    -- but the deferred foreign key would allow the other order too).
    INSERT INTO deals_dealrollup ({COLUMNS}, folded)
    SELECT c.partner_id, s.product_id, p.tier_id, p.region, c.status, c.stage, c.currency, {month},
           sum(c.sign), sum(c.sign * c.amount), sum(c.sign * coalesce(c.won_amount, 0)),
           sum(c.sign * s.line_amount), false
      FROM {changes} c
      JOIN (SELECT l.deal_id, l.product_id, sum(l.amount) AS line_amount FROM deals_dealline l
             WHERE l.deal_id IN (SELECT c.id FROM {changes} c WHERE c.status <> 'draft')
             GROUP BY 1, 2) s ON s.deal_id = c.id
      JOIN partners_partner p ON p.id = c.partner_id
     WHERE c.status <> 'draft'
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(c.sign) <> 0 OR sum(c.sign * c.amount) <> 0 OR sum(c.sign * coalesce(c.won_amount, 0)) <> 0
        OR sum(c.sign * s.line_amount) <> 0;
    RETURN NULL;
END
"""


def _line_sql(changes: str) -> str:
    """A deal line statement trigger's body. ``changes``: a subquery of (deal_id, product_id,
    partner_id, lines, amount) of the changed lines: +1 line (as it is now) or -1 (as it was)."""
    month = month_sql("d.created_at")
    return f"""
DECLARE
    partners_seen integer;
    partners_locked integer;
BEGIN
    {_lock_partners(changes, "line")}
    -- The deals' status, stage and amount are read below: hold them until commit, so that a
    -- concurrent transition cannot move the deal's products without these lines.
    PERFORM 1 FROM deals_deal WHERE id IN (SELECT c.deal_id FROM {changes} c) ORDER BY id FOR SHARE;
    WITH net AS (
        SELECT c.deal_id, c.product_id, sum(c.lines) AS lines, sum(c.amount) AS amount
          FROM {changes} c GROUP BY 1, 2
    ), pairs AS (
        -- Whether the deal has the product now, and had it before: a deal counts once per product.
        -- The lines it has now are counted per pair through the deal's index (LATERAL): a join
        -- of two CTEs has no index, and the planner, which knows no statistics of a transition
        -- table's groups (200, it guesses), joined them by a nested loop, so a statement of
        -- 100,000 lines (a bulk load, an import) compared every pair with every other for hours.
        SELECT net.deal_id, net.product_id, net.amount AS line_amount,
               (now.lines > 0)::int - (now.lines - net.lines > 0)::int AS presence
          FROM net CROSS JOIN LATERAL (
                SELECT count(*) AS lines FROM deals_dealline l
                 WHERE l.deal_id = net.deal_id AND l.product_id = net.product_id
               ) now
    )
    INSERT INTO deals_dealrollup ({COLUMNS}, folded)
    SELECT d.partner_id, s.product_id, p.tier_id, p.region, d.status, d.stage, d.currency, {month},
           sum(s.presence), sum(s.presence * d.amount), sum(s.presence * coalesce(d.won_amount, 0)),
           sum(s.line_amount), false
      FROM pairs s JOIN deals_deal d ON d.id = s.deal_id JOIN partners_partner p ON p.id = d.partner_id
     WHERE d.status <> 'draft'
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    HAVING sum(s.presence) <> 0 OR sum(s.presence * d.amount) <> 0
        OR sum(s.presence * coalesce(d.won_amount, 0)) <> 0 OR sum(s.line_amount) <> 0;
    RETURN NULL;
END
"""


def _contributions_sql(where_deal: str, where_line: str, tier: str, region: str, sign: str) -> str:
    """SELECT of the rollup rows (``COLUMNS``) that the deals matching ``where_deal`` contribute
    (lines: ``where_line``), under ``tier`` / ``region`` (SQL expressions) times ``sign``."""
    month = month_sql("d.created_at")
    return f"""
    SELECT d.partner_id, NULL::bigint AS product_id, {tier} AS tier_id, {region} AS region, d.status,
           d.stage, d.currency, {month} AS month, {sign} * count(*) AS deals,
           {sign} * sum(d.amount) AS amount, {sign} * sum(coalesce(d.won_amount, 0)) AS won_amount,
           0 AS line_amount
      FROM deals_deal d JOIN partners_partner p ON p.id = d.partner_id
     WHERE {where_deal}
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    UNION ALL
    SELECT d.partner_id, s.product_id, {tier}, {region}, d.status, d.stage, d.currency, {month},
           {sign} * count(*), {sign} * sum(d.amount), {sign} * sum(coalesce(d.won_amount, 0)),
           {sign} * sum(s.line_amount)
      FROM (SELECT deal_id, product_id, sum(amount) AS line_amount FROM deals_dealline l
             WHERE {where_line} GROUP BY 1, 2) s
      JOIN deals_deal d ON d.id = s.deal_id JOIN partners_partner p ON p.id = d.partner_id
     WHERE d.status <> 'draft'
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    """


def _partner_sql() -> str:
    """The partner statement trigger: the moved partners' figures go from their old tier / region
    to the new one, all of them in one pass over their deals and lines.

    Set-based because the tier evaluation moves thousands of partners in one UPDATE (partners.
    performance.tier_moves): a row trigger summed each partner's deals separately, ~35 ms each,
    138 s of a 194 s evaluation. The moved partners go into a temporary table first, analysed:
    the planner knows no statistics of a transition table (it guesses 200 rows or so) and joined
    the deals to it by a nested loop; with the true count it picks the partner indexes or a hash
    join as the size calls for. Each deal and line is read once and its sums written twice (-1
    under the old tier and region, +1 under the new)."""
    month = month_sql("d.created_at")
    return f"""
DECLARE
    moved_ids bigint[];
    nestloop text;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE o.tier_id IS DISTINCT FROM n.tier_id OR o.region IS DISTINCT FROM n.region
    ) THEN
        RETURN NULL;  -- a save that rewrote the same tier and region: nothing moves
    END IF;
    IF coalesce(current_setting('prm.scope', true), '') = 'vendor'
       AND coalesce(current_setting('prm.money', true), '') <> 'on' THEN
        -- Its deals are invisible here, so its figures could not move with it.
        RAISE EXCEPTION
            'deals.rollup: a partner''s tier or region changes only in a scope that sees its deals';
    END IF;
    -- Dropped first: a transaction may move partners in several statements (one per tier move).
    DROP TABLE IF EXISTS pg_temp.deals_rollup_moved;
    CREATE TEMP TABLE deals_rollup_moved ON COMMIT DROP AS
    SELECT n.id, o.tier_id AS old_tier_id, o.region AS old_region, n.tier_id, n.region
      FROM new_rows n JOIN old_rows o ON o.id = n.id
     WHERE o.tier_id IS DISTINCT FROM n.tier_id OR o.region IS DISTINCT FROM n.region;
    ANALYZE deals_rollup_moved;
    moved_ids := ARRAY(SELECT id FROM deals_rollup_moved);
    -- The deals and lines are fetched by their partner index (= ANY of the ids), then joined to
    -- one another in memory. The row-level-security policy makes the planner expect one deal
    -- where there are a hundred thousand, so it joined them by a nested loop (250 s for 1,000
    -- partners): hash joins only, for this statement.
    nestloop := current_setting('enable_nestloop');
    PERFORM set_config('enable_nestloop', 'off', true);
    WITH deals AS MATERIALIZED (
        SELECT d.id, d.partner_id, d.status, d.stage, d.currency, {month} AS month, d.amount,
               coalesce(d.won_amount, 0) AS won_amount
          FROM deals_deal d WHERE d.partner_id = ANY(moved_ids)
    ), lines AS MATERIALIZED (
        SELECT l.deal_id, l.product_id, sum(l.amount) AS line_amount
          FROM deals_dealline l WHERE l.partner_id = ANY(moved_ids) GROUP BY 1, 2
    ), sums AS MATERIALIZED (
        SELECT d.partner_id, NULL::bigint AS product_id, d.status, d.stage, d.currency, d.month,
               count(*) AS deals, sum(d.amount) AS amount, sum(d.won_amount) AS won_amount,
               0 AS line_amount
          FROM deals d GROUP BY 1, 2, 3, 4, 5, 6
        UNION ALL
        SELECT d.partner_id, s.product_id, d.status, d.stage, d.currency, d.month,
               count(*), sum(d.amount), sum(d.won_amount), sum(s.line_amount)
          FROM lines s JOIN deals d ON d.id = s.deal_id
         WHERE d.status <> 'draft'
         GROUP BY 1, 2, 3, 4, 5, 6
    )
    INSERT INTO deals_dealrollup ({COLUMNS}, folded)
    SELECT s.partner_id, s.product_id, m.old_tier_id, m.old_region, s.status, s.stage, s.currency,
           s.month, -s.deals, -s.amount, -s.won_amount, -s.line_amount, false
      FROM sums s JOIN deals_rollup_moved m ON m.id = s.partner_id
    UNION ALL
    SELECT s.partner_id, s.product_id, m.tier_id, m.region, s.status, s.stage, s.currency,
           s.month, s.deals, s.amount, s.won_amount, s.line_amount, false
      FROM sums s JOIN deals_rollup_moved m ON m.id = s.partner_id;
    PERFORM set_config('enable_nestloop', nestloop, true);
    RETURN NULL;
END
"""


DEAL_COLUMNS = "id, partner_id, status, stage, currency, created_at, amount, won_amount"
LINE_CHANGE = "deal_id, product_id, partner_id"


def _functions() -> dict[str, str]:
    new_deals = f"SELECT {DEAL_COLUMNS}, 1 AS sign FROM new_rows"
    old_deals = f"SELECT {DEAL_COLUMNS}, -1 AS sign FROM old_rows"
    new_lines = f"SELECT {LINE_CHANGE}, 1 AS lines, amount FROM new_rows"
    old_lines = f"SELECT {LINE_CHANGE}, -1 AS lines, -amount AS amount FROM old_rows"
    return {
        "deals_rollup_deal_insert": _deal_sql(f"({new_deals})"),
        "deals_rollup_deal_update": _deal_sql(f"({new_deals} UNION ALL {old_deals})"),
        "deals_rollup_deal_delete": _deal_sql(f"({old_deals})"),
        "deals_rollup_line_insert": _line_sql(f"({new_lines})"),
        "deals_rollup_line_update": _line_sql(f"({new_lines} UNION ALL {old_lines})"),
        "deals_rollup_line_delete": _line_sql(f"({old_lines})"),
        "deals_rollup_partner_update": _partner_sql(),
    }


def _triggers() -> list[tuple[str, str, str]]:
    """(trigger, table, CREATE TRIGGER tail)."""
    triggers = []
    for table, kind in (("deals_deal", "deal"), ("deals_dealline", "line")):
        for event, referencing in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "NEW TABLE AS new_rows OLD TABLE AS old_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        ):
            name = f"deals_rollup_{kind}_{event.lower()}"
            triggers.append(
                (
                    name,
                    table,
                    f"AFTER {event} ON {table} REFERENCING {referencing} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()",
                )
            )
    triggers.append(
        (
            "deals_rollup_partner_update",
            "partners_partner",
            # Every UPDATE of partners, not "UPDATE OF tier_id, region": PostgreSQL allows no
            # transition tables with a column list. The function returns at once if none moved.
            "AFTER UPDATE ON partners_partner "
            "REFERENCING NEW TABLE AS new_rows OLD TABLE AS old_rows FOR EACH STATEMENT "
            "EXECUTE FUNCTION deals_rollup_partner_update()",
        )
    )
    return triggers


def install() -> None:
    """(Re)create the trigger functions and triggers. Run by the migration that made the tables
    (and by a later one whenever this SQL changes), inside its transaction."""
    with connection.cursor() as cursor:
        for name, body in _functions().items():
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn${body}$fn$"
            )
        for name, table, tail in _triggers():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            cursor.execute(f"CREATE TRIGGER {name} {tail}")


def uninstall() -> None:
    """Drop the triggers and their functions (the migration's way back)."""
    with connection.cursor() as cursor:
        for name, table, _tail in _triggers():
            cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in _functions():
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}()")


def rebuild() -> None:
    """Recompute every figure from the deals, lines and partners as they are. Writers wait
    meanwhile (SHARE locks), so nothing changes between the sums and the triggers taking over.
    For the migration that introduces the rollup and for ``manage.py deals_rollup --rebuild``."""
    with transaction.atomic(), system_scope(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        cursor.execute("LOCK TABLE partners_partner, deals_deal, deals_dealline IN SHARE MODE")
        # The migration that made the first two tables rebuilds before the later two exist.
        tables = set(connection.introspection.table_names(cursor)) & set(ROLLUP_TABLES)
        for table in tables:
            cursor.execute(f"DELETE FROM {table}")
        # Straight into the folded rows and the vendor-wide table: the same as writing every
        # deal's delta and folding them, without the million rows in between.
        everything = _contributions_sql("true", "true", "p.tier_id", "p.region", "1")
        cursor.execute(f"CREATE TEMP TABLE deals_rollup_rebuild ON COMMIT DROP AS {everything}")
        cursor.execute(
            f"INSERT INTO deals_dealrollup ({COLUMNS}, folded) SELECT *, true FROM deals_rollup_rebuild"
        )
        sums = ", ".join(f"sum({name})" for name in MEASURES)
        cursor.execute(
            f"INSERT INTO deals_vendorrollup ({VENDOR_KEY}, {', '.join(MEASURES)}) "
            f"SELECT {VENDOR_KEY}, {sums} FROM deals_rollup_rebuild WHERE status <> 'draft' "
            f"GROUP BY {VENDOR_KEY}"
        )
        if "deals_partnertotal" not in tables:
            return
        cursor.execute(
            f"INSERT INTO deals_partnertotal ({TOTAL_KEY}, {', '.join(TOTAL_MEASURES)}) "
            f"SELECT {TOTAL_KEY}, {TOTAL_SUMS} FROM deals_rollup_rebuild "
            f"WHERE status <> 'draft' AND product_id IS NULL GROUP BY {TOTAL_KEY}"
        )
        cursor.execute(
            f"INSERT INTO deals_productrollup ({PRODUCT_KEY}, {', '.join(PRODUCT_MEASURES)}) "
            f"SELECT {PRODUCT_KEY}, sum(deals), sum(line_amount) FROM deals_rollup_rebuild "
            f"WHERE status <> 'draft' AND product_id IS NOT NULL GROUP BY {PRODUCT_KEY}"
        )
        for partner_sums in PARTNER_SUMS:
            # A migration before the table's own rebuilds without it (the table's migration then
            # fills it: fill_partner_sums).
            if partner_sums.table not in tables:
                continue
            key = ", ".join(partner_sums.key)
            cursor.execute(
                f"INSERT INTO {partner_sums.table} ({key}, {', '.join(partner_sums.measures)}) "
                f"SELECT {key}, {', '.join(f'sum({name})' for name in partner_sums.measures)} "
                f"FROM deals_rollup_rebuild WHERE {partner_sums.where} GROUP BY {key}"
            )
        if PACK_TABLE in tables:
            _pack(cursor, None)
        _bump_if_there(cursor)


def fill_pack() -> None:
    """Fill the packed rows from PARTNER_SUMS (their migration)."""
    with transaction.atomic(), system_scope(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        _pack(cursor, None)
        _bump_if_there(cursor)


def fill_partner_sums(table: str) -> None:
    """Fill a new table of PARTNER_SUMS from the partners' folded rows (its migration): what
    the fold would have added to it had it existed, in seconds where :func:`rebuild` takes minutes
    at a million deals. The rows not folded yet are the readers' to add, as for every table; the
    fold's lock keeps a fold from moving rows meanwhile."""
    sums = next(sums for sums in PARTNER_SUMS if sums.table == table)
    key = ", ".join(sums.key)
    with transaction.atomic(), system_scope(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        cursor.execute(f"DELETE FROM {sums.table}")
        cursor.execute(
            f"INSERT INTO {sums.table} ({key}, {', '.join(sums.measures)}) "
            f"SELECT {key}, {', '.join(f'sum({name})' for name in sums.measures)} "
            f"FROM deals_dealrollup WHERE folded AND {sums.where} GROUP BY {key} "
            f"HAVING {' OR '.join(f'sum({name}) <> 0' for name in sums.measures)}"
        )
        _bump_if_there(cursor)


def fold() -> int:
    """Merge the delta rows written since the last fold (see the module docstring); the number of
    rows merged. Safe to run at any time and from several workers at once (they take turns)."""
    with transaction.atomic(), system_scope(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        return _fold(cursor)


def _fold(cursor: Any) -> int:
    sums = ", ".join(f"sum({name})" for name in MEASURES)
    measures = ", ".join(MEASURES)

    def add(names: Iterable[str]) -> str:
        return ", ".join(f"{name} = r.{name} + EXCLUDED.{name}" for name in names)

    def zero(names: Iterable[str]) -> str:
        return " AND ".join(f"r.{name} = 0" for name in names)

    vendor_key, partner_key = VENDOR_KEY, PARTNER_KEY
    partner_sums = "".join(f", {_partner_sums_cte(index, sums)}" for index, sums in enumerate(PARTNER_SUMS))
    partner_sums_zeros = "".join(
        f", ARRAY(SELECT id FROM partner_sums_{index} WHERE zero)" for index in range(len(PARTNER_SUMS))
    )
    cursor.execute(
        f"""
        WITH moved AS (
            DELETE FROM deals_dealrollup WHERE NOT folded RETURNING {COLUMNS}
        ), vendor AS (
            INSERT INTO deals_vendorrollup AS r ({vendor_key}, {measures})
            SELECT {vendor_key}, {sums} FROM moved WHERE status <> 'draft'
             GROUP BY {vendor_key}
            ON CONFLICT ({vendor_key}) DO UPDATE SET {add(MEASURES)}
            RETURNING r.id, ({zero(MEASURES)}) AS zero
        ), partner AS (
            INSERT INTO deals_dealrollup AS r ({partner_key}, {measures}, folded)
            SELECT {partner_key}, {sums}, true FROM moved WHERE product_id IS NULL
             GROUP BY {partner_key}
            ON CONFLICT ({partner_key}) WHERE folded AND product_id IS NULL DO UPDATE SET {add(MEASURES)}
            RETURNING r.id, ({zero(MEASURES)}) AS zero
        ), partner_product AS (
            INSERT INTO deals_dealrollup AS r ({COLUMNS}, folded)
            SELECT {", ".join(KEY)}, {sums}, true FROM moved WHERE product_id IS NOT NULL
             GROUP BY {", ".join(KEY)}
            ON CONFLICT ({", ".join(KEY)}) WHERE folded AND product_id IS NOT NULL
            DO UPDATE SET {add(MEASURES)}
            RETURNING r.id, ({zero(MEASURES)}) AS zero
        ), total AS (
            INSERT INTO deals_partnertotal AS r ({TOTAL_KEY}, {", ".join(TOTAL_MEASURES)})
            SELECT {TOTAL_KEY}, {TOTAL_SUMS} FROM moved
             WHERE status <> 'draft' AND product_id IS NULL GROUP BY {TOTAL_KEY}
            ON CONFLICT ({TOTAL_KEY}) DO UPDATE SET {add(TOTAL_MEASURES)}
            RETURNING r.id, ({zero(TOTAL_MEASURES)}) AS zero
        ), product AS (
            INSERT INTO deals_productrollup AS r ({PRODUCT_KEY}, {", ".join(PRODUCT_MEASURES)})
            SELECT {PRODUCT_KEY}, sum(deals), sum(line_amount) FROM moved
             WHERE status <> 'draft' AND product_id IS NOT NULL GROUP BY {PRODUCT_KEY}
            ON CONFLICT ({PRODUCT_KEY}) DO UPDATE SET {add(PRODUCT_MEASURES)}
            RETURNING r.id, ({zero(PRODUCT_MEASURES)}) AS zero
        ){partner_sums}
        SELECT (SELECT count(*) FROM moved),
               ARRAY(SELECT id FROM vendor WHERE zero),
               ARRAY(SELECT id FROM partner WHERE zero UNION ALL SELECT id FROM partner_product WHERE zero),
               ARRAY(SELECT id FROM total WHERE zero),
               ARRAY(SELECT id FROM product WHERE zero)
               {partner_sums_zeros},
               ARRAY(SELECT DISTINCT partner_id FROM moved WHERE status <> 'draft')
        """
    )
    moved, *zeros, touched = cursor.fetchone()
    # A figure that came back to nothing (a tier no partner has any more, a product's last line
    # gone) is not kept.
    for table, ids in zip(
        ("deals_vendorrollup", "deals_dealrollup", "deals_partnertotal", "deals_productrollup",
         *(sums.table for sums in PARTNER_SUMS)),
        zeros,
        strict=True,
    ):  # fmt: skip
        if ids:
            cursor.execute(f"DELETE FROM {table} WHERE id = ANY(%s)", [ids])
    if touched:
        # The partners whose figures this fold changed get their packed row rewritten, from the
        # totals as they now are (zeros gone).
        _pack(cursor, touched)
    if moved:
        _bump_if_there(cursor)
    return moved


def _bump_if_there(cursor: Any) -> None:
    # The migrations before the version's table (0023) refill tables too: nothing to bump then.
    if VERSION_TABLE in connection.introspection.table_names(cursor):
        bump_version(cursor)


def _partner_sums_cte(index: int, sums: PartnerSums) -> str:
    """The fold's CTE that adds the merged rows to one of PARTNER_SUMS (``partner_sums_<index>``,
    returning the ids of the rows it brought to zero)."""
    key = ", ".join(sums.key)
    added = ", ".join(f"{name} = r.{name} + EXCLUDED.{name}" for name in sums.measures)
    zero = " AND ".join(f"r.{name} = 0" for name in sums.measures)
    return f"""partner_sums_{index} AS (
            INSERT INTO {sums.table} AS r ({key}, {", ".join(sums.measures)})
            SELECT {key}, {", ".join(f"sum({name})" for name in sums.measures)} FROM moved
             WHERE {sums.where} GROUP BY {key}
            ON CONFLICT ({key}) DO UPDATE SET {added}
            RETURNING r.id, ({zero}) AS zero
        )"""


# --- checking ------------------------------------------------------------------------------------
Figures = dict[tuple, tuple[Decimal, ...]]


def _collect(rows: Iterable[tuple]) -> Figures:
    figures: dict[tuple, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(MEASURES))
    for row in rows:
        key, values = tuple(row[: len(KEY)]), row[len(KEY) :]
        for index, value in enumerate(values):
            figures[key][index] += Decimal(value)
    return {key: tuple(values) for key, values in figures.items() if any(values)}


def _expected_rows() -> list[tuple]:
    with system_scope(), connection.cursor() as cursor:
        cursor.execute(_contributions_sql("true", "true", "p.tier_id", "p.region", "1"))
        return cursor.fetchall()


def expected() -> Figures:
    """Each partner's figures (deal rows and product rows) as its deals say they should be
    (system scope)."""
    return _collect(_expected_rows())


def current() -> Figures:
    """Each partner's figures as the rollup holds them (system scope)."""
    with system_scope(), connection.cursor() as cursor:
        cursor.execute(f"SELECT {COLUMNS} FROM deals_dealrollup")
        return _collect(cursor.fetchall())


# The figures of PartnerTotal and ProductRollup in the shape of the others: the key's columns they
# do not keep are None.
_STATUS, _PRODUCT = KEY.index("status"), KEY.index("product_id")


def _as_total(figures: Figures) -> Figures:
    return _collect(
        (key[0], None, key[2], key[3], None, None, key[6], None, deals, amount,
         won if key[_STATUS] == DealStatus.WON else 0, 0)
        for key, (deals, amount, won, _line) in figures.items()
        if key[_STATUS] != "draft" and key[_PRODUCT] is None
    )  # fmt: skip


def _as_product(figures: Figures) -> Figures:
    return _collect(
        (None, key[1], key[2], key[3], None, None, key[6], key[7], deals, 0, 0, line)
        for key, (deals, _amount, _won, line) in figures.items()
        if key[_STATUS] != "draft" and key[_PRODUCT] is not None
    )


def totals_expected() -> Figures:
    """PartnerTotal's figures as the deals say (won: the won deals' only)."""
    return _as_total(expected())


def totals_current() -> Figures:
    """PartnerTotal plus the rows not folded yet, as readers get them."""
    with system_scope(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT partner_id, NULL, tier_id, region, NULL, NULL, currency, NULL, deals, amount, "
            "won_amount, 0 FROM deals_partnertotal"
        )
        held = cursor.fetchall()
        cursor.execute(f"SELECT {COLUMNS} FROM deals_dealrollup WHERE NOT folded")
        pending = _as_total(_collect(cursor.fetchall()))
    return _collect([*held, *((*key, *values) for key, values in pending.items())])


def products_expected() -> Figures:
    """ProductRollup's figures as the deals say."""
    return _as_product(expected())


def products_current() -> Figures:
    """ProductRollup plus the rows not folded yet, as readers get them."""
    with system_scope(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT NULL, product_id, tier_id, region, NULL, NULL, currency, month, deals, 0, 0, "
            "line_amount FROM deals_productrollup"
        )
        held = cursor.fetchall()
        cursor.execute(f"SELECT {COLUMNS} FROM deals_dealrollup WHERE NOT folded")
        pending = _as_product(_collect(cursor.fetchall()))
    return _collect([*held, *((*key, *values) for key, values in pending.items())])


def _as_partner_sums(figures: Figures, sums: PartnerSums) -> Figures:
    """``figures`` (DealRollup's shape) as ``sums`` keeps them: the key's columns it does not
    keep are None, the measures it does not keep 0."""
    kept = [name in sums.key for name in KEY]
    measured = [name in sums.measures for name in MEASURES]
    return _collect(
        (
            *(value if keep else None for value, keep in zip(key, kept, strict=True)),
            *(value if keep else 0 for value, keep in zip(values, measured, strict=True)),
        )
        for key, values in figures.items()
        if key[_STATUS] != "draft" and (key[_PRODUCT] is not None) == sums.products
    )


def partner_sums_expected(sums: PartnerSums) -> Figures:
    """One of PARTNER_SUMS' figures as the deals say."""
    return _as_partner_sums(expected(), sums)


def partner_sums_current(sums: PartnerSums) -> Figures:
    """One of PARTNER_SUMS' figures as readers get them: its rows plus those not folded yet."""
    columns = ", ".join(
        name if name in sums.key else "NULL" for name in KEY
    ) + ", " + ", ".join(name if name in sums.measures else "0" for name in MEASURES)  # fmt: skip
    with system_scope(), connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {sums.table}")
        held = cursor.fetchall()
        cursor.execute(f"SELECT {COLUMNS} FROM deals_dealrollup WHERE NOT folded")
        pending = _as_partner_sums(_collect(cursor.fetchall()), sums)
    return _collect([*held, *((*key, *values) for key, values in pending.items())])


def all_differences() -> list[tuple]:
    """Every figure of every rollup table that differs from the deals (empty: all exact)."""
    found = (
        differences(expected(), current())
        + differences(vendor_expected(), vendor_current())
        + differences(totals_expected(), totals_current())
        + differences(products_expected(), products_current())
    )
    for sums in PARTNER_SUMS:
        found += differences(partner_sums_expected(sums), partner_sums_current(sums))
    return found + pack_differences()


def vendor_expected() -> Figures:
    """The vendor-wide figures (no partner, no drafts), products too, as the deals say."""
    return _without_partner(_collect(_expected_rows()))


def vendor_current() -> Figures:
    """The vendor-wide figures as readers get them: VendorRollup plus the rows not folded yet."""
    with system_scope(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT NULL, {COLUMNS.removeprefix('partner_id, ')} FROM deals_vendorrollup "
            f"UNION ALL SELECT {COLUMNS} FROM deals_dealrollup WHERE NOT folded AND status <> 'draft'"
        )
        return _without_partner(_collect(cursor.fetchall()))


def _without_partner(figures: Figures) -> Figures:
    return _collect(
        (None, *key[1:], *values) for key, values in figures.items() if key[KEY.index("status")] != "draft"
    )


def differences(expected_figures: Figures, current_figures: Figures) -> list[tuple]:
    """(key, expected, held) of every figure that differs."""
    keys = expected_figures.keys() | current_figures.keys()
    zero = (Decimal(0),) * len(MEASURES)
    return sorted(
        (
            (key, expected_figures.get(key, zero), current_figures.get(key, zero))
            for key in keys
            if expected_figures.get(key, zero) != current_figures.get(key, zero)
        ),
        key=str,
    )
