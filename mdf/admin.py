"""Admin for market development funds: where vendor staff decide.

Channel account managers approve, return and reject fund requests (their portfolio only, up to
their approval limit); finance approves claims and marks payouts paid; program admins set up
periods, budgets, allocations and approval limits.

Every decision calls the same service as every other entry point (``mdf.services``), one object at
a time in its own savepoint, and every refusal (``ApplicationError``) is reported per object. The
admin never edits a request, claim or ledger row itself: those forms are read-only. Decisions ask
for amounts and reasons on an intermediate page, reached from the list (bulk actions) or from the
buttons on an object's page (the same page for that one object).

List pages run a constant number of queries: ledger balances are aggregated in SQL (a correlated
subquery or ``ledger.balance_annotations()``), never per row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from partners.admin import ScopedAdminMixin
from partners.middleware import resolve_actor
from partners.models import Partner, PartnerStatus
from partners.policies import partner_scope_q
from prm import audit
from prm.errors import ApplicationError
from prm.roles import VendorRole

from . import ledger, services
from .models import (
    Allocation,
    ApprovalLimit,
    Budget,
    FundClaim,
    FundPeriod,
    FundRequest,
    LedgerEntry,
    LedgerKind,
    RequestStatus,
)
from .policies import allocation_policy

ZERO = Decimal("0.00")
_DEC = DecimalField(max_digits=16, decimal_places=2)
EMPTY = "—"

# --- Display helpers ------------------------------------------------------------------------------
# (background, text) per status; readable in the admin's light and dark themes.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    RequestStatus.DRAFT: ("#e5e7eb", "#374151"),
    RequestStatus.SUBMITTED: ("#fef3c7", "#92400e"),
    RequestStatus.RETURNED: ("#ede9fe", "#5b21b6"),
    RequestStatus.APPROVED: ("#dcfce7", "#166534"),
    RequestStatus.REJECTED: ("#fee2e2", "#991b1b"),
    RequestStatus.CLAIM_SUBMITTED: ("#dbeafe", "#1e40af"),
    RequestStatus.CLAIM_APPROVED: ("#ccfbf1", "#115e59"),
    RequestStatus.CLAIM_REJECTED: ("#fee2e2", "#991b1b"),
    RequestStatus.PAID: ("#166534", "#ffffff"),
    RequestStatus.EXPIRED: ("#f3f4f6", "#6b7280"),
}
KIND_COLOURS: dict[str, tuple[str, str]] = {
    LedgerKind.ALLOCATED: ("#dcfce7", "#166534"),
    LedgerKind.ACCRUED: ("#dcfce7", "#166534"),
    LedgerKind.COMMITTED: ("#fef3c7", "#92400e"),
    LedgerKind.RELEASED: ("#e0f2fe", "#075985"),
    LedgerKind.CLAIMED: ("#dbeafe", "#1e40af"),
    LedgerKind.PAID: ("#166534", "#ffffff"),
    LedgerKind.FORFEITED: ("#f3f4f6", "#6b7280"),
}
AUDIT_LABELS = {
    "mdf.request_drafted": _("Drafted"),
    "mdf.request_edited": _("Edited"),
    "mdf.request_submitted": _("Submitted"),
    "mdf.request_approved": _("Approved"),
    "mdf.request_rejected": _("Rejected"),
    "mdf.request_returned": _("Returned for changes"),
    "mdf.request_expired": _("Expired"),
    "mdf.request_escalated": _("Passed to a program admin"),
    "mdf.claim_submitted": _("Claim submitted"),
    "mdf.claim_approved": _("Claim approved"),
    "mdf.claim_rejected": _("Claim rejected"),
    "mdf.claim_paid": _("Paid"),
    "mdf.allocated": _("Funds allocated"),
    "mdf.accrued": _("Co-op accrued"),
    "mdf.forfeited": _("Forfeited"),
}


def badge(text: Any, colours: tuple[str, str]) -> SafeString:
    background, colour = colours
    return format_html(
        '<span class="mdf-badge" style="display:inline-block;padding:1px 7px;border-radius:10px;'
        'font-size:10.5px;font-weight:600;white-space:nowrap;background:{};color:{}">{}</span>',
        background,
        colour,
        text,
    )


def status_badge(status: str) -> SafeString:
    return badge(RequestStatus(status).label, STATUS_COLOURS.get(status, ("#e5e7eb", "#374151")))


def money(amount: Decimal | None, currency: str = "") -> str:
    if amount is None:
        return EMPTY
    text = formats.number_format(amount, 2, use_l10n=True, force_grouping=True)
    return f"{text}\N{NO-BREAK SPACE}{currency}" if currency else text


def age(moment: Any) -> str:
    if not moment:
        return EMPTY
    now = timezone.now()
    return gettext("just now") if (now - moment).total_seconds() < 60 else timesince(moment, now, depth=1)


def date_range(start: Any, end: Any) -> str:
    """``18 Dec 2026``, ``18–19 Dec 2026``, ``30 Dec 2026 – 2 Jan 2027``: compact for list cells."""
    if start == end:
        return formats.date_format(start, "j M Y")
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{formats.date_format(end, 'j M Y')}"
    if start.year == end.year:
        return f"{formats.date_format(start, 'j M')} – {formats.date_format(end, 'j M Y')}"
    return f"{formats.date_format(start, 'j M Y')} – {formats.date_format(end, 'j M Y')}"


def ago(moment: Any) -> str:
    text = age(moment)
    return text if text in {EMPTY, gettext("just now")} else gettext("%(age)s ago") % {"age": text}


def _prefixed(label: str, message: str) -> str:
    """Service messages often start with the reference already; never say it twice."""
    return message if message.startswith(label) else f"{label}: {message}"


def _available_subquery(allocation_ref: str = "allocation_id") -> Any:
    """Available funds of the allocation ``allocation_ref`` points at, summed in SQL:
    allocated + accrued + released - forfeited - committed - claimed (see ``mdf.ledger``)."""
    plus = [LedgerKind.ALLOCATED, LedgerKind.ACCRUED, LedgerKind.RELEASED]
    minus = [LedgerKind.FORFEITED, LedgerKind.COMMITTED, LedgerKind.CLAIMED]
    totals = (
        LedgerEntry.objects.filter(allocation_id=OuterRef(allocation_ref))
        .order_by()
        .values("allocation_id")
        .annotate(
            total=Sum(
                Case(
                    When(kind__in=plus, then=F("amount")),
                    When(kind__in=minus, then=-F("amount")),
                    default=Value(ZERO),
                    output_field=_DEC,
                )
            )
        )
        .values("total")[:1]
    )
    return Coalesce(Subquery(totals, output_field=_DEC), Value(ZERO), output_field=_DEC)


def _budget_sum_subquery(kind: str) -> Any:
    totals = (
        LedgerEntry.objects.filter(allocation__budget_id=OuterRef("pk"), kind=kind)
        .order_by()
        .values("allocation__budget_id")
        .annotate(total=Sum("amount"))
        .values("total")[:1]
    )
    return Coalesce(Subquery(totals, output_field=_DEC), Value(ZERO), output_field=_DEC)


def _usage_bar(used: Decimal, total: Decimal) -> SafeString:
    percent = int(min(max(used / total * 100, 0), 100)) if total else 0
    colour = "#16a34a" if percent < 80 else "#d97706" if percent < 100 else "#dc2626"
    return format_html(
        '<span class="mdf-bar" title="{}%" style="display:inline-block;width:80px;height:8px;'
        "border-radius:4px;background:var(--hairline-color,#e5e7eb);vertical-align:middle;"
        'overflow:hidden"><span style="display:block;height:8px;width:{}%;background:{}"></span></span>'
        ' <span class="mdf-quiet">{}%</span>',
        percent,
        percent,
        colour,
        percent,
    )


def partner_filter(path: str = "partner") -> type[admin.SimpleListFilter]:
    """A partner filter that lists only the partners the user may see (a channel account manager:
    their portfolio) and that have marketing funds, never every partner's name."""

    class VisiblePartnerFilter(admin.SimpleListFilter):
        title = _("partner")
        parameter_name = "partner"

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[Any, str]]:
            actor = resolve_actor(request.user)
            return list(
                Partner.objects.filter(partner_scope_q(actor, "pk"))
                .filter(Exists(Allocation.objects.filter(partner_id=OuterRef("pk"))))
                .order_by("legal_name")
                .values_list("pk", "legal_name")
            )

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            if self.value():
                return queryset.filter(**{f"{path}_id": self.value()})
            return queryset

    return VisiblePartnerFilter


