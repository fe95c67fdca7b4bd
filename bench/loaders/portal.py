"""The all-apps data set (issue 11): the deal-registration set (partners, their admin and sales
users, products, deals and lines: ``deal_registration.load_deal_set``, the same rows for the same
seed), then the rest of the people, market development funds, training, incentives and content,
each loader with its own random stream (so adding one never changes another's rows); then the
sequences, the conflict check's name table and ``VACUUM (ANALYZE)``. Each step is timed.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from bench.loaders import content as content_loader
from bench.loaders import deal_registration
from bench.loaders import deals as deal_loader
from bench.loaders import incentives as incentive_loader
from bench.loaders import mdf as mdf_loader
from bench.loaders import partners as partner_loader
from bench.loaders import people as people_loader
from bench.loaders import training as training_loader
from bench.loaders.bulk import reset_sequences, vacuum_analyze
from bench.loaders.money import percent_hundredths
from bench.loaders.timeline import Timeline
from bench.log import log

# Tables whose ids the loaders chose: their sequences move past the loaded ids.
ID_TABLES = (
    *deal_registration.TABLES,
    "partners_partneruserobjectpermission",
    *mdf_loader.TABLES,
    *training_loader.TABLES,
    *incentive_loader.TABLES,
    *content_loader.TABLES,
)
# The loaded tables (for row counts and sizes): the above, products and exchange rates.
TABLES = (*ID_TABLES, "deals_product", "deals_customerkey", "prm_exchangerate")


@dataclass(frozen=True)
class Sizes:
    """The issue's data set; catalogue sizes (courses, assets) are what one vendor has."""

    partners: int = 10_000
    users: int = 100_000
    deals: int = 1_000_000
    companies: int = 300_000
    fund_requests: int = 200_000
    quiz_attempts: int = 1_000_000
    earnings: int = 1_000_000
    downloads: int = 100_000
    courses: int = 40
    assets: int = 2_000

    def scaled(self, factor: float) -> Sizes:
        """Every volume times ``factor`` (the catalogue of courses stays whole: it is small, and
        the learners need enough courses to make their attempts)."""
        if factor == 1:
            return self
        values = {field.name: max(1, round(getattr(self, field.name) * factor)) for field in fields(self)}
        values["courses"] = self.courses
        values["partners"] = max(2, values["partners"])
        values["assets"] = max(50, values["assets"])
        values["users"] = max(values["users"], partner_loader.VENDOR_USERS + 3 * values["partners"] + 3)
        return replace(self, **values)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def check_tables() -> None:
    """Every loader's column list against the models, before anything is written."""
    partner_loader.check_tables()
    deal_loader.check_tables()
    people_loader.check_tables()
    mdf_loader.check_tables()
    training_loader.check_tables()
    incentive_loader.check_tables()
    content_loader.check_tables()


@dataclass
class LoadedPortal:
    sizes: Sizes
    timings: dict[str, float]
    deal_set: deal_registration.DealSet
    people: people_loader.People
    funds: mdf_loader.LoadedFunds
    training: training_loader.LoadedTraining
    incentives: incentive_loader.LoadedIncentives
    content: content_loader.LoadedContent


