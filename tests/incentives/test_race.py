"""Two settlement runs at the same moment on two connections: every entry lands in exactly one
statement, and the run that waited creates nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from incentives import services
from incentives.models import EarningEntry, SettlementLine, Statement
from prm.tenancy import Scope, tenant_scope
from tests import factories
from tests.incentives import factories as f

RACING = threading.Event()


@pytest.fixture
def slow_settlement(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the window between "pick the unsettled entries" and "write the lines" open while the
    racers run: without the run lock both would pick the same entries."""
    original = services.statement_number

    def slow(**kwargs: Any) -> str:
        if RACING.is_set():
            time.sleep(0.2)
        return original(**kwargs)

    monkeypatch.setattr(services, "statement_number", slow)


def _race(calls: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("pending", None)] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=10)
            with tenant_scope(Scope.vendor()):
                results[index] = ("ok", call())
        except BaseException as exc:  # reported by the main thread
            results[index] = ("crashed", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    RACING.set()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        RACING.clear()
    assert not [r for r in results if r[0] in {"crashed", "pending"}], results
    return results


@pytest.mark.django_db(transaction=True)
def test_two_settlement_runs_at_once_never_settle_an_entry_twice(slow_settlement: None) -> None:
    from tests.deals import factories as df

    factories.default_tiers()
    reviewer = factories.vendor_actor()
    f.spif(amount="100.00")
    f.rebate(percent="3", currency="EUR")
    for index in range(3):
        team = df.team(f"Racer {index} Ltd", tier="Gold")
        for currency in ("USD", "EUR"):
            deal = f.won(
                team,
                reviewer,
                "1000.00",
                customer=f"C{index}{currency}",
                domain=f"c{index}{currency}.com",
                currency=currency,
            )
            services.accrue_for_deal(deal_id=deal.pk)
    period_end = f.today()
    results = _race([lambda: services.settlement_run(period_end=period_end)] * 2)

    created = sorted(len(value) for _kind, value in results)
    assert created == [0, 6], results
    assert Statement.objects.count() == 6
    assert SettlementLine.objects.count() == EarningEntry.objects.count() == 6
    assert SettlementLine.objects.values("entry").distinct().count() == 6
