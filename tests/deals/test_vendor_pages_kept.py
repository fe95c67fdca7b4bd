"""The vendor's pipeline page kept per process (deals.pipeline.kept_vendor_page) and the vendor
lists' reads folded into fewer statements (deals.vendor_views.KeptListPaginator,
deals.selectors.review_queue_side): a kept page is rendered no more while nothing it shows changes,
and shows every change at once (a deal, a name, a rate), each request its own CSRF token; a channel
account manager's page is the portfolio's; the lists read the same rows in fewer round trips and
leave the planner's settings as they found them."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deals import pipeline, rendering, selectors, vendor_views
from deals.models import Deal, DealExtensionRequest, DealStatus, Product
from partners.models import Partner
from prm.models import ExchangeRate
from prm.tenancy import Actor
from tests.deals import factories as f
from tests.deals.test_pipeline_rollup import world  # noqa: F401 -- the fixture
from tests.deals.test_query_counts import bulk_deals, bulk_extensions
from tests.helpers import login
from tests.scoping import acting

pytestmark = pytest.mark.django_db

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# What the tests' scoping of a selector called from a test sends around it (tests/scoping.py).
SCOPE = re.compile(r"\s*(SAVEPOINT|RELEASE|SELECT (set_config|coalesce\(current_setting)\('prm\.)")


def _reads(context: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in context.captured_queries if not SCOPE.match(query["sql"])]


@pytest.fixture(autouse=True)
def _nothing_kept() -> None:
    cache.clear()
    pipeline._vendor_pages.clear()


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The pipeline bodies rendered (each a template name)."""
    rendered: list[str] = []
    body = vendor_views._body

    def counted(request: Any, template_name: str, *args: Any, **kwargs: Any) -> str:
        rendered.append(template_name)
        return body(request, template_name, *args, **kwargs)

    monkeypatch.setattr(vendor_views, "_body", counted)
    return rendered


def _page(client: Any, headers: dict[str, str] | None = None, **params: Any) -> tuple[str, str]:
    """The page's body without its CSRF token (the layout prints it too), and the token."""
    response = client.get(reverse("deals:vendor_pipeline"), params, headers=headers)
    assert response.status_code == 200
    html = response.content.decode()
    body = str(response.context["body"])
    tokens = CSRF.findall(body)
    assert body in html and tokens and "\x1f" not in html  # the request's own token in the slot
    return CSRF.sub("", body), tokens[0]


@pytest.mark.parametrize("who", ["vendor_admin", "cam"])
def test_the_pipeline_page_is_kept_and_shows_every_change_at_once(
    request: pytest.FixtureRequest,
    world: dict[str, Any],  # noqa: F811 -- the fixture
    renders: list[str],
    who: str,
) -> None:
    actor: Actor = request.getfixturevalue(who)
    client = login(actor.user)
    first, _token = _page(client)
    again, _token = _page(client)
    assert again == first and len(renders) == 1  # kept: rendered once

    # A deal that moves (the triggers count it before any fold): shown on the next request.
    a = world["a"].partner
    deal = Deal.objects.filter(partner=a, status=DealStatus.APPROVED).first()
    Deal.objects.filter(pk=deal.pk).update(status=DealStatus.WON, won_amount=Decimal("4321.00"))
    moved, _token = _page(client)
    assert moved != first and len(renders) == 2
    assert _page(client)[0] == moved and len(renders) == 2

    # A renamed partner, and a new exchange rate.
    Partner.objects.filter(pk=a.pk).update(legal_name="Northwind Renamed")
    renamed, _token = _page(client)
    assert "Northwind Renamed" in renamed and a.legal_name not in renamed
    ExchangeRate.objects.filter(currency="EUR").update(rate=Decimal("1.25"))
    assert _page(client)[0] != renamed
    assert len(renders) == 4

    # Another language: a page of its own.
    german, _token = _page(client, headers={"accept-language": "de"})
    assert german != _page(client)[0]
    assert len(renders) == 5


@pytest.mark.parametrize("who", ["vendor_admin", "cam"])
def test_a_kept_pipeline_page_is_one_statement(
    request: pytest.FixtureRequest,
    world: dict[str, Any],  # noqa: F811 -- the fixture
    who: str,
) -> None:
    """Served again, the page reads the figures' state, the exchange rates and the names it shows
    in one statement, and nothing else of the pipeline's (the figures stay in the cache)."""
    actor: Actor = request.getfixturevalue(who)
    client = login(actor.user)
    _page(client)
    with CaptureQueriesContext(connection) as context:
        _page(client)
    reads = [
        query["sql"]
        for query in context.captured_queries
        if re.search(r"\b(deals_\w+|partners_partner|partners_tier|prm_exchangerate)\b", query["sql"])
    ]
    assert len(reads) == 1 and "json_agg" in reads[0], reads


