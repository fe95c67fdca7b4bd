"""Kernel models: the user, the audit trail, in-app notifications, the holiday calendar and the
exchange rates reports convert with."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import derived_names  # noqa: F401 -- before any model class: their derived names translate
from .money import Rates, currency_field
from .roles import VendorRole
from .search_vectors import search_vector_field

__all__ = [
    "ApiToken",
    "AuditEvent",
    "ExchangeRate",
    "ExportJob",
    "Holiday",
    "Notification",
    "NotificationDigest",
    "User",
    "VendorRole",
    "WebhookDelivery",
    "WebhookEndpoint",
    "reporting_rates",
]


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.update(is_staff=True, is_superuser=True, vendor_role=VendorRole.PROGRAM_ADMIN)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Vendor staff carry a vendor role; partner users belong to one partner through
    ``partners.Membership``. Nobody is both."""

    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    vendor_role = models.CharField(
        _("vendor role"), max_length=32, choices=VendorRole.choices, blank=True, db_index=True
    )
    is_staff = models.BooleanField(_("admin access"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    email_notifications = models.BooleanField(_("e-mail me notifications"), default=True)
    # Moves on whenever what this person acts as may have changed: database triggers bump it on
    # every write to their membership, its partner or tier, or their portfolio (any writer: the
    # services, bulk updates, raw SQL). The request reads it with the user row, so a cached actor
    # keyed by it is never used after such a change (partners.actor_cache). The database never
    # lets it go back (a full save of a row read before a bump keeps the bumped value).
    actor_version = models.BigIntegerField(default=0, db_default=0, editable=False)
    # Per notification kind, where it goes: "email" (the portal and e-mail), "in_app" or "off"
    # (prm.notification_kinds.Channel); a kind left out keeps its default. Kept on the user's own
    # row, not a table of its own, because notify() reads it from the recipient it already holds:
    # no query per notification. Written only by prm.notifications.save_notification_settings.
    notification_channels = models.JSONField(_("notification channels"), default=dict, blank=True)
    notification_digest = models.BooleanField(
        _("one daily digest e-mail instead of single e-mails"), default=False
    )
    # The language the portal speaks to this person, their e-mails, notifications and PDFs
    # included; blank: the browser's (prm.middleware.UserLanguageMiddleware, prm.i18n).
    language = models.CharField(
        _("language"),
        max_length=16,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Leave empty to follow your browser's language."),
    )
    # The one search box (prm.search): people by name or e-mail address.
    search_vector = search_vector_field("full_name", "email")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        indexes = [GinIndex(fields=["search_vector"], name="user_search_idx")]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_vendor_staff(self) -> bool:
        return bool(self.vendor_role) and self.is_active

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name or self.email).split(" ")[0]


class AuditEvent(models.Model):
    """One state or permission change: who, when, which object, before and after.

    Append-only: the database refuses UPDATE and DELETE on this table (see the migration).
    ``partner_id`` is the tenant the object belongs to (null for vendor-wide objects); it is a plain
    column rather than a foreign key because the kernel does not depend on the partners app.
    """

    TENANT_COLUMN = "partner_id"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(
        max_length=254, blank=True, help_text=_("Who acted, kept if the user goes.")
    )
    partner_id = models.BigIntegerField(null=True, blank=True)
    target_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    target_id = models.CharField(max_length=64)
    target_repr = models.CharField(max_length=255)
    action = models.CharField(max_length=64)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-created_at"], name="audit_target_idx"),
            models.Index(fields=["partner_id", "-created_at"], name="audit_partner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.target_repr}"

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        keys = sorted(set(self.before) | set(self.after))
        return [(key, self.before.get(key), self.after.get(key)) for key in keys]


class Notification(models.Model):
    """An in-app notification; e-mail copies are sent by Celery after the transaction commits."""

    TENANT_COLUMN = "partner_id"

    recipient = models.ForeignKey(User, on_delete=models.CASCADE, related_name="notifications")
    partner_id = models.BigIntegerField(null=True, blank=True)
    kind = models.CharField(max_length=64)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Waiting for the recipient's daily digest e-mail instead of an e-mail of its own.
    digest_pending = models.BooleanField(default=False)
    # What the title and body were made of ({"title": {"msgid": ..., "params": ...}, "body": ...},
    # prm.i18n.to_message), so each reader gets them in their own language; ``title`` and ``body``
    # keep the text as first written (in the recipient's language), shown when there is nothing
    # here (rows from before, a text made of no message).
    i18n = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "read_at", "-created_at"], name="notification_inbox_idx"),
            # The daily digest run looks only for the few rows still waiting for it.
            models.Index(
                fields=["recipient"],
                condition=models.Q(digest_pending=True, emailed_at__isnull=True),
                name="notification_digest_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def display_title(self) -> str:
        """The title in the active language (``prm.i18n``)."""
        from .i18n import render_message

        return render_message((self.i18n or {}).get("title"), self.title)

    @property
    def display_body(self) -> str:
        from .i18n import render_message

        return render_message((self.i18n or {}).get("body"), self.body)


class NotificationDigest(models.Model):
    """The marker of one user's daily digest e-mail: one row per user and day, written in the same
    transaction that sends it, so a rerun or a second worker finds it and sends nothing. Vendor-wide
    (a user's own mail, no partner data)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)
    notifications = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day", "user"]
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="notification_digest_once_a_day")]

    def __str__(self) -> str:
        return f"{self.user} {self.day:%Y-%m-%d}"


class Holiday(models.Model):
    """A day the vendor's channel team does not work: business-day SLAs (deal review, MDF notice)
    skip it like a weekend. Vendor-wide, maintained by program admins in the admin."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        ordering = ["date"]
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class ExchangeRate(models.Model):
    """What one unit of ``currency`` is worth in the reporting currency
    (``PRM["REPORTING_CURRENCY"]``). Reports that add amounts of several currencies (the deal
    pipeline) convert with these; the vendor's finance team keeps them current in the admin.
    Stored amounts are never converted: a deal keeps the currency it was registered in."""

    currency = currency_field(unique=True)
    rate = models.DecimalField(
        _("value of one unit in the reporting currency"),
        max_digits=18,
        decimal_places=8,
        validators=[MinValueValidator(Decimal("0.00000001"))],
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["currency"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive")]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate.normalize()}"


def reporting_rates() -> Rates:
    """The kept rates into the reporting currency (itself 1). It sits beside the table it reads,
    not in prm.money: this module builds its fields from prm.money, so the two imported each other."""
    reporting = settings.PRM["REPORTING_CURRENCY"]
    rates = dict(ExchangeRate.objects.values_list("currency", "rate"))
    rates[reporting] = Decimal(1)
    return Rates(currency=reporting, rates=rates)


class ApiToken(models.Model):
    """A personal token for the REST API (``Authorization: Bearer prm_…``). Only a SHA-256 hash of
    the secret is stored: the secret is shown once, when issued, and a leaked database does not
    leak working tokens. The token acts as its user, in that user's tenant scope, until it is
    revoked or ``expires_at`` comes (chosen when issued, at most PRM["API_TOKEN_MAX_DAYS"] away),
    so a forgotten token does not work for ever."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("starts with"), max_length=12)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired


class WebhookEndpoint(models.Model):
    """Where a partner wants to hear about its deals and leads (its CRM): every event is POSTed as
    JSON, signed with ``secret`` (HMAC-SHA256), retried until it is accepted. Managed by the
    partner's admins (``prm.webhooks``)."""

    TENANT_COLUMN = "partner_id"

    partner_id = models.BigIntegerField()
    url = models.URLField(_("URL"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    # Event names as in notifications ("deal.approved", "lead.offered"); empty means every event.
    events = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    secret = models.CharField(max_length=64)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["partner_id", "is_active"], name="webhook_partner_idx")]

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint, and what became of it. ``event_id`` is sent with every attempt
    so the receiver can ignore a repeat."""

    TENANT_COLUMN = "partner_id"

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    partner_id = models.BigIntegerField()
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    event_id = models.UUIDField(unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_due_idx"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_endpoint_log_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"


def export_file_path(job: ExportJob, filename: str) -> str:
    # Under its own top-level folder: the export sweep deletes a job's file with its row; the orphan
    # sweep (prm.files) a file whose job row never saved. The random part keeps a name from being
    # guessed.
    return f"exports/{job.user_id}/{uuid.uuid4().hex}/{filename}"


class ExportJob(models.Model):
    """A CSV export built by Celery (``prm.exports``) instead of inside the request.

    Only the person who asked may download it, and only while their role still sees that data.
    ``partner_id`` is the acting partner of a partner user (none for vendor staff): row-level
    security keeps partner users to their own company's jobs as for any tenant table.
    """

    TENANT_COLUMN = "partner_id"

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="export_jobs")
    partner_id = models.BigIntegerField(null=True, blank=True)
    # The registry key (``deals.vendor_deals``) and the page's filters, as the query string had them
    # (key -> list of values; empty values and the page number left out).
    export = models.CharField(max_length=64)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    # The database scope the file was built in (prm.tenancy.Scope.settings()): a download is
    # served only while the person's scope still covers it.
    scope = models.JSONField(default=list, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    file = models.FileField(upload_to=export_file_path, max_length=300, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [
            models.Index(fields=["user", "-created_at"], name="exportjob_user_idx"),
            models.Index(fields=["status", "expires_at"], name="exportjob_sweep_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.export} #{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE
