"""Deal-registration benchmark: bulk-load partners and deals, then time the conflict check at
submission and the partner deal list page.

    .venv/bin/python bench/deals_bench.py [--partners 10000] [--deals 1000000] [--samples 300] [--keep]

Without ``DATABASE_URL`` it starts the embedded PostgreSQL and Redis exactly like ``bin/portal``
(``bin/launcher.py``'s ``EmbeddedServices``, state under ``var/bench``), creates a fresh
``prm_bench`` database owned by the application role (a non-superuser, RLS binds it), migrates,
loads the data with COPY, measures, and drops the database (and the cluster in ``var/bench``)
again unless ``--keep``. With
``DATABASE_URL`` set it uses that database as it is: it loads only into an empty one and never
drops it. See bench/README.md for the figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import re
import shutil
import signal
import sys
import time
import zlib
from bisect import bisect
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DB = "prm_bench"
DAY = 86400.0

# --- Company-name generator ----------------------------------------------------------------------


def words(text: str) -> list[str]:
    return text.split()


SYLLABLES = words(
    "ac al an ar ax be bra ca cor da del dyn el en ev fa fin gen gra hal in is jo ka kin la lex lu "
    "ma mer mo na nex no nor ob om pa pol qua ra ren ro sa sol ta ter tri ul va ver vi xa ya zen zo"
)
SURNAMES = words(
    "Abbott Becker Carter Dalton Engel Fischer Garcia Hansen Ito Jensen Kowalski Larsen Moreau "
    "Nakamura Olsen Patel Quinn Rossi Schmidt Tanaka Umar Varga Weber Xu Young Zimmer Adams Baker "
    "Clarke Dubois Evans Ferrari Gomez Hughes Ivanov Jones Keller Lambert Martin Novak Ortega Price "
    "Richter Silva Thompson Vogel Walsh Yamamoto Bauer Costa Dahl Eriksen Fontaine Greco Hall Iqbal "
    "Kim Lopez Meyer"
)
ADJECTIVES = words(
    "Blue Northern Global Prime Summit Silver Pacific Atlantic Apex Bright Cedar Coastal Crystal "
    "Delta Eagle Evergreen First Golden Granite Harbor Highland Iron Keystone Lake Liberty "
    "Lighthouse Maple Meridian Metro Midwest Mountain National Nova Oak Omega Pinnacle Pioneer "
    "Quantum Red Redwood Riverside Royal Sapphire Sierra Southern Star Sterling Sun Titan Trinity "
    "United Valley Vertex Vista Western White Wild Zenith"
)
NOUNS = words(
    "River Stone Bridge Peak Field Harbor Rock Wave Point Ridge Forest Gate Line Path Crest Brook "
    "Port Hill Bay Creek Falls Grove Haven Key Lane Mill Park Spring Tower Way Arrow Beacon Canyon "
    "Dune Ember Fjord Glacier Horizon Island Lantern Meadow Orbit Prairie Quarry Signal Summit "
    "Timber Tide Willow"
)
INDUSTRIES = words(
    "Logistics Systems Solutions Technologies Analytics Health Energy Foods Retail Manufacturing "
    "Capital Insurance Pharma Media Telecom Software Networks Consulting Engineering Construction "
    "Motors Airlines Shipping Labs Robotics Bank Hotels Textiles Chemicals Utilities Mining Steel "
    "Apparel Security Cloud Data Devices Semiconductors Biotech Partners Industries Services "
    "Aerospace Agriculture Automotive Brewing Dental Education Finance Games"
)
SUFFIXES = [
    "Inc",
    "Inc.",
    "Ltd",
    "Ltd.",
    "LLC",
    "GmbH",
    "AG",
    "SA",
    "S.A.S.",
    "BV",
    "NV",
    "Oy",
    "AB",
    "plc",
    "Pty Ltd",
    "Corp",
    "Corporation",
    "Co.",
    "KK",
    "Group",
    "",
]
SUFFIX_WEIGHTS = [12, 4, 8, 3, 8, 8, 4, 3, 2, 3, 1, 1, 2, 3, 3, 5, 3, 2, 1, 3, 12]
TLDS = ["com"] * 10 + ["de", "co.uk", "fr", "io", "net", "com.au", "co.jp", "nl", "es", "it"]
FIRST_NAMES = words(
    "Anna Ben Chloe David Emma Felix Grace Hugo Iris Jack Kira Liam Maya Noah Olga Paul Rosa Sven"
)

REGIONS = {
    "na": (["US"] * 5 + ["CA"], ["USD"]),
    "latam": (["BR", "MX", "AR", "CL", "CO"], ["USD"]),
    "emea": (["DE", "GB", "FR", "NL", "ES", "IT", "SE", "PL", "ZA", "AE"], ["EUR", "EUR", "GBP", "CHF"]),
    "apac": (["JP", "AU", "IN", "SG", "KR"], ["USD", "AUD", "JPY", "INR"]),
}
REGION_WEIGHTS = {"na": 40, "emea": 35, "apac": 17, "latam": 8}
PARTNER_TYPES = ["reseller"] * 5 + ["distributor", "isv", "msp", "msp", "referral", "service_provider"]
TIER_WEIGHTS = {"Registered": 50, "Silver": 30, "Gold": 15, "Platinum": 5}
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


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def invented_word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(syllables)).capitalize()


def company_base(rng: random.Random) -> str:
    pattern = rng.random()
    if pattern < 0.45:
        return f"{invented_word(rng, rng.choice((2, 3)))} {rng.choice(INDUSTRIES)}"
    if pattern < 0.55:
        return f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)}"
    if pattern < 0.62:
        return f"{rng.choice(SURNAMES)} {rng.choice(INDUSTRIES)}"
    if pattern < 0.90:
        return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {rng.choice(INDUSTRIES)}"
    return f"{rng.choice(ADJECTIVES)} {invented_word(rng, 2)}"


def with_suffix(rng: random.Random, base: str) -> str:
    suffix = rng.choices(SUFFIXES, SUFFIX_WEIGHTS)[0]
    return f"{base} {suffix}" if suffix else base


def domain_for(base: str, normalise: Any) -> str:
    """The same company (base name) always gets the same domain, whatever its legal suffix."""
    label = normalise(base).replace(" ", "")[:60] or "company"
    return f"{label}.{TLDS[zlib.crc32(base.encode()) % len(TLDS)]}"


class CompanyPool:
    """~``size`` distinct company names; some bases appear with two legal suffixes (as when two
    partners type "Acme Inc" and "ACME Ltd"). Popularity is Zipf-like: big customers are
    registered by many partners."""

    def __init__(self, rng: random.Random, size: int, normalise: Any) -> None:
        entries: list[tuple[str, str]] = []  # (name, base)
        seen: set[str] = set()
        bases: set[str] = set()
        while len(entries) < size:
            base = company_base(rng)
            if base in bases:
                continue
            bases.add(base)
            for _ in range(2 if rng.random() < 0.25 else 1):
                name = with_suffix(rng, base)
                if name not in seen:
                    seen.add(name)
                    entries.append((name, base))
        rng.shuffle(entries)  # popularity rank is the position in the list
        self.names = [name for name, _ in entries]
        self.keys = [normalise(name) for name in self.names]
        self.domains = [domain_for(base, normalise) for _, base in entries]
        # Zipf-like: with 300k names the most popular customer gets ~0.03% of all deals (~300 of
        # 1M) and the top 1,000 customers ~17%; the median name is used a couple of times.
        self.cum_weights = list(accumulate(1.0 / (rank + 500) for rank in range(len(entries))))

    def pick(self, rng: random.Random) -> int:
        return bisect(self.cum_weights, rng.random() * self.cum_weights[-1])


def new_company(rng: random.Random, normalise: Any) -> tuple[str, str]:
    """A customer probably nobody has registered yet (made of the same words, as real names are);
    the caller checks the database."""
    base = f"{invented_word(rng, 3)} {rng.choice(INDUSTRIES)}"
    if rng.random() < 0.3:
        base = f"{rng.choice(ADJECTIVES)} {invented_word(rng, 3)}"
    return with_suffix(rng, base), domain_for(base, normalise)


# --- Statistics ----------------------------------------------------------------------------------
def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def describe(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else float("nan"),
        "mean": sum(values) / len(values) if values else float("nan"),
    }


def fmt(stats: dict[str, float]) -> str:
    return (
        f"n={stats['n']} p50={stats['p50']:.1f} ms  p95={stats['p95']:.1f} ms  "
        f"p99={stats['p99']:.1f} ms  max={stats['max']:.1f} ms  mean={stats['mean']:.1f} ms"
    )


# --- Services and database -------------------------------------------------------------------------
def load_launcher() -> Any:
    spec = importlib.util.spec_from_file_location("prm_launcher", BASE_DIR / "bin" / "launcher.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Services:
    """The embedded servers (only what the environment does not provide) and the bench database."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.embedded = None
        self.admin_uri: str | None = None
        self.own_database = False
        self.reuse = False

    def start(self, partners: int, deals: int) -> None:
        launcher = load_launcher()
        self.embedded = launcher.EmbeddedServices(BASE_DIR / "var" / "bench")
        self.embedded.state_dir.mkdir(parents=True, exist_ok=True)
        if not os.environ.get("DATABASE_URL"):
            app_url = self.embedded.start_postgres()  # also creates the app role (no BYPASSRLS)
            self.admin_uri = self.embedded.postgres.get_uri()
            app_url = app_url.rsplit("/", 1)[0] + "/" + BENCH_DB
            self.own_database = True
            self.reuse = self.keep and self._holds_data(app_url, partners, deals)
            if self.reuse:
                log(f"--keep: reusing database {BENCH_DB} ({partners} partners, {deals} deals)")
            else:
                self._recreate()
            os.environ["DATABASE_URL"] = app_url
        else:
            log("using the PostgreSQL database in DATABASE_URL (never dropped by this script)")
        if not os.environ.get("REDIS_URL"):
            os.environ["REDIS_URL"] = self.embedded.start_redis()

    @staticmethod
    def _holds_data(app_url: str, partners: int, deals: int) -> bool:
        import psycopg

        try:
            with psycopg.connect(app_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
                conn.execute("SELECT set_config('prm.scope', 'vendor', false)")
                (n_partners,) = conn.execute("SELECT count(*) FROM partners_partner").fetchone()
                (n_deals,) = conn.execute("SELECT count(*) FROM deals_deal").fetchone()
        except psycopg.Error:
            return False
        return n_partners == partners and n_deals == deals

    def _recreate(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB} OWNER {load_launcher().APP_ROLE}")
        log(f"created a fresh database {BENCH_DB}")

    def stop(self) -> None:
        if self.own_database and not self.keep and self.admin_uri:
            import psycopg

            try:
                with psycopg.connect(self.admin_uri, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
                log(f"dropped database {BENCH_DB}")
            except psycopg.Error as exc:
                log(f"could not drop {BENCH_DB}: {exc}")
        if self.embedded is not None:
            self.embedded.stop()
            log("stopped the embedded servers")
            if self.own_database and not self.keep:
                # The cluster holds nothing else, but its WAL is ~1 GB after a full load.
                for name in ("pgdata", "redis"):
                    shutil.rmtree(self.embedded.state_dir / name, ignore_errors=True)
                log(f"removed {self.embedded.state_dir.relative_to(BASE_DIR)}/pgdata and redis")


def setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "prm.settings.test"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    log(f"migrated in {time.monotonic() - started:.1f}s")


# --- Bulk load ------------------------------------------------------------------------------------
USER_COLUMNS = (
    "id",
    "password",
    "last_login",
    "is_superuser",
    "email",
    "full_name",
    "vendor_role",
    "is_staff",
    "is_active",
    "date_joined",
    "email_notifications",
)
PARTNER_COLUMNS = (
    "id",
    "legal_name",
    "partner_type",
    "country",
    "region",
    "website_domain",
    "phone",
    "contact_email",
    "logo",
    "status",
    "tier_id",
    "channel_account_manager_id",
    "agreement_version",
    "agreement_accepted_by_id",
    "agreement_accepted_at",
    "created_at",
    "updated_at",
)
MEMBERSHIP_COLUMNS = ("id", "user_id", "partner_id", "role", "is_active", "job_title", "created_at")
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
)
LINE_COLUMNS = ("id", "deal_id", "partner_id", "product_id", "quantity", "unit_price", "amount")
VENDOR_USERS = 21  # user 1: program admin; users 2..21: channel account managers


def check_columns(model: Any, columns: tuple[str, ...]) -> None:
    actual = {field.column for field in model._meta.concrete_fields}
    if actual != set(columns):
        raise SystemExit(
            f"{model._meta.db_table}: the bench's column list is out of date "
            f"(missing {sorted(actual - set(columns))}, unknown {sorted(set(columns) - actual)})"
        )


def copy_rows(cursor: Any, table: str, columns: tuple[str, ...], rows: Any) -> int:
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def partner_user_ids(partner_id: int) -> tuple[int, int]:
    """(admin, sales) user ids of a loaded partner."""
    return VENDOR_USERS + 2 * partner_id - 1, VENDOR_USERS + 2 * partner_id


class Loader:
    def __init__(self, args: argparse.Namespace, rng: random.Random) -> None:
        from django.conf import settings

        from deals.names import normalise_company_name

        self.args = args
        self.rng = rng
        self.normalise = normalise_company_name
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.now_ts = self.now.timestamp()
        self.agreement = settings.PRM["PARTNER_AGREEMENT_VERSION"]
        self.timings: dict[str, float] = {}

    def ts(self, seconds_ago: float) -> datetime:
        return datetime.fromtimestamp(self.now_ts - seconds_ago, tz=UTC)

    def run(self) -> dict[str, Any]:
        from django.db import connection

        from deals.models import Deal, DealLine
        from partners.models import Membership, Partner
        from prm.models import User

        for model, columns in (
            (User, USER_COLUMNS),
            (Partner, PARTNER_COLUMNS),
            (Membership, MEMBERSHIP_COLUMNS),
            (Deal, DEAL_COLUMNS),
            (DealLine, LINE_COLUMNS),
        ):
            check_columns(model, columns)
        started = time.monotonic()
        step = time.monotonic()
        pool = CompanyPool(self.rng, self.args.companies, self.normalise)
        self.timings["name pool"] = time.monotonic() - step
        log(f"{len(pool.names):,} company names generated in {self.timings['name pool']:.1f}s")
        connection.ensure_connection()
        self._load_people_and_partners()
        self._load_products()
        self._load_deals(pool)
        self._finish()
        self.timings["total"] = time.monotonic() - started
        return self.timings

    # Users, partners, memberships.
    def _load_people_and_partners(self) -> None:
        from django.db import connection

        from partners.models import Tier
        from prm.tenancy import system_scope

        step = time.monotonic()
        rng = self.rng
        n = self.args.partners
        tiers = dict(Tier.objects.values_list("name", "id"))
        self.tier_discount = {
            tier_id: str(discount)
            for tier_id, discount in Tier.objects.values_list("id", "deal_registration_discount_percent")
        }
        tier_names = list(TIER_WEIGHTS)
        regions = list(REGION_WEIGHTS)
        self.partner_region: list[str] = [""]
        self.partner_tier: list[int] = [0]
        partner_rows = []
        for pid in range(1, n + 1):
            region = rng.choices(regions, REGION_WEIGHTS.values())[0]
            country = rng.choice(REGIONS[region][0])
            tier_id = tiers[rng.choices(tier_names, TIER_WEIGHTS.values())[0]]
            status = rng.choices(
                ["active", "onboarding", "prospect", "suspended", "terminated"], [88, 4, 2, 3, 3]
            )[0]
            base = f"{invented_word(rng, 2)} {rng.choice(['IT', 'Networks', 'Systems', 'Solutions'])}"
            admin_id, _ = partner_user_ids(pid)
            created = self.ts(rng.uniform(400, 1800) * DAY)
            current = status == "active" or rng.random() < 0.5
            self.partner_region.append(region)
            self.partner_tier.append(tier_id)
            partner_rows.append(
                (
                    pid,
                    f"{base} {pid} {rng.choice(['Inc', 'GmbH', 'Ltd', 'BV', 'Pty Ltd'])}",
                    rng.choice(PARTNER_TYPES),
                    country,
                    region,
                    f"partner{pid}.example",
                    "",
                    f"contact@partner{pid}.example",
                    "",
                    status,
                    tier_id,
                    2 + pid % (VENDOR_USERS - 1),
                    self.agreement if current else "",
                    admin_id if current else None,
                    created + timedelta(days=3) if current else None,
                    created,
                    created,
                )
            )

        def users() -> Any:
            joined = self.ts(2000 * DAY)
            yield (1, "!bench", None, False, "admin@vendor.bench", "Bench Admin", "program_admin",
                   True, True, joined, True)  # fmt: skip
            for uid in range(2, VENDOR_USERS + 1):
                yield (uid, "!bench", None, False, f"cam{uid}@vendor.bench", f"CAM {uid}",
                       "channel_account_manager", False, True, joined, True)  # fmt: skip
            for pid in range(1, n + 1):
                admin_id, sales_id = partner_user_ids(pid)
                yield (admin_id, "!bench", None, False, f"admin@partner{pid}.example", f"Admin {pid}", "",
                       False, True, joined, True)  # fmt: skip
                yield (sales_id, "!bench", None, False, f"sales@partner{pid}.example", f"Sales {pid}", "",
                       False, True, joined, True)  # fmt: skip

        def memberships() -> Any:
            for pid in range(1, n + 1):
                admin_id, sales_id = partner_user_ids(pid)
                created = partner_rows[pid - 1][-1]
                yield (2 * pid - 1, admin_id, pid, "admin", True, "Managing director", created)
                yield (2 * pid, sales_id, pid, "sales", True, "Account executive", created)

        with system_scope():
            cursor = connection.connection.cursor()
            n_users = copy_rows(cursor, "prm_user", USER_COLUMNS, users())
            # The partner tables have forced row-level security, and PostgreSQL refuses COPY FROM
            # into such a table ("COPY FROM not supported with row-level security"): COPY into a
            # temporary table without RLS, then one INSERT ... SELECT, which the vendor scope's
            # WITH CHECK admits.
            for table, columns, rows in (
                ("partners_partner", PARTNER_COLUMNS, partner_rows),
                ("partners_membership", MEMBERSHIP_COLUMNS, memberships()),
            ):
                stage = f"bench_stage_{table}"
                cursor.execute(f"CREATE TEMP TABLE {stage} (LIKE {table}) ON COMMIT DROP")
                copy_rows(cursor, stage, columns, rows)
                cols = ", ".join(columns)
                cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage}")
        self.timings["users+partners+memberships"] = time.monotonic() - step
        log(
            f"{n_users:,} users, {n:,} partners, {2 * n:,} memberships loaded in "
            f"{self.timings['users+partners+memberships']:.1f}s"
        )

    def _load_products(self) -> None:
        from deals.models import Product

        rng = self.rng
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
        self.products = [(p.pk, int(p.list_price)) for p in Product.objects.order_by("pk")]
        log(f"{len(self.products)} products")

    # Deals and lines.
    def _deal_skeletons(self, pool: CompanyPool) -> list[tuple[float, int, int, int]]:
        """(created seconds ago, status index, partner id, company index), oldest first, so ids
        grow with created_at as in production."""
        rng = self.rng
        n_partners = self.args.partners
        # Zipf-like activity: the busiest partner registers ~2% of all deals, the quietest ~30.
        ranks = list(range(1, n_partners + 1))
        rng.shuffle(ranks)
        partner_cum = list(accumulate(1.0 / rank**0.7 for rank in ranks))
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
        for _ in range(self.args.deals):
            status_index = bisect(status_cum, rng.random() * status_cum[-1])
            low, high = age_ranges[statuses[status_index]]
            age = rng.uniform(low, high) * DAY
            partner_id = bisect(partner_cum, rng.random() * partner_cum[-1]) + 1
            skeletons.append((age, status_index, partner_id, pool.pick(rng)))
        skeletons.sort(key=lambda item: -item[0])
        return skeletons

    def _deal_row(self, deal_id: int, skeleton: tuple, pool: CompanyPool, lines: list) -> tuple:
        rng = self.rng
        age, status_index, partner_id, company = skeleton
        status = STATUS_MIX[status_index][0]
        region = self.partner_region[partner_id]
        countries, currencies = REGIONS[region]
        currency = rng.choice(currencies)
        admin_id, sales_id = partner_user_ids(partner_id)
        registered_by = sales_id if rng.random() < 0.7 else admin_id
        name, domain, key = pool.names[company], pool.domains[company], pool.keys[company]
        if status == "draft" and rng.random() < 0.3:
            domain = ""
        # Lines first: the deal's amount is their sum.
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
            reviewed_by = 1 if rng.random() < 0.3 else 2 + partner_id % (VENDOR_USERS - 1)
            if status == "rejected":
                approved = None
                decision_reason = "Duplicate of an existing registration."
            else:
                approved = reviewed
                discount = self.tier_discount[self.partner_tier[partner_id]]
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
                    closed_on = self.ts(rng.uniform(max(0.0, approved - 90 * DAY), approved)).date()
                    stage = "negotiation"
                elif status == "lost":
                    closed_on = self.ts(rng.uniform(max(0.0, approved - 90 * DAY), approved)).date()
                    lost_reason = "Customer chose a competitor."
                elif status == "expired":
                    warnings = "[14, 3]"
        contact = rng.choice(FIRST_NAMES)
        ts = self.ts
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
        )

    def _load_deals(self, pool: CompanyPool) -> None:
        from django.db import connection

        from prm.tenancy import system_scope

        step = time.monotonic()
        skeletons = self._deal_skeletons(pool)
        self.timings["deal skeletons"] = time.monotonic() - step
        log(f"{len(skeletons):,} deal skeletons in {self.timings['deal skeletons']:.1f}s; loading ...")
        step = time.monotonic()
        chunk = self.args.chunk
        line_id = 0
        n_lines = 0
        with connection.cursor() as c:
            # Session-level temporary staging tables (no RLS), emptied at every commit.
            c.execute("CREATE TEMP TABLE bench_stage_deal (LIKE deals_deal) ON COMMIT DELETE ROWS")
            c.execute("CREATE TEMP TABLE bench_stage_line (LIKE deals_dealline) ON COMMIT DELETE ROWS")
        deal_cols = ", ".join(DEAL_COLUMNS)
        line_cols = ", ".join(LINE_COLUMNS)
        for start in range(0, len(skeletons), chunk):
            chunk_started = time.monotonic()
            lines: list[tuple] = []
            rows = [
                self._deal_row(start + offset + 1, skeleton, pool, lines)
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
                copy_rows(cursor, "bench_stage_deal", DEAL_COLUMNS, rows)
                copy_rows(cursor, "bench_stage_line", LINE_COLUMNS, line_rows)
                copied = time.monotonic() - chunk_started - generated
                cursor.execute(
                    f"INSERT INTO deals_deal ({deal_cols}) SELECT {deal_cols} FROM bench_stage_deal"
                )
                cursor.execute(
                    f"INSERT INTO deals_dealline ({line_cols}) SELECT {line_cols} FROM bench_stage_line"
                )
            done = start + len(rows)
            log(
                f"  {done:>9,} deals / {n_lines:>9,} lines  "
                f"(chunk: generate {generated:.1f}s, copy {copied:.1f}s, "
                f"insert+commit {time.monotonic() - chunk_started - generated - copied:.1f}s; "
                f"elapsed {time.monotonic() - step:.0f}s)"
            )
        with connection.cursor() as c:
            c.execute("DROP TABLE bench_stage_deal, bench_stage_line")
        self.n_lines = n_lines
        self.timings["deals+lines"] = time.monotonic() - step

    def _finish(self) -> None:
        from django.db import connection

        from prm.tenancy import system_scope

        step = time.monotonic()
        with system_scope(), connection.cursor() as c:
            for table in (
                "prm_user",
                "partners_partner",
                "partners_membership",
                "deals_deal",
                "deals_dealline",
            ):
                c.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
                )
            c.execute(
                "SELECT setval('deals_reference_seq', "
                "(SELECT coalesce(max(id), 0) + 1001 FROM deals_deal), false)"
            )
            # The conflict check's name table, as deal_submit fills it (one row per distinct name,
            # with its core and descriptors; the table has no row-level security, so COPY works).
            from deals.names import split_company_key

            c.execute("SELECT DISTINCT customer_key FROM deals_deal WHERE customer_key <> ''")
            keys = [row[0] for row in c.fetchall()]
            copy_rows(
                c,
                "deals_customerkey",
                ("key", "core", "descriptors"),
                ((key, *split_company_key(key)) for key in keys),
            )
        # What autovacuum would have done by the time such a table is in use: statistics for the
        # planner and the visibility map for index-only scans.
        with connection.cursor() as c:
            c.execute("VACUUM (ANALYZE)")
        self.timings["sequences+vacuum analyze"] = time.monotonic() - step
        log(f"VACUUM (ANALYZE) in {self.timings['sequences+vacuum analyze']:.1f}s")


def table_sizes() -> list[tuple[str, str, str, str, int]]:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            """
            SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid)),
                   pg_size_pretty(pg_indexes_size(c.oid)), pg_size_pretty(pg_total_relation_size(c.oid)),
                   c.reltuples::bigint
              FROM pg_class c
             WHERE c.relname IN ('deals_deal', 'deals_dealline', 'partners_partner', 'partners_membership',
                                 'prm_user')
             ORDER BY pg_total_relation_size(c.oid) DESC
            """
        )
        return c.fetchall()


def index_sizes() -> list[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            """
            SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid))
              FROM pg_stat_user_indexes WHERE relname = 'deals_deal'
             ORDER BY pg_relation_size(indexrelid) DESC
            """
        )
        return c.fetchall()


# --- Conflict check -------------------------------------------------------------------------------
class ConflictBench:
    def __init__(self, args: argparse.Namespace, rng: random.Random) -> None:
        from deals.names import normalise_company_name
        from partners.forms import normalise_domain

        self.args = args
        self.rng = rng
        self.normalise = normalise_company_name
        self.normalise_domain = normalise_domain

    def _prepare_samples(self, count: int) -> list[dict[str, Any]]:
        """Partners weighted by activity (the partner of a random deal); half the customers are
        existing ones (the customer of another random deal: popular customers come up more
        often), half are new."""
        from deals.models import Deal, Product
        from partners.models import Membership
        from prm.tenancy import system_scope

        rng = self.rng
        with system_scope():
            max_id = Deal.objects.order_by("-pk").values_list("pk", flat=True).first()
            ids = [rng.randint(1, max_id) for _ in range(2 * count)]
            found = {
                row[0]: row[1:]
                for row in Deal.objects.filter(pk__in=ids).values_list(
                    "pk", "partner_id", "customer_name", "customer_domain", "customer_country", "currency"
                )
            }
            new_names: list[tuple[str, str]] = []
            while len(new_names) < count:
                batch = [new_company(rng, self.normalise) for _ in range(count)]
                taken = set(
                    Deal.objects.filter(customer_key__in=[self.normalise(n) for n, _ in batch]).values_list(
                        "customer_key", flat=True
                    )
                ) | set(
                    Deal.objects.filter(customer_domain__in=[d for _, d in batch]).values_list(
                        "customer_domain", flat=True
                    )
                )
                new_names += [(n, d) for n, d in batch if self.normalise(n) not in taken and d not in taken]
            admins = dict(
                Membership.objects.filter(
                    partner_id__in={row[0] for row in found.values()}, role="admin", is_active=True
                ).values_list("partner_id", "user_id")
            )
            products = list(Product.objects.filter(active=True).values_list("pk", "list_price"))
        samples = []
        for index in range(count):
            partner_row = found.get(ids[2 * index])
            customer_row = found.get(ids[2 * index + 1])
            if partner_row is None or customer_row is None or partner_row[0] not in admins:
                continue
            existing = index % 2 == 0
            if existing:
                name, domain = customer_row[1], customer_row[2] or ""
            else:
                name, domain = new_names[index]
            samples.append(
                {
                    "existing": existing,
                    "partner_id": partner_row[0],
                    "user_id": admins[partner_row[0]],
                    "customer_name": name,
                    "customer_domain": self.normalise_domain(domain),
                    "customer_country": customer_row[3] or "US",
                    "currency": customer_row[4],
                    "lines": [
                        (product_id, rng.randint(1, 10), price)
                        for product_id, price in rng.sample(products, rng.choice((1, 2, 3)))
                    ],
                }
            )
        return samples

    def _draft(self, sample: dict[str, Any], number: int) -> Any:
        """The saved draft deal_submit would start from (inside the caller's transaction)."""
        from deals.models import Deal, DealLine

        deal = Deal.objects.create(
            partner_id=sample["partner_id"],
            registered_by_id=sample["user_id"],
            reference=f"BENCH-{number}",
            customer_name=sample["customer_name"],
            customer_domain=sample["customer_domain"],
            customer_key=self.normalise(sample["customer_name"]),
            customer_country=sample["customer_country"],
            currency=sample["currency"],
            expected_close_date=(datetime.now(UTC) + timedelta(days=60)).date(),
        )
        DealLine.objects.bulk_create(
            DealLine(
                deal=deal,
                partner_id=deal.partner_id,
                product_id=product_id,
                quantity=quantity,
                unit_price=price,
                amount=price * quantity,
            )
            for product_id, quantity, price in sample["lines"]
        )
        return deal

    def _measure_one(self, sample: dict[str, Any], number: int) -> dict[str, Any]:
        from django.db import transaction

        from deals import conflicts
        from prm.tenancy import Scope, tenant_scope

        # deal_submit runs in the request's partner scope (ActorMiddleware); find_conflicts opens
        # the vendor scope itself. Everything is rolled back.
        with tenant_scope(Scope.partner(sample["partner_id"])):
            deal = self._draft(sample, number)
            t0 = time.perf_counter()
            conflicts.lock_customer(deal)
            t1 = time.perf_counter()
            # As conflicts.check() does for deal_submit: the similar names, then one query for the
            # partner's own and the other partners' registrations with their shared products.
            keys = conflicts.similar_keys(deal.customer_key) if deal.customer_key else {}
            t2 = time.perf_counter()
            findings = conflicts.find_registrations(deal, keys=keys)
            t3 = time.perf_counter()
            transaction.set_rollback(True)
        return {
            "total": (t3 - t0) * 1000,
            "lock": (t1 - t0) * 1000,
            "keys": (t2 - t1) * 1000,
            "find": (t3 - t2) * 1000,
            "own_found": findings.own is not None,
            "evidence": len(findings.evidence),
            "domain_match": any(item.domain_match for item in findings.evidence),
        }

    def run(self) -> dict[str, Any]:
        samples = self._prepare_samples(self.args.samples + self.args.warmup + 20)
        warmup, samples = samples[: self.args.warmup], samples[self.args.warmup :]
        samples = samples[: self.args.samples]
        started = time.monotonic()
        deadline = started + self.args.check_budget
        for number, sample in enumerate(warmup):
            self._measure_one(sample, 10_000_000 + number)
        results = []
        for number, sample in enumerate(samples):
            results.append(self._measure_one(sample, number))
            if number % 50 == 49:
                log(f"  {number + 1} checks, elapsed {time.monotonic() - started:.0f}s")
            if time.monotonic() > deadline and len(results) >= 20:
                log(f"  time budget of {self.args.check_budget}s used up after {len(results)} checks")
                break
        samples = samples[: len(results)]
        report: dict[str, Any] = {
            "samples": len(results),
            "requested": self.args.samples,
            "warmup": len(warmup),
            "seconds": time.monotonic() - started,
        }
        for part in ("total", "lock", "keys", "find"):
            report[part] = describe([r[part] for r in results])
        for label, subset in (
            ("existing customer", [r for r, s in zip(results, samples, strict=True) if s["existing"]]),
            ("new customer", [r for r, s in zip(results, samples, strict=True) if not s["existing"]]),
        ):
            report[label] = describe([r["total"] for r in subset])
        report["with_conflicts"] = sum(1 for r in results if r["evidence"])
        report["domain_matches"] = sum(1 for r in results if r["domain_match"])
        report["own_found"] = sum(1 for r in results if r["own_found"])
        report["evidence_max"] = max((r["evidence"] for r in results), default=0)
        report["explain"] = self._explain(samples, results)
        return report

    def _explain(self, samples: list[dict[str, Any]], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """EXPLAIN (ANALYZE, BUFFERS) of the candidate queries, exactly as the ORM sends them, for
        the slowest matching sample and one new customer."""
        from django.db import connection, transaction
        from django.test.utils import CaptureQueriesContext

        from deals import conflicts
        from prm.tenancy import Scope, system_scope, tenant_scope

        chosen = []
        matching = [
            (r["total"], i) for i, r in enumerate(results) if r["evidence"] and samples[i]["existing"]
        ]
        if matching:
            chosen.append(("slowest sample with conflicts", samples[max(matching)[1]]))
            chosen.append(("median sample with conflicts", samples[sorted(matching)[len(matching) // 2][1]]))
        new = [i for i, s in enumerate(samples) if not s["existing"]]
        if new:
            chosen.append(("new customer", samples[new[0]]))
        plans = []
        for label, sample in chosen:
            with tenant_scope(Scope.partner(sample["partner_id"])):
                deal = self._draft(sample, 20_000_000 + len(plans))
                conflicts.lock_customer(deal)
                with CaptureQueriesContext(connection) as queries:
                    conflicts.check(deal)
                sql = [q["sql"] for q in queries.captured_queries]
                keys_sql = next(q for q in sql if "deals_customerkey" in q)
                find_sql = next(q for q in sql if "array_position" in q)
                entry = {
                    "label": label,
                    "customer": f"{sample['customer_name']} / {sample['customer_domain']}",
                    "key": deal.customer_key,
                    "queries": len(sql),
                }
                with system_scope(), connection.cursor() as c:
                    c.execute(f"EXPLAIN (ANALYZE, BUFFERS) {keys_sql}")
                    entry["keys_plan"] = "\n".join(row[0] for row in c.fetchall())
                    c.execute(f"EXPLAIN (ANALYZE, BUFFERS) {find_sql}")
                    entry["find_plan"] = "\n".join(row[0] for row in c.fetchall())
                    entry["find_sql"] = find_sql
                transaction.set_rollback(True)
            for part in ("keys_plan", "find_plan"):
                entry[part + "_indexes"] = sorted(
                    set(re.findall(r"on (\w+_idx|\w+_pkey|\w+_like)", entry[part]))
                )
            plans.append(entry)
        return plans


# --- Deal list page -------------------------------------------------------------------------------
class PageBench:
    def __init__(self, args: argparse.Namespace, rng: random.Random) -> None:
        self.args = args
        self.rng = rng

    def _partners(self) -> list[tuple[int, int, int]]:
        """(partner id, admin user id, deals): the busiest active partner and a few random ones."""
        from django.db.models import Count

        from deals.models import Deal
        from partners.models import Membership, Partner
        from prm.tenancy import system_scope

        with system_scope():
            active = set(Partner.objects.filter(status="active").values_list("pk", flat=True))
            counts = dict(
                Deal.objects.order_by()
                .values("partner_id")
                .annotate(n=Count("pk"))
                .values_list("partner_id", "n")
            )
            ranked = sorted((n, pid) for pid, n in counts.items() if pid in active)
            chosen = [ranked[-1][1], ranked[len(ranked) * 9 // 10][1]]
            chosen += self.rng.sample([pid for _, pid in ranked], self.args.page_partners - len(chosen))
            admins = dict(
                Membership.objects.filter(partner_id__in=chosen, role="admin", is_active=True).values_list(
                    "partner_id", "user_id"
                )
            )
        return [(pid, admins[pid], counts[pid]) for pid in chosen]

    def _ensure_access(self, partner_id: int) -> None:
        from django.conf import settings

        from partners.models import Partner
        from prm.tenancy import system_scope

        with system_scope():
            Partner.objects.filter(pk=partner_id).update(
                status="active", agreement_version=settings.PRM["PARTNER_AGREEMENT_VERSION"]
            )

    def run(self) -> dict[str, Any]:
        from django.contrib.auth import get_user_model
        from django.test import Client
        from django.urls import reverse

        url = reverse("deals:list")
        pages = [
            ("first page", url, {}),
            ("?status=approved", f"{url}?status=approved", {"status": "approved"}),
        ]
        report: dict[str, Any] = {"rows": [], "mode": "view"}
        for partner_id, user_id, n_deals in self._partners():
            self._ensure_access(partner_id)
            user = get_user_model().objects.get(pk=user_id)
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            probe = client.get(url)
            if probe.status_code == 404:
                report["mode"] = "selector"
            elif probe.status_code != 200:
                raise SystemExit(f"GET {url} as partner {partner_id}: HTTP {probe.status_code}")
            for label, page_url, filters in pages:
                if report["mode"] == "view":
                    timings, queries, rows = self._time_view(client, page_url)
                else:
                    timings, queries, rows = self._time_selector(user, filters)
                if report["mode"] == "view" and len(report.setdefault("queries", {})) < len(pages):
                    # The SQL of one request per page, for the first (busiest) partner.
                    report["queries"][label] = self.last_queries
                report["rows"].append(
                    {
                        "partner": partner_id,
                        "deals": n_deals,
                        "page": label,
                        "rows": rows,
                        "queries": queries,
                        **describe(timings),
                    }
                )
        if report["mode"] == "selector":
            report["explain"] = self._explain_selector(report["rows"][0]["partner"])
        return report

    def _time_view(self, client: Any, url: str) -> tuple[list[float], int, int]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        for _ in range(self.args.page_warmup):
            client.get(url)
        timings = []
        for _ in range(self.args.page_requests):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        # Data rows of the deals table (the header row is one more <tr>).
        rows = response.content.count(b"<tr") - 1
        self.last_queries = queries.captured_queries
        return timings, len(queries.captured_queries), rows

    def _time_selector(self, user: Any, filters: dict[str, str]) -> tuple[list[float], int, int]:
        """What the page's server side reads: the actor, the scoped transaction, one page of 25
        rows and the total for the pager."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        from deals import selectors
        from partners.middleware import resolve_actor
        from prm.tenancy import tenant_scope

        def one() -> int:
            actor = resolve_actor(user)
            with tenant_scope(actor.scope):
                queryset = selectors.deal_list(actor=actor, filters=filters)
                rows = list(queryset[:25])
                queryset.count()
            return len(rows)

        for _ in range(self.args.page_warmup):
            one()
        timings = []
        for _ in range(self.args.page_requests):
            started = time.perf_counter()
            one()
            timings.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            rows = one()
        return timings, len(queries.captured_queries), rows

    def _explain_selector(self, partner_id: int) -> dict[str, str]:
        from django.db import connection

        from deals import selectors
        from partners.middleware import resolve_actor
        from partners.models import Membership
        from prm.tenancy import system_scope, tenant_scope

        with system_scope():
            user = Membership.objects.select_related("user").get(partner_id=partner_id, role="admin").user
        actor = resolve_actor(user)
        plans = {}
        with tenant_scope(actor.scope):
            for label, filters in (("first page", {}), ("?status=approved", {"status": "approved"})):
                queryset = selectors.deal_list(actor=actor, filters=filters)
                for part, sql_source in (("rows", queryset[:25]), ("count", queryset.order_by())):
                    if part == "count":
                        sql, params = sql_source.values("pk").query.sql_with_params()
                        sql = f"SELECT count(*) FROM ({sql}) counted"
                    else:
                        sql, params = sql_source.query.sql_with_params()
                    with connection.cursor() as c:
                        c.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                        plans[f"{label} / {part}"] = "\n".join(row[0] for row in c.fetchall())
        return plans


# --- Main -----------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    from django.db import connection

    with open("/proc/meminfo") as meminfo:
        total_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    with connection.cursor() as c:
        c.execute("SELECT current_setting('server_version'), current_setting('shared_buffers'), "
                  "current_setting('work_mem'), current_setting('pg_trgm.similarity_threshold', true), "
                  "current_setting('jit')")  # fmt: skip
        version, shared_buffers, work_mem, threshold, jit = c.fetchone()
    return {
        "cpus": str(os.cpu_count()),
        "ram": f"{total_kb / 1024 / 1024:.1f} GiB",
        "postgres": version,
        "shared_buffers": shared_buffers,
        "work_mem": work_mem,
        "pg_trgm.similarity_threshold": threshold or "0.3 (default)",
        "jit": jit,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=300_000, help="distinct customer names")
    parser.add_argument("--samples", type=int, default=300, help="conflict checks to time")
    parser.add_argument("--warmup", type=int, default=10, help="untimed conflict checks first")
    parser.add_argument(
        "--check-budget",
        type=int,
        default=900,
        help="stop timing conflict checks after this many seconds (at least 20 checks)",
    )
    parser.add_argument("--page-partners", type=int, default=4, help="partners whose list page is timed")
    parser.add_argument("--page-requests", type=int, default=50, help="timed requests per page")
    parser.add_argument("--page-warmup", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=50_000, help="deals per COPY transaction")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the loaded database")
    parser.add_argument("--skip-check", action="store_true", help="do not time the conflict check")
    parser.add_argument("--skip-page", action="store_true", help="do not time the deal list page")
    parser.add_argument("--load-only", action="store_true", help="load (use with --keep) and stop")
    return parser.parse_args(argv)


def print_check(check: dict) -> None:
    print(
        f"\nconflict check at submission ({check['samples']} of {check['requested']} samples after "
        f"{check['warmup']} warm-up, {check['seconds']:.0f}s):"
    )
    for part in ("total", "lock", "keys", "find"):
        print(f"  {part:<18} {fmt(check[part])}")
    for label in ("existing customer", "new customer"):
        print(f"  {label:<18} {fmt(check[label])}")
    print(
        f"  samples with conflicts: {check['with_conflicts']} (domain match {check['domain_matches']}), "
        f"own registration found: {check['own_found']}, most evidence rows: {check['evidence_max']}"
    )
    verdict = "MET" if check["total"]["p95"] <= 20 else "MISSED"
    print(f"  target p95 <= 20 ms: {verdict} (p95 {check['total']['p95']:.1f} ms)")


def print_page(page: dict) -> None:
    what = (
        "GET deals:list through django.test.Client (server time in-process)"
        if page["mode"] == "view"
        else "deals.views.deal_list is still a placeholder (404): timed selectors.deal_list "
        "(resolve_actor + tenant_scope + 25 rows + count) instead"
    )
    print(f"\npartner deal list page: {what}")
    for row in page["rows"]:
        print(
            f"  partner {row['partner']:>6} ({row['deals']:>6,} deals) {row['page']:<17} "
            f"rows={row['rows']:<3} queries={row['queries']:<3} p50={row['p50']:.1f} ms  "
            f"p95={row['p95']:.1f} ms  max={row['max']:.1f} ms"
        )
    worst = max(row["p95"] for row in page["rows"])
    print(f"  target p95 <= 50 ms: {'MET' if worst <= 50 else 'MISSED'} (worst p95 {worst:.1f} ms)")


def print_summary(
    args: argparse.Namespace,
    info: dict,
    load: dict | None,
    sizes: list,
    check: dict | None,
    page: dict | None,
) -> None:
    print("\n" + "=" * 100)
    print("SUMMARY")
    print("=" * 100)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
    print(f"data: {args.partners:,} partners, {args.deals:,} deals")
    if load:
        print("load:   " + ", ".join(f"{k} {v:.1f}s" for k, v in load.items()))
    else:
        print("load:   reused (--keep)")
    for name, heap, indexes, total, rows in sizes:
        print(f"  {name:<22} rows~{rows:>10,}  heap {heap:>8}  indexes {indexes:>8}  total {total:>8}")
    if check:
        print_check(check)
    if page:
        print_page(page)
    print("=" * 100)


def stop_on_signal(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Clean up (stop the servers, drop the database) on Ctrl-C and on kill, also when started in
    # the background (where SIGINT arrives ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop_on_signal)
    rng = random.Random(args.seed)
    services = Services(keep=args.keep)
    try:
        services.start(args.partners, args.deals)
        setup_django()
        info = machine()
        log("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()))
        load = None
        if not services.reuse:
            from deals.models import Deal
            from partners.models import Partner
            from prm.tenancy import system_scope

            with system_scope():
                n_deals, n_partners = Deal.objects.count(), Partner.objects.count()
            if args.keep and (n_partners, n_deals) == (args.partners, args.deals):
                log(f"--keep: reusing the data in DATABASE_URL ({n_partners} partners, {n_deals} deals)")
            elif n_deals or n_partners:
                raise SystemExit(
                    f"the database already holds {n_partners} partners and {n_deals} deals: use an empty "
                    "one (or --keep with the same --partners/--deals to reuse a bench load)"
                )
            else:
                load = Loader(args, rng).run()
                log(f"loaded in {load['total']:.1f}s")
        sizes = table_sizes()
        for name, heap, indexes, total, rows in sizes:
            log(f"{name}: ~{rows:,} rows, heap {heap}, indexes {indexes}, total {total}")
        for name, size in index_sizes():
            log(f"  index {name}: {size}")
        if args.load_only:
            return 0

        check = None
        if not args.skip_check:
            log(f"conflict check: {args.samples} samples ...")
            check = ConflictBench(args, rng).run()
            log("conflict check " + fmt(check["total"]))
        for plan in check["explain"] if check else []:
            print(
                f"\n--- EXPLAIN (ANALYZE, BUFFERS): {plan['label']}: {plan['customer']} (key '{plan['key']}')"
            )
            print(f"detection queries: {plan['queries']}")
            print(f"similar_keys, indexes: {plan['keys_plan_indexes']}")
            print(plan["keys_plan"])
            print(f"\nfind_registrations (vendor scope), indexes: {plan['find_plan_indexes']}")
            print(plan["find_sql"])
            print(plan["find_plan"])
        page = None
        if not args.skip_page:
            log("deal list page ...")
            page = PageBench(args, rng).run()
            for label, plan in page.get("explain", {}).items():
                print(f"\n--- EXPLAIN (ANALYZE, BUFFERS) deal list {label}")
                print(plan)
            for label, queries in page.get("queries", {}).items():
                busiest = page["rows"][0]
                print(f"\n--- SQL of one request, partner {busiest['partner']} ", end="")
                print(f"({busiest['deals']:,} deals), {label}")
                for query in queries:
                    print(f"{float(query['time']) * 1000:8.2f} ms  {query['sql'][:300]}")
        print_summary(args, info, load, sizes, check, page)
        return 0
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
