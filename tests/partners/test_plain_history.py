"""Partners read the history of their deals and fund requests in plain words: a sentence per event
(never the action key), dates in the site's format (never ISO with microseconds), and no change
that changed nothing ("none → none")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from partners.activity import plain_value
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as deal_factories
from tests.helpers import body_text, login
from tests.mdf import factories as mdf_factories

pytestmark = pytest.mark.django_db

ISO_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
RAW_KEY = re.compile(r"\b(deal|mdf)\.[a-z_]+\b")


def history_card(page: str) -> str:
    """The history card's visible text (a <time> element's machine-readable attribute aside)."""
    card = page.split('id="history"', 1)[1].split("</ul>", 1)[0]
    assert "<code>" not in card
    return " ".join(re.sub(r"<[^>]+>", " ", card).split())


def assert_plain(card: str) -> None:
    assert not ISO_TIMESTAMP.search(card), card
    assert not RAW_KEY.search(card), card
    assert not re.search(r"\b(\w+) → \1\b", card), card  # nothing that did not change


@time_machine.travel(datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC), tick=False)
def test_partner_reads_the_deal_history_in_plain_words() -> None:
    team = deal_factories.team()
    reviewer = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    deal = deal_factories.approved(team.admin_actor, reviewer, customer="Initech")

    page = body_text(login(team.admin).get(reverse("deals:detail", args=[deal.pk])))
    card = history_card(page)

    assert f"Deal {deal.reference}" in card and "approved" in card
    assert "submitted for review" in card
    assert_plain(card)
    assert "Conflict status" not in card and "conflict_status" not in card  # none → none left out
    assert "Protected until empty → May 31, 2026, 9:30 a.m." in card
    assert "Amount empty → 1,000.00 USD" in card  # with its currency, no row of its own
    assert "Currency" not in card  # the approval's expiry, a date


@time_machine.travel(datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=UTC), tick=False)
def test_partner_reads_the_fund_request_history_in_plain_words() -> None:
    team = mdf_factories.team()
    mdf_factories.fund(team.partner, mdf_factories.budget())
    fund_request = mdf_factories.approved(team.marketing_actor, mdf_factories.program_admin())

    page = body_text(login(team.marketing).get(reverse("mdf:request_detail", args=[fund_request.pk])))
    card = history_card(page)

    assert f"Fund request {fund_request.reference}" in card and "approved" in card
    assert_plain(card)


def test_plain_values() -> None:
    with time_machine.travel(datetime(2026, 3, 2, tzinfo=UTC)):
        assert plain_value("2026-06-01T09:30:15.123456+00:00") == "June 1, 2026, 9:30 a.m."
        assert plain_value("2026-06-01") == "June 1, 2026"
    assert plain_value("under_review") == "Under review"
    assert plain_value(True) == "Yes"
    assert plain_value("") is None
    assert plain_value("Initech GmbH") == "Initech GmbH"
