"""Two settlement runs at the same moment on two connections: every entry lands in exactly one
statement, and the run that waited creates nothing."""

from __future__ import annotations

import pytest

from incentives import services
from incentives.models import EarningEntry, SettlementLine, Statement
from tests import factories
from tests.helpers import race, slow_while_racing
from tests.incentives import factories as f


@pytest.fixture
def slow_settlement(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the window between "pick the unsettled entries" and "write the lines" open while the
    racers run: without the run lock both would pick the same entries."""
    slow_while_racing(monkeypatch, services, "statement_number", seconds=0.2, before=True)


@pytest.mark.django_db(transaction=True)
def test_two_settlement_runs_at_once_never_settle_an_entry_twice(slow_settlement: None) -> None:
    from tests.deals import factories as df

    factories.default_tiers()
    reviewer = factories.vendor_actor()
    f.spif(amount="100.00")
    f.rebate(percent="3", currency="EUR")
    ours = []
    for index in range(3):
        team = df.team(f"Racer {index} Ltd", tier="Gold")
        ours.append(team.partner.pk)
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
    # Judged on this test's partners (a settlement run takes every unsettled entry in the database).
    created = sorted(len([s for s in value if s.partner_id in ours]) for _kind, value in results)
    assert created == [0, 6], results
    assert min(len(value) for _kind, value in results) == 0  # the run that waited made nothing
    assert Statement.objects.filter(partner__in=ours).count() == 6
    lines = SettlementLine.objects.filter(partner__in=ours)
    assert lines.count() == EarningEntry.objects.filter(partner__in=ours).count() == 6
    assert lines.values("entry").distinct().count() == 6
