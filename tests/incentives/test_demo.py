"""The demo gets a SPIF and a rebate program, earnings from its won deals and one approved
statement; seeding again adds nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from incentives.models import EarningEntry, IncentiveProgram, SettlementLine, Statement, StatementStatus
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_demo_has_programs_earnings_and_an_approved_statement(settings: Any, tmp_path: Any) -> None:
    factories.default_tiers()
    factories.media_storage(settings, tmp_path)
    call_command("seed_demo", stdout=io.StringIO())
    assert set(IncentiveProgram.objects.values_list("kind", flat=True)) == {"spif", "rebate"}
    assert EarningEntry.objects.exists()
    assert Statement.objects.filter(status=StatementStatus.APPROVED).count() == 1
    counts = (EarningEntry.objects.count(), Statement.objects.count(), SettlementLine.objects.count())

    call_command("seed_demo", stdout=io.StringIO())
    assert (EarningEntry.objects.count(), Statement.objects.count(), SettlementLine.objects.count()) == counts
