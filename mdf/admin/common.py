"""Shared pieces of the MDF admin: display helpers, the intermediate-page forms and the mixin that
offers each decision per object too (the per-object service calls are prm.admin_actions.run_each)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import quote, unquote
from django.contrib.admin.views.main import ChangeList
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import PermissionDenied
from django.db.models import (
    DecimalField,
    Exists,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from partners.models import Partner
from partners.policies import partner_scope_q
from prm import audit
from prm.admin import DirectActionCheckboxMixin
from prm.admin_actions import confirmation_context
from prm.lookups import IsAnyOf
from prm.markup import escape
from prm.money import format_amount, format_money
from prm.statements import Prepared, Statement
from prm.tenancy import Actor
from prm.timesince import TimeSince

from ..models import (
    ActivityType,
    Allocation,
    AllocationBalance,
    FundClaim,
    LedgerEntry,
    LedgerKind,
    RequestStatus,
)

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
    RequestStatus.EXPIRED: ("#f3f4f6", "#4b5563"),
}
KIND_COLOURS: dict[str, tuple[str, str]] = {
    LedgerKind.ALLOCATED: ("#dcfce7", "#166534"),
    LedgerKind.ACCRUED: ("#dcfce7", "#166534"),
    LedgerKind.COMMITTED: ("#fef3c7", "#92400e"),
    LedgerKind.RELEASED: ("#e0f2fe", "#075985"),
    LedgerKind.CLAIMED: ("#dbeafe", "#1e40af"),
    LedgerKind.PAID: ("#166534", "#ffffff"),
    LedgerKind.FORFEITED: ("#f3f4f6", "#4b5563"),
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
    return _status_badge(status, get_language())


# The changelists' cells (fund requests, claims: 50 rows a page) format the same few statuses,
# amounts and date ranges on every request: each is made once per process and language (what it
# depends on, with its arguments) rather than once per cell through Babel, gettext and
# format_html, which were most of a changelist's rows' time.
@lru_cache(maxsize=256)
def _status_badge(status: str, language: str | None) -> SafeString:
    return badge(RequestStatus(status).label, STATUS_COLOURS.get(status, ("#e5e7eb", "#374151")))


def money(amount: Decimal | None, currency: str = "") -> str:
    """The kernel's one money format (prm.money), as on the portal's pages and in messages."""
    if amount is None:
        return EMPTY
    return _money(Decimal(amount), currency, get_language())


@lru_cache(maxsize=16384)
def _money(amount: Decimal, currency: str, language: str | None) -> str:
    # Equal amounts (10.0 and 10.00) share an entry: both are quantized to the currency's minor
    # units first, so they read the same.
    return format_money(amount, currency) if currency else format_amount(amount)


def age(moment: Any, *, now: Any = None, language: str | None = None) -> str:
    """How long ago ``moment`` was: Django's timesince in its largest unit, or "just now" within
    a minute; ``now`` and ``language`` passed by a list that prints many (fast_changelist), each
    read once per page rather than once per row."""
    global _age_since
    if not moment:
        return EMPTY
    now = now or timezone.now()
    language = language or get_language()
    if (now - moment).total_seconds() < 60:
        return _just_now(language)
    since = _age_since
    if since is None or since.now is not now or since.language != language:
        since = _age_since = TimeSince(now, depth=1, language=language)
    return since(moment)


# The last page's TimeSince, reused while the same ``now`` is passed (a changelist's rows): making
# one per row was half the age column's time. Replaced whole, never changed: threads may share it.
_age_since: TimeSince | None = None


@lru_cache(maxsize=32)
def _just_now(language: str | None) -> str:
    return gettext("just now")


def date_range(start: Any, end: Any) -> str:
    """``18 Dec 2026``, ``18–19 Dec 2026``, ``30 Dec 2026 – 2 Jan 2027``: compact for list cells."""
    return _date_range(start, end, get_language())


@lru_cache(maxsize=8192)
def _date_range(start: Any, end: Any, language: str | None) -> str:
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


def _available_subquery(allocation_ref: str = "allocation_id") -> Any:
    """Available funds of the allocation ``allocation_ref`` points at: allocated + accrued +
    released - forfeited - committed - claimed (see ``mdf.ledger``), as PostgreSQL keeps it per
    allocation (models.AllocationBalance, one row by its key; an allocation without entries has
    none and reads 0). It summed the allocation's ledger here, hundreds of entries for each of a
    changelist's 50 rows at full size."""
    available = AllocationBalance.objects.filter(allocation_id=OuterRef(allocation_ref)).values("available")
    return Coalesce(Subquery(available, output_field=_DEC), Value(ZERO), output_field=_DEC)


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


