"""The support cases CSV (prm.exports): one row per case the vendor person may see, with its SLA
state and rating, built by Celery in that person's scope. Internal notes are never a column."""

from __future__ import annotations

from datetime import timedelta

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy

from prm.exports import Export, ExportFile, queryset_total, register
from prm.tenancy import Actor

from . import sla
from .forms import ReportForm
from .policies import case_policy

HEADER = [
    "case",
    "partner",
    "channel_account_manager",
    "kind",
    "subject",
    "priority",
    "status",
    "opened",
    "assignee",
    "team",
    "first_response_due",
    "first_response",
    "first_response_sla",
    "resolution_due",
    "resolved",
    "resolution_sla",
    "resolution_hours",
    "rating",
    "rating_comment",
]


def _when(value: object) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def support_cases(actor: Actor, query: QueryDict) -> ExportFile:
    form = ReportForm(query or None)
    since = timezone.now() - timedelta(days=form.days_value())
    now = timezone.now()
    cases = (
        case_policy.scope(actor)
        .filter(created_at__gte=since)
        .select_related("partner__channel_account_manager", "kind", "assignee", "team")
        .order_by("created_at", "pk")
    )

    def rows():  # type: ignore[no-untyped-def]
        for case in cases.iterator(chunk_size=2000):
            state = sla.case_sla(case, now)
            hours = (case.resolved_at - case.created_at).total_seconds() / 3600 if case.resolved_at else None
            cam = case.partner.channel_account_manager
            yield [
                case.pk,
                case.partner.legal_name,
                cam.email if cam else "",
                case.kind.name,
                case.subject,
                case.get_priority_display(),
                case.get_status_display(),
                _when(case.created_at),
                case.assignee.email if case.assignee else "",
                case.team.name if case.team else "",
                _when(case.first_response_due_at),
                _when(case.first_responded_at),
                sla.STATE_LABELS[state.response],
                _when(case.resolution_due_at),
                _when(case.resolved_at),
                sla.STATE_LABELS[state.resolution],
                f"{hours:.1f}" if hours is not None else "",
                case.rating or "",
                case.rating_comment,
            ]

    return ExportFile("support-cases.csv", HEADER, rows(), queryset_total(cases))


def _works_cases(actor: Actor) -> bool:
    return case_policy.can(actor, "report")


def register_exports() -> None:
    register(Export("partners.support_cases", gettext_lazy("Support cases"), _works_cases, support_cases))
