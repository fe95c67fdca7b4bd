"""The kernel's own forms: the user's notification settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .notification_kinds import Channel, NotificationKind


class NotificationSettingsForm(forms.Form):
    """One choice per kind the user can receive (its key is the field name), and the digest.
    A mandatory kind's field is disabled: what the browser posts for it is ignored."""

    digest = forms.BooleanField(
        label=_("Send me one summary e-mail a day instead of an e-mail for each notification"),
        help_text=_(
            "Sent every morning at 07:00 (UTC) when something happened; security notices still come at once."
        ),
        required=False,
    )

    def __init__(
        self, *args: Any, kinds: list[NotificationKind], channels: dict[str, str], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.kinds = kinds
        for entry in kinds:
            self.fields[entry.key] = forms.ChoiceField(
                label=entry.label,
                help_text=entry.description,
                choices=Channel.choices,
                initial=channels.get(entry.key, entry.default),
                disabled=entry.mandatory,
                # A kind left out of the post keeps what the user had (a kind added since the page
                # was loaded is not reset).
                required=False,
                widget=forms.RadioSelect(attrs={"class": "btn-check"}),
            )

    def channels(self) -> dict[str, str]:
        """The choices posted for the kinds that may be changed."""
        return {
            entry.key: self.cleaned_data[entry.key]
            for entry in self.kinds
            if not entry.mandatory and self.cleaned_data.get(entry.key)
        }

    def groups(self) -> list[tuple[Any, list[tuple[NotificationKind, forms.BoundField]]]]:
        """The kinds by group, in the order the apps registered them, for the page."""
        grouped: dict[str, tuple[Any, list[tuple[NotificationKind, forms.BoundField]]]] = {}
        for entry in self.kinds:
            grouped.setdefault(str(entry.group), (entry.group, []))[1].append((entry, self[entry.key]))
        return list(grouped.values())


class LanguageForm(forms.Form):
    """The language the portal, its e-mails and PDFs speak to the user."""

    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("The language of my browser")), *settings.LANGUAGES],
        required=False,
        help_text=_("Pages, e-mails, notifications and PDFs made for you use this language."),
    )
