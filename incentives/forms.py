"""Input validation only; writes happen in incentives.services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _


class DealChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        label = f"{obj.reference} · {obj.customer_name}"
        if obj.status == "won" and obj.won_amount:
            won = _("won")  # not inside the f-string: xgettext would not see it there
            return f"{label} · {won} {obj.won_amount:,} {obj.currency}"
        return f"{label} · {obj.get_status_display()} {obj.amount:,} {obj.currency}"


class AttributeDealForm(forms.Form):
    """Which of the actor's own deals an MDF activity sourced (the view passes the candidates)."""

    deal = DealChoiceField(
        queryset=None,
        label=_("Deal"),
        empty_label=_("Choose a deal…"),
        error_messages={
            "required": _("Choose a deal."),
            "invalid_choice": _("Choose one of your approved or won deals that no activity claims yet."),
        },
    )

    def __init__(self, *args: Any, deals: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deal"].queryset = deals
