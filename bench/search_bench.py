"""The one search box (issue 14): p50 / p95 of a search, as the results page runs it, for a partner
user and a program admin on the benchmark data.

    DATABASE_URL=postgres://... .venv/bin/python bench/search_bench.py [--samples 200] [--explain]

It uses the database in ``DATABASE_URL`` as ``bench/deals_bench.py --load-only --keep`` loaded it
(never an empty one, never dropped): it migrates it first — the search vectors are stored generated
columns, so the migration fills them for every existing row — and ANALYZEs the searched tables.

What is timed: ``prm.search.search(actor, text)`` inside the actor's tenant scope (the transaction
and row-level-security settings ``ActorMiddleware`` opens for a request), i.e. every query the page
runs for its hits and capped counts, for every kind the actor may search; the template is not.
The texts are what people type: a prefix (3–6 letters) or a whole word of a customer's name, two
words, a deal reference, a person's name, a partner's name — half of them taken from the actor's own
records (hits), half from anybody's (for a partner user mostly another partner's: no hits).

Actors: the admin of the busiest partner (most deals; the worst case for a partner user), the admin
of a partner at the 90th percentile, and a program admin (every partner, every non-draft deal).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.actors import partner_admins
from bench.django_setup import setup_django
from bench.log import log
from bench.machine import machine
from bench.stats import describe, fmt

SEARCHED_TABLES = (
    "deals_deal",
    "deals_lead",
    "mdf_fundrequest",
    "partners_partner",
    "prm_user",
    "partners_membership",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=200, help="timed searches per actor")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--explain", action="store_true", help="print the plans of the slowest search")
    return parser.parse_args(argv)


def _words(name: str) -> list[str]:
    return [word for word in name.replace("-", " ").replace(".", " ").split() if len(word) >= 3]


def texts(
    rng: random.Random, names: list[str], references: list[str], people: list[str], n: int
) -> list[str]:
    """``n`` texts a person might type, drawn from ``names`` (customers, partners), ``references``
    and ``people``."""
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.35 and names:
            word = rng.choice(_words(rng.choice(names)) or ["acme"])
            out.append(word[: rng.randint(3, min(6, len(word)))])
        elif kind < 0.55 and names:
            out.append(rng.choice(_words(rng.choice(names)) or ["acme"]))
        elif kind < 0.7 and names:
            words = _words(rng.choice(names))
            out.append(" ".join(words[:2]) if len(words) >= 2 else (words or ["acme"])[0])
        elif kind < 0.85 and references:
            out.append(rng.choice(references))
        elif people:
            out.append(rng.choice(people).split()[0])
        else:
            out.append("acme")
    return out


def sample_data(rng: random.Random, partner_id: int | None) -> dict[str, list[str]]:
    """Names, references and people to type: the partner's own (``partner_id``) or anybody's."""
    from deals.models import Deal
    from partners.models import Membership, Partner
    from prm.tenancy import system_scope

    with system_scope():
        deals = Deal.objects.order_by()
        people = Membership.objects.order_by()
        if partner_id is not None:
            deals, people = deals.filter(partner_id=partner_id), people.filter(partner_id=partner_id)
            partner_names: list[str] = []
        else:
            top = Partner.objects.order_by().values_list("pk", flat=True).last() or 0
            start = rng.randint(0, max(0, top - 200))
            partner_names = list(
                Partner.objects.filter(pk__gte=start)
                .order_by("pk")
                .values_list("legal_name", flat=True)[:200]
            )
            top = Deal.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            start = rng.randint(0, max(0, top - 5000))
            deals = deals.filter(pk__gte=start, pk__lt=start + 5000)
        rows = list(deals.values_list("customer_name", "reference")[:2000])
        names = [name for name, _ref in rows] + partner_names
        references = [ref for _name, ref in rows]
        person_names = list(
            people.exclude(user__full_name="").values_list("user__full_name", flat=True)[:500]
        )
    return {"names": names, "references": references, "people": person_names}


def actors(rng: random.Random) -> list[tuple[str, Any, int | None]]:
    """(label, actor, partner id or None) for the busiest partner's admin, a 90th-percentile
    partner's admin and a program admin."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from deals.models import Deal
    from partners.middleware import resolve_actor
    from partners.models import Partner
    from prm.roles import VendorRole
    from prm.tenancy import system_scope

    User = get_user_model()
    with system_scope():
        counts = list(
            Deal.objects.order_by()
            .values("partner_id")
            .annotate(n=Count("pk"))
            .values_list("partner_id", "n")
        )
        ranked = sorted((n, pid) for pid, n in counts)
        chosen = [
            ("busiest partner", *reversed(ranked[-1])),
            ("90th-percentile partner", *reversed(ranked[len(ranked) * 9 // 10])),
        ]
        admins = partner_admins([pid for _label, pid, _n in chosen])
        Partner.objects.filter(pk__in=[pid for _label, pid, _n in chosen]).update(
            status="active", agreement_version=settings.PRM["PARTNER_AGREEMENT_VERSION"]
        )
        vendor = User.objects.filter(vendor_role=VendorRole.PROGRAM_ADMIN, is_active=True).first()
        if vendor is None:
            vendor = User.objects.create_user(
                "bench-search-admin@prm.example", vendor_role=VendorRole.PROGRAM_ADMIN
            )
        result = []
        for label, pid, n in chosen:
            user = User.objects.get(pk=admins[pid])
            result.append((f"partner admin, {label} ({n:,} deals)", resolve_actor(user), pid))
        result.append(("program admin (every partner)", resolve_actor(vendor), None))
    return result


class _DatabaseTime:
    """Time spent waiting for PostgreSQL (execute and fetch of each statement) and statements run."""

    def __init__(self) -> None:
        self.ms = 0.0
        self.queries = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.ms += (time.perf_counter() - started) * 1000
            self.queries += 1


def time_searches(
    actor: Any, queries: list[str], warmup: int
) -> tuple[dict, list[tuple[float, str, int]], dict, list[int]]:
    from django.db import connection

    from prm.errors import ApplicationError
    from prm.search import search
    from prm.tenancy import tenant_scope

    timings: list[tuple[float, str, int]] = []
    database: list[float] = []
    statements: list[int] = []
    for index, text in enumerate(queries):
        spent = _DatabaseTime()
        started = time.perf_counter()
        with connection.execute_wrapper(spent), tenant_scope(actor.scope):
            try:
                found = search(actor, text)
                hits = found.total
            except ApplicationError:
                hits = -1
        elapsed = (time.perf_counter() - started) * 1000
        if index >= warmup:
            timings.append((elapsed, text, hits))
            database.append(spent.ms)
            statements.append(spent.queries)
    return describe([t for t, _text, _hits in timings]), timings, describe(database), statements


def explain(actor: Any, text: str) -> None:
    from django.db import connection

    from bench.pg import explain_analyze
    from prm.search import matching, sources, terms_of
    from prm.tenancy import tenant_scope

    terms = terms_of(text)
    with tenant_scope(actor.scope):
        for source in sources():
            rows = source.rows(actor)
            if rows is None:
                continue
            queryset = matching(source, actor, rows, terms, text)[:20]
            try:
                sql, params = queryset.query.sql_with_params()
            except Exception:  # an empty scope (pk__in=[]) compiles to no query
                continue
            with connection.cursor() as cursor:
                print(f"--- {source.key}: {text!r}")
                print(explain_analyze(cursor, connection.ops.compose_sql(sql, params)))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rng = random.Random(args.seed)
    setup_django()
    from django.db import connection

    from deals.models import Deal
    from partners.models import Partner
    from prm.tenancy import system_scope

    started = time.monotonic()
    with connection.cursor() as cursor:
        for table in SEARCHED_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    log(f"analyzed the searched tables in {time.monotonic() - started:.1f}s")
    with system_scope():
        data = {"deals": Deal.objects.count(), "partners": Partner.objects.count()}
    log(f"data: {data['deals']:,} deals, {data['partners']:,} partners")

    summary = []
    for label, actor, partner_id in actors(rng):
        own = sample_data(rng, partner_id)
        anybody = sample_data(rng, None)
        n = args.samples + args.warmup
        queries = texts(rng, **own, n=n // 2) + texts(rng, **anybody, n=n - n // 2)
        rng.shuffle(queries)
        stats, timings, database, statements = time_searches(actor, queries, args.warmup)
        found = sum(1 for _t, _text, hits in timings if hits > 0)
        log(f"{label}: {fmt(stats)}; {found} of {len(timings)} searches found something")
        log(
            f"  of which waiting for PostgreSQL: {fmt(database)}; "
            f"statements {min(statements)}–{max(statements)}"
        )
        slowest = sorted(timings, reverse=True)[:3]
        log("  slowest: " + ", ".join(f"{text!r} {t:.0f} ms ({hits} hits)" for t, text, hits in slowest))
        summary.append((label, stats, found, len(timings)))
        if args.explain and slowest:
            explain(actor, slowest[0][1])

    print("\n" + "=" * 100)
    print("SUMMARY (prm.search.search in the actor's tenant scope)")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine().items()))
    print(f"data: {data['deals']:,} deals, {data['partners']:,} partners")
    for label, stats, found, total in summary:
        verdict = "met" if stats["p95"] < 100 else "MISSED"
        print(f"{label}: {fmt(stats)}  ({found}/{total} found something)  target p95 < 100 ms: {verdict}")


if __name__ == "__main__":
    main()