# --- Intermediate pages ---------------------------------------------------------------------------
class AmountsForm(forms.Form):
    """One amount per object (``amount-<pk>``), each prefilled and capped, plus the shared fields
    the subclass declares (a comment, a reason, a payment reference)."""

    amount_label = _("Amount")

    def __init__(
        self, data: Any = None, *, rows: Iterable[tuple[Any, Decimal, Decimal, str]] = (), **kwargs: Any
    ) -> None:
        super().__init__(data, **kwargs)
        for pk, initial, maximum, currency in rows:
            self.fields[f"amount-{pk}"] = forms.DecimalField(
                label=self.amount_label,
                initial=initial,
                min_value=Decimal("0.01"),
                max_value=maximum,
                max_digits=14,
                decimal_places=2,
                localize=False,
                widget=forms.NumberInput(
                    attrs={"step": "0.01", "min": "0.01", "max": str(maximum), "class": "mdf-amount"}
                ),
                help_text=currency,
            )

    def amount(self, pk: Any) -> Decimal | None:
        return self.cleaned_data.get(f"amount-{pk}")

    def shared_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if not name.startswith("amount-")]


class ApproveRequestsForm(AmountsForm):
    amount_label = _("Approve")
    comment = forms.CharField(
        label=_("Comment to the partner"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 70}),
        help_text=_("Optional. The partner sees it with the approval."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 70}),
        help_text=_("Required. The partner sees it."),
    )

    def __init__(self, *args: Any, label: Any = None, help_text: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if label:
            self.fields["reason"].label = label
        if help_text:
            self.fields["reason"].help_text = help_text

    def shared_fields(self) -> list[forms.BoundField]:
        return list(self)


class ApproveClaimsForm(AmountsForm):
    amount_label = _("Approve")


class PaymentForm(forms.Form):
    payment_reference = forms.CharField(
        label=_("Payment reference"),
        max_length=100,
        help_text=_("The remittance or payment run number; recorded on each claim and in the ledger."),
    )

    def shared_fields(self) -> list[forms.BoundField]:
        return list(self)


class AllocateForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to add"),
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        localize=False,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01"}),
        help_text=_(
            "Added to each selected allocation, in its currency; never more than the budget has left."
        ),
    )
    memo = forms.CharField(
        label=_("Memo"), max_length=255, required=False, help_text=_("Shown in the ledger, e.g. “H2 top-up”.")
    )

    def shared_fields(self) -> list[forms.BoundField]:
        return list(self)


@dataclass
class Row:
    """One object on an intermediate page."""

    cells: list[Any]
    field: forms.BoundField | None = None
    notes: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (level, text)


@dataclass
class ObjectAction:
    """An action offered as a button on an object's page when ``applies(obj)``."""

    name: str
    label: Any
    style: str  # "approve", "danger" or "neutral"
    applies: Callable[[Any], bool]


