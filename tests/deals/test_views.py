"""Deal registration, review, extensions, closing, and leads through the test client: forms,
formsets, redirects, messages and the state they leave behind. Bad input is an error on the page,
never a server error."""

from __future__ import annotations

import csv
import functools
import html
import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import formats, timezone, translation

from deals import leads, services
from deals.models import (
    ConflictResolution,
    ConflictStatus,
    Deal,
    DealConflict,
    DealExtensionRequest,
    DealLine,
    DealStage,
    DealStatus,
    ExtensionStatus,
    Lead,
    LeadOffer,
    LeadStatus,
    OfferOutcome,
    Product,
)
from prm.models import AuditEvent
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as f
from tests.exports import exported, get_or_export
from tests.helpers import login as signed_in

pytestmark = pytest.mark.django_db


# --- helpers ------------------------------------------------------------------------------------
# A client that answers a crash with a 500 response (so tests can say "never a 500").
login = functools.partial(signed_in, raise_request_exception=False)


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


def today() -> Any:
    return timezone.localdate()


def display_date(value: Any) -> str:
    with translation.override("en"):
        return formats.date_format(
            timezone.localtime(value) if hasattr(value, "tzinfo") else value, "DATE_FORMAT"
        )


@pytest.fixture
def products(db: Any) -> dict[str, Product]:
    return {
        "firewall": f.product("Firewall X", price="1234.56", line="Security"),
        "switch": f.product("Switch Y", price="99.99", line="Network"),
        "retired": f.product("Legacy Z", price="5.00", line="Network", active=False),
    }


def deal_form(
    lines: list[tuple[Product, Any, Any]] | None = None,
    *,
    rows: int = 3,
    key: Any = None,
    action: str = "save",
    **overrides: Any,
) -> dict[str, Any]:
    """The deal form as the browser posts it: customer fields, the management form and ``rows``
    product rows (blank rows have quantity 1 and nothing else, as the page renders them)."""
    lines = lines or []
    rows = max(rows, len(lines))
    data: dict[str, Any] = {
        "customer_name": "Initech",
        "customer_domain": "initech.com",
        "customer_country": "US",
        "customer_region": "na",
        "contact_name": "Peter Gibbons",
        "contact_email": "peter@initech.example",
        "contact_phone": "",
        "title": "Initech network refresh",
        "stage": DealStage.PROSPECTING,
        "expected_close_date": (today() + timedelta(days=30)).isoformat(),
        "currency": "USD",
        "notes": "",
        "submission_key": str(key or uuid.uuid4()),
        "action": action,
        "lines-TOTAL_FORMS": str(rows),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
    }
    for index in range(rows):
        data.update(
            {f"lines-{index}-product": "", f"lines-{index}-quantity": "1", f"lines-{index}-unit_price": ""}
        )
    for index, (product, quantity, price) in enumerate(lines):
        data.update(
            {
                f"lines-{index}-product": str(product.pk) if isinstance(product, Product) else str(product),
                f"lines-{index}-quantity": str(quantity),
                f"lines-{index}-unit_price": str(price),
            }
        )
    for name, value in overrides.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def two_lines(products: dict[str, Product]) -> list[tuple[Product, Any, Any]]:
    # 3 × 1,234.56 + 2 × 99.99 = 3,703.68 + 199.98 = 3,903.66
    return [(products["firewall"], 3, "1234.56"), (products["switch"], 2, "99.99")]


def lines_of(deal: Deal) -> list[tuple[str, int, Decimal, Decimal]]:
    return [
        (line.product.name, line.quantity, line.unit_price, line.amount)
        for line in DealLine.objects.filter(deal=deal).select_related("product").order_by("pk")
    ]


# --- registration -------------------------------------------------------------------------------
def test_the_registration_form_starts_with_three_blank_rows_and_a_submission_key(
    team_a: f.Team, products: dict
) -> None:
    response = login(team_a.sales).get(reverse("deals:create"))
    assert response.status_code == 200
    page = response.content.decode()
    for index in range(3):
        assert f'id="id_lines-{index}-product"' in page
    assert 'id="id_lines-3-product"' not in page
    assert 'id="add-line"' in page
    assert 'name="lines-TOTAL_FORMS" value="3"' in page
    key = re.search(r'name="submission_key" value="([0-9a-f-]{36})"', page)
    assert key and uuid.UUID(key.group(1))
    assert "Firewall X" in page and "Switch Y" in page
    assert "Legacy Z" not in page  # inactive products are not offered


