"""The partner deal list, a page written in Jinja2 (templates/jinja2/deals/deal_list.html) from rows
that are tuples (deals.selectors.PartnerDealRow), is the page the Django template made from the
deals themselves (kept in tests/prm/markup_before/deal_list.html): the whole page, compared as HTML
(elements, attributes, text, order; not the whitespace between tags nor how an entity is written),
with data and in every empty state, in each language of the portal."""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.template import engines
from django.test.html import parse_html
from django.urls import reverse
from django.utils import timezone, translation

from deals.models import Deal, DealStatus
from partners.models import PartnerRole, PartnerStatus
from tests import factories
from tests.deals import factories as f
from tests.deals.test_query_counts import bulk_deals
from tests.helpers import login
from tests.scoping import acting

pytestmark = pytest.mark.django_db

BEFORE = Path(__file__).parent.parent / "prm" / "markup_before" / "deal_list.html"
_CSRF = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": "|nonce=")[^"]*"')


def main_of(page: str) -> str:
    """The page's <main> (the layout around it is base.html's, not this page's), CSRF tokens
    blanked (each rendering masks its own)."""
    main = page[page.index("<main") : page.index("</main>") + len("</main>")]
    return _CSRF.sub(r'\1"', main)


def as_deals(rows: list[Any]) -> list[Deal]:
    """The Deal of each row, in the rows' order (what the Django template read)."""
    deals = Deal.objects.select_related("registered_by").in_bulk([row.pk for row in rows])
    return [deals[row.pk] for row in rows]


def before(response: Any) -> str:
    """The page as the Django template made it, for the same request and the same deals."""
    context = response.context
    page = copy.copy(context["page"])
    with acting(context["actor"]):
        page.object_list = as_deals(page.object_list)
        expiring = as_deals(context["expiring"])
    values = {
        name: context[name]
        for name in ("form", "querystring", "status_counts", "total_count", "may_register", "works_deals")
    }
    # The unread count the page was given (the context processor, run again here outside the
    # request's database scope, would count none); the frame test checks the number shown.
    values["unread_notifications"] = context["unread_notifications"]
    template = engines["django"].from_string(BEFORE.read_text())
    return template.render({**values, "page": page, "expiring": expiring}, request=response.wsgi_request)


def assert_same_page(response: Any) -> None:
    """The whole page, its frame included: the deal list is a page written in Jinja2
    (prm.jinja2.render_page), so its head, navigation, messages and footer are its own too."""
    assert response.status_code == 200
    now, old = _CSRF.sub(r'\1"', response.content.decode()), _CSRF.sub(r'\1"', before(response))
    assert parse_html(old) == parse_html(now), f"\n--- before\n{main_of(old)}\n--- now\n{main_of(now)}"


@pytest.fixture
def many(team_a: f.Team) -> list[Deal]:
    deals = bulk_deals(team_a, 60, product=f.product("Markup Probe", price="100.00"))
    # Markup in what a partner typed; a registrant without a name (the e-mail is shown); an
    # amount with thousands; a deal with neither domain nor title; a won deal (no protection).
    Deal.objects.filter(pk=deals[-1].pk).update(customer_name='<b>"Müller" & Söhne</b>', title="x < y")
    Deal.objects.filter(pk=deals[-2].pk).update(customer_domain="", title="", amount="1234567.50")
    team_a.sales.full_name = ""
    team_a.sales.save(update_fields=["full_name"])
    soon = Deal.objects.filter(partner=team_a.partner, status=DealStatus.APPROVED).order_by("pk")[:7]
    for days, deal in enumerate(soon):  # more than the "Expiring soon" box shows
        expires = timezone.now() + timedelta(days=days, hours=5)
        Deal.objects.filter(pk=deal.pk).update(protection_expires_at=expires)
    return deals


