"""Deal registration, conflict evidence, extensions, and vendor leads with their acceptance SLA."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from partners.models import Partner, Region
from prm.money import currency_field, money_field
from prm.search_vectors import search_vector_field
from prm.transitions import StateMachine


class Product(models.Model):
    """The vendor's catalogue. Not tenant-owned: every partner registers against it."""

    name = models.CharField(_("name"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    product_line = models.CharField(_("product line"), max_length=100, db_index=True)
    list_price = money_field(verbose_name=_("list price"), validators=[MinValueValidator(Decimal("0"))])
    currency = currency_field(verbose_name=_("currency"))
    active = models.BooleanField(_("active"), default=True, db_index=True)

    class Meta:
        ordering = ["product_line", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class DealStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for information")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    # Reported won outside what was registered and approved: counts only once the vendor confirms.
    WON_PENDING = "won_pending", _("Won, awaiting vendor confirmation")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    EXPIRED = "expired", _("Expired")


# The only status changes there are; services check them, nothing else assigns status.
DEAL_TRANSITIONS: dict[str, set[str]] = {
    DealStatus.DRAFT: {DealStatus.SUBMITTED},
    DealStatus.SUBMITTED: {DealStatus.APPROVED, DealStatus.REJECTED, DealStatus.RETURNED},
    DealStatus.RETURNED: {DealStatus.SUBMITTED},
    DealStatus.APPROVED: {DealStatus.WON, DealStatus.WON_PENDING, DealStatus.LOST, DealStatus.EXPIRED},
    # Confirmed (possibly corrected) by the vendor, or the claim is turned down and the deal is
    # open again, so the partner can report the real figures or mark it lost.
    DealStatus.WON_PENDING: {DealStatus.WON, DealStatus.APPROVED},
    DealStatus.REJECTED: set(),
    DealStatus.WON: set(),
    DealStatus.LOST: set(),
    DealStatus.EXPIRED: set(),
}
# Registrations that hold (or claim) a customer: the ones conflicts are checked against. A win
# awaiting confirmation still holds it: turned down, the deal is approved again.
OPEN_STATUSES = (DealStatus.SUBMITTED, DealStatus.RETURNED, DealStatus.APPROVED, DealStatus.WON_PENDING)


class WonCheck(models.TextChoices):
    """Why a reported win waits for the vendor's confirmation (see deals.services.won_checks)."""

    AMOUNT_ABOVE_REGISTERED = "amount_above_registered", _("The won amount is above the registered amount")
    CLOSED_BEFORE_APPROVAL = "closed_before_approval", _("The close date is before the deal was approved")
    CLOSED_AFTER_PROTECTION = (
        "closed_after_protection",
        _("The close date is after the deal's protection ended"),
    )


_WON_CHECK_LABELS = dict(WonCheck.choices)


class DealStage(models.TextChoices):
    PROSPECTING = "prospecting", _("Prospecting")
    QUALIFICATION = "qualification", _("Qualification")
    PROPOSAL = "proposal", _("Proposal")
    NEGOTIATION = "negotiation", _("Negotiation")
    # Set by the won / lost transitions, never chosen: a closed deal's stage says how it closed
    # instead of staying at whatever open stage it had reached.
    CLOSED_WON = "closed_won", _("Closed – won")
    CLOSED_LOST = "closed_lost", _("Closed – lost")


# The stages a partner moves an open deal through (the stage form, a new registration).
OPEN_STAGE_CHOICES = [(value, label) for value, label in DealStage.choices if not value.startswith("closed_")]
# A closed deal no longer holds the customer: its protection is not shown anywhere.
CLOSED_STATUSES = (DealStatus.WON, DealStatus.LOST)


class ConflictStatus(models.TextChoices):
    NONE = "none", _("No conflict")
    UNDER_REVIEW = "under_review", _("Possible conflict under review")
    CLEARED = "cleared", _("Cleared")


_STATUS_LABELS = dict(DealStatus.choices)
_STAGE_LABELS = dict(DealStage.choices)


class Deal(models.Model):
    TENANT_COLUMN = "partner_id"
    TRANSITIONS = StateMachine(
        DEAL_TRANSITIONS, refusal=_("A deal that is %(current)s cannot become %(target)s.")
    )
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="deals")
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(_("reference"), max_length=20, unique=True, editable=False)
    # End customer
    customer_name = models.CharField(_("customer company"), max_length=200)
    customer_domain = models.CharField(_("customer website domain"), max_length=253, blank=True)
    # The company name without case, punctuation and legal suffixes ("ACME Corporation Ltd." ->
    # "acme"): what conflict detection compares, by trigram similarity.
    # Up to five ASCII letters per letter of the name (deals.names: keys are ASCII in every script).
    customer_key = models.CharField(max_length=1000, blank=True, editable=False)
    customer_country = CountryField(_("customer country"), blank=True)
    customer_region = models.CharField(_("region"), max_length=8, choices=Region.choices, blank=True)
    contact_name = models.CharField(_("contact name"), max_length=150, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    # Opportunity
    title = models.CharField(_("opportunity"), max_length=200, blank=True)
    stage = models.CharField(
        _("stage"), max_length=16, choices=DealStage.choices, default=DealStage.PROSPECTING
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    currency = currency_field(verbose_name=_("currency"))
    amount = money_field(verbose_name=_("amount"), default=Decimal("0"))
    notes = models.TextField(_("notes"), blank=True)
    # Lifecycle
    status = models.CharField(
        _("status"), max_length=16, choices=DealStatus.choices, default=DealStatus.DRAFT
    )
    conflict_status = models.CharField(
        max_length=16, choices=ConflictStatus.choices, default=ConflictStatus.NONE
    )
    submission_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    first_submitted_at = models.DateTimeField(null=True, blank=True)
    review_due_at = models.DateTimeField(null=True, blank=True)
    review_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    protection_expires_at = models.DateTimeField(_("protected until"), null=True, blank=True)
    discount_percent = models.DecimalField(
        _("registration discount %"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    extensions_used = models.PositiveSmallIntegerField(default=0)
    expiry_warnings_sent = models.JSONField(default=list, blank=True)
    won_amount = money_field(verbose_name=_("won amount"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    lost_reason = models.TextField(_("lost reason"), blank=True)
    # The partner's report of a win (won_amount and closed_on above) and, when it fell outside what
    # was registered, why it waited (WonCheck values) and the vendor's decision on it.
    won_claimed_at = models.DateTimeField(_("win reported"), null=True, blank=True)
    won_checks = models.JSONField(_("win checks"), default=list, blank=True)
    won_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    won_reviewed_at = models.DateTimeField(_("win decided"), null=True, blank=True)
    won_review_reason = models.TextField(_("win decision note"), blank=True)
    # The one search box (prm.search): reference, customer, domain, opportunity and contact.
    search_vector = search_vector_field(
        "reference", "customer_name", "customer_domain", "title", "contact_name"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The one search box (prm.search). Under row-level security PostgreSQL uses no index
            # for the text-search match (@@ is not leakproof), so a partner's search reads its own
            # deals' vectors from this index alone (an index-only scan: the policy's partner_id,
            # the id, the sales user's registered_by, and the vector), never their heap pages. The GIN
            # index serves searches in a scope without row-level security (system jobs, the shell).
            GinIndex(fields=["search_vector"], name="deal_search_idx"),
            models.Index(
                fields=["partner"],
                name="deal_partner_search_idx",
                include=["id", "registered_by", "status", "search_vector"],
            ),
            # A partner's deal list, newest first (by status, or all): the id completes the order
            # the list sorts by, so a page's ids come from the index alone (an index-only scan
            # that stops after the page) instead of every one of the partner's rows being read
            # and sorted — row-level security hides the partner's true row count from the planner.
            models.Index(fields=["partner", "status", "-created_at", "-id"], name="deal_partner_status_idx"),
            models.Index(fields=["partner", "-created_at", "-id"], name="deal_partner_recent_idx"),
            # The vendor's lists and the admin changelist, newest first (all deals, or by
            # status): a page is the first rows of the index, not a sort of a million deals. The
            # date filters are ranges of created_at, so they use them too. partner_id, which the
            # row-level-security policy reads, makes their capped counts index-only scans.
            models.Index(fields=["-created_at", "-id"], name="deal_recent_idx", include=["partner_id"]),
            models.Index(
                fields=["status", "-created_at", "-id"], name="deal_status_recent_idx", include=["partner_id"]
            ),
            # The review queue, oldest submission first (the id completes its order); with what
            # the dashboard counts of it (due, overdue, conflicts) and the policy's partner_id, its
            # counts read the index alone.
            models.Index(
                fields=["status", "submitted_at", "id"],
                name="deal_review_queue_idx",
                include=["partner_id", "review_due_at", "conflict_status"],
            ),
            # A portfolio's overdue reviews (the vendor dashboard's count for a channel account
            # manager): each partner's submitted deals by deadline, read from the index alone.
            models.Index(
                fields=["partner", "review_due_at"],
                name="deal_partner_review_due_idx",
                condition=models.Q(status="submitted"),
            ),
            # The submitted deals with a possible conflict (the vendor dashboard's count of them):
            # a few percent of the queue, counted without reading the rest of it.
            models.Index(
                fields=["submitted_at"],
                name="deal_conflict_review_idx",
                include=["partner_id"],
                condition=models.Q(status="submitted", conflict_status="under_review"),
            ),
            models.Index(fields=["customer_domain", "status"], name="deal_domain_idx"),
            models.Index(fields=["customer_key", "status"], name="deal_customer_key_idx"),
            models.Index(fields=["status", "protection_expires_at"], name="deal_expiry_idx"),
            # A partner's deals about to lose protection (the "expiring soon" box on its deal list
            # and home), in the box's order (expiry, then key): its first five are read from the
            # index alone and in order, where without the key PostgreSQL fetched and sorted all of
            # the busiest partner's 975 (1.3 ms of the deal list's 1.8 at full size, 0.1 now).
            models.Index(
                fields=["partner", "status", "protection_expires_at", "id"], name="deal_partner_expiry_idx"
            ),
            models.Index(fields=["expected_close_date"], name="deal_close_date_idx"),
            # The vendor's queue of wins awaiting confirmation, oldest report first.
            models.Index(fields=["status", "won_claimed_at"], name="deal_won_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.customer_name}"

    # Deal lists call these once or twice per row; Django's generated versions rebuild a dict of
    # every (lazily translated) choice on each call, a noticeable share of a list page's time.
    @property
    def protected_until(self) -> Any:
        """When the deal's protection ends, as pages and exports show it: none once the deal is
        won or lost (the stored date stays, for the audit trail and the win checks)."""
        return None if self.status in CLOSED_STATUSES else self.protection_expires_at

    protected_until.fget.short_description = _("protected until")  # type: ignore[attr-defined]

    def get_status_display(self) -> str:
        return str(_STATUS_LABELS.get(self.status, self.status))

    def get_stage_display(self) -> str:
        return str(_STAGE_LABELS.get(self.stage, self.stage))

    @property
    def won_check_labels(self) -> list[str]:
        return [str(_WON_CHECK_LABELS.get(code, code)) for code in self.won_checks or []]

    @property
    def is_editable(self) -> bool:
        return self.status in {DealStatus.DRAFT, DealStatus.RETURNED}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CustomerKey(models.Model):
    """Every normalised customer name that was ever submitted, once, with its core and
    descriptors (``deals.names.split_company_key``).

    Conflict detection finds similar cores here first (trigram index), then fetches deals by exact
    key. The table has no tenant column and no row-level security on purpose: PostgreSQL will not
    use an index for the trigram operator on a table with row-level security (the operator is not
    leakproof), and a bare name says nothing about who registered it. Only the conflict check, in
    the vendor scope, and the vendor's deal search read it.
    """

    key = models.CharField(max_length=1000, unique=True)
    core = models.CharField(max_length=1000, default="")
    descriptors = ArrayField(models.CharField(max_length=40), default=list, blank=True)

    class Meta:
        indexes = [
            GinIndex(fields=["core"], name="customerkey_core_trgm_idx", opclasses=["gin_trgm_ops"]),
            # The vendor's deal search: names containing what was typed (deals.selectors.vendor_search).
            GinIndex(fields=["key"], name="customerkey_key_trgm_idx", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return self.key


class DealLine(models.Model):
    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines")
    # Denormalised from the deal so the row-level-security policy needs no join.
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="deal_lines")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = money_field(verbose_name=_("unit price"), validators=[MinValueValidator(Decimal("0"))])
    amount = money_field(verbose_name=_("amount"))

    class Meta:
        ordering = ["pk"]
        indexes = [
            # A product's lines by partner: a channel account manager's deal list filtered by a
            # product reads the portfolio's lines of it from the index alone (partner_id is also
            # what row-level security reads), then those deals (deals.selectors.NARROW_IDS).
            models.Index(fields=["product", "partner", "deal"], name="dealline_product_partner_idx")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"


class ConflictResolution(models.TextChoices):
    OPEN = "open", _("Open")
    DISMISSED = "dismissed", _("Not a conflict")
    UPHELD = "upheld", _("Conflict upheld")


class DealConflict(models.Model):
    """Evidence that a submitted deal may claim a customer another partner registered first.

    Vendor-only: the submitting partner sees just its deal's ``conflict_status``, never this row
    (the database enforces it too)."""

    RLS_VENDOR_ONLY = True
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="conflicts")
    conflicting_deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="+")
    domain_match = models.BooleanField(default=False)
    name_similarity = models.FloatField(default=0)
    shared_products = models.JSONField(default=list, blank=True)
    score = models.FloatField(default=0)
    resolution = models.CharField(
        max_length=12, choices=ConflictResolution.choices, default=ConflictResolution.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-score"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "conflicting_deal"], name="dealconflict_unique_pair")
        ]

    def __str__(self) -> str:
        return f"{self.deal} ↔ {self.conflicting_deal}"

    @property
    def matched_on(self) -> list[str]:
        reasons = []
        if self.domain_match:
            reasons.append("domain")
        if self.name_similarity >= 0.4:
            reasons.append("company name")
        if self.shared_products:
            reasons.append("products")
        return reasons


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class DealExtensionRequest(models.Model):
    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="extension_requests")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("why do you need more time?"))
    days = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deal"], condition=models.Q(status="pending"), name="extension_one_pending_per_deal"
            )
        ]

    def __str__(self) -> str:
        return f"{self.deal} +{self.days}d"


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    OFFERED = "offered", _("Offered to a partner")
    ACCEPTED = "accepted", _("Accepted")
    UNASSIGNABLE = "unassignable", _("No partner available")
    CLOSED = "closed", _("Closed")


# The status changes of a lead: offered (again, after a withdrawn offer) until a partner accepts
# it; handed back to new when one declines or does not answer; unassignable when no partner is left.
LEAD_TRANSITIONS: dict[str, set[str]] = {
    LeadStatus.NEW: {LeadStatus.OFFERED, LeadStatus.UNASSIGNABLE},
    LeadStatus.UNASSIGNABLE: {LeadStatus.OFFERED, LeadStatus.UNASSIGNABLE},
    LeadStatus.OFFERED: {LeadStatus.OFFERED, LeadStatus.ACCEPTED, LeadStatus.NEW, LeadStatus.UNASSIGNABLE},
    LeadStatus.ACCEPTED: set(),
    LeadStatus.CLOSED: set(),
}


class LeadSource(models.TextChoices):
    VENDOR = "vendor", _("Vendor")
    LOCATOR = "locator", _("Partner locator")


class Lead(models.Model):
    """A vendor-generated lead, or an end customer's enquiry through the public partner locator
    (``source`` "locator", ``requested_partner`` the partner they wrote to, offered to that
    partner only). Visible to a partner only while offered to, or accepted by, it."""

    TENANT_COLUMN = "assigned_partner_id"
    TRANSITIONS = StateMachine(
        LEAD_TRANSITIONS, refusal=_("A lead that is %(current)s cannot become %(target)s.")
    )
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    company_name = models.CharField(_("company"), max_length=200)
    domain = models.CharField(_("website domain"), max_length=253, blank=True)
    country = CountryField(_("country"), blank=True)
    region = models.CharField(_("region"), max_length=8, choices=Region.choices)
    contact_name = models.CharField(_("contact name"), max_length=150, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=40, blank=True)
    product_interest = models.CharField(_("product interest"), max_length=200, blank=True)
    estimated_value = money_field(verbose_name=_("estimated value"), null=True, blank=True)
    currency = currency_field(verbose_name=_("currency"))
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW)
    assigned_partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    offered_at = models.DateTimeField(null=True, blank=True)
    respond_by = models.DateTimeField(null=True, blank=True)
    deal = models.OneToOneField(
        Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="source_lead"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    source = models.CharField(
        _("source"), max_length=8, choices=LeadSource.choices, default=LeadSource.VENDOR
    )
    requested_partner = models.ForeignKey(
        Partner,
        verbose_name=_("contacted partner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The one search box (prm.search).
    search_vector = search_vector_field("company_name", "domain", "contact_name", "product_interest")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            GinIndex(fields=["search_vector"], name="lead_search_idx"),
            models.Index(fields=["assigned_partner", "status"], name="lead_partner_status_idx"),
            # A customer's repeated enquiry to the same partner (deals.leads.lead_from_locator).
            models.Index(
                fields=["requested_partner", "contact_email", "created_at"],
                name="lead_locator_duplicate_idx",
                condition=models.Q(source="locator"),
            ),
            models.Index(fields=["status", "respond_by"], name="lead_sla_idx"),
        ]

    def __str__(self) -> str:
        return self.company_name


class OfferOutcome(models.TextChoices):
    PENDING = "pending", _("Waiting for the partner")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    TIMED_OUT = "timed_out", _("No answer in time")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class LeadOffer(models.Model):
    """One offer of a lead to one partner; the history drives "skip partners that declined"."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="offers")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    offered_at = models.DateTimeField(default=timezone.now)
    respond_by = models.DateTimeField()
    outcome = models.CharField(max_length=12, choices=OfferOutcome.choices, default=OfferOutcome.PENDING)
    responded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    responded_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    assigned_manually = models.BooleanField(default=False)

    class Meta:
        ordering = ["-offered_at"]
        indexes = [models.Index(fields=["lead", "partner"], name="leadoffer_lead_partner_idx")]

    def __str__(self) -> str:
        return f"{self.lead} → {self.partner}"


class DealRollup(models.Model):
    """The pipeline's figures kept as they change, so reports never add up a million deals.

    Every row says: this many deals (``deals``) of ``partner`` with these status, stage, currency
    and month of registration, worth ``amount`` (``won_amount``: the sum of their won amounts).
    A row with a ``product`` counts instead the deals that have a line of that product
    (``line_amount``: those lines' value); drafts have none. ``tier`` and ``region`` are the
    partner's when the row was written, so vendor-wide figures need no join.

    Rows are written by PostgreSQL triggers on deals, deal lines and partners (deals.rollup), in
    the transaction of the change, whoever makes it: a service, a bulk update, a data migration.
    They are deltas (+1 deal here, -1 there), appended and never updated, so writers never wait on
    each other; ``deals.rollup.fold`` merges them every minute (``folded``: a partner's merged
    total per key, products too) and moves their vendor-wide sums to :class:`VendorRollup`,
    :class:`PartnerTotal` and :class:`ProductRollup`. What a figure is at any moment is the sum of
    the rows, folded or not.
    """

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # content / training managers' database scope leaves it out

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    # Products and tiers can go once nothing refers to them; a figure of theirs then just stays
    # (as zero, which the fold deletes), so no database constraint holds them.
    product = models.ForeignKey(
        Product, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    tier = models.ForeignKey(
        "partners.Tier",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    region = models.CharField(max_length=8, choices=Region.choices)
    status = models.CharField(max_length=16, choices=DealStatus.choices)
    stage = models.CharField(max_length=16, choices=DealStage.choices)
    currency = models.CharField(max_length=3)
    month = models.DateField()  # the first day of the month of created_at, in settings.TIME_ZONE
    deals = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))
    won_amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))
    line_amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))
    folded = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(
                fields=["partner", "month"],
                name="dealrollup_partner_idx",
                condition=models.Q(product__isnull=True),
            ),
            # The vendor pipeline's partner ranking when it is filtered by months or a product.
            models.Index(
                fields=["month"], name="dealrollup_month_idx", condition=models.Q(product__isnull=True)
            ),
            models.Index(
                fields=["product", "month"],
                name="dealrollup_product_idx",
                condition=models.Q(product__isnull=False),
            ),
            # The rows the next fold merges (and that vendor-wide figures add to VendorRollup's).
            models.Index(fields=["id"], name="dealrollup_unfolded_idx", condition=models.Q(folded=False)),
        ]
        constraints = [
            # One merged row per partner and key: what the fold adds to.
            models.UniqueConstraint(
                fields=["partner", "tier", "region", "status", "stage", "currency", "month"],
                condition=models.Q(folded=True, product__isnull=True),
                nulls_distinct=False,
                name="dealrollup_folded_key",
            ),
            # The same for a partner's product rows, kept since a channel account manager's
            # pipeline breaks the portfolio down by product (and filters by one).
            models.UniqueConstraint(
                fields=["partner", "product", "tier", "region", "status", "stage", "currency", "month"],
                condition=models.Q(folded=True, product__isnull=False),
                nulls_distinct=False,
                name="dealrollup_folded_product_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.status} {self.month:%Y-%m}: {self.deals}"


class VendorRollup(models.Model):
    """:class:`DealRollup` summed over partners (drafts left out: the vendor never sees them), by
    tier and region; written only by ``deals.rollup.fold``. Vendor-wide figures are these rows
    plus the DealRollup rows not folded yet."""

    RLS_VENDOR_ONLY = True
    RLS_MONEY = True

    product = models.ForeignKey(
        Product, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    tier = models.ForeignKey(
        "partners.Tier",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    region = models.CharField(max_length=8, choices=Region.choices)
    status = models.CharField(max_length=16, choices=DealStatus.choices)
    stage = models.CharField(max_length=16, choices=DealStage.choices)
    currency = models.CharField(max_length=3)
    month = models.DateField()
    deals = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))
    won_amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))
    line_amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "tier", "region", "status", "stage", "currency", "month"],
                nulls_distinct=False,
                name="vendorrollup_key",
            ),
        ]
        indexes = [
            # The review queue's whole-queue count (deals.selectors._submitted_folded: the submitted
            # deals of every product) from the index alone: the key index starts with the product
            # and holds no count, so the count read its 288 rows from the table (0.31 -> 0.03 ms
            # at full size, EXPLAIN ANALYZE; rows the fold rewrote since the last vacuum are still
            # read from the table).
            models.Index(
                fields=["status"],
                name="vendorrollup_queue_idx",
                include=["deals"],
                condition=models.Q(product__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.month:%Y-%m}: {self.deals}"


# --- Product authorization (seed 001: qualification management, agency business authorization) ---
class AuthorizationRequirement(models.Model):
    """A product line partners may register deals on only once authorized for it.

    Vendor catalogue, not tenant-owned. The rule that grants the authorization by itself: a tier
    (this one or a higher rank) and ``certified_people`` people holding a valid certification
    ``certification_id``. Certifications belong to training, which deals never imports: the id and
    its choices come through the ``authorization_certifications`` registry (deals.authorizations).
    A requirement with neither a tier nor a certification is granted only by hand."""

    product_line = models.CharField(_("product line"), max_length=100, unique=True)
    description = models.TextField(
        _("why it needs an authorization"), blank=True, help_text=_("Shown to partners.")
    )
    min_tier = models.ForeignKey(
        "partners.Tier",
        verbose_name=_("tier (or higher)"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    certification_id = models.PositiveIntegerField(_("certification"), null=True, blank=True)
    certified_people = models.PositiveSmallIntegerField(
        _("people certified"), default=0, help_text=_("How many of the partner's people must hold it.")
    )
    warning_days = models.PositiveSmallIntegerField(
        _("warning (days)"),
        default=30,
        help_text=_("The partner is warned this long before the qualifying certifications expire."),
    )
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Inactive: the product line needs no authorization.")
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_line"]
        constraints = [
            # A count of people without a certification to count (or the reverse) is no rule.
            models.CheckConstraint(
                condition=models.Q(certification_id__isnull=True, certified_people=0)
                | models.Q(certification_id__isnull=False, certified_people__gte=1),
                name="authreq_certification_with_count",
            )
        ]

    def __str__(self) -> str:
        return self.product_line

    @property
    def has_rule(self) -> bool:
        return self.min_tier_id is not None or self.certification_id is not None


class AuthorizationStatus(models.TextChoices):
    ACTIVE = "active", _("Authorized")
    LAPSING = "lapsing", _("Authorized, lapsing soon")
    LAPSED = "lapsed", _("Lapsed")
    REVOKED = "revoked", _("Revoked")


class AuthorizationSource(models.TextChoices):
    RULE = "rule", _("Granted by rule")
    MANUAL = "manual", _("Granted by the vendor")


# Granted (again) from lapsed or revoked; warned, then lapsed; revoked by hand. A grant on an
# authorization that holds (a renewal: a new end date) is an audited change without a move.
AUTHORIZATION_TRANSITIONS: dict[str, set[str]] = {
    AuthorizationStatus.ACTIVE: {
        AuthorizationStatus.LAPSING,
        AuthorizationStatus.LAPSED,
        AuthorizationStatus.REVOKED,
    },
    AuthorizationStatus.LAPSING: {
        AuthorizationStatus.ACTIVE,
        AuthorizationStatus.LAPSED,
        AuthorizationStatus.REVOKED,
    },
    AuthorizationStatus.LAPSED: {AuthorizationStatus.ACTIVE},
    AuthorizationStatus.REVOKED: {AuthorizationStatus.ACTIVE},
}
HOLDING_STATUSES = (AuthorizationStatus.ACTIVE, AuthorizationStatus.LAPSING)


class PartnerAuthorization(models.Model):
    """One partner's authorization for one product line: one row per pair, kept through lapses and
    re-grants (the audit trail holds each move). It holds while ACTIVE or LAPSING and before
    ``valid_until``: for a grant by rule, when the qualifying certifications expire (the moment the
    partner would have fewer certified people than the rule asks); for a grant by hand, the end the
    vendor chose, if any."""

    TENANT_COLUMN = "partner_id"
    TRANSITIONS = StateMachine(
        AUTHORIZATION_TRANSITIONS,
        refusal=_("An authorization that is %(current)s cannot become %(target)s."),
    )

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    requirement = models.ForeignKey(
        AuthorizationRequirement, on_delete=models.CASCADE, related_name="authorizations"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=AuthorizationStatus.choices, default=AuthorizationStatus.ACTIVE
    )
    source = models.CharField(
        _("granted"), max_length=8, choices=AuthorizationSource.choices, default=AuthorizationSource.RULE
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "requirement"], name="authorization_once_per_line")
        ]
        indexes = [
            # The nightly re-evaluation reads one requirement's rows; warnings and lapses by end date.
            models.Index(fields=["requirement", "status"], name="authorization_req_status_idx"),
            models.Index(fields=["status", "valid_until"], name="authorization_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.requirement} — {self.partner_id}"

    def holds(self, now: Any = None) -> bool:
        now = now or timezone.now()
        return self.status in HOLDING_STATUSES and (self.valid_until is None or self.valid_until > now)


class PartnerTotal(models.Model):
    """Each partner's vendor-visible deals (drafts left out) summed over every month, status and
    stage, by currency: the ranking of partners on the vendor pipeline reads these 1-2 rows per
    partner instead of adding up the partner's month rows of :class:`DealRollup` (about one per
    deal for most partners: 700,000 rows for a million deals). ``won_amount`` is the won deals'
    only. Written by ``deals.rollup.fold`` like :class:`VendorRollup`; readers add the
    :class:`DealRollup` rows not folded yet."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    tier = models.ForeignKey(
        "partners.Tier",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    region = models.CharField(max_length=8, choices=Region.choices)
    currency = models.CharField(max_length=3)
    deals = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))
    won_amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "tier", "region", "currency"],
                nulls_distinct=False,
                name="partnertotal_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.currency}: {self.deals}"


class ProductRollup(models.Model):
    """:class:`VendorRollup`'s product rows without status and stage: the vendor pipeline's
    "by product" breakdown reads these (30 products x tiers x regions x currencies x months, a
    few thousand rows) instead of VendorRollup's product rows (hundreds of thousands at a million
    deals). Written by ``deals.rollup.fold``; readers add the DealRollup rows not folded yet."""

    RLS_VENDOR_ONLY = True
    RLS_MONEY = True

    product = models.ForeignKey(
        Product, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    tier = models.ForeignKey(
        "partners.Tier",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    region = models.CharField(max_length=8, choices=Region.choices)
    currency = models.CharField(max_length=3)
    month = models.DateField()
    deals = models.BigIntegerField(default=0)
    line_amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["product", "tier", "region", "currency", "month"],
                nulls_distinct=False,
                name="productrollup_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.month:%Y-%m}: {self.deals}"


class PartnerProductTotal(models.Model):
    """Each partner's vendor-visible deals by product, summed over every month, status and stage,
    by currency: a channel account manager's "by product" reads these (a few rows per partner and
    product) instead of the portfolio's product rows of :class:`DealRollup`, which keep status,
    stage and month (75,000 rows for a portfolio of 500 partners at a million deals: 190 ms a
    page). ``deals``: the deals with a line of the product; ``line_amount``: those lines' value.
    Written by ``deals.rollup.fold`` like :class:`PartnerTotal`; readers add the
    :class:`DealRollup` rows not folded yet. Tenant-owned like DealRollup (the same row-level
    security: a CAM reads the portfolio's rows only)."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True

    # No index of its own: the key below starts with it.
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, db_index=False, related_name="+")
    product = models.ForeignKey(
        Product, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    tier = models.ForeignKey(
        "partners.Tier",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    region = models.CharField(max_length=8, choices=Region.choices)
    currency = models.CharField(max_length=3)
    deals = models.BigIntegerField(default=0)
    line_amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            # The fold's ON CONFLICT target; its leading partner column serves the portfolio's
            # reads (partner_id = ANY(...)) too.
            models.UniqueConstraint(
                fields=["partner", "product", "tier", "region", "currency"],
                nulls_distinct=False,
                name="partnerproducttotal_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.product_id} {self.currency}: {self.deals}"


class PartnerStatusTotal(models.Model):
    """Each partner's vendor-visible deals by status and stage, summed over every month, by
    currency: a channel account manager's pipeline breaks the portfolio down by status, stage,
    tier and region from these (a few rows per partner) instead of the portfolio's month rows of
    :class:`DealRollup` (27,000 for 500 partners at a million deals). ``won_amount``: the sum of
    the deals' won amounts, whatever their status (readers count the won deals' only). Written by
    ``deals.rollup.fold``; readers add the DealRollup rows not folded yet."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True

    # No index of its own: the key below starts with it.
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, db_index=False, related_name="+")
    tier = models.ForeignKey(
        "partners.Tier",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    region = models.CharField(max_length=8, choices=Region.choices)
    status = models.CharField(max_length=16, choices=DealStatus.choices)
    stage = models.CharField(max_length=16, choices=DealStage.choices)
    currency = models.CharField(max_length=3)
    deals = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))
    won_amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "tier", "region", "status", "stage", "currency"],
                nulls_distinct=False,
                name="partnerstatustotal_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.status} {self.currency}: {self.deals}"


class PartnerMonthTotal(models.Model):
    """Each partner's vendor-visible deals by month of registration, summed over every status and
    stage, by currency: a channel account manager's pipeline by month (the rows of
    :class:`DealRollup` keep status and stage too). Written by ``deals.rollup.fold``; readers add
    the DealRollup rows not folded yet."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True

    # No index of its own: the key below starts with it.
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, db_index=False, related_name="+")
    tier = models.ForeignKey(
        "partners.Tier",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    region = models.CharField(max_length=8, choices=Region.choices)
    currency = models.CharField(max_length=3)
    month = models.DateField()
    deals = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "tier", "region", "currency", "month"],
                nulls_distinct=False,
                name="partnermonthtotal_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.month:%Y-%m} {self.currency}: {self.deals}"


class PartnerPack(models.Model):
    """One kind of per-partner totals of one partner (and tier and region) in one row, as
    parallel arrays: ``kind`` 'p' holds :class:`PartnerProductTotal` (``product_ids``,
    ``currencies``, ``deals``, ``amounts``: the lines' value), 's' :class:`PartnerStatusTotal`
    (``statuses``, ``stages``, ``currencies``, ``deals``, ``amounts``, ``won_amounts``), 'm'
    :class:`PartnerMonthTotal` (``months``, ``currencies``, ``deals``, ``amounts``); the arrays a
    kind does not use are empty.

    Why: row-level security tests each row it reads against the portfolio (``partner_id =
    ANY(<the portfolio>)``, an array of 500 ids scanned element by element), 4-5 µs a row; a
    channel account manager's breakdowns read 47,000 rows of the three tables (250-350 ms under
    load), the same figures packed are 1,500 rows. Rewritten from the three tables by
    ``deals.rollup.fold`` for the partners whose figures it changed; readers add the DealRollup
    rows not folded yet."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True

    # No index of its own: the key below starts with it.
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, db_index=False, related_name="+")
    tier = models.ForeignKey(
        "partners.Tier",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    region = models.CharField(max_length=8, choices=Region.choices)
    kind = models.CharField(max_length=1)
    product_ids = ArrayField(models.BigIntegerField())
    statuses = ArrayField(models.CharField(max_length=16))
    stages = ArrayField(models.CharField(max_length=16))
    currencies = ArrayField(models.CharField(max_length=3))
    months = ArrayField(models.DateField())
    deals = ArrayField(models.BigIntegerField())
    amounts = ArrayField(models.DecimalField(max_digits=24, decimal_places=2))
    won_amounts = ArrayField(models.DecimalField(max_digits=24, decimal_places=2))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "tier", "region", "kind"], nulls_distinct=False, name="partnerpack_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.kind}: {len(self.deals)} figures"