def test_save_then_submit_a_deal_with_two_lines(team_a: f.Team, products: dict) -> None:
    client = login(team_a.sales)
    data = deal_form(two_lines(products), action="save")
    response = client.post(reverse("deals:create"), data)
    assert response.status_code == 302
    deal = Deal.objects.get(partner=team_a.partner)
    assert response["Location"] == reverse("deals:detail", args=[deal.pk])
    assert (deal.status, deal.partner, deal.registered_by) == (DealStatus.DRAFT, team_a.partner, team_a.sales)
    assert deal.amount == Decimal("3903.66")
    assert lines_of(deal) == [
        ("Firewall X", 3, Decimal("1234.56"), Decimal("3703.68")),
        ("Switch Y", 2, Decimal("99.99"), Decimal("199.98")),
    ]
    assert str(deal.submission_key) == data["submission_key"]
    assert (deal.customer_name, deal.customer_domain, deal.customer_country.code) == (
        "Initech",
        "initech.com",
        "US",
    )

    detail = client.get(response["Location"])
    assert detail.status_code == 200
    page = text_of(detail)
    assert "3,903.66 USD" in page
    assert f"Draft {deal.reference} saved." in page
    assert 'id="deal-submit"' in page

    # The edit page shows the saved lines, ready to be changed.
    edit = client.get(reverse("deals:edit", args=[deal.pk]))
    assert edit.status_code == 200
    edit_page = edit.content.decode()
    assert re.search(rf'<option value="{products["firewall"].pk}"[^>]*selected', edit_page)
    assert 'name="lines-0-quantity"' in edit_page and 'value="1234.56"' in edit_page
    assert 'value="Initech"' in edit_page

    # Submit from the edit page with the same lines.
    response = client.post(reverse("deals:edit", args=[deal.pk]), {**data, "action": "submit"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("deals:detail", args=[deal.pk])
    assert "was submitted for review" in text_of(response)
    deal.refresh_from_db()
    assert deal.status == DealStatus.SUBMITTED
    assert deal.amount == Decimal("3903.66")
    assert len(lines_of(deal)) == 2  # the lines were replaced, not added again
    assert deal.submitted_at is not None and deal.review_due_at > deal.submitted_at
    assert Deal.objects.filter(partner=team_a.partner).count() == 1


def test_submit_straight_from_the_registration_form(team_a: f.Team, products: dict) -> None:
    response = login(team_a.sales).post(
        reverse("deals:create"), deal_form(two_lines(products), action="submit")
    )
    assert response.status_code == 302
    deal = Deal.objects.get(partner=team_a.partner)
    assert response["Location"] == reverse("deals:detail", args=[deal.pk])
    assert (deal.status, deal.amount) == (DealStatus.SUBMITTED, Decimal("3903.66"))


@pytest.mark.parametrize("action", ["save", "submit"])
def test_the_same_post_twice_creates_one_deal(team_a: f.Team, products: dict, action: str) -> None:
    client = login(team_a.sales)
    data = deal_form(two_lines(products), action=action)
    first = client.post(reverse("deals:create"), data)
    second = client.post(reverse("deals:create"), data)
    assert first.status_code == second.status_code == 302
    assert Deal.objects.filter(partner=team_a.partner).count() == 1
    deal = Deal.objects.get(partner=team_a.partner)
    assert first["Location"] == second["Location"] == reverse("deals:detail", args=[deal.pk])
    assert DealLine.objects.filter(deal=deal).count() == 2
    assert deal.amount == Decimal("3903.66")
    assert AuditEvent.objects.filter(action="deal.drafted", partner_id=team_a.partner.pk).count() == 1
    expected = DealStatus.SUBMITTED if action == "submit" else DealStatus.DRAFT
    assert deal.status == expected
    # A new form (a new key) is a new deal (control).
    third = client.post(reverse("deals:create"), deal_form(two_lines(products), customer_name="Initrode"))
    assert third.status_code == 302
    assert Deal.objects.filter(partner=team_a.partner).count() == 2


@pytest.mark.parametrize(
    ("case", "overrides", "with_lines", "problems"),
    [
        (
            "past close date",
            {"expected_close_date": (timezone.now().date() - timedelta(days=3)).isoformat()},
            True,
            ["The expected close date is in the past."],
        ),
        ("no lines", {}, False, ["Add at least one product line."]),
        ("no domain", {"customer_domain": ""}, True, ["Enter the customer's website domain."]),
        (
            "everything at once",
            {
                "expected_close_date": (timezone.now().date() - timedelta(days=1)).isoformat(),
                "customer_domain": "",
                "customer_country": "",
            },
            False,
            [
                "Enter the customer's website domain.",
                "Choose the customer's country.",
                "The expected close date is in the past.",
                "Add at least one product line.",
            ],
        ),
    ],
)
def test_submit_with_problems_saves_the_draft_and_lists_every_problem(
    team_a: f.Team, products: dict, case: str, overrides: dict, with_lines: bool, problems: list[str]
) -> None:
    client = login(team_a.sales)
    data = deal_form(
        two_lines(products) if with_lines else [],
        action="submit",
        customer_name="Initech Global",
        **overrides,
    )
    response = client.post(reverse("deals:create"), data)
    assert response.status_code == 302, case
    deal = Deal.objects.get(partner=team_a.partner)
    assert response["Location"] == reverse("deals:edit", args=[deal.pk])
    # Nothing typed is lost: the draft holds it.
    assert (deal.status, deal.customer_name, deal.contact_name) == (
        DealStatus.DRAFT,
        "Initech Global",
        "Peter Gibbons",
    )
    assert len(lines_of(deal)) == (2 if with_lines else 0)

    edit = client.get(response["Location"])
    assert edit.status_code == 200
    page = text_of(edit)
    assert 'id="submit-problems"' in page
    for problem in problems:
        assert problem in page, problem
    assert "is saved as a draft but was not submitted yet" in page
    assert 'value="Initech Global"' in page
    # The problems are shown once, not on every later visit.
    assert 'id="submit-problems"' not in client.get(response["Location"]).content.decode()


def test_submit_problems_from_the_detail_page_are_listed_there(team_a: f.Team) -> None:
    deal = f.draft(team_a.sales_actor, lines=[], customer="Initech Global")
    client = login(team_a.sales)
    response = client.post(reverse("deals:submit", args=[deal.pk]), follow=True)
    assert response.status_code == 200
    page = text_of(response)
    assert f"Deal {deal.reference} was not submitted." in page
    assert "Add at least one product line." in page
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.DRAFT


def test_an_invalid_domain_is_shown_and_nothing_typed_is_lost(team_a: f.Team, products: dict) -> None:
    client = login(team_a.sales)
    # A new registration: the form comes back with the error and everything typed.
    data = deal_form(
        two_lines(products), action="submit", customer_name="Initech Global", customer_domain="not a domain"
    )
    response = client.post(reverse("deals:create"), data)
    assert response.status_code == 400
    page = text_of(response)
    assert "Enter a website domain such as example.com." in page
    assert 'value="Initech Global"' in page
    assert 'value="not a domain"' in page
    assert 'value="1234.56"' in page and 'value="99.99"' in page
    assert re.search(rf'<option value="{products["switch"].pk}"[^>]*selected', page)
    assert Deal.objects.filter(partner=team_a.partner).count() == 0

    # A saved draft: the draft keeps what it held, the page shows what was typed.
    client.post(reverse("deals:create"), deal_form(two_lines(products), customer_name="Initech Global"))
    deal = Deal.objects.get(partner=team_a.partner)
    response = client.post(
        reverse("deals:edit", args=[deal.pk]),
        deal_form(
            two_lines(products),
            action="submit",
            customer_name="Initech Worldwide",
            customer_domain="bad_domain!.com",
        ),
    )
    assert response.status_code == 400
    page = text_of(response)
    assert "Enter a website domain such as example.com." in page
    assert 'value="Initech Worldwide"' in page
    deal.refresh_from_db()
    assert (deal.status, deal.customer_name, deal.customer_domain) == (
        DealStatus.DRAFT,
        "Initech Global",
        "initech.com",
    )


def test_a_returned_deal_is_edited_and_resubmitted(team_a: f.Team, products: dict, cam: Actor) -> None:
    deal = f.submitted(team_a.sales_actor, lines=[f.line(products["firewall"], 1, "1000.00")])
    with f.acting(cam):
        services.deal_return_for_info(actor=cam, deal=deal, reason="Which sites are in scope?")
    client = login(team_a.sales)
    edit = client.get(reverse("deals:edit", args=[deal.pk]))
    assert edit.status_code == 200
    assert "Which sites are in scope?" in text_of(edit)
    response = client.post(
        reverse("deals:edit", args=[deal.pk]),
        deal_form(two_lines(products), action="submit", notes="All three sites"),
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.status, deal.amount, deal.notes) == (
        DealStatus.SUBMITTED,
        Decimal("3903.66"),
        "All three sites",
    )


def test_a_submitted_deal_cannot_be_edited(team_a: f.Team, products: dict) -> None:
    deal = f.submitted(team_a.sales_actor)
    client = login(team_a.sales)
    response = client.get(reverse("deals:edit", args=[deal.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("deals:detail", args=[deal.pk])
    assert "can no longer be edited" in text_of(response)
    before = Deal.objects.filter(pk=deal.pk).values().get()
    response = client.post(
        reverse("deals:edit", args=[deal.pk]), deal_form(two_lines(products), customer_name="Changed")
    )
    assert response.status_code == 302
    assert Deal.objects.filter(pk=deal.pk).values().get() == before


def test_only_sales_users_and_admins_register(team_a: f.Team, products: dict) -> None:
    marketing = factories.partner_user(team_a.partner, role="marketing")
    client = login(marketing)
    response = client.get(reverse("deals:create"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("deals:list")
    assert "register deals" in text_of(response)
    client.post(reverse("deals:create"), deal_form(two_lines(products)))
    assert Deal.objects.filter(partner=team_a.partner).count() == 0
    # Admins register too (control).
    assert (
        login(team_a.admin).post(reverse("deals:create"), deal_form(two_lines(products))).status_code == 302
    )
    assert Deal.objects.filter(partner=team_a.partner).count() == 1


# --- the "Add line" partial ----------------------------------------------------------------------
def test_line_row_partial_renders_one_row_with_the_given_index(team_a: f.Team, products: dict) -> None:
    response = login(team_a.sales).get(reverse("deals:line_row"), {"index": "4"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<html" not in page and "<body" not in page
    assert page.count("<tr") == 1
    for name in ("product", "quantity", "unit_price"):
        assert f'name="lines-4-{name}"' in page
        assert f'id="id_lines-4-{name}"' in page
    assert re.search(r'name="lines-4-quantity"[^>]*value="1"', page)
    assert f'value="{products["firewall"].pk}"' in page
    assert 'data-price="1234.56"' in page
    assert "Legacy Z" not in page
    assert "invalid-feedback" not in page  # a blank row shows no errors


@pytest.mark.parametrize("index", ["", "abc", "-1", "50", "51", "1e3", "3.0", "99999999999999999999999"])
def test_line_row_refuses_a_bad_index_with_400(team_a: f.Team, products: dict, index: str) -> None:
    response = login(team_a.sales).get(reverse("deals:line_row"), {"index": index})
    assert response.status_code == 400
    assert 'name="lines-' not in response.content.decode()


def test_line_row_without_an_index_is_400(team_a: f.Team) -> None:
    assert login(team_a.sales).get(reverse("deals:line_row")).status_code == 400


def test_line_row_is_for_partner_users(team_a: f.Team, vendor_admin: Actor) -> None:
    assert login(vendor_admin.user).get(reverse("deals:line_row"), {"index": "1"}).status_code == 404
    anonymous = Client().get(reverse("deals:line_row"), {"index": "1"})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))


def test_rows_added_by_the_partial_are_saved(team_a: f.Team, products: dict) -> None:
    """The page starts with three rows; "Add line" adds lines-3 and bumps TOTAL_FORMS."""
    lines = [
        (products["firewall"], 1, "1000.00"),
        (products["switch"], 1, "10.00"),
        (products["switch"], 2, "20.00"),
        (products["firewall"], 4, "0.25"),
    ]
    response = login(team_a.sales).post(reverse("deals:create"), deal_form(lines, rows=4))
    assert response.status_code == 302
    assert Deal.objects.get(partner=team_a.partner).amount == Decimal("1051.00")
    assert len(lines_of(Deal.objects.get(partner=team_a.partner))) == 4


# --- bad input ------------------------------------------------------------------------------------
def _line(index: int, **values: str) -> dict[str, str]:
    return {f"lines-{index}-{name}": value for name, value in values.items()}


BAD_DEAL_FORMS = {
    "quantity abc": ({"lines-0-quantity": "abc"}, "A whole number."),
    "quantity zero": ({"lines-0-quantity": "0"}, "At least 1."),
    "quantity negative": ({"lines-0-quantity": "-3"}, "At least 1."),
    "quantity fraction": ({"lines-0-quantity": "1.5"}, "A whole number."),
    "quantity huge": ({"lines-0-quantity": "99999999999999999999999"}, "Too many."),
    "price negative": ({"lines-0-unit_price": "-5"}, "Cannot be negative."),
    "price abc": ({"lines-0-unit_price": "abc"}, "Enter a number."),
    "price NaN": ({"lines-0-unit_price": "NaN"}, "Enter a number."),
    "price Infinity": ({"lines-0-unit_price": "Infinity"}, "Enter a number."),
    "price 1e400": ({"lines-0-unit_price": "1e400"}, "Too large."),
    "price three decimals": ({"lines-0-unit_price": "12.345"}, "At most 2 decimals."),
    "price too long": ({"lines-0-unit_price": "999999999999999"}, "Too large."),
    "price missing": ({"lines-0-unit_price": ""}, "Enter a price."),
    "product unknown": ({"lines-0-product": "987654321"}, "Choose an active product."),
    "product abc": ({"lines-0-product": "abc"}, "Choose an active product."),
    "product inactive": ({"lines-0-product": "retired"}, "Choose an active product."),
    "product missing": ({"lines-0-product": ""}, "Choose a product."),
    "total too large": (
        {"lines-0-quantity": "1000000", "lines-0-unit_price": "99999999999.99"},
        "The deal's total is too large.",
    ),
    "huge TOTAL_FORMS": ({"lines-TOTAL_FORMS": "1000000"}, "Please submit at most 50 forms."),
    "TOTAL_FORMS abc": (
        {"lines-TOTAL_FORMS": "abc"},
        "ManagementForm data is missing or has been tampered with",
    ),
    "no management form": ({"lines-TOTAL_FORMS": None, "lines-INITIAL_FORMS": None}, "ManagementForm data"),
    "51 rows": (
        {"lines-TOTAL_FORMS": "51", **_line(50, product="firewall", quantity="1", unit_price="1")},
        "at most 50",
    ),
    "customer missing": ({"customer_name": ""}, "This field is required."),
    "customer too long": ({"customer_name": "x" * 201}, "at most 200 characters"),
    "close date invalid": ({"expected_close_date": "2025-02-30"}, "Enter a valid date."),
    "close date garbage": ({"expected_close_date": "next tuesday"}, "Enter a valid date."),
    "currency unknown": ({"currency": "XXX"}, "Select a valid choice."),
    "country unknown": ({"customer_country": "ZZ"}, "Select a valid choice."),
    "region unknown": ({"customer_region": "mars"}, "Select a valid choice."),
    "stage unknown": ({"stage": "won"}, "Select a valid choice."),
    "email invalid": ({"contact_email": "peter at initech"}, "Enter a valid email address."),
    "NUL in notes": ({"notes": "hello\x00world"}, "Null characters are not allowed."),
    "NUL in customer": ({"customer_name": "Ini\x00tech"}, "Null characters are not allowed."),
    # A tampered hidden field: refused (the summary says so; the hidden field has no place to show it).
    "submission key garbage": ({"submission_key": "not-a-uuid"}, "Please correct the errors below."),
}


@pytest.mark.parametrize("case", list(BAD_DEAL_FORMS))
@pytest.mark.parametrize("action", ["save", "submit"])
def test_bad_registration_input_is_an_error_on_the_page_never_a_500(
    team_a: f.Team, products: dict, case: str, action: str
) -> None:
    overrides, message = BAD_DEAL_FORMS[case]
    named = {"firewall": str(products["firewall"].pk), "retired": str(products["retired"].pk)}
    overrides = {
        key: named.get(value, value) if isinstance(value, str) else value for key, value in overrides.items()
    }
    data = deal_form(two_lines(products), action=action)
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    response = login(team_a.sales).post(reverse("deals:create"), data)
    assert response.status_code == 400, (case, response.status_code)
    assert message in text_of(response), case
    assert Deal.objects.filter(partner=team_a.partner).count() == 0
    assert DealLine.objects.filter(deal__partner=team_a.partner).count() == 0


@pytest.mark.parametrize("case", ["quantity abc", "price negative", "product unknown", "huge TOTAL_FORMS"])
def test_bad_input_on_the_edit_page_leaves_the_draft_alone(team_a: f.Team, products: dict, case: str) -> None:
    deal = f.draft(team_a.sales_actor, lines=[f.line(products["switch"], 5, "10.00")])
    before = (Deal.objects.filter(pk=deal.pk).values().get(), lines_of(deal))
    overrides, message = BAD_DEAL_FORMS[case]
    data = {**deal_form(two_lines(products), action="submit", customer_name="Changed"), **overrides}
    response = login(team_a.sales).post(reverse("deals:edit", args=[deal.pk]), data)
    assert response.status_code == 400
    assert message in text_of(response)
    assert (Deal.objects.filter(pk=deal.pk).values().get(), lines_of(deal)) == before


@pytest.mark.parametrize(
    ("url_name", "params"),
    [
        ("deals:list", {"status": "bogus", "stage": "nope", "page": "abc"}),
        ("deals:list", {"q": "x" * 500, "page": "-1"}),
        ("deals:list", {"q": "nul\x00byte", "page": "99999"}),
        ("deals:export", {"status": "bogus", "q": "%_\\"}),
        ("deals:lead_list", {"status": "bogus", "page": "x"}),
        ("deals:lead_list", {"format": "xml"}),
        ("deals:pipeline", {"anything": "goes"}),
    ],
)
def test_bad_filters_on_partner_pages_are_ignored(team_a: f.Team, url_name: str, params: dict) -> None:
    f.submitted(team_a.sales_actor)
    response = get_or_export(login(team_a.admin), reverse(url_name), params)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("url_name", "params"),
    [
        ("deals:review_queue", {"partner": "abc", "q": "x" * 500, "page": "0"}),
        ("deals:review_queue", {"partner": "987654321"}),
        ("deals:review_queue_export", {"partner": "abc"}),
        (
            "deals:vendor_list",
            {"partner": "abc", "tier": "x", "region": "mars", "product": "-1", "status": "zzz"},
        ),
        ("deals:vendor_list", {"created_from": "2025-13-45", "created_to": "yesterday"}),
        ("deals:vendor_list", {"created_from": "2026-01-02", "created_to": "2025-01-01", "q": "nul\x00"}),
        ("deals:vendor_export", {"product": "abc", "created_from": "bad"}),
        ("deals:vendor_pipeline", {"partner": "abc", "tier": "999999", "created_from": "bad"}),
        ("deals:vendor_pipeline_export", {"region": "mars"}),
        ("deals:vendor_lead_list", {"status": "bogus", "page": "abc"}),
        ("deals:vendor_lead_export", {"status": "bogus"}),
    ],
)
def test_bad_filters_on_vendor_pages_are_ignored(
    team_a: f.Team, vendor_admin: Actor, url_name: str, params: dict
) -> None:
    f.submitted(team_a.sales_actor)
    response = get_or_export(login(vendor_admin.user), reverse(url_name), params)
    assert response.status_code == 200


# --- review queue and decisions -------------------------------------------------------------------
def _queue_rows(page: str) -> list[str]:
    table = page.split('id="review-table"', 1)[1]
    tbody = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in tbody.split("<tr>") if row.strip()]


def test_review_queue_lists_the_oldest_first_with_the_sla_badge(
    team_a: f.Team, team_b: f.Team, cam: Actor
) -> None:
    now = timezone.now()
    # Created newest first, so creation order and queue order differ.
    newest = f.submitted(team_a.sales_actor, customer="Newest Corp", domain="newest.example")
    middle = f.submitted(team_a.sales2_actor, customer="Middle Corp", domain="middle.example")
    oldest = f.submitted(team_a.admin_actor, customer="Oldest Corp", domain="oldest.example")
    f.draft(team_a.sales_actor, customer="Draft Corp", domain="draft.example")  # not in the queue
    other = f.submitted(team_b.sales_actor, customer="Elsewhere Corp", domain="elsewhere.example")
    Deal.objects.filter(pk=oldest.pk).update(
        submitted_at=now - timedelta(days=5), review_due_at=now - timedelta(days=1)
    )
    Deal.objects.filter(pk=middle.pk).update(
        submitted_at=now - timedelta(days=1), review_due_at=now + timedelta(hours=10)
    )
    Deal.objects.filter(pk=newest.pk).update(
        submitted_at=now - timedelta(hours=1), review_due_at=now + timedelta(days=3)
    )

    response = login(cam.user).get(reverse("deals:review_queue"))
    assert response.status_code == 200
    assert [d.pk for d in response.context["page"].object_list] == [oldest.pk, middle.pk, newest.pk]
    page = response.content.decode()
    assert other.reference not in page  # another partner's deal (not in this manager's portfolio)
    rows = _queue_rows(page)
    assert len(rows) == 3
    assert [re.search(r"DR-\d{6}", row).group(0) for row in rows] == [
        oldest.reference,
        middle.reference,
        newest.reference,
    ]
    assert "sla-badge" in rows[0] and "overdue" in rows[0]
    assert "sla-badge" in rows[1] and "due soon" in rows[1] and "overdue" not in rows[1]
    assert "sla-badge" not in rows[2]
    assert "3 submitted deals wait for a decision, oldest first." in text_of(response)

    export = exported(login(cam.user), reverse("deals:review_queue_export"))
    header, *rows = csv.reader(io.StringIO(export.content.decode()))
    assert [row[0] for row in rows] == [oldest.reference, middle.reference, newest.reference]
    sla = header.index("sla")
    assert [row[sla] for row in rows] == ["overdue", "due soon", ""]


def test_approving_from_the_review_page_protects_the_deal(team_a: f.Team, cam: Actor, products: dict) -> None:
    deal = f.submitted(team_a.sales_actor, lines=[f.line(products["firewall"], 2, "500.00")])
    client = login(cam.user)
    review = client.get(reverse("deals:review_detail", args=[deal.pk]))
    assert review.status_code == 200
    page = review.content.decode()
    assert re.search(r'id="approve-deal"(?![^>]*disabled)', page)
    assert "Protects the customer for 90 days" in text_of(review)

    started = timezone.now()
    response = client.post(reverse("deals:approve", args=[deal.pk]), follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[0][0] == reverse("deals:review_queue")
    deal.refresh_from_db()
    assert deal.status == DealStatus.APPROVED
    assert deal.reviewed_by == cam.user
    days = settings.PRM["DEAL_PROTECTION_DAYS"]
    assert (
        started + timedelta(days=days) <= deal.protection_expires_at <= timezone.now() + timedelta(days=days)
    )
    assert deal.discount_percent == team_a.partner.tier.deal_registration_discount_percent
    expiry = display_date(deal.protection_expires_at)  # the site's date format, never ISO
    assert f"Deal {deal.reference} approved: Northwind Resellers is protected until {expiry}." in text_of(
        response
    )
    assert deal.reference not in [d.reference for d in response.context["page"].object_list]

    after = text_of(client.get(reverse("deals:review_detail", args=[deal.pk])))
    assert f"Approved: protected until {display_date(deal.protection_expires_at)}" in after
    assert 'id="approve-deal"' not in after

    partner_page = text_of(login(team_a.sales).get(reverse("deals:detail", args=[deal.pk])))
    assert f"Protected until {display_date(deal.protection_expires_at)}" in partner_page
    assert 'id="won-form"' in partner_page


@pytest.mark.parametrize("url_name", ["deals:reject", "deals:return"])
@pytest.mark.parametrize("reason", [None, "", "   \n\t ", "x" * 2001])
def test_reject_or_return_without_a_good_reason_shows_an_error(
    team_a: f.Team, cam: Actor, url_name: str, reason: str | None
) -> None:
    deal = f.submitted(team_a.sales_actor)
    before = Deal.objects.filter(pk=deal.pk).values().get()
    data = {} if reason is None else {"reason": reason}
    response = login(cam.user).post(reverse(url_name, args=[deal.pk]), data, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[0][0] == reverse("deals:review_detail", args=[deal.pk])
    assert "Give the partner a reason." in text_of(response)
    assert Deal.objects.filter(pk=deal.pk).values().get() == before


@pytest.mark.parametrize(
    ("url_name", "status", "banner"),
    [
        ("deals:reject", DealStatus.REJECTED, "Not approved"),
        ("deals:return", DealStatus.RETURNED, "Returned for more information"),
    ],
)
def test_reject_or_return_with_a_reason_tells_the_partner(
    team_a: f.Team, cam: Actor, url_name: str, status: str, banner: str
) -> None:
    deal = f.submitted(team_a.sales_actor)
    response = login(cam.user).post(
        reverse(url_name, args=[deal.pk]), {"reason": "  The budget is not confirmed  "}
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.status, deal.decision_reason) == (status, "The budget is not confirmed")
    page = text_of(login(team_a.sales).get(reverse("deals:detail", args=[deal.pk])))
    assert banner in page and "The budget is not confirmed" in page
    # A second decision on a decided deal is an error message, not a 500.
    again = login(cam.user).post(reverse("deals:approve", args=[deal.pk]), follow=True)
    assert again.status_code == 200
    assert "cannot become approved" in text_of(again)
    assert Deal.objects.get(pk=deal.pk).status == status


@pytest.mark.parametrize(("state", "expected"), [("draft", (404, False)), ("approved", (200, True))])
def test_approving_a_deal_that_is_not_submitted_is_refused(
    team_a: f.Team, cam: Actor, state: str, expected: tuple[int, bool]
) -> None:
    deal = f.draft(team_a.sales_actor) if state == "draft" else f.approved(team_a.sales_actor, cam)
    before = Deal.objects.filter(pk=deal.pk).values().get()
    for url_name, data in [
        ("deals:approve", {}),
        ("deals:reject", {"reason": "x"}),
        ("deals:return", {"reason": "x"}),
    ]:
        response = login(cam.user).post(reverse(url_name, args=[deal.pk]), data, follow=True)
        # The vendor does not see drafts at all; an approved deal is told why.
        assert (response.status_code, "cannot become" in text_of(response)) == expected, url_name
    assert Deal.objects.filter(pk=deal.pk).values().get() == before


def test_a_viewer_without_the_reviewer_role_cannot_decide(team_a: f.Team) -> None:
    from prm.roles import VendorRole

    deal = f.submitted(team_a.sales_actor)
    finance = factories.vendor_user(VendorRole.FINANCE)
    client = login(finance)
    review = client.get(reverse("deals:review_detail", args=[deal.pk]))
    assert review.status_code == 200
    assert 'id="approve-deal"' not in review.content.decode()
    response = client.post(reverse("deals:approve", args=[deal.pk]), follow=True)
    assert response.status_code == 200
    assert "Only the partner's channel account manager or a program admin reviews." in text_of(response)
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.SUBMITTED


# --- conflicts ------------------------------------------------------------------------------------
@pytest.fixture
def flagged(team_a: f.Team, team_b: f.Team, vendor_admin: Actor) -> tuple[Deal, Deal]:
    """A registered Initech first; B registers the same customer domain."""
    first = f.submitted(team_a.sales_actor, customer="Initech", domain="initech.com")
    second = f.submitted(team_b.sales_actor, customer="Initrode Software", domain="initech.com")
    assert Deal.objects.get(pk=second.pk).conflict_status == ConflictStatus.UNDER_REVIEW
    return first, Deal.objects.get(pk=second.pk)


def test_a_flagged_deal_cannot_be_approved_until_its_conflict_is_dismissed(
    flagged: tuple[Deal, Deal], vendor_admin: Actor
) -> None:
    first, deal = flagged
    conflict = DealConflict.objects.get(deal=deal)
    client = login(vendor_admin.user)

    review = client.get(reverse("deals:review_detail", args=[deal.pk]))
    assert review.status_code == 200
    page = text_of(review)
    assert f"Possible conflict with {first.reference}" in page
    assert "Northwind Resellers" in page  # the reviewer sees the evidence
    assert re.search(r'id="approve-deal"[^>]*disabled', review.content.decode())
    assert f'id="dismiss-{conflict.pk}"' in page

    response = client.post(reverse("deals:approve", args=[deal.pk]), follow=True)
    assert response.redirect_chain[0][0] == reverse("deals:review_detail", args=[deal.pk])
    assert "Resolve the possible conflict first" in text_of(response)
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.SUBMITTED

    # A resolution that is neither "dismissed" nor "upheld" is an error message.
    for bad in ({"resolution": "maybe"}, {}, {"resolution": ConflictResolution.OPEN}):
        response = client.post(reverse("deals:conflict_resolve", args=[conflict.pk]), bad, follow=True)
        assert response.status_code == 200
        assert "Choose whether the conflict is dismissed or upheld." in text_of(response)
    assert DealConflict.objects.get(pk=conflict.pk).resolution == ConflictResolution.OPEN

    response = client.post(
        reverse("deals:conflict_resolve", args=[conflict.pk]),
        {"resolution": ConflictResolution.DISMISSED},
        follow=True,
    )
    assert response.redirect_chain[0][0] == reverse("deals:review_detail", args=[deal.pk])
    assert "Conflict dismissed: it no longer blocks approval." in text_of(response)
    conflict.refresh_from_db()
    assert (conflict.resolution, conflict.resolved_by) == (ConflictResolution.DISMISSED, vendor_admin.user)
    assert Deal.objects.get(pk=deal.pk).conflict_status == ConflictStatus.CLEARED
    assert re.search(r'id="approve-deal"(?![^>]*disabled)', response.content.decode())

    # Resolving twice is refused politely.
    again = client.post(
        reverse("deals:conflict_resolve", args=[conflict.pk]),
        {"resolution": ConflictResolution.UPHELD},
        follow=True,
    )
    assert "already resolved" in text_of(again)
    assert DealConflict.objects.get(pk=conflict.pk).resolution == ConflictResolution.DISMISSED

    response = client.post(reverse("deals:approve", args=[deal.pk]))
    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.APPROVED


def test_an_upheld_conflict_blocks_approval_and_the_deal_is_rejected(
    flagged: tuple[Deal, Deal], vendor_admin: Actor
) -> None:
    _first, deal = flagged
    conflict = DealConflict.objects.get(deal=deal)
    client = login(vendor_admin.user)
    response = client.post(
        reverse("deals:conflict_resolve", args=[conflict.pk]),
        {"resolution": ConflictResolution.UPHELD},
        follow=True,
    )
    assert "Conflict upheld." in text_of(response)
    response = client.post(reverse("deals:approve", args=[deal.pk]), follow=True)
    assert "Resolve the possible conflict first" in text_of(response)
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.SUBMITTED
    response = client.post(
        reverse("deals:reject", args=[deal.pk]), {"reason": "Northwind registered it first"}
    )
    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.REJECTED
    # Once decided, the conflict can no longer change.
    response = client.post(
        reverse("deals:conflict_resolve", args=[conflict.pk]),
        {"resolution": ConflictResolution.DISMISSED},
        follow=True,
    )
    assert response.status_code == 200
    assert DealConflict.objects.get(pk=conflict.pk).resolution == ConflictResolution.UPHELD


def test_conflict_resolve_with_an_unknown_id_is_404(vendor_admin: Actor) -> None:
    response = login(vendor_admin.user).post(
        reverse("deals:conflict_resolve", args=[987654321]), {"resolution": ConflictResolution.DISMISSED}
    )
    assert response.status_code == 404


# --- extensions -----------------------------------------------------------------------------------
def test_extension_request_and_decision(team_a: f.Team, cam: Actor) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    partner = login(team_a.sales)
    detail = partner.get(reverse("deals:detail", args=[deal.pk]))
    assert 'id="extension-form"' in detail.content.decode()

    for empty in ({}, {"reason": "   "}):
        response = partner.post(reverse("deals:request_extension", args=[deal.pk]), empty, follow=True)
        assert "Say why you need more time." in text_of(response)
    assert not DealExtensionRequest.objects.filter(partner=team_a.partner).exists()

    response = partner.post(
        reverse("deals:request_extension", args=[deal.pk]),
        {"reason": "The customer's board meets in May"},
        follow=True,
    )
    assert response.redirect_chain[0][0] == reverse("deals:detail", args=[deal.pk])
    page = text_of(response)
    assert f"Extension requested for deal {deal.reference}" in page
    assert "Your extension request is waiting for your channel manager's decision." in page
    assert 'id="extension-form"' not in page
    extension = DealExtensionRequest.objects.filter(partner=team_a.partner).get()
    assert (extension.status, extension.days, extension.requested_by) == (
        ExtensionStatus.PENDING,
        30,
        team_a.sales,
    )

    # A second request while one waits is refused.
    again = partner.post(reverse("deals:request_extension", args=[deal.pk]), {"reason": "Again"}, follow=True)
    assert "already waiting for review" in text_of(again)
    assert DealExtensionRequest.objects.filter(partner=team_a.partner).count() == 1

    reviewer = login(cam.user)
    queue = reviewer.get(reverse("deals:review_queue"))
    assert [e.pk for e in queue.context["pending_extensions"]] == [extension.pk]
    review = text_of(reviewer.get(reverse("deals:review_detail", args=[deal.pk])))
    assert 'id="extension-approve"' in review and "The customer's board meets in May" in review

    # Rejecting needs a note; a decision that is neither approve nor reject is an error.
    response = reviewer.post(
        reverse("deals:extension_decide", args=[extension.pk]), {"decision": "reject"}, follow=True
    )
    assert "Give the partner a reason." in text_of(response)
    response = reviewer.post(
        reverse("deals:extension_decide", args=[extension.pk]), {"decision": "maybe"}, follow=True
    )
    assert "Choose whether to approve or reject the extension." in text_of(response)
    assert DealExtensionRequest.objects.get(pk=extension.pk).status == ExtensionStatus.PENDING

    expires = Deal.objects.get(pk=deal.pk).protection_expires_at
    response = reviewer.post(
        reverse("deals:extension_decide", args=[extension.pk]),
        {"decision": "approve", "reason": "OK"},
        follow=True,
    )
    assert response.redirect_chain[0][0] == reverse("deals:review_detail", args=[deal.pk])
    assert f"Extension approved for deal {deal.reference}." in text_of(response)
    deal.refresh_from_db()
    assert deal.protection_expires_at == expires + timedelta(days=30)
    assert deal.extensions_used == 1
    assert DealExtensionRequest.objects.get(pk=extension.pk).status == ExtensionStatus.APPROVED

    # Deciding twice, or asking for a second extension, is refused.
    response = reviewer.post(
        reverse("deals:extension_decide", args=[extension.pk]), {"decision": "approve"}, follow=True
    )
    assert "already decided" in text_of(response)
    page = text_of(partner.get(reverse("deals:detail", args=[deal.pk])))
    assert 'id="extension-form"' not in page
    assert f"Protected until {display_date(deal.protection_expires_at)}" in page
    response = partner.post(
        reverse("deals:request_extension", args=[deal.pk]), {"reason": "More"}, follow=True
    )
    assert "already used its extension" in text_of(response)
    assert Deal.objects.get(pk=deal.pk).protection_expires_at == expires + timedelta(days=30)


def test_a_rejected_extension_keeps_the_expiry_and_tells_the_partner(team_a: f.Team, cam: Actor) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    login(team_a.sales).post(reverse("deals:request_extension", args=[deal.pk]), {"reason": "Need time"})
    extension = DealExtensionRequest.objects.filter(partner=team_a.partner).get()
    response = login(cam.user).post(
        reverse("deals:extension_decide", args=[extension.pk]),
        {"decision": "reject", "reason": "Close it this quarter"},
    )
    assert response.status_code == 302
    assert Deal.objects.get(pk=deal.pk).protection_expires_at == deal.protection_expires_at
    page = text_of(login(team_a.sales).get(reverse("deals:detail", args=[deal.pk])))
    assert "Close it this quarter" in page


def test_only_approved_deals_get_an_extension(team_a: f.Team) -> None:
    deal = f.submitted(team_a.sales_actor)
    response = login(team_a.sales).post(
        reverse("deals:request_extension", args=[deal.pk]), {"reason": "x"}, follow=True
    )
    assert response.status_code == 200
    assert "Only approved deals can be extended." in text_of(response)
    assert not DealExtensionRequest.objects.filter(partner=team_a.partner).exists()


# --- closing --------------------------------------------------------------------------------------
def test_mark_won_with_the_amount(team_a: f.Team, cam: Actor) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    client = login(team_a.sales)
    detail = client.get(reverse("deals:detail", args=[deal.pk]))
    assert re.search(r'id="won-amount"[^>]*value="1000(\.00)?"', detail.content.decode())
    response = client.post(
        reverse("deals:mark_won", args=[deal.pk]),
        {"won_amount": "1045.67", "closed_on": today().isoformat()},
        follow=True,
    )
    assert response.redirect_chain[0][0] == reverse("deals:detail", args=[deal.pk])
    page = text_of(response)
    assert f"Congratulations! Deal {deal.reference} is marked won." in page
    assert f"Won: 1,045.67 USD on {display_date(today())}" in page
    deal.refresh_from_db()
    assert (deal.status, deal.won_amount, deal.closed_on) == (DealStatus.WON, Decimal("1045.67"), today())
    assert 'id="won-form"' not in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"won_amount": "abc", "closed_on": "today"}, "Enter a number."),
        ({"won_amount": "0", "closed_on": "today"}, "greater than or equal to 0.01"),
        ({"won_amount": "-5", "closed_on": "today"}, "greater than or equal to 0.01"),
        ({"won_amount": "", "closed_on": "today"}, "This field is required."),
        ({"won_amount": "NaN", "closed_on": "today"}, "Enter a number."),
        ({"won_amount": "1e400", "closed_on": "today"}, "digits"),
        ({"won_amount": "100", "closed_on": "tomorrow"}, "The close date cannot be in the future."),
        ({"won_amount": "100", "closed_on": "31/31/2025"}, "Enter a valid date."),
        ({"won_amount": "100"}, "This field is required."),
    ],
)
def test_mark_won_with_bad_input_shows_an_error(team_a: f.Team, cam: Actor, data: dict, message: str) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    dates = {"today": today().isoformat(), "tomorrow": (today() + timedelta(days=1)).isoformat()}
    data = {key: dates.get(value, value) for key, value in data.items()}
    response = login(team_a.sales).post(reverse("deals:mark_won", args=[deal.pk]), data, follow=True)
    assert response.status_code == 200
    assert message in text_of(response)
    deal.refresh_from_db()
    assert (deal.status, deal.won_amount) == (DealStatus.APPROVED, None)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Why was it lost?: This field is required."),
        ({"reason": ""}, "Why was it lost?: This field is required."),
        ({"reason": "  \n "}, "Why was it lost?: This field is required."),
        ({"reason": "x" * 2001}, "Why was it lost?: Ensure this value has at most 2000 characters"),
        ({"reason": "Gone", "closed_on": "2999-01-01"}, "Closed on: The close date cannot be in the future."),
        ({"reason": "Gone", "closed_on": "someday"}, "Closed on: Enter a valid date."),
    ],
)
def test_mark_lost_without_a_reason_shows_an_error(
    team_a: f.Team, cam: Actor, data: dict, message: str
) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    response = login(team_a.sales).post(reverse("deals:mark_lost", args=[deal.pk]), data, follow=True)
    assert response.status_code == 200
    assert message in text_of(response)
    assert Deal.objects.get(pk=deal.pk).status == DealStatus.APPROVED


def test_mark_lost_with_a_reason(team_a: f.Team, cam: Actor) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    response = login(team_a.sales).post(
        reverse("deals:mark_lost", args=[deal.pk]), {"reason": "Chose a competitor on price"}, follow=True
    )
    assert f"Deal {deal.reference} is marked lost." in text_of(response)
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason, deal.closed_on) == (
        DealStatus.LOST,
        "Chose a competitor on price",
        today(),
    )