LANGUAGES = ["en", "de", "fr", "es"]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(
    "query",
    [
        {},
        {"status": DealStatus.APPROVED},
        {"page": "2", "stage": "proposal"},
        {"page": "3"},
        {"status": "bogus", "q": "Probe"},
        {"q": 'a<b"c&d', "status": DealStatus.SUBMITTED},  # nothing matches: the filters' empty state
    ],
)
def test_the_admins_list_is_the_page_the_django_template_made(
    team_a: f.Team, many: list[Deal], language: str, query: dict[str, str]
) -> None:
    response = login(team_a.admin).get(reverse("deals:list"), query, HTTP_ACCEPT_LANGUAGE=language)
    with translation.override(language):
        assert_same_page(response)
    if not query:
        assert response.context["expiring"] and len(response.context["page"].object_list) == 25


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_sales_users_list_is_the_page_the_django_template_made(
    team_a: f.Team, many: list[Deal], language: str
) -> None:
    response = login(team_a.sales).get(reverse("deals:list"), HTTP_ACCEPT_LANGUAGE=language)
    with translation.override(language):
        assert_same_page(response)
    assert response.context["page"].object_list


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("who", ["new partner", "inactive partner", "marketing"])
def test_the_empty_lists_are_the_pages_the_django_template_made(language: str, who: str) -> None:
    team = f.team("Empty Partner Ltd", tier="Silver")
    user = team.admin
    if who == "inactive partner":  # onboarding, may not register yet: "No deals yet"
        team.partner.status = PartnerStatus.ONBOARDING
        team.partner.save(update_fields=["status"])
    elif who == "marketing":  # does not work deals: no filters, no export
        user = factories.partner_user(team.partner, role=PartnerRole.MARKETING)
    response = login(user).get(reverse("deals:list"), HTTP_ACCEPT_LANGUAGE=language)
    with translation.override(language):
        assert_same_page(response)
    assert not response.context["page"].object_list


