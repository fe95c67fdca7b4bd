"""Market development funds: periods and budgets, partner allocations, the append-only fund
ledger, fund requests (pre-approval), claims with proof of performance."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.models import Partner
from prm.money import currency_field, money_field
from prm.search_vectors import search_vector_field
from prm.transitions import StateMachine

from .storage import claim_proof_path

POSITIVE = [MinValueValidator(Decimal("0.01"))]


def choice_label(choices: type[models.TextChoices], value: str) -> str:
    """The label of ``value`` in ``choices``; a value outside them shows as itself, as
    ``get_FOO_display()`` does."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


class FundPeriod(models.Model):
    """A fiscal period (e.g. "FY2026 H2"). Unused allocations forfeit when it ends."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="period_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def contains(self, day) -> bool:
        return self.starts_on <= day <= self.ends_on


class Budget(models.Model):
    """The vendor's MDF budget for a period and currency; allocations draw on it."""

    period = models.ForeignKey(FundPeriod, on_delete=models.PROTECT, related_name="budgets")
    currency = currency_field(verbose_name=_("currency"))
    amount = money_field(verbose_name=_("budget"), validators=POSITIVE)

    class Meta:
        ordering = ["period", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["period", "currency"], name="budget_one_per_period_currency")
        ]

    def __str__(self) -> str:
        return f"{self.period} · {self.amount:,.2f} {self.currency}"