@pytest.mark.parametrize("state", ["draft", "submitted"])
def test_closing_a_deal_that_is_not_approved_is_refused(team_a: f.Team, state: str) -> None:
    deal = f.draft(team_a.sales_actor) if state == "draft" else f.submitted(team_a.sales_actor)
    client = login(team_a.sales)
    for url_name, data in [
        ("deals:mark_won", {"won_amount": "10", "closed_on": today().isoformat()}),
        ("deals:mark_lost", {"reason": "Gone"}),
        ("deals:update_stage", {"stage": DealStage.NEGOTIATION}),
    ]:
        response = client.post(reverse(url_name, args=[deal.pk]), data, follow=True)
        assert response.status_code == 200, url_name
        assert "Only approved deals" in text_of(response), url_name
    assert Deal.objects.get(pk=deal.pk).status == state


def test_update_stage(team_a: f.Team, cam: Actor) -> None:
    deal = f.approved(team_a.sales_actor, cam)
    client = login(team_a.sales)
    response = client.post(reverse("deals:update_stage", args=[deal.pk]), {"stage": "bogus"}, follow=True)
    assert "Choose a stage." in text_of(response)
    response = client.post(
        reverse("deals:update_stage", args=[deal.pk]), {"stage": DealStage.NEGOTIATION}, follow=True
    )
    assert "is now at stage “Negotiation”" in text_of(response)
    assert Deal.objects.get(pk=deal.pk).stage == DealStage.NEGOTIATION


