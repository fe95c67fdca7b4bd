"""Input validation only; writes happen in services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from prm.domains import DOMAIN_RE, normalise_domain
from prm.roles import VendorRole
from prm.widgets import Select, country_choices

from .models import (
    Partner,
    PartnerApplication,
    PartnerRole,
    PartnerStatus,
    PartnerType,
    ProfileChangeRequest,
    Region,
    Tier,
)


class DomainField(forms.CharField):
    default_error_messages = {"invalid": _("Enter a website domain such as example.com.")}

    def clean(self, value: str) -> str:
        value = normalise_domain(super().clean(value))
        if value and not DOMAIN_RE.match(value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return value


class PartnerApplicationForm(forms.ModelForm):
    website_domain = DomainField(label=_("Company website"), max_length=300)
    # Spam trap: people never see it (hidden by CSS and aria), bots fill it in.
    homepage = forms.CharField(required=False, label=_("Leave this empty"))
    accept_terms = forms.BooleanField(label=_("I may be contacted about this application"), required=True)

    class Meta:
        model = PartnerApplication
        fields = [
            "company_name",
            "partner_type",
            "country",
            "region",
            "website_domain",
            "contact_name",
            "contact_email",
            "contact_phone",
            "employee_count",
            "message",
        ]
        widgets = {"message": forms.Textarea(attrs={"rows": 4})}

    def clean_contact_email(self) -> str:
        return self.cleaned_data["contact_email"].strip().lower()

    def is_spam(self) -> bool:
        return bool(self.data.get("homepage"))


class CompanyProfileForm(forms.ModelForm):
    website_domain = DomainField(label=_("Website domain"), max_length=300, required=False)

    class Meta:
        model = Partner
        # Type, country and region are vendor-controlled: a partner asks (ProfileChangeForm).
        fields = ["legal_name", "website_domain", "phone", "contact_email"]


class ProfileChangeForm(forms.ModelForm):
    class Meta:
        model = ProfileChangeRequest
        fields = ["partner_type", "country", "region", "message"]
        labels = {"message": _("Why the change?")}
        # Rendered on every view of the company page: the 250 countries through Django's widget
        # templates were most of that page's time (prm.widgets).
        widgets = {
            "message": forms.Textarea(attrs={"rows": 3, "maxlength": 2000}),
            "partner_type": Select,
            "country": Select,
            "region": Select,
        }
        help_texts = {
            "message": _("For example: we now distribute as well as resell, or we moved our headquarters.")
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The countries translated and sorted once per language, not on every page view.
        self.fields["country"].choices = country_choices()


class LogoForm(forms.Form):
    logo = forms.FileField(label=_("Logo (PNG, JPEG, WebP or GIF)"))


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    role = forms.ChoiceField(label=_("Role"), choices=PartnerRole.choices, initial=PartnerRole.SALES)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=PartnerRole.choices)


class InvitationAcceptForm(forms.Form):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    password1 = forms.CharField(label=_("Choose a password"), widget=forms.PasswordInput, min_length=10)
    password2 = forms.CharField(label=_("Repeat the password"), widget=forms.PasswordInput)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class PartnerFilterForm(forms.Form):
    # The selects written by prm.widgets.Select: through Django's widget templates, an include
    # and a dict per option, they were a third of the vendor partner list's rendering.
    q = forms.CharField(required=False, label=_("Search"))
    status = forms.ChoiceField(
        required=False, choices=[("", _("Any status")), *PartnerStatus.choices], widget=Select
    )
    partner_type = forms.ChoiceField(
        required=False, choices=[("", _("Any type")), *PartnerType.choices], widget=Select
    )
    region = forms.ChoiceField(
        required=False, choices=[("", _("Any region")), *Region.choices], widget=Select
    )
    tier = forms.ModelChoiceField(
        required=False, queryset=Tier.objects.all(), empty_label=_("Any tier"), widget=Select
    )
    channel_account_manager = forms.ModelChoiceField(
        required=False,
        # The option's label is the person's name or e-mail (User.__str__): not their whole row.
        queryset=get_user_model()
        .objects.filter(vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER, is_active=True)
        .only("pk", "full_name", "email"),
        empty_label=_("Any manager"),
        widget=Select,
    )

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = dict(self.cleaned_data)
        data["tier"] = data["tier"].pk if data.get("tier") else None
        cam = data.get("channel_account_manager")
        data["channel_account_manager"] = cam.pk if cam else None
        return data


class StatusChangeForm(forms.Form):
    ACTIONS = [
        ("onboarding", _("Start onboarding")),
        ("activate", _("Activate")),
        ("suspend", _("Suspend")),
        ("reinstate", _("Reinstate")),
        ("terminate", _("Terminate")),
    ]
    action = forms.ChoiceField(choices=ACTIONS)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class ChannelManagerForm(forms.Form):
    channel_account_manager = forms.ModelChoiceField(
        required=False,
        queryset=get_user_model().objects.filter(
            vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER, is_active=True
        ),
        empty_label=_("No manager"),
    )


class PortfolioGrantForm(forms.Form):
    manager = forms.ModelChoiceField(
        label=_("Channel account manager"),
        queryset=get_user_model().objects.filter(
            vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER, is_active=True
        ),
        empty_label=_("Choose a manager"),
    )


class TierForm(forms.Form):
    tier = forms.ModelChoiceField(queryset=Tier.objects.all())
    reason = forms.CharField(required=False, max_length=500)


class PartnerImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, at most 2 MB."))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > 2 * 1024 * 1024:
            raise forms.ValidationError(
                _("The file is larger than 2 MB. Split it into smaller files and upload them one by one.")
            )
        return upload


# --- Choosing one partner among thousands ----------------------------------------------------------
class PartnerChooser(forms.Widget):
    """A text box with suggestions as you type (htmx, from ``vendor:partner_suggest``) instead of a
    drop-down of every partner. The chosen partner's id travels in a hidden input under the field's
    own name (``partner=<id>``, so existing links keep working); what was typed travels as
    ``<name>_name``. Without JavaScript the typed name is resolved when the form is submitted."""

    template_name = "partners/widgets/partner_chooser.html"
    TEXT_SUFFIX = "_name"

    def __init__(self, attrs: dict | None = None, *, status: str = "") -> None:
        super().__init__(attrs)
        self.status = status
        self.field: PartnerChoiceField | None = None

    def value_from_datadict(self, data: Any, files: Any, name: str) -> tuple[str, str | None]:
        return (data.get(name) or "", data.get(name + self.TEXT_SUFFIX))

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and name + self.TEXT_SUFFIX not in data

    def get_context(self, name: str, value: Any, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        pk, text = self.field.display(value) if self.field is not None else ("", "")
        widget = context["widget"]
        input_id = widget["attrs"].get("id") or f"id_{name}"
        widget.update(
            {
                "input_id": input_id,
                "pk": pk,
                "text": text,
                "text_name": name + self.TEXT_SUFFIX,
                "chooser_id": f"{input_id}-chooser",
                "status": self.status,
                "required": widget.get("required", False),
            }
        )
        return context

    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None) -> Any:
        # Jinja2's templates folder (templates/jinja2/), not the form renderer's.
        from django.template import engines
        from django.utils.safestring import mark_safe

        chooser = engines["jinja2"].get_template(self.template_name)
        # Jinja2 autoescaped every value (prm/jinja2.py). It drops the file's last line break,
        # which Django's template kept.
        return mark_safe(chooser.render(self.get_context(name, value, attrs)) + "\n")  # noqa: S308


class PartnerChoiceField(forms.Field):
    """One partner of ``queryset`` (the actor's scope; set by the form), chosen with
    :class:`PartnerChooser`. Accepts the id (a picked suggestion, an old link) or a typed name: an
    exact name, else the one partner whose name contains it; several matches ask the person to pick."""

    widget = PartnerChooser
    default_error_messages = {
        # ModelChoiceField's words, for an id that is not (or no longer) one of the choices.
        "invalid_choice": _("Select a valid choice. That choice is not one of the available choices."),
        "no_match": _("No partner is called “%(name)s”."),
        "ambiguous": _("Several partners match “%(name)s”: pick one from the list."),
    }

    def __init__(self, *, queryset: Any = None, status: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("widget", PartnerChooser(status=status))
        super().__init__(**kwargs)
        self.queryset = queryset
        self.widget.field = self

    def __deepcopy__(self, memo: dict) -> Any:
        result = super().__deepcopy__(memo)
        result.widget.field = result
        return result

    def _by_pk(self, pk: Any) -> Any:
        if not str(pk).isdigit():
            return None
        return self.queryset.filter(pk=int(pk)).first()

    def to_python(self, value: Any) -> Any:
        pk, text = value if isinstance(value, (tuple, list)) else (value, None)
        if text is None:  # an old link, or a form that sends only the id
            if pk in self.empty_values:
                return None
            partner = self._by_pk(pk)
            if partner is None:
                raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
            return partner
        text = text.strip()
        if not text:  # the box was cleared: any partner
            return None
        partner = self._by_pk(pk) if pk else None
        if partner is not None and partner.legal_name.casefold() == text.casefold():
            return partner
        exact = list(self.queryset.filter(legal_name__iexact=text)[:2])
        matches = exact or list(self.queryset.filter(legal_name__icontains=text).order_by("legal_name")[:2])
        if len(matches) == 1:
            return matches[0]
        code = "ambiguous" if matches else "no_match"
        raise forms.ValidationError(self.error_messages[code], code=code, params={"name": text})

    def display(self, value: Any) -> tuple[str, str]:
        """(id, text) to show: the chosen partner's id and name, or what was typed."""
        if value is None or value == "":
            return "", ""
        if hasattr(value, "pk"):
            return str(value.pk), value.legal_name
        pk, text = value if isinstance(value, (tuple, list)) else (value, None)
        if text is not None:
            return (pk or ""), text
        partner = self._by_pk(pk) if pk else None
        return (str(partner.pk), partner.legal_name) if partner is not None else ("", "")