# A partner filter lists its partners only up to this many; past it, the admin's search (by
# partner name) finds them and the filter shows the one chosen.
PARTNER_FILTER_LIMIT = 30


def _funded_partners(actor: Actor) -> QuerySet[Partner]:
    """The partners ``actor`` may see that have marketing funds, by name, as ``(pk, name)``."""
    return (
        Partner.objects.filter(partner_scope_q(actor, "pk"))
        .filter(Exists(Allocation.objects.filter(partner_id=OuterRef("pk"))))
        .order_by("legal_name")
        .values_list("pk", "legal_name")
    )


def _partner_choices(actor: Actor, *, limit: int) -> QuerySet[Partner]:
    # Whether there are more than the limit, from the first limit + 1 funded partners by key: a
    # walk of the partners' primary key (through partner_scope_q) that probes the allocations'
    # partner index once a partner and stops after limit + 1. Asked of the partners sorted by
    # name, PostgreSQL read and sorted every one of 10,000 partners on each changelist; asked of
    # the allocations (DISTINCT partner_id), a program admin's read all 26,000 and sorted them
    # (full size: 7 ms, now 0.2 ms).
    funded = _funded_partners(actor).order_by("pk").values("pk")[: limit + 1]
    # "= ANY(ARRAY(subquery))", not "IN (subquery)": the array is read once (an InitPlan). Under
    # row-level security PostgreSQL estimates the partners at one row and ran the IN's limited
    # subquery again for each of a channel account manager's 500 partners (19 ms at full size).
    # Their names by key: the array holds only partners read through partner_scope_q (and
    # row-level security applies again); the scope again, for a channel account manager
    # ``id IN (<500 ids>)`` beside the array's ``id = ANY(...)``, made PostgreSQL read all 10,000
    # partners rather than the 31 by their key (full size: 2.5 ms to 0.6 ms).
    return (
        Partner.objects.filter(IsAnyOf(F("pk"), ArraySubquery(funded)))
        .order_by("legal_name")
        .values_list("pk", "legal_name")
    )


# The partner filter's choices on every changelist, compiled once per shape (prm.statements).
_FUNDED_PARTNERS = Statement("mdf.admin.funded_partners", _partner_choices)


# --- Filter choices, read ahead ------------------------------------------------------------------
# What a filter reads for its choices: a kept statement and the values of the call.
ChoicesRead = tuple[Statement, dict[str, Any]]
# The choices the page read ahead for its filters (read_filter_choices), on the request until asked.
_READ_AHEAD = "_mdf_filter_choices"


def _read_key(read: ChoicesRead) -> tuple[Any, ...]:
    statement, values = read
    return (statement.name, tuple(sorted(values.items())))


def choices_rows(request: HttpRequest, read: ChoicesRead) -> list[tuple]:
    """The rows of a filter's choices: read ahead with the page's other filters' choices
    (:func:`read_filter_choices`), or read now by the kept statement."""
    ahead = getattr(request, _READ_AHEAD, None)
    if ahead is not None:
        rows = ahead.pop(_read_key(read), None)
        if rows is not None:
            return rows
    statement, values = read
    return statement.rows(request.actor, **values)


def filter_choices_reads(
    request: HttpRequest, model_admin: Any, list_filter: Iterable[Any]
) -> list[ChoicesRead]:
    """The kept reads the filters of ``list_filter`` make for their choices (ChangeList.get_filters
    builds them in this order), as each filter builds its own: the partner filter's and the
    related filters' (NamedRelatedFieldListFilter) of a field without ``limit_choices_to``."""
    from django.contrib.admin.utils import get_fields_from_path

    reads: list[ChoicesRead] = []
    for entry in list_filter:
        read: ChoicesRead | None = None
        if isinstance(entry, (tuple, list)):
            field_path, filter_class = entry
            if isinstance(filter_class, type) and issubclass(filter_class, NamedRelatedFieldListFilter):
                field = get_fields_from_path(model_admin.model, field_path)[-1]
                read = filter_class.choices_read(field, request, model_admin)
        elif isinstance(entry, type) and hasattr(entry, "choices_read"):
            read = entry.choices_read(request)
        if read is not None:
            reads.append(read)
    return reads


# A one-row read sent with the filters' choices (the queue summary's): its statement, unsent, and
# how many columns it gives.
AlongRead = tuple[Prepared, int]