@pytest.mark.parametrize(
    "url_name", ["deals:submit", "deals:mark_won", "deals:mark_lost", "deals:update_stage"]
)
def test_action_urls_refuse_get(team_a: f.Team, url_name: str) -> None:
    deal = f.draft(team_a.sales_actor)
    assert login(team_a.sales).get(reverse(url_name, args=[deal.pk])).status_code == 405


# --- leads: the vendor's side ----------------------------------------------------------------------
LEAD_FORM = {
    "company_name": "Vandelay Industries",
    "domain": "https://www.Vandelay.example/about",
    "country": "US",
    "region": "na",
    "contact_name": "Art Vandelay",
    "contact_email": "art@vandelay.example",
    "contact_phone": "+1 555 0100",
    "product_interest": "Firewalls",
    "estimated_value": "25000.50",
    "currency": "USD",
    "description": "Imports and exports",
}


def test_lead_create_form(vendor_admin: Actor) -> None:
    client = login(vendor_admin.user)
    assert client.get(reverse("deals:lead_create")).status_code == 200
    response = client.post(reverse("deals:lead_create"), LEAD_FORM, follow=True)
    lead = Lead.objects.filter(created_by=vendor_admin.user).get()
    assert response.redirect_chain[0][0] == reverse("deals:vendor_lead_detail", args=[lead.pk])
    assert "Lead Vandelay Industries added." in text_of(response)
    assert 'id="lead-distribute"' in response.content.decode()
    assert (lead.company_name, lead.domain, lead.country.code, lead.region, lead.status) == (
        "Vandelay Industries",
        "vandelay.example",
        "US",
        "na",
        LeadStatus.NEW,
    )
    assert lead.estimated_value == Decimal("25000.50")
    assert lead.created_by == vendor_admin.user


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"company_name": ""}, "This field is required."),
        ({"region": ""}, "This field is required."),
        ({"region": "mars"}, "Select a valid choice."),
        ({"domain": "not a domain"}, "Enter a website domain such as example.com."),
        ({"contact_email": "art at vandelay"}, "Enter a valid email address."),
        ({"estimated_value": "-1"}, "greater than or equal to 0"),
        ({"estimated_value": "NaN"}, "Enter a number."),
        ({"estimated_value": "1e400"}, "digits"),
        ({"contact_phone": "1" * 41}, "at most 40 characters"),
        ({"currency": "XXX"}, "Select a valid choice."),
        ({"description": "nul\x00byte"}, "Null characters are not allowed."),
    ],
)
def test_lead_create_with_bad_input_shows_the_errors(
    vendor_admin: Actor, overrides: dict, message: str
) -> None:
    response = login(vendor_admin.user).post(reverse("deals:lead_create"), {**LEAD_FORM, **overrides})
    assert response.status_code == 400
    assert message in text_of(response)
    assert 'value="Art Vandelay"' in response.content.decode()
    assert not Lead.objects.filter(created_by=vendor_admin.user).exists()


