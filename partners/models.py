"""The tenant (Partner), its people (Membership, Invitation), program tiers and recruitment."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField
from guardian.models import UserObjectPermissionBase

from prm.money import currency_field, money_field
from prm.search_vectors import search_vector_field
from prm.transitions import StateMachine

from .storage import case_attachment_path, listing_logo_path, partner_logo_path


class PartnerType(models.TextChoices):
    RESELLER = "reseller", _("Reseller / VAR")
    DISTRIBUTOR = "distributor", _("Distributor")
    ISV = "isv", _("ISV")
    MSP = "msp", _("Managed service provider")
    REFERRAL = "referral", _("Referral / affiliate")
    SERVICE_PROVIDER = "service_provider", _("Service provider")


class Region(models.TextChoices):
    NORTH_AMERICA = "na", _("North America")
    LATIN_AMERICA = "latam", _("Latin America")
    EMEA = "emea", _("Europe, Middle East & Africa")
    APAC = "apac", _("Asia Pacific")


class PartnerStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ONBOARDING = "onboarding", _("Onboarding")
    ACTIVE = "active", _("Active")
    SUSPENDED = "suspended", _("Suspended")
    TERMINATED = "terminated", _("Terminated")


# The only status changes a partner can go through; services enforce it.
PARTNER_TRANSITIONS: dict[str, set[str]] = {
    PartnerStatus.PROSPECT: {PartnerStatus.ONBOARDING, PartnerStatus.TERMINATED},
    PartnerStatus.ONBOARDING: {PartnerStatus.ACTIVE, PartnerStatus.TERMINATED},
    PartnerStatus.ACTIVE: {PartnerStatus.SUSPENDED, PartnerStatus.TERMINATED},
    PartnerStatus.SUSPENDED: {PartnerStatus.ACTIVE, PartnerStatus.TERMINATED},
    PartnerStatus.TERMINATED: set(),
}


class PartnerRole(models.TextChoices):
    ADMIN = "admin", _("Partner admin")
    SALES = "sales", _("Sales")
    MARKETING = "marketing", _("Marketing")
    LEARNER = "learner", _("Learner")


class Tier(models.Model):
    """A program level with the requirements to hold it and what it earns (used by deals, MDF,
    incentives and tier evaluation)."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    rank = models.PositiveSmallIntegerField(_("rank"), unique=True, help_text=_("Higher is better."))
    description = models.TextField(_("description"), blank=True)
    min_trailing_revenue = money_field(verbose_name=_("trailing-12-month won revenue"), default=Decimal("0"))
    revenue_currency = currency_field(verbose_name=_("revenue currency"))
    min_certified_people = models.PositiveIntegerField(_("certified people"), default=0)
    min_deals_won = models.PositiveIntegerField(_("deals won (12 months)"), default=0)
    deal_registration_discount_percent = models.DecimalField(
        _("deal-registration discount %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    mdf_accrual_percent = models.DecimalField(
        _("MDF co-op accrual %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    lead_weight = models.PositiveSmallIntegerField(
        _("lead distribution weight"), default=1, help_text=_("0 means the tier receives no leads.")
    )
    # Tier evaluation (partners.performance.tiers).
    min_score = models.DecimalField(
        _("minimum scorecard score"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("Empty: the score is not a requirement of this tier."),
    )
    # The program setting "upgrade directly or propose it for approval", per tier: moving into
    # the top tiers usually deserves a look, the first steps do not.
    upgrade_needs_approval = models.BooleanField(
        _("upgrades need approval"),
        default=False,
        help_text=_(
            "On: a partner that qualifies for this tier is proposed for it, and its channel account "
            "manager or a program admin approves. Off: the monthly evaluation upgrades it at once."
        ),
    )

    class Meta:
        ordering = ["rank"]
        verbose_name = _("program tier")

    def __str__(self) -> str:
        return self.name


class Partner(models.Model):
    """A partner company: the tenant. Its users never see another partner's rows."""

    TENANT_COLUMN = "id"
    TRANSITIONS = StateMachine(
        PARTNER_TRANSITIONS, refusal=_("A partner that is %(current)s cannot become %(target)s.")
    )

    legal_name = models.CharField(_("legal name"), max_length=200)
    partner_type = models.CharField(_("type"), max_length=32, choices=PartnerType.choices)
    country = CountryField(_("country"))
    region = models.CharField(_("region"), max_length=8, choices=Region.choices)
    website_domain = models.CharField(_("website domain"), max_length=253, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    logo = models.FileField(_("logo"), upload_to=partner_logo_path, blank=True, max_length=300)
    status = models.CharField(
        _("status"), max_length=16, choices=PartnerStatus.choices, default=PartnerStatus.PROSPECT
    )
    tier = models.ForeignKey(Tier, verbose_name=_("tier"), on_delete=models.PROTECT, related_name="partners")
    channel_account_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("channel account manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_partners",
        limit_choices_to={"vendor_role": "channel_account_manager"},
    )
    agreement_version = models.CharField(_("agreement version accepted"), max_length=32, blank=True)
    agreement_accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agreement_accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The one search box (prm.search): vendor staff find partners by name or website.
    search_vector = search_vector_field("legal_name", "website_domain")

    class Meta:
        ordering = ["legal_name"]
        permissions = [("work_partner", "Work this partner (in the channel account manager's portfolio)")]
        indexes = [
            models.Index(fields=["status"], name="partner_status_idx"),
            models.Index(fields=["partner_type"], name="partner_type_idx"),
            models.Index(fields=["region"], name="partner_region_idx"),
            models.Index(fields=["country"], name="partner_country_idx"),
            models.Index(fields=["tier"], name="partner_tier_idx"),
            models.Index(fields=["channel_account_manager"], name="partner_cam_idx"),
            models.Index(fields=["website_domain"], name="partner_domain_idx"),
            # The vendor partner list's order (by name, then key): its page is a walk that stops
            # after 25 entries, where PostgreSQL read and sorted all 10,000 partners (4.8 ms to 2.2
            # ms a page at full size, bench/README.md).
            models.Index(fields=["legal_name", "id"], name="partner_name_order_idx"),
            # Console search ("acme" anywhere in the name) uses trigram matching.
            GinIndex(fields=["legal_name"], name="partner_name_trgm_idx", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["search_vector"], name="partner_search_idx"),
        ]

    def __str__(self) -> str:
        return self.legal_name

    @property
    def agreement_is_current(self) -> bool:
        return self.agreement_version == settings.PRM["PARTNER_AGREEMENT_VERSION"]

    @property
    def has_portal_access(self) -> bool:
        return self.status in {PartnerStatus.PROSPECT, PartnerStatus.ONBOARDING, PartnerStatus.ACTIVE}


# The part of a partner's profile only the vendor sets: type and region decide which content the
# partner is entitled to and which leads reach it, and country feeds both. A partner admin asks for
# a change (ProfileChangeRequest); the vendor decides.
VENDOR_CONTROLLED_FIELDS = ("partner_type", "country", "region")


class ProfileChangeStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class ProfileChangeRequest(models.Model):
    """A partner admin's request to change the partner's type, country or region. The partner's
    channel account manager or a program admin approves (the change is applied) or rejects it with
    a reason. A partner has at most one request pending at a time."""

    TENANT_COLUMN = "partner_id"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="profile_change_requests")
    # The values asked for, and those the partner had when it asked (what the reviewer compares).
    partner_type = models.CharField(_("type"), max_length=32, choices=PartnerType.choices)
    country = CountryField(_("country"))
    region = models.CharField(_("region"), max_length=8, choices=Region.choices)
    from_partner_type = models.CharField(max_length=32, choices=PartnerType.choices)
    from_country = CountryField()
    from_region = models.CharField(max_length=8, choices=Region.choices)
    message = models.TextField(_("why the change"), max_length=2000)
    status = models.CharField(
        _("status"), max_length=16, choices=ProfileChangeStatus.choices, default=ProfileChangeStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("profile change request")
        constraints = [
            # One pending request per partner; a double submission cannot create a second.
            models.UniqueConstraint(
                fields=["partner"],
                condition=models.Q(status="pending"),
                name="profile_change_one_pending",
            )
        ]
        indexes = [models.Index(fields=["status", "-requested_at"], name="profile_change_status_idx")]

    def __str__(self) -> str:
        return _("%(partner)s profile change #%(number)s") % {"partner": self.partner, "number": self.pk}

    @property
    def changes(self) -> list[tuple[str, str, str]]:
        """(field label, from, to) for each vendor-controlled field the request changes."""
        rows = []
        for name in VENDOR_CONTROLLED_FIELDS:
            before, after = getattr(self, f"from_{name}"), getattr(self, name)
            if before != after:
                label = self._meta.get_field(name).verbose_name
                rows.append(
                    (str(label).capitalize(), self._display(name, before), self._display(name, after))
                )
        return rows

    def _display(self, name: str, value: object) -> str:
        if name == "country":
            return value.name if value else ""
        return str(dict(self._meta.get_field(name).choices).get(value, value))


class PartnerUserObjectPermission(UserObjectPermissionBase):
    """django-guardian per-object permissions on partners with a direct foreign key (fast joins):
    a channel account manager's portfolio is the set of partners they hold ``work_partner`` on."""

    TENANT_COLUMN = "content_object_id"

    content_object = models.ForeignKey(Partner, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        indexes = [models.Index(fields=["user", "permission"], name="partner_perm_user_idx")]


class Membership(models.Model):
    """A partner user's place in their company. A person belongs to at most one company."""

    TENANT_COLUMN = "partner_id"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=16, choices=PartnerRole.choices, default=PartnerRole.SALES)
    is_active = models.BooleanField(_("active"), default=True)
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user__email"]
        indexes = [models.Index(fields=["partner", "is_active", "role"], name="membership_partner_idx")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.partner})"


def _invitation_expiry() -> timezone.datetime:
    return timezone.now() + timedelta(days=settings.PRM["INVITATION_VALID_DAYS"])


def _nonce() -> str:
    return secrets.token_urlsafe(24)


class Invitation(models.Model):
    """An e-mail invitation to join a partner with a role. The link carries a signed token made
    from the id and a random nonce, so no usable secret is stored in clear."""

    TENANT_COLUMN = "partner_id"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail"))
    role = models.CharField(_("role"), max_length=16, choices=PartnerRole.choices, default=PartnerRole.SALES)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    nonce = models.CharField(max_length=64, default=_nonce, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address and company; a double-click cannot create two.
            models.UniqueConstraint(
                fields=["partner", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.partner}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Awaiting review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


# An application is decided once.
APPLICATION_TRANSITIONS: dict[str, set[str]] = {
    ApplicationStatus.SUBMITTED: {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED},
    ApplicationStatus.APPROVED: set(),
    ApplicationStatus.REJECTED: set(),
}


class PartnerApplication(models.Model):
    """A public "become a partner" application. Not tenant-owned: it has no partner until a
    vendor approves it, and only vendor staff ever read it."""

    TRANSITIONS = StateMachine(
        APPLICATION_TRANSITIONS, refusal=_("This application was already %(current)s.")
    )

    # The database holds it to that too: the public form writes it in the system scope.
    RLS_VENDOR_ONLY = True

    company_name = models.CharField(_("company legal name"), max_length=200)
    partner_type = models.CharField(_("partner type"), max_length=32, choices=PartnerType.choices)
    country = CountryField(_("country"))
    region = models.CharField(_("region"), max_length=8, choices=Region.choices)
    website_domain = models.CharField(_("website domain"), max_length=253)
    contact_name = models.CharField(_("your name"), max_length=150)
    contact_email = models.EmailField(_("your work e-mail"))
    contact_phone = models.CharField(_("phone"), max_length=40, blank=True)
    employee_count = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    message = models.TextField(_("why do you want to partner with us?"), blank=True)
    status = models.CharField(
        max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(_("reason"), blank=True)
    partner = models.OneToOneField(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="application"
    )

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["status", "-submitted_at"], name="application_status_idx")]

    def __str__(self) -> str:
        return self.company_name


# --- Performance: KPI switches, scorecard templates, qualitative assessments, snapshots -------------
# The KPIs themselves are code (partners.performance.kpis: each app contributes its own through its
# AppConfig); these tables hold what the vendor decides about them and what the nightly run found.
class KpiSetting(models.Model):
    """Whether one KPI of the registry is measured at all. A KPI without a row is on; a KPI switched
    off is neither computed nor scored (its weight in a template is shared out among the others)."""

    key = models.CharField(_("KPI"), max_length=100, unique=True)
    enabled = models.BooleanField(_("measured"), default=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["key"]
        verbose_name = _("KPI setting")
        verbose_name_plural = _("KPI settings")

    def __str__(self) -> str:
        return self.key


def default_scoring_bands() -> list[list[str]]:
    """From 40 % of the target 20 points, ... from 120 % the full 100; below 40 %, none."""
    return [["40", "20"], ["60", "40"], ["80", "60"], ["100", "80"], ["120", "100"]]


class ScorecardTemplate(models.Model):
    """What a partner is scored on: KPIs with weights, targets and scoring bands. A template applies
    to a tier and/or a partner type; the most specific active one wins (tier and type, then tier,
    then type, then the template for everybody)."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    tier = models.ForeignKey(
        Tier,
        verbose_name=_("tier"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scorecard_templates",
        help_text=_("Empty: every tier."),
    )
    partner_type = models.CharField(
        _("partner type"),
        max_length=32,
        choices=PartnerType.choices,
        blank=True,
        help_text=_("Empty: every partner type."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("scorecard template")
        constraints = [
            # Two active templates for the same audience would make the choice arbitrary.
            models.UniqueConstraint(
                fields=["tier", "partner_type"],
                condition=models.Q(is_active=True),
                nulls_distinct=False,
                name="scorecard_template_one_per_audience",
                violation_error_message=_(
                    "Another active template already applies to this tier and partner type."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def audience(self) -> str:
        tier = str(self.tier) if self.tier_id else _("every tier")
        kind = self.get_partner_type_display() if self.partner_type else _("every partner type")
        return f"{tier} · {kind}"


class ScorecardLine(models.Model):
    """One KPI of a template. ``bands`` maps attainment (the value as a percentage of the target;
    for a KPI where lower is better, the target as a percentage of the value) to points out of 100,
    as ascending ``[threshold %, points]`` pairs; below the first threshold the line scores 0."""

    template = models.ForeignKey(ScorecardTemplate, on_delete=models.CASCADE, related_name="lines")
    kpi = models.CharField(_("KPI"), max_length=100)
    weight = models.DecimalField(
        _("weight %"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    target = models.DecimalField(
        _("target"),
        max_digits=16,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Money in the reporting currency; percentages as 0–100."),
    )
    bands = models.JSONField(
        _("scoring bands"),
        default=default_scoring_bands,
        # xgettext:no-python-format
        help_text=_('Ascending [threshold % of target, points] pairs, e.g. [["50", "25"], ["100", "100"]].'),
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["template", "position", "pk"]
        verbose_name = _("scorecard line")
        constraints = [
            models.UniqueConstraint(fields=["template", "kpi"], name="scorecard_line_kpi_once"),
            models.CheckConstraint(condition=models.Q(weight__gt=0), name="scorecard_line_weight_positive"),
            models.CheckConstraint(condition=models.Q(target__gt=0), name="scorecard_line_target_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.template}: {self.kpi} ({self.weight} %)"


class PartnerAssessment(models.Model):
    """A channel account manager's qualitative rating of a partner (1 to 5) for one calendar
    quarter, with the reasons; one per partner and quarter (recording again replaces it, audited).
    It feeds the ``cam_rating`` KPI."""

    TENANT_COLUMN = "partner_id"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="assessments")
    period_start = models.DateField(_("quarter"), help_text=_("The first day of the quarter assessed."))
    rating = models.PositiveSmallIntegerField(
        _("rating"),
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 (poor) to 5 (excellent)."),
    )
    comment = models.TextField(_("comment"), max_length=2000)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start", "-pk"]
        verbose_name = _("partner assessment")
        constraints = [
            models.UniqueConstraint(fields=["partner", "period_start"], name="assessment_one_per_quarter"),
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5), name="assessment_rating_1_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.partner} {self.period_label}: {self.rating}/5"

    @property
    def period_label(self) -> str:
        return f"{self.period_start.year} Q{(self.period_start.month - 1) // 3 + 1}"


class ScorecardSnapshot(models.Model):
    """A partner's scorecard as of one day: every KPI's value, the template's lines scored, and the
    total out of 100 (None when no template applies). Written only by the nightly run
    (partners.performance.services.snapshots_compute): recomputing a day replaces that day's rows;
    a month-end computed after its day is over is ``frozen`` and never recomputed.

    Values hold money (won revenue, earnings), so a content manager's database scope leaves the
    table out; learners get the money figures stripped by the selectors."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField(_("as of"))
    template = models.ForeignKey(
        ScorecardTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    template_name = models.CharField(max_length=120, blank=True)
    total_score = models.DecimalField(_("score"), max_digits=5, decimal_places=2, null=True, blank=True)
    # {kpi key: "decimal" or null} for every KPI measured that day (Decimals kept exact as strings).
    values = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    # The template's lines as scored that day: kpi, weight, target, value, attainment, points,
    # score (its share of the total), max (the most it could add), next_points / next_value.
    lines = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    month_end = models.BooleanField(default=False)
    frozen = models.BooleanField(default=False)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-as_of", "partner_id"]
        verbose_name = _("scorecard snapshot")
        constraints = [models.UniqueConstraint(fields=["partner", "as_of"], name="snapshot_one_per_day")]
        indexes = [
            # Rankings: one day's rows by score.
            models.Index(fields=["as_of", "total_score"], name="snapshot_day_score_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.as_of}: {self.total_score}"


# --- Support cases (partner problem management) -----------------------------------------------------
# The workflow lives in partners.support (policies, services, SLAs, views); these are its tables.
# Kinds, SLA targets and teams are the vendor's own settings (no tenant column). A case, its public
# messages and its files belong to the partner that opened it (TENANT_COLUMN). Internal notes are a
# table of their own that no partner scope can read at all (RLS_VENDOR_ONLY): a note never reaching a
# partner does not depend on every query remembering a filter.
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
        every_kind = _("Every kind")  # not inside the f-string: xgettext would not see it there
        return f"{self.kind or every_kind} · {self.get_priority_display()}"


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

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="support_cases")
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
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
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
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")
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


# --- tier evaluation (partners.performance.tiers) ---------------------------------------------------
class TierGraceStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    RECOVERED = "recovered", _("Recovered")
    EXPIRED = "expired", _("Ended short: downgrade proposed")
    ENDED = "ended", _("Ended: the tier changed")


GRACE_TRANSITIONS: dict[str, set[str]] = {
    TierGraceStatus.RUNNING: {TierGraceStatus.RECOVERED, TierGraceStatus.EXPIRED, TierGraceStatus.ENDED},
    TierGraceStatus.RECOVERED: set(),
    TierGraceStatus.EXPIRED: set(),
    TierGraceStatus.ENDED: set(),
}


class TierGracePeriod(models.Model):
    """The time a partner below its tier's requirements has to meet them again
    (``PRM["TIER_GRACE_DAYS"]``). Opened by the tier evaluation with what was missing that day;
    closed by it when the partner recovers (``recovered``), when the period is over and the partner
    is still short (``expired``: a downgrade is proposed, never applied silently), or when the
    partner's tier changed meanwhile (``ended``). At most one runs per partner."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # the figures hold the partner's won revenue
    TRANSITIONS = StateMachine(
        GRACE_TRANSITIONS, refusal=_("A grace period that is %(current)s cannot become %(target)s.")
    )

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="tier_grace_periods")
    tier = models.ForeignKey(Tier, verbose_name=_("tier"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=16, choices=TierGraceStatus.choices, default=TierGraceStatus.RUNNING
    )
    started_on = models.DateField(_("started on"))
    ends_on = models.DateField(_("ends on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    # The figures the evaluation measured (as of the end of ``as_of``) and the tier's requirements
    # they fell short of: [{"key", "value", "required", "unit"}], values as decimal strings.
    as_of = models.DateField(_("figures as of"))
    figures = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    shortfalls = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_on", "-pk"]
        verbose_name = _("tier grace period")
        constraints = [
            models.UniqueConstraint(
                fields=["partner"],
                condition=models.Q(status="running"),
                name="tier_grace_one_running",
            )
        ]
        indexes = [models.Index(fields=["status", "ends_on"], name="tier_grace_status_end_idx")]

    def __str__(self) -> str:
        return _("%(partner)s grace period for %(tier)s until %(ends)s") % {
            "partner": self.partner,
            "tier": self.tier,
            "ends": self.ends_on.isoformat(),
        }


class TierProposalStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting decision")
    APPROVED = "approved", _("Approved")
    WAIVED = "waived", _("Waived: tier kept")
    WITHDRAWN = "withdrawn", _("Withdrawn by the evaluation")


class TierDirection(models.TextChoices):
    UP = "up", _("Upgrade")
    DOWN = "down", _("Downgrade")


PROPOSAL_TRANSITIONS: dict[str, set[str]] = {
    TierProposalStatus.PENDING: {
        TierProposalStatus.APPROVED,
        TierProposalStatus.WAIVED,
        TierProposalStatus.WITHDRAWN,
    },
    TierProposalStatus.APPROVED: set(),
    TierProposalStatus.WAIVED: set(),
    TierProposalStatus.WITHDRAWN: set(),
}


class TierChangeProposal(models.Model):
    """A tier change the evaluation proposes and a person decides: a downgrade once a grace period
    ended short (always), an upgrade into a tier that needs approval (``Tier.upgrade_needs_approval``).
    The partner's channel account manager or a program admin approves it (the tier changes) or
    waives it (the tier stays); the evaluation withdraws it when the figures no longer call for it.
    At most one is pending per partner. Vendor-side: a partner sees its grace period, not this."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True
    TRANSITIONS = StateMachine(
        PROPOSAL_TRANSITIONS, refusal=_("This proposal was already %(current)s; it cannot be %(target)s.")
    )

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="tier_proposals")
    direction = models.CharField(_("change"), max_length=8, choices=TierDirection.choices)
    from_tier = models.ForeignKey(
        Tier, verbose_name=_("from tier"), on_delete=models.PROTECT, related_name="+"
    )
    to_tier = models.ForeignKey(Tier, verbose_name=_("to tier"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=16, choices=TierProposalStatus.choices, default=TierProposalStatus.PENDING
    )
    grace_period = models.ForeignKey(
        TierGracePeriod, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )
    as_of = models.DateField(_("figures as of"))
    figures = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    # A downgrade: the current tier's requirements the partner misses (as on TierGracePeriod).
    shortfalls = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("note"), blank=True, max_length=2000)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("tier change proposal")
        constraints = [
            models.UniqueConstraint(
                fields=["partner"],
                condition=models.Q(status="pending"),
                name="tier_proposal_one_pending",
            )
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="tier_proposal_status_idx")]

    def __str__(self) -> str:
        return _("%(partner)s: %(from)s → %(to)s") % {
            "partner": self.partner,
            "from": self.from_tier,
            "to": self.to_tier,
        }


# --- Joint business plans (partners.plans) ---------------------------------------------------------
# The tables live here, not in partners/plans/, for the reason the performance tables do: a models
# module that imports a sub-package of the app makes an import circle. The logic is in
# partners/plans/ (policies, selectors, services, progress, views).
class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    AWAITING = "awaiting", _("Awaiting sign-off")
    AGREED = "agreed", _("Agreed")


# Signing moves a draft to "awaiting" (one side signed) and then to "agreed" (both did); a change to
# the goals of a plan under sign-off or agreed takes it back to a draft (a new revision when agreed).
PLAN_TRANSITIONS: dict[str, set[str]] = {
    PlanStatus.DRAFT: {PlanStatus.AWAITING},
    PlanStatus.AWAITING: {PlanStatus.AGREED, PlanStatus.DRAFT},
    PlanStatus.AGREED: {PlanStatus.DRAFT},
}


class PlanSide(models.TextChoices):
    PARTNER = "partner", _("Partner")
    VENDOR = "vendor", _("Vendor")


class BusinessPlan(models.Model):
    """A joint business plan of one partner for one fiscal period: goals with targets, agreed
    activities, comments. Agreed only when a partner admin and the partner's channel account manager
    (or a program admin) both signed the current ``revision``; the agreed revisions are kept in
    ``PlanRevision``. Progress is never stored: partners.plans.progress computes it from the apps'
    data for the plan's own period."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True  # targets and progress in money (won revenue, MDF spend)
    TRANSITIONS = StateMachine(
        PLAN_TRANSITIONS, refusal=_("A plan that is %(current)s cannot become %(target)s.")
    )

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="business_plans")
    period_key = models.CharField(_("period"), max_length=16)
    period_label = models.CharField(_("period"), max_length=40)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    status = models.CharField(
        _("status"), max_length=16, choices=PlanStatus.choices, default=PlanStatus.DRAFT
    )
    revision = models.PositiveIntegerField(_("revision"), default=1)
    partner_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    partner_signed_at = models.DateTimeField(null=True, blank=True)
    vendor_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vendor_signed_at = models.DateTimeField(null=True, blank=True)
    partner_review = models.TextField(_("partner's mid-period review"), blank=True, max_length=4000)
    vendor_review = models.TextField(_("vendor's mid-period review"), blank=True, max_length=4000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-period_start", "partner_id"]
        verbose_name = _("joint business plan")
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "period_start"],
                name="plan_one_per_partner_period",
                violation_error_message=_("This partner already has a plan for that period."),
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="plan_period_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["status", "period_start"], name="plan_status_period_idx")]

    def __str__(self) -> str:
        return f"{self.partner} · {self.period_label}"


class PlanGoal(models.Model):
    """One goal of a plan: a KPI of the registry (``kind`` is its key: won revenue, deals registered,
    certified people, MDF spend) measured live for the plan's period, or ``custom`` with a value the
    two sides record by hand. Money targets are in the reporting currency."""

    CUSTOM = "custom"
    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True

    plan = models.ForeignKey(BusinessPlan, on_delete=models.CASCADE, related_name="goals")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("goal"), max_length=100)
    label = models.CharField(_("label"), max_length=120, blank=True)
    target = models.DecimalField(_("target"), max_digits=16, decimal_places=2)
    manual_value = models.DecimalField(
        _("value so far"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["plan", "position", "pk"]
        verbose_name = _("plan goal")
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "kind"], condition=~models.Q(kind="custom"), name="plan_goal_kpi_once"
            ),
            models.CheckConstraint(condition=models.Q(target__gt=0), name="plan_goal_target_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id}: {self.label or self.kind} → {self.target}"


class ActivityStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVITY_TRANSITIONS: dict[str, set[str]] = {
    ActivityStatus.PLANNED: {ActivityStatus.IN_PROGRESS, ActivityStatus.DONE, ActivityStatus.CANCELLED},
    ActivityStatus.IN_PROGRESS: {ActivityStatus.PLANNED, ActivityStatus.DONE, ActivityStatus.CANCELLED},
    ActivityStatus.DONE: {ActivityStatus.IN_PROGRESS},
    ActivityStatus.CANCELLED: {ActivityStatus.PLANNED},
}
OPEN_ACTIVITY = (ActivityStatus.PLANNED, ActivityStatus.IN_PROGRESS)


class PlanActivity(models.Model):
    """An agreed activity: what, who owns it (a partner user or a vendor person), by when."""

    TENANT_COLUMN = "partner_id"
    TRANSITIONS = StateMachine(
        ACTIVITY_TRANSITIONS, refusal=_("An activity that is %(current)s cannot become %(target)s.")
    )

    plan = models.ForeignKey(BusinessPlan, on_delete=models.CASCADE, related_name="activities")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("activity"), max_length=200)
    owner_side = models.CharField(_("owner's side"), max_length=16, choices=PlanSide.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="+"
    )
    due_on = models.DateField(_("due"))
    status = models.CharField(
        _("status"), max_length=16, choices=ActivityStatus.choices, default=ActivityStatus.PLANNED
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan", "due_on", "pk"]
        verbose_name = _("plan activity")
        verbose_name_plural = _("plan activities")

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today: date) -> bool:
        return self.status in OPEN_ACTIVITY and self.due_on < today


class PlanComment(models.Model):
    TENANT_COLUMN = "partner_id"

    plan = models.ForeignKey(BusinessPlan, on_delete=models.CASCADE, related_name="comments")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    side = models.CharField(max_length=16, choices=PlanSide.choices)
    body = models.TextField(_("comment"), max_length=4000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["plan", "created_at", "pk"]
        verbose_name = _("plan comment")

    def __str__(self) -> str:
        return self.body[:60]


class PlanRevision(models.Model):
    """A revision of a plan as both sides agreed it: its goals and targets and who signed. Written
    when the second side signs; never changed afterwards, so an agreed revision stays readable after
    the plan's targets are edited into the next one."""

    TENANT_COLUMN = "partner_id"
    RLS_MONEY = True

    plan = models.ForeignKey(BusinessPlan, on_delete=models.CASCADE, related_name="revisions")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveIntegerField(_("revision"))
    # [{"kind", "label", "target", "unit"}] as agreed (Decimals as strings).
    goals = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    partner_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vendor_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agreed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "-number"]
        verbose_name = _("agreed plan revision")
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="plan_revision_once")]

    def __str__(self) -> str:
        return f"{self.plan_id} r{self.number}"


class PartnerListing(models.Model):
    """A partner's entry in the public partner locator (partners.locator): what an end customer
    sees of it. Only what is here, the partner's name, tier, region and country are ever shown to
    the public, and only while ``published`` (the partner opted in) and the partner is active. The
    partner's own contact e-mail, phone and people never leave the portal: a customer writes
    through the contact form, which becomes a lead for the partner."""

    TENANT_COLUMN = "partner_id"

    partner = models.OneToOneField(Partner, on_delete=models.CASCADE, related_name="listing")
    published = models.BooleanField(
        _("list us in the public partner locator"),
        default=False,
        help_text=_("End customers can then find your company and send you an enquiry."),
    )
    description = models.TextField(_("description"), max_length=2000, blank=True)
    logo = models.FileField(_("logo"), upload_to=listing_logo_path, blank=True, max_length=300)
    regions = ArrayField(
        models.CharField(max_length=8, choices=Region.choices),
        verbose_name=_("regions served"),
        default=list,
        blank=True,
    )
    countries = ArrayField(
        models.CharField(max_length=2), verbose_name=_("countries served"), default=list, blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("partner locator listing")
        indexes = [
            models.Index(fields=["published"], name="listing_published_idx"),
            GinIndex(fields=["regions"], name="listing_regions_idx"),
            GinIndex(fields=["countries"], name="listing_countries_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} listing"