AMOUNTS = ["0", "0.00", "-0.001", "0.005", "-0.005", "1", "12.345", "999.995", "1234567.891", "-98765.4321"]
AMOUNTS += ["0.5", "-0.5", "1.5", "2.5", "-2.5", "1234567.5", "99999.4999"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_list_formats_write_what_djangos_filters_write(language: str) -> None:
    """deals.rendering.ListFormats (the language, time zone and formats looked up once per render)
    writes an amount as ``|floatformat:"2g"`` (and ``"0g"``), a count as ``{{ n }}`` and a day as
    ``|date:"DATE_FORMAT"`` do, a datetime in the current time zone; and a day written in one
    language or zone is never another's."""
    from decimal import Decimal

    from django.template.defaultfilters import date as date_filter
    from django.template.defaultfilters import floatformat
    from django.utils.formats import localize

    from deals.rendering import ListFormats

    moments = [
        timezone.now().replace(year=2026, month=5, day=17, hour=hour, minute=30) for hour in (0, 12, 23)
    ]
    days = [moment.date() for moment in moments] + [moments[0].date().replace(month=1, day=1)]

    def django_day(value: Any) -> str:
        return date_filter(timezone.template_localtime(value), "DATE_FORMAT")

    for zone in ("UTC", "Asia/Tokyo", "America/Los_Angeles"):
        with translation.override(language), timezone.override(zone):
            formats = ListFormats()
            amounts = [Decimal(text) for text in AMOUNTS] + [Decimal("12345678901234.56"), Decimal("1E+3")]
            for amount in amounts:
                assert formats.amount(amount) == floatformat(amount, "2g"), amount
            assert formats.amount(3.5) == floatformat(3.5, "2g")
            for amount in amounts:
                assert formats.whole(amount) == floatformat(amount, "0g"), amount
            assert formats.whole(0) == floatformat(0, "0g") and formats.whole(2.5) == floatformat(2.5, "0g")
            for count in (0, 7, 1234, 1234567):
                assert formats.count(count) == localize(count)
            for value in [*moments, *days]:
                assert formats.day(value) == formats.day(value) == django_day(value), (zone, value)
            assert formats.day(None) == "" and formats.day("") == ""


def test_a_kept_row_is_the_row_written_again(team_a: f.Team, many: list[Deal]) -> None:
    """deals.rendering.deal_rows_html keeps each row it writes by everything that decides it: a
    page written from kept rows is the page written afresh, and a row kept in one language, time
    zone or for one role is never shown in another."""
    from deals import rendering

    client = login(team_a.admin)
    url = reverse("deals:list")

    def written(**headers: Any) -> str:
        return main_of(client.get(url, **headers).content.decode())

    # Protection ending at 23:30 UTC: another day in Tokyo.
    Deal.objects.filter(pk__in=[deal.pk for deal in many[:25]]).update(
        protection_expires_at=timezone.now().replace(hour=23, minute=30) + timedelta(days=20)
    )
    pages = {}
    for language, zone in [("en", "UTC"), ("de", "UTC"), ("en", "Asia/Tokyo")]:
        with timezone.override(zone):
            rendering._rows.clear()
            pages[language, zone] = written(HTTP_ACCEPT_LANGUAGE=language)
    assert len(set(pages.values())) == 3
    rendering._rows.clear()
    for (language, zone), page in [*pages.items(), *reversed(pages.items())]:  # each from kept rows
        with timezone.override(zone):
            assert written(HTTP_ACCEPT_LANGUAGE=language) == page, (language, zone)
    # A sales user of the same partner lists some of the same deals, without their registrant.
    assert_same_page(login(team_a.sales).get(url))
    assert {shown[2] for shown, _row in rendering._rows} == {True, False}


def test_kept_rows_are_bounded(team_a: f.Team, many: list[Deal], monkeypatch: pytest.MonkeyPatch) -> None:
    from deals import rendering

    monkeypatch.setattr(rendering._rows, "limit", 10)
    rendering._rows.clear()
    response = login(team_a.admin).get(reverse("deals:list"))
    assert len(rendering._rows) <= 10
    assert_same_page(response)


# --- Leads ---------------------------------------------------------------------------------------
LEADS_BEFORE = Path(__file__).parent.parent / "prm" / "markup_before" / "lead_list.html"


def assert_same_leads_page(response: Any) -> None:
    """The leads page as the Django template made it, for the same request and the same leads
    (the view's own objects: their countdowns are the ones it worked out)."""
    assert response.status_code == 200
    context = response.context
    names = ("page", "status", "statuses", "querystring", "decline_form", "works_deals", "sla_hours")
    template = engines["django"].from_string(LEADS_BEFORE.read_text())
    old = main_of(template.render({name: context[name] for name in names}, request=response.wsgi_request))
    now = main_of(response.content.decode())
    assert parse_html(old) == parse_html(now), f"\n--- before\n{old}\n--- now\n{now}"


@pytest.fixture
def leads(team_a: f.Team, many: list[Deal]) -> list[Any]:
    from deals.models import Lead, LeadSource
    from tests.deals.test_query_counts import bulk_leads

    made = bulk_leads(team_a, 30, creator=factories.vendor_actor(), deals=many[:12])
    Lead.objects.filter(pk=made[1].pk).update(
        source=LeadSource.LOCATOR, description='line <1>\n"two" & more', contact_phone="+1 555", country=""
    )
    Lead.objects.filter(pk=made[2].pk).update(
        estimated_value=None, contact_name="", contact_email="", domain=""
    )
    Lead.objects.filter(pk=made[4].pk).update(
        product_interest="", description="", estimated_value="1234567.5"
    )
    return made


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("query", [{}, {"status": "offered"}, {"status": "accepted"}, {"page": "2"}])
def test_the_leads_are_the_page_the_django_template_made(
    team_a: f.Team, leads: list[Any], language: str, query: dict[str, str]
) -> None:
    response = login(team_a.admin).get(reverse("deals:lead_list"), query, HTTP_ACCEPT_LANGUAGE=language)
    with translation.override(language):
        assert_same_leads_page(response)
    if not query:
        assert len(response.context["page"].object_list) > 3


@pytest.mark.parametrize("language", ["en", "de"])
def test_a_sales_users_leads_are_the_page_the_django_template_made(
    team_a: f.Team, leads: list[Any], language: str
) -> None:
    response = login(team_a.sales).get(reverse("deals:lead_list"), HTTP_ACCEPT_LANGUAGE=language)
    with translation.override(language):
        assert_same_leads_page(response)


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("query", [{}, {"status": "accepted"}, {"status": "offered", "page": "3"}])
@pytest.mark.parametrize("role", [PartnerRole.ADMIN, PartnerRole.MARKETING])
def test_no_leads_is_the_page_the_django_template_made(
    language: str, query: dict[str, str], role: str
) -> None:
    team = f.team("Leadless Ltd", tier="Silver")
    user = team.admin if role == PartnerRole.ADMIN else factories.partner_user(team.partner, role=role)
    response = login(user).get(reverse("deals:lead_list"), query, HTTP_ACCEPT_LANGUAGE=language)
    with translation.override(language):
        assert_same_leads_page(response)
    assert not response.context["page"].object_list


# --- Pipeline ------------------------------------------------------------------------------------
PIPELINE_BEFORE = Path(__file__).parent.parent / "prm" / "markup_before" / "pipeline.html"
PIPELINE_VALUES = (
    *("by_status", "by_stage", "by_month", "currencies", "reporting_currency", "unconverted"),
    *("total_count", "open_value", "won_value", "charts", "may_register"),
)


def assert_same_pipeline(response: Any) -> None:
    """The pipeline as the Django template made it, for the same request and figures (the whole
    page: its scripts block stays the Django template's)."""
    assert response.status_code == 200
    context = response.context
    template = engines["django"].from_string(PIPELINE_BEFORE.read_text())
    values = {name: context[name] for name in PIPELINE_VALUES}
    old = _CSRF.sub(r'\1"', template.render(values, request=response.wsgi_request))
    now = _CSRF.sub(r'\1"', response.content.decode())
    assert parse_html(old) == parse_html(now), f"\n--- before\n{main_of(old)}\n--- now\n{main_of(now)}"


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("who", ["admin", "sales"])
def test_the_pipeline_is_the_page_the_django_template_made(
    team_a: f.Team, many: list[Deal], language: str, who: str
) -> None:
    response = login(getattr(team_a, who)).get(reverse("deals:pipeline"), HTTP_ACCEPT_LANGUAGE=language)
    with translation.override(language):
        assert_same_pipeline(response)
    assert response.context["total_count"]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("rates", [{}, {"EUR": "1.08", "JPY": "0.0067"}])
def test_the_pipelines_currency_notes_are_the_page_the_django_template_made(
    team_a: f.Team, language: str, rates: dict[str, str]
) -> None:
    from decimal import Decimal

    from prm.models import ExchangeRate

    firewall = f.product("Firewall X", price="100.00")
    deals = [("Initech", "initech.com", "USD", "1000.00"), ("Globex <&>", "globex.de", "EUR", "500.00")]
    for customer, domain, currency, price in deals:
        f.submitted(
            team_a.sales_actor,
            customer=customer,
            domain=domain,
            currency=currency,
            lines=[f.line(firewall, 1, price)],
        )
    for currency, rate in rates.items():
        ExchangeRate.objects.create(currency=currency, rate=Decimal(rate))
    response = login(team_a.admin).get(reverse("deals:pipeline"), HTTP_ACCEPT_LANGUAGE=language)
    with translation.override(language):
        assert_same_pipeline(response)
    assert 'id="currency-note"' in response.content.decode()


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("who", ["new partner", "inactive partner"])
def test_an_empty_pipeline_is_the_page_the_django_template_made(language: str, who: str) -> None:
    team = f.team("Pipeless Ltd", tier="Silver")
    if who == "inactive partner":
        team.partner.status = PartnerStatus.ONBOARDING
        team.partner.save(update_fields=["status"])
    response = login(team.admin).get(reverse("deals:pipeline"), HTTP_ACCEPT_LANGUAGE=language)
    with translation.override(language):
        assert_same_pipeline(response)
    assert not response.context["total_count"]


def with_message_and_unread(client: Any, user: Any, partner_id: int) -> None:
    """A message waiting in its cookie (as a redirect after a form leaves one, markup in its text)
    and three unread notifications: what the frame prints of the request and the person."""
    from django.contrib.messages import constants
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage

    from prm.models import Notification

    storage = CookieStorage(None)
    client.cookies[storage.cookie_name] = storage._encode([Message(constants.SUCCESS, "Saved <it> & 'all'")])
    for number in range(3):
        Notification.objects.create(
            recipient=user, partner_id=partner_id, kind="test", title=f"Notice {number}", url="/"
        )


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_frame_is_the_one_the_django_layout_made(team_a: f.Team, many: list[Deal], language: str) -> None:
    """The page's own frame (prm.jinja2.render_page): the message once, the unread count, the
    navigation of the role and the language, the CSRF token in the htmx headers and the sign-out
    form, as the Django layout wrote them."""
    client = login(team_a.admin)
    with_message_and_unread(client, team_a.admin, team_a.partner.pk)
    response = client.get(reverse("deals:list"), HTTP_ACCEPT_LANGUAGE=language)
    page = response.content.decode()
    assert page.count("Saved &lt;it&gt; &amp; &#x27;all&#x27;") == 1
    assert 'text-bg-danger prm-badge">3<' in page
    assert f'<html lang="{language}">' in page and '"X-CSRFToken": "' in page
    assert 'name="csrfmiddlewaretoken"' in page and 'id="nav-webhooks"' in page
    # One masked token for the whole page (prm.jinja2.render_page), as Django's context processor
    # gives it: the htmx headers, the sign-out form and the export form print the same one.
    tokens = set(re.findall(r'(?:name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")([^"]+)"', page))
    assert len(tokens) == 1 and page.count('name="csrfmiddlewaretoken"') == 2, tokens
    with translation.override(language):
        assert_same_page(response)
    assert "Saved" not in client.get(reverse("deals:list")).content.decode()  # shown once