def read_filter_choices(
    request: HttpRequest,
    reads: list[ChoicesRead],
    send: Callable[[Prepared], list[tuple]],
    along: Sequence[AlongRead] = (),
) -> list[list[tuple]] | None:
    """Read the choices of every filter in ``reads`` in one statement, each part its kept
    statement's own SQL in its own order (``UNION ALL``, each part numbered and its rows counted
    in the order they come, the whole put back in that order), sent by ``send`` (a planner's
    ``set_with``: the statement that sets the list's planner settings). Kept on the request
    until each filter asks for its own (:func:`choices_rows`).

    The same statement carries the ``along`` reads, each its first row (or none) left-joined to
    the choices: the page's other reads that come before its list, one round trip less each.
    Returns each along read's rows (as its statement's rows), or None when there was nothing to
    send (no read, or none that can match a row)."""
    actor = request.actor
    prepared = [statement.prepare(actor, **values) for statement, values in reads]
    ahead: dict[tuple[Any, ...], list[tuple]] = {}
    parts: list[str] = []
    params: list[Any] = []
    sent: list[int] = []
    for index, (read, one) in enumerate(zip(reads, prepared, strict=True)):
        if one.sql is None:  # a read that can match no row: no choices, nothing to send
            ahead[_read_key(read)] = []
            continue
        # Every value travels as a parameter; the SQL is the ORM's (the kept statement's).
        parts.append(f"SELECT {index} AS part, row_number() OVER () AS n, one.* FROM ({one.sql}) one")  # noqa: S608
        params.extend(one.params)
        sent.append(index)
    setattr(request, _READ_AHEAD, ahead)
    # The statement's first column is never null (Planner.set_with keeps the rows whose first
    # column is not); then each along read's columns, behind a column that says whether it found
    # a row; then the choices' part, number and row.
    columns = ["1 AS sent"]
    joins: list[str] = []
    along_params: list[Any] = []
    along_sent: list[tuple[int, int]] = []  # (the read's index, its first column)
    width = 1
    for index, (one, columns_given) in enumerate(along):
        if one.sql is None:  # can match no row
            continue
        joins.append(f"LEFT JOIN (SELECT 1 AS found, a.* FROM ({one.sql}) a LIMIT 1) along{index} ON true")  # noqa: S608
        columns.append(f"along{index}.*")
        along_params.extend(one.params)
        along_sent.append((index, width))
        width += 1 + columns_given
    if not parts and not joins:
        return None
    if parts:
        joins.append(f"LEFT JOIN ({' UNION ALL '.join(parts)}) parts ON true")
        columns.append("parts.*")
    order = " ORDER BY parts.part, parts.n" if parts else ""
    sql = f"SELECT {', '.join(columns)} FROM (SELECT 1) one {' '.join(joins)}{order}"  # noqa: S608
    fetched = send(Prepared(sql, (*along_params, *params), lambda rows: rows))
    along_rows: list[list[tuple]] = [[] for _ in along]
    first = fetched[0] if fetched else None
    for index, start in along_sent:
        one, columns_given = along[index]
        if first is not None and first[start] is not None:
            along_rows[index] = one.convert([tuple(first[start + 1 : start + 1 + columns_given])])
    by_part: dict[int, list[tuple]] = {index: [] for index in sent}
    if parts:
        # In their parts' order (part, then number), whatever order the joins kept.
        found = sorted(
            (row for row in fetched if row[width] is not None), key=lambda row: row[width : width + 2]
        )
        for row in found:
            by_part[row[width]].append(tuple(row[width + 2 :]))
    for index in sent:
        ahead[_read_key(reads[index])] = prepared[index].convert(by_part[index])
    return along_rows


def forget_filter_choices(request: HttpRequest) -> None:
    """Drop what was read ahead and not asked for (a later rendering of the page reads its own)."""
    if hasattr(request, _READ_AHEAD):
        delattr(request, _READ_AHEAD)


def partner_filter(path: str = "partner") -> type[admin.SimpleListFilter]:
    """A partner filter that lists only the partners the user may see (a channel account manager:
    their portfolio) and that have marketing funds, never every partner's name: with more than
    PARTNER_FILTER_LIMIT of them it offers only the one chosen (``?partner=<id>`` still works)."""

    class VisiblePartnerFilter(admin.SimpleListFilter):
        title = _("partner")
        parameter_name = "partner"

        @classmethod
        def choices_read(cls, request: HttpRequest) -> ChoicesRead:
            # The limit is part of the statement's shape (read here, not baked into it).
            return (_FUNDED_PARTNERS, {"limit": PARTNER_FILTER_LIMIT})

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[Any, str]]:
            actor = request.actor
            listed = choices_rows(request, self.choices_read(request))
            if len(listed) <= PARTNER_FILTER_LIMIT:
                return listed
            chosen = self.value()
            return list(_funded_partners(actor).filter(pk=chosen)) if chosen and str(chosen).isdigit() else []

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            if self.value():
                return queryset.filter(**{f"{path}_id": self.value()})
            return queryset

    return VisiblePartnerFilter


