"""Reads for support cases: every query starts from the case policy's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Value, Window
from django.utils import timezone

from prm.audit import history_for
from prm.models import AuditEvent
from prm.roles import VendorRole
from prm.statements import Statement
from prm.tenancy import Actor

from ..models import (
    OPEN_STATUSES,
    CaseAttachment,
    CaseKind,
    CaseMessage,
    CaseNote,
    CaseStatus,
    SupportCase,
    SupportTeam,
)
from . import sla
from .policies import attachment_policy, case_policy


def kinds(*, active_only: bool = True) -> QuerySet[CaseKind]:
    kinds = CaseKind.objects.all()
    return kinds.filter(is_active=True) if active_only else kinds


def teams() -> QuerySet[SupportTeam]:
    return SupportTeam.objects.order_by("name")


def assignable_people() -> QuerySet[Any]:
    """Vendor staff who work cases (a CAM is refused by the service for a partner outside the
    portfolio)."""
    return (
        get_user_model()
        .objects.filter(
            is_active=True,
            vendor_role__in=[
                VendorRole.SUPPORT,
                VendorRole.PROGRAM_ADMIN,
                VendorRole.CHANNEL_ACCOUNT_MANAGER,
            ],
        )
        .order_by("full_name", "email")
    )


# --- lists ------------------------------------------------------------------------------------------
def partner_case_list(*, actor: Actor, status: str = "") -> QuerySet[SupportCase]:
    """The partner's own cases, newest first (``status``: "open", "closed" or everything)."""
    cases = case_policy.scope(actor).select_related("kind", "assignee").order_by("-created_at", "-pk")
    if status == "open":
        cases = cases.filter(status__in=OPEN_STATUSES)
    elif status == "closed":
        cases = cases.exclude(status__in=OPEN_STATUSES)
    return cases


@dataclass(frozen=True)
class QueueFilters:
    status: str = "open"  # "open", a CaseStatus value, or "all"
    kind: int | None = None
    priority: str = ""
    assigned: str = ""  # "me", "unassigned", "team:<id>" or anybody
    breached: bool = False


def queue(*, actor: Actor, filters: QueueFilters, now: datetime | None = None) -> QuerySet[SupportCase]:
    """The vendor's queue: oldest first, so the longest-waiting partner is answered first."""
    now = now or timezone.now()
    cases = case_policy.scope(actor).select_related("partner", "kind", "assignee", "team")
    if filters.status == "open":
        cases = cases.filter(status__in=OPEN_STATUSES)
    elif filters.status in CaseStatus.values:
        cases = cases.filter(status=filters.status)
    if filters.kind:
        cases = cases.filter(kind_id=filters.kind)
    if filters.priority:
        cases = cases.filter(priority=filters.priority)
    if filters.assigned == "me":
        cases = cases.filter(assignee_id=actor.user.pk)
    elif filters.assigned == "unassigned":
        cases = cases.filter(assignee__isnull=True, team__isnull=True)
    elif filters.assigned.startswith("team:") and filters.assigned[5:].isdigit():
        cases = cases.filter(team_id=int(filters.assigned[5:]))
    if filters.breached:
        cases = cases.filter(sla.breached_q(now))
    return cases.order_by("created_at", "pk")


def queue_counts(*, actor: Actor, now: datetime | None = None) -> dict[str, int]:
    """The numbers above the queue, in one query."""
    return case_policy.scope(actor).aggregate(**queue_count_expressions(actor, now or timezone.now()))


def queue_count_expressions(actor: Actor, now: datetime) -> dict[str, Count]:
    """The aggregates of :func:`queue_counts` over ``case_policy.scope(actor)`` (the vendor
    dashboard's panel reads them as a kept statement: partners.support.panels)."""
    open_cases = Q(status__in=OPEN_STATUSES)
    return {
        "open": Count("pk", filter=open_cases),
        "unassigned": Count("pk", filter=open_cases & Q(assignee__isnull=True, team__isnull=True)),
        "breached": Count("pk", filter=open_cases & sla.breached_q(now)),
        "mine": Count("pk", filter=open_cases & Q(assignee_id=actor.user.pk if actor.user else None)),
    }


class CaseKindName(NamedTuple):
    """A case's kind as the home shows it (``case.kind.name``)."""

    name: str


class HomeCase(NamedTuple):
    """A case as the partner home's support panel shows it."""

    pk: int
    subject: str
    status: str
    rating: int | None
    kind: CaseKindName

    @property
    def number(self) -> str:
        return f"#{self.pk}"

    def get_status_display(self) -> str:
        return str(CaseStatus(self.status).label) if self.status in CaseStatus.values else self.status


