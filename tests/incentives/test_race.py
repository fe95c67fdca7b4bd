"""Two settlement runs at the same moment on two connections: every entry lands in exactly one
statement, and the run that waited creates nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from incentives import services
from incentives.models import EarningEntry, SettlementLine, Statement
from tests import factories
from tests.incentives import factories as f
from tests.race import RACING, race


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
            f.accrue(deal)
    period_end = f.today()
    results = race([lambda: f.settle(period_end)] * 2)

    assert [kind for kind, _value in results] == ["ok", "ok"], results
    created = sorted(len(value) for _kind, value in results)
    assert created == [0, 6], results
    assert Statement.objects.count() == 6
    assert SettlementLine.objects.count() == EarningEntry.objects.count() == 6
    assert SettlementLine.objects.values("entry").distinct().count() == 6
