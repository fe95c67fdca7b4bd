"""What the scorecards read besides deals, at the scale of the deal data set: lead offers, MDF
periods, allocations, paid activities with their ledger and attributed deals, certifications and
awards, library downloads, incentive earnings, quarterly ratings, exchange rates and a scorecard
template. Written by SQL in the database (``INSERT ... SELECT`` over ``generate_series``, in the
vendor scope the RLS policies admit), from the partners, members and deals already loaded.

Idempotent per table: a table that already holds rows is left as it is. ``setseed`` makes the
same database get the same rows.
"""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from bench.log import log

# Rows per partner (10,000 partners: 200,000 offers, 500,000 downloads, ...).
LEADS_PER_PARTNER = 20
REQUESTS_PER_PARTNER = 2
DOWNLOADS_PER_PARTNER = 50
CERTIFICATIONS = 6
ASSETS = 60


def _count(cursor: Any, table: str) -> int:
    cursor.execute(f"SELECT count(*) FROM {table}")
    return cursor.fetchone()[0]


def _timed(cursor: Any, label: str, table: str, sql: str, params: dict[str, Any]) -> None:
    if _count(cursor, table):
        log(f"{table}: already loaded, kept")
        return
    started = time.monotonic()
    cursor.execute(sql, params)
    log(f"{label}: {_count(cursor, table):,} rows in {time.monotonic() - started:.1f}s")


# The partners, each with a 1-based row number, and its two members (admin and sales) by role.
PARTNERS = """
    partners AS (
        SELECT p.id, row_number() OVER (ORDER BY p.id) AS rn,
               min(m.user_id) FILTER (WHERE m.role = 'admin') AS admin_id,
               min(m.user_id) FILTER (WHERE m.role <> 'admin') AS other_id
        FROM partners_partner p LEFT JOIN partners_membership m ON m.partner_id = p.id
        GROUP BY p.id
    ),
    total AS (SELECT count(*) AS n FROM partners)
"""

LEADS = f"""
WITH {PARTNERS},
leads AS (
    INSERT INTO deals_lead (company_name, domain, country, region, contact_name, contact_email,
        contact_phone, product_interest, estimated_value, currency, description, status, offered_at,
        respond_by, created_at, assigned_partner_id, created_by_id, deal_id)
    SELECT 'Bench lead ' || g, '', '', 'na', '', '', '', '', NULL, 'USD', '', 'offered',
        offered, offered + interval '48 hours', offered, p.id, NULL, NULL
    FROM (SELECT g, %(now)s::timestamptz - random() * interval '540 days' AS offered
          FROM generate_series(1, %(leads)s) g) s
    JOIN total ON true
    JOIN partners p ON p.rn = 1 + (g::bigint * 7919) %% total.n
    RETURNING id, assigned_partner_id, offered_at
),
drawn AS (SELECT l.*, random() AS r, random() AS h FROM leads l)
INSERT INTO deals_leadoffer (offered_at, respond_by, outcome, responded_at, reason, assigned_manually,
    lead_id, partner_id, responded_by_id)
SELECT offered_at, offered_at + interval '48 hours',
    CASE WHEN r < 0.55 THEN 'accepted' WHEN r < 0.80 THEN 'declined' WHEN r < 0.95 THEN 'timed_out'
         ELSE 'withdrawn' END,
    CASE WHEN r < 0.80 THEN offered_at + h * interval '47 hours'
         ELSE offered_at + interval '48 hours' END,
    '', false, id, assigned_partner_id, NULL
FROM drawn
"""

PERIODS = """
INSERT INTO mdf_fundperiod (name, starts_on, ends_on, closed_at) VALUES
    ('Bench 2026 H1', '2026-01-01', '2026-06-30', NULL),
    ('Bench 2026 H2', '2026-07-01', '2026-12-31', NULL)
"""

BUDGETS = """
INSERT INTO mdf_budget (currency, amount, period_id)
SELECT c, 100000000, p.id FROM mdf_fundperiod p CROSS JOIN (VALUES ('USD'), ('EUR')) cur(c)
WHERE p.name LIKE 'Bench %%'
"""

