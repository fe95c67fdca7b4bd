"""The support panels on the partner home and the vendor dashboard (partners.panels.app_panels)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet, Value
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from prm.jinja2 import url_with_pk
from prm.statements import Statement
from prm.tenancy import Actor

from ..home_render import choice_labels
from ..models import OPEN_STATUSES, CaseStatus
from . import selectors, sla
from .policies import case_policy


def partner_home_panel(request: HttpRequest) -> dict[str, Any] | None:
    actor = request.actor
    if not case_policy.can(actor, "open"):
        return None
    # The home reads its cases with its team card (partners.home_reads), and leaves them here.
    summary = selectors.open_case_summary(actor=actor, rows=getattr(request, "home_case_rows", None))
    next_steps = []
    if summary["waiting"]:
        next_steps.append(
            {
                "title": ngettext(
                    "Answer %(n)s support case waiting for you",
                    "Answer %(n)s support cases waiting for you",
                    summary["waiting"],
                )
                % {"n": summary["waiting"]},
                "url": reverse("support:case_list") + "?status=open",
                "why": ngettext(
                    "Our support team asked you something.",
                    "Our support team asked you something.",
                    summary["waiting"],
                ),
            }
        )
    if summary["to_rate"]:
        next_steps.append(
            {
                "title": ngettext("Rate %(n)s resolved case", "Rate %(n)s resolved cases", summary["to_rate"])
                % {"n": summary["to_rate"]},
                "url": reverse("support:case_list"),
                "why": ngettext(
                    "Tell us whether the problem is solved.",
                    "Tell us whether the problems are solved.",
                    summary["to_rate"],
                ),
            }
        )
    return {
        "template": "partners/support/_home_panel.html",
        # What the home renders (by Jinja2, templates/jinja2/…): the same markup, with the labels
        # translated and the case URL reversed once, not per case.
        "jinja2_template": "partners/support/_home_panel.html",
        "case_url": url_with_pk("support:case_detail"),
        "status_labels": choice_labels(CaseStatus),
        "status_colours": STATUS_COLOURS,
        **summary,
        "next_steps": next_steps,
    }


# The badge colour of a case's status (partners/support/_status_badge.html); any other: secondary.
STATUS_COLOURS = {
    CaseStatus.NEW: "primary",
    CaseStatus.OPEN: "info",
    CaseStatus.WAITING: "warning",
    CaseStatus.RESOLVED: "success",
}


def _queue_counts(actor: Actor, *, now: datetime) -> QuerySet:
    # selectors.queue_counts as one row of a values_list (a constant as the only "group" is no
    # GROUP BY), so that prm.statements can keep it.
    expressions = selectors.queue_count_expressions(actor, now)
    return (
        case_policy.scope(actor)
        .order_by()
        .annotate(one=Value(1))
        .values("one")
        .annotate(**expressions)
        .values_list(*expressions)
    )


# The dashboard panel's figures, compiled once per shape: building the four filtered counts
# through the ORM was a sixth of the vendor dashboard's CPU.
_QUEUE_COUNTS = Statement("support.vendor_queue_counts", _queue_counts, values=["now"])
_QUEUE_COUNT_NAMES = ("open", "unassigned", "breached", "mine")


def vendor_home_panel(request: HttpRequest) -> dict[str, Any] | None:
    actor = request.actor
    if not case_policy.can(actor, "queue"):
        return None
    # No row when the case scope can match nothing at all (the ORM's EmptyResultSet): all zero.
    row = next(iter(_QUEUE_COUNTS.rows(actor, now=timezone.now())), (0,) * len(_QUEUE_COUNT_NAMES))
    counts = dict(zip(_QUEUE_COUNT_NAMES, row, strict=True))
    return {"template": "partners/support/_vendor_panel.html", **counts}


def partner_360_panel(request: HttpRequest, *, partner: Any) -> dict[str, Any] | None:
    """Open cases of one partner, for the vendor's partner 360 page (partners.vendor_360)."""
    actor = request.actor
    if not case_policy.can(actor, "queue"):
        return None
    cases = case_policy.scope(actor).filter(partner_id=partner.pk)
    now = timezone.now()
    counts = cases.aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        breached=Count("pk", filter=Q(status__in=OPEN_STATUSES) & sla.breached_q(now)),
        rating=Avg("rating"),
    )
    latest = list(
        cases.filter(status__in=OPEN_STATUSES).select_related("kind").order_by("created_at", "pk")[:5]
    )
    return {
        "template": "partners/support/_partner_360_panel.html",
        "partner": partner,
        "latest": latest,
        **counts,
    }
