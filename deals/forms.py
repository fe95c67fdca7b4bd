"""Input validation only; writes happen in services (deals.services, deals.leads)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.forms import DomainField, PartnerChoiceField
from partners.models import PartnerStatus, Region, Tier

from .leads import LEAD_FIELDS
from .models import (
    OPEN_STAGE_CHOICES,
    ConflictResolution,
    Deal,
    DealStage,
    DealStatus,
    Lead,
    LeadStatus,
    Product,
)
from .services import CUSTOMER_FIELDS, LineInput, won_amount_limit

# A deal holds at most this many product lines (the formset's hard limit, too).
MAX_LINES = 50
# Amounts are stored with 16 digits, 2 of them decimals; keep every total well inside that.
MAX_DEAL_TOTAL = Decimal("10000000000000")  # 10^13
MAX_IMPORT_BYTES = 2 * 1024 * 1024


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def _drop_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value not in (None, "")}


# --- Filters ------------------------------------------------------------------------------------
class FilterForm(forms.Form):
    """A filter form never fails the page: fields with bad values are just left out."""

    def filters(self) -> dict[str, Any]:
        if not self.is_bound:
            return {}
        self.is_valid()
        data = {}
        for name, value in self.cleaned_data.items():
            data[name] = value.pk if hasattr(value, "pk") else value
        return _drop_empty(data)


class DealFilterForm(FilterForm):
    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    status = forms.ChoiceField(
        required=False, label=_("Status"), choices=[("", _("Any status")), *DealStatus.choices]
    )
    stage = forms.ChoiceField(
        required=False, label=_("Stage"), choices=[("", _("Any stage")), *DealStage.choices]
    )


class _DateRangeMixin:
    def clean(self) -> dict[str, Any]:
        data = super().clean()  # type: ignore[misc]
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("The end date is before the start date."))  # type: ignore[attr-defined]
        return data


class _PartnerFilterForm(FilterForm):
    # A text box with suggestions, not a drop-down of every partner (partners.forms).
    partner = PartnerChoiceField(required=False, label=_("Partner"))
    tier = forms.ModelChoiceField(
        required=False,
        # What the options show (Tier.__str__, Product.__str__), not every column of each row.
        queryset=Tier.objects.order_by("rank").only("name"),
        empty_label=_("Any tier"),
        label=_("Tier"),
    )
    region = forms.ChoiceField(
        required=False, choices=[("", _("Any region")), *Region.choices], label=_("Region")
    )
    product = forms.ModelChoiceField(
        required=False,
        queryset=Product.objects.only("name", "sku"),
        empty_label=_("Any product"),
        label=_("Product"),
    )

    def __init__(self, *args: Any, partners: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self, attrs: dict | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m")


class MonthField(forms.DateField):
    """A month as ``YYYY-MM`` (an ``<input type="month">``), cleaned to its first day."""

    widget = MonthInput
    input_formats = ["%Y-%m", "%Y-%m-%d"]

    def to_python(self, value: Any) -> Any:
        day = super().to_python(value)
        return day.replace(day=1) if day else day


class PipelineFilterForm(_PartnerFilterForm):
    """The pipeline's filters. Whole months: the pipeline's figures are kept by month of
    registration (deals.rollup), so they answer for months, not days."""

    month_from = MonthField(required=False, label=_("Registered from (month)"))
    month_to = MonthField(required=False, label=_("Registered until (month)"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("month_from"), data.get("month_to")
        if start and end and start > end:
            self.add_error("month_to", _("The end month is before the start month."))
        return data

    def list_querystring(self) -> str:
        """These filters as the deal list takes them (its dates are days)."""
        filters = self.filters()
        params = {name: filters[name] for name in ("partner", "tier", "region", "product") if name in filters}
        if filters.get("month_from"):
            params["created_from"] = filters["month_from"].isoformat()
        if filters.get("month_to"):
            last = (filters["month_to"] + timedelta(days=31)).replace(day=1) - timedelta(days=1)
            params["created_to"] = last.isoformat()
        return urlencode(params)


class VendorDealFilterForm(_DateRangeMixin, _PartnerFilterForm):
    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    # Drafts are the partner's work in progress: the vendor never sees them (deals.policies).
    status = forms.ChoiceField(
        required=False,
        label=_("Status"),
        choices=[("", _("Any status")), *[c for c in DealStatus.choices if c[0] != DealStatus.DRAFT]],
    )
    stage = forms.ChoiceField(
        required=False, label=_("Stage"), choices=[("", _("Any stage")), *DealStage.choices]
    )
    created_from = forms.DateField(required=False, widget=DateInput(), label=_("Registered from"))
    created_to = forms.DateField(required=False, widget=DateInput(), label=_("Registered until"))


class ReviewQueueFilterForm(FilterForm):
    q = forms.CharField(required=False, max_length=200, label=_("Search"))
    # A text box with suggestions, not a drop-down of every partner (partners.forms).
    partner = PartnerChoiceField(required=False, label=_("Partner"))

    def __init__(self, *args: Any, partners: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners


class LeadFilterForm(FilterForm):
    status = forms.ChoiceField(
        required=False, label=_("Status"), choices=[("", _("Any status")), *LeadStatus.choices]
    )


# --- Deal registration --------------------------------------------------------------------------
class DealForm(forms.ModelForm):
    customer_domain = DomainField(
        label=_("Customer website domain"),
        max_length=253,
        required=False,
    )
    # Generated when the form is shown: a double-clicked save or submit creates one deal.
    submission_key = forms.UUIDField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Deal
        fields = list(CUSTOMER_FIELDS)
        widgets = {
            "expected_close_date": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["customer_name"].required = True
        self.fields["stage"].choices = OPEN_STAGE_CHOICES
        self.fields["customer_domain"].widget.attrs.update(
            {"placeholder": "customer.com", "autocomplete": "off"}
        )
        self.fields["contact_email"].widget.attrs.setdefault("autocomplete", "off")

    def customer_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in CUSTOMER_FIELDS}


class DealLineForm(forms.Form):
    # Short messages: they show in narrow table cells.
    product = forms.ModelChoiceField(
        queryset=Product.objects.filter(active=True),
        empty_label=_("Choose a product…"),
        label=_("Product"),
        error_messages={
            "required": _("Choose a product."),
            "invalid_choice": _("Choose an active product."),
        },
    )
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        max_value=1_000_000,
        initial=1,
        error_messages={
            "required": _("Required."),
            "invalid": _("A whole number."),
            "min_value": _("At least 1."),
            "max_value": _("Too many."),
        },
    )
    unit_price = forms.DecimalField(
        label=_("Unit price"),
        min_value=Decimal("0"),
        max_digits=14,
        decimal_places=2,
        error_messages={
            "required": _("Enter a price."),
            "invalid": _("Enter a number."),
            "min_value": _("Cannot be negative."),
            "max_digits": _("Too large."),
            "max_whole_digits": _("Too large."),
            "max_decimal_places": _("At most 2 decimals."),
        },
    )

    def has_changed(self) -> bool:
        # A row without product and price is an unused row, whatever its quantity says.
        return any(
            str(self.data.get(self.add_prefix(name), "")).strip() for name in ("product", "unit_price")
        )


class BaseDealLineFormSet(forms.BaseFormSet):
    """Every row is an optional "extra" row: blank rows are ignored, so the page works without
    JavaScript (three blank rows) and with rows added by htmx."""

    def initial_form_count(self) -> int:
        return 0

    def clean(self) -> None:
        if any(self.errors):
            return
        total = sum(
            (form.cleaned_data["quantity"] * form.cleaned_data["unit_price"] for form in self.filled_forms()),
            Decimal("0"),
        )
        if total >= MAX_DEAL_TOTAL:
            raise forms.ValidationError(_("The deal's total is too large. Check the quantities and prices."))

    def filled_forms(self) -> list[DealLineForm]:
        return [form for form in self.forms if form.cleaned_data]

    def line_inputs(self) -> list[LineInput]:
        return [
            LineInput(
                product_id=form.cleaned_data["product"].pk,
                quantity=form.cleaned_data["quantity"],
                unit_price=form.cleaned_data["unit_price"],
            )
            for form in self.filled_forms()
        ]


DealLineFormSet = forms.formset_factory(
    DealLineForm,
    formset=BaseDealLineFormSet,
    extra=3,
    max_num=MAX_LINES,
    absolute_max=MAX_LINES,
    validate_max=True,
)
LINES_PREFIX = "lines"


def line_formset(data: Any = None, *, initial: list[dict[str, Any]] | None = None) -> BaseDealLineFormSet:
    """The product-line formset: bound to POST data, or showing ``initial`` lines plus blank rows
    (at least three rows in all)."""
    if data is not None:
        return DealLineFormSet(data, prefix=LINES_PREFIX)
    initial = initial or []
    formset = DealLineFormSet(initial=initial or None, prefix=LINES_PREFIX)
    formset.extra = len(initial) + max(1, 3 - len(initial))
    return formset


def line_form(index: int) -> DealLineForm:
    """One blank row of the formset, for htmx's "Add line"."""
    return DealLineForm(prefix=f"{LINES_PREFIX}-{index}", empty_permitted=True, use_required_attribute=False)