class DecisionAdminMixin:
    """Service-backed actions with an intermediate page, also offered per object: the buttons on an
    object's page open the same page for that one object (``<pk>/decide/<action>/``). Objects are
    read-only here: every change is a service call."""

    object_actions: list[ObjectAction] = []

    # URLs and the single-object entry point ----------------------------------------------------
    def get_urls(self) -> list[Any]:
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/decide/<str:action>/",
                self.admin_site.admin_view(self.decide_view),
                name=f"{opts.app_label}_{opts.model_name}_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        if action not in {a.name for a in self.object_actions}:
            raise Http404
        available = self.get_actions(request)
        if action not in available:
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        request.mdf_single_object = obj
        response = available[action][0](self, request, self.get_queryset(request).filter(pk=obj.pk))
        if response is None:  # done: back to the object, which now shows the outcome
            return HttpResponseRedirect(self._change_url(request, obj))
        return response

    def _change_url(self, request: HttpRequest, obj: Any) -> str:
        opts = self.model._meta
        url = reverse(
            f"admin:{opts.app_label}_{opts.model_name}_change",
            args=[quote(obj.pk)],
            current_app=self.admin_site.name,
        )
        return add_preserved_filters(
            {"preserved_filters": self.get_preserved_filters(request), "opts": opts}, url
        )

    def order_param(self, request: HttpRequest, column: str, descending: bool = False) -> str:
        """The changelist's ``o`` value sorting by ``column`` (its index counts the checkbox)."""
        index = list(self.get_list_display(request)).index(column) + (1 if self.get_actions(request) else 0)
        return f"-{index}" if descending else str(index)

    def decision_buttons(self, request: HttpRequest, obj: Any) -> list[dict[str, Any]]:
        available = self.get_actions(request)
        opts = self.model._meta
        return [
            {
                "label": action.label,
                "style": action.style,
                "url": reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_decide",
                    args=[quote(obj.pk), action.name],
                    current_app=self.admin_site.name,
                ),
            }
            for action in self.object_actions
            if action.name in available and action.applies(obj)
        ]

    # Read-only change form ---------------------------------------------------------------------
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        if request.method == "POST":
            raise PermissionDenied  # nothing is edited here; decisions go through the services
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            "show_delete_link": False,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None:
            if self.has_change_permission(request, obj):
                context["title"] = gettext("Review %(name)s") % {"name": self.model._meta.verbose_name}
            context["decision_buttons"] = self.decision_buttons(request, obj)
            context.update(self.change_form_panels(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def change_form_panels(self, request: HttpRequest, obj: Any) -> dict[str, Any]:
        return {}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        names: list[str] = []
        for _name, options in self.get_fieldsets(request, obj):
            for entry in options["fields"]:
                names.extend(entry if isinstance(entry, (list, tuple)) else [entry])
        return names

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # The intermediate page and the per-object loop -----------------------------------------------
    def intermediate_page(
        self,
        request: HttpRequest,
        queryset: Iterable[Any],
        *,
        action: str,
        template: str,
        title: str,
        form: forms.Form,
        headers: list[Any],
        rows: list[Row],
        submit_label: str,
        submit_style: str = "approve",
        extra: dict[str, Any] | None = None,
    ) -> TemplateResponse:
        opts = self.model._meta
        single = getattr(request, "mdf_single_object", None)
        cancel_url = self._change_url(request, single) if single is not None else request.get_full_path()
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": None,
            "opts": opts,
            "app_label": opts.app_label,
            "queryset": list(queryset),
            "single_object": single,
            "single_object_url": self._change_url(request, single) if single is not None else None,
            "form": form,
            "shared_fields": form.shared_fields(),
            "headers": headers,
            "rows": rows,
            "has_amounts": any(row.field is not None for row in rows),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "action": action,
            "submit_label": submit_label,
            "submit_style": submit_style,
            "cancel_url": cancel_url,
            "media": self.media + form.media,
            **(extra or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, template, context)

    def run_each(
        self,
        request: HttpRequest,
        objects: Iterable[Any],
        call: Callable[[Any, Any], Any],
        *,
        label: Callable[[Any], str],
    ) -> list[Any]:
        """Call the service for each object in its own savepoint (a refusal undoes only that
        object's writes) and report each refusal; returns what the calls returned."""
        actor = resolve_actor(request.user)
        done = []
        for obj in objects:
            try:
                with transaction.atomic():
                    result = call(actor, obj)
            except ApplicationError as exc:
                self.message_user(request, _prefixed(label(obj), exc.message), messages.ERROR)
            else:
                done.append(result)
        return done


# --- Fund requests --------------------------------------------------------------------------------
def _submitted(obj: FundRequest) -> bool:
    return obj.status == RequestStatus.SUBMITTED


@admin.register(FundRequest)
class FundRequestAdmin(DecisionAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    partner_field = "partner"
    change_form_template = "admin/mdf/fundrequest/change_form.html"
    change_list_template = "admin/mdf/fundrequest/change_list.html"
    list_display = [
        "reference",
        "partner",
        "activity_display",
        "status_display",
        "amount_display",
        "available_display",
        "age_display",
    ]
    list_display_links = ["reference", "activity_display"]
    list_filter = [
        "status",
        partner_filter(),
        ("partner__tier", admin.RelatedFieldListFilter),
        ("allocation__budget__period", admin.RelatedFieldListFilter),
        "activity_type",
        "needs_program_admin",
    ]
    search_fields = ["reference", "title", "partner__legal_name"]
    search_help_text = _("Search by reference, title or partner name.")
    date_hierarchy = "submitted_at"
    list_select_related = ["partner", "partner__tier", "allocation__budget__period"]
    ordering = [F("submitted_at").desc(nulls_last=True), "-pk"]
    list_per_page = 50
    actions = ["approve_selected", "return_selected", "reject_selected"]
    object_actions = [
        ObjectAction("approve_selected", _("Approve…"), "approve", _submitted),
        ObjectAction("return_selected", _("Return for changes…"), "neutral", _submitted),
        ObjectAction("reject_selected", _("Reject…"), "danger", _submitted),
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reference",
                    "status_display",
                    "partner",
                    "requested_by",
                    "submitted_at",
                    "age_display",
                ]
            },
        ),
        (
            _("Activity"),
            {
                "fields": [
                    "activity_type",
                    "title",
                    "description",
                    ("start_date", "end_date"),
                    "expected_leads",
                    "short_notice_confirmed",
                ]
            },
        ),
        (_("Money"), {"fields": ["total_cost_display", "requested_display", "allocation"]}),
        (
            _("Decision"),
            {
                "fields": [
                    "approved_display",
                    "decided_by",
                    "decided_at",
                    "decision_comment",
                    "needs_program_admin",
                    "claim_deadline",
                ]
            },
        ),
    ]

    def _scoped(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            self._scoped(request)
            .select_related("partner", "partner__tier", "allocation__budget__period", "requested_by")
            .annotate(available_funds=_available_subquery())
        )

    # Columns -----------------------------------------------------------------------------------
    @admin.display(description=_("activity"), ordering="title")
    def activity_display(self, obj: FundRequest) -> SafeString:
        return format_html(
            '{}<span class="mdf-quiet mdf-sub">{} · {}</span>',
            obj.title,
            obj.get_activity_type_display(),
            date_range(obj.start_date, obj.end_date),
        )

    @admin.display(description=_("requested"), ordering="requested_amount")
    def amount_display(self, obj: FundRequest) -> SafeString:
        if obj.approved_amount is None:
            return format_html("{}", money(obj.requested_amount, obj.currency))
        return format_html(
            '{}<span class="mdf-sub mdf-approved" title="{}">✓ {}</span>',
            money(obj.requested_amount, obj.currency),
            gettext("approved"),
            money(obj.approved_amount),
        )

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj: FundRequest) -> SafeString:
        if obj.needs_program_admin and obj.status == RequestStatus.SUBMITTED:
            return format_html(
                '{}<span class="mdf-sub" title="{}">{}</span>',
                status_badge(obj.status),
                gettext("Above a channel account manager's approval limit"),
                badge(gettext("Program admin"), ("#fde68a", "#78350f")),
            )
        return status_badge(obj.status)

    @admin.display(description=_("requested"), ordering="requested_amount")
    def requested_display(self, obj: FundRequest) -> str:
        return money(obj.requested_amount, obj.currency)

    @admin.display(description=_("total cost"), ordering="total_cost")
    def total_cost_display(self, obj: FundRequest) -> str:
        return money(obj.total_cost, obj.currency)

    @admin.display(description=_("approved"), ordering="approved_amount")
    def approved_display(self, obj: FundRequest) -> str:
        return money(obj.approved_amount, obj.currency)

    @admin.display(description=_("available"), ordering="available_funds")
    def available_display(self, obj: FundRequest) -> str | SafeString:
        """The partner's available funds now (in the request's currency, like its allocation)."""
        available = getattr(obj, "available_funds", None)
        if (
            available is not None
            and obj.status == RequestStatus.SUBMITTED
            and available < obj.requested_amount
        ):
            return format_html(
                '<span class="mdf-short" style="color:#b91c1c;font-weight:600" title="{}">{}</span>',
                gettext("Less than requested"),
                money(available),
            )
        return money(available)

    @admin.display(description=_("age"), ordering="-submitted_at")
    def age_display(self, obj: FundRequest) -> str:
        return age(obj.submitted_at)

    # Change list and change form -----------------------------------------------------------------
    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}), **self._queue_summary(request)})

    def _queue_summary(self, request: HttpRequest) -> dict[str, Any]:
        """What waits for a decision, with links to work it oldest first (two queries)."""
        actor = resolve_actor(request.user)
        waiting = self._scoped(request).filter(status=RequestStatus.SUBMITTED)
        counts = waiting.aggregate(
            total=Count("pk"),
            escalated=Count("pk", filter=Q(needs_program_admin=True)),
            oldest=Min("submitted_at"),
        )
        base = reverse("admin:mdf_fundrequest_changelist", current_app=self.admin_site.name)
        queue = {
            "status__exact": RequestStatus.SUBMITTED,
            "o": self.order_param(request, "age_display", descending=True),  # oldest first
        }
        limit_text = ""
        if actor.is_vendor and actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER:
            limits = list(ApprovalLimit.objects.filter(user=actor.user).values_list("amount", "currency"))
            limit_text = (
                gettext("Your approval limit: %(limit)s per request.") % {"limit": money(*limits[0])}
                if limits
                else gettext("Your approval limit: %(limit)s per request (the default).")
                % {"limit": money(Decimal(settings.PRM["MDF_DEFAULT_CAM_APPROVAL_LIMIT"]))}
            )
        elif actor.is_vendor and actor.vendor_role == VendorRole.PROGRAM_ADMIN:
            limit_text = gettext("You approve without a limit.")
        return {
            "queue": {
                "total": counts["total"],
                "escalated": counts["escalated"],
                "oldest": age(counts["oldest"]) if counts["oldest"] else "",
                "url": f"{base}?{urlencode(queue)}",
                "escalated_url": f"{base}?{urlencode({**queue, 'needs_program_admin__exact': 1})}",
                "is_cam": actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER,
                "limit_text": limit_text,
            }
        }

    def change_form_panels(self, request: HttpRequest, obj: FundRequest) -> dict[str, Any]:
        claim = FundClaim.objects.filter(fund_request=obj).prefetch_related("proofs").first()
        proofs = (
            [
                {
                    "name": proof.original_name,
                    "size": proof.size,
                    "content_type": proof.content_type,
                    "url": reverse("mdf:proof_download", args=[proof.pk]),
                }
                for proof in claim.proofs.all()
            ]
            if claim
            else []
        )
        balances = ledger.balances_of(obj.allocation)
        return {
            "fund_request": obj,
            "balances": balances,
            "decision_prompt": self._decision_prompt(request, obj),
            "decision_figures": [
                (gettext("Requested"), money(obj.requested_amount, obj.currency)),
                (gettext("Total cost"), money(obj.total_cost, obj.currency)),
                (
                    gettext("Available to %(partner)s") % {"partner": obj.partner.legal_name},
                    money(balances.available, balances.currency),
                ),
            ],
            "claim": claim,
            "claim_url": (
                reverse("admin:mdf_fundclaim_change", args=[claim.pk], current_app=self.admin_site.name)
                if claim and request.user.has_perm("mdf.view_fundclaim")
                else ""
            ),
            "proofs": proofs,
            "history": history_rows(obj),
            "limit_note": self._limit_note(request, obj),
        }

    def _decision_prompt(self, request: HttpRequest, obj: FundRequest) -> str:
        submitted = ago(obj.submitted_at)
        if obj.needs_program_admin and request.user.vendor_role == VendorRole.PROGRAM_ADMIN:
            return gettext(
                "Above a channel account manager's limit: awaiting your decision · submitted %(age)s"
            ) % {"age": submitted}
        if obj.needs_program_admin:
            return gettext("Passed to a program admin · submitted %(age)s") % {"age": submitted}
        return gettext("Awaiting a decision · submitted %(age)s") % {"age": submitted}

    def _limit_note(self, request: HttpRequest, obj: FundRequest) -> str:
        if obj.status != RequestStatus.SUBMITTED or not request.user.vendor_role:
            return ""
        limit = services.approval_limit_of(request.user, obj.currency)
        if limit is not None and obj.requested_amount > limit:
            return gettext(
                "The requested amount is above your approval limit of %(limit)s: approve at most that, "
                "or approving passes the request to a program admin."
            ) % {"limit": money(limit, obj.currency)}
        return ""

    # Actions -------------------------------------------------------------------------------------
    def _queue_order(self, queryset: QuerySet) -> list[FundRequest]:
        # First come, first served: with several requests on one allocation, the oldest gets funds.
        return list(queryset.order_by(F("submitted_at").asc(nulls_last=True), "pk"))

    def _request_cells(self, obj: FundRequest) -> list[Any]:
        return [
            format_html("<strong>{}</strong>", obj.reference),
            obj.partner.legal_name,
            format_html(
                '{}<span class="mdf-quiet mdf-sub">{} · {}</span>',
                obj.title,
                obj.get_activity_type_display(),
                date_range(obj.start_date, obj.end_date),
            ),
            status_badge(obj.status),
            money(obj.requested_amount, obj.currency),
            money(getattr(obj, "available_funds", None), obj.allocation.currency),
        ]

    @admin.action(description=_("Approve selected requests…"), permissions=["change"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        requests = self._queue_order(queryset)
        deciding = [obj for obj in requests if obj.status == RequestStatus.SUBMITTED]
        posted = "post" in request.POST
        form = ApproveRequestsForm(
            request.POST if posted else None,
            rows=[(obj.pk, obj.requested_amount, obj.requested_amount, obj.currency) for obj in deciding],
        )
        limits: dict[str, Decimal | None] = {}

        def limit_of(currency: str) -> Decimal | None:
            if currency not in limits:
                limits[currency] = services.approval_limit_of(request.user, currency)
            return limits[currency]

        if posted and form.is_valid():
            comment = form.cleaned_data["comment"]
            approved: list[tuple[FundRequest, Decimal]] = []

            def decide(actor: Any, obj: FundRequest) -> None:
                amount = form.amount(obj.pk)
                # Above the approver's limit the service passes the request to a program admin
                # (flag, audit, notification) instead of approving it: an outcome, not an error.
                outcome = services.request_approve_or_escalate(
                    actor=actor, fund_request=obj, amount=amount, comment=comment
                )
                if outcome == "escalated":
                    self.message_user(
                        request,
                        gettext(
                            "%(ref)s: %(amount)s is above your approval limit of %(limit)s; it has been "
                            "passed to a program admin. Approve at most your limit to decide it yourself."
                        )
                        % {
                            "ref": obj.reference,
                            "amount": money(amount or obj.requested_amount, obj.currency),
                            "limit": money(limit_of(obj.currency), obj.currency),
                        },
                        messages.WARNING,
                    )
                else:
                    approved.append((obj, amount or obj.requested_amount))

            self.run_each(request, requests, decide, label=lambda obj: obj.reference)
            if approved:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)s request approved: %(list)s.",
                        "%(count)s requests approved: %(list)s.",
                        len(approved),
                    )
                    % {
                        "count": len(approved),
                        "list": ", ".join(
                            f"{obj.reference} ({money(amount, obj.currency)})" for obj, amount in approved
                        ),
                    },
                    messages.SUCCESS,
                )
            return None

        rows = []
        remaining: dict[int, Decimal] = {}
        for obj in requests:
            row = Row(cells=self._request_cells(obj))
            if obj.status != RequestStatus.SUBMITTED:
                row.notes.append(
                    (
                        "skip",
                        gettext("Not awaiting a decision (%(status)s): it will be left as it is.")
                        % {"status": obj.get_status_display().lower()},
                    )
                )
                rows.append(row)
                continue
            row.field = form[f"amount-{obj.pk}"]
            limit = limit_of(obj.currency)
            above_limit = limit is not None and obj.requested_amount > limit
            if above_limit:
                row.notes.append(
                    (
                        "warning",
                        gettext(
                            "Above your approval limit of %(limit)s. Approve at most that yourself; "
                            "more passes the request to a program admin."
                        )
                        % {"limit": money(limit, obj.currency)},
                    )
                )
            # A heads-up, at the requested amounts: what the requests above leave of the funds.
            after_others = obj.allocation_id in remaining
            left = remaining.get(obj.allocation_id, getattr(obj, "available_funds", ZERO))
            if obj.requested_amount > left:
                values = {"partner": obj.partner.legal_name, "left": money(left, obj.currency)}
                row.notes.append(
                    (
                        "error",
                        gettext(
                            "%(partner)s has %(left)s available after the requests above: "
                            "approve less or reject."
                        )
                        % values
                        if after_others
                        else gettext("%(partner)s has only %(left)s available: approve less or reject.")
                        % values,
                    )
                )
            elif not above_limit:
                left -= obj.requested_amount
            remaining[obj.allocation_id] = left
            rows.append(row)
        return self.intermediate_page(
            request,
            requests,
            action="approve_selected",
            template="admin/mdf/fundrequest/approve_intermediate.html",
            title=ngettext("Approve %(count)s fund request", "Approve %(count)s fund requests", len(requests))
            % {"count": len(requests)},
            form=form,
            headers=[_("Request"), _("Partner"), _("Activity"), _("Status"), _("Requested"), _("Available")],
            rows=rows,
            submit_label=gettext("Approve and commit funds"),
            extra={"deciding": deciding},
        )

    def _reason_action(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        *,
        action: str,
        service: Callable[..., Any],
        template: str,
        title: Callable[[int], str],
        label: Any,
        help_text: Any,
        submit_label: str,
        submit_style: str,
        done_message: Callable[[int], str],
    ) -> HttpResponse | None:
        requests = self._queue_order(queryset)
        posted = "post" in request.POST
        form = ReasonForm(request.POST if posted else None, label=label, help_text=help_text)
        if posted and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = self.run_each(
                request,
                requests,
                lambda actor, obj: service(actor=actor, fund_request=obj, reason=reason),
                label=lambda obj: obj.reference,
            )
            if done:
                self.message_user(
                    request,
                    done_message(len(done)) + " " + ", ".join(obj.reference for obj in done),
                    messages.SUCCESS,
                )
            return None
        rows = []
        for obj in requests:
            row = Row(cells=self._request_cells(obj))
            if obj.status != RequestStatus.SUBMITTED:
                row.notes.append(
                    (
                        "skip",
                        gettext("Not awaiting a decision (%(status)s): it will be left as it is.")
                        % {"status": obj.get_status_display().lower()},
                    )
                )
            rows.append(row)
        return self.intermediate_page(
            request,
            requests,
            action=action,
            template=template,
            title=title(len(requests)),
            form=form,
            headers=[_("Request"), _("Partner"), _("Activity"), _("Status"), _("Requested"), _("Available")],
            rows=rows,
            submit_label=submit_label,
            submit_style=submit_style,
        )

    @admin.action(description=_("Reject selected requests…"), permissions=["change"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._reason_action(
            request,
            queryset,
            action="reject_selected",
            service=services.request_reject,
            template="admin/mdf/fundrequest/reject_intermediate.html",
            title=lambda n: (
                ngettext("Reject %(count)s fund request", "Reject %(count)s fund requests", n) % {"count": n}
            ),
            label=_("Reason for rejecting"),
            help_text=_("Required. The partner sees it in the portal and in the notification."),
            submit_label=gettext("Reject"),
            submit_style="danger",
            done_message=lambda n: (
                ngettext("%(count)s request rejected:", "%(count)s requests rejected:", n) % {"count": n}
            ),
        )

    @admin.action(description=_("Return selected requests for changes…"), permissions=["change"])
    def return_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return self._reason_action(
            request,
            queryset,
            action="return_selected",
            service=services.request_return,
            template="admin/mdf/fundrequest/return_intermediate.html",
            title=lambda n: (
                ngettext(
                    "Return %(count)s fund request for changes",
                    "Return %(count)s fund requests for changes",
                    n,
                )
                % {"count": n}
            ),
            label=_("What should the partner change?"),
            help_text=_("Required. The partner edits the request and submits it again."),
            submit_label=gettext("Return for changes"),
            submit_style="neutral",
            done_message=lambda n: (
                ngettext(
                    "%(count)s request returned for changes:", "%(count)s requests returned for changes:", n
                )
                % {"count": n}
            ),
        )


def history_rows(obj: Any) -> list[dict[str, Any]]:
    """The audit trail of ``obj``, oldest first, with before → after spelled out."""
    rows = []
    for event in audit.history_for(target=obj).order_by("created_at", "pk"):
        before, after = event.before or {}, event.after or {}
        changes = [
            f"{key.replace('_', ' ')}: {before[key]} → {after.get(key, EMPTY)}"
            if key in before
            else f"{key.replace('_', ' ')}: {after[key]}"
            for key in [*before, *(k for k in after if k not in before)]
            if before.get(key) != after.get(key)
        ]
        rows.append(
            {
                "at": event.created_at,
                "actor": event.actor_label,
                "action": AUDIT_LABELS.get(event.action, event.action),
                "changes": changes,
                "reason": event.reason,
            }
        )
    return rows


def _claim_amount(claim: FundClaim) -> str:
    return f"{claim.fund_request.reference} ({money(claim.approved_amount, claim.fund_request.currency)})"


# --- Claims ---------------------------------------------------------------------------------------
class ClaimStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"
    statuses = [
        RequestStatus.CLAIM_SUBMITTED,
        RequestStatus.CLAIM_APPROVED,
        RequestStatus.CLAIM_REJECTED,
        RequestStatus.PAID,
    ]

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [(status.value, status.label) for status in self.statuses]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in {status.value for status in self.statuses}:
            return queryset.filter(fund_request__status=self.value())
        return queryset


def _claim_awaiting(obj: FundClaim) -> bool:
    return obj.fund_request.status == RequestStatus.CLAIM_SUBMITTED


def _claim_payable(obj: FundClaim) -> bool:
    return obj.fund_request.status == RequestStatus.CLAIM_APPROVED


@admin.register(FundClaim)
class FundClaimAdmin(DecisionAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    partner_field = "partner"
    change_form_template = "admin/mdf/fundclaim/change_form.html"
    change_list_template = "admin/mdf/fundclaim/change_list.html"
    list_display = [
        "reference",
        "partner",
        "status_display",
        "claimed_display",
        "actual_cost_display",
        "preapproved_display",
        "approved_display",
        "proofs_display",
        "age_display",
        "payment_reference",
    ]
    list_display_links = ["reference"]
    list_filter = [
        ClaimStatusFilter,
        partner_filter(),
        ("fund_request__allocation__budget__period", admin.RelatedFieldListFilter),
        ("fund_request__activity_type", admin.ChoicesFieldListFilter),
    ]
    search_fields = [
        "fund_request__reference",
        "fund_request__title",
        "partner__legal_name",
        "payment_reference",
    ]
    search_help_text = _("Search by request reference, title, partner name or payment reference.")
    date_hierarchy = "submitted_at"
    list_select_related = ["fund_request", "partner"]
    ordering = ["-submitted_at", "-pk"]
    list_per_page = 50
    actions = ["approve_claims", "reject_claims", "mark_paid"]
    object_actions = [
        ObjectAction("approve_claims", _("Approve claim…"), "approve", _claim_awaiting),
        ObjectAction("reject_claims", _("Reject claim…"), "danger", _claim_awaiting),
        ObjectAction("mark_paid", _("Mark as paid…"), "approve", _claim_payable),
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reference",
                    "status_display",
                    "partner",
                    "fund_request",
                    "submitted_by",
                    "submitted_at",
                ]
            },
        ),
        (
            _("Claim"),
            {
                "fields": [
                    "actual_cost_display",
                    "claimed_display",
                    "preapproved_display",
                    "leads_generated",
                    "attendees",
                    "notes",
                ]
            },
        ),
        (_("Review"), {"fields": ["approved_display", "reviewed_by", "reviewed_at", "rejection_reason"]}),
        (_("Payment"), {"fields": ["paid_at", "paid_by", "payment_reference"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("fund_request", "partner", "fund_request__allocation")
            .annotate(proofs_count=Count("proofs"))
        )

    @admin.display(description=_("request"), ordering="fund_request__reference")
    def reference(self, obj: FundClaim) -> str:
        return obj.fund_request.reference

    @admin.display(description=_("status"), ordering="fund_request__status")
    def status_display(self, obj: FundClaim) -> SafeString:
        return status_badge(obj.fund_request.status)

    @admin.display(description=_("claimed"), ordering="claimed_amount")
    def claimed_display(self, obj: FundClaim) -> str:
        return money(obj.claimed_amount, obj.fund_request.currency)

    @admin.display(description=_("actual cost"), ordering="actual_cost")
    def actual_cost_display(self, obj: FundClaim) -> str:
        return money(obj.actual_cost, obj.fund_request.currency)

    @admin.display(description=_("pre-approved"), ordering="fund_request__approved_amount")
    def preapproved_display(self, obj: FundClaim) -> str:
        return money(obj.fund_request.approved_amount, obj.fund_request.currency)

    @admin.display(description=_("approved"), ordering="approved_amount")
    def approved_display(self, obj: FundClaim) -> str:
        return money(obj.approved_amount, obj.fund_request.currency)

    @admin.display(description=_("proofs"), ordering="proofs_count")
    def proofs_display(self, obj: FundClaim) -> Any:
        return getattr(obj, "proofs_count", EMPTY)

    @admin.display(description=_("age"), ordering="-submitted_at")
    def age_display(self, obj: FundClaim) -> str:
        return age(obj.submitted_at)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        scoped = ScopedAdminMixin.get_queryset(self, request)
        counts = scoped.aggregate(
            awaiting=Count("pk", filter=Q(fund_request__status=RequestStatus.CLAIM_SUBMITTED)),
            payable=Count("pk", filter=Q(fund_request__status=RequestStatus.CLAIM_APPROVED)),
        )
        base = reverse("admin:mdf_fundclaim_changelist", current_app=self.admin_site.name)
        oldest = self.order_param(request, "age_display", descending=True)
        summary = {
            **counts,
            "awaiting_url": f"{base}?{urlencode({'status': RequestStatus.CLAIM_SUBMITTED, 'o': oldest})}",
            "payable_url": f"{base}?{urlencode({'status': RequestStatus.CLAIM_APPROVED})}",
        }
        return super().changelist_view(request, {**(extra_context or {}), "claims_summary": summary})

    def change_form_panels(self, request: HttpRequest, obj: FundClaim) -> dict[str, Any]:
        fund_request = obj.fund_request
        currency = fund_request.currency
        prompt = (
            gettext("Approved: waiting for payment")
            if fund_request.status == RequestStatus.CLAIM_APPROVED
            else gettext("Claim awaiting review · submitted %(age)s") % {"age": ago(obj.submitted_at)}
        )
        return {
            "fund_request": fund_request,
            "decision_prompt": prompt,
            "decision_figures": [
                (gettext("Claimed"), money(obj.claimed_amount, currency)),
                (gettext("Pre-approved"), money(fund_request.approved_amount, currency)),
                (gettext("Actual cost"), money(obj.actual_cost, currency)),
                *(
                    [(gettext("Approved"), money(obj.approved_amount, currency))]
                    if obj.approved_amount
                    else []
                ),
            ],
            "request_url": reverse(
                "admin:mdf_fundrequest_change", args=[fund_request.pk], current_app=self.admin_site.name
            ),
            "balances": ledger.balances_of(fund_request.allocation),
            "proofs": [
                {
                    "name": proof.original_name,
                    "size": proof.size,
                    "content_type": proof.content_type,
                    "url": reverse("mdf:proof_download", args=[proof.pk]),
                }
                for proof in obj.proofs.all()
            ],
            "history": history_rows(fund_request),
        }

    def _claims(self, queryset: QuerySet) -> list[FundClaim]:
        return list(queryset.order_by("submitted_at", "pk"))

    def _claim_cells(self, claim: FundClaim) -> list[Any]:
        currency = claim.fund_request.currency
        return [
            format_html("<strong>{}</strong>", claim.fund_request.reference),
            claim.partner.legal_name,
            status_badge(claim.fund_request.status),
            money(claim.actual_cost, currency),
            money(claim.fund_request.approved_amount, currency),
            money(claim.claimed_amount, currency),
            getattr(claim, "proofs_count", EMPTY),
        ]

    _claim_headers = [
        _("Request"),
        _("Partner"),
        _("Status"),
        _("Actual cost"),
        _("Pre-approved"),
        _("Claimed"),
        _("Proofs"),
    ]

    def _skip_note(self, row: Row, claim: FundClaim, wanted: str) -> bool:
        if claim.fund_request.status != wanted:
            row.notes.append(
                (
                    "skip",
                    gettext("Not possible now (%(status)s): it will be left as it is.")
                    % {"status": claim.fund_request.get_status_display().lower()},
                )
            )
            return True
        return False

    @admin.action(description=_("Approve selected claims…"), permissions=["change"])
    def approve_claims(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        claims = self._claims(queryset)
        deciding = [c for c in claims if c.fund_request.status == RequestStatus.CLAIM_SUBMITTED]
        posted = "post" in request.POST
        form = ApproveClaimsForm(
            request.POST if posted else None,
            rows=[
                (
                    c.pk,
                    min(c.claimed_amount, c.fund_request.approved_amount),
                    min(c.claimed_amount, c.fund_request.approved_amount),
                    c.fund_request.currency,
                )
                for c in deciding
            ],
        )
        if posted and form.is_valid():
            done = self.run_each(
                request,
                claims,
                lambda actor, claim: services.claim_approve(
                    actor=actor, claim=claim, amount=form.amount(claim.pk)
                ),
                label=lambda claim: claim.fund_request.reference,
            )
            if done:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)s claim approved: %(list)s.",
                        "%(count)s claims approved: %(list)s.",
                        len(done),
                    )
                    % {
                        "count": len(done),
                        "list": ", ".join(_claim_amount(c) for c in done),
                    },
                    messages.SUCCESS,
                )
            return None
        rows = []
        for claim in claims:
            row = Row(cells=self._claim_cells(claim))
            if not self._skip_note(row, claim, RequestStatus.CLAIM_SUBMITTED):
                row.field = form[f"amount-{claim.pk}"]
                if not getattr(claim, "proofs_count", 1):
                    row.notes.append(("warning", gettext("No proof of performance attached.")))
            rows.append(row)
        return self.intermediate_page(
            request,
            claims,
            action="approve_claims",
            template="admin/mdf/fundclaim/approve_intermediate.html",
            title=ngettext("Approve %(count)s claim", "Approve %(count)s claims", len(claims))
            % {"count": len(claims)},
            form=form,
            headers=self._claim_headers,
            rows=rows,
            submit_label=gettext("Approve claims"),
            extra={"deciding": deciding},
        )

    @admin.action(description=_("Reject selected claims…"), permissions=["change"])
    def reject_claims(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        claims = self._claims(queryset)
        posted = "post" in request.POST
        form = ReasonForm(
            request.POST if posted else None,
            label=_("Reason for rejecting"),
            help_text=_("Required. The partner sees it; the pre-approved funds are released."),
        )
        if posted and form.is_valid():
            reason = form.cleaned_data["reason"]
            done = self.run_each(
                request,
                claims,
                lambda actor, claim: services.claim_reject(actor=actor, claim=claim, reason=reason),
                label=lambda claim: claim.fund_request.reference,
            )
            if done:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)s claim rejected: %(list)s.",
                        "%(count)s claims rejected: %(list)s.",
                        len(done),
                    )
                    % {"count": len(done), "list": ", ".join(c.fund_request.reference for c in done)},
                    messages.SUCCESS,
                )
            return None
        rows = []
        for claim in claims:
            row = Row(cells=self._claim_cells(claim))
            self._skip_note(row, claim, RequestStatus.CLAIM_SUBMITTED)
            rows.append(row)
        return self.intermediate_page(
            request,
            claims,
            action="reject_claims",
            template="admin/mdf/fundclaim/reject_intermediate.html",
            title=ngettext("Reject %(count)s claim", "Reject %(count)s claims", len(claims))
            % {"count": len(claims)},
            form=form,
            headers=self._claim_headers,
            rows=rows,
            submit_label=gettext("Reject claims"),
            submit_style="danger",
        )

    @admin.action(description=_("Mark selected as paid…"), permissions=["change"])
    def mark_paid(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        claims = self._claims(queryset)
        posted = "post" in request.POST
        form = PaymentForm(request.POST if posted else None)
        if posted and form.is_valid():
            reference = form.cleaned_data["payment_reference"]
            done = self.run_each(
                request,
                claims,
                lambda actor, claim: services.claim_mark_paid(
                    actor=actor, claim=claim, payment_reference=reference
                ),
                label=lambda claim: claim.fund_request.reference,
            )
            if done:
                self.message_user(
                    request,
                    ngettext(
                        "%(count)s claim marked paid: %(list)s.",
                        "%(count)s claims marked paid: %(list)s.",
                        len(done),
                    )
                    % {
                        "count": len(done),
                        "list": ", ".join(_claim_amount(c) for c in done),
                    },
                    messages.SUCCESS,
                )
            return None
        rows = []
        totals: dict[str, Decimal] = {}
        for claim in claims:
            cells = self._claim_cells(claim)
            cells[-2] = money(claim.approved_amount, claim.fund_request.currency)  # what is paid
            row = Row(cells=cells)
            if not self._skip_note(row, claim, RequestStatus.CLAIM_APPROVED):
                currency = claim.fund_request.currency
                totals[currency] = totals.get(currency, ZERO) + (claim.approved_amount or ZERO)
            rows.append(row)
        headers = list(self._claim_headers)
        headers[-2] = _("To pay")
        return self.intermediate_page(
            request,
            claims,
            action="mark_paid",
            template="admin/mdf/fundclaim/paid_intermediate.html",
            title=ngettext("Mark %(count)s claim as paid", "Mark %(count)s claims as paid", len(claims))
            % {"count": len(claims)},
            form=form,
            headers=headers,
            rows=rows,
            submit_label=gettext("Mark as paid"),
            extra={"totals": [money(total, currency) for currency, total in sorted(totals.items())]},
        )


# --- Periods, budgets, allocations, ledger, limits ------------------------------------------------
class BudgetForm(forms.ModelForm):
    class Meta:
        model = Budget
        fields = ["period", "currency", "amount"]

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"]
        if self.instance.pk and currency != self.instance.currency and self.instance.allocations.exists():
            raise forms.ValidationError(gettext("Funds are allocated in this currency; it cannot change."))
        return currency

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if self.instance.pk:
            allocated = (
                LedgerEntry.objects.filter(
                    allocation__budget=self.instance, kind=LedgerKind.ALLOCATED
                ).aggregate(total=Sum("amount"))["total"]
                or ZERO
            )
            if amount < allocated:
                raise forms.ValidationError(
                    gettext("%(allocated)s is already allocated from this budget; it cannot be less.")
                    % {"allocated": money(allocated, self.instance.currency)}
                )
        return amount


class BudgetInline(admin.TabularInline):
    model = Budget
    form = BudgetForm
    extra = 0
    fields = ["currency", "amount", "allocated_display"]
    readonly_fields = ["allocated_display"]
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super().get_queryset(request).annotate(allocated_total=_budget_sum_subquery(LedgerKind.ALLOCATED))
        )

    def has_add_permission(self, request: HttpRequest, obj: FundPeriod | None = None) -> bool:
        return super().has_add_permission(request, obj) and not (obj is not None and obj.closed_at)

    def has_change_permission(self, request: HttpRequest, obj: FundPeriod | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj is not None and obj.closed_at)

    @admin.display(description=_("allocated"))
    def allocated_display(self, obj: Budget) -> str | SafeString:
        if obj.pk is None:
            return EMPTY
        allocated = getattr(obj, "allocated_total", ZERO)
        return format_html("{} {}", money(allocated, obj.currency), _usage_bar(allocated, obj.amount))


