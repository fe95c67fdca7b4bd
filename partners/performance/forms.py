"""The scorecard pages' forms: the rankings' filters and a channel account manager's quarterly
rating. They only read input; the rules (who may rate, which quarter, the comment) are the
service's (``services.assessment_check``), whose errors land on these forms' fields."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import PartnerType, Region, Tier
from prm.roles import VendorRole

from .kpis import quarter_start

RATING_CHOICES = [
    (5, _("5 — excellent")),
    (4, _("4 — good")),
    (3, _("3 — as expected")),
    (2, _("2 — below expectations")),
    (1, _("1 — poor")),
]
QUARTERS_OFFERED = 4


class RankingFilterForm(forms.Form):
    tier = forms.ModelChoiceField(
        required=False, queryset=Tier.objects.order_by("rank"), empty_label=_("Any tier")
    )
    region = forms.ChoiceField(required=False, choices=[("", _("Any region")), *Region.choices])
    partner_type = forms.ChoiceField(required=False, choices=[("", _("Any type")), *PartnerType.choices])
    cam = forms.ModelChoiceField(
        label=_("Channel manager"),
        required=False,
        queryset=get_user_model()
        .objects.filter(vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER, is_active=True)
        .order_by("full_name", "email"),
        empty_label=_("Any manager"),
    )

    def filters(self) -> dict[str, Any]:
        """The selector's filters; an invalid choice (a stale link) filters on nothing."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "tier": data["tier"].pk if data.get("tier") else None,
            "region": data.get("region") or None,
            "partner_type": data.get("partner_type") or None,
            "cam": data["cam"].pk if data.get("cam") else None,
        }


def quarter_label(start: date) -> str:
    return f"{start.year} Q{(start.month - 1) // 3 + 1}"


def recent_quarters(today: date | None = None, count: int = QUARTERS_OFFERED) -> list[date]:
    """This quarter and the ones before it, newest first."""
    quarter = quarter_start(today or timezone.localdate())
    quarters = [quarter]
    for _step in range(count - 1):
        quarter = quarter_start(quarter - timedelta(days=1))
        quarters.append(quarter)
    return quarters


class AssessmentForm(forms.Form):
    period_start = forms.TypedChoiceField(label=_("Quarter"), coerce=date.fromisoformat)
    rating = forms.TypedChoiceField(
        label=_("Rating"), coerce=int, choices=RATING_CHOICES, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What went well, what should change. The partner's admins read it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["period_start"].choices = [
            (quarter.isoformat(), quarter_label(quarter)) for quarter in recent_quarters()
        ]