def test_each_request_gets_its_own_csrf_token(world: dict[str, Any], vendor_admin: Actor) -> None:  # noqa: F811
    """The kept body's export button carries the token of the request it is served to: the export
    it posts passes Django's CSRF check for that session, not for the one it was rendered for."""
    first_client, second_client = (login(vendor_admin.user, enforce_csrf_checks=True) for _ in range(2))
    first_body, first = _page(first_client)
    second_body, second = _page(second_client)  # kept: the same body, another session's token
    assert first_body == second_body and first != second
    export = reverse("deals:vendor_pipeline_export")
    assert second_client.post(export, {"csrfmiddlewaretoken": second}).status_code == 302
    assert (
        login(vendor_admin.user, enforce_csrf_checks=True)
        .post(export, {"csrfmiddlewaretoken": second})
        .status_code
        == 403
    )


def test_a_cams_kept_page_is_the_portfolios(
    world: dict[str, Any],  # noqa: F811 -- the fixture
    vendor_admin: Actor,
    cam: Actor,
    renders: list[str],
) -> None:
    a, b = world["a"].partner, world["b"].partner
    everyone, _token = _page(login(vendor_admin.user))
    assert a.legal_name in everyone and b.legal_name in everyone
    for _ in range(2):  # made, then kept
        portfolio, _token = _page(login(cam.user))
        assert a.legal_name in portfolio and b.legal_name not in portfolio
    assert len(renders) == 2


def test_a_searched_or_partner_filtered_pipeline_is_made_each_time(
    world: dict[str, Any],  # noqa: F811 -- the fixture
    vendor_admin: Actor,
    renders: list[str],
) -> None:
    client = login(vendor_admin.user)
    b = world["b"].partner
    for _ in range(2):
        found, _token = _page(client, partner_q=b.legal_name[:6])
        assert b.legal_name in found
        chosen, _token = _page(client, partner=b.pk)
        assert b.legal_name in chosen
    assert len(renders) == 4 and not pipeline._vendor_pages


# --- The review queue and the program's deal list in fewer statements ---------------------------
@pytest.fixture
def product(db: Any) -> Product:
    return f.product("Probe Firewall", price="100.00")


def _page_reads(actor: Actor, url_name: str, **params: Any) -> tuple[Any, list[str]]:
    """The response and the statements its view sent that read deals (not the session, the scope)."""
    client = login(actor.user)
    client.get(reverse(url_name), params)  # warm: the statements compiled, the session read
    with CaptureQueriesContext(connection) as context:
        response = client.get(reverse(url_name), params)
    assert response.status_code == 200
    return response, [query["sql"] for query in context.captured_queries if "deals_deal" in query["sql"]]


@pytest.mark.parametrize("size", [1, 40])
@pytest.mark.parametrize("who", ["vendor_admin", "cam"])
def test_the_review_queue_reads_its_side_and_its_page_in_three_statements(
    request: pytest.FixtureRequest, team_a: f.Team, product: Product, size: int, who: str
) -> None:
    actor: Actor = request.getfixturevalue(who)
    submitted = bulk_deals(team_a, size, product=product, statuses=[DealStatus.SUBMITTED])
    approved = bulk_deals(team_a, 8, product=product, statuses=[DealStatus.APPROVED], start=100)
    bulk_extensions(approved)
    bulk_deals(team_a, 2, product=product, statuses=[DealStatus.WON_PENDING], start=200)
    response, reads = _page_reads(actor, "deals:review_queue")
    # The wins waiting with the extension panel; the count with the page's keys; the rows.
    assert len(reads) == 3, reads
    assert response.context["won_waiting_count"] == 2
    assert response.context["pending_extension_count"] == DealExtensionRequest.objects.count() == 8
    pending = [row.pk for row in response.context["pending_extensions"]]
    assert pending == list(
        DealExtensionRequest.objects.order_by("created_at", "pk").values_list("pk", flat=True)[:6]
    )
    # The requests' deals, read with the page's rows (by key, beside the queue's submitted deals).
    extended = {deal.pk: deal for deal in approved}
    assert [
        (row.deal.pk, row.deal.reference, row.deal.customer_name, row.deal.partner.legal_name)
        for row in response.context["pending_extensions"]
    ] == [
        (row.deal_id, deal.reference, deal.customer_name, team_a.partner.legal_name)
        for row in response.context["pending_extensions"]
        for deal in [extended[row.deal_id]]
    ]
    page = response.context["page"]
    assert page.paginator.count == size
    assert [row.pk for row in page.object_list] == [
        deal.pk for deal in sorted(submitted, key=lambda deal: (deal.submitted_at, deal.pk))
    ][:25]


def test_the_side_panel_without_requests_still_counts_the_wins(
    team_a: f.Team, product: Product, vendor_admin: Actor
) -> None:
    bulk_deals(team_a, 3, product=product, statuses=[DealStatus.WON_PENDING])
    with acting(vendor_admin):
        assert selectors.review_queue_side(actor=vendor_admin, limit=6) == ([], 0, 3)