class Allocation(models.Model):
    """A partner's fund account for one budget. Its balances are sums of ledger entries; this row
    is also the lock that serialises approvals against it."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="fund_allocations")
    budget = models.ForeignKey(Budget, on_delete=models.PROTECT, related_name="allocations")
    currency = currency_field(verbose_name=_("currency"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-budget__period__starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "budget"], name="allocation_one_per_partner_budget")
        ]

    def __str__(self) -> str:
        return f"{self.partner} · {self.budget.period} ({self.currency})"


class LedgerKind(models.TextChoices):
    ALLOCATED = "allocated", _("Allocated")
    ACCRUED = "accrued", _("Accrued (co-op)")
    COMMITTED = "committed", _("Committed")
    RELEASED = "released", _("Released")
    CLAIMED = "claimed", _("Claimed")
    PAID = "paid", _("Paid")
    FORFEITED = "forfeited", _("Forfeited")


class LedgerEntry(models.Model):
    """One movement of funds. Append-only (the database refuses UPDATE and DELETE); a correction
    is a new entry. Amounts are positive; the kind says which balance they move."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="entries")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    amount = money_field(validators=POSITIVE)
    currency = currency_field()
    idempotency_key = models.CharField(max_length=120, unique=True)
    fund_request = models.ForeignKey(
        "FundRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    source = models.CharField(max_length=120, blank=True, help_text=_("What caused it, e.g. deal:123."))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    memo = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [
            # An allocation's balances are sums of its entries by kind (mdf.ledger, and the fund
            # request changelist's "available" column for each of its 50 rows). With the amount,
            # and the partner_id that row-level security reads, the sums come from the index
            # alone: a large partner's allocation has hundreds of entries.
            models.Index(
                fields=["allocation", "kind"],
                name="ledger_allocation_sums_idx",
                include=["amount", "partner"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class AllocationBalance(models.Model):
    """An allocation's available funds (allocated + accrued + released - forfeited - committed -
    claimed), kept by PostgreSQL: a trigger on the ledger adds new entries' signed amounts in
    their own transaction (migration ``0008_allocation_balance_trigger``). A projection for lists (the
    fund request changelist prints it on each of its 50 rows, which summed hundreds of entries
    per row): money decisions still read ``mdf.ledger``'s sums of the locked ledger.

    A table of its own, not a column on Allocation: ``Allocation.save()`` would write back the
    value it read. No Django code writes it; an allocation without entries has no row (reads as
    0). Row-level security as the ledger's: the same tenant column and money flag, so whoever
    may write an entry may write its allocation's balance."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    # DO_NOTHING: a balance row exists only for an allocation with ledger entries, which protect
    # the allocation (and its partner) from deletion anyway; only the trigger writes here.
    allocation = models.OneToOneField(
        Allocation, primary_key=True, on_delete=models.DO_NOTHING, related_name="balance"
    )
    partner = models.ForeignKey(Partner, on_delete=models.DO_NOTHING, related_name="+")
    available = money_field()

    class Meta:
        verbose_name = _("allocation balance")
        verbose_name_plural = _("allocation balances")

    def __str__(self) -> str:
        return f"{self.allocation_id}: {self.available}"


class ActivityType(models.TextChoices):
    EVENT = "event", _("Event")
    WEBINAR = "webinar", _("Webinar")
    DIGITAL = "digital", _("Digital campaign")
    CONTENT = "content", _("Content")
    TRAINING = "training", _("Training")
    OTHER = "other", _("Other")


class RequestStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for changes")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    CLAIM_SUBMITTED = "claim_submitted", _("Claim submitted")
    CLAIM_APPROVED = "claim_approved", _("Claim approved")
    CLAIM_REJECTED = "claim_rejected", _("Claim rejected")
    PAID = "paid", _("Paid")
    EXPIRED = "expired", _("Expired (not claimed)")


REQUEST_TRANSITIONS: dict[str, set[str]] = {
    RequestStatus.DRAFT: {RequestStatus.SUBMITTED},
    RequestStatus.SUBMITTED: {RequestStatus.APPROVED, RequestStatus.REJECTED, RequestStatus.RETURNED},
    RequestStatus.RETURNED: {RequestStatus.SUBMITTED},
    RequestStatus.APPROVED: {RequestStatus.CLAIM_SUBMITTED, RequestStatus.EXPIRED},
    RequestStatus.CLAIM_SUBMITTED: {RequestStatus.CLAIM_APPROVED, RequestStatus.CLAIM_REJECTED},
    RequestStatus.CLAIM_APPROVED: {RequestStatus.PAID},
    RequestStatus.CLAIM_REJECTED: set(),
    RequestStatus.REJECTED: set(),
    RequestStatus.PAID: set(),
    RequestStatus.EXPIRED: set(),
}


class FundRequest(models.Model):
    """A pre-approval request for an MDF activity. Its status also follows the claim made on it,
    so the claim services move the request (a claim has no status of its own)."""

    TENANT_COLUMN = "partner_id"
    TRANSITIONS = StateMachine(
        REQUEST_TRANSITIONS, refusal=_("A request that is %(current)s cannot become %(target)s.")
    )
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="fund_requests")
    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(max_length=20, unique=True, editable=False)
    activity_type = models.CharField(_("activity type"), max_length=12, choices=ActivityType.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"))
    start_date = models.DateField(_("starts on"))
    end_date = models.DateField(_("ends on"))
    total_cost = money_field(verbose_name=_("total cost"), validators=POSITIVE)
    requested_amount = money_field(verbose_name=_("requested amount"), validators=POSITIVE)
    currency = currency_field(verbose_name=_("currency"))
    expected_leads = models.PositiveIntegerField(_("expected leads"), default=0)
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.DRAFT)
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    short_notice_confirmed = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_amount = money_field(verbose_name=_("approved amount"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(_("comment"), blank=True)
    needs_program_admin = models.BooleanField(
        default=False, help_text=_("Above the channel account manager's approval limit.")
    )
    claim_deadline = models.DateField(_("claim by"), null=True, blank=True)
    # The one search box (prm.search).
    search_vector = search_vector_field("reference", "title")

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            GinIndex(fields=["search_vector"], name="fundrequest_search_idx"),
            # A partner's request list, newest first (by status, or all): the id completes the
            # list's order, so a page's ids come from the index alone, an index-only scan that
            # stops after the page. Row-level security hides the partner's true row count from
            # the planner, which otherwise read and sorted every request of the partner (4,000+).
            models.Index(
                fields=["partner", "status", "-created_at", "-id"], name="fundrequest_partner_status_idx"
            ),
            models.Index(fields=["partner", "-created_at", "-id"], name="fundrequest_partner_recent_idx"),
            # The admin changelist, latest submission first (drafts last), all requests or by
            # status: a page's ids are the first entries of the index, not a sort of 200,000
            # requests joined to their partners and periods. partner_id, which the
            # row-level-security policy reads, makes them (and the capped count) index-only.
            models.Index(
                models.F("submitted_at").desc(nulls_last=True),
                models.F("id").desc(),
                name="fundrequest_submitted_idx",
                include=["partner_id"],
            ),
            models.Index(
                models.F("status"),
                models.F("submitted_at").desc(nulls_last=True),
                models.F("id").desc(),
                name="fundrequest_status_sub_idx",
                include=["partner_id"],
            ),
            # The review queue and its summary (how many wait, how many above a channel account
            # manager's limit, the oldest): with the partner (which row-level security reads) and
            # the escalation flag in the index, the summary is an index-only scan of the waiting
            # requests, not a read of their rows (846 rows in 148 pages at full size, 0.6 ms).
            models.Index(
                fields=["status", "submitted_at"],
                name="fundrequest_queue_idx",
                include=["partner_id", "needs_program_admin"],
            ),
            models.Index(fields=["activity_type"], name="fundrequest_activity_idx"),
            models.Index(fields=["status", "claim_deadline"], name="fundrequest_deadline_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    # The list pages' labels. ``get_status_display()`` rebuilds the field's whole choices
    # dictionary on every call, translating each of the ten labels to hash it: on a page of 25
    # requests, status and activity cost more than the page's queries. The enum finds one label.
    @property
    def status_label(self) -> str:
        return choice_label(RequestStatus, self.status)

    @property
    def activity_label(self) -> str:
        return choice_label(ActivityType, self.activity_type)


class FundClaim(models.Model):
    """The claim after the activity: actual cost, results and proof of performance."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    fund_request = models.OneToOneField(FundRequest, on_delete=models.PROTECT, related_name="claim")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    actual_cost = money_field(verbose_name=_("actual cost"), validators=POSITIVE)
    claimed_amount = money_field(verbose_name=_("amount claimed"), validators=POSITIVE)
    leads_generated = models.PositiveIntegerField(_("leads generated"), default=0)
    attendees = models.PositiveIntegerField(_("attendees / reach"), default=0)
    notes = models.TextField(_("results and notes"), blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    approved_amount = money_field(verbose_name=_("approved amount"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payment_reference = models.CharField(_("payment reference"), max_length=100, blank=True)

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self) -> str:
        return f"Claim for {self.fund_request}"


class ClaimProof(models.Model):
    """A proof-of-performance file, stored under the partner's prefix with a random name and
    served only through a view that checks the policy."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    claim = models.ForeignKey(FundClaim, on_delete=models.CASCADE, related_name="proofs")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    file = models.FileField(upload_to=claim_proof_path, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return self.original_name


class ApprovalLimit(models.Model):
    """How much one channel account manager may approve on one request; above it, a program
    admin decides."""

    RLS_VENDOR_ONLY = True
    RLS_MONEY = True

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mdf_approval_limits"
    )
    amount = money_field(verbose_name=_("approval limit"))
    currency = currency_field()

    class Meta:
        # One limit per manager and currency: 10,000 USD is not 10,000 JPY.
        constraints = [
            models.UniqueConstraint(fields=["user", "currency"], name="approvallimit_user_currency")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.amount} {self.currency}"