# --- Deal actions -------------------------------------------------------------------------------
class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, strip=True
    )


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False
    )


class ExtensionRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you need more time?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class StageForm(forms.Form):
    stage = forms.ChoiceField(label=_("Stage"), choices=OPEN_STAGE_CHOICES)


class MarkWonForm(forms.Form):
    won_amount = forms.DecimalField(
        label=_("Won amount"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2
    )
    closed_on = forms.DateField(label=_("Closed on"), widget=DateInput())

    def __init__(self, *args: Any, deal: Deal | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deal = deal

    def clean_won_amount(self) -> Any:
        # The same hard bound the service enforces, as a message on the field.
        won_amount = self.cleaned_data["won_amount"]
        if self.deal is not None and won_amount > won_amount_limit(self.deal):
            raise forms.ValidationError(
                _(
                    "At most %(multiple)s times the registered amount, %(limit)s %(currency)s. "
                    "Check the figure; register additional business as a new deal."
                )
                % {
                    "multiple": settings.PRM["WON_AMOUNT_MAX_MULTIPLE"],
                    "limit": f"{won_amount_limit(self.deal):,}",
                    "currency": self.deal.currency,
                }
            )
        return won_amount

    def clean_closed_on(self) -> Any:
        closed_on = self.cleaned_data["closed_on"]
        if closed_on > timezone.localdate():
            raise forms.ValidationError(_("The close date cannot be in the future."))
        return closed_on


class ConfirmWonForm(MarkWonForm):
    """The vendor confirms a reported win, as reported or corrected."""

    note = forms.CharField(label=_("Note to the partner"), max_length=2000, required=False)


class MarkLostForm(forms.Form):
    reason = forms.CharField(
        label=_("Why was it lost?"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )
    closed_on = forms.DateField(label=_("Closed on"), widget=DateInput(), required=False)

    def clean_closed_on(self) -> Any:
        closed_on = self.cleaned_data.get("closed_on")
        if closed_on and closed_on > timezone.localdate():
            raise forms.ValidationError(_("The close date cannot be in the future."))
        return closed_on


class ConflictResolveForm(forms.Form):
    resolution = forms.ChoiceField(
        choices=[
            (ConflictResolution.DISMISSED, ConflictResolution.DISMISSED.label),
            (ConflictResolution.UPHELD, ConflictResolution.UPHELD.label),
        ]
    )


class ExtensionDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


# --- Leads --------------------------------------------------------------------------------------
class LeadForm(forms.ModelForm):
    domain = DomainField(label=_("Website domain"), max_length=253, required=False)
    estimated_value = forms.DecimalField(
        label=_("Estimated value"), required=False, min_value=Decimal("0"), max_digits=14, decimal_places=2
    )

    class Meta:
        model = Lead
        fields = list(LEAD_FIELDS)
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domain"].widget.attrs["placeholder"] = "customer.com"

    def lead_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in LEAD_FIELDS}


class LeadImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, at most 2 MB."))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                _("The file is larger than 2 MB. Split it into smaller files and upload them one by one.")
            )
        return upload


class LeadAssignForm(forms.Form):
    partner = PartnerChoiceField(label=_("Partner"), status=PartnerStatus.ACTIVE)

    def __init__(self, *args: Any, partners: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners
