"""The training CSV exports (prm.exports): a partner's team progress and the vendor's completion
report, built by Celery in the asking actor's scope from the pages' selectors. Registered in
``TrainingConfig.ready``."""

from __future__ import annotations

from itertools import islice
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy

from prm.exports import Export, ExportFile, queryset_total, register
from prm.tenancy import Actor

from . import selectors
from .policies import VIEW_TEAM_PROGRESS, enrollment_policy

# Lesson totals and last activity are read for this many enrollments at a time.
CHUNK = 2000


def _team_admin(actor: Actor) -> bool:
    return actor.is_partner and enrollment_policy.can(actor, VIEW_TEAM_PROGRESS)


def _is_vendor(actor: Actor) -> bool:
    return actor.is_vendor


def team_progress(actor: Actor, query: QueryDict) -> ExportFile:
    enrollments = selectors.team_progress(actor=actor, partner=actor.partner)

    def rows() -> Any:
        stream = enrollments.iterator(chunk_size=CHUNK)
        while chunk := list(islice(stream, CHUNK)):
            for row in selectors.team_progress_rows(chunk):
                enrollment = row["enrollment"]
                yield [
                    enrollment.user.full_name,
                    enrollment.user.email,
                    enrollment.course.title,
                    row["done"],
                    row["total"],
                    enrollment.completed_at.date().isoformat() if enrollment.completed_at else "",
                    enrollment.started_at.date().isoformat(),
                    row["last_activity"].isoformat(timespec="minutes") if row["last_activity"] else "",
                ]

    return ExportFile(
        "training-progress.csv",
        [
            "person",
            "email",
            "course",
            "lessons_done",
            "lessons_total",
            "completed",
            "started",
            "last_activity",
        ],
        rows(),
        queryset_total(enrollments),
    )


def completion_report(actor: Actor, query: QueryDict) -> ExportFile:
    rows = selectors.completion_rows(actor=actor)
    return ExportFile(
        "training-completion.csv",
        ["partner", "tier", "enrolled", "completed", "completion_percent", "certified_people"],
        ([r["partner"], r["tier"], r["enrolled"], r["completed"], r["rate"], r["certified"]] for r in rows),
        len(rows),
    )


def register_exports() -> None:
    register(
        Export("training.team_progress", gettext_lazy("Team training progress"), _team_admin, team_progress)
    )
    register(
        Export("training.completion", gettext_lazy("Training completion"), _is_vendor, completion_report)
    )
