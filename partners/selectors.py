"""Reads for partners. Every tenant-owned read goes through the policies' scope."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, F, Func, IntegerField, Model, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from prm import audit
from prm.models import AuditEvent
from prm.roles import VendorRole
from prm.statements import Statement
from prm.tenancy import Actor

from . import history
from .models import (
    VENDOR_CONTROLLED_FIELDS,
    ApplicationStatus,
    Invitation,
    Membership,
    Partner,
    PartnerApplication,
    PartnerStatus,
    PartnerUserObjectPermission,
    ProfileChangeRequest,
    ProfileChangeStatus,
    Region,
    Tier,
)
from .policies import (
    PORTFOLIO_PERMISSION,
    application_policy,
    membership_policy,
    partner_policy,
    profile_change_policy,
    sees_partner_business,
)

User = get_user_model()

# Audit events about a partner's business (deals, leads, funds, earnings), by their actions and the
# apps of their targets. Named, not imported: those apps sit above partners.
BUSINESS_AUDIT_APPS = ("deals", "mdf", "incentives")
BUSINESS_AUDIT_ACTIONS = ("deal.", "lead.", "mdf.", "incentives.")


def partner_list(*, actor: Actor, filters: dict[str, Any] | None = None) -> QuerySet[Partner]:
    filters = filters or {}
    queryset = (
        partner_policy.scope(actor)
        .select_related("tier", "channel_account_manager")
        .annotate(member_count=_active_members())
    )
    for name in ("status", "partner_type", "region", "country"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("tier"):
        queryset = queryset.filter(tier_id=filters["tier"])
    if filters.get("channel_account_manager"):
        queryset = queryset.filter(channel_account_manager_id=filters["channel_account_manager"])
    search = (filters.get("q") or "").strip()
    if search:
        queryset = queryset.annotate(similarity=TrigramWordSimilarity(search, "legal_name")).filter(
            Q(legal_name__icontains=search) | Q(website_domain__icontains=search) | Q(similarity__gte=0.4)
        )
    return queryset.order_by("legal_name", "pk")


def _active_members() -> Subquery:
    """A partner's active people, as a subquery of its own row: PostgreSQL evaluates it for the
    rows a page returns only (after the ORDER BY / LIMIT). As a Count over a join it counted the
    memberships of every partner in scope before sorting them for the first 25 (100,000 people
    for 10,000 partners: the vendor partner list's 0.7 s), and its paginator's COUNT(*) wrapped
    that whole GROUP BY again."""
    return Subquery(
        Membership.objects.filter(partner_id=OuterRef("pk"), is_active=True)
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n"),
        output_field=IntegerField(),
    )


def partner_counts(*, actor: Actor) -> dict[str, Any]:
    """The dashboard's partner figures in the actor's scope: partners by status ({status: n}), by
    region ({region: n}) and by tier (rows of ``label`` and ``n`` in the tiers' rank order).

    One aggregate row of filtered counts (after the tiers, a handful of rows): no GROUP BY, so
    no sort. Row-level security makes PostgreSQL expect one partner, so a grouped count sorted
    the 10,000 partners (25-40 ms under load, against about 10 for this); before, three
    COUNT(DISTINCT ...) over a join to every partner's memberships took most of a second."""
    tiers = list(Tier.objects.order_by("rank", "name"))
    counts = {
        **{f"tier_{tier.pk}": Count("pk", filter=Q(tier_id=tier.pk)) for tier in tiers},
        **{f"status_{value}": Count("pk", filter=Q(status=value)) for value in PartnerStatus.values},
        **{f"region_{value}": Count("pk", filter=Q(region=value)) for value in Region.values},
    }
    row = partner_policy.scope(actor).order_by().aggregate(**counts)
    return {
        "status": {value: row[f"status_{value}"] for value in PartnerStatus.values if row[f"status_{value}"]},
        "region": {value: row[f"region_{value}"] for value in Region.values if row[f"region_{value}"]},
        # The keys the dashboard's chart reads (static/js/vendor-dashboard-charts.js).
        "tier": [
            {"status": tier.name, "label": tier.name, "n": row[f"tier_{tier.pk}"]}
            for tier in tiers
            if row[f"tier_{tier.pk}"]
        ],
    }


def partner_choices(*, actor: Actor, status: str = "") -> QuerySet[Partner]:
    """The partners a chooser may pick from: the actor's scope (a CAM's portfolio), no extra
    columns. Never listed whole: a chooser looks one up by id or name, or suggests a few."""
    queryset = partner_policy.scope(actor)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("legal_name", "pk")


SUGGESTION_LIMIT = 20


def partner_suggestions(*, actor: Actor, query: str, status: str = "") -> list[Partner]:
    """At most SUGGESTION_LIMIT partners of the actor's scope whose name contains ``query``,
    those starting with it first."""
    query = query.strip()
    if not query:
        return []
    return list(
        partner_choices(actor=actor, status=status)
        .filter(legal_name__icontains=query)
        .select_related("tier")
        .annotate(starts=Q(legal_name__istartswith=query))
        .order_by("-starts", "legal_name", "pk")[:SUGGESTION_LIMIT]
    )


def partner_get(*, actor: Actor, pk: Any) -> Partner:
    return partner_policy.get_or_404(
        actor,
        Partner.objects.select_related("tier", "channel_account_manager", "agreement_accepted_by"),
        pk=pk,
    )


def partner_history(*, actor: Actor, partner: Partner) -> QuerySet[AuditEvent]:
    """The partner's audit trail (a partner the actor may see). A content manager's leaves out the
    partner's business: its events carry deal amounts, funds and earnings."""
    history = audit.history_for_partner(partner_id=partner.pk)
    if sees_partner_business(actor):
        return history
    business = Q(target_type__app_label__in=BUSINESS_AUDIT_APPS)
    for prefix in BUSINESS_AUDIT_ACTIONS:
        business |= Q(action__startswith=prefix)
    return history.exclude(business)


def portfolio_holders(*, actor: Actor, partner: Partner) -> QuerySet[Any]:
    """The channel account managers who hold ``work_partner`` on ``partner`` (vendor-side data)."""
    if not actor.is_vendor or not partner_policy.can(actor, "view", partner):
        return User.objects.none()
    holder_ids = PartnerUserObjectPermission.objects.filter(
        content_object_id=partner.pk, permission__codename=PORTFOLIO_PERMISSION
    ).values("user_id")
    return User.objects.filter(pk__in=holder_ids).order_by("full_name", "email")


def _columns(model: type[Model], wanted: Iterable[str] | None = None) -> tuple[str, ...]:
    """``model``'s concrete columns (attnames) in its fields' order, those of ``wanted`` only: the
    order Model.from_db takes a row's values in when some fields are left deferred."""
    names = None if wanted is None else set(wanted)
    return tuple(f.attname for f in model._meta.concrete_fields if names is None or f.attname in names)


def _instances(model: type[Model], columns: tuple[str, ...], rows: Iterable[tuple]) -> list[Any]:
    """Model instances of a kept statement's rows (prm.statements), as the ORM builds them from a
    queryset's rows (converters already applied): the page keeps its models' methods."""
    return [model.from_db(DEFAULT_DB_ALIAS, columns, row) for row in rows]


# The company page's recent changes: every column the events print (not their actor and target
# type rows: the page shows the actor's label).
_HISTORY_COLUMNS = _columns(AuditEvent)


def _company_history_rows(actor: Actor, *, partner_id: int, limit: int) -> QuerySet:
    events = audit.history_for_partner(partner_id=partner_id).filter(history.visible_q(actor))
    return events.values_list(*_HISTORY_COLUMNS)[:limit]


_COMPANY_HISTORY = Statement("partners.company_history", _company_history_rows, values=["partner_id"])


def company_history(*, actor: Actor, partner: Partner, limit: int = 10) -> list[AuditEvent]:
    """The company page's recent changes: only what the actor's partner role may see elsewhere
    (partners.history), with the payload fields it may not see left out. A kept statement
    (prm.statements): building the role's filter and compiling it was a tenth of the page."""
    if not (actor.is_partner and actor.partner_id == partner.pk):
        return []
    rows = _COMPANY_HISTORY.rows(actor, partner_id=int(partner.pk), limit=limit)
    return [history.redact(event, actor) for event in _instances(AuditEvent, _HISTORY_COLUMNS, rows)]


def team_list(*, actor: Actor, partner: Partner) -> QuerySet[Membership]:
    return (
        membership_policy.scope(actor)
        .filter(partner=partner)
        .select_related("user")
        .order_by("-is_active", "user__full_name", "user__email")
    )


class Person(NamedTuple):
    """A member's or an inviter's user as the team page prints it: the two columns it shows."""

    full_name: str
    email: str

    def __str__(self) -> str:  # as User.__str__
        return self.full_name or self.email


class MemberRow(NamedTuple):
    """A membership as the team page's table shows it: the columns it prints, read as a tuple. A
    Membership and its User per row (models built, a dozen timestamps parsed) and the queryset
    built and compiled on every request were a fifth of the page's CPU."""

    pk: int
    partner_id: int  # the partner whose member it is (not shown; what the isolation tests check)
    user_id: int
    role: str
    is_active: bool
    created_at: datetime
    full_name: str
    email: str

    @property
    def user(self) -> Person:
        return Person(self.full_name, self.email)

    def get_role_display(self) -> str:
        return str(dict(Membership._meta.get_field("role").flatchoices).get(self.role, self.role))


_MEMBER_COLUMNS = (
    "pk",
    "partner_id",
    "user_id",
    "role",
    "is_active",
    "created_at",
    "user__full_name",
    "user__email",
)


def _team_rows(
    actor: Actor, *, partner_id: int, bottom: int | None = None, top: int | None = None
) -> QuerySet:
    members = team_list(actor=actor, partner=partner_id)
    if bottom is None:  # the count
        return members.values_list("pk")
    return members.values_list(*_MEMBER_COLUMNS)[bottom:top]


# The team page's members: their count and a page of them (its bounds are the shape: one per page).
_TEAM_COUNT = Statement("partners.team_count", _team_rows, values=["partner_id"], count=True)
_TEAM_ROWS = Statement("partners.team_rows", _team_rows, values=["partner_id"])


class TeamMembers:
    """The members of ``partner`` that ``actor`` may see, in the team list's order, for a Paginator:
    its ``count()`` and its slices are kept statements (prm.statements), rows as MemberRow."""

    def __init__(self, actor: Actor, partner_id: int) -> None:
        self.actor = actor
        self.partner_id = int(partner_id)

    def count(self) -> int:
        return _TEAM_COUNT.count(self.actor, partner_id=self.partner_id)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, bounds: slice) -> list[MemberRow]:
        if not isinstance(bounds, slice) or bounds.step is not None:
            raise TypeError("a page of members is a slice")
        rows = _TEAM_ROWS.rows(self.actor, partner_id=self.partner_id, bottom=bounds.start, top=bounds.stop)
        return [MemberRow._make(row) for row in rows]


def team_members(*, actor: Actor, partner: Partner) -> TeamMembers:
    """The team page's members (team_list's scope and order), to paginate."""
    return TeamMembers(actor, partner.pk)


def membership_get(*, actor: Actor, pk: Any) -> Membership:
    return membership_policy.get_or_404(actor, Membership.objects.select_related("user", "partner"), pk=pk)


def open_invitations(*, actor: Actor, partner: Partner) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(membership_policy.visible(actor))
        .filter(partner=partner, accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("invited_by")
        .order_by("-created_at")
    )


class InvitationRow(NamedTuple):
    """An open invitation as the team page shows it (the columns it prints, read as a tuple)."""

    pk: int
    partner_id: int  # the partner that invites (not shown; what the isolation tests check)
    email: str
    role: str
    expires_at: datetime
    invited_by_id: int | None
    inviter_name: str | None
    inviter_email: str | None

    @property
    def invited_by(self) -> Person | None:
        return (
            None if self.invited_by_id is None else Person(self.inviter_name or "", self.inviter_email or "")
        )

    @property
    def is_open(self) -> bool:
        # As Invitation.is_open: the statement reads only those neither accepted nor revoked.
        return self.expires_at > timezone.now()

    def get_role_display(self) -> str:
        return str(dict(Invitation._meta.get_field("role").flatchoices).get(self.role, self.role))


def _open_invitation_rows(actor: Actor, *, partner_id: int) -> QuerySet:
    return open_invitations(actor=actor, partner=partner_id).values_list(
        "pk",
        "partner_id",
        "email",
        "role",
        "expires_at",
        "invited_by_id",
        "invited_by__full_name",
        "invited_by__email",
    )


_OPEN_INVITATIONS = Statement("partners.open_invitations", _open_invitation_rows, values=["partner_id"])


def open_invitation_rows(*, actor: Actor, partner: Partner) -> list[InvitationRow]:
    """The team page's open invitations (open_invitations' scope and order), as rows."""
    return [InvitationRow._make(row) for row in _OPEN_INVITATIONS.rows(actor, partner_id=int(partner.pk))]


def invitation_get(*, actor: Actor, pk: Any) -> Invitation:
    from django.http import Http404

    try:
        return (
            Invitation.objects.filter(membership_policy.visible(actor)).select_related("partner").get(pk=pk)
        )
    except (Invitation.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def application_list(*, actor: Actor, status: str = "") -> QuerySet[PartnerApplication]:
    queryset = application_policy.scope(actor).select_related("reviewed_by", "partner")
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-submitted_at")


def application_get(*, actor: Actor, pk: Any) -> PartnerApplication:
    return application_policy.get_or_404(actor, PartnerApplication.objects.select_related("partner"), pk=pk)


def application_existing_account(*, actor: Actor, application: PartnerApplication) -> bool:
    """Whether the applicant's address already has a portal account. The public form accepts such
    an application like any other (it must not tell strangers who has an account); the reviewer
    is told here instead, since approving cannot invite that address."""
    if not application_policy.can(actor, "view", application):
        return False
    return User.objects.filter(email__iexact=application.contact_email).exists()


def invitation_address_has_account(*, invitation: Invitation) -> bool:
    """For the person holding the invitation link (it proves the mailbox): their address already
    has an account, so the invitation cannot be accepted with it."""
    return User.objects.filter(email__iexact=invitation.email).exists()


def pending_application_count(*, actor: Actor) -> int:
    return application_policy.scope(actor).filter(status=ApplicationStatus.SUBMITTED).count()


# --- Profile change requests --------------------------------------------------------------------
def profile_change_list(*, actor: Actor, status: str = "", partner: Partner | None = None) -> QuerySet:
    queryset = profile_change_policy.scope(actor).select_related(
        "partner", "partner__channel_account_manager", "requested_by", "decided_by"
    )
    if status:
        queryset = queryset.filter(status=status)
    if partner is not None:
        queryset = queryset.filter(partner=partner)
    return queryset.order_by("-requested_at", "-pk")


def profile_change_get(*, actor: Actor, pk: Any) -> ProfileChangeRequest:
    return profile_change_policy.get_or_404(
        actor, ProfileChangeRequest.objects.select_related("partner", "requested_by"), pk=pk
    )


def pending_profile_change_count(*, actor: Actor) -> int:
    return profile_change_policy.scope(actor).filter(status=ProfileChangeStatus.PENDING).count()


# The request's own columns only: the page shows its status, dates, reason and what it changes,
# not its partner nor its people (four joins of whole rows were half of the page's reads).
_PROFILE_CHANGE_COLUMNS = _columns(
    ProfileChangeRequest,
    (
        "id",
        "partner_id",
        "status",
        "requested_at",
        "decided_at",
        "decision_reason",
        *VENDOR_CONTROLLED_FIELDS,
        *(f"from_{name}" for name in VENDOR_CONTROLLED_FIELDS),
    ),
)


def _company_profile_change_rows(actor: Actor, *, partner_id: int) -> QuerySet:
    requests = profile_change_policy.scope(actor).filter(partner=partner_id).order_by("-requested_at", "-pk")
    return requests.values_list(*_PROFILE_CHANGE_COLUMNS)[:1]


_COMPANY_PROFILE_CHANGE = Statement(
    "partners.company_profile_change", _company_profile_change_rows, values=["partner_id"]
)


def company_profile_change(*, actor: Actor, partner: Partner) -> ProfileChangeRequest | None:
    """The company page's request: the pending one, or else the latest answer (a new request can
    only be made when none is pending, so the newest is the pending one if there is one). A kept
    statement (prm.statements), the request built from its row with the columns the page shows."""
    rows = _COMPANY_PROFILE_CHANGE.rows(actor, partner_id=int(partner.pk))
    changes = _instances(ProfileChangeRequest, _PROFILE_CHANGE_COLUMNS, rows)
    return changes[0] if changes else None


# --- who hears about a partner's things ----------------------------------------------------------
# Called by services inside a scope that already sees the partner (its own, its manager's, a job's
# system scope), to address notifications; no actor, since they choose recipients, not rows to show.
def partner_people(partner_id: int, roles: Iterable[str]) -> list[Any]:
    """The partner's active people in ``roles`` (e.g. its admins, its marketing people)."""
    return [
        membership.user
        for membership in Membership.objects.filter(
            partner_id=partner_id, is_active=True, user__is_active=True, role__in=list(roles)
        ).select_related("user")
    ]


def vendor_people(role: str) -> list[Any]:
    """Every active vendor user with ``role`` (program admins, finance)."""
    return list(get_user_model().objects.filter(vendor_role=role, is_active=True))


def reviewers_for(partner: Partner) -> list[Any]:
    """Who decides a partner's registrations and fund requests: its channel account manager while
    active, otherwise every program admin (PRODUCT.md: nothing waits on a missing manager)."""
    manager = partner.channel_account_manager
    if manager is not None and manager.is_active:
        return [manager]
    return vendor_people(VendorRole.PROGRAM_ADMIN)
