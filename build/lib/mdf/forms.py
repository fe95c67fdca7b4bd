"""Input validation only; the rules about money, periods and transitions live in mdf.services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.money import Currency

from .models import ActivityType, FundPeriod, RequestStatus

# Stored amounts have 16 digits, 2 of them decimals: keep every input well inside that.
MONEY = {"max_digits": 14, "decimal_places": 2}
MONEY_ERRORS = {
    "invalid": _("Enter an amount, e.g. 2500.00."),
    "min_value": _("The amount must be more than zero."),
    "max_digits": _("That amount is too large."),
    "max_whole_digits": _("That amount is too large."),
    "max_decimal_places": _("Use at most 2 decimals."),
}
MAX_COUNT = 10_000_000
# What the proof upload accepts; mdf.uploads checks the real type from the content.
PROOF_ACCEPT = "application/pdf,image/png,image/jpeg,image/gif,image/webp,.pdf,.png,.jpg,.jpeg,.gif,.webp"
REPORT_GROUPS = [("partner", _("Partner")), ("tier", _("Tier")), ("period", _("Period"))]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _money_field(label: str, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=Decimal("0.01"),
        error_messages=MONEY_ERRORS,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
        **MONEY,
        **kwargs,
    )


def _count_field(label: str, **kwargs: Any) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=MAX_COUNT,
        required=False,
        error_messages={
            "invalid": _("Enter a whole number."),
            "min_value": _("Cannot be negative."),
            "max_value": _("That number is too large."),
        },
        widget=forms.NumberInput(attrs={"min": "0", "step": "1", "inputmode": "numeric"}),
        **kwargs,
    )


# --- Filters ------------------------------------------------------------------------------------
class RequestFilterForm(forms.Form):
    """Filters never fail the page: a bad value is just left out."""

    status = forms.ChoiceField(
        required=False, label=_("Status"), choices=[("", _("Any status")), *RequestStatus.choices]
    )
    activity_type = forms.ChoiceField(
        required=False, label=_("Activity"), choices=[("", _("Any activity")), *ActivityType.choices]
    )
    period = forms.ModelChoiceField(
        required=False,
        label=_("Period"),
        queryset=FundPeriod.objects.order_by("-starts_on"),
        empty_label=_("Any period"),
    )

    def filters(self) -> dict[str, Any]:
        if not self.is_bound:
            return {}
        self.is_valid()
        data = {}
        for name, value in self.cleaned_data.items():
            value = value.pk if hasattr(value, "pk") else value
            if value not in (None, ""):
                data[name] = value
        return data


class ReportGroupForm(forms.Form):
    group = forms.ChoiceField(required=False, choices=REPORT_GROUPS, label=_("Group by"))

    def selected_group(self) -> str:
        if self.is_bound and self.is_valid() and self.cleaned_data.get("group"):
            return self.cleaned_data["group"]
        return "partner"


# --- Fund requests ------------------------------------------------------------------------------
class FundRequestForm(forms.Form):
    activity_type = forms.ChoiceField(
        label=_("Activity type"),
        choices=[("", _("Choose the kind of activity…")), *ActivityType.choices],
        error_messages={"required": _("Choose the activity type.")},
    )
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        error_messages={"required": _("Give the activity a title.")},
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Security roadshow, Chicago")}),
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The audience, the channels and what the money pays for."),
        error_messages={"required": _("Describe the activity: the audience and what the money pays for.")},
    )
    start_date = forms.DateField(
        label=_("Starts on"),
        widget=DateInput(),
        error_messages={"required": _("Enter the start date."), "invalid": _("Enter a valid date.")},
    )
    end_date = forms.DateField(
        label=_("Ends on"),
        widget=DateInput(),
        error_messages={"required": _("Enter the end date."), "invalid": _("Enter a valid date.")},
    )
    total_cost = _money_field(_("Total cost"))
    requested_amount = _money_field(_("Requested amount"))
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices, initial="USD")
    expected_leads = _count_field(
        _("Expected leads"), initial=0, help_text=_("Leads you expect the activity to generate.")
    )
    # Generated when the empty form is shown: a double-clicked save creates one request.
    submission_key = forms.UUIDField(required=False, widget=forms.HiddenInput)

    FIELDS = (
        "activity_type",
        "title",
        "description",
        "start_date",
        "end_date",
        "total_cost",
        "requested_amount",
        "currency",
        "expected_leads",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The activity ends before it starts."))
        return data

    def request_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data.get(name) for name in self.FIELDS}
        data["expected_leads"] = data["expected_leads"] or 0
        return data

    @classmethod
    def initial_from(cls, fund_request: Any) -> dict[str, Any]:
        return {name: getattr(fund_request, name) for name in cls.FIELDS}


# --- Claims -------------------------------------------------------------------------------------
class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's "Uploading multiple files" recipe); cleans to a list."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = [item for item in (data if isinstance(data, (list, tuple)) else [data]) if item]
        if not files:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        single_clean = super().clean
        return [single_clean(item, initial) for item in files]


class ClaimForm(forms.Form):
    actual_cost = _money_field(_("Actual cost"))
    claimed_amount = _money_field(_("Amount claimed"))
    leads_generated = _count_field(_("Leads generated"), initial=0)
    attendees = _count_field(_("Attendees / reach"), initial=0)
    notes = forms.CharField(
        label=_("Results and notes"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    files = MultipleFileField(
        label=_("Proof of performance"),
        # Empty files are refused by mdf.uploads.validate_proof, which names the file.
        allow_empty_file=True,
        error_messages={
            "required": _("Attach proof of performance: invoices, photos or screenshots."),
            "empty": _("The file is empty."),
        },
        widget=MultipleFileInput(attrs={"accept": PROOF_ACCEPT}),
    )

    def claim_data(self) -> dict[str, Any]:
        data = {
            name: self.cleaned_data.get(name)
            for name in ("actual_cost", "claimed_amount", "leads_generated", "attendees", "notes")
        }
        data["leads_generated"] = data["leads_generated"] or 0
        data["attendees"] = data["attendees"] or 0
        data["notes"] = data["notes"] or ""
        return data