def _open_cases(actor: Actor) -> QuerySet[SupportCase]:
    """The latest five open or resolved cases the actor sees, each with the counts of the panel:
    window aggregates over the rows the list is cut from, computed before the LIMIT."""
    return (
        case_policy.scope(actor)
        .filter(status__in=(*OPEN_STATUSES, CaseStatus.RESOLVED))
        .annotate(
            n_open=Window(
                expression=Count("pk", filter=Q(status__in=OPEN_STATUSES)), partition_by=[Value(1)]
            ),
            n_waiting=Window(
                expression=Count("pk", filter=Q(status=CaseStatus.WAITING)), partition_by=[Value(1)]
            ),
            n_to_rate=Window(
                expression=Count("pk", filter=Q(status=CaseStatus.RESOLVED, rating__isnull=True)),
                partition_by=[Value(1)],
            ),
        )
        .order_by("-updated_at", "-pk")
    )


# What the panel reads of a case, in this order (open_case_summary's rows).
OPEN_CASE_COLUMNS = ("pk", "subject", "status", "rating", "kind__name", "n_open", "n_waiting", "n_to_rate")


def _open_case_rows(actor: Actor) -> QuerySet[SupportCase]:
    return _open_cases(actor).values_list(*OPEN_CASE_COLUMNS)[:5]


def home_case_rows(actor: Actor, *columns: Any) -> QuerySet[SupportCase]:
    """The panel's cases (:func:`_open_case_rows`) as the columns ``columns`` name, for the partner
    home, which reads them in the statement of its team card (partners.home_reads)."""
    return _open_cases(actor).values_list(*columns)[:5]


# Compiled once per shape (prm.statements): building the windows through the ORM was about a sixth
# of the partner home's CPU.
_OPEN_CASES = Statement("support.open_case_summary", _open_case_rows)


def open_case_summary(*, actor: Actor, rows: list[tuple] | None = None) -> dict[str, Any]:
    """The partner home's panel: how many cases are open, waiting for the partner or waiting for a
    rating, and the latest five (HomeCase). One query (_open_case_rows), unless the home read its
    ``rows`` (OPEN_CASE_COLUMNS) already."""
    if rows is None:
        rows = _OPEN_CASES.rows(actor)
    first = rows[0] if rows else None
    latest = [
        HomeCase(pk, subject, status, rating, CaseKindName(kind))
        for pk, subject, status, rating, kind, *_counts in rows
    ]
    return {
        "open": first[5] if first else 0,
        "waiting": first[6] if first else 0,
        "to_rate": first[7] if first else 0,
        "latest": [case for case in latest if case.status in OPEN_STATUSES or case.rating is None],
    }


# --- one case --------------------------------------------------------------------------------------
def case_get(*, actor: Actor, pk: Any) -> SupportCase:
    return case_policy.get_or_404(
        actor,
        case_policy.scope(actor).select_related("partner", "kind", "assignee", "team", "opened_by"),
        pk=pk,
    )


# Files stored with the case's opening (the same request) are shown with its description.
OPENING_FILES = timedelta(minutes=1)


@dataclass(frozen=True)
class Entry:
    """One item of a case's conversation: the description, a message, an internal note, or files
    added on their own."""

    at: datetime
    kind: str  # "description", "message", "note", "files"
    author: Any
    from_vendor: bool
    body: str
    attachments: list[CaseAttachment]


def conversation(*, actor: Actor, case: SupportCase) -> list[Entry]:
    """The case's messages and files in order, with internal notes only for those who may read
    them. Three queries whatever the length."""
    attachments = list(attachment_policy.scope(actor).filter(case=case).select_related("uploaded_by"))
    by_message: dict[int | None, list[CaseAttachment]] = {}
    for attachment in attachments:
        by_message.setdefault(attachment.message_id, []).append(attachment)
    # Files without a message were attached when the case was opened, or added on their own later.
    loose = by_message.get(None, [])
    opening = [a for a in loose if a.uploaded_at <= case.created_at + OPENING_FILES]
    entries = [Entry(case.created_at, "description", case.opened_by, False, case.description, opening)]
    for attachment in loose:
        if attachment not in opening:
            vendor = bool(attachment.uploaded_by.vendor_role)
            entries.append(
                Entry(attachment.uploaded_at, "files", attachment.uploaded_by, vendor, "", [attachment])
            )
    for message in CaseMessage.objects.filter(case=case).select_related("author"):
        files = by_message.get(message.pk, [])
        entries.append(
            Entry(message.created_at, "message", message.author, message.from_vendor, message.body, files)
        )
    if case_policy.can(actor, "view_notes", case):
        for note in CaseNote.objects.filter(case=case).select_related("author"):
            entries.append(Entry(note.created_at, "note", note.author, True, note.body, []))
    return sorted(entries, key=lambda entry: entry.at)


