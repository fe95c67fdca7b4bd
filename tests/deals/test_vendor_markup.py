"""The vendor deal pages whose bodies Jinja2 renders (templates/jinja2/deals/vendor/: the review
queue, all deals, the pipeline) show the markup their Django templates showed: each page is
compared, as HTML, with its old template (kept in tests/deals/markup_before/) rendered with the
same context, with deals and without, filtered to nothing, in English and in German. The review
queue is a page written in Jinja2 (prm.jinja2.render_page), its frame (head, navigation, footer)
its own too: it is compared whole; the others, whose frame is still Django's base.html, by their
<main>."""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.template import engines
from django.test.html import parse_html
from django.test.utils import ContextList
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe

from deals.models import Deal, DealStatus
from prm.tenancy import Actor
from tests.deals import factories as f
from tests.deals.test_pipeline_rollup import world  # noqa: F401 -- the fixture
from tests.deals.test_query_counts import bulk_deals, bulk_extensions
from tests.helpers import login

BEFORE = Path(__file__).parent / "markup_before"
PAGES = {
    "deals:review_queue": "vendor_review_queue.html",
    "deals:vendor_list": "vendor_deal_list.html",
    "deals:vendor_pipeline": "vendor_pipeline.html",
}
QUERIES = ["", "q=nothing-matches-this", "page=2", "partner_q=wind&region=na&month_from=2020-01"]
# The pages written in Jinja2, whole: compared whole.
WHOLE_PAGES = {"deals:review_queue"}
_CSRF = re.compile(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": "|nonce=")[^"]*"')


def old_page(name: str, context: dict[str, Any], request: Any) -> str:
    source = (BEFORE / name).read_text()
    filters = (BEFORE / "vendor__filters.html").read_text()
    source = re.sub(
        r'\{% include "vendor__filters.html" with (\w+)=True %\}',
        lambda match: f"{{% with {match.group(1)}=True %}}{filters}{{% endwith %}}",
        source,
    )
    if "rows" not in context and "deals" in context:  # the queue's rows, as the old view made them
        rows = engines["jinja2"].from_string((BEFORE / "_review_rows.html").read_text())
        context = {**context, "rows": mark_safe(rows.render(context))}  # Jinja2 escaped it
    return engines["django"].from_string(source).render(context, request)


def main(html: str) -> Any:
    """The page's <main>, without the CSRF tokens (masked afresh for each render)."""
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    return parse_html(html[html.index("<main") : html.index("</main>") + len("</main>")])


def page_context(response: Any) -> dict[str, Any]:
    """What the page was rendered with: its Django page's context (the Jinja2 body's beside it),
    or, for a page written in Jinja2, the one context render_page reports."""
    rendered = response.context if isinstance(response.context, ContextList) else [response.context]
    return next(c.flatten() for c in rendered if "body" in c or "queue_rows" in c)


def assert_same_markup(client: Any, url_name: str, query: str, language: str) -> None:
    response = client.get(f"{reverse(url_name)}?{query}", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    context = page_context(response)
    with translation.override(language):
        old = old_page(PAGES[url_name], context, response.wsgi_request)
    new = response.content.decode()
    if url_name in WHOLE_PAGES:
        old, new = _CSRF.sub(r'\1"', old), _CSRF.sub(r'\1"', new)
        assert parse_html(old) == parse_html(new), f"{url_name}?{query} ({language})\n{old}\n---\n{new}"
    else:
        assert main(old) == main(new), f"{url_name}?{query} ({language})"


@time_machine.travel(datetime.datetime(2026, 3, 10, 9, 30, tzinfo=datetime.UTC), tick=False)
@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("url_name", list(PAGES))
def test_the_pages_show_the_markup_of_their_old_templates(
    world: dict[str, Any],  # noqa: F811 -- the fixture
    vendor_admin: Actor,
    cam: Actor,
    url_name: str,
    language: str,
) -> None:
    # More of the queue's rows: another partner's registration of the same customer (a possible
    # conflict) and another customer.
    f.submitted(world["b"].sales_actor, customer="Initech")
    f.submitted(world["a"].sales_actor, customer="Globex Corporation", domain="globex.example")
    # Extension requests waiting, more than the queue's panel lists (its deals read with the page's rows).
    bulk_deals(world["b"], 4, product=world["switch"], statuses=[DealStatus.APPROVED], start=900)
    bulk_extensions(list(Deal.objects.filter(status=DealStatus.APPROVED).order_by("pk")))
    for actor in (vendor_admin, cam):
        client = login(actor)
        for query in QUERIES:
            assert_same_markup(client, url_name, query, language)
    if url_name == "deals:review_queue":  # the panel was compared full, with its "in all"
        shown = page_context(login(vendor_admin).get(reverse(url_name)))
        assert len(shown["pending_extensions"]) == 6 < shown["pending_extension_count"]


@time_machine.travel(datetime.datetime(2026, 3, 10, 9, 30, tzinfo=datetime.UTC), tick=False)
@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("url_name", list(PAGES))
def test_the_empty_pages_show_the_markup_of_their_old_templates(
    vendor_admin: Actor, url_name: str, language: str
) -> None:
    client = login(vendor_admin)
    for query in ("", "q=nothing"):
        assert_same_markup(client, url_name, query, language)


@pytest.mark.parametrize("language", ["en", "de"])
def test_whole_numbers_are_written_as_floatformat_writes_them(language: str) -> None:
    from decimal import Decimal

    from django.template.defaultfilters import floatformat

    from deals.templatetags.deal_tags import whole

    values: list[Any] = [0, 7, 1234567, None, "", Decimal("NaN"), Decimal("1E+30"), 12.5]
    for text in ("0", "-0", "0.4", "-0.4", "0.5", "-0.5", "1.49", "1.5", "2.5", "-2.5", "999.50"):
        values.append(Decimal(text))
    for text in ("1234567.50", "-1234567.49", "12000.49", "100000000000.00", "0.00", "-0.01"):
        values.append(Decimal(text))
    with translation.override(language):
        for value in values:
            assert whole(value) == floatformat(value, "0g"), value
