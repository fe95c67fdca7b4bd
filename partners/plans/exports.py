"""The vendor's plan list as CSV (prm.exports, built by Celery in the asking actor's scope): the
page's rows with its filters, behind plan first, one line per goal with its live progress."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy

from prm.exports import Export, ExportFile, register
from prm.tenancy import Actor

from . import selectors
from .forms import VendorPlanFilterForm
from .policies import plan_policy


def _reads_plans(actor: Actor) -> bool:
    return actor.is_vendor and plan_policy.can(actor, "list")


def plans(actor: Actor, query: QueryDict) -> ExportFile:
    today = timezone.localdate()
    form = VendorPlanFilterForm(query or None, today=today)
    rows = selectors.plan_progress_rows(actor=actor, filters=form.filters(), today=today)

    def lines() -> Any:
        for progress in rows:
            plan = progress.plan
            base = [
                plan.pk,
                plan.partner_id,
                plan.partner.legal_name,
                plan.period_label,
                plan.get_status_display(),
                plan.revision,
                progress.pace if progress.pace is not None else "",
                "yes" if progress.behind else "no",
            ]
            if not progress.goals:
                yield [*base, "", "", "", "", ""]
            for goal in progress.goals:
                yield [*base, goal.label, goal.actual, goal.target, goal.expected, goal.of_target]

    return ExportFile(
        "joint-business-plans.csv",
        [
            "plan_id",
            "partner_id",
            "partner",
            "period",
            "status",
            "revision",
            "pace_percent",
            "behind",
            "goal",
            "actual",
            "target",
            "expected_by_today",
            "percent_of_target",
        ],
        lines(),
        len(rows),
    )


def register_exports() -> None:
    register(Export("partners.plans", gettext_lazy("Joint business plans"), _reads_plans, plans))