def _named_rows(actor: Actor, model_label: str, ordering: tuple[str, ...]) -> QuerySet:
    """``(pk, name)`` of every row of ``model_label`` in ``ordering``: what ``field.get_choices``
    lists for a related filter, for a model whose ``str()`` is its ``name``."""
    model = apps.get_model(model_label)
    return model._default_manager.order_by(*ordering).values_list("pk", "name")


# The related filters' choices (tiers, periods) on every changelist, compiled once per shape.
_NAMED_ROWS = Statement("mdf.admin.named_rows", _named_rows)


class NamedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """Django's RelatedFieldListFilter for a related model whose ``str()`` is its ``name`` (a tier,
    a fund period): its choices read by a kept statement, the related admin's ordering as the
    shape, where Django built the queryset and a model instance per row on each changelist. A
    field that limits its choices (``limit_choices_to``) is Django's."""

    @classmethod
    def choices_read(
        cls, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin
    ) -> ChoicesRead | None:
        """The kept read of ``field``'s choices; None for a field that limits them (Django's)."""
        if field.get_limit_choices_to():
            return None
        # Django's field_admin_ordering reads nothing of the filter (the related admin's ordering):
        # asked of an instance not yet built, so the page can read the choices before the filters.
        ordering = tuple(cls.__new__(cls).field_admin_ordering(field, request, model_admin) or ())
        return (_NAMED_ROWS, {"model_label": field.remote_field.model._meta.label, "ordering": ordering})

    def field_choices(self, field: Any, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[Any]:
        read = self.choices_read(field, request, model_admin)
        if read is None:
            return super().field_choices(field, request, model_admin)
        return list(choices_rows(request, read))


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


class RowLinksChangeList(ChangeList):
    """A changelist whose row links carry the list's filters themselves. Django adds them to each
    link through ``add_preserved_filters``, which resolves the link against the whole URLconf to
    see whether it is the changelist: twice per row, a third of a filtered changelist's time at
    50 rows. A row links to the object's page, never to the changelist, so the filters are simply
    its query string (the same one Django builds)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.row_filters, self.preserved_filters = self.preserved_filters, ""

    def url_for_result(self, result: Any) -> str:
        url = super().url_for_result(result)
        return f"{url}?{self.row_filters}" if self.row_filters else url


class DecisionAdminMixin(DirectActionCheckboxMixin):
    """Service-backed actions with an intermediate page, also offered per object: the buttons on an
    object's page open the same page for that one object (``<pk>/decide/<action>/``). Objects are
    read-only here: every change is a service call."""

    object_actions: list[ObjectAction] = []

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return RowLinksChangeList

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # A changelist asks four times (the checkbox column, the action menu, the sort links of
        # the queue summary, the action's own dispatch), each time every action's permission
        # through every authentication backend: once per request is enough.
        kept = request.__dict__.setdefault("_admin_actions", {})
        if id(self) not in kept:
            kept[id(self)] = super().get_actions(request)
        return dict(kept[id(self)])

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
        context = confirmation_context(
            self,
            request,
            title=title,
            action=action,
            form=form,
            subtitle=None,
            app_label=opts.app_label,
            queryset=list(queryset),
            single_object=single,
            single_object_url=self._change_url(request, single) if single is not None else None,
            shared_fields=form.shared_fields(),
            headers=headers,
            rows=rows,
            has_amounts=any(row.field is not None for row in rows),
            submit_label=submit_label,
            submit_style=submit_style,
            # A page of its own (the allocation form) says where Cancel goes: not twice.
            **{"cancel_url": cancel_url, **(extra or {})},
        )
        request.current_app = self.admin_site.name
        return TemplateResponse(request, template, context)


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


@lru_cache(maxsize=32)
def request_row_labels(language: str | None) -> dict[str, Any]:
    """The changelist's per-row words in ``language`` (the active one, passed as the key), escaped."""
    return {
        "activities": {value: str(label) for value, label in ActivityType.choices},
        "approved": escape(gettext("approved")),
    }