def test_only_reviewers_create_or_import_leads(team_a: f.Team) -> None:
    from prm.roles import VendorRole

    finance_user = factories.vendor_user(VendorRole.FINANCE)
    finance = login(finance_user)
    response = finance.post(reverse("deals:lead_create"), LEAD_FORM, follow=True)
    assert response.redirect_chain[0][0] == reverse("deals:vendor_lead_list")
    assert "Only program admins and channel account managers add leads." in text_of(response)
    response = finance.post(
        reverse("deals:lead_import"), {"file": _csv(b"company_name,region\nX,na\n")}, follow=True
    )
    assert "Only program admins and channel account managers import leads." in text_of(response)
    assert not Lead.objects.filter(created_by=finance_user).exists()


def _csv(content: bytes, name: str = "leads.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


def test_lead_import_of_a_good_file(vendor_admin: Actor) -> None:
    content = (
        b"company_name,region,domain,country,contact_email,estimated_value,currency\n"
        b'Wayne Enterprises,na,wayne.example,US,lucius@wayne.example,"120,000",USD\n'
        b"Tyrell GmbH,EMEA,tyrell.example,de,,45000,eur\n"
    )
    response = login(vendor_admin.user).post(
        reverse("deals:lead_import"), {"file": _csv(content)}, follow=True
    )
    assert response.redirect_chain[0][0] == f"{reverse('deals:vendor_lead_list')}?status=new"
    assert "2 leads imported." in text_of(response)
    assert sorted(
        Lead.objects.filter(created_by=vendor_admin.user).values_list(
            "company_name", "region", "estimated_value", "currency"
        )
    ) == [
        ("Tyrell GmbH", "emea", Decimal("45000.00"), "EUR"),
        ("Wayne Enterprises", "na", Decimal("120000.00"), "USD"),
    ]


def test_lead_import_with_a_bad_row_shows_the_error_table_and_imports_nothing(vendor_admin: Actor) -> None:
    content = (
        b"company_name,region,domain,contact_email,estimated_value\n"
        b"Good Company,na,good.example,ok@good.example,100\n"
        b"Bad Region Inc,mars,,,\n"
        b",na,,,\n"
        b"Bad Email Ltd,na,,not-an-email,\n"
        b"Bad Value Co,na,,,lots\n"
    )
    response = login(vendor_admin.user).post(reverse("deals:lead_import"), {"file": _csv(content)})
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="import-errors"' in page
    assert "Nothing was imported" in page
    assert "4 problems" in page
    errors = page.split('id="import-errors"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td></tr>", errors)
    assert [line for line, _message in rows] == ["3", "4", "5", "6"]
    assert "region “mars”" in rows[0][1]
    assert "“company_name” is empty." in rows[1][1]
    assert "“not-an-email” is not an e-mail address." in rows[2][1]
    assert "estimated_value “lots” is not a number." in rows[3][1]
    assert not Lead.objects.filter(created_by=vendor_admin.user).exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00b\x00a\x00d", "The file is not UTF-8 text."),
        (b"name,place\nX,Y\n", "company_name and region are required"),
        (b"company_name,region\n", "The file has no rows."),
    ],
)
def test_lead_import_refuses_unreadable_files(vendor_admin: Actor, content: bytes, message: str) -> None:
    response = login(vendor_admin.user).post(reverse("deals:lead_import"), {"file": _csv(content)})
    assert response.status_code == 400
    assert message in text_of(response)
    assert not Lead.objects.filter(created_by=vendor_admin.user).exists()