@pytest.mark.parametrize("asked", ["2", "99", "x", "0", "9" * 30])
def test_a_page_out_of_range_reads_the_page_it_turns_out_to_be(
    team_a: f.Team, product: Product, vendor_admin: Actor, asked: str
) -> None:
    """The keys are read with the count for the page asked; a page past the last (or none) is
    read again for the page shown, as Django's get_page turns it."""
    deals = bulk_deals(team_a, 30, product=product, statuses=[DealStatus.SUBMITTED, DealStatus.APPROVED])
    response, reads = _page_reads(vendor_admin, "deals:vendor_list", page=asked)
    shown = {"2": 2, "x": 1}.get(asked, 2)
    page = response.context["page"]
    assert page.number == shown
    newest = [deal.pk for deal in sorted(deals, key=lambda deal: (deal.created_at, deal.pk), reverse=True)]
    assert [row.pk for row in page.object_list] == newest[(shown - 1) * 25 : shown * 25]
    assert len(reads) == (2 if asked in {"2", "x"} else 3), reads  # the keys again: a statement more


@pytest.mark.parametrize("before", [False, True])
@pytest.mark.parametrize("selective", [False, True])
def test_the_lists_planner_settings_are_set_back_with_the_rows(
    team_a: f.Team, product: Product, vendor_admin: Actor, selective: bool, before: bool
) -> None:
    """The settings are set (alone, or with the read before the list: the review queue's side)
    and set back in the statement that reads the page's rows; the statements after see the
    settings as they were."""
    bulk_deals(team_a, 30, product=product, statuses=[DealStatus.SUBMITTED])
    bulk_deals(team_a, 2, product=product, statuses=[DealStatus.WON_PENDING], start=100)

    def settings() -> tuple[str, ...]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('jit'), current_setting('enable_sort'), "
                "current_setting('max_parallel_workers_per_gather')"
            )
            return cursor.fetchone()

    with acting(vendor_admin):
        original = settings()
        paginator = vendor_views.KeptListPaginator(
            lambda: selectors.review_queue(actor=vendor_admin),
            25,
            actor=vendor_admin,
            statements=selectors.REVIEW_QUEUE,
            row=selectors.ReviewRow,
            filters={"partner": None},
            selective=selective,
        )
        sent = 0
        if before:
            with CaptureQueriesContext(connection) as context:
                side = selectors.review_queue_side(actor=vendor_admin, limit=6, send=paginator.read_before)
            assert side == ([], 0, 2)
            sent += len(_reads(context))
            assert settings()[0] == "off"  # set by the side's statement, held for the list
        with CaptureQueriesContext(connection) as context:
            page = paginator.get_page("2")
        sent += len(_reads(context))
        assert settings() == original
    assert len(page.object_list) == 5
    # The side with the settings set (or the settings alone), the count with the keys, the rows
    # with the settings set back.
    assert sent == 3


# --- The filter bars' widgets, kept (deals.rendering.kept_widget) ---------------------------------
@pytest.fixture
def widget_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the fields whose widget was written (not taken from what was kept)."""
    from prm.templatetags import prm_forms

    written: list[str] = []
    widget_html = prm_forms.widget_html

    def counted(field: Any) -> Any:
        written.append(field.name)
        return widget_html(field)

    monkeypatch.setattr(prm_forms, "widget_html", counted)
    rendering._widgets.clear()
    return written


def _filter_bar(client: Any, headers: dict[str, str] | None = None, **params: Any) -> str:
    response = client.get(reverse("deals:vendor_list"), params, headers=headers)
    assert response.status_code == 200
    return response.content.decode().split('id="deal-filters"')[1].split("</form>")[0]


def test_the_filter_bar_is_written_once_for_the_same_values_and_options(
    team_a: f.Team, product: Product, vendor_admin: Actor, widget_renders: list[str]
) -> None:
    bulk_deals(team_a, 3, product=product, statuses=[DealStatus.SUBMITTED])
    client = login(vendor_admin.user)
    first = _filter_bar(client)
    written = len(widget_renders)
    assert {"status", "stage", "partner", "tier", "region", "product"} <= set(widget_renders)
    assert _filter_bar(client) == first and len(widget_renders) == written  # all kept

    # A value chosen: that widget is written for it (selected), the others kept.
    approved = _filter_bar(client, status="approved")
    # (and the partner chooser's of a submitted form: its value is then the empty pair)
    assert sorted(widget_renders[written:]) == ["partner", "status"]
    assert re.search(r'<option value="approved" selected>', approved)
    assert not re.search(r'<option value="approved" selected>', _filter_bar(client))

    # A new product is an option at once (the catalogue changes, so do its widgets).
    f.product("Probe Router Brand New", price="5.00")
    assert "Probe Router Brand New" in _filter_bar(client)
    assert "Probe Router Brand New" not in first

    # Another language writes its own.
    german = _filter_bar(client, headers={"accept-language": "de"})
    assert german != _filter_bar(client)


def test_a_chosen_partner_is_written_each_time(
    team_a: f.Team, product: Product, vendor_admin: Actor, widget_renders: list[str]
) -> None:
    bulk_deals(team_a, 3, product=product, statuses=[DealStatus.SUBMITTED])
    client = login(vendor_admin.user)
    partner = team_a.partner
    assert partner.legal_name in _filter_bar(client, partner=partner.pk)
    Partner.objects.filter(pk=partner.pk).update(legal_name="Renamed Partner Ltd")
    assert "Renamed Partner Ltd" in _filter_bar(client, partner=partner.pk)
    assert widget_renders.count("partner") == 2