def _record_config_change(
    request: HttpRequest, obj: Any, action: str, before: dict, fields: list[str]
) -> None:
    after = audit.snapshot(obj, fields)
    if before != after:
        audit.record(actor=request.user, action=action, target=obj, before=before, after=after)


@admin.register(FundPeriod)
class FundPeriodAdmin(admin.ModelAdmin):
    """Program admins create periods and their budgets; closing (forfeiting unused funds) is the
    scheduled ``close_ended_periods`` job."""

    list_display = ["name", "starts_on", "ends_on", "state_display", "budgets_display"]
    search_fields = ["name"]
    ordering = ["-starts_on"]
    fields = ["name", "starts_on", "ends_on", "closed_at"]
    inlines = [BudgetInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("budgets")

    def get_readonly_fields(self, request: HttpRequest, obj: FundPeriod | None = None) -> list[str]:
        if obj is not None and obj.closed_at:
            return ["name", "starts_on", "ends_on", "closed_at"]  # closed: its funds have forfeited
        return ["closed_at"]

    @admin.display(description=_("state"))
    def state_display(self, obj: FundPeriod) -> SafeString:
        today = timezone.localdate()
        if obj.closed_at:
            return badge(gettext("Closed"), ("#f3f4f6", "#6b7280"))
        if obj.contains(today):
            return badge(gettext("Current"), ("#dcfce7", "#166534"))
        if obj.starts_on > today:
            return badge(gettext("Upcoming"), ("#dbeafe", "#1e40af"))
        return badge(gettext("Ended, not closed"), ("#fef3c7", "#92400e"))

    @admin.display(description=_("budgets"))
    def budgets_display(self, obj: FundPeriod) -> str:
        return ", ".join(money(b.amount, b.currency) for b in obj.budgets.all()) or EMPTY

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: FundPeriod, form: Any, change: bool) -> None:
        fields = ["name", "starts_on", "ends_on"]
        before = audit.snapshot(FundPeriod.objects.get(pk=obj.pk), fields) if change else {}
        super().save_model(request, obj, form, change)
        _record_config_change(
            request, obj, "mdf.period_changed" if change else "mdf.period_created", before, fields
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        befores = {
            budget.pk: audit.snapshot(budget, ["currency", "amount"])
            for budget in Budget.objects.filter(
                pk__in=[f.instance.pk for f in formset.forms if f.instance.pk]
            )
        }
        super().save_formset(request, form, formset, change)
        for budget in formset.new_objects + [obj for obj, _changed in formset.changed_objects]:
            _record_config_change(
                request,
                budget,
                "mdf.budget_changed" if budget.pk in befores else "mdf.budget_created",
                befores.get(budget.pk, {}),
                ["currency", "amount"],
            )


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    form = BudgetForm
    list_display = [
        "period",
        "amount_display",
        "allocated_display",
        "accrued_display",
        "left_display",
        "usage_display",
    ]
    list_filter = ["period", "currency"]
    list_select_related = ["period"]
    ordering = ["-period__starts_on", "currency"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                allocated_total=_budget_sum_subquery(LedgerKind.ALLOCATED),
                accrued_total=_budget_sum_subquery(LedgerKind.ACCRUED),
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["period", "currency"] if obj is not None else []

    def has_change_permission(self, request: HttpRequest, obj: Budget | None = None) -> bool:
        # A closed period's budget is history: its unused funds have forfeited.
        return super().has_change_permission(request, obj) and not (obj is not None and obj.period.closed_at)

    @admin.display(description=_("budget"), ordering="amount")
    def amount_display(self, obj: Budget) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description=_("allocated by hand"), ordering="allocated_total")
    def allocated_display(self, obj: Budget) -> str:
        return money(obj.allocated_total, obj.currency)

    @admin.display(description=_("accrued (co-op)"), ordering="accrued_total")
    def accrued_display(self, obj: Budget) -> str:
        return money(obj.accrued_total, obj.currency)

    @admin.display(description=_("left to allocate"))
    def left_display(self, obj: Budget) -> str:
        return money(obj.amount - obj.allocated_total, obj.currency)

    @admin.display(description=_("allocated vs budget"))
    def usage_display(self, obj: Budget) -> SafeString:
        return _usage_bar(obj.allocated_total, obj.amount)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Budget, form: Any, change: bool) -> None:
        fields = ["period", "currency", "amount"]
        before = audit.snapshot(Budget.objects.get(pk=obj.pk), fields) if change else {}
        super().save_model(request, obj, form, change)
        _record_config_change(
            request, obj, "mdf.budget_changed" if change else "mdf.budget_created", before, fields
        )


class LedgerEntryInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    fields = ["created_at", "kind_display", "amount_display", "fund_request", "source", "memo", "actor"]
    readonly_fields = fields
    ordering = ["created_at", "pk"]
    can_delete = False
    verbose_name_plural = _("ledger (append-only)")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("fund_request", "actor")

    @admin.display(description=_("kind"))
    def kind_display(self, obj: LedgerEntry) -> SafeString:
        return badge(obj.get_kind_display(), KIND_COLOURS.get(obj.kind, ("#e5e7eb", "#374151")))

    @admin.display(description=_("amount"))
    def amount_display(self, obj: LedgerEntry) -> str:
        return money(obj.amount, obj.currency)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AllocateToPartnerForm(AllocateForm):
    partner = forms.ModelChoiceField(label=_("Partner"), queryset=Partner.objects.none())
    budget = forms.ModelChoiceField(label=_("Budget"), queryset=Budget.objects.none())
    field_order = ["partner", "budget", "amount", "memo"]

    def __init__(self, *args: Any, actor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = Partner.objects.filter(
            partner_scope_q(actor, "pk"), status=PartnerStatus.ACTIVE
        ).order_by("legal_name")
        self.fields["budget"].queryset = (
            Budget.objects.filter(period__closed_at__isnull=True, period__ends_on__gte=timezone.localdate())
            .select_related("period")
            .order_by("period__starts_on", "currency")
        )
        self.fields["amount"].help_text = _("Never more than the budget has left to allocate.")


def _can_allocate(obj: Allocation) -> bool:
    return True


@admin.register(Allocation)
class AllocationAdmin(DecisionAdminMixin, ScopedAdminMixin, admin.ModelAdmin):
    partner_field = "partner"
    change_form_template = "admin/mdf/allocation/change_form.html"
    change_list_template = "admin/mdf/allocation/change_list.html"
    list_display = [
        "partner",
        "period",
        "currency",
        "allocated_display",
        "committed_display",
        "claimed_display",
        "paid_display",
        "available_display",
        "usage_display",
    ]
    list_display_links = ["partner"]
    list_filter = [
        ("budget__period", admin.RelatedFieldListFilter),
        partner_filter(),
        ("partner__tier", admin.RelatedFieldListFilter),
        "currency",
    ]
    search_fields = ["partner__legal_name"]
    list_select_related = ["partner", "budget__period"]
    ordering = ["-budget__period__starts_on", "partner__legal_name"]
    inlines = [LedgerEntryInline]
    actions = ["allocate_funds"]
    object_actions = [ObjectAction("allocate_funds", _("Allocate funds…"), "approve", _can_allocate)]
    fieldsets = [(None, {"fields": ["partner", "budget", "currency", "created_at"]})]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("partner", "budget__period")
            .annotate(**ledger.balance_annotations())
            .annotate(balance_available=ExpressionWrapper(ledger.available_expression(), output_field=_DEC))
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # balances move only through the ledger

    def has_allocate_permission(self, request: HttpRequest) -> bool:
        return allocation_policy.can(resolve_actor(request.user), "allocate")

    @admin.display(description=_("period"), ordering="budget__period__starts_on")
    def period(self, obj: Allocation) -> Any:
        return obj.budget.period

    @admin.display(description=_("allocated"), ordering="balance_allocated")
    def allocated_display(self, obj: Allocation) -> str:
        return money(obj.balance_allocated)

    @admin.display(description=_("committed"), ordering="balance_committed")
    def committed_display(self, obj: Allocation) -> str:
        return money(obj.balance_committed)

    @admin.display(description=_("claimed"), ordering="balance_claimed")
    def claimed_display(self, obj: Allocation) -> str:
        return money(obj.balance_claimed)

    @admin.display(description=_("paid"), ordering="balance_paid")
    def paid_display(self, obj: Allocation) -> str:
        return money(obj.balance_paid)

    @admin.display(description=_("available"), ordering="balance_available")
    def available_display(self, obj: Allocation) -> SafeString:
        return format_html("<strong>{}</strong>", money(obj.balance_available))

    @admin.display(description=_("used"))
    def usage_display(self, obj: Allocation) -> SafeString:
        return _usage_bar(obj.balance_committed + obj.balance_claimed, obj.balance_allocated)

    def change_form_panels(self, request: HttpRequest, obj: Allocation) -> dict[str, Any]:
        return {"balances": ledger.balances_from_annotations(obj), "history": history_rows(obj)}

    def get_urls(self) -> list[Any]:
        return [
            path(
                "allocate/",
                self.admin_site.admin_view(self.allocate_view),
                name="mdf_allocation_allocate",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        return super().changelist_view(
            request, {**(extra_context or {}), "can_allocate": self.has_allocate_permission(request)}
        )

    def allocate_view(self, request: HttpRequest) -> HttpResponse:
        """Allocate to a partner that may have no allocation yet (the service creates it)."""
        if not self.has_allocate_permission(request):
            raise PermissionDenied
        actor = resolve_actor(request.user)
        form = AllocateToPartnerForm(request.POST if request.method == "POST" else None, actor=actor)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    entry = services.allocation_add(
                        actor=actor,
                        partner=data["partner"],
                        budget=data["budget"],
                        amount=data["amount"],
                        memo=data["memo"],
                    )
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                self.message_user(
                    request,
                    gettext("%(amount)s allocated to %(partner)s for %(period)s.")
                    % {
                        "amount": money(entry.amount, entry.currency),
                        "partner": data["partner"].legal_name,
                        "period": data["budget"].period,
                    },
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(
                    reverse(
                        "admin:mdf_allocation_change",
                        args=[entry.allocation_id],
                        current_app=self.admin_site.name,
                    )
                )
        return self.intermediate_page(
            request,
            [],
            action="",
            template="admin/mdf/allocation/allocate_intermediate.html",
            title=gettext("Allocate funds to a partner"),
            form=form,
            headers=[],
            rows=[],
            submit_label=gettext("Allocate"),
            extra={"standalone": True, "cancel_url": reverse("admin:mdf_allocation_changelist")},
        )

    @admin.action(description=_("Allocate funds…"), permissions=["allocate"])
    def allocate_funds(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        allocations = list(queryset.order_by("partner__legal_name", "pk"))
        posted = "post" in request.POST
        form = AllocateForm(request.POST if posted else None)
        if posted and form.is_valid():
            amount, memo = form.cleaned_data["amount"], form.cleaned_data["memo"]
            done = self.run_each(
                request,
                allocations,
                lambda actor, a: services.allocation_add(
                    actor=actor, partner=a.partner, budget=a.budget, amount=amount, memo=memo
                ),
                label=lambda a: a.partner.legal_name,
            )
            if done:
                self.message_user(
                    request,
                    ngettext(
                        "%(amount)s allocated to %(count)s partner.",
                        "%(amount)s allocated to each of %(count)s partners.",
                        len(done),
                    )
                    % {"amount": money(amount), "count": len(done)},
                    messages.SUCCESS,
                )
            return None
        rows = [
            Row(
                cells=[
                    a.partner.legal_name,
                    str(a.budget.period),
                    a.currency,
                    money(a.balance_allocated),
                    money(a.balance_available),
                ]
            )
            for a in allocations
        ]
        return self.intermediate_page(
            request,
            allocations,
            action="allocate_funds",
            template="admin/mdf/allocation/allocate_intermediate.html",
            title=ngettext(
                "Allocate funds to %(count)s partner",
                "Allocate funds to %(count)s partners",
                len(allocations),
            )
            % {"count": len(allocations)},
            form=form,
            headers=[_("Partner"), _("Period"), _("Currency"), _("Allocated"), _("Available")],
            rows=rows,
            submit_label=gettext("Allocate"),
        )


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """The fund ledger, read-only: it is append-only (the database refuses UPDATE and DELETE)."""

    partner_field = "partner"
    list_display = [
        "created_at",
        "partner",
        "kind_display",
        "amount_display",
        "request_display",
        "memo",
        "actor",
    ]
    list_filter = [
        "kind",
        ("allocation__budget__period", admin.RelatedFieldListFilter),
        partner_filter(),
        "currency",
    ]
    search_fields = ["memo", "source", "fund_request__reference", "partner__legal_name"]
    date_hierarchy = "created_at"
    list_select_related = ["partner", "allocation__budget__period", "fund_request", "actor"]
    ordering = ["-created_at", "-pk"]
    readonly_fields = [f.name for f in LedgerEntry._meta.fields]

    @admin.display(description=_("request"), ordering="fund_request__reference")
    def request_display(self, obj: LedgerEntry) -> str:
        return obj.fund_request.reference if obj.fund_request_id else EMPTY

    @admin.display(description=_("kind"), ordering="kind")
    def kind_display(self, obj: LedgerEntry) -> SafeString:
        return badge(obj.get_kind_display(), KIND_COLOURS.get(obj.kind, ("#e5e7eb", "#374151")))

    @admin.display(description=_("amount"), ordering="amount")
    def amount_display(self, obj: LedgerEntry) -> str:
        return money(obj.amount, obj.currency)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ApprovalLimitForm(forms.ModelForm):
    class Meta:
        model = ApprovalLimit
        fields = ["user", "amount", "currency"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = (
                self.fields["user"]
                .queryset.filter(vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER, is_active=True)
                .order_by("email")
            )
            self.fields["user"].label = _("Channel account manager")
        self.fields["amount"].help_text = _(
            "The most this manager may approve on one request; above it a program admin decides. "
            "Without a limit here the default applies."
        )


@admin.register(ApprovalLimit)
class ApprovalLimitAdmin(admin.ModelAdmin):
    """Program admins set how much each channel account manager may approve (audited)."""

    form = ApprovalLimitForm
    list_display = ["user", "user_name", "amount_display"]
    search_fields = ["user__email", "user__full_name"]
    list_select_related = ["user"]
    ordering = ["user__email"]

    @admin.display(description=_("name"), ordering="user__full_name")
    def user_name(self, obj: ApprovalLimit) -> str:
        return obj.user.full_name

    @admin.display(description=_("approval limit"), ordering="amount")
    def amount_display(self, obj: ApprovalLimit) -> str:
        return money(obj.amount, obj.currency)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["user"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: ApprovalLimit, form: Any, change: bool) -> None:
        fields = ["amount", "currency"]
        before = audit.snapshot(ApprovalLimit.objects.get(pk=obj.pk), fields) if change else {}
        super().save_model(request, obj, form, change)
        audit.record(
            actor=request.user,
            action="mdf.approval_limit_changed" if change else "mdf.approval_limit_set",
            target=obj.user,
            before=before,
            after=audit.snapshot(obj, fields),
        )

    def delete_model(self, request: HttpRequest, obj: ApprovalLimit) -> None:
        before = audit.snapshot(obj, ["amount", "currency"])
        super().delete_model(request, obj)
        audit.record(actor=request.user, action="mdf.approval_limit_removed", target=obj.user, before=before)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset.select_related("user"):
            self.delete_model(request, obj)
