from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from partners.models import PartnerListing, Region
from prm.widgets import country_choices

from .selectors import FilterChoices


def _with_blank(choices: list[tuple[Any, str]], label: str) -> list[tuple[Any, str]]:
    return [("", label), *[(str(value), name) for value, name in choices]]


class DirectoryFilterForm(forms.Form):
    """The public directory's filters (GET). A value that is not among the choices is a form error
    the page shows, never a failed query."""

    region = forms.ChoiceField(label=_("Region"), required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    tier = forms.TypedChoiceField(label=_("Partner tier"), required=False, coerce=int, empty_value=None)
    certification = forms.TypedChoiceField(
        label=_("Certification"), required=False, coerce=int, empty_value=None
    )
    product_line = forms.ChoiceField(label=_("Authorized for"), required=False)

    def __init__(self, *args: Any, choices: FilterChoices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = _with_blank(Region.choices, _("Any region"))
        self.fields["country"].choices = [("", _("Any country")), *[c for c in country_choices() if c[0]]]
        self.fields["tier"].choices = _with_blank(choices.tiers, _("Any tier"))
        self.fields["certification"].choices = _with_blank(choices.certifications, _("Any certification"))
        self.fields["product_line"].choices = _with_blank(choices.product_lines, _("Any product line"))
        if not choices.certifications:
            del self.fields["certification"]
        if not choices.product_lines:
            del self.fields["product_line"]


class ContactForm(forms.Form):
    """A customer's enquiry to one listed partner."""

    contact_name = forms.CharField(label=_("Your name"), max_length=150)
    company_name = forms.CharField(label=_("Your company"), max_length=200)
    contact_email = forms.EmailField(label=_("Your e-mail"), max_length=254)
    country = forms.ChoiceField(label=_("Your country"), required=False)
    description = forms.CharField(
        label=_("How can they help?"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Your project, the products you are interested in, and when you need them."),
    )
    # Spam trap: people never see it (hidden by CSS and aria), bots fill it in.
    homepage = forms.CharField(required=False, label=_("Leave this empty"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = country_choices()

    def is_spam(self) -> bool:
        return bool(self.data.get("homepage"))


class ListingForm(forms.Form):
    published = forms.BooleanField(
        label=_("List us in the public partner locator"),
        help_text=PartnerListing._meta.get_field("published").help_text,
        required=False,
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=PartnerListing._meta.get_field("description").max_length,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What you do, for whom, and what sets you apart. Shown to the public."),
    )
    regions = forms.MultipleChoiceField(
        label=_("Regions served"),
        required=False,
        choices=Region.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Besides your own region."),
    )
    countries = forms.MultipleChoiceField(
        label=_("Countries served"),
        required=False,
        help_text=_("Besides your own country. Hold Ctrl (⌘ on a Mac) to choose several."),
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    logo = forms.FileField(label=_("Logo (PNG, JPEG, WebP or GIF)"), required=False)
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["countries"].choices = [c for c in country_choices() if c[0]]
