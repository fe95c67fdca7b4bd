"""The vendor side at full size: every vendor page and admin changelist timed in-process, as the
program admin and as a channel account manager, on an already loaded benchmark database
(``bench/deals_bench.py --keep``, or a copy of it).

    DATABASE_URL=postgres://prm_app@127.0.0.1:5432/prm_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/vendor_pages.py [--requests 20] [--only REGEX] [--explain]

Each page goes through ``django.test.Client`` (middleware, the RLS scope, the view, the template):
a few untimed requests, then ``--requests`` timed ones; the query count and the size of the body
come from one more request. Before timing, the script makes the benchmark's vendor personas usable
(idempotent): a TOTP authenticator for each (the access gate sends vendor staff without MFA to set
it up), ``is_staff`` for the admin, and each channel account manager's portfolio (the loader names
the manager on the partner, ``channel_account_manager_id``, but grants no ``work_partner``
permission, which is what the portfolio is).

Personas: user 1 (program admin), user 2 (a channel account manager with 500 partners), and the
admin of the busiest partner for the partner pipeline. ``--explain`` prints the plan of the
slowest query of each page, in the persona's database scope.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from bench.log import log
from bench.stats import describe

PROGRAM_ADMIN = 1
CHANNEL_ACCOUNT_MANAGER = 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=2, help="untimed requests per page first")
    parser.add_argument("--only", default="", help="time only the pages whose label matches this regex")
    parser.add_argument("--persona", choices=["admin", "cam", "partner"], action="append")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN the slowest query of each page")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--migrate", action="store_true", help="apply this checkout's migrations first")
    return parser.parse_args(argv)


def setup(*, migrate: bool) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prm.settings.test")
    if "DATABASE_URL" not in os.environ:
        raise SystemExit("set DATABASE_URL to a loaded benchmark database")
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


def prepare() -> None:
    """Vendor personas as the portal needs them (see the module docstring). Idempotent."""
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Permission
    from django.db import transaction

    from partners.models import Partner, PartnerUserObjectPermission
    from partners.policies import PORTFOLIO_PERMISSION
    from prm.models import User
    from prm.tenancy import system_scope

    with transaction.atomic(), system_scope():
        vendor = list(User.objects.exclude(vendor_role="").values_list("pk", flat=True))
        User.objects.filter(pk__in=vendor, is_staff=False).update(is_staff=True)
        have = set(Authenticator.objects.filter(type="totp").values_list("user_id", flat=True))
        Authenticator.objects.bulk_create(
            Authenticator(user_id=pk, type="totp", data={"secret": "bench"})
            for pk in vendor
            if pk not in have
        )
        permission = Permission.objects.get(codename=PORTFOLIO_PERMISSION, content_type__app_label="partners")
        granted = set(
            PartnerUserObjectPermission.objects.filter(permission=permission).values_list(
                "user_id", "content_object_id"
            )
        )
        missing = [
            PartnerUserObjectPermission(user_id=cam, content_object_id=pk, permission=permission)
            for pk, cam in Partner.objects.filter(
                channel_account_manager__vendor_role="channel_account_manager"
            ).values_list("pk", "channel_account_manager_id")
            if (cam, pk) not in granted
        ]
        PartnerUserObjectPermission.objects.bulk_create(missing, batch_size=5000)
    if missing:
        log(f"granted {len(missing)} portfolio permissions")


def choices(user_id: int) -> dict[str, Any]:
    """Filter values that make sense for the persona: its busiest partner, a tier, a product."""
    from django.db.models import Count

    from deals.models import Deal, DealLine, Product
    from partners.models import Partner, PartnerUserObjectPermission, Tier
    from prm.tenancy import system_scope

    with system_scope():
        deals = Deal.objects.exclude(status="draft")
        if user_id != PROGRAM_ADMIN:
            portfolio = PartnerUserObjectPermission.objects.filter(user_id=user_id).values(
                "content_object_id"
            )
            deals = deals.filter(partner_id__in=portfolio)
        busiest = (
            deals.order_by().values("partner_id").annotate(n=Count("*")).order_by("-n").first()["partner_id"]
        )
        partner = Partner.objects.get(pk=busiest)
        tier = Tier.objects.order_by("-rank").first()
        product = Product.objects.get(pk=DealLine.objects.order_by("pk").first().product_id)
        one_deal = deals.filter(status="submitted").order_by("pk").first()
    return {
        "partner": partner,
        "tier": tier,
        "product": product,
        "customer": one_deal.customer_name.split()[0],
    }


def vendor_pages(user_id: int) -> list[tuple[str, str]]:
    picked = choices(user_id)
    partner, tier, product = picked["partner"], picked["tier"], picked["product"]
    filters = [
        ("", ""),
        ("status", "status=approved"),
        ("stage", "stage=proposal"),
        ("partner", f"partner={partner.pk}"),
        ("tier", f"tier={tier.pk}"),
        ("region", "region=emea"),
        ("product", f"product={product.pk}"),
        ("dates", "created_from=2026-01-01&created_to=2026-03-31"),
        ("search", f"q={picked['customer']}"),
        ("status+partner", f"status=approved&partner={partner.pk}"),
    ]
    pages = [
        ("dashboard", "/vendor/"),
        ("review queue", "/vendor/deals/review/"),
        ("review queue, partner", f"/vendor/deals/review/?partner={partner.pk}"),
        ("review queue, search", f"/vendor/deals/review/?q={picked['customer']}"),
        ("review queue, page 200", "/vendor/deals/review/?page=200"),
        ("wins queue", "/vendor/deals/wins/"),
    ]
    for name, query in filters:
        pages.append(
            (f"all deals{', ' + name if name else ''}", f"/vendor/deals/{'?' + query if query else ''}")
        )
    pages.append(("all deals, page 400", "/vendor/deals/?page=400"))
    for name, query in filters:
        if name == "dates":
            # The pipeline's dates are whole months since its figures are kept by month; the days
            # stay for a checkout from before (each ignores the other's parameters).
            query += "&month_from=2026-01&month_to=2026-03"
        pages.append(
            (f"pipeline{', ' + name if name else ''}", f"/vendor/pipeline/{'?' + query if query else ''}")
        )
    pages += [
        ("pipeline, partners page 40", "/vendor/pipeline/?partners_page=40"),
        ("pipeline, find a partner", f"/vendor/pipeline/?partner_q={partner.legal_name.split()[0]}"),
    ]
    pages += [
        ("leads", "/vendor/leads/"),
        ("partner list", "/vendor/partners/"),
        ("partner list, search", f"/vendor/partners/?q={partner.legal_name.split()[0]}"),
        ("partner detail", f"/vendor/partners/{partner.pk}/"),
        ("partner 360", f"/vendor/partners/{partner.pk}/360/"),
        ("admin deals", "/admin/deals/deal/"),
        ("admin deals, status", "/admin/deals/deal/?status__exact=submitted"),
        ("admin deals, search", f"/admin/deals/deal/?q={picked['customer']}"),
        ("admin leads", "/admin/deals/lead/"),
        ("admin partners", "/admin/partners/partner/"),
    ]
    return pages


def busiest_partner_admin() -> tuple[int, int]:
    from django.db.models import Count

    from deals.models import Deal
    from partners.models import Membership
    from prm.tenancy import system_scope

    with system_scope():
        row = Deal.objects.order_by().values("partner_id").annotate(n=Count("*")).order_by("-n").first()
        user_id = Membership.objects.get(partner_id=row["partner_id"], role="admin").user_id
    return row["partner_id"], user_id


def time_page(client: Any, url: str, *, warmup: int, requests: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        client.get(url)
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: HTTP {response.status_code}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]), default=None)
    return {
        **describe(timings),
        "queries": len(queries.captured_queries),
        "kb": len(response.content) / 1024,
        "slowest_sql": slowest["sql"] if slowest else "",
        "slowest_ms": float(slowest["time"]) * 1000 if slowest else 0,
    }


def explain(user: Any, sql: str) -> str:
    from django.db import connection

    from partners.middleware import resolve_actor
    from prm.tenancy import tenant_scope

    actor = resolve_actor(user)
    with tenant_scope(actor.scope), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    from django.test import Client

    from prm.models import User

    personas = args.persona or ["admin", "cam", "partner"]
    plan: list[tuple[str, int, list[tuple[str, str]]]] = []
    if "admin" in personas:
        plan.append(("program admin", PROGRAM_ADMIN, vendor_pages(PROGRAM_ADMIN)))
    if "cam" in personas:
        plan.append(("CAM (500 partners)", CHANNEL_ACCOUNT_MANAGER, vendor_pages(CHANNEL_ACCOUNT_MANAGER)))
    if "partner" in personas:
        partner_id, user_id = busiest_partner_admin()
        plan.append((f"admin of partner {partner_id}", user_id, [("partner pipeline", "/deals/pipeline/")]))
    only = re.compile(args.only) if args.only else None
    results = []
    for persona, user_id, pages in plan:
        user = User.objects.get(pk=user_id)
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)  # the first backend, as a sign-in through the login page stores
        for label, url in pages:
            if only and not only.search(label):
                continue
            row = {"persona": persona, "page": label, "url": url}
            row.update(time_page(client, url, warmup=args.warmup, requests=args.requests))
            results.append(row)
            print(
                f"{persona:<26} {label:<28} p50 {row['p50']:8.1f} ms  p95 {row['p95']:8.1f} ms  "
                f"{row['queries']:3} queries  {row['kb']:7.1f} KB  slowest query {row['slowest_ms']:7.1f} ms",
                flush=True,
            )
            if args.explain and row["slowest_sql"]:
                print(explain(user, row["slowest_sql"]), flush=True)
    return results


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["| page | persona | p50 ms | p95 ms | queries | KB |", "| --- | --- | --- | --- | --- | --- |"]
    for row in results:
        lines.append(
            f"| {row['page']} | {row['persona']} | {row['p50']:.0f} | {row['p95']:.0f} | "
            f"{row['queries']} | {row['kb']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup(migrate=args.migrate)
    prepare()
    results = run(args)
    print()
    print(markdown(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
