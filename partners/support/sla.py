"""Service levels of support cases: targets per kind and priority in business hours, due times that
skip nights, weekends and the vendor's holidays (``prm.calendar``), and where a case stands.

A business day is ``BUSINESS_DAY_START`` to ``BUSINESS_DAY_END`` in the portal's time zone (eight
hours), so a target of 16 business hours is two business days. A case opened on Friday at 16:00
with a 2-hour first-response target is due on Monday at 10:00 (Tuesday, if Monday is a holiday).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prm.calendar import holidays_between, is_business_day

from ..models import CaseKind, CasePriority, SlaTarget

BUSINESS_DAY_START = time(9, 0)
BUSINESS_DAY_END = time(17, 0)
BUSINESS_DAY_HOURS = 8

# With no SlaTarget row for a kind and priority: (first response, resolution) in business hours.
DEFAULT_TARGETS: dict[str, tuple[int, int]] = {
    CasePriority.URGENT: (2, 8),
    CasePriority.HIGH: (4, 16),
    CasePriority.NORMAL: (8, 40),
    CasePriority.LOW: (16, 80),
}


def warning_lead() -> timedelta:
    """How long before a due time the person working the case is reminded."""
    return timedelta(hours=settings.PRM.get("SUPPORT_SLA_WARNING_HOURS", 2))


@dataclass(frozen=True)
class Target:
    first_response_hours: int
    resolution_hours: int


def target_for(kind: CaseKind, priority: str) -> Target:
    """The kind's own target for the priority, else the one for every kind, else the default."""
    rows = {
        row.kind_id: row
        for row in SlaTarget.objects.filter(Q(kind_id=kind.pk) | Q(kind__isnull=True), priority=priority)
    }
    row = rows.get(kind.pk) or rows.get(None)
    if row is not None:
        return Target(row.first_response_hours, row.resolution_hours)
    first, resolution = DEFAULT_TARGETS[priority]
    return Target(first, resolution)


def _at(day: date, moment: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment), timezone.get_current_timezone())


def add_business_hours(start: datetime, hours: int) -> datetime:
    """``start`` moved forward by ``hours`` of working time (business days, business hours)."""
    current = timezone.localtime(start)
    remaining = timedelta(hours=hours)
    day = current.date()
    # One query for a window that holds the answer unless holidays pile up; then the next one.
    window_end = day - timedelta(days=1)
    holidays: set[date] = set()
    while True:
        if day > window_end:
            window_end = day + timedelta(days=2 * (hours // BUSINESS_DAY_HOURS) + 31)
            holidays = holidays_between(day, window_end)
        if is_business_day(day, holidays):
            opens, closes = _at(day, BUSINESS_DAY_START), _at(day, BUSINESS_DAY_END)
            begin = max(current, opens)
            if begin < closes:
                if begin + remaining <= closes:
                    return begin + remaining
                remaining -= closes - begin
        day += timedelta(days=1)
        current = _at(day, BUSINESS_DAY_START)


def due_times(kind: CaseKind, priority: str, start: datetime) -> tuple[datetime, datetime]:
    """(first response due, resolution due) for a case of ``kind`` and ``priority`` from ``start``."""
    target = target_for(kind, priority)
    return add_business_hours(start, target.first_response_hours), add_business_hours(
        start, target.resolution_hours
    )


# --- where a case stands ------------------------------------------------------------------------
ON_TRACK, DUE_SOON, BREACHED, MET = "on_track", "due_soon", "breached", "met"
STATE_LABELS = {
    ON_TRACK: _("On track"),
    DUE_SOON: _("Due soon"),
    BREACHED: _("Breached"),
    MET: _("Met"),
}


def clock_state(due: datetime, done: datetime | None, now: datetime) -> str:
    """One target's state: met or breached once done; before that on track, due soon or breached."""
    if done is not None:
        return MET if done <= due else BREACHED
    if now >= due:
        return BREACHED
    if now >= due - warning_lead():
        return DUE_SOON
    return ON_TRACK


@dataclass(frozen=True)
class CaseSla:
    response: str
    resolution: str

    @property
    def breached(self) -> bool:
        return BREACHED in (self.response, self.resolution)

    @property
    def state(self) -> str:
        """The worst of the two, for a badge."""
        for state in (BREACHED, DUE_SOON, ON_TRACK):
            if state in (self.response, self.resolution):
                return state
        return MET

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self.state])


def case_sla(case: object, now: datetime | None = None) -> CaseSla:
    now = now or timezone.now()
    return CaseSla(
        response=clock_state(case.first_response_due_at, case.first_responded_at, now),
        resolution=clock_state(case.resolution_due_at, case.resolved_at or case.closed_at, now),
    )


def breached_q(now: datetime) -> Q:
    """Cases that missed a target (or are past one now), as a query: the queue's filter and the
    reports count them in the database, by the same rule as :func:`case_sla`."""
    return (
        Q(first_responded_at__isnull=True, first_response_due_at__lte=now)
        | Q(first_responded_at__gt=F("first_response_due_at"))
        | Q(resolved_at__isnull=True, closed_at__isnull=True, resolution_due_at__lte=now)
        | Q(resolved_at__gt=F("resolution_due_at"))
        | Q(resolved_at__isnull=True, closed_at__gt=F("resolution_due_at"))
    )
