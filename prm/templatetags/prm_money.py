"""``{{ amount|money:currency }}``: an amount with its currency in the active language's way
(prm.money.format_money): "5.000,00 $" in German, "5 000,00 €" in French; English pages keep the
look they always had, "5,000.00 USD". No amount: "—"."""

from __future__ import annotations

from typing import Any

from django import template

from prm.money import format_amount, format_money, writes_code_after_amount

register = template.Library()


@register.filter
def money(amount: Any, currency: str) -> str:
    if amount is None or amount == "":
        return "—"
    if writes_code_after_amount():
        return f"{format_amount(amount, currency)} {currency}"
    return format_money(amount, currency)