def load(*, seed: int, sizes: Sizes, chunk: int = 50_000, vacuum: bool = True) -> LoadedPortal:
    """Load the data set into an empty, migrated database (``vacuum=False`` inside a transaction,
    where ``VACUUM`` cannot run: ``ANALYZE`` instead)."""
    from django.db import connection

    from prm.tenancy import system_scope

    check_tables()
    started = time.monotonic()
    timeline = Timeline()
    timings: dict[str, float] = {}

    def timed(name: str, step: float) -> None:
        timings[name] = time.monotonic() - step
        log(f"{name}: {timings[name]:.1f}s")

    deal_set = deal_registration.load_deal_set(
        rng=random.Random(seed),
        timeline=timeline,
        partners=sizes.partners,
        deals=sizes.deals,
        companies=sizes.companies,
        chunk=chunk,
    )
    timings.update(deal_set.timings)
    partners = deal_set.partners
    weights = deal_set.deals.partner_weight

    step = time.monotonic()
    people = people_loader.load_people(
        rng=random.Random(seed + 1), timeline=timeline, partners=partners, weights=weights, users=sizes.users
    )
    timed("people", step)

    step = time.monotonic()
    _load_exchange_rates()
    from partners.models import Tier

    tier_accrual = {
        pk: percent_hundredths(value) for pk, value in Tier.objects.values_list("pk", "mdf_accrual_percent")
    }
    funds_loader = mdf_loader.FundLoader(
        rng=random.Random(seed + 2), timeline=timeline, partners=partners, people=people, weights=weights
    )
    requests = funds_loader.generate(requests=sizes.fund_requests)
    funds = funds_loader.load(requests, won=deal_set.deals.won, tier_accrual=tier_accrual)
    del requests
    timed("mdf", step)

    step = time.monotonic()
    learning = training_loader.TrainingLoader(
        rng=random.Random(seed + 3), timeline=timeline, partners=partners, people=people
    )
    learning.load_catalogue(courses=sizes.courses)
    training = learning.load_progress(attempts=sizes.quiz_attempts)
    timed("training", step)

    step = time.monotonic()
    incentives = incentive_loader.IncentiveLoader(
        rng=random.Random(seed + 4), timeline=timeline, partners=partners, people=people, weights=weights
    ).load(won=deal_set.deals.won, earnings=sizes.earnings)
    timed("incentives", step)

    step = time.monotonic()
    content = content_loader.ContentLoader(
        rng=random.Random(seed + 5), timeline=timeline, partners=partners, people=people, weights=weights
    ).load(assets=sizes.assets, downloads=sizes.downloads)
    timed("content", step)

    step = time.monotonic()
    with system_scope(), connection.cursor() as cursor:
        reset_sequences(cursor, ID_TABLES)
        deal_loader.finish_deals(cursor)
        mdf_loader.finish_funds(cursor)
    if vacuum:
        vacuum_analyze()
    else:
        with system_scope(), connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    timed("sequences+vacuum analyze" if vacuum else "sequences+analyze", step)
    timings["total"] = time.monotonic() - started
    return LoadedPortal(
        sizes=sizes,
        timings=timings,
        deal_set=deal_set,
        people=people,
        funds=funds,
        training=training,
        incentives=incentives,
        content=content,
    )


def _load_exchange_rates() -> None:
    """The demo's rates into the reporting currency, so pages that add currencies convert."""
    from decimal import Decimal

    from prm.demo import RATES
    from prm.models import ExchangeRate

    ExchangeRate.objects.bulk_create(
        [ExchangeRate(currency=currency, rate=Decimal(rate)) for currency, rate in RATES.items()],
        ignore_conflicts=True,
    )


def row_counts(tables: tuple[str, ...] = TABLES) -> list[tuple[str, int]]:
    """Exact ``count(*)`` of each table in the vendor scope (money tables included)."""
    from django.db import connection

    from prm.tenancy import system_scope

    counts = []
    with system_scope(), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts.append((table, cursor.fetchone()[0]))
    return counts


def holds(sizes: Sizes) -> dict[str, Any]:
    """What a database holds of the tables whose sizes a load fixes exactly (to decide whether a
    kept database is this data set)."""
    counts = dict(
        row_counts(
            ("partners_partner", "prm_user", "deals_deal", "mdf_fundrequest", "incentives_earningentry")
        )
    )
    expected = {
        "partners_partner": sizes.partners,
        "prm_user": sizes.users,
        "deals_deal": sizes.deals,
        "mdf_fundrequest": sizes.fund_requests,
        "incentives_earningentry": sizes.earnings,
    }
    return {
        "counts": counts,
        "expected": expected,
        "same": counts == expected,
        "empty": not any(counts.values()),
    }
