"""The panels incentives contributes to the MDF pages through the panels hook (partners.panels):
the deals an activity sourced, with the attribute and detach forms, on the fund request page; the
return on investment on the vendor's MDF report and its CSV export. mdf imports neither deals nor
incentives, so its pages render without them when nothing is contributed."""

from __future__ import annotations

import copy
import csv
import html
import io
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.test import override_settings
from django.urls import reverse

from deals.models import Deal
from incentives import services
from mdf import services as mdf_services
from mdf.exports import REPORT_CSV_HEADER
from mdf.models import FundRequest
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as df
from tests.exports import exported
from tests.helpers import login
from tests.incentives import factories as f
from tests.isolation import built_once
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db

HOOKS = ("mdf_request_panel", "mdf_report_panel", "mdf_report_csv_rows")


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


@dataclass
class Activity:
    team: m.Team
    admin: Actor
    finished: FundRequest  # approved, claimed and paid out at 1,800 of 2,000, two deals attributed
    waiting: FundRequest  # submitted, not approved yet
    won: Deal
    approved: Deal
    candidate: Deal  # approved, not attributed: the only one the form offers


@built_once
def activity_world() -> Iterator[Activity]:
    """Built once for the module (tests/isolation.py): each test runs in a savepoint of its own.
    Its files (the claim's proof, the tests' exports) go to a folder of the module's own."""
    with tempfile.TemporaryDirectory() as root, override_settings(STORAGES=factories.storages_at(Path(root))):
        yield _activity()


@pytest.fixture
def activity(activity_world: Activity) -> Activity:
    # A copy: what a test changes on the objects in memory (a login's last_login) must not reach
    # the next test.
    return copy.deepcopy(activity_world)


def _activity() -> Activity:
    admin = m.program_admin()
    team = m.team("Northwind Resellers")
    m.fund(team.partner, m.budget(), "10000.00", admin)
    marketing = team.marketing_actor
    finished = m.approved(
        marketing, admin, title="Panel expo", requested_amount=Decimal("2000"), **m.past_dates()
    )
    claim = m.claim(marketing, finished, actual_cost=Decimal("4000"), claimed_amount=Decimal("1900"))
    finance = m.finance()
    with m.acting(finance):
        mdf_services.claim_approve(actor=finance, claim=claim, amount=Decimal("1800"))
    waiting = m.submitted(marketing, title="Panel summit", requested_amount=Decimal("300"))
    won = f.won(team, admin, "25000.00", customer="Initech", domain="initech.com")
    approved = df.approved(team.sales_actor, admin, customer="Globex", domain="globex.com")
    candidate = df.approved(team.sales_actor, admin, customer="Umbrella", domain="umbrella.com")
    with m.acting(team.admin_actor):
        services.attribute_deal(actor=team.admin_actor, deal=won, fund_request=finished)
        services.attribute_deal(actor=team.admin_actor, deal=approved, fund_request=finished)
    return Activity(team, admin, m.fresh(finished), m.fresh(waiting), won, approved, candidate)


def attributions_card(page: str) -> str:
    """The panel's card: it sits just before the request's history."""
    match = re.search(
        r'<div class="card" id="attributions">.*?(?=<div class="card" id="history">)', page, re.S
    )
    assert match, "no attributions panel"
    return match.group(0)


# --- the fund request page ----------------------------------------------------------------------------
def test_the_request_page_shows_the_sourced_deals_from_the_incentives_panel(activity: Activity) -> None:
    response = login(activity.team.admin).get(reverse("mdf:request_detail", args=[activity.finished.pk]))

    assert response.status_code == 200
    assert [panel["template"] for panel in response.context["panels"]] == [
        "incentives/_mdf_request_panel.html"
    ]
    card = attributions_card(text_of(response))
    assert "2 deals · 25,000.00 USD won" in card
    # A partner admin works deals too: each reference links to the deal, and can be detached.
    for deal in (activity.won, activity.approved):
        assert f'href="{reverse("deals:detail", args=[deal.pk])}"' in card
    for attribution in activity.won.mdf_attribution, activity.approved.mdf_attribution:
        assert f'action="{reverse("incentives:detach_deal", args=[attribution.pk])}"' in card
    # The form posts to incentives and offers only the deal no activity claims yet.
    assert f'action="{reverse("incentives:attribute_deal", args=[activity.finished.pk])}"' in card
    offered = re.findall(r'<option value="(\d+)"', card)
    assert offered == [str(activity.candidate.pk)]