def test_lead_import_of_an_empty_upload(vendor_admin: Actor) -> None:
    response = login(vendor_admin.user).post(reverse("deals:lead_import"), {"file": _csv(b"")})
    assert response.status_code == 400
    assert "The submitted file is empty." in text_of(response)
    response = login(vendor_admin.user).post(reverse("deals:lead_import"), {})
    assert response.status_code == 400
    assert not Lead.objects.filter(created_by=vendor_admin.user).exists()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        pytest.param(
            "contact_phone", "+1 555 0100 extension 4711 ask for the night shift", id="phone-over-40"
        ),
        pytest.param("contact_name", "N" * 151, id="contact-name-over-150"),
        pytest.param("product_interest", "P" * 201, id="product-interest-over-200"),
        pytest.param("contact_email", "a" * 250 + "@example.com", id="email-over-254"),
        pytest.param("company_name", "Nul\x00 Byte Inc", id="nul-in-company"),
        pytest.param("description", "line\x00break", id="nul-in-description"),
    ],
)
def test_lead_import_with_a_value_the_database_cannot_hold_reports_the_row(
    vendor_admin: Actor, column: str, value: str
) -> None:
    """A bad row is listed with its line number like any other; the import must not crash."""
    content = f"company_name,region,{column}\nGood Company,na,\nSecond Co,na,{value}\n".encode()
    if column == "company_name":
        content = f"company_name,region\nGood Company,na\n{value},na\n".encode()
    response = login(vendor_admin.user).post(reverse("deals:lead_import"), {"file": _csv(content)})
    assert response.status_code != 500, f"an over-long or NUL {column} crashes the lead import"
    assert response.status_code == 400
    page = text_of(response)
    assert 'id="import-errors"' in page
    assert "<tr><td>3</td>" in page
    assert not Lead.objects.filter(created_by=vendor_admin.user).exists()


