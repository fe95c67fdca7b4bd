"""Input for support cases. The services hold the rules; these forms parse and show errors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.tenancy import Actor

from ..models import CasePriority, CaseStatus
from . import linkables, selectors

ACCEPT = ".pdf,.png,.jpg,.jpeg,.gif,.webp,application/pdf,image/*"


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; cleans to a list (the sizes and types are checked by the
    service, which names the file that is wrong)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        kwargs.setdefault("allow_empty_file", True)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = [item for item in (data if isinstance(data, (list, tuple)) else [data]) if item]
        if not files:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        single_clean = super().clean
        return [single_clean(item, initial) for item in files]


class CaseOpenForm(forms.Form):
    kind = forms.ModelChoiceField(
        label=_("What is it about?"), queryset=selectors.kinds(), empty_label=_("Choose…")
    )
    subject = forms.CharField(label=_("Subject"), max_length=200)
    description = forms.CharField(
        label=_("Description"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What happened, since when, what you expected, and what you already tried."),
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=CasePriority.choices, initial=CasePriority.NORMAL
    )
    related = forms.ChoiceField(label=_("Related to"), required=False)
    files = MultipleFileField(
        label=_("Attachments"), required=False, help_text=_("PDF documents or images (screenshots, photos).")
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["related"].choices = [("", _("Nothing in particular")), *linkables.choices_for(actor)]


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Message"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 4}))
    internal = forms.BooleanField(
        label=_("Internal note (never shown to the partner)"),
        required=False,
    )
    files = MultipleFileField(label=_("Attachments"), required=False)


class FilesForm(forms.Form):
    files = MultipleFileField(label=_("Files"))


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How well was your problem solved?"),
        choices=[(n, str(n)) for n in range(5, 0, -1)],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ResolveForm(forms.Form):
    body = forms.CharField(
        label=_("Resolution summary (sent to the partner)"),
        required=False,
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("Why reopen it?"), max_length=2000)


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(label=_("Priority"), choices=CasePriority.choices)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label=_("Person"), queryset=selectors.assignable_people(), required=False, empty_label=_("Nobody")
    )
    team = forms.ModelChoiceField(
        label=_("Team"), queryset=selectors.teams(), required=False, empty_label=_("No team")
    )


class QueueFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("open", _("Open")), *CaseStatus.choices, ("all", _("Every status"))],
    )
    kind = forms.ModelChoiceField(
        label=_("Kind"),
        queryset=selectors.kinds(active_only=False),
        required=False,
        empty_label=_("Every kind"),
    )
    priority = forms.ChoiceField(
        label=_("Priority"), required=False, choices=[("", _("Every priority")), *CasePriority.choices]
    )
    assigned = forms.ChoiceField(label=_("Assigned"), required=False)
    breached = forms.BooleanField(label=_("SLA breached only"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assigned"].choices = [
            ("", _("Anybody")),
            ("me", _("Me")),
            ("unassigned", _("Nobody")),
            *[(f"team:{team.pk}", team.name) for team in selectors.teams()],
        ]

    def filters(self) -> selectors.QueueFilters:
        if not self.is_valid():
            return selectors.QueueFilters()
        data = self.cleaned_data
        return selectors.QueueFilters(
            status=data.get("status") or "open",
            kind=data["kind"].pk if data.get("kind") else None,
            priority=data.get("priority") or "",
            assigned=data.get("assigned") or "",
            breached=bool(data.get("breached")),
        )


class ReportForm(forms.Form):
    days = forms.TypedChoiceField(
        label=_("Opened in the last"),
        required=False,
        coerce=int,
        choices=[(30, _("30 days")), (90, _("90 days")), (365, _("12 months"))],
        initial=90,
    )

    def days_value(self) -> int:
        return (self.cleaned_data.get("days") or 90) if self.is_valid() else 90
