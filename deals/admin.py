"""Admin for deals and leads. Decisions call the same services as the vendor console, so the admin
and the portal can never disagree; querysets pass through the same scoping path (a channel account
manager sees only the partners in their portfolio)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.forms.models import construct_instance
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partners.admin import ScopedAdminMixin, WholeProgramIndexWalkMixin
from partners.forms import PartnerChoiceField
from partners.models import Partner
from partners.policies import partner_scope_q
from prm.admin import BigTableAdmin, DateRangeFilter, LabelledListEditableMixin, LabelledTabularInline
from prm.admin_actions import confirm_then_run, confirmation_context, run_each
from prm.errors import ApplicationError

from . import authorizations, pricing, selectors, services
from .models import (
    HOLDING_STATUSES,
    AuthorizationRequirement,
    Deal,
    DealLine,
    Lead,
    LeadOffer,
    PartnerAuthorization,
    Product,
)
from .policies import authorization_policy, deal_policy
from .vendor_views import VendorDealListPaginator


@admin.register(Product)
class ProductAdmin(LabelledListEditableMixin, admin.ModelAdmin):
    list_display = ["name", "sku", "product_line", "list_price", "currency", "active"]
    list_filter = ["product_line", "active"]
    search_fields = ["name", "sku", "product_line"]
    list_editable = ["active"]
    ordering = ["product_line", "name"]


class DealLineInline(LabelledTabularInline):
    model = DealLine
    extra = 0
    fields = ["product", "quantity", "unit_price", "list_price", "amount", "price_check"]
    readonly_fields = fields
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("product", "deal")

    @admin.display(description=_("list price"))
    def list_price(self, line: DealLine) -> str:
        return f"{line.product.list_price:,} {line.product.currency}"

    # Deals are reviewed here too: the same warning the review page shows (deals.pricing).
    @admin.display(description=_("price check"))
    def price_check(self, line: DealLine) -> str:
        return pricing.line_price_warnings([line], deal_currency=line.deal.currency).get(line.pk, "")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the partner sees it)"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
    )


@admin.register(Deal)
class DealAdmin(WholeProgramIndexWalkMixin, ScopedAdminMixin, BigTableAdmin):
    partner_field = "partner"
    list_display = [
        "reference",
        "partner",
        "customer_name",
        "amount",
        "currency",
        "status",
        "conflict_status",
        "submitted_at",
    ]
    list_filter = [
        "status",
        "conflict_status",
        "partner__tier",
        "partner__region",
        ("created_at", DateRangeFilter),
    ]
    search_fields = ["reference", "customer_name", "customer_domain"]
    list_select_related = ["partner", "partner__tier"]
    inlines = [DealLineInline]
    # A page's ids from the (created_at, id) index first, then those rows with their partner and
    # tier (prm.views.KeysFirstPaginator): row-level security hides the row counts from the
    # planner, which joined every deal before sorting (20 s at a million deals). Without JIT or
    # parallel workers for those statements, as the vendor's list (deals.vendor_views).
    paginator = VendorDealListPaginator
    actions = ["approve_selected", "reject_selected", "confirm_won_selected", "reject_won_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The portal's own rule (deal_policy) in place of the mixin's portfolio subquery: partners'
        # drafts are not the vendor's to see, and a channel account manager's portfolio is read by
        # its resolved ids, which the planner can count (see DealPolicy.visible).
        return deal_policy.scope(request.actor, BigTableAdmin.get_queryset(self, request))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # The vendor list's indexed search (reference, domain, customer name): the default
        # icontains over search_fields reads every one of a million deals.
        term = search_term.strip()
        if not term:
            return queryset, False
        actor = getattr(request, "actor", None)
        narrow = actor is not None and selectors.narrows_by_ids(actor)
        return queryset.filter(selectors.vendor_search(term, narrow=narrow)), False

    # Every change is a state transition made through a service (audited); the admin shows the
    # registration read-only.
    fieldsets = [
        (None, {"fields": ["reference", "partner", "registered_by", "status", "conflict_status"]}),
        (
            _("Customer"),
            {
                "fields": [
                    "customer_name",
                    "customer_domain",
                    "customer_country",
                    "customer_region",
                    "contact_name",
                    "contact_email",
                    "contact_phone",
                ]
            },
        ),
        (
            _("Opportunity"),
            {"fields": ["title", "stage", "expected_close_date", "amount", "currency", "notes"]},
        ),
        (
            _("Review"),
            {
                "fields": [
                    "submitted_at",
                    "review_due_at",
                    "reviewed_by",
                    "reviewed_at",
                    "decision_reason",
                    "approved_at",
                    "protected_until",  # none once won or lost (Deal.protected_until)
                    "discount_percent",
                    "extensions_used",
                ]
            },
        ),
        (
            _("Outcome"),
            {
                "fields": [
                    "won_amount",
                    "closed_on",
                    "lost_reason",
                    "won_claimed_at",
                    "won_checks",
                    "won_reviewed_by",
                    "won_reviewed_at",
                    "won_review_reason",
                ]
            },
        ),
        (_("Timestamps"), {"fields": ["created_at", "updated_at"]}),
    ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # partners register deals in the portal

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # registrations are history; they end by rejection, loss or expiry

    @admin.action(description=_("Approve selected deals"))
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda actor, deal: services.deal_approve(actor=actor, deal=deal),
            done_message=lambda n: (
                ngettext("%(count)s deal approved.", "%(count)s deals approved.", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Reject selected deals (reason: …)"))
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Asks for the reason on an intermediate page, then rejects each deal through the service."""
        return self._with_reason(
            request,
            queryset,
            action="reject_selected",
            title=_("Reject deals"),
            call=lambda actor, deal, reason: services.deal_reject(actor=actor, deal=deal, reason=reason),
            done=lambda n: (
                ngettext("%(count)s deal rejected.", "%(count)s deals rejected.", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Confirm the reported wins of the selected deals, as reported"))
    def confirm_won_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        # Corrections of the amount or close date are made on the vendor review page.
        run_each(
            self,
            request,
            queryset,
            lambda actor, deal: services.deal_confirm_won(actor=actor, deal=deal),
            done_message=lambda n: (
                ngettext("%(count)s win confirmed.", "%(count)s wins confirmed.", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Turn down the reported wins of the selected deals (reason: …)"))
    def reject_won_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._with_reason(
            request,
            queryset,
            action="reject_won_selected",
            title=_("Turn down reported wins"),
            intro=_(
                "The wins reported on these deals will be turned down; nothing accrues from them. "
                "The partner is notified and sees the reason:"
            ),
            call=lambda actor, deal, reason: services.deal_reject_won(actor=actor, deal=deal, reason=reason),
            done=lambda n: (
                ngettext("%(count)s win turned down.", "%(count)s wins turned down.", n) % {"count": n}
            ),
        )

    def _with_reason(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        action: str,
        title: str,
        call: Callable[[Any, Any, str], Any],
        done: Callable[[int], str],
        intro: str = "",
    ) -> HttpResponse | None:
        """Asks for the reason on an intermediate page, then calls the service for each deal."""
        return confirm_then_run(
            request,
            form=RejectForm,
            submit_name="apply",
            run=lambda form: run_each(
                self,
                request,
                queryset,
                lambda actor, deal: call(actor, deal, form.cleaned_data["reason"]),
                done_message=done,
            ),
            page=lambda form: TemplateResponse(
                request,
                "deals/admin/reject_reason.html",
                confirmation_context(
                    self, request, title=title, action=action, form=form, intro=intro, deals=queryset
                ),
            ),
        )


class LeadOfferInline(LabelledTabularInline):
    model = LeadOffer
    extra = 0
    fields = ["partner", "offered_at", "respond_by", "outcome", "responded_by", "responded_at", "reason"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Lead)
class LeadAdmin(ScopedAdminMixin, BigTableAdmin):
    # A channel account manager sees the leads of their portfolio's partners.
    partner_field = "assigned_partner"
    list_display = [
        "company_name",
        "region",
        "country",
        "status",
        "assigned_partner",
        "respond_by",
        "estimated_value",
        "currency",
        "created_at",
    ]
    list_filter = ["status", "source", "region", ("created_at", DateRangeFilter)]
    search_fields = ["company_name", "domain", "contact_email"]
    list_select_related = ["assigned_partner", "deal"]
    inlines = [LeadOfferInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # Offers, answers and reassignment go through deals.leads (audited and notified).
        return [field.name for field in Lead._meta.fields if not field.generated]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # leads are added and imported in the vendor console (audited)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- product authorizations (deals.authorizations) -------------------------------------------------
def _product_lines() -> list[tuple[str, str]]:
    lines = Product.objects.order_by("product_line").values_list("product_line", flat=True).distinct()
    return [(line, line) for line in lines]


def _certifications() -> list[tuple[Any, str]]:
    return [("", _("— none —")), *authorizations.certification_choices()]


class AuthorizationRequirementForm(forms.ModelForm):
    # The catalogue's product lines, and the certifications training offers (through the
    # registry, deals.authorizations): read when the form is built.
    product_line = forms.ChoiceField(label=_("product line"), choices=_product_lines)
    certification_id = forms.TypedChoiceField(
        label=_("certification"), choices=_certifications, coerce=int, empty_value=None, required=False
    )

    class Meta:
        model = AuthorizationRequirement
        fields = [
            "product_line",
            "description",
            "min_tier",
            "certification_id",
            "certified_people",
            "warning_days",
            "active",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        certification, people = data.get("certification_id"), data.get("certified_people") or 0
        if certification is not None and people < 1:
            self.add_error("certified_people", _("How many people must hold the certification? At least 1."))
        if certification is None and people:
            self.add_error("certification_id", _("Choose the certification the people must hold."))
        return data


@admin.register(AuthorizationRequirement)
class AuthorizationRequirementAdmin(admin.ModelAdmin):
    """Program admins say which product lines need an authorization and the rule that grants it;
    channel account managers read them. Changes are audited (deals.authorizations)."""

    form = AuthorizationRequirementForm
    list_display = [
        "product_line",
        "min_tier",
        "certification",
        "certified_people",
        "warning_days",
        "active",
        "authorized",
    ]
    list_filter = ["active", "min_tier"]
    list_select_related = ["min_tier"]
    actions = ["evaluate_now"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        held = Q(authorizations__status__in=HOLDING_STATUSES)
        return super().get_queryset(request).annotate(authorized_count=Count("authorizations", filter=held))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._names = dict(authorizations.certification_choices())  # one query for the page
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("certification"))
    def certification(self, obj: AuthorizationRequirement) -> str:
        if obj.certification_id is None:
            return "—"
        names = getattr(self, "_names", None) or dict(authorizations.certification_choices())
        return names.get(obj.certification_id, _("(no longer offered)"))

    @admin.display(description=_("partners authorized"), ordering="authorized_count")
    def authorized(self, obj: AuthorizationRequirement) -> int:
        return obj.authorized_count

    def save_model(
        self, request: HttpRequest, obj: AuthorizationRequirement, form: Any, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        authorizations.requirement_saved(actor=request.actor, requirement=obj, created=not change)

    @admin.action(description=_("Re-evaluate every partner now"), permissions=["change"])
    def evaluate_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        # The nightly run, on demand (every rule: one set-based pass costs the same as one rule).
        done = authorizations.evaluate()
        self.message_user(
            request,
            _("Authorizations re-evaluated: %(granted)s granted, %(renewed)s renewed, %(warned)s warned, "
              "%(lapsed)s lapsed.") % vars(done),
        )  # fmt: skip


class AuthorizationGrantForm(forms.ModelForm):
    """Granting by hand (the admin's add page): a partner of the actor's scope, typed to search."""

    actor: Any  # set by the admin's get_form
    partner = PartnerChoiceField(label=_("partner"))
    valid_until = forms.DateField(
        label=_("valid until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: until revoked."),
    )
    reason = forms.CharField(
        label=_("reason (the partner sees it)"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    class Meta:
        model = PartnerAuthorization
        fields = ["partner", "requirement", "reason"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "partner" in self.fields:  # not on a grant's change page: the partner is read-only there
            self.fields["partner"].queryset = Partner.objects.filter(partner_scope_q(self.actor, "pk"))

    def clean_valid_until(self) -> Any:
        day = self.cleaned_data.get("valid_until")
        if day is None:
            return None
        if day <= timezone.localdate():
            raise forms.ValidationError(_("Choose a day after today."))
        # The end of that day, in the vendor's time zone.
        return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        partner = data.get("partner")
        if partner is not None and not authorization_policy.can(self.actor, "grant", partner):
            self.add_error("partner", _("You cannot grant authorizations to this partner."))
        return data

    def _post_clean(self) -> None:
        # No model validation (the row's uniqueness): the service grants on the partner's row for
        # the line, a new one or one that lapsed or was revoked.
        self.instance = construct_instance(self, self.instance, self._meta.fields, self._meta.exclude)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (the partner sees it)"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
    )


@admin.register(PartnerAuthorization)
class PartnerAuthorizationAdmin(ScopedAdminMixin, BigTableAdmin):
    """Partners' authorizations: granted by hand (the add page) and revoked (an action) by a
    program admin or the partner's channel account manager, through the services; grants by rule,
    warnings and lapses are the nightly run's. Rows are never edited or deleted here."""

    partner_field = "partner"
    form = AuthorizationGrantForm
    list_display = ["partner", "requirement", "status", "source", "valid_until", "granted_at", "granted_by"]
    list_filter = ["status", "source", "requirement"]
    search_fields = ["partner__legal_name"]
    list_select_related = ["partner", "requirement", "granted_by"]
    readonly_fields = [
        "partner",
        "requirement",
        "status",
        "source",
        "granted_at",
        "granted_by",
        "valid_until",
        "warned_at",
        "ended_at",
        "reason",
    ]
    actions = ["revoke_selected"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.actor
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return list(self.readonly_fields) if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is not None:
            return list(self.readonly_fields)
        return ["partner", "requirement", "valid_until", "reason"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an authorization ends by lapse or revocation; its history stays

    def save_model(self, request: HttpRequest, obj: PartnerAuthorization, form: Any, change: bool) -> None:
        try:
            saved = authorizations.authorization_grant(
                actor=request.actor,
                partner=form.cleaned_data["partner"],
                requirement=form.cleaned_data["requirement"],
                valid_until=form.cleaned_data.get("valid_until"),
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = saved.pk
        obj._state.adding = False

    @admin.action(description=_("Revoke the selected authorizations (reason: …)"), permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        title = _("Revoke authorizations")
        return confirm_then_run(
            request,
            form=ReasonForm,
            submit_name="apply",
            run=lambda form: run_each(
                self,
                request,
                queryset,
                lambda actor, row: authorizations.authorization_revoke(
                    actor=actor, authorization=row, reason=form.cleaned_data["reason"]
                ),
                done_message=lambda n: (
                    ngettext("%(count)s authorization revoked.", "%(count)s authorizations revoked.", n)
                    % {"count": n}
                ),
            ),
            page=lambda form: TemplateResponse(
                request,
                "deals/admin/authorization_reason.html",
                confirmation_context(
                    self, request, title=title, action="revoke_selected", form=form, rows=queryset
                ),
            ),
        )