def test_distribute_offers_the_lead_to_an_eligible_partner(team_a: f.Team, vendor_admin: Actor) -> None:
    lead = f.lead(vendor_admin, "Vandelay Industries")
    client = login(vendor_admin.user)
    response = client.post(reverse("deals:lead_distribute", args=[lead.pk]), follow=True)
    assert response.redirect_chain[0][0] == reverse("deals:vendor_lead_detail", args=[lead.pk])
    assert "Lead offered to Northwind Resellers; they have until" in text_of(response)
    lead.refresh_from_db()
    assert (lead.status, lead.assigned_partner) == (LeadStatus.OFFERED, team_a.partner)
    offer = LeadOffer.objects.get(lead=lead)
    assert (offer.partner, offer.assigned_manually, offer.outcome) == (
        team_a.partner,
        False,
        OfferOutcome.PENDING,
    )
    # Distributing again while the partner has not answered is refused.
    response = client.post(reverse("deals:lead_distribute", args=[lead.pk]), follow=True)
    assert "waiting for a partner's answer" in text_of(response)
    assert LeadOffer.objects.filter(lead=lead).count() == 1


def test_distribute_without_an_eligible_partner_says_so(team_a: f.Team, vendor_admin: Actor) -> None:
    lead = f.lead(vendor_admin, "Far Away Ltd", region="apac")
    response = login(vendor_admin.user).post(reverse("deals:lead_distribute", args=[lead.pk]), follow=True)
    assert "No partner is available for Far Away Ltd" in text_of(response)
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.UNASSIGNABLE


def test_assign_a_lead_by_hand(team_a: f.Team, team_b: f.Team, vendor_admin: Actor) -> None:
    lead = f.lead(vendor_admin, "Vandelay Industries")
    client = login(vendor_admin.user)
    for bad in ({}, {"partner": "abc"}, {"partner": "987654321"}):
        response = client.post(reverse("deals:lead_assign", args=[lead.pk]), bad, follow=True)
        assert response.status_code == 200
        assert "Select a valid choice" in text_of(response) or "This field is required" in text_of(response)
    assert not LeadOffer.objects.filter(lead=lead).exists()
    response = client.post(
        reverse("deals:lead_assign", args=[lead.pk]), {"partner": team_b.partner.pk}, follow=True
    )
    assert "Lead assigned to Southwind Systems" in text_of(response)
    offer = LeadOffer.objects.get(lead=lead)
    assert (offer.partner, offer.assigned_manually) == (team_b.partner, True)
    assert Lead.objects.get(pk=lead.pk).assigned_partner == team_b.partner
    # Assigning again is refused: the lead is offered.
    response = client.post(
        reverse("deals:lead_assign", args=[lead.pk]), {"partner": team_a.partner.pk}, follow=True
    )
    assert "Only new or unassigned leads can be assigned by hand." in text_of(response)
    assert LeadOffer.objects.filter(lead=lead).count() == 1


def _offer_to(vendor_admin: Actor, lead: Lead, team: f.Team) -> None:
    with f.acting(vendor_admin):
        leads.lead_assign(actor=vendor_admin, lead=lead, partner=team.partner)


# --- leads: the partner's side ----------------------------------------------------------------------
def test_a_partner_accepts_a_lead_and_lands_on_the_new_draft(team_a: f.Team, vendor_admin: Actor) -> None:
    lead = f.lead(vendor_admin, "Vandelay Industries", domain="vandelay.example", contact_name="Art Vandelay")
    _offer_to(vendor_admin, lead, team_a)
    client = login(team_a.sales)
    listing = client.get(reverse("deals:lead_list"))
    assert f'id="accept-{lead.pk}"' in listing.content.decode()
    assert "answer within 47 h" in text_of(listing) or "answer within 48 h" in text_of(listing)

    response = client.post(reverse("deals:lead_accept", args=[lead.pk]))
    assert response.status_code == 302
    deal = Deal.objects.get(partner=team_a.partner)
    assert response["Location"] == reverse("deals:edit", args=[deal.pk])
    assert (deal.status, deal.customer_name, deal.customer_domain, deal.registered_by) == (
        DealStatus.DRAFT,
        "Vandelay Industries",
        "vandelay.example",
        team_a.sales,
    )
    edit = client.get(response["Location"])
    assert edit.status_code == 200
    page = text_of(edit)
    assert "You accepted the lead Vandelay Industries." in page
    assert 'value="Vandelay Industries"' in page and 'value="Art Vandelay"' in page
    lead.refresh_from_db()
    assert (lead.status, lead.deal) == (LeadStatus.ACCEPTED, deal)
    # Accepting again is a message, not a second deal.
    response = client.post(reverse("deals:lead_accept", args=[lead.pk]), follow=True)
    assert response.status_code == 200
    assert Deal.objects.filter(partner=team_a.partner).count() == 1
    listing = text_of(client.get(reverse("deals:lead_list")))
    assert f"Open deal {deal.reference}" in listing


def test_a_partner_declines_with_a_reason_and_the_lead_moves_on(
    team_a: f.Team, team_b: f.Team, vendor_admin: Actor
) -> None:
    lead = f.lead(vendor_admin, "Vandelay Industries")
    _offer_to(vendor_admin, lead, team_a)
    client = login(team_a.sales)
    for empty in ({}, {"reason": "  "}):
        response = client.post(reverse("deals:lead_decline", args=[lead.pk]), empty, follow=True)
        assert "Say why you decline" in text_of(response)
    assert Lead.objects.get(pk=lead.pk).assigned_partner == team_a.partner

    response = client.post(
        reverse("deals:lead_decline", args=[lead.pk]), {"reason": "Outside our territory"}, follow=True
    )
    assert response.redirect_chain[0][0] == reverse("deals:lead_list")
    assert "You declined the lead Vandelay Industries." in text_of(response)
    lead.refresh_from_db()
    assert (lead.status, lead.assigned_partner) == (LeadStatus.OFFERED, team_b.partner)
    declined = LeadOffer.objects.get(lead=lead, partner=team_a.partner)
    assert (declined.outcome, declined.reason) == (OfferOutcome.DECLINED, "Outside our territory")
    assert "Vandelay Industries" not in text_of(client.get(reverse("deals:lead_list")))
    assert "Vandelay Industries" in text_of(login(team_b.sales).get(reverse("deals:lead_list")))
    # A declined lead cannot be accepted any more by the partner that declined it.
    assert client.post(reverse("deals:lead_accept", args=[lead.pk])).status_code == 404
    assert not Deal.objects.filter(partner=team_a.partner).exists()


def test_accepting_after_the_deadline_is_a_message(team_a: f.Team, vendor_admin: Actor) -> None:
    lead = f.lead(vendor_admin, "Late Lead Inc")
    _offer_to(vendor_admin, lead, team_a)
    past = timezone.now() - timedelta(minutes=5)
    Lead.objects.filter(pk=lead.pk).update(respond_by=past)
    LeadOffer.objects.filter(lead=lead).update(respond_by=past)
    client = login(team_a.sales)
    assert "Time is up" in text_of(client.get(reverse("deals:lead_list")))
    response = client.post(reverse("deals:lead_accept", args=[lead.pk]), follow=True)
    assert response.status_code == 200
    assert "The time to accept this lead has passed." in text_of(response)
    assert not Deal.objects.filter(partner=team_a.partner).exists()


