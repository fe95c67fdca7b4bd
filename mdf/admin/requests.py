"""Fund requests: channel account managers and program admins approve, return or reject."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import InvalidPage
from django.db.models import (
    Count,
    F,
    Min,
    Q,
    QuerySet,
    Value,
)
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from partners.admin import ScopedAdminMixin, WholeProgramIndexWalkMixin
from partners.policies import vendor_sees_all
from prm.admin import BigTableAdmin, DateRangeFilter
from prm.admin_actions import confirm_then_run, run_each
from prm.markup import escape
from prm.pagination import planner
from prm.roles import VendorRole
from prm.statements import Statement
from prm.tenancy import Actor
from prm.views import CappedKeysFirstPaginator, KeysFirstPaginator

from .. import ledger, services
from ..models import (
    ApprovalLimit,
    FundClaim,
    FundRequest,
    RequestStatus,
)
from ..policies import fund_request_policy
from . import fast_changelist
from .common import (
    ZERO,
    AlongRead,
    ApproveRequestsForm,
    DecisionAdminMixin,
    NamedRelatedFieldListFilter,
    ObjectAction,
    ReasonForm,
    Row,
    RowLinksChangeList,
    _available_subquery,
    age,
    ago,
    badge,
    date_range,
    history_rows,
    money,
    partner_filter,
    request_row_labels,
    status_badge,
)


# --- Fund requests --------------------------------------------------------------------------------
def _submitted(obj: FundRequest) -> bool:
    return obj.status == RequestStatus.SUBMITTED


class KeysFirstSerialPaginator(CappedKeysFirstPaginator):
    """A page's keys read without parallel workers: the index gives the 50 keys in well under a
    millisecond, and starting two workers for it (row-level security makes PostgreSQL expect
    the whole table to be scanned) cost 20 ms and more on a busy machine."""

    def page_keys(self, bottom: int, top: int) -> list[Any]:
        # CappedKeysFirstPaginator's index walk (sorting the last resort) and no parallel workers,
        # set together: one statement before and one after rather than two each.
        settings = {"max_parallel_workers_per_gather": "0"}
        if self.walk_index:
            settings["enable_sort"] = "off"
        with planner(**settings):
            return KeysFirstPaginator.page_keys(self, bottom, top)


class FundRequestChangeList(RowLinksChangeList):
    """The page's 50 rows read with only what the columns print: their partner (its name) and the
    available funds, not the tier, allocation, budget, period and requester that the admin's
    queryset joins for the change form and the actions' pages (seven model instances a row, a
    quarter of the changelist's CPU), nor the wide description and search columns."""

    def get_results(self, request: HttpRequest) -> None:
        full = self.queryset
        self.queryset = (
            full.select_related(None).select_related("partner").defer("description", "search_vector")
        )
        try:
            super().get_results(request)
        finally:
            self.queryset = full


def _waiting(actor: Actor) -> QuerySet[FundRequest]:
    """What waits for the actor's decision: how many submitted requests, how many of them above a
    channel account manager's limit, the oldest submission. The aggregate of ``.aggregate()``, as
    one row: the constant it is grouped by leaves no GROUP BY (one row, even of no requests; none
    when the scope can match nothing)."""
    submitted = fund_request_policy.scope(actor).filter(status=RequestStatus.SUBMITTED).order_by()
    if not vendor_sees_all(actor):
        # A portfolio's: the submitted requests' keys first, by the (status, submission) index that
        # holds each one's partner (a filter of a few hundred rows), then those rows alone. Left to
        # itself, PostgreSQL ANDs a bitmap of all the portfolio's requests (13,000 index entries for
        # 500 partners at full size) with the submitted ones: 2.4 -> 0.7 ms (EXPLAIN ANALYZE, the
        # least of 25). The whole program's submitted requests are read as before (a bitmap of the
        # status, 1.0 ms; by keys first 1.7 ms).
        submitted = submitted.filter(pk__in=submitted.values("pk"))
    return (
        submitted.values(all=Value(1))
        .annotate(
            # Rows and the flag, not keys: the queue index holds every column read here, not the key.
            total=Count("*"),
            escalated=Count("needs_program_admin", filter=Q(needs_program_admin=True)),
            oldest=Min("submitted_at"),
        )
        .values_list("total", "escalated", "oldest")
    )


def _approval_limit(actor: Actor) -> QuerySet[ApprovalLimit]:
    return ApprovalLimit.objects.filter(user_id=actor.user.pk).values_list("amount", "currency")


def _has_approval_limit(actor: Actor) -> bool:
    """Whether the queue summary shows the actor's approval limit (a channel account manager's)."""
    return actor.is_vendor and actor.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER


