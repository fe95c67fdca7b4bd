"""A channel account manager's deal list, newest first, read by a bounded walk of the program's date
index where the maintained figures say it is cheap (deals.selectors.walk_bound,
deals.vendor_views.KeptListPaginator._plan_walk): the page's rows are those of the list's own
order on every page, for a portfolio whose deals are recent (the walk), old (the sort) or whose
figures are stale (the walk falls short and the keys are read again the old way)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deals import rollup, selectors, vendor_views
from deals.models import Deal, DealStatus, Product
from prm.tenancy import Actor
from tests.deals import factories as f
from tests.deals.test_query_counts import bulk_deals
from tests.deals.test_vendor_pages_kept import _reads
from tests.helpers import login
from tests.scoping import acting

pytestmark = pytest.mark.django_db

PER_PAGE = 5
STATUSES = [DealStatus.SUBMITTED, DealStatus.APPROVED, DealStatus.DRAFT, DealStatus.WON]


@pytest.fixture(autouse=True)
def _no_kept_figures() -> Any:
    selectors.forget_portfolio_months()
    yield
    selectors.forget_portfolio_months()


@pytest.fixture
def product(db: Any) -> Product:
    return f.product("Walk Probe", price="100.00")


def _moment(month: int, hour: int) -> datetime:
    """A fixed moment of 2025 (no dependence on today's date), in the portal's time zone."""
    moment = datetime(2025, month, 10) + timedelta(hours=hour)
    return timezone.make_aware(moment, timezone.get_default_timezone())


def _deals_in(team: f.Team, product: Product, months: list[int], per_month: int, start: int) -> None:
    """``per_month`` deals of ``team`` in each of ``months`` (drafts among them), an hour apart;
    two deals share each moment so the key breaks the tie."""
    made = bulk_deals(team, len(months) * per_month, product=product, statuses=STATUSES, start=start)
    for number, deal in enumerate(made):
        month = months[number // per_month]
        Deal.objects.filter(pk=deal.pk).update(created_at=_moment(month, (number % per_month) // 2))


@pytest.fixture
def recent(team_a: f.Team, team_b: f.Team, product: Product) -> Actor:
    """A portfolio (partner A) with most of its deals in the program's newest months; partner B,
    outside it, has deals in every month."""
    _deals_in(team_a, product, [3, 5, 6], 16, start=1)
    _deals_in(team_b, product, [1, 2, 3, 4, 5, 6], 4, start=500)
    return f.cam_for(team_a.partner)


def _expected(cam: Actor) -> list[int]:
    with acting(cam):
        return list(selectors.deal_list(actor=cam, filters={}).values_list("pk", flat=True))


def _page(cam: Actor, number: int) -> tuple[list[int], vendor_views.KeptListPaginator]:
    with acting(cam):
        paginator = vendor_views.KeptListPaginator(
            lambda: selectors.deal_list(actor=cam, filters={}),
            PER_PAGE,
            actor=cam,
            statements=selectors.VENDOR_DEALS,
            row=selectors.VendorDealRow,
            filters=selectors.kept_filters(cam, {}, selectors.VENDOR_DEALS.filters),
            selective=True,
        )
        page = paginator.get_page(str(number))
    return [row.pk for row in page.object_list], paginator


def _pages(cam: Actor, expected: list[int]) -> list[datetime | None]:
    """Every page (and one past the end) against the list's order; each page's walk bound."""
    bounds = []
    pages = (len(expected) + PER_PAGE - 1) // PER_PAGE
    for number in range(1, pages + 2):
        keys, paginator = _page(cam, number)
        last = min(number, pages)
        assert keys == expected[(last - 1) * PER_PAGE : last * PER_PAGE], number
        bounds.append(paginator._walk_since)
    return bounds


@pytest.mark.parametrize("folded", [False, True])
def test_the_portfolio_months_are_the_lists_deals_by_month(recent: Actor, folded: bool) -> None:
    """From the changes not folded yet or the packed totals: the portfolio's non-draft deals per
    month, the program's too (folded only: the changes of partners outside the portfolio are not
    the manager's to read)."""
    if folded:
        assert rollup.fold()
    with acting(recent):
        months = selectors.portfolio_months(recent)
    assert months is not None
    assert months.portfolio == [(date(2025, 6, 1), 12), (date(2025, 5, 1), 12), (date(2025, 3, 1), 12)]
    assert months.portfolio_deals == len(_expected(recent))
    if folded:
        assert months.program == {date(2025, m, 1): 3 + (12 if m in (3, 5, 6) else 0) for m in range(1, 7)}


def test_every_page_is_the_lists_order_walked_or_sorted(
    recent: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shallow pages walk, deep pages (where the walk would read more than the sort) sort; with
    the walk allowed everywhere, every page is still the list's."""
    assert rollup.fold()
    expected = _expected(recent)
    assert len(expected) == 36
    bounds = _pages(recent, expected)
    june = timezone.make_aware(datetime(2025, 6, 1), timezone.get_default_timezone())
    assert bounds[0] == june  # the first page is within June's 12 deals
    assert bounds[-3] is None  # page 7's 35 newest: the program's older months hold as many
    monkeypatch.setattr(selectors, "WALK_ENTRIES_PER_SORTED", 1000.0)
    selectors.forget_portfolio_months()
    bounds = _pages(recent, expected)
    # All but the last page (a partial one: the list holds fewer than its top) and the one past it.
    assert all(bound is not None for bound in bounds[:-2])
    assert bounds[-2:] == [None, None]


def test_a_portfolio_of_old_deals_is_sorted(team_a: f.Team, team_b: f.Team, product: Product) -> None:
    """Its deals are older than the program's many newer ones: the walk would read those first."""
    _deals_in(team_a, product, [1], 12, start=1)
    _deals_in(team_b, product, [2, 3, 4, 5, 6], 12, start=500)
    cam = f.cam_for(team_a.partner)
    assert rollup.fold()
    bounds = _pages(cam, _expected(cam))
    assert bounds == [None] * len(bounds)


def test_stale_figures_only_cost_a_second_read(recent: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    """Figures that say the portfolio's deals are newer than they are bound the walk too close:
    it falls short of the page, and the keys are read again the old way, with sorting allowed."""
    stale = selectors.PortfolioMonths([(date(2025, 7, 1), 100)], {date(2025, 7, 1): 100})
    monkeypatch.setattr(selectors, "portfolio_months", lambda actor: stale)
    expected = _expected(recent)
    with CaptureQueriesContext(connection) as context:
        bounds = _pages(recent, expected)
    assert all(bound is not None for bound in bounds)
    allowed = "SELECT current_setting('enable_sort'), set_config('enable_sort', 'on', true)"
    fallbacks = [sql for sql in _reads(context) if sql.startswith(allowed)]
    # Each page once (past the end: the last page's keys, read once the count has turned it).
    assert len(fallbacks) == len(bounds)


def test_the_walk_keeps_the_pages_statements_and_settings(recent: Actor) -> None:
    """Three statements a page once the figures are kept (the settings, the count with the keys,
    the rows with the settings set back), and the settings as they were after."""

    def settings() -> tuple[str, ...]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('jit'), current_setting('enable_sort')")
            return cursor.fetchone()

    assert rollup.fold()
    _page(recent, 1)  # the figures read and kept
    with acting(recent):
        original = settings()
        with CaptureQueriesContext(connection) as context:
            keys, paginator = _page(recent, 1)
        assert settings() == original
    assert paginator._walk_since is not None
    assert keys == _expected(recent)[:PER_PAGE]
    assert len(_reads(context)) == 3


def test_the_cams_deal_list_page_shows_the_newest_deals(recent: Actor) -> None:
    assert rollup.fold()
    client = login(recent)
    newest = Deal.objects.get(pk=_expected(recent)[0])
    for _ in range(2):  # the figures read, then kept
        response = client.get(reverse("deals:vendor_list"))
        assert response.status_code == 200
        assert newest.reference in response.content.decode()