def test_the_lead_csv_export_for_the_partner(team_a: f.Team, vendor_admin: Actor) -> None:
    lead = f.lead(vendor_admin, "=cmd|' /C calc'!A0", estimated_value=Decimal("2500.00"))
    _offer_to(vendor_admin, lead, team_a)
    response = exported(login(team_a.sales), reverse("deals:lead_list"), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().strip().splitlines()
    assert lines[0].startswith("company,domain,country,region")
    assert len(lines) == 2
    assert lines[1].startswith("'=cmd")  # a formula is neutralised
    assert "2500.00" in lines[1]


# --- the list's filters and totals --------------------------------------------------------------
SUBMITTED_NAMES = ("Hooli", "Initech", "Umbrella", "Stark", "Wayne")
GLOBEX_DRAFTS = {("Globex", DealStatus.DRAFT)}
SUBMITTED = {(name, DealStatus.SUBMITTED) for name in SUBMITTED_NAMES}


@pytest.mark.parametrize(
    ("query", "total", "listed", "banner"),
    [
        # every deal: the status counts give the total, no COUNT(*) over the list
        ("", 31, GLOBEX_DRAFTS | SUBMITTED, "Showing 1–25 of 31"),
        ("?status=draft", 26, GLOBEX_DRAFTS, "Showing 1–25 of 26"),  # one status: that status's count
        ("?status=submitted", 5, SUBMITTED, "Showing all 5 results"),
        # a search: counted by the paginator, not taken from the status counts
        ("?q=Globex", 26, GLOBEX_DRAFTS, "Showing 1–25 of 26"),
        ("?q=Hooli", 1, {("Hooli", DealStatus.SUBMITTED)}, "Showing 1 result"),
        ("?status=draft&q=Globex", 26, GLOBEX_DRAFTS, "Showing 1–25 of 26"),
        ("?status=submitted&q=Globex", 0, set(), "No deals match"),
    ],
)
def test_the_deal_list_shows_the_filtered_deals_and_their_total(
    team_a: f.Team, query: str, total: int, listed: set[tuple[str, str]], banner: str
) -> None:
    for _ in range(26):
        f.draft(team_a.sales_actor, customer="Globex", domain="globex.com")
    for name in SUBMITTED_NAMES:
        f.submitted(team_a.sales_actor, customer=name, domain=f"{name.lower()}.com")
    response = login(team_a.admin).get(reverse("deals:list") + query)
    assert response.status_code == 200
    page = response.context["page"]
    assert page.paginator.count == total
    assert len(page.object_list) == min(total, 25)
    # Every deal the filter selects (over all pages), and none it does not.
    assert {(deal.customer_name, deal.status) for deal in page.paginator.object_list} == listed
    assert banner in text_of(response)


@pytest.fixture
def vendor_listing(team_a: f.Team, team_b: f.Team, cam: Actor, products: dict) -> dict[str, Deal]:
    """Four partners' deals registered on either side of midnight at the end of March 2027."""
    east = f.team("Eastwind Trading", tier="Platinum", region="emea", country="DE")
    firewall, switch = products["firewall"], products["switch"]
    made = {}
    for key, team, moment, customer, product in [
        ("a_march", team_a, datetime(2027, 3, 31, 23, 59, 59, tzinfo=UTC), "Initech", firewall),
        ("a_april", team_a, datetime(2027, 4, 1, 0, 0, 0, tzinfo=UTC), "Globex", switch),
        ("b_april", team_b, datetime(2027, 4, 1, 12, 0, 0, tzinfo=UTC), "Hooli", firewall),
        ("east", east, datetime(2027, 4, 2, 9, 0, 0, tzinfo=UTC), "Umbrella", firewall),
    ]:
        with time_machine.travel(moment, tick=False):
            made[key] = f.submitted(
                team.sales_actor, customer=customer, domain=f"{customer.lower()}.com", lines=[f.line(product)]
            )
    with time_machine.travel(datetime(2027, 4, 3, 9, 0, tzinfo=UTC), tick=False), f.acting(cam):
        services.deal_approve(actor=cam, deal=made["a_april"])
    return made


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"a_march", "a_april", "b_april", "east"}),
        ({"partner": "team_a"}, {"a_march", "a_april"}),
        ({"tier": "Silver"}, {"b_april"}),
        ({"region": "emea"}, {"east"}),
        ({"product": "switch"}, {"a_april"}),
        ({"status": DealStatus.APPROVED}, {"a_april"}),
        ({"q": "hooli"}, {"b_april"}),
        # Registration dates are whole days, both ends included: 23:59:59 is still 31 March.
        ({"created_to": "2027-03-31"}, {"a_march"}),
        ({"created_from": "2027-04-01"}, {"a_april", "b_april", "east"}),
        ({"created_from": "2027-04-01", "created_to": "2027-04-01"}, {"a_april", "b_april"}),
        ({"partner": "team_a", "created_from": "2027-04-01"}, {"a_april"}),
    ],
)
def test_the_vendor_deal_list_and_export_show_exactly_the_filtered_deals(
    vendor_listing: dict[str, Deal],
    vendor_admin: Actor,
    team_a: f.Team,
    products: dict,
    params: dict[str, str],
    expected: set[str],
) -> None:
    query = dict(params)
    if "partner" in query:
        query["partner"] = team_a.partner.pk
    if "tier" in query:
        query["tier"] = factories.tier(query["tier"]).pk
    if "product" in query:
        query["product"] = products[query["product"]].pk
    client = login(vendor_admin.user)
    ours = {deal.pk: key for key, deal in vendor_listing.items()}
    response = client.get(reverse("deals:vendor_list"), query)
    assert response.status_code == 200
    listed = {ours[deal.pk] for deal in response.context["page"].paginator.object_list if deal.pk in ours}
    assert listed == expected
    export = exported(client, reverse("deals:vendor_export"), query).content.decode()
    in_export = {key for key, deal in vendor_listing.items() if deal.reference in export}
    assert in_export == expected


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"initech", "globex", "hooli"}),
        ({"partner": "team_a"}, {"initech", "globex"}),
        ({"partner": "team_b"}, {"hooli"}),
        ({"q": "globex"}, {"globex"}),
        ({"partner": "team_b", "q": "globex"}, set()),
    ],
)
def test_the_review_queue_filters_by_partner_and_search(
    team_a: f.Team, team_b: f.Team, vendor_admin: Actor, params: dict[str, str], expected: set[str]
) -> None:
    made = {
        "initech": f.submitted(team_a.sales_actor, customer="Initech", domain="initech.com"),
        "globex": f.submitted(team_a.sales_actor, customer="Globex", domain="globex.com"),
        "hooli": f.submitted(team_b.sales_actor, customer="Hooli", domain="hooli.com"),
    }
    f.draft(team_a.sales_actor, customer="Globex Draft", domain="globex-draft.com")  # never queued
    query = dict(params)
    if "partner" in params:
        query["partner"] = {"team_a": team_a, "team_b": team_b}[params["partner"]].partner.pk
    response = login(vendor_admin.user).get(reverse("deals:review_queue"), query)
    assert response.status_code == 200
    listed = {deal.pk for deal in response.context["page"].paginator.object_list}
    assert {key for key, deal in made.items() if deal.pk in listed} == expected
    assert "Globex Draft" not in text_of(response)


def test_the_vendor_lead_list_filters_by_status(vendor_admin: Actor, team_a: f.Team) -> None:
    fresh = f.lead(vendor_admin, "Vandelay Industries")
    offered = f.lead(vendor_admin, "Kramerica")
    with f.acting(vendor_admin):
        leads.lead_assign(actor=vendor_admin, lead=offered, partner=team_a.partner)
    client = login(vendor_admin.user)

    def listed(**params: str) -> set[int]:
        response = client.get(reverse("deals:vendor_lead_list"), params)
        return {lead.pk for lead in response.context["page"].paginator.object_list} & {fresh.pk, offered.pk}

    assert listed(status=LeadStatus.NEW) == {fresh.pk}
    assert listed(status=LeadStatus.OFFERED) == {offered.pk}
    assert listed(status=LeadStatus.ACCEPTED) == set()
    assert listed() == {fresh.pk, offered.pk}
    export = exported(
        client, reverse("deals:vendor_lead_export"), {"status": LeadStatus.OFFERED}
    ).content.decode()
    assert "Kramerica" in export and "Vandelay Industries" not in export


def test_the_status_filter_select_keeps_the_chosen_status(team_a: f.Team) -> None:
    body = text_of(login(team_a.admin).get(reverse("deals:list") + "?status=approved&stage=proposal"))
    assert '<select id="id_status" name="status">' in body
    assert '<option value="approved" selected>Approved</option>' in body
    assert '<option value="proposal" selected>Proposal</option>' in body
    assert '<option value="" >' not in body and '<option value="">Any status</option>' in body


# --- drafts stay with the partner ---------------------------------------------------------------
def test_vendor_staff_never_see_a_partners_draft(team_a: f.Team, vendor_admin: Any) -> None:
    draft = f.draft(team_a.sales_actor, customer="Contoso Draftworks", domain="contoso-draft.com")
    sent = f.submitted(team_a.sales_actor, customer="Fabrikam", domain="fabrikam.com")
    client = login(vendor_admin.user)
    assert client.get(reverse("deals:review_detail", args=[draft.pk])).status_code == 404
    listing = text_of(client.get(reverse("deals:vendor_list")))
    assert "Fabrikam" in listing and "Contoso Draftworks" not in listing
    export = exported(client, reverse("deals:vendor_export")).content.decode()
    assert sent.reference in export and draft.reference not in export
    pipeline = client.get(reverse("deals:vendor_pipeline"))
    assert pipeline.context["total_count"] == 1
    assert "draft" not in [row["key"] for row in pipeline.context["by_status"]]
    # The partner still has it.
    assert "Contoso Draftworks" in text_of(login(team_a.sales).get(reverse("deals:list")))


def test_the_admin_hides_drafts_too(team_a: f.Team, cam: Actor) -> None:
    draft = f.draft(team_a.sales_actor, customer="Contoso Draftworks", domain="contoso-draft.com")
    sent = f.submitted(team_a.sales_actor, customer="Fabrikam", domain="fabrikam.com")
    client = login(cam.user)
    changelist = client.get(reverse("admin:deals_deal_changelist"))
    assert changelist.status_code == 200
    assert [deal.pk for deal in changelist.context["cl"].result_list] == [sent.pk]
    assert client.get(reverse("admin:deals_deal_change", args=[draft.pk])).status_code == 404
    assert client.get(reverse("admin:deals_deal_change", args=[sent.pk])).status_code == 200
