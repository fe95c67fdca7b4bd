"""Support cases: the tables. Imported at the end of ``partners.models`` so Django registers them
in the partners app (migration ``partners.0008_support_cases``).

Kinds, SLA targets and teams are the vendor's own settings (no tenant column). A case, its public
messages and its files belong to the partner that opened it (``TENANT_COLUMN``). Internal notes are
a table of their own that no partner scope can read at all (``RLS_VENDOR_ONLY``): a note never
reaching a partner does not depend on every query remembering a filter.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prm.transitions import StateMachine


def case_attachment_path(instance: Any, filename: str) -> str:
    """Under the partner's own prefix with a random name: the uploaded name is never used (it could
    carry path tricks or another partner's name); it is kept in ``original_name`` for display."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"partners/{instance.partner_id}/support/{instance.case_id}/{uuid.uuid4().hex}.{extension}"


class CaseKind(models.Model):
    """What a case is about. Three kinds come with the portal (the seeds' "partner problem
    management"); the vendor adds its own in the admin. A kind is switched off, never deleted,
    once cases use it."""

    BUSINESS_CONSULTING = "business_consulting"
    COMPLAINT = "complaint"
    BUSINESS_FAILURE = "business_failure"

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    is_active = models.BooleanField(_("offered to partners"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("case kind")

    def __str__(self) -> str:
        return self.name


class CasePriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


# Most urgent first, for sorting and for the SLA defaults.
PRIORITY_RANK = {CasePriority.URGENT: 0, CasePriority.HIGH: 1, CasePriority.NORMAL: 2, CasePriority.LOW: 3}


class SlaTarget(models.Model):
    """How fast the vendor answers and resolves, in business hours (a business day is
    ``PRM["SUPPORT_BUSINESS_HOURS"]`` long; weekends and ``prm.Holiday`` days do not count). A row
    for a kind beats the row for every kind (``kind`` empty) at the same priority; with no row,
    ``partners.support.sla.DEFAULT_TARGETS`` apply."""

    kind = models.ForeignKey(
        CaseKind,
        verbose_name=_("kind"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_targets",
        help_text=_("Empty: every kind without a target of its own."),
    )
    priority = models.CharField(_("priority"), max_length=10, choices=CasePriority.choices)
    first_response_hours = models.PositiveIntegerField(
        _("first response (business hours)"), validators=[MinValueValidator(1)]
    )
    resolution_hours = models.PositiveIntegerField(
        _("resolution (business hours)"),
        validators=[MinValueValidator(1)],
        help_text=_("One business day is 8 business hours."),
    )

    class Meta:
        ordering = ["kind__position", "priority"]
        verbose_name = _("SLA target")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "priority"], nulls_distinct=False, name="sla_target_one_per_kind_priority"
            ),
            models.CheckConstraint(
                condition=models.Q(first_response_hours__gte=1, resolution_hours__gte=1),
                name="sla_target_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind or _('Every kind')} · {self.get_priority_display()}"


class SupportTeam(models.Model):
    """A group of vendor staff a case can be assigned to (first line, billing, escalations)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), blank=True, related_name="support_teams"
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("support team")

    def __str__(self) -> str:
        return self.name


class CaseStatus(models.TextChoices):
    NEW = "new", _("New")
    OPEN = "open", _("In progress")
    WAITING = "waiting", _("Waiting for the partner")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.OPEN, CaseStatus.WAITING)

CASE_TRANSITIONS = {
    CaseStatus.NEW: {CaseStatus.OPEN, CaseStatus.WAITING, CaseStatus.RESOLVED, CaseStatus.CLOSED},
    CaseStatus.OPEN: {CaseStatus.WAITING, CaseStatus.RESOLVED, CaseStatus.CLOSED},
    CaseStatus.WAITING: {CaseStatus.OPEN, CaseStatus.RESOLVED, CaseStatus.CLOSED},
    CaseStatus.RESOLVED: {CaseStatus.OPEN, CaseStatus.CLOSED},
    CaseStatus.CLOSED: {CaseStatus.OPEN},
}


class SupportCase(models.Model):
    """A partner's problem, from opening to resolution (and, when it comes back, reopening).

    The related item (a deal, a fund request, a course) lives in an app above partners, so it is a
    generic reference (content type + id) offered and checked through ``partners.support.linkables``;
    ``related_label`` keeps what it was called when linked, for lists that must not ask every app."""

    TENANT_COLUMN = "partner_id"
    TRANSITIONS = StateMachine(
        CASE_TRANSITIONS, refusal=_("A case that is %(current)s cannot become %(target)s.")
    )

    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="support_cases")
    kind = models.ForeignKey(CaseKind, verbose_name=_("kind"), on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), max_length=10_000)
    priority = models.CharField(
        _("priority"), max_length=10, choices=CasePriority.choices, default=CasePriority.NORMAL
    )
    status = models.CharField(_("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.NEW)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_support_cases",
    )
    team = models.ForeignKey(
        SupportTeam,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    related_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    related_id = models.PositiveBigIntegerField(null=True, blank=True)
    related_label = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # SLA: the due times are computed when the case opens (and again when its priority changes or
    # it reopens); whether a target was breached is read from them, never stored apart.
    first_response_due_at = models.DateTimeField(_("first response due"))
    resolution_due_at = models.DateTimeField(_("resolution due"))
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # What the beat task already sent for the current due times (cleared when they move), so each
    # reminder and escalation goes out once.
    response_reminded_at = models.DateTimeField(null=True, blank=True)
    response_escalated_at = models.DateTimeField(null=True, blank=True)
    resolution_reminded_at = models.DateTimeField(null=True, blank=True)
    resolution_escalated_at = models.DateTimeField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    rating_comment = models.TextField(_("comment on the resolution"), max_length=2000, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("support case")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="support_case_rating_1_5",
            ),
            models.CheckConstraint(
                condition=models.Q(related_type__isnull=True, related_id__isnull=True)
                | models.Q(related_type__isnull=False, related_id__isnull=False),
                name="support_case_related_whole",
            ),
        ]
        indexes = [
            # The vendor queue: open cases oldest first.
            models.Index(fields=["status", "created_at", "id"], name="support_case_queue_idx"),
            # A partner's own list, newest first.
            models.Index(fields=["partner", "-created_at", "-id"], name="support_case_partner_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def number(self) -> str:
        return f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CaseMessage(models.Model):
    """A public message on a case: the partner's description follow-ups and the vendor's replies.
    Both sides read every row of this table for their case."""

    TENANT_COLUMN = "partner_id"

    case = models.ForeignKey(SupportCase, on_delete=models.CASCADE, related_name="messages")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_vendor = models.BooleanField(default=False)
    body = models.TextField(_("message"), max_length=10_000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("case message")

    def __str__(self) -> str:
        return f"Message on case {self.case_id}"


class CaseNote(models.Model):
    """An internal note of vendor staff on a case: never shown to the partner. The table is the
    vendor's alone in the database (``RLS_VENDOR_ONLY``): a partner's scope reads no row of it,
    whatever the query."""

    RLS_VENDOR_ONLY = True

    case = models.ForeignKey(SupportCase, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("internal note"), max_length=10_000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("internal note")

    def __str__(self) -> str:
        return f"Note on case {self.case_id}"


class CaseAttachment(models.Model):
    """A file on a case, stored under the partner's prefix with a random name and served only
    through a view that checks the case's policy (like an MDF proof)."""

    TENANT_COLUMN = "partner_id"

    case = models.ForeignKey(SupportCase, on_delete=models.CASCADE, related_name="attachments")
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    message = models.ForeignKey(
        CaseMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    file = models.FileField(upload_to=case_attachment_path, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = _("case attachment")

    def __str__(self) -> str:
        return self.original_name
