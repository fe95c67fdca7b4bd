"""How far a deal line's unit price strays from the product's list price: a warning for the
reviewer, never a refusal (discounts are the partner's business; a price 95 % below list or eight
times above it is usually a typo, or a deal worth a question).

The bounds are PRM["DEAL_PRICE_WARN_BELOW_PERCENT"] (a unit price more than this many percent below
list) and PRM["DEAL_PRICE_WARN_ABOVE_MULTIPLE"] (more than this multiple of list)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from prm.models import reporting_rates
from prm.money import Rates

from .models import DealLine


def _in_deal_currency(
    list_price: Decimal, currency: str, deal_currency: str, rates: Rates | None
) -> Decimal | None:
    if currency == deal_currency:
        return list_price
    if rates is None:
        return None
    in_reporting, unit = rates.convert(list_price, currency), rates.rates.get(deal_currency)
    if in_reporting is None or not unit:
        return None  # no kept rate: nothing to compare against, so no warning either way
    return in_reporting / unit


def line_price_warnings(lines: Iterable[DealLine], *, deal_currency: str) -> dict[int, str]:
    """A warning per line (by line id) whose unit price lies outside the configured bounds around
    the product's list price, converted into the deal's currency when the two differ."""
    below = Decimal(settings.PRM["DEAL_PRICE_WARN_BELOW_PERCENT"])
    above = Decimal(settings.PRM["DEAL_PRICE_WARN_ABOVE_MULTIPLE"])
    lines = list(lines)
    rates = reporting_rates() if any(line.product.currency != deal_currency for line in lines) else None
    warnings: dict[int, str] = {}
    for line in lines:
        list_price = _in_deal_currency(line.product.list_price, line.product.currency, deal_currency, rates)
        if not list_price or list_price <= 0:
            continue
        ratio = line.unit_price / list_price
        if ratio < 1 - below / 100:
            warnings[line.pk] = _("%(percent)s %% below list price (warning beyond %(bound)s %%)") % {
                "percent": round((1 - ratio) * 100),
                "bound": settings.PRM["DEAL_PRICE_WARN_BELOW_PERCENT"],
            }
        elif ratio > above:
            warnings[line.pk] = _("%(multiple)s× the list price (warning beyond %(bound)s×)") % {
                "multiple": f"{ratio:.1f}".removesuffix(".0"),
                "bound": settings.PRM["DEAL_PRICE_WARN_ABOVE_MULTIPLE"],
            }
    return warnings
