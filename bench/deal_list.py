"""Benchmark of the partner deal list page: ``GET deals:list`` (first page and
``?status=approved``) through ``django.test.Client`` as the partner's admin, in-process and warm,
with the middleware, the RLS scope, the view and the template; for the busiest active partner, one
at the 90th percentile and random ones. (If the view is a placeholder that answers 404 it times
``selectors.deal_list`` instead and says so.)
"""

from __future__ import annotations

import random
import time
from typing import Any

from bench.actors import partner_admins
from bench.pg import explain_analyze
from bench.stats import describe


class PageBench:
    def __init__(self, *, rng: random.Random, partners: int, requests: int, warmup: int) -> None:
        self.rng = rng
        self.partners = partners
        self.requests = requests
        self.warmup = warmup

    def _partners(self) -> list[tuple[int, int, int]]:
        """(partner id, admin user id, deals): the busiest active partner and a few random ones."""
        from django.db.models import Count

        from deals.models import Deal
        from partners.models import Partner
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
            chosen += self.rng.sample([pid for _, pid in ranked], self.partners - len(chosen))
            admins = partner_admins(chosen)
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

        for _ in range(self.warmup):
            client.get(url)
        timings = []
        for _ in range(self.requests):
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

        for _ in range(self.warmup):
            one()
        timings = []
        for _ in range(self.requests):
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
                        plans[f"{label} / {part}"] = explain_analyze(c, sql, params)
        return plans


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


def print_details(page: dict) -> None:
    """The selector's plans (placeholder view) or the SQL of one request per page for the busiest
    partner."""
    for label, plan in page.get("explain", {}).items():
        print(f"\n--- EXPLAIN (ANALYZE, BUFFERS) deal list {label}")
        print(plan)
    for label, queries in page.get("queries", {}).items():
        busiest = page["rows"][0]
        print(f"\n--- SQL of one request, partner {busiest['partner']} ", end="")
        print(f"({busiest['deals']:,} deals), {label}")
        for query in queries:
            print(f"{float(query['time']) * 1000:8.2f} ms  {query['sql'][:300]}")
