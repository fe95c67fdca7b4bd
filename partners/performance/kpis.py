"""The KPI registry, and the partners app's own KPI (the channel account manager's rating).

A KPI is declared by the app that owns its figures and registered through that app's config, the
same way the partner-home panels are (``partners.panels``)::

    class DealsConfig(AppConfig):
        kpis = "deals.kpis.KPIS"          # a list of Kpi, or a function returning one

so the engine never imports an app above it (the import ladder in ARCHITECTURE.md). A KPI's
``compute(context)`` measures **every partner at once** for the context's as-of date, in one SQL
query (or a few), and returns ``(partner_id, value)`` pairs: a queryset's ``values_list`` is the
usual answer. It never loops over partners or rows in Python.

Flow figures (revenue, deals, downloads...) count the **trailing twelve months** that end with the
as-of day: from the day after the same date a year before, 00:00, to the end of the as-of day
(``Window``). Stock figures (certified people) are read at the end of the as-of day. Money is
converted into ``PRM["REPORTING_CURRENCY"]`` at the vendor's exchange rates (``prm.ExchangeRate``),
as the deal pipeline converts; an amount in a currency without a rate is left out.

The computations run in the system scope (``prm.tenancy.system_scope``), as the nightly Celery
task opens it: row-level security stays on, and it admits every partner's rows.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Aggregate, Avg, Case, DecimalField, F, FloatField, Func, Value, When
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from prm.money import Rates

T = TypeVar("T")


class Unit(models.TextChoices):
    MONEY = "money", _("money (reporting currency)")
    COUNT = "count", _("count")
    PERCENT = "percent", _("percent")
    DAYS = "days", _("days")
    HOURS = "hours", _("hours")
    RATING = "rating", _("rating (1 to 5)")
    RATIO = "ratio", _("ratio")


# Decimal places a value of each unit is kept with.
DECIMALS = {
    Unit.MONEY: 2,
    Unit.COUNT: 0,
    Unit.PERCENT: 1,
    Unit.DAYS: 1,
    Unit.HOURS: 1,
    Unit.RATING: 2,
    Unit.RATIO: 2,
}


class Direction(models.TextChoices):
    HIGHER = "higher", _("higher is better")
    LOWER = "lower", _("lower is better")


Values = Iterable[tuple[int, Any]]


@dataclass(frozen=True)
class Kpi:
    """One measure of a partner.

    ``money``: a money figure or one derived from money (learners and content managers never see
    it). ``zero_when_absent``: a partner the query returns no row for has 0 (sums and counts) rather
    than no value at all (rates, medians, ratios: nothing to divide, nothing to rate); by default,
    counts and money are zero when absent. ``app_label`` is filled in by the registry.
    """

    key: str
    label: str | Promise
    unit: str
    compute: Callable[[KpiContext], Values]
    direction: str = Direction.HIGHER
    money: bool = False
    description: str | Promise = ""
    zero_when_absent: bool | None = None
    app_label: str = ""

    @property
    def empty_value(self) -> Decimal | None:
        zero = self.zero_when_absent
        if zero is None:
            zero = self.unit in (Unit.COUNT, Unit.MONEY)
        return Decimal(0) if zero else None

    @property
    def lower_is_better(self) -> bool:
        return self.direction == Direction.LOWER

    def quantize(self, value: Any) -> Decimal | None:
        if value is None:
            return None
        # A float comes from percentile_cont (double precision): through str, never binary.
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        return number.quantize(Decimal(1).scaleb(-DECIMALS.get(self.unit, 2)))


# --- the period a KPI is measured over ------------------------------------------------------------
def year_before(day: date) -> date:
    """The same date a year earlier; 28 February for a 29 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def is_month_end(day: date) -> bool:
    return (day + timedelta(days=1)).month != day.month


def month_end_before(day: date) -> date:
    """The last day of the month before ``day``'s month."""
    return day.replace(day=1) - timedelta(days=1)


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass(frozen=True)
class Window:
    """The trailing twelve months ending with ``as_of``: ``first_day`` to ``as_of`` (dates, both
    included), or ``starts_at`` (included) to ``ends_at`` (excluded) for timestamps.

    2027-03-31 covers 2026-04-01 to 2027-03-31; 2028-02-29 covers 2027-03-01 to 2028-02-29."""

    as_of: date

    @property
    def first_day(self) -> date:
        return year_before(self.as_of) + timedelta(days=1)

    @property
    def starts_at(self) -> datetime:
        return _midnight(self.first_day)

    @property
    def ends_at(self) -> datetime:
        return _midnight(self.as_of + timedelta(days=1))


