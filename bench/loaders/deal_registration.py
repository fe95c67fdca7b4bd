"""The deal-registration data set: 300,000 company names, vendor users, partners and their
members, products, deals and lines (the loaders in this package, in that order), then sequences and
``VACUUM (ANALYZE)``; each step timed. ``load_deal_set`` is the part the all-apps data set
(``bench.loaders.portal``) builds on."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench.loaders import deals as deal_loader
from bench.loaders import partners as partner_loader
from bench.loaders.bulk import reset_sequences, vacuum_analyze
from bench.loaders.timeline import Timeline
from bench.log import log
from bench.names import CompanyPool

TABLES = ("prm_user", "partners_partner", "partners_membership", "deals_deal", "deals_dealline")


@dataclass
class DealSet:
    """What a load of partners and deals leaves for the loaders that build on it."""

    timeline: Timeline
    partners: partner_loader.LoadedPartners
    products: list[tuple[int, int]]
    deals: deal_loader.DealLoader
    timings: dict[str, float]


# The pipeline roll-up's insert triggers fold every COPY chunk into the figures as it lands: right
# for the portal's writes, but 144-253 s per chunk of 50,000 deals here (about an hour for the
# million). The load switches them off (the tables' owner may) and rebuilds the figures once from
# the loaded rows, which is what the triggers would have summed (deals.rollup.rebuild).
ROLLUP_INSERT_TRIGGERS = (
    ("deals_deal", "deals_rollup_deal_insert"),
    ("deals_dealline", "deals_rollup_line_insert"),
)


@contextmanager
def rollup_triggers_off() -> Iterator[None]:
    from django.db import connection

    def switch(state: str) -> None:
        with connection.cursor() as cursor:
            for table, trigger in ROLLUP_INSERT_TRIGGERS:
                cursor.execute(f"ALTER TABLE {table} {state} TRIGGER {trigger}")

    if connection.in_atomic_block:
        # A load inside a transaction (tests/bench/test_loaders.py, at 1/1000) keeps them on: it is
        # small, and ALTER TABLE refuses to run while the transaction's deferred foreign-key checks
        # are pending. The rebuild after it gives the same figures either way.
        yield
        return
    switch("DISABLE")
    try:
        yield
    finally:
        switch("ENABLE")


def load_deal_set(
    *, rng: random.Random, timeline: Timeline, partners: int, deals: int, companies: int, chunk: int
) -> DealSet:
    """Names, users, partners, memberships, products, deals and lines into an empty database (no
    sequences, no VACUUM: the caller finishes); each step timed."""
    from django.db import connection

    from deals.names import normalise_company_name

    partner_loader.check_tables()
    deal_loader.check_tables()
    timings: dict[str, float] = {}
    step = time.monotonic()
    pool = CompanyPool(rng, companies, normalise_company_name)
    timings["name pool"] = time.monotonic() - step
    log(f"{len(pool.names):,} company names generated in {timings['name pool']:.1f}s")
    connection.ensure_connection()

    step = time.monotonic()
    loaded = partner_loader.load_partners(rng=rng, timeline=timeline, partners=partners)
    timings["users+partners+memberships"] = time.monotonic() - step
    log(
        f"{loaded.users:,} users, {partners:,} partners, {2 * partners:,} memberships loaded in "
        f"{timings['users+partners+memberships']:.1f}s"
    )

    products = deal_loader.load_products(rng=rng)
    log(f"{len(products)} products")

    loader = deal_loader.DealLoader(rng=rng, timeline=timeline, partners=loaded, products=products, pool=pool)
    step = time.monotonic()
    skeletons = loader.skeletons(deals=deals)
    timings["deal skeletons"] = time.monotonic() - step
    log(f"{len(skeletons):,} deal skeletons in {timings['deal skeletons']:.1f}s; loading ...")
    step = time.monotonic()
    with rollup_triggers_off():
        loader.load(skeletons, chunk=chunk)
    timings["deals+lines"] = time.monotonic() - step
    step = time.monotonic()
    from deals import rollup

    rollup.rebuild()
    timings["pipeline rollup rebuild"] = time.monotonic() - step
    log(f"pipeline rollup rebuilt in {timings['pipeline rollup rebuild']:.1f}s")
    return DealSet(timeline=timeline, partners=loaded, products=products, deals=loader, timings=timings)


def load(*, rng: random.Random, partners: int, deals: int, companies: int, chunk: int) -> dict[str, float]:
    """Load into an empty database; the seconds of each step and the total."""
    from django.db import connection

    from prm.tenancy import system_scope

    started = time.monotonic()
    deal_set = load_deal_set(
        rng=rng, timeline=Timeline(), partners=partners, deals=deals, companies=companies, chunk=chunk
    )
    timings = deal_set.timings
    step = time.monotonic()
    with system_scope(), connection.cursor() as c:
        reset_sequences(c, TABLES)
        deal_loader.finish_deals(c)
    vacuum_analyze()
    timings["sequences+vacuum analyze"] = time.monotonic() - step
    log(f"VACUUM (ANALYZE) in {timings['sequences+vacuum analyze']:.1f}s")
    timings["total"] = time.monotonic() - started
    return timings
