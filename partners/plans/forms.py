"""Input of the plan pages. The services check the rules again (and say what is wrong in words);
the forms turn what was typed into values and keep it on the page when it is refused."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from partners.forms import PartnerChoiceField
from partners.models import ActivityStatus, PlanGoal, PlanStatus

from .periods import period_choices
from .progress import GOAL_KINDS


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _period_field(today: date) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=_("Period"),
        choices=[
            # The days in the active language's format (strftime's %b is always English).
            (p.key, f"{p.label} ({date_format(p.start)} – {date_format(p.end)})")
            for p in period_choices(today)
        ],
    )


class PlanDraftForm(forms.Form):
    def __init__(self, *args: Any, today: date, partners: QuerySet | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if partners is not None:
            self.fields["partner"] = PartnerChoiceField(label=_("Partner"))
            self.fields["partner"].queryset = partners
        self.fields["period"] = _period_field(today)
        self.fields["period"].initial = period_choices(today)[1].key


class GoalForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Goal"),
        choices=[*GOAL_KINDS.items(), (PlanGoal.CUSTOM, _("Custom goal (value recorded by hand)"))],
    )
    label = forms.CharField(label=_("Name of a custom goal"), max_length=120, required=False)
    target = forms.DecimalField(label=_("Target"), max_digits=16, decimal_places=2, min_value=0)


class TargetForm(forms.Form):
    target = forms.DecimalField(label=_("Target"), max_digits=16, decimal_places=2, min_value=0)


class ValueForm(forms.Form):
    value = forms.DecimalField(label=_("Value so far"), max_digits=16, decimal_places=2, min_value=0)


class ActivityForm(forms.Form):
    title = forms.CharField(label=_("Activity"), max_length=200)
    owner = forms.ChoiceField(label=_("Owner"))
    due_on = forms.DateField(label=_("Due"), widget=DateInput())

    def __init__(self, *args: Any, owners: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("Choose…")), *owners]

    def owner_parts(self) -> tuple[str, str]:
        side, _sep, pk = self.cleaned_data["owner"].partition(":")
        return side, pk


class ActivityStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActivityStatus.choices)


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Comment"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))


class ReviewForm(forms.Form):
    note = forms.CharField(
        label=_("Mid-period review"),
        max_length=4000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class VendorPlanFilterForm(forms.Form):
    """A filter form never fails the page: fields with bad values are left out."""

    q = forms.CharField(required=False, max_length=200, label=_("Partner"))
    period = forms.ChoiceField(required=False, label=_("Period"))
    status = forms.ChoiceField(
        required=False, label=_("Status"), choices=[("", _("Any status")), *PlanStatus.choices]
    )
    behind = forms.BooleanField(required=False, label=_("Behind plan only"))

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period"].choices = [
            ("", _("Any period")),
            *((p.key, p.label) for p in period_choices(today)),
        ]

    def filters(self) -> dict[str, Any]:
        if not self.is_bound:
            return {}
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "", False)}
