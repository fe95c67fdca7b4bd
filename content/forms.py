"""The admin's authoring forms. Validation is the services' (the same rules whoever writes), shown
here as form errors so an author sees them next to the field instead of after saving."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from partners.models import PartnerType, Region
from prm.errors import ApplicationError, add_form_error

from . import services
from .models import Announcement, Asset, AssetKind
from .uploads import validate_asset_file


class _ChoicesArrayField(forms.TypedMultipleChoiceField):
    """An ArrayField of choices as checkboxes; none ticked means "everybody"."""

    def __init__(self, *, choices: Any, label: str, **kwargs: Any) -> None:
        kwargs.pop("max_length", None)
        kwargs.pop("base_field", None)
        super().__init__(
            choices=choices,
            widget=forms.CheckboxSelectMultiple,
            label=label,
            required=False,
            help_text=_("Leave all unticked for everybody."),
            **kwargs,
        )

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return [v for v in value.split(",") if v]
        return value


class AssetAdminForm(forms.ModelForm):
    partner_types = _ChoicesArrayField(choices=PartnerType.choices, label=_("Partner types"))
    regions = _ChoicesArrayField(choices=Region.choices, label=_("Regions"))
    url = forms.URLField(
        label=_("Link"), required=False, max_length=500, assume_scheme="https", help_text=_("For links only.")
    )
    upload = forms.FileField(
        label=_("Upload a new version"),
        required=False,
        help_text=_("PDF, PNG, JPEG, PPTX, DOCX, XLSX or MP4. It becomes the version partners download."),
    )

    class Meta:
        model = Asset
        fields = [
            "title",
            "description",
            "category",
            "tags",
            "kind",
            "url",
            "publish_at",
            "expires_at",
            "tiers",
            "partner_types",
            "regions",
            "cobrandable",
            "cobrand_template",
        ]
        widgets = {"cobrand_template": forms.Textarea(attrs={"rows": 12, "cols": 90})}

    def clean_upload(self) -> Any:
        upload = self.cleaned_data.get("upload")
        if upload:
            try:
                validate_asset_file(upload)
            except ApplicationError as exc:
                raise forms.ValidationError(exc.message) from exc
        return upload

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        self.instance.tags = services.normalise_tags(self.instance.tags)
        if self.cleaned_data.get("upload") and self.instance.kind == AssetKind.LINK:
            self.add_error("upload", _("Links have no file; choose the kind “File” to upload one."))
        try:
            services.check_asset(self.instance)
        except ApplicationError as exc:
            add_form_error(self, exc)


class AnnouncementAdminForm(forms.ModelForm):
    partner_types = _ChoicesArrayField(choices=PartnerType.choices, label=_("Partner types"))
    regions = _ChoicesArrayField(choices=Region.choices, label=_("Regions"))
    link = forms.URLField(label=_("Link"), required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = Announcement
        fields = ["title", "body", "link", "publish_at", "expires_at", "tiers", "partner_types", "regions"]