@dataclass
class KpiContext:
    """What a KPI's computation gets: the window, the exchange rates, and a memo that KPIs sharing
    one query can use (``once``)."""

    window: Window
    rates: Rates
    memo: dict[str, Any] = field(default_factory=dict)

    def once(self, name: str, compute: Callable[[], T]) -> T:
        if name not in self.memo:
            self.memo[name] = compute()
        return self.memo[name]

    def money(self, amount: str, currency: str) -> Case:
        """``amount`` (a field of currency field ``currency``) in the reporting currency; NULL for a
        currency without a rate, which SUM leaves out."""
        return in_reporting_currency(amount, currency, self.rates)


# --- SQL helpers the apps' KPIs share --------------------------------------------------------------
EXACT = DecimalField(max_digits=30, decimal_places=10)


def in_reporting_currency(amount: str, currency: str, rates: Rates) -> Case:
    return Case(
        *(
            When(**{currency: code}, then=F(amount) * Value(rate, output_field=EXACT))
            for code, rate in sorted(rates.rates.items())
        ),
        default=Value(None, output_field=EXACT),
        output_field=EXACT,
    )


class Seconds(Func):
    """``end - start`` in seconds (numeric), for two timestamp expressions."""

    template = "EXTRACT(EPOCH FROM (%(expressions)s))"
    arg_joiner = " - "
    output_field = EXACT

    def __init__(self, end: str, start: str) -> None:
        super().__init__(F(end), F(start))


class Median(Aggregate):
    """The median (PostgreSQL ``percentile_cont(0.5)``, interpolated) of a numeric expression."""

    function = "percentile_cont"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def percent(part: Any, whole: Any) -> Any:
    """``part * 100 / whole`` in exact numeric (both usually counts)."""
    from django.db.models import ExpressionWrapper

    return ExpressionWrapper(part * Value(Decimal(100), output_field=EXACT) / whole, output_field=EXACT)


# --- the registry ------------------------------------------------------------------------------------
def kpi_registry() -> dict[str, Kpi]:
    """Every KPI the installed apps contribute, by key, in INSTALLED_APPS order. A provider that is a
    function (training's, with one KPI per certification track) is called each time, so a new
    certification is a KPI at once."""
    registry: dict[str, Kpi] = {}
    for config in apps.get_app_configs():
        path = getattr(config, "kpis", None)
        if not path:
            continue
        provided = import_string(path)
        for kpi in provided() if callable(provided) else provided:
            if kpi.key in registry:
                raise ImproperlyConfigured(
                    f"KPI {kpi.key!r} of {config.label} is already declared by {registry[kpi.key].app_label}"
                )
            registry[kpi.key] = replace(kpi, app_label=config.label)
    return registry


def disabled_keys() -> set[str]:
    from partners.models import KpiSetting

    return set(KpiSetting.objects.filter(enabled=False).values_list("key", flat=True))


def enabled_kpis(registry: dict[str, Kpi] | None = None) -> dict[str, Kpi]:
    """The registry without the KPIs the vendor switched off (KpiSetting)."""
    registry = kpi_registry() if registry is None else registry
    off = disabled_keys()
    return {key: kpi for key, kpi in registry.items() if key not in off}


@dataclass
class Measured:
    """What ``measure`` found: ``values[key][partner_id]`` (partners without a value left out) and
    how long each KPI took (the benchmark reports it)."""

    as_of: date
    kpis: dict[str, Kpi]
    values: dict[str, dict[int, Decimal]]
    seconds: dict[str, float]


def measure(*, as_of: date, kpis: dict[str, Kpi], rates: Rates) -> Measured:
    """Compute ``kpis`` for every partner as of the end of ``as_of``. The caller opens the database
    scope (the nightly task: the system scope)."""
    context = KpiContext(window=Window(as_of), rates=rates)
    values: dict[str, dict[int, Decimal]] = {}
    seconds: dict[str, float] = {}
    for key, kpi in kpis.items():
        started = clock.perf_counter()
        values[key] = {
            partner_id: kpi.quantize(value) for partner_id, value in kpi.compute(context) if value is not None
        }
        seconds[key] = clock.perf_counter() - started
    return Measured(as_of=as_of, kpis=kpis, values=values, seconds=seconds)


# --- the partners app's own KPI: the channel account manager's rating -----------------------------
def _cam_rating(context: KpiContext) -> Values:
    """The average of the quarterly ratings for the quarters that overlap the window, as recorded by
    the end of the as-of day."""
    from partners.models import PartnerAssessment

    window = context.window
    return (
        PartnerAssessment.objects.filter(
            period_start__gte=quarter_start(window.first_day),
            period_start__lte=window.as_of,
            created_at__lt=window.ends_at,
        )
        .order_by()
        .values("partner_id")
        .annotate(value=Avg("rating", output_field=EXACT))
        .values_list("partner_id", "value")
    )


KPIS = [
    Kpi(
        key="cam_rating",
        label=_("Channel account manager's rating"),
        unit=Unit.RATING,
        compute=_cam_rating,
        description=_("Average quarterly rating (1 to 5) over the last twelve months."),
    ),
]
