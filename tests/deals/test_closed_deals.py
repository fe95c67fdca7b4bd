"""A closed deal reads as closed: won and lost deals take a closed stage, no page or export shows
them as protected, and a registration refused as a duplicate leaves no draft behind (issue 14)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import formats, timezone

from bench.load.web import DUPLICATE_REGISTRATION
from deals import services
from deals.models import Deal, DealStage, DealStatus
from prm.tenancy import system_scope
from tests.deals import factories as f
from tests.exports import exported
from tests.helpers import login

pytestmark = pytest.mark.django_db


def _won(team: f.Team, cam: Any) -> Deal:
    deal = f.approved(team.sales_actor, cam)
    with f.acting(team.sales_actor):
        services.deal_mark_won(
            actor=team.sales_actor, deal=deal, won_amount=deal.amount, closed_on=timezone.localdate()
        )
    return Deal.objects.get(pk=deal.pk)


def _lost(team: f.Team, cam: Any) -> Deal:
    deal = f.approved(team.sales_actor, cam, customer="Globex", domain="globex.com")
    with f.acting(team.sales_actor):
        services.deal_mark_lost(actor=team.sales_actor, deal=deal, reason="Went with a competitor")
    return Deal.objects.get(pk=deal.pk)


def test_a_won_deal_is_at_the_closed_won_stage_and_a_lost_one_at_closed_lost(
    team_a: f.Team, cam: Any
) -> None:
    won, lost = _won(team_a, cam), _lost(team_a, cam)
    assert (won.status, won.stage, won.get_stage_display()) == (DealStatus.WON, "closed_won", "Closed – won")
    assert (lost.status, lost.stage, lost.get_stage_display()) == (
        DealStatus.LOST,
        "closed_lost",
        "Closed – lost",
    )


def test_a_win_waiting_for_confirmation_keeps_its_open_stage_until_confirmed(
    team_a: f.Team, cam: Any
) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    with f.acting(team_a.sales_actor):
        services.deal_update_stage(actor=team_a.sales_actor, deal=deal, stage=DealStage.NEGOTIATION)
        services.deal_mark_won(
            actor=team_a.sales_actor, deal=deal, won_amount=deal.amount * 2, closed_on=timezone.localdate()
        )
    deal = Deal.objects.get(pk=deal.pk)
    assert (deal.status, deal.stage) == (DealStatus.WON_PENDING, DealStage.NEGOTIATION)
    with f.acting(cam):
        services.deal_confirm_won(actor=cam, deal=deal)
    assert Deal.objects.get(pk=deal.pk).stage == DealStage.CLOSED_WON


@pytest.mark.parametrize("stage", ["closed_won", "closed_lost"])
def test_a_partner_cannot_choose_a_closed_stage(team_a: f.Team, cam: Any, stage: str) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    client = login(team_a.sales)
    page = client.get(reverse("deals:detail", args=[deal.pk])).content.decode()
    assert f'value="{stage}"' not in page  # not offered in the stage form
    response = client.post(reverse("deals:update_stage", args=[deal.pk]), {"stage": stage}, follow=True)
    assert response.status_code == 200
    assert "Choose a stage." in response.content.decode()
    assert Deal.objects.get(pk=deal.pk).stage == DealStage.PROSPECTING
    with f.acting(team_a.sales_actor), pytest.raises(services.ApplicationError):
        services.deal_save_draft(actor=team_a.sales_actor, data=f.deal_data(stage=stage), lines=[])


def test_closed_deals_show_no_protection_on_any_page_or_export(
    team_a: f.Team, cam: Any, vendor_admin: Any
) -> None:
    won, lost = _won(team_a, cam), _lost(team_a, cam)
    open_deal = f.approved(team_a.sales_actor, cam, customer="Umbrella", domain="umbrella.com")
    assert won.protection_expires_at and lost.protection_expires_at  # stored, for the audit trail
    assert (won.protected_until, lost.protected_until) == (None, None)
    assert Deal.objects.get(pk=open_deal.pk).protected_until is not None

    partner = login(team_a.sales)
    for deal in (won, lost):
        page = partner.get(reverse("deals:detail", args=[deal.pk])).content.decode()
        # The history still tells when protection was granted (a past event); the page's own
        # facts say nothing of a protection.
        assert "Protected until" not in page.split('id="history"')[0], deal.status
    assert "Protected until" in partner.get(reverse("deals:detail", args=[open_deal.pk])).content.decode()

    vendor = login(cam.user)
    for deal in (won, lost):
        page = vendor.get(reverse("deals:review_detail", args=[deal.pk])).content.decode()
        assert "Protected until" not in page, deal.status

    for client, url in ((partner, reverse("deals:export")), (vendor, reverse("deals:vendor_export"))):
        rows = list(csv.DictReader(io.StringIO(exported(client, url).content.decode("utf-8-sig"))))
        by_ref = {row["reference"]: row for row in rows}
        assert by_ref[won.reference]["protected_until"] == ""
        assert by_ref[lost.reference]["protected_until"] == ""
        assert by_ref[won.reference]["stage"] == "Closed – won"
        assert by_ref[open_deal.reference]["protected_until"] != ""

    # The admin's change page (vendor staff review there too).
    admin_page = login(vendor_admin.user).get(reverse("admin:deals_deal_change", args=[won.pk]))
    assert admin_page.status_code == 200
    assert "Protected until" in admin_page.content.decode()
    assert formats.date_format(timezone.localtime(won.protection_expires_at), "DATE_FORMAT") not in (
        admin_page.content.decode()
    )

    # The lists: the protection column is empty for the closed deals.
    expiry = formats.date_format(timezone.localtime(won.protection_expires_at), "DATE_FORMAT")
    for client, url in ((partner, reverse("deals:list")), (vendor, reverse("deals:vendor_list"))):
        page = client.get(url, {"status": "won"}).content.decode()
        assert won.reference in page
        assert expiry not in page.split(won.reference, 1)[1].split("</tr>", 1)[0], url


def _form(product: Any, key: str, **overrides: Any) -> dict[str, Any]:
    data = {
        "customer_name": "Initech",
        "customer_domain": "initech.com",
        "customer_country": "US",
        "customer_region": "na",
        "contact_name": "Peter Gibbons",
        "contact_email": "peter@initech.example",
        "contact_phone": "",
        "title": "Initech network refresh",
        "stage": DealStage.PROSPECTING,
        "expected_close_date": (timezone.localdate() + timedelta(days=30)).isoformat(),
        "currency": "USD",
        "notes": "",
        "submission_key": key,
        "action": "submit",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-product": str(product.pk),
        "lines-0-quantity": "2",
        "lines-0-unit_price": "100.00",
    }
    return {**data, **overrides}


def test_a_registration_refused_as_a_duplicate_leaves_no_draft_and_says_why(team_a: f.Team) -> None:
    product = f.product("Firewall X", price="100.00")
    client = login(team_a.sales)
    first = client.post(reverse("deals:create"), _form(product, str(uuid.uuid4())))
    assert first.status_code == 302
    existing = Deal.objects.get(partner=team_a.partner)
    assert existing.status == DealStatus.SUBMITTED

    again = client.post(reverse("deals:create"), _form(product, str(uuid.uuid4())))
    assert again.status_code == 400
    page = again.content.decode()
    assert f"You already have a registration for this customer: {existing.reference}" in page
    assert "This registration was not saved." in page
    assert DUPLICATE_REGISTRATION.search(page)  # the load run counts this page as a refusal
    assert 'value="Initech"' in page  # what was typed is still on the form
    assert list(Deal.objects.filter(partner=team_a.partner).values_list("pk", flat=True)) == [existing.pk]


def test_a_registration_with_missing_fields_still_keeps_its_draft(team_a: f.Team) -> None:
    """Only the duplicate refusal discards the new draft: other problems keep what was typed."""
    product = f.product("Firewall X", price="100.00")
    response = login(team_a.sales).post(
        reverse("deals:create"), _form(product, str(uuid.uuid4()), customer_country="")
    )
    assert response.status_code == 302
    assert Deal.objects.get(partner=team_a.partner).status == DealStatus.DRAFT


def test_the_data_migration_closes_the_stage_of_deals_won_or_lost_before(team_a: f.Team, cam: Any) -> None:
    """deals/0011_closed_deal_stage's SQL, run as the application's role (row-level security on):
    deals won or lost under the old code kept their open stage."""
    import importlib

    from django.db import connection

    won, lost = _won(team_a, cam), _lost(team_a, cam)
    still_open = f.approved(team_a.sales_actor, cam, customer="Umbrella", domain="umbrella.com")
    with system_scope():
        Deal.objects.filter(pk__in=[won.pk, lost.pk]).update(stage=DealStage.NEGOTIATION)
    migration = importlib.import_module("deals.migrations.0011_closed_deal_stage").Migration
    forward = migration.operations[-1].sql
    with connection.cursor() as cursor:
        cursor.execute(forward)
    with system_scope():
        stages = dict(Deal.objects.values_list("pk", "stage"))
    assert stages == {won.pk: "closed_won", lost.pk: "closed_lost", still_open.pk: "prospecting"}
