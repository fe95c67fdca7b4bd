"""The vendor pipeline's figures kept in the cache (deals.pipeline._kept_figures): the second
request for the same figures sums nothing, and no change of a figure is ever answered with the
figures from before it: not a deal that moves before the fold has run, nor after it, nor a new
exchange rate; the names are read on every request; a channel account manager's kept figures
are the portfolio's only, whatever the program admin's are."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deals import rollup, selectors
from deals.models import Deal, DealStatus
from partners.models import Partner
from prm.models import ExchangeRate
from prm.tenancy import Actor
from tests.deals.test_pipeline_rollup import assert_same, world  # noqa: F401 -- the fixture

# What opening the actor's scope and the planner settings cost (no read of the figures).
SCOPE = re.compile(r"\s*(SAVEPOINT|RELEASE|SET LOCAL|SELECT (set_config|coalesce\(current_setting))")


def report(actor: Actor) -> tuple[dict[str, Any], int]:
    """The report and the queries it took."""
    with CaptureQueriesContext(connection) as context:
        made = selectors.pipeline_report(actor=actor, partners=None)
    return made, sum(not SCOPE.match(query["sql"]) for query in context.captured_queries)


def test_the_figures_are_kept_and_follow_every_change_at_once(
    world: dict[str, Any],  # noqa: F811 -- the fixture
    vendor_admin: Actor,
    cam: Actor,
) -> None:
    cache.clear()
    actors = (vendor_admin, cam)
    for actor in actors:
        assert_same(actor)  # made and kept
        kept, queries = report(actor)
        assert queries == 2  # the figures' version with the rates, the names: nothing summed again
        assert kept == selectors.pipeline_report(actor=actor, partners=None)

    # A deal moves (written past the services: the triggers count it all the same), not folded.
    a = world["a"].partner
    deal = Deal.objects.filter(partner=a, status=DealStatus.APPROVED).first()
    before = [report(actor)[0] for actor in actors]
    Deal.objects.filter(pk=deal.pk).update(status=DealStatus.WON, won_amount=Decimal("4321.00"))
    for actor, was in zip(actors, before, strict=True):
        after = assert_same(actor)
        assert after["by_status"] != was["by_status"]
        assert report(actor)[1] == 2  # kept again, under the new key

    # The fold merges the change into the folded tables: the version moves with it.
    assert rollup.fold()
    for actor in actors:
        assert_same(actor)
        assert report(actor)[1] == 2

    # A new deal, and a new exchange rate: each shows on the next request.
    Deal.objects.filter(pk=deal.pk).update(amount=deal.amount + 1000)
    for actor in actors:
        assert_same(actor)
    ExchangeRate.objects.filter(currency="EUR").update(rate=Decimal("1.25"))
    for actor in actors:
        assert_same(actor)


def test_the_names_are_read_on_every_request(
    world: dict[str, Any],  # noqa: F811 -- the fixture
    vendor_admin: Actor,
) -> None:
    cache.clear()
    a = world["a"].partner
    assert a.legal_name in {row["partner__legal_name"] for row in report(vendor_admin)[0]["by_partner"]}
    Partner.objects.filter(pk=a.pk).update(legal_name="Northwind Renamed")
    kept, queries = report(vendor_admin)
    assert queries == 2
    names = {row["partner__legal_name"] for row in kept["by_partner"]}
    assert "Northwind Renamed" in names and a.legal_name not in names


def test_a_cams_kept_figures_are_the_portfolios(
    world: dict[str, Any],  # noqa: F811 -- the fixture
    vendor_admin: Actor,
    cam: Actor,
) -> None:
    """The program admin's figures (every partner) kept first; the channel account manager of
    partner A gets A's, kept under a key of their own."""
    cache.clear()
    a, b = world["a"].partner, world["b"].partner
    everyone = {row["partner__legal_name"] for row in report(vendor_admin)[0]["by_partner"]}
    assert {a.legal_name, b.legal_name} <= everyone
    for _ in range(2):  # made, then kept
        portfolio = {row["partner__legal_name"] for row in report(cam)[0]["by_partner"]}
        assert portfolio == {a.legal_name}
    assert_same(cam)


def test_the_version_counts_the_folds_that_change_something(world: dict[str, Any]) -> None:  # noqa: F811
    def version() -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT coalesce(max(version), 0) FROM {rollup.VERSION_TABLE}")
            return cursor.fetchone()[0]

    first = version()
    assert rollup.fold()  # the fixture's deals merged
    assert version() == first + 1
    assert rollup.fold() == 0  # nothing to merge: nothing changed
    assert version() == first + 1
    rollup.rebuild()
    assert version() == first + 2


# --- The partner's pipeline page, kept per process (deals.pipeline.kept_partner_page) -------------
def _page(client: Any, **headers: Any) -> tuple[str, int]:
    from django.urls import reverse

    response = client.get(reverse("deals:pipeline"), **headers)
    assert response.status_code == 200
    return str(response.context["body"]), response.context["total_count"]


def _built(client: Any, **headers: Any) -> tuple[str, int]:
    """The page built now, not kept from before."""
    from deals import pipeline

    pipeline._pages.clear()
    return _page(client, **headers)


def test_a_partners_kept_page_follows_every_change_at_once(
    world: dict[str, Any],  # noqa: F811 -- the fixture
) -> None:
    """A partner admin's page is kept until the partner's figures or the rates change: a deal that
    moves (before and after the fold), a new rate; and each partner and language has its own."""
    from deals import pipeline
    from tests.helpers import login

    a, b = world["a"], world["b"]
    admin_a, admin_b = login(a.admin), login(b.admin)
    first = _built(admin_a)
    assert len(pipeline._pages) == 1
    assert _page(admin_a) == first and len(pipeline._pages) == 1  # kept
    assert _built(admin_b)[1] != first[1] and _page(admin_b) != first  # B's own page, not A's
    german = _page(admin_a, HTTP_ACCEPT_LANGUAGE="de")
    assert german != first and german == _built(admin_a, HTTP_ACCEPT_LANGUAGE="de")

    deal = Deal.objects.filter(partner=a.partner, status=DealStatus.APPROVED).first()
    Deal.objects.filter(pk=deal.pk).update(status=DealStatus.WON, won_amount=Decimal("4321.00"))
    moved = _page(admin_a)
    assert moved != first and moved == _built(admin_a)

    assert rollup.fold()
    assert _page(admin_a) == _built(admin_a) == moved  # the same figures, folded
    Deal.objects.filter(pk=deal.pk).update(amount=deal.amount + 1000)
    grown = _page(admin_a)
    assert grown != moved and grown == _built(admin_a)

    ExchangeRate.objects.filter(currency="EUR").update(rate=Decimal("1.25"))
    rated = _page(admin_a)
    assert rated != grown and rated == _built(admin_a)


def test_a_sales_users_pipeline_is_never_kept(world: dict[str, Any]) -> None:  # noqa: F811 -- the fixture
    """A sales user's report is summed from their own deals (no figures to key it by): built each
    time."""
    from deals import pipeline
    from tests.helpers import login

    pipeline._pages.clear()
    client = login(world["a"].sales)
    _page(client)
    _page(client)
    assert not pipeline._pages
