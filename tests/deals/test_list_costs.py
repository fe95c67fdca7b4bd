"""What the partner deal list costs: a page's ids from an index alone, then those rows
(prm.views.KeysFirstPaginator), the same rows in the same order as a plain page, and few queries."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deals import selectors
from deals.models import Deal, DealStatus, Product
from prm.views import KeysFirstPaginator
from tests.deals import factories as f
from tests.deals.test_query_counts import bulk_deals
from tests.helpers import login
from tests.scoping import acting

pytestmark = pytest.mark.django_db

# Statements that only open, close or scope the request's transaction (the test's own transaction
# turns BEGIN/COMMIT into savepoints, and the request's scope is restored on the way out).
_TRANSACTION = re.compile(
    r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT|SELECT set_config|SELECT coalesce\(current_setting)"
)


def page_queries(client: Any, url: str) -> list[str]:
    """The statements of one request that read or write data, the actor coming from the cache as
    in production (a first request fills it)."""
    client.get(url)
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response
    return [query["sql"] for query in context.captured_queries if not _TRANSACTION.match(query["sql"])]


@pytest.fixture
def actor_cache_on(settings: Any) -> None:
    settings.PRM = {**settings.PRM, "ACTOR_CACHE_SECONDS": 300}


@pytest.fixture
def product(db: Any) -> Product:
    return f.product("Probe Firewall", price="100.00")


@pytest.fixture
def many(team_a: f.Team, product: Product) -> list[Deal]:
    deals = bulk_deals(team_a, 60, product=product)
    # Ties on created_at: the order falls back on the id, on both paths.
    Deal.objects.filter(pk__in=[deal.pk for deal in deals[:10]]).update(created_at=deals[0].created_at)
    return deals


@pytest.mark.parametrize(
    "filters", [{}, {"status": DealStatus.APPROVED}, {"q": "Probe Customer 1"}, {"product": "any"}]
)
def test_keys_first_pages_are_the_plain_pages(
    team_a: f.Team, many: list[Deal], product: Product, filters: dict[str, Any]
) -> None:
    if filters.get("product"):
        filters = {"product": product.pk}  # a join to the lines, made distinct
    with acting(team_a.admin_actor):
        listed = selectors.deal_list(actor=team_a.admin_actor, filters=filters)
        plain, keys_first = Paginator(listed, 25, orphans=3), KeysFirstPaginator(listed, 25, orphans=3)
        assert keys_first.num_pages == plain.num_pages >= 1
        for number in plain.page_range:
            shown = [deal.pk for deal in keys_first.page(number)]
            assert shown == [deal.pk for deal in plain.page(number)]
            # The rows keep what the list selects with them (no query per row for the partner).
            with CaptureQueriesContext(connection) as context:
                [(deal.partner.tier.name, deal.registered_by.email) for deal in keys_first.page(number)]
            assert len(context.captured_queries) == 2


def test_the_list_reads_its_rows_by_a_page_of_ids_in_one_statement(
    team_a: f.Team, many: list[Deal], actor_cache_on: Any
) -> None:
    """The page's rows and the expiring deals' rows in one statement (deals.selectors.
    partner_deal_page): each part reads its ids first in a subquery (an index that stops after the
    page, KeysFirstPaginator's way), then those rows by id (with the transaction's three, seven
    statements in production)."""
    client = login(team_a.admin)
    queries = page_queries(client, reverse("deals:list"))
    deals = [sql for sql in queries if '"deals_deal"' in sql and "deals_dealrollup" not in sql]
    assert len(deals) == 1, queries
    page, box = deals[0].split(") UNION ALL (")
    assert re.search(
        r'"deals_deal"\."id" IN \(SELECT U0\."id" AS "pk" FROM "deals_deal" U0 .* LIMIT 25\)', page
    )
    assert re.search(
        r'"deals_deal"\."id" IN \(SELECT U0\."id" AS "pk" FROM "deals_deal" U0 .* LIMIT 5\)', box
    )
    # The user, the status counts (deals.rollup), the page's and the box's rows, the unread
    # notifications (at most: that count may come with the user's row).
    assert len(queries) <= 4, "\n".join(queries)


@pytest.mark.parametrize(
    "query", [{}, {"status": DealStatus.SUBMITTED}, {"q": "Probe Customer 1"}, {"page": "2"}, {"page": "3"}]
)
def test_the_list_and_its_expiring_box_are_what_they_were(
    team_a: f.Team, many: list[Deal], query: dict[str, str]
) -> None:
    """Read together, the page is still the plain page of the filtered list, and the box still the
    approved deals losing their protection soonest, whatever the list is filtered to."""
    approved = Deal.objects.filter(partner=team_a.partner, status=DealStatus.APPROVED).order_by("pk")
    for number, deal in enumerate(approved):  # more than the box shows, some on the same day
        deal.protection_expires_at = timezone.now() + timedelta(days=1 + number % 4)
        deal.save(update_fields=["protection_expires_at"])
    response = login(team_a.admin).get(reverse("deals:list"), query)
    assert response.status_code == 200
    form_filters = {key: value for key, value in query.items() if key != "page"}
    with acting(team_a.admin_actor):
        listed = selectors.partner_deal_list(actor=team_a.admin_actor, filters=form_filters)
        plain = Paginator(listed, 25).get_page(query.get("page"))
        expected_page = [deal.pk for deal in plain]
        soon = selectors.expiring_soon(actor=team_a.admin_actor).order_by("protection_expires_at", "pk")
        expected_box = list(soon.values_list("pk", flat=True)[:5])
    assert [deal.pk for deal in response.context["page"]] == expected_page
    assert response.context["page"].paginator.num_pages == plain.paginator.num_pages
    assert len(expected_box) == 5 < approved.count()
    assert [deal.pk for deal in response.context["expiring"]] == expected_box
    body = response.content.decode()
    assert all(deal.reference in body for deal in response.context["expiring"])


@pytest.mark.parametrize("status", [None, DealStatus.APPROVED])
def test_an_index_alone_gives_a_page_of_ids_in_order(
    team_a: f.Team, many: list[Deal], status: str | None
) -> None:
    """No sort: PostgreSQL can stop after the page however many deals the partner has (row-level
    security hides that number from its planner, so only the index's order helps), and the index
    holds every column the query reads, so on a vacuumed table the scan is index-only."""
    filters = {"status": status} if status else {}
    with acting(team_a.admin_actor):
        ids = selectors.deal_list(actor=team_a.admin_actor, filters=filters).values_list("pk", flat=True)[:25]
        sql, params = ids.query.sql_with_params()
        with connection.cursor() as cursor:
            # On a test-sized table anything wins; the question is whether the index can serve the
            # order by itself (then no plan needs a sort, which is what these settings discourage).
            for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort", "enable_incremental_sort"):
                cursor.execute(f"SET LOCAL {setting} = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
    # On a table this size the planner may as well walk the vendor list's (status, created_at, id)
    # index (deals 0010), which serves the order just as well; at scale the partner's own index,
    # whose condition names the partner, is cheaper and chosen (bench/README.md, "Vendor pages at
    # full size").
    assert re.search(
        r"Index (Only )?Scan using deal_(partner_status|partner_recent|status_recent)_idx", plan
    ), plan
    assert "Sort" not in plan, plan


def test_the_page_reads_its_rows_without_partner_or_tier(
    team_a: f.Team, many: list[Deal], actor_cache_on: Any
) -> None:
    """Every row is the partner's own: no join to the partner and tier tables for them."""
    queries = page_queries(login(team_a.admin), reverse("deals:list"))
    rows = [sql for sql in queries if '"deals_deal"."id" IN (' in sql]
    assert len(rows) == 1, queries
    assert "partners_partner" not in rows[0] and "partners_tier" not in rows[0], rows[0]
    with acting(team_a.admin_actor):
        listed = selectors.partner_deal_list(actor=team_a.admin_actor)
        assert [deal.pk for deal in listed] == [
            deal.pk for deal in selectors.deal_list(actor=team_a.admin_actor)
        ]


def test_deal_list_queries(team_a: f.Team, many: list[Deal], actor_cache_on: Any) -> None:
    """The signed-in user, the status counts, the page's rows with the expiring-soon box's, and the
    unread notifications: nothing for the actor, nothing per row."""
    queries = page_queries(login(team_a.admin), reverse("deals:list"))
    assert len(queries) <= 4, "\n".join(queries)


# The rows as deals/deal_list.html rendered them with Django's engine before they moved to Jinja2
# (templates/jinja2/deals/_deal_rows.html): the same HTML, whatever the language.
DJANGO_ROWS = """{% load i18n deal_tags %}{% for deal in page.object_list %}
<tr>
  <td class="text-nowrap" data-label="{% translate 'Reference' %}"><a class="fw-semibold text-decoration-none" href="{% url 'deals:detail' deal.pk %}">{{ deal.reference }}</a>
    {% if actor.partner_role == "admin" %}<div class="small text-body-secondary">{{ deal.registered_by.full_name|default:deal.registered_by.email }}</div>{% endif %}</td>
  <td data-label="{% translate 'Customer' %}">{{ deal.customer_name }}
    <div class="small text-body-secondary">{{ deal.customer_domain|default:"" }}{% if deal.title %}{% if deal.customer_domain %} · {% endif %}{{ deal.title }}{% endif %}</div></td>
  <td class="text-end text-nowrap" data-label="{% translate 'Amount' %}">{{ deal.amount|floatformat:"2g" }} <span class="text-body-secondary small">{{ deal.currency }}</span></td>
  <td data-label="{% translate 'Status' %}">{% deal_status_badges deal %}</td>
  <td data-label="{% translate 'Stage' %}">{{ deal.get_stage_display }}</td>
  <td class="text-nowrap" data-label="{% translate 'Expected close' %}">{{ deal.expected_close_date|date:"DATE_FORMAT"|default:"—" }}</td>
  <td class="text-nowrap" data-label="{% translate 'Protected until' %}">{% if deal.protected_until %}{{ deal.protected_until|date:"DATE_FORMAT" }}{% else %}<span class="text-body-secondary">—</span>{% endif %}</td>
</tr>
{% endfor %}"""  # noqa: E501


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[-1].split("</tbody>", 1)[0]
    return [re.sub(r"\s+", " ", row).strip() for row in body.split("<tr>") if row.strip()]


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("who", ["admin", "sales"])
def test_the_rows_are_the_django_template_rows(
    team_a: f.Team, many: list[Deal], language: str, who: str
) -> None:
    from django.template import Context, Template
    from django.utils import translation

    Deal.objects.filter(pk=many[0].pk).update(customer_name='<script>alert("x")</script> & Co', title="")
    Deal.objects.filter(pk=many[1].pk).update(customer_domain="", amount="1234567.50")
    client = login(getattr(team_a, who))
    response = client.get(reverse("deals:list"), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    context = response.context
    with translation.override(language), acting(context["actor"]):
        # The page's rows are tuples (deals.selectors.PartnerDealRow); the template they replace
        # read the deals themselves: the same deals, in the page's order.
        keys = [row.pk for row in context["page"].object_list]
        deals = Deal.objects.select_related("registered_by").in_bulk(keys)
        page = {"object_list": [deals[key] for key in keys]}
        expected = Template(DJANGO_ROWS).render(Context({"page": page, "actor": context["actor"]}))
    rows = _rows(response.content.decode())
    # Jinja2 writes a quote as &#34;, Django as &quot;: the same text once the browser reads it.
    assert [html.unescape(row) for row in rows] == [
        html.unescape(row) for row in _rows(f"<tbody>{expected}</tbody>")
    ]
    assert len(rows) == len(context["page"].object_list) > 0
    if who == "admin":  # a sales user lists only their own deals
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in response.content.decode()


def _page_kept(response: Any, actor: Any) -> bool:
    """Whether the list's statement (the page's rows and the "Expiring soon" box's) for this
    response's page and filters is kept compiled."""
    page = response.context["page"]
    filters = response.context["form"].filters()
    bottom = (page.number - 1) * page.paginator.per_page
    now = timezone.now()
    return selectors._PARTNER_DEAL_PAGE.is_kept(
        actor,
        now=now,
        until=now,
        bottom=bottom,
        top=bottom + len(page.object_list),
        q=filters.get("q"),
        status=filters.get("status"),
        stage=filters.get("stage"),
    )


@pytest.mark.parametrize("query", ["", "?status=approved", "?status=draft&stage=proposal", "?page=2"])
def test_the_lists_statements_are_compiled_once_and_kept(
    team_a: f.Team, many: list[Deal], query: str, settings: Any
) -> None:
    """The page's rows (with the expiring deals'), the status counts and the unread notifications
    are statements kept compiled (prm.statements; each call checked against the ORM's,
    PRM["VERIFY_STATEMENTS"]), not built again on every request; a search is built each time (its
    pattern derives from the text)."""
    from prm.notifications import _UNREAD
    from prm.tenancy import ANONYMOUS

    assert settings.PRM["VERIFY_STATEMENTS"]
    client = login(team_a.admin)
    response = client.get(reverse("deals:list") + query)
    assert response.status_code == 200
    actor = team_a.admin_actor
    assert _page_kept(response, actor)
    assert selectors._ROLLUP_STATUS_COUNTS.is_kept(actor)
    assert _UNREAD.is_kept(ANONYMOUS, user_id=team_a.admin.pk)

    searched = client.get(reverse("deals:list") + "?q=" + many[0].customer_name[:5])
    assert searched.status_code == 200 and searched.context["page"].object_list
    assert not _page_kept(searched, actor)
