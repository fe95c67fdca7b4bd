"""``{{ amount|money:currency }}``: an amount with its currency in the active language's way
(prm.money.format_money)."""

from __future__ import annotations

from typing import Any

from django import template

from prm.money import format_money

register = template.Library()


@register.filter
def money(amount: Any, currency: str) -> str:
    if amount is None or amount == "":
        return "—"
    return format_money(amount, currency)
