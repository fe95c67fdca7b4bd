"""Exact money for generated rows, in integer cents: what ``prm.money.quantize`` does to a Decimal
(half-even, to the currency's minor unit), without building a Decimal per row."""

from __future__ import annotations

# Minor units as prm.money has them: whole yen.
WHOLE_UNITS = frozenset({"JPY", "KRW", "CLP"})
# Roughly what one US dollar buys, to size amounts alike in every currency.
PER_USD = {
    "USD": 1.0,
    "EUR": 0.9,
    "GBP": 0.8,
    "CHF": 0.9,
    "CAD": 1.35,
    "AUD": 1.5,
    "JPY": 150.0,
    "INR": 85.0,
}


def unit(currency: str) -> int:
    """The smallest amount in cents."""
    return 100 if currency in WHOLE_UNITS else 1


def round_half_even(numerator: int, denominator: int) -> int:
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


def quantize(cents: int, currency: str) -> int:
    step = unit(currency)
    return round_half_even(cents, step) * step


def percent_of(cents: int, percent_hundredths: int, currency: str) -> int:
    """``cents * percent / 100``, quantized as the app does (``percent`` in hundredths: 250 is 2.5%)."""
    step = unit(currency)
    return round_half_even(cents * percent_hundredths, 10_000 * step) * step


def usd_like(dollars: float, currency: str, *, step: int = 10) -> int:
    """``dollars`` US dollars' worth in ``currency``, in cents, rounded to ``step`` whole units."""
    units = dollars * PER_USD[currency]
    step_units = step * (100 if currency in ("JPY", "INR") else 1)
    return max(step_units, round(units / step_units) * step_units) * 100


def text(cents: int) -> str:
    """The amount as COPY takes it for a ``DecimalField(decimal_places=2)``."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def percent_hundredths(value: object) -> int:
    """A percentage as stored (``Decimal("2.50")``, ``"2.5"``) in hundredths."""
    whole, _, fraction = str(value).partition(".")
    return int(whole) * 100 + int((fraction + "00")[:2])
