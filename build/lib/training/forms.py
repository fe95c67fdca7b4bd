"""Input for training: quiz answers from the attempt page, and the admin's authoring forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from partners.models import PartnerRole

from .models import Certification, Course

ANSWER_PREFIX = "q-"
# A quiz has a handful of questions; anything beyond this is not a real submission.
MAX_ANSWER_FIELDS = 500


def parse_answers(data: QueryDict) -> dict[str, list[str]]:
    """``q-<question id>`` fields (radio or checkboxes) as ``{"<question id>": [choice ids]}``.

    The values are passed on as sent: the service checks every id against the attempt and refuses
    anything that does not belong to it (a clear message, never a 500)."""
    answers: dict[str, list[str]] = {}
    for key in list(data.keys())[:MAX_ANSWER_FIELDS]:
        if not key.startswith(ANSWER_PREFIX):
            continue
        values = [value for value in data.getlist(key) if value != ""]
        if values:
            answers[key[len(ANSWER_PREFIX) :]] = values[:MAX_ANSWER_FIELDS]
    return answers


class _RolesField(forms.TypedMultipleChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            choices=PartnerRole.choices,
            widget=forms.CheckboxSelectMultiple,
            label=_("Partner roles"),
            help_text=_("Who sees it in the catalogue."),
            **kwargs,
        )

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return [v for v in value.split(",") if v]
        return value


class CourseAdminForm(forms.ModelForm):
    partner_roles = _RolesField()

    class Meta:
        model = Course
        fields = ["title", "slug", "summary", "partner_roles", "estimated_minutes"]


class CertificationAdminForm(forms.ModelForm):
    partner_roles = _RolesField()

    class Meta:
        model = Certification
        fields = ["name", "description", "courses", "validity_months", "partner_roles", "status"]


class AttemptResetForm(forms.Form):
    """The intermediate page of the admin's "reset quiz attempts" action."""

    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        help_text=_(
            "Required. Kept in the audit trail with your name. The learner is told they can try "
            "again, not the reason."
        ),
    )
