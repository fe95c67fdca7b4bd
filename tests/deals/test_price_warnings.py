"""The deal reviewer is warned, never blocked, when a line's unit price is far from the product's
list price (issue 14: 95 % below or 8× above passed silently)."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from deals import pricing, services
from deals.models import Deal, DealLine, DealStatus
from prm.models import ExchangeRate
from prm.tenancy import Actor, system_scope
from tests.deals import factories as f
from tests.helpers import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def deal(team_a: f.Team) -> Deal:
    """Three lines against a 100.00 list price: 5.00 (95 % below), 800.00 (8×), 90.00 (fine)."""
    cheap, dear, fair = (f.product(name, price="100.00") for name in ("Cheap", "Dear", "Fair"))
    return f.submitted(
        team_a.sales_actor,
        lines=[f.line(cheap, 1, "5.00"), f.line(dear, 1, "800.00"), f.line(fair, 1, "90.00")],
    )


def _warnings(deal: Deal) -> dict[str, str]:
    with system_scope():  # as the review page's request would read them
        lines = list(DealLine.objects.filter(deal=deal).select_related("product"))
    by_id = pricing.line_price_warnings(lines, deal_currency=deal.currency)
    return {line.product.name: by_id.get(line.pk, "") for line in lines}


def test_lines_far_below_or_above_list_price_are_flagged(deal: Deal) -> None:
    assert _warnings(deal) == {
        "Cheap": "95 % below list price (warning beyond 50 %)",
        "Dear": "8× the list price (warning beyond 3×)",
        "Fair": "",
    }


def test_the_bounds_are_settings(deal: Deal, settings: Any) -> None:
    settings.PRM = {**settings.PRM, "DEAL_PRICE_WARN_BELOW_PERCENT": 96}
    assert _warnings(deal)["Cheap"] == ""
    assert _warnings(deal)["Dear"] != ""


def test_a_list_price_in_another_currency_is_converted_before_comparing(team_a: f.Team) -> None:
    ExchangeRate.objects.update_or_create(currency="EUR", defaults={"rate": Decimal("1.10")})
    # 100 EUR list = 110 USD: 100 USD is 9 % below (fine), 20 USD is 82 % below.
    fine, cheap = (
        f.product("Fine", price="100.00", currency="EUR"),
        f.product("Cheap", price="100.00", currency="EUR"),
    )
    deal = f.submitted(team_a.sales_actor, lines=[f.line(fine, 1, "100.00"), f.line(cheap, 1, "20.00")])
    assert _warnings(deal) == {"Fine": "", "Cheap": "82 % below list price (warning beyond 50 %)"}


def test_the_review_page_warns_and_the_deal_can_still_be_approved(deal: Deal, cam: Actor) -> None:
    client = login(cam.user)
    page = html.unescape(client.get(reverse("deals:review_detail", args=[deal.pk])).content.decode())
    assert 'id="price-warnings"' in page
    assert "2 lines' unit prices are far from the list price" in page
    assert "95 % below list price" in page and "8× the list price" in page
    assert page.count('class="small text-warning-emphasis price-warning"') == 2
    with f.acting(cam):
        services.deal_approve(actor=cam, deal=deal)  # a warning, not a block
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.APPROVED


def test_a_deal_at_list_prices_shows_no_warning(team_a: f.Team, cam: Actor) -> None:
    deal = f.submitted(team_a.sales_actor, lines=[f.line(f.product(price="100.00"), 2, "100.00")])
    page = login(cam.user).get(reverse("deals:review_detail", args=[deal.pk])).content.decode()
    assert 'id="price-warnings"' not in page and "price-warning" not in page


def test_the_admin_change_page_shows_the_same_warning(deal: Deal, vendor_admin: Actor) -> None:
    response = login(vendor_admin.user).get(reverse("admin:deals_deal_change", args=[deal.pk]))
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "95 % below list price" in page and "8× the list price" in page
    assert "100.00 USD" in page  # the list price beside the unit price
