"""The deal-registration data set: 300,000 company names, vendor users, partners and their
members, products, deals and lines (the loaders in this package, in that order), then sequences and
``VACUUM (ANALYZE)``; each step timed."""

from __future__ import annotations

import random
import time

from bench.loaders import deals as deal_loader
from bench.loaders import partners as partner_loader
from bench.loaders.bulk import reset_sequences, vacuum_analyze
from bench.loaders.timeline import Timeline
from bench.log import log
from bench.names import CompanyPool

TABLES = ("prm_user", "partners_partner", "partners_membership", "deals_deal", "deals_dealline")


def load(*, rng: random.Random, partners: int, deals: int, companies: int, chunk: int) -> dict[str, float]:
    """Load into an empty database; the seconds of each step and the total."""
    from django.db import connection

    from deals.names import normalise_company_name
    from prm.tenancy import system_scope

    partner_loader.check_tables()
    deal_loader.check_tables()
    timeline = Timeline()
    timings: dict[str, float] = {}
    started = time.monotonic()
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
    loader.load(skeletons, chunk=chunk)
    timings["deals+lines"] = time.monotonic() - step

    step = time.monotonic()
    with system_scope(), connection.cursor() as c:
        reset_sequences(c, TABLES)
        deal_loader.finish_deals(c)
    vacuum_analyze()
    timings["sequences+vacuum analyze"] = time.monotonic() - step
    log(f"VACUUM (ANALYZE) in {timings['sequences+vacuum analyze']:.1f}s")
    timings["total"] = time.monotonic() - started
    return timings
