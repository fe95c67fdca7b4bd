"""Products, deals with their lines, and the conflict check's name table (``deals_customerkey``).

Partners are Zipf-like in activity (the busiest registers ~2 % of all deals), customers come from a
``bench.names.CompanyPool`` (so the same customer is registered by many partners), statuses follow
``STATUS_MIX`` with consistent timestamps, and ids grow with ``created_at`` as in production.
Deals go in chunks, each one transaction through session-level staging tables (``deals_deal`` and
``deals_dealline`` have row-level security: see ``bench.loaders.bulk``).
"""

from __future__ import annotations

import random
import time
from bisect import bisect
from datetime import date
from itertools import accumulate
from typing import Any

from bench.loaders.bulk import check_columns, copy_rows, create_stage, insert_from_stage
from bench.loaders.partners import REGIONS, LoadedPartners, channel_account_manager_id, partner_user_ids
from bench.loaders.timeline import DAY, Timeline
from bench.log import log
from bench.names import FIRST_NAMES, CompanyPool

DEAL_COLUMNS = (
    "id",
    "partner_id",
    "registered_by_id",
    "reference",
    "customer_name",
    "customer_domain",
    "customer_key",
    "customer_country",
    "customer_region",
    "contact_name",
    "contact_email",
    "contact_phone",
    "title",
    "stage",
    "expected_close_date",
    "currency",
    "amount",
    "notes",
    "status",
    "conflict_status",
    "submission_key",
    "created_at",
    "updated_at",
    "submitted_at",
    "first_submitted_at",
    "review_due_at",
    "review_reminder_sent_at",
    "reviewed_by_id",
    "reviewed_at",
    "decision_reason",
    "approved_at",
    "protection_expires_at",
    "discount_percent",
    "extensions_used",
    "expiry_warnings_sent",
    "won_amount",
    "closed_on",
    "lost_reason",
    "won_claimed_at",
    "won_checks",
    "won_reviewed_by_id",
    "won_reviewed_at",
    "won_review_reason",
)
LINE_COLUMNS = ("id", "deal_id", "partner_id", "product_id", "quantity", "unit_price", "amount")
PRODUCT_LINES = ["Networking", "Security", "Storage", "Cloud", "Collaboration"]

# Status mix of the loaded deals (the brief: ~40% approved, 15% submitted, 10% draft, 20% won,
# 10% lost, 5% expired/rejected).
STATUS_MIX = [
    ("approved", 40),
    ("submitted", 15),
    ("draft", 10),
    ("won", 20),
    ("lost", 10),
    ("expired", 3),
    ("rejected", 2),
]
STAGES = ["prospecting", "qualification", "proposal", "negotiation"]


def check_tables() -> None:
    from deals.models import Deal, DealLine

    for model, columns in ((Deal, DEAL_COLUMNS), (DealLine, LINE_COLUMNS)):
        check_columns(model, columns)


def load_products(*, rng: random.Random) -> list[tuple[int, int]]:
    """30 products (27 active); (id, list price) of each."""
    from deals.models import Product

    products = [
        Product(
            name=f"{line} {model} {size}",
            sku=f"BENCH-{line[:3].upper()}-{index:03d}",
            product_line=line,
            list_price=rng.choice([500, 1200, 2500, 4800, 9900, 15000, 24000, 60000]),
            currency="USD",
            active=index < 27,
        )
        for index, (line, model, size) in enumerate(
            (line, model, size)
            for line in PRODUCT_LINES
            for model in ("Edge", "Core")
            for size in ("S", "M", "L")
        )
    ]
    Product.objects.bulk_create(products)
    return [(p.pk, int(p.list_price)) for p in Product.objects.order_by("pk")]


