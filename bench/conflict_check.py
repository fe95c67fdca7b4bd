"""Benchmark of the conflict check at submission: exactly the detection part of
``deals.services.deal_submit`` (``conflicts.lock_customer`` + ``similar_keys`` +
``find_registrations``) for a saved draft of a random partner, in the partner's scope, in a
transaction that is rolled back.

Samples: the partner of a random deal (busy partners submit more) and, every other sample, the
customer of another random deal (popular customers come up more often), otherwise a new name made
of the same words. Untimed warm-up checks first; a time budget stops it early.
"""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.actors import partner_admins
from bench.log import log
from bench.names import new_company
from bench.pg import explain_analyze
from bench.stats import describe, fmt


class ConflictBench:
    def __init__(self, *, rng: random.Random, samples: int, warmup: int, check_budget: int) -> None:
        from deals.names import normalise_company_name
        from prm.domains import normalise_domain

        self.rng = rng
        self.samples = samples
        self.warmup = warmup
        self.check_budget = check_budget
        self.normalise = normalise_company_name
        self.normalise_domain = normalise_domain

    def _prepare_samples(self, count: int) -> list[dict[str, Any]]:
        """Partners weighted by activity (the partner of a random deal); half the customers are
        existing ones (the customer of another random deal: popular customers come up more
        often), half are new."""
        from deals.models import Deal, Product
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
            admins = partner_admins({row[0] for row in found.values()})
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
        samples = self._prepare_samples(self.samples + self.warmup + 20)
        warmup, samples = samples[: self.warmup], samples[self.warmup :]
        samples = samples[: self.samples]
        started = time.monotonic()
        deadline = started + self.check_budget
        for number, sample in enumerate(warmup):
            self._measure_one(sample, 10_000_000 + number)
        results = []
        for number, sample in enumerate(samples):
            results.append(self._measure_one(sample, number))
            if number % 50 == 49:
                log(f"  {number + 1} checks, elapsed {time.monotonic() - started:.0f}s")
            if time.monotonic() > deadline and len(results) >= 20:
                log(f"  time budget of {self.check_budget}s used up after {len(results)} checks")
                break
        samples = samples[: len(results)]
        report: dict[str, Any] = {
            "samples": len(results),
            "requested": self.samples,
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
                    entry["keys_plan"] = explain_analyze(c, keys_sql)
                    entry["find_plan"] = explain_analyze(c, find_sql)
                    entry["find_sql"] = find_sql
                transaction.set_rollback(True)
            for part in ("keys_plan", "find_plan"):
                entry[part + "_indexes"] = sorted(
                    set(re.findall(r"on (\w+_idx|\w+_pkey|\w+_like)", entry[part]))
                )
            plans.append(entry)
        return plans


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


def print_plans(check: dict) -> None:
    """The detection queries and their plans for the chosen samples (see ``ConflictBench._explain``)."""
    for plan in check["explain"]:
        print(f"\n--- EXPLAIN (ANALYZE, BUFFERS): {plan['label']}: {plan['customer']} (key '{plan['key']}')")
        print(f"detection queries: {plan['queries']}")
        print(f"similar_keys, indexes: {plan['keys_plan_indexes']}")
        print(plan["keys_plan"])
        print(f"\nfind_registrations (vendor scope), indexes: {plan['find_plan_indexes']}")
        print(plan["find_sql"])
        print(plan["find_plan"])