ALLOCATIONS = f"""
WITH {PARTNERS}
INSERT INTO mdf_allocation (currency, created_at, partner_id, budget_id)
SELECT b.currency, per.starts_on::timestamptz, p.id, b.id
FROM partners p
JOIN mdf_budget b ON b.currency = CASE WHEN p.rn %% 3 = 0 THEN 'EUR' ELSE 'USD' END
JOIN mdf_fundperiod per ON per.id = b.period_id AND per.name LIKE 'Bench %%'
"""

GRANTS = """
INSERT INTO mdf_ledgerentry (kind, amount, currency, idempotency_key, source, memo, created_at,
    actor_id, allocation_id, fund_request_id, partner_id)
SELECT 'allocated', 5000 + (a.partner_id %% 20) * 1000, a.currency, 'bench:allocate:' || a.id, '', '',
    a.created_at, NULL, a.id, NULL, a.partner_id
FROM mdf_allocation a
"""

REQUESTS = f"""
WITH {PARTNERS}
INSERT INTO mdf_fundrequest (reference, activity_type, title, description, start_date, end_date,
    total_cost, requested_amount, currency, expected_leads, status, submission_key,
    short_notice_confirmed, created_at, submitted_at, approved_amount, decided_at, decision_comment,
    needs_program_admin, claim_deadline, allocation_id, decided_by_id, partner_id, requested_by_id)
SELECT 'BMDF-' || a.id || '-' || k, 'event', 'Bench roadshow', 'Bench', per.starts_on + 30 * k,
    per.starts_on + 30 * k + 1, 2000 + k * 500, 1000 + k * 250, a.currency, 10, 'paid', NULL, false,
    per.starts_on::timestamptz, per.starts_on::timestamptz, 1000 + k * 250,
    per.starts_on::timestamptz + interval '2 days', '', false, NULL, a.id, NULL, a.partner_id, p.admin_id
FROM mdf_allocation a
JOIN mdf_budget b ON b.id = a.budget_id
JOIN mdf_fundperiod per ON per.id = b.period_id
JOIN partners p ON p.id = a.partner_id
CROSS JOIN generate_series(1, %(requests)s) k
"""

# Each paid activity: committed, released into a claim, claimed, paid (as mdf.services posts them).
MOVEMENTS = """
INSERT INTO mdf_ledgerentry (kind, amount, currency, idempotency_key, source, memo, created_at,
    actor_id, allocation_id, fund_request_id, partner_id)
SELECT m.kind, r.approved_amount * m.share, r.currency, 'bench:' || m.kind || ':' || r.id, '', '',
    LEAST(r.decided_at + m.after, %(now)s::timestamptz), NULL, r.allocation_id, r.id, r.partner_id
FROM mdf_fundrequest r
CROSS JOIN (VALUES ('committed', 1.0, interval '0 days'), ('released', 1.0, interval '40 days'),
                   ('claimed', 0.9, interval '40 days'), ('paid', 0.9, interval '50 days'))
    AS m(kind, share, after)
WHERE r.reference LIKE 'BMDF-%%'
"""

# One won deal of the same partner for each activity, where the partner has enough.
ATTRIBUTIONS = """
WITH requests AS (
    SELECT r.id, r.partner_id, r.requested_by_id,
        row_number() OVER (PARTITION BY r.partner_id ORDER BY r.id) AS rn
    FROM mdf_fundrequest r WHERE r.reference LIKE 'BMDF-%%'
),
won AS (
    SELECT d.id, d.partner_id,
        row_number() OVER (PARTITION BY d.partner_id ORDER BY d.closed_on DESC, d.id) AS rn
    FROM deals_deal d WHERE d.status = 'won'
)
INSERT INTO incentives_mdfattribution (created_at, attributed_by_id, deal_id, fund_request_id, partner_id)
SELECT %(now)s::timestamptz, r.requested_by_id, w.id, r.id, r.partner_id
FROM requests r JOIN won w ON w.partner_id = r.partner_id AND w.rn = r.rn
"""

CERTIFICATIONS_SQL = """
INSERT INTO training_certification (name, description, validity_months, partner_roles, status)
SELECT 'Bench certification ' || g, '', 24, '{admin,sales,marketing,learner}', 'published'
FROM generate_series(1, %(certifications)s) g
"""