# Audit events of a case a partner never reads: internal notes and the SLA bookkeeping (they also
# belong to no partner, so the partner's company history leaves them out as well).
VENDOR_ONLY_ACTIONS_PREFIXES = ("support.note", "support.sla_")


def case_history(*, actor: Actor, case: SupportCase) -> QuerySet[AuditEvent]:
    events = history_for(target=case).order_by("-created_at", "-pk")
    if not case_policy.can(actor, "view_notes", case):
        events = events.filter(partner_id=case.partner_id)
        for prefix in VENDOR_ONLY_ACTIONS_PREFIXES:
            events = events.exclude(action__startswith=prefix)
    return events


def attachment_get(*, actor: Actor, pk: Any) -> CaseAttachment:
    return attachment_policy.get_or_404(actor, pk=pk)


# --- reports -------------------------------------------------------------------------------------------
AGE_BUCKETS = [
    ("age_0_1", 0, 1),
    ("age_1_3", 1, 3),
    ("age_3_7", 3, 7),
    ("age_7_plus", 7, None),
]


def _resolution_time() -> ExpressionWrapper:
    return ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())


def _hours(value: timedelta | None) -> float | None:
    return round(value.total_seconds() / 3600, 1) if value is not None else None


def report(*, actor: Actor, days: int = 90, now: datetime | None = None) -> dict[str, Any]:
    """The vendor's support report: open cases by kind, age and SLA state; resolution times and
    satisfaction for cases opened in the last ``days`` days; per partner and per channel account
    manager. A fixed number of grouped queries, whatever the number of cases."""
    now = now or timezone.now()
    cases = case_policy.scope(actor)
    since = now - timedelta(days=days)
    open_q = Q(status__in=OPEN_STATUSES)
    breached = sla.breached_q(now)
    due_soon = ~breached & (
        Q(first_responded_at__isnull=True, first_response_due_at__lte=now + sla.warning_lead())
        | Q(resolution_due_at__lte=now + sla.warning_lead())
    )
    age_counts = {
        name: Count(
            "pk",
            filter=open_q
            & Q(created_at__lte=now - timedelta(days=low))
            & (Q(created_at__gt=now - timedelta(days=high)) if high is not None else Q()),
        )
        for name, low, high in AGE_BUCKETS
    }
    recent = Q(created_at__gte=since)
    resolved = recent & Q(resolved_at__isnull=False)

    def figures(**extra: Any) -> dict[str, Any]:
        return {
            "open": Count("pk", filter=open_q),
            "breached": Count("pk", filter=open_q & breached),
            "due_soon": Count("pk", filter=open_q & due_soon),
            "opened": Count("pk", filter=recent),
            "resolved": Count("pk", filter=resolved),
            "breached_recent": Count("pk", filter=recent & breached),
            "resolution_time": Avg(_resolution_time(), filter=resolved),
            "avg_rating": Avg("rating", filter=recent),
            "rated": Count("pk", filter=recent & Q(rating__isnull=False)),
            **extra,
        }

    by_kind = list(
        cases.values("kind_id", "kind__name").annotate(**figures(**age_counts)).order_by("kind__name")
    )
    totals = cases.aggregate(**figures(**age_counts))
    by_partner = list(
        cases.values("partner_id", "partner__legal_name")
        .annotate(**figures())
        .filter(Q(open__gt=0) | Q(opened__gt=0))
        .order_by("-open", "-opened", "partner__legal_name")[:50]
    )
    by_cam = list(
        cases.values(
            "partner__channel_account_manager_id",
            "partner__channel_account_manager__full_name",
            "partner__channel_account_manager__email",
        )
        .annotate(**figures())
        .filter(Q(open__gt=0) | Q(opened__gt=0))
        .order_by("-open", "partner__channel_account_manager__email")[:50]
    )
    for row in [*by_kind, *by_partner, *by_cam, totals]:
        row["resolution_hours"] = _hours(row.pop("resolution_time"))
        row["on_track"] = row["open"] - row["breached"] - row["due_soon"]
        row["breach_rate"] = round(100 * row["breached_recent"] / row["opened"]) if row["opened"] else None
    chart = {
        "labels": [row["kind__name"] for row in by_kind],
        "on_track": [row["on_track"] for row in by_kind],
        "due_soon": [row["due_soon"] for row in by_kind],
        "breached": [row["breached"] for row in by_kind],
        "series": [str(sla.STATE_LABELS[state]) for state in (sla.ON_TRACK, sla.DUE_SOON, sla.BREACHED)],
    }
    return {
        "days": days,
        "totals": totals,
        "by_kind": by_kind,
        "by_partner": by_partner,
        "by_cam": by_cam,
        "chart": chart,
        "age_buckets": [name for name, _low, _high in AGE_BUCKETS],
    }