# The queue summary's reads on every changelist, compiled once per shape (prm.statements).
_WAITING = Statement("mdf.admin.waiting_requests", _waiting)
_APPROVAL_LIMIT = Statement("mdf.admin.approval_limit", _approval_limit)


@admin.register(FundRequest)
class FundRequestAdmin(DecisionAdminMixin, WholeProgramIndexWalkMixin, ScopedAdminMixin, BigTableAdmin):
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
        ("partner__tier", NamedRelatedFieldListFilter),
        ("allocation__budget__period", NamedRelatedFieldListFilter),
        "activity_type",
        "needs_program_admin",
        ("submitted_at", DateRangeFilter),
    ]
    search_fields = ["reference", "title", "partner__legal_name"]
    search_help_text = _("Search by reference, title or partner name.")
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

    # A page's ids from the (submitted_at, id) indexes first, then those 50 rows with their
    # partner, tier, period and available funds (prm.views.KeysFirstPaginator): row-level security
    # hides the row counts from the planner, which joined and sorted every request first.
    paginator = KeysFirstSerialPaginator

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        if getattr(request, "_mdf_fast_changelist", False):
            return fast_changelist.fast_changelist_class(FundRequestChangeList)
        return FundRequestChangeList

    def _scoped(self, request: HttpRequest) -> QuerySet:
        # The portal's own rule (fund_request_policy): a channel account manager's portfolio by its
        # resolved ids, which the planner can count, rather than the mixin's subquery.
        return fund_request_policy.scope(request.actor, BigTableAdmin.get_queryset(self, request))

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        if getattr(request, "_mdf_fast_changelist", False):
            # The fast changelist's root queryset (ChangeList.__init__ asks for it) is not read:
            # its rows come from kept statements through the same scope (fast_changelist._listed).
            return self.model._default_manager.none()
        return (
            self._scoped(request)
            .select_related("partner", "partner__tier", "allocation__budget__period", "requested_by")
            .annotate(available_funds=_available_subquery())
        )

    # Columns -----------------------------------------------------------------------------------
    # The changelist's columns run once per row (50 a page): their markup is format_html's,
    # escaped without its wrappers (prm.markup.escape), and the labels come translated once per
    # language (request_row_labels).
    @admin.display(description=_("activity"), ordering="title")
    def activity_display(self, obj: FundRequest) -> SafeString:
        activity = request_row_labels(get_language())["activities"].get(obj.activity_type, obj.activity_type)
        return mark_safe(  # noqa: S308 -- every value escaped
            f'{escape(obj.title)}<span class="mdf-quiet mdf-sub">{escape(activity)} · '
            f"{escape(date_range(obj.start_date, obj.end_date))}</span>"
        )

    @admin.display(description=_("requested"), ordering="requested_amount")
    def amount_display(self, obj: FundRequest) -> SafeString:
        requested = escape(money(obj.requested_amount, obj.currency))
        if obj.approved_amount is None:
            return mark_safe(requested)  # noqa: S308 -- escaped
        approved = request_row_labels(get_language())["approved"]
        return mark_safe(  # noqa: S308 -- every value escaped
            f'{requested}<span class="mdf-sub mdf-approved" title="{approved}">'
            f"✓ {escape(money(obj.approved_amount))}</span>"
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
                money(available, obj.currency),
            )
        return money(available, obj.currency)

    @admin.display(description=_("age"), ordering="-submitted_at")
    def age_display(self, obj: FundRequest) -> str:
        return age(obj.submitted_at)

    # Change list and change form -----------------------------------------------------------------
    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = extra_context or {}

        def djangos_page(queue: dict[str, Any] | None = None) -> HttpResponse:
            context = {**extra_context, **(queue or self._queue_summary(request))}
            return super(FundRequestAdmin, self).changelist_view(request, context)

        # The common GET without Django's template (mdf/admin/fast_changelist.py); Django's page
        # for anything else, for a user it refuses (its 403), and while no frame is kept.
        if not fast_changelist.covered(request) or not self.has_view_or_change_permission(request):
            return djangos_page()
        key = fast_changelist.frame_key(request)
        found = fast_changelist.frame(key)
        if found is None:
            return djangos_page()
        fast = self._fast_middle(request, extra_context)
        if fast is None:
            return djangos_page()
        written, page_context = fast
        if found is False:
            # No frame yet: Django's page, whose frame is kept if its middle is the one written.
            response = djangos_page({"queue": page_context["queue"]})
            response.render()
            if response.status_code == 200:
                fast_changelist.capture(request, key, response.content.decode(response.charset), written)
            return response
        return fast_changelist.page(request, found, written, page_context)

    def _fast_middle(
        self, request: HttpRequest, context: dict[str, Any]
    ) -> tuple[str, dict[str, Any]] | None:
        """The page's middle for the covered GET (fast_changelist.middle) and its context, or None
        for a page number past the last (Django's path redirects it)."""
        request._mdf_fast_changelist = True
        # The queue summary's reads travel with the filters' choices (the changelist's first
        # statement): one round trip less each.
        along = self._queue_reads(request.actor)
        setattr(request, fast_changelist.ALONG_READS, along)
        try:
            cl = self.get_changelist_instance(request)
        except (IncorrectLookupParameters, InvalidPage):
            return None
        finally:
            request._mdf_fast_changelist = False
            delattr(request, fast_changelist.ALONG_READS)
        read = request.__dict__.pop(fast_changelist.ALONG_ROWS, None)
        context = {**context, **self._queue_summary(request, read)}
        cl.formset = None
        actions = self.get_actions(request)
        result_count = cl.result_count
        texts = fast_changelist.DJANGO_TEXTS
        context = {
            **context,
            "cl": cl,
            "opts": cl.opts,
            "title": cl.title,
            "module_name": str(self.opts.verbose_name_plural),
            "selection_note": gettext(texts["selection"]) % {"cnt": len(cl.result_list)},
            "selection_note_all": ngettext(*texts["selected_all"], result_count)
            % {"total_count": result_count},
            "has_add_permission": self.has_add_permission(request),
            "action_form": self.action_form(auto_id=None) if actions else None,
            "action_choices": self.get_action_choices(request) if actions else [],
            "actions_on_top": self.actions_on_top,
            "actions_on_bottom": self.actions_on_bottom,
            "actions_selection_counter": self.actions_selection_counter,
        }
        return fast_changelist.middle(request, cl, context), context

    def _queue_reads(self, actor: Actor) -> list[AlongRead]:
        """The queue summary's reads, unsent, with their widths: what waits, and a channel account
        manager's approval limit."""
        reads = [(_WAITING.prepare(actor), 3)]
        if _has_approval_limit(actor):
            reads.append((_APPROVAL_LIMIT.prepare(actor), 2))
        return reads

    def _queue_summary(self, request: HttpRequest, read: list[list[tuple]] | None = None) -> dict[str, Any]:
        """What waits for a decision, with links to work it oldest first: from the rows of
        :meth:`_queue_reads` already ``read`` (sent with the fast changelist's first statement),
        or read now (two queries)."""
        actor = request.actor
        # No row when the actor's scope matches nothing at all (a role without funds: the ORM's
        # EmptyResultSet), as an aggregate over no request would say.
        waiting = _WAITING.rows(actor) if read is None else read[0]
        total, escalated, oldest = next(iter(waiting), (0, 0, None))
        counts = {"total": total, "escalated": escalated, "oldest": oldest}
        base = reverse("admin:mdf_fundrequest_changelist", current_app=self.admin_site.name)
        queue = {
            "status__exact": RequestStatus.SUBMITTED,
            "o": self.order_param(request, "age_display", descending=True),  # oldest first
        }
        limit_text = ""
        if _has_approval_limit(actor):
            limits = _APPROVAL_LIMIT.rows(actor) if read is None else read[1]
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
                obj.activity_label,
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
        limits: dict[str, Decimal | None] = {}

        def limit_of(currency: str) -> Decimal | None:
            if currency not in limits:
                limits[currency] = services.approval_limit_of(request.user, currency)
            return limits[currency]

        def run(form: Any) -> None:
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

            run_each(self, request, requests, decide, label=lambda obj: obj.reference)
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

        def page(form: Any) -> HttpResponse:

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
                title=ngettext(
                    "Approve %(count)s fund request", "Approve %(count)s fund requests", len(requests)
                )
                % {"count": len(requests)},
                form=form,
                headers=[
                    _("Request"),
                    _("Partner"),
                    _("Activity"),
                    _("Status"),
                    _("Requested"),
                    _("Available"),
                ],
                rows=rows,
                submit_label=gettext("Approve and commit funds"),
                extra={"deciding": deciding},
            )

        return confirm_then_run(
            request,
            form=lambda data: ApproveRequestsForm(
                data,
                rows=[(obj.pk, obj.requested_amount, obj.requested_amount, obj.currency) for obj in deciding],
            ),
            submit_name="post",
            run=run,
            page=page,
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

        def run(form: Any) -> None:
            reason = form.cleaned_data["reason"]
            done = run_each(
                self,
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

        def page(form: Any) -> HttpResponse:
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
                headers=[
                    _("Request"),
                    _("Partner"),
                    _("Activity"),
                    _("Status"),
                    _("Requested"),
                    _("Available"),
                ],
                rows=rows,
                submit_label=submit_label,
                submit_style=submit_style,
            )

        return confirm_then_run(
            request,
            form=lambda data: ReasonForm(data, label=label, help_text=help_text),
            submit_name="post",
            run=run,
            page=page,
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