# Each member holds 0 to 3 certifications; some expired, some expiring later.
AWARDS = """
INSERT INTO training_certificationaward (cycle, awarded_at, expires_at, status, verification_code,
    reminders_sent, certification_id, partner_id, user_id)
SELECT 1, awarded, awarded + interval '730 days',
    CASE WHEN awarded + interval '730 days' < %(now)s::timestamptz THEN 'expired' ELSE 'active' END,
    upper(substr(md5(user_id || ':' || certification_id), 1, 12)), '[]',
    certification_id, partner_id, user_id
FROM (
    SELECT m.user_id, m.partner_id, c.id AS certification_id,
        %(now)s::timestamptz - random() * interval '900 days' AS awarded
    FROM partners_membership m
    JOIN training_certification c ON c.name LIKE 'Bench certification %%'
        AND (m.user_id + c.id) %% %(certifications)s < 3 - (m.user_id %% 3)
) held
"""

CATEGORY = "INSERT INTO content_category (name, slug) VALUES ('Bench', 'bench')"

ASSETS_SQL = """
INSERT INTO content_asset (partner_types, regions, publish_at, expires_at, title, description, tags,
    kind, url, status, cobrandable, cobrand_template, search, created_at, updated_at, published_at,
    created_by_id, current_version_id, category_id)
SELECT '{}', '{}', NULL, NULL, 'Bench asset ' || g, '', '{}', 'link', 'https://bench.example/' || g,
    'published', false, '', NULL, %(now)s, %(now)s, %(now)s, NULL, NULL,
    (SELECT id FROM content_category WHERE slug = 'bench')
FROM generate_series(1, %(assets)s) g
"""

DOWNLOADS = f"""
WITH {PARTNERS},
assets AS (
    SELECT id, row_number() OVER (ORDER BY id) AS rn FROM content_asset WHERE title LIKE 'Bench asset %%'
)
INSERT INTO content_assetevent (kind, at, asset_id, partner_id, user_id, version_id)
SELECT CASE WHEN g %% 10 = 0 THEN 'cobranded' WHEN g %% 4 = 0 THEN 'view' ELSE 'download' END,
    %(now)s::timestamptz - random() * interval '540 days',
    a.id, p.id, CASE WHEN g %% 2 = 0 THEN p.admin_id ELSE p.other_id END, NULL
FROM generate_series(1, %(downloads)s) g
JOIN total ON true
JOIN partners p ON p.rn = 1 + (g::bigint * 104729) %% total.n
JOIN assets a ON a.rn = 1 + g %% %(assets)s
"""

PROGRAM = """
INSERT INTO incentives_incentiveprogram (name, kind, status, currency, spif_amount, rebate_percent,
    brackets, starts_on, ends_on, product_lines, created_at, created_by_id)
VALUES ('Bench SPIF', 'spif', 'active', 'USD', 250, NULL, '[]', '2024-01-01', '2027-12-31', '{}',
    %(now)s, NULL)
"""

# An accrual per won deal (2 % of the won amount, in the deal's currency), a reversal for 1 in 50.
EARNINGS = """
INSERT INTO incentives_earningentry (kind, amount, currency, idempotency_key, memo, created_at, actor_id,
    deal_id, partner_id, program_id)
SELECT e.kind, e.sign * round(d.won_amount * 0.02, 2), d.currency, 'bench:' || e.kind || ':' || d.id, '',
    d.closed_on::timestamptz + e.after, NULL, d.id, d.partner_id,
    (SELECT id FROM incentives_incentiveprogram WHERE name = 'Bench SPIF')
FROM deals_deal d
CROSS JOIN (VALUES ('accrual', 1, interval '1 hour'), ('reversal', -1, interval '20 days'))
    AS e(kind, sign, after)
WHERE d.status = 'won' AND d.won_amount IS NOT NULL AND (e.kind = 'accrual' OR d.id %% 50 = 0)
"""

# A rating for each of the last four quarters, by the partner's channel account manager (if any).
RATINGS = """
INSERT INTO partners_partnerassessment (period_start, rating, comment, created_at, updated_at,
    assessed_by_id, partner_id)
SELECT q, 1 + (p.id + extract(month FROM q)::int) %% 5, 'Bench rating', q + interval '80 days',
    q + interval '80 days', p.channel_account_manager_id, p.id
FROM partners_partner p
CROSS JOIN (VALUES (date '2025-10-01'), (date '2026-01-01'), (date '2026-04-01'), (date '2026-07-01'))
    AS qs(q)
"""