class DealLoader:
    def __init__(
        self,
        *,
        rng: random.Random,
        timeline: Timeline,
        partners: LoadedPartners,
        products: list[tuple[int, int]],
        pool: CompanyPool,
    ) -> None:
        self.rng = rng
        self.timeline = timeline
        self.partners = partners
        self.products = products
        self.pool = pool
        self.partner_weight: list[float] = []
        # Won deals as the incentives and co-op loaders need them, collected while generating
        # (no read-back): (id, partner id, currency, won amount, closed_on, product ids).
        self.won: list[tuple[int, int, str, int, date, tuple[int, ...]]] = []

    def skeletons(self, *, deals: int) -> list[tuple[float, int, int, int]]:
        """(created seconds ago, status index, partner id, company index), oldest first, so ids
        grow with created_at as in production."""
        rng = self.rng
        n_partners = self.partners.count
        # Zipf-like activity: the busiest partner registers ~2% of all deals, the quietest ~30.
        ranks = list(range(1, n_partners + 1))
        rng.shuffle(ranks)
        partner_cum = list(accumulate(1.0 / rank**0.7 for rank in ranks))
        # The same activity for the other apps' loaders (index = partner id): a partner busy with
        # deals also has the larger team, more fund requests and more learners.
        self.partner_weight = [0.0] + [1.0 / rank**0.7 for rank in ranks]
        status_cum = list(accumulate(weight for _, weight in STATUS_MIX))
        age_ranges = {
            "draft": (0.0, 60.0),
            "submitted": (0.05, 14.0),
            "approved": (1.0, 140.0),  # refined below from the approval date
            "won": (40.0, 730.0),
            "lost": (40.0, 730.0),
            "expired": (125.0, 730.0),
            "rejected": (3.0, 730.0),
        }
        statuses = [name for name, _ in STATUS_MIX]
        skeletons = []
        for _ in range(deals):
            status_index = bisect(status_cum, rng.random() * status_cum[-1])
            low, high = age_ranges[statuses[status_index]]
            age = rng.uniform(low, high) * DAY
            partner_id = bisect(partner_cum, rng.random() * partner_cum[-1]) + 1
            skeletons.append((age, status_index, partner_id, self.pool.pick(rng)))
        skeletons.sort(key=lambda item: -item[0])
        return skeletons

    def row(self, deal_id: int, skeleton: tuple, lines: list) -> tuple:
        rng = self.rng
        age, status_index, partner_id, company = skeleton
        status = STATUS_MIX[status_index][0]
        region = self.partners.region[partner_id]
        countries, currencies = REGIONS[region]
        currency = rng.choice(currencies)
        admin_id, sales_id = partner_user_ids(partner_id)
        registered_by = sales_id if rng.random() < 0.7 else admin_id
        name, domain, key = self.pool.names[company], self.pool.domains[company], self.pool.keys[company]
        if status == "draft" and rng.random() < 0.3:
            domain = ""
        # Lines first: the deal's amount is their sum.
        first_line = len(lines)
        amount = 0
        for _ in range(rng.choice((1, 2, 2, 3))):
            product_id, list_price = rng.choice(self.products)
            quantity = rng.randint(1, 20)
            unit_price = int(list_price * rng.uniform(0.7, 1.0))
            amount += quantity * unit_price
            lines.append(
                (deal_id, partner_id, product_id, quantity, f"{unit_price}.00", f"{quantity * unit_price}.00")
            )
        created = age
        submitted = first_submitted = review_due = reviewed = approved = protection = None
        reviewed_by = discount = won_amount = closed_on = None
        extensions = 0
        warnings = "[]"
        conflict_status = "none"
        decision_reason = lost_reason = ""
        stage = rng.choice(STAGES)
        if status == "draft":
            stage = rng.choice(STAGES[:2])
        elif status == "submitted":
            submitted = created - rng.uniform(0, min(created, 2 * DAY))
            review_due = submitted - 2.5 * DAY
            conflict_status = "under_review" if rng.random() < 0.08 else "none"
        else:
            submitted = created - rng.uniform(0.01, 2) * DAY
            reviewed = submitted - rng.uniform(0.05, 1) * DAY
            review_due = submitted - 2.5 * DAY
            reviewed_by = 1 if rng.random() < 0.3 else channel_account_manager_id(partner_id)
            if status == "rejected":
                approved = None
                decision_reason = "Duplicate of an existing registration."
            else:
                approved = reviewed
                discount = self.partners.tier_discount[self.partners.tier[partner_id]]
                if status == "approved":
                    # Approved over the last 120 days: protection (90 days, +30 when extended)
                    # ends between ~30 days ago and 120 days ahead.
                    approved = rng.uniform(0, 120) * DAY
                    reviewed = approved
                    submitted = approved + rng.uniform(0.05, 3) * DAY
                    review_due = submitted - 2.5 * DAY
                    created = submitted + rng.uniform(0, 15) * DAY
                    conflict_status = "cleared" if rng.random() < 0.05 else "none"
                extensions = 1 if rng.random() < 0.1 else 0
                protection = approved - (90 + 30 * extensions) * DAY
                if status == "won":
                    won_amount = f"{amount}.00"
                    closed_on = self.timeline.ts(rng.uniform(max(0.0, approved - 90 * DAY), approved)).date()
                    stage = "negotiation"
                    products = tuple(line[2] for line in lines[first_line:])
                    self.won.append((deal_id, partner_id, currency, amount, closed_on, products))
                elif status == "lost":
                    closed_on = self.timeline.ts(rng.uniform(max(0.0, approved - 90 * DAY), approved)).date()
                    lost_reason = "Customer chose a competitor."
                elif status == "expired":
                    warnings = "[14, 3]"
        contact = rng.choice(FIRST_NAMES)
        ts = self.timeline.ts
        return (
            deal_id,
            partner_id,
            registered_by,
            f"DR-{1000 + deal_id:06d}",
            name,
            domain,
            key,
            rng.choice(countries),
            region,
            f"{contact} Buyer",
            f"{contact.lower()}.buyer@{domain or 'example.com'}",
            "",
            f"{rng.choice(PRODUCT_LINES)} refresh",
            stage,
            ts(created - rng.uniform(30, 180) * DAY).date(),
            currency,
            f"{amount}.00",
            "",
            status,
            conflict_status,
            None,
            ts(created),
            ts(min(created, reviewed or created)),
            ts(submitted) if submitted is not None else None,
            ts(submitted) if submitted is not None and first_submitted is None else None,
            ts(review_due) if review_due is not None else None,
            None,
            reviewed_by,
            ts(reviewed) if reviewed is not None else None,
            decision_reason,
            ts(approved) if approved is not None else None,
            ts(protection) if protection is not None else None,
            discount,
            extensions,
            warnings,
            won_amount,
            closed_on,
            lost_reason,
            # A loaded win was reported at its close and passed every check (nothing to confirm).
            ts(approved) if won_amount is not None else None,
            "[]",
            None,
            None,
            "",
        )

    def load(self, skeletons: list[tuple[float, int, int, int]], *, chunk: int) -> int:
        """COPY the deals of ``skeletons`` and their lines, ``chunk`` deals per transaction; the
        number of lines."""
        from django.db import connection

        from prm.tenancy import system_scope

        started = time.monotonic()
        line_id = 0
        n_lines = 0
        with connection.cursor() as c:
            # Session-level temporary staging tables (no RLS), emptied at every commit.
            deal_stage = create_stage(c, "deals_deal", on_commit="DELETE ROWS")
            line_stage = create_stage(c, "deals_dealline", on_commit="DELETE ROWS")
        for start in range(0, len(skeletons), chunk):
            chunk_started = time.monotonic()
            lines: list[tuple] = []
            rows = [
                self.row(start + offset + 1, skeleton, lines)
                for offset, skeleton in enumerate(skeletons[start : start + chunk])
            ]
            generated = time.monotonic() - chunk_started
            line_rows = []
            for line in lines:
                line_id += 1
                line_rows.append((line_id, *line))
            n_lines += len(line_rows)
            with system_scope():
                cursor = connection.connection.cursor()
                copy_rows(cursor, deal_stage, DEAL_COLUMNS, rows)
                copy_rows(cursor, line_stage, LINE_COLUMNS, line_rows)
                copied = time.monotonic() - chunk_started - generated
                insert_from_stage(cursor, "deals_deal", deal_stage, DEAL_COLUMNS)
                insert_from_stage(cursor, "deals_dealline", line_stage, LINE_COLUMNS)
                # Emptied at once, not only at commit: inside a caller's transaction (a test's)
                # there is no commit between chunks.
                cursor.execute(f"TRUNCATE {deal_stage}, {line_stage}")
            done = start + len(rows)
            log(
                f"  {done:>9,} deals / {n_lines:>9,} lines  "
                f"(chunk: generate {generated:.1f}s, copy {copied:.1f}s, "
                f"insert+commit {time.monotonic() - chunk_started - generated - copied:.1f}s; "
                f"elapsed {time.monotonic() - started:.0f}s)"
            )
        with connection.cursor() as c:
            c.execute(f"DROP TABLE {deal_stage}, {line_stage}")
        return n_lines


def finish_deals(cursor: Any) -> None:
    """After the deals (in the vendor scope): the reference sequence past the loaded deals, and the
    conflict check's name table as deal_submit fills it (one row per distinct name, with its core
    and descriptors; the table has no row-level security, so COPY works)."""
    from deals.names import split_company_key

    cursor.execute(
        "SELECT setval('deals_reference_seq', (SELECT coalesce(max(id), 0) + 1001 FROM deals_deal), false)"
    )
    cursor.execute("SELECT DISTINCT customer_key FROM deals_deal WHERE customer_key <> ''")
    keys = [row[0] for row in cursor.fetchall()]
    copy_rows(
        cursor,
        "deals_customerkey",
        ("key", "core", "descriptors"),
        ((key, *split_company_key(key)) for key in keys),
    )