def test_marketing_sees_the_deals_without_links_or_choices(activity: Activity) -> None:
    response = login(activity.team.marketing).get(reverse("mdf:request_detail", args=[activity.finished.pk]))

    card = attributions_card(text_of(response))
    assert activity.won.reference in card and activity.approved.reference in card
    assert "/deals/" not in card  # marketing does not see deals: references only
    assert 'id="attribute-form"' not in card
    assert "Deals are registered by your sales team" in card


def test_before_approval_the_panel_says_when_deals_can_be_attributed(activity: Activity) -> None:
    response = login(activity.team.admin).get(reverse("mdf:request_detail", args=[activity.waiting.pk]))

    card = attributions_card(text_of(response))
    assert "Once the activity is approved, attribute the deals it sourced" in card
    assert 'id="attribute-form"' not in card and 'id="attribution-table"' not in card


def test_the_attribute_form_on_the_panel_attributes_the_deal(activity: Activity) -> None:
    client = login(activity.team.admin)

    response = client.post(
        reverse("incentives:attribute_deal", args=[activity.finished.pk]),
        {"deal": activity.candidate.pk},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("mdf:request_detail", args=[activity.finished.pk])
    card = attributions_card(text_of(response))
    assert "3 deals · 25,000.00 USD won" in card
    assert 'id="attribute-form"' not in card  # nothing left to offer
    assert "No deals to attribute." in card


# --- the vendor's report ------------------------------------------------------------------------------
def test_the_vendor_report_shows_the_return_on_investment_from_the_incentives_panel(
    activity: Activity,
) -> None:
    response = login(activity.admin.user).get(reverse("mdf:vendor_report"))

    assert response.status_code == 200
    (panel,) = response.context["panels"]
    assert panel["template"] == "incentives/_mdf_report_panel.html"
    assert panel["roi_count"] == 1
    page = text_of(response)
    assert 'id="roi-table"' in page and 'id="roi-chart"' in page
    assert "13.89×" in page  # 25,000 won for 1,800 spent
    # The panel's chart data joins the report's own, which the page's script draws.
    charts = json.loads(re.search(r'id="report-chart-data"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert list(charts) == ["utilisation", "roi"]
    assert charts["roi"] == {
        "labels": [f"{activity.finished.reference} · Northwind Resellers"],
        "values": [13.89],
        "height": 108,
    }


def test_the_export_carries_the_roi_rows_incentives_contributes(activity: Activity) -> None:
    response = exported(login(activity.admin.user), reverse("mdf:vendor_report_export"))

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    (roi,) = [row for row in rows if row["section"] == "roi"]
    assert roi == {
        **dict.fromkeys(REPORT_CSV_HEADER, ""),
        "section": "roi",
        "reference": activity.finished.reference,
        "activity": "Panel expo",
        "partner": "Northwind Resellers",
        "currency": "USD",
        "spent": "1800.00",
        "deals": "2",
        "won_revenue": "25000.00",
        "revenue_per_mdf": "13.89",
    }


# --- the hook -----------------------------------------------------------------------------------------
def test_incentives_contributes_the_mdf_panels_through_its_app_config() -> None:
    config = apps.get_app_config("incentives")
    assert {hook: getattr(config, hook) for hook in HOOKS} == {
        "mdf_request_panel": "incentives.panels.mdf_request_panel",
        "mdf_report_panel": "incentives.panels.mdf_report_panel",
        "mdf_report_csv_rows": "incentives.panels.mdf_report_csv_rows",
    }


def test_the_mdf_pages_render_without_the_panels(activity: Activity, monkeypatch: Any) -> None:
    """mdf depends on nothing above it: with no app contributing, its pages simply lack the panels."""
    config = apps.get_app_config("incentives")
    for hook in HOOKS:
        monkeypatch.setattr(config, hook, None)

    detail = login(activity.team.admin).get(reverse("mdf:request_detail", args=[activity.finished.pk]))
    vendor = login(activity.admin.user)
    report = vendor.get(reverse("mdf:vendor_report"))
    export = exported(vendor, reverse("mdf:vendor_report_export"))

    assert detail.status_code == report.status_code == export.status_code == 200
    assert 'id="attributions"' not in detail.content.decode()
    assert 'id="request-ledger"' in detail.content.decode()
    assert 'id="roi"' not in report.content.decode() and 'id="utilisation-table"' in report.content.decode()
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert list(rows[0]) == REPORT_CSV_HEADER
    assert {row["section"] for row in rows} == {"utilisation"}