def load(*, now: datetime) -> None:
    """Everything above, in one transaction per table, in the system scope."""
    from django.db import connection, transaction

    from prm.tenancy import system_scope

    params = {
        "now": now,
        "leads": 10_000 * LEADS_PER_PARTNER,
        "requests": REQUESTS_PER_PARTNER,
        "downloads": 10_000 * DOWNLOADS_PER_PARTNER,
        "certifications": CERTIFICATIONS,
        "assets": ASSETS,
    }
    with system_scope(), connection.cursor() as cursor:
        (partners,) = _one(cursor, "SELECT count(*) FROM partners_partner")
        params["leads"] = partners * LEADS_PER_PARTNER
        params["downloads"] = partners * DOWNLOADS_PER_PARTNER
        cursor.execute("SELECT setseed(0.2026)")
    steps = [
        ("lead offers", "deals_lead", LEADS),
        ("fund periods", "mdf_fundperiod", PERIODS),
        ("budgets", "mdf_budget", BUDGETS),
        ("allocations", "mdf_allocation", ALLOCATIONS),
        ("allocated funds", "mdf_ledgerentry", GRANTS),
        ("paid activities", "mdf_fundrequest", REQUESTS),
        ("attributed deals", "incentives_mdfattribution", ATTRIBUTIONS),
        ("certifications", "training_certification", CERTIFICATIONS_SQL),
        ("awards", "training_certificationaward", AWARDS),
        ("asset category", "content_category", CATEGORY),
        ("assets", "content_asset", ASSETS_SQL),
        ("downloads", "content_assetevent", DOWNLOADS),
        ("incentive program", "incentives_incentiveprogram", PROGRAM),
        ("earnings", "incentives_earningentry", EARNINGS),
        ("ratings", "partners_partnerassessment", RATINGS),
    ]
    for label, table, sql in steps:
        with transaction.atomic(), system_scope(), connection.cursor() as cursor:
            # Under row-level security PostgreSQL estimates 1 row for every scan of a tenant table
            # (it cannot see through the policy), and then joins two 100,000-row sets in a nested
            # loop: the attribution step ran for over 13 minutes so. Hash joins take seconds.
            cursor.execute("SET LOCAL enable_nestloop = off")
            _timed(cursor, label, table, sql, params)
            if table == "mdf_fundrequest":
                # The activities' ledger goes with them (the ledger table already holds the grants).
                cursor.execute("SELECT count(*) FROM mdf_ledgerentry WHERE fund_request_id IS NOT NULL")
                if not cursor.fetchone()[0]:
                    cursor.execute(MOVEMENTS, params)
    _rates()


def _one(cursor: Any, sql: str) -> tuple:
    cursor.execute(sql)
    return cursor.fetchone()


def _rates() -> None:
    """The demo's exchange rates, where the vendor has none (the deals are in seven currencies)."""
    from prm.demo import RATES
    from prm.models import ExchangeRate

    for currency, rate in RATES.items():
        ExchangeRate.objects.get_or_create(currency=currency, defaults={"rate": Decimal(rate)})


BENCH_TEMPLATE = "Benchmark scorecard"
BENCH_LINES = [
    ("won_revenue", 25, 250000),
    ("deals_registered", 10, 40),
    ("win_rate", 10, 60),
    ("approval_days", 5, 3),
    ("lead_acceptance_rate", 10, 70),
    ("lead_response_hours", 5, 12),
    ("mdf_roi", 10, 5),
    ("certified_people", 10, 2),
    ("content_downloads", 5, 30),
    ("cam_rating", 10, 4),
]


def template() -> None:
    """One template for every partner, over ten KPIs from every app."""
    from partners.models import ScorecardLine, ScorecardTemplate

    made, created = ScorecardTemplate.objects.get_or_create(name=BENCH_TEMPLATE)
    if created:
        ScorecardLine.objects.bulk_create(
            ScorecardLine(template=made, kpi=kpi, weight=Decimal(weight), target=Decimal(target), position=n)
            for n, (kpi, weight, target) in enumerate(BENCH_LINES)
        )
