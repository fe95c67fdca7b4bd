"""Amounts and dates read one way everywhere: "5,000.00 USD" (prm.money.format_money), dates in
the site's format -- in the approval notifications and messages, and in the admin's Available
column, which names its currency."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from prm.models import Notification
from prm.money import format_amount, format_money
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as deal_factories
from tests.helpers import body_text, login
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def test_format_money_groups_and_keeps_the_currencys_minor_units() -> None:
    assert format_money(Decimal("5000"), "USD") == "5,000.00\N{NO-BREAK SPACE}USD"
    assert format_amount(Decimal("1234567.5"), "EUR") == "1,234,567.50"
    assert format_amount(Decimal("5000"), "JPY") == "5,000"
    assert format_money(None, "USD") == "—"


@time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)
def test_fund_request_approval_notification_reads_like_the_pages() -> None:
    team = m.team()
    m.fund(team.partner, m.budget())
    fund_request = m.approved(team.marketing_actor, m.program_admin(), amount="4000.00")

    title = Notification.objects.get(kind="mdf.request_approved", recipient=team.marketing).title
    assert title.startswith(f"MDF request {fund_request.reference} approved: 4,000.00 USD. Claim by ")
    assert not ISO_DATE.search(title), title
    page = body_text(login(team.marketing).get(reverse("mdf:request_detail", args=[fund_request.pk])))
    assert "4,000.00 USD" in page and "4000.00 USD" not in page


@time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)
def test_deal_approval_message_and_notification_give_a_date_not_iso() -> None:
    team = deal_factories.team()
    reviewer = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    deal = deal_factories.submitted(team.sales_actor)

    response = login(reviewer.user).post(reverse("deals:approve", args=[deal.pk]), follow=True)
    text = body_text(response)
    assert "is protected until May 31, 2026." in text
    title = Notification.objects.get(kind="deal.approved", recipient=team.sales).title
    assert title == f"Deal {deal.reference} approved, protected until May 31, 2026"


def test_admin_available_column_names_its_currency() -> None:
    team = m.team()
    m.fund(team.partner, m.budget(), "10000.00")
    m.submitted(team.marketing_actor)  # 4,000.00 USD requested

    client = login(factories.vendor_user(VendorRole.PROGRAM_ADMIN))
    page = body_text(client.get(reverse("admin:mdf_fundrequest_changelist")))
    available = re.search(r'<td class="field-available_display">(.*?)</td>', page, re.S)
    assert available, "no Available column"
    assert "10,000.00\N{NO-BREAK SPACE}USD" in available.group(1)
