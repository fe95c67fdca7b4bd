"""Money is a Decimal with an ISO 4217 currency; never a float."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, format_decimal
from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.translation import gettext_lazy as _

# Minor units per currency; everything not listed uses two.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "BHD": 3, "KWD": 3}


class Currency(models.TextChoices):
    USD = "USD", _("US dollar")
    EUR = "EUR", _("Euro")
    GBP = "GBP", _("Pound sterling")
    JPY = "JPY", _("Japanese yen")
    CAD = "CAD", _("Canadian dollar")
    AUD = "AUD", _("Australian dollar")
    CHF = "CHF", _("Swiss franc")
    INR = "INR", _("Indian rupee")


def quantize(amount: Decimal, currency: str) -> Decimal:
    exponent = Decimal(1).scaleb(-_MINOR_UNITS.get(currency, 2))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, float):
            raise TypeError("Money never takes a float")
        object.__setattr__(self, "amount", quantize(Decimal(self.amount), self.currency))

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.amount - other.amount, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __str__(self) -> str:
        return f"{self.amount:,} {self.currency}"


@functools.cache
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(translation.to_locale(language))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def _active_locale() -> Locale:
    return _locale(translation.get_language() or settings.LANGUAGE_CODE)


def format_amount(amount: Decimal | int | str, currency: str = "") -> str:
    """An amount as people read it everywhere (pages, messages, notifications, the admin):
    grouped and with the currency's minor units, in the active language's conventions (Babel's
    CLDR data): "5,000.00" in English, "5.000,00" in German, "5 000,00" in French."""
    places = _MINOR_UNITS.get(currency, 2)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(quantize(Decimal(amount), currency), format=pattern, locale=_active_locale())


# Languages that show an amount with its ISO code after it, "5,000.00 USD", as the portal always
# has in English (pages, e-mails and exports people already read); every other language writes
# money as its own conventions do, "5.000,00 $" in German, "1 234,50 €" in French.
_CODE_AFTER_AMOUNT = {"en"}


def writes_code_after_amount() -> bool:
    """Whether the active language writes "5,000.00 USD" (the ISO code after the amount)."""
    return _active_locale().language in _CODE_AFTER_AMOUNT


def format_money(amount: Decimal | int | str | None, currency: str, *, empty: str = "—") -> str:
    """``format_amount`` with its currency in the active language's way (``empty`` for no
    amount)."""
    if amount is None:
        return empty
    if writes_code_after_amount():
        return f"{format_amount(amount, currency)}\N{NO-BREAK SPACE}{currency}"
    # CLDR's minor units per currency are the ones quantize() keeps (JPY 0, KWD 3, ...).
    return format_currency(quantize(Decimal(amount), currency), currency, locale=_active_locale())


def money_field(**kwargs: object) -> models.DecimalField:
    """The one shape of a stored amount: 14 digits, 2 decimals (currency in a sibling field)."""
    return models.DecimalField(max_digits=16, decimal_places=2, **kwargs)


def currency_field(**kwargs: object) -> models.CharField:
    kwargs.setdefault("default", Currency.USD)
    return models.CharField(max_length=3, choices=Currency.choices, **kwargs)


@dataclass(frozen=True)
class Rates:
    """Conversion into the reporting currency: ``rates`` maps a currency to the value of one unit
    (the reporting currency itself is 1); a currency without a rate cannot be converted."""

    currency: str
    rates: dict[str, Decimal]

    def convert(self, amount: Decimal, currency: str) -> Decimal | None:
        rate = self.rates.get(currency)
        return None if rate is None else amount * rate


def require_four_eyes(*, approved_by_id: int | None, payer_id: int | None, message: str) -> None:
    """Paying out money takes two people: whoever approved a payout does not also confirm it
    (``PRM["SETTLEMENT_FOUR_EYES"]``, on unless a deployment turns it off)."""
    from django.conf import settings

    from .errors import ApplicationError

    if settings.PRM["SETTLEMENT_FOUR_EYES"] and approved_by_id is not None and approved_by_id == payer_id:
        raise ApplicationError(message)
