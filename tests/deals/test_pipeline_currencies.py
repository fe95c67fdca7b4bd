"""The pipeline adds deals of several currencies only after converting them into the reporting
currency at the vendor's exchange rates; a currency without a rate is left out of the values and
named, never silently added as if it were dollars."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from deals import selectors
from deals.models import Product
from prm.models import ExchangeRate
from tests.deals import factories as f
from tests.exports import exported
from tests.helpers import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def firewall() -> Product:
    return f.product("Firewall X", price="100.00")


def _deals(team: f.Team, firewall: Product) -> None:
    f.submitted(team.sales_actor, customer="Initech", domain="initech.com", currency="USD",
                lines=[f.line(firewall, 1, "1000.00")])  # fmt: skip
    f.submitted(team.sales_actor, customer="Globex", domain="globex.de", currency="EUR",
                lines=[f.line(firewall, 2, "500.00")])  # fmt: skip
    f.submitted(team.sales_actor, customer="Hooli", domain="hooli.co.jp", currency="JPY",
                lines=[f.line(firewall, 1, "150000.00")])  # fmt: skip


def _row(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    return next(row for row in rows if row[key] == value)


def test_values_are_converted_at_the_vendors_rates(
    team_a: f.Team, vendor_admin: Any, firewall: Product
) -> None:
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("1.08"))
    ExchangeRate.objects.create(currency="JPY", rate=Decimal("0.0067"))
    _deals(team_a, firewall)
    report = selectors.pipeline_report(actor=vendor_admin)
    submitted = _row(report["by_status"], "status", "submitted")
    # 1,000 USD + 1,000 EUR x 1.08 + 150,000 JPY x 0.0067 = 1,000 + 1,080 + 1,005
    assert submitted["count"] == 3
    assert submitted["value"] == Decimal("3085.00")
    assert report["currency"] == "USD" and report["unconverted"] == []
    assert _row(report["by_product"], "product__name", "Firewall X")["value"] == Decimal("3085.00")
    assert sum(row["value"] for row in report["by_month"]) == Decimal("3085.00")
    assert _row(report["by_partner"], "partner__legal_name", team_a.partner.legal_name)["count"] == 3


def test_a_currency_without_a_rate_is_left_out_and_named(
    team_a: f.Team, vendor_admin: Any, firewall: Product
) -> None:
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("1.08"))
    _deals(team_a, firewall)
    report = selectors.pipeline_report(actor=vendor_admin)
    submitted = _row(report["by_status"], "status", "submitted")
    assert submitted["count"] == 3  # the JPY deal is counted ...
    assert submitted["value"] == Decimal("2080.00")  # ... but its amount is not added as dollars
    assert report["unconverted"] == ["JPY"]

    client = login(vendor_admin.user)
    page = client.get(reverse("deals:vendor_pipeline")).content.decode()
    assert "Amounts in JPY have no exchange rate yet" in page
    export = exported(client, reverse("deals:vendor_pipeline_export")).content.decode().splitlines()
    assert export[0] == "dimension,name,deals,value,won_value,currency"
    assert any(line.startswith("partner,") and line.endswith(",USD") for line in export)


def test_the_partner_sees_its_pipeline_converted_too(team_a: f.Team, firewall: Product) -> None:
    ExchangeRate.objects.create(currency="EUR", rate=Decimal("1.08"))
    ExchangeRate.objects.create(currency="JPY", rate=Decimal("0.0067"))
    _deals(team_a, firewall)
    client = login(team_a.admin)
    response = client.get(reverse("deals:pipeline"))
    assert response.status_code == 200
    assert response.context["reporting_currency"] == "USD"
    body = response.content.decode()
    assert "values are converted into USD" in body
    assert "3,085" in body  # the open pipeline stat


def test_a_single_currency_needs_no_rate(team_a: f.Team, vendor_admin: Any, firewall: Product) -> None:
    f.submitted(team_a.sales_actor, currency="USD", lines=[f.line(firewall, 3, "10.01")])
    report = selectors.pipeline_report(actor=vendor_admin)
    assert _row(report["by_status"], "status", "submitted")["value"] == Decimal("30.03")
    assert report["unconverted"] == []
