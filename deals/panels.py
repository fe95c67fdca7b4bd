"""The deals panels on the partner home, the vendor dashboard, the partner's company page and the
vendor's partner 360 page (see partners.panels.app_panels)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, F, Func, IntegerField, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from partners.home_render import home_url
from partners.models import Tier
from partners.policies import business_scope_q, sees_partner_business
from prm.models import reporting_rates
from prm.money import quantize
from prm.statements import Statement
from prm.tenancy import Actor

from . import authorizations, selectors
from .models import (
    HOLDING_STATUSES,
    OPEN_STAGE_CHOICES,
    OPEN_STATUSES,
    AuthorizationRequirement,
    AuthorizationStatus,
    DealRollup,
    DealStage,
    DealStatus,
    LeadStatus,
)
from .policies import deal_policy, lead_policy


def partner_home_panel(request: HttpRequest) -> dict[str, Any] | None:
    actor = request.actor
    if not deal_policy.can(actor, "register") and not deal_policy.scope(actor).exists():
        return None
    # The counts, the deals losing their protection and the leads waiting: one statement.
    figures = selectors.partner_home_figures(actor=actor)
    counts, expiring = figures["counts"], figures["expiring"]
    leads = {"n": figures["leads"], "first": figures["leads_due"]}
    now = timezone.now()
    next_steps = []
    if leads["n"]:
        next_steps.append(
            {
                "title": ngettext("Answer %(n)s new lead", "Answer %(n)s new leads", leads["n"])
                % {"n": leads["n"]},
                "url": home_url("deals:lead_list"),
                "why": _("Accept or decline before %(when)s, or it goes to another partner.")
                % {"when": date_format(timezone.localtime(leads["first"]), "SHORT_DATETIME_FORMAT")},
            }
        )
    if counts.get(DealStatus.RETURNED):
        next_steps.append(
            {
                "title": ngettext(
                    "%(n)s deal needs more information",
                    "%(n)s deals need more information",
                    counts[DealStatus.RETURNED],
                )
                % {"n": counts[DealStatus.RETURNED]},
                "url": home_url("deals:list") + "?status=returned",
                "why": _("Your channel account manager asked a question; answer and resubmit."),
            }
        )
    if expiring:
        next_steps.append(
            {
                "title": ngettext(
                    "%(n)s deal loses its protection soon", "%(n)s deals lose their protection soon", expiring
                )
                % {"n": expiring},
                "url": home_url("deals:list") + "?status=approved",
                "why": _("Close them or request an extension within 14 days."),
            }
        )
    return {
        "template": "deals/_home_panel.html",
        # What the home renders (by Jinja2): the same markup (templates/jinja2/deals/_home_panel.html).
        "jinja2_template": "deals/_home_panel.html",
        "counts": counts,
        # A win awaiting the vendor's confirmation does not count as won yet: it is still open.
        "open": sum(
            counts.get(s, 0)
            for s in (DealStatus.SUBMITTED, DealStatus.RETURNED, DealStatus.APPROVED, DealStatus.WON_PENDING)
        ),
        "won": counts.get(DealStatus.WON, 0),
        "drafts": counts.get(DealStatus.DRAFT, 0),
        "leads": leads["n"],
        "expiring": expiring,
        "may_register": deal_policy.can(actor, "register"),
        "next_steps": next_steps,
        "now": now,
    }


def _vendor_waiting(actor: Actor) -> QuerySet:
    """The leads waiting for an owner, counted, and the pending extension requests as a scalar
    subquery of that one row (a constant as the only "group" is no GROUP BY): one statement."""
    extensions = (
        selectors.pending_extensions(actor=actor)
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")
    )
    return (
        lead_policy.scope(actor)
        .filter(status__in=[LeadStatus.NEW, LeadStatus.UNASSIGNABLE])
        .order_by()
        .annotate(one=Value(1))
        .values("one")
        .annotate(n=Count("*"), extensions=Subquery(extensions, output_field=IntegerField()))
        .values_list("n", "extensions")
    )


# The vendor dashboard panel's two counts in one statement, compiled once per shape (two ORM
# counts were built and sent on every dashboard request).
_VENDOR_WAITING = Statement("deals.vendor_waiting", _vendor_waiting)


def vendor_home_panel(request: HttpRequest) -> dict[str, Any] | None:
    actor = request.actor
    if not sees_partner_business(actor):
        return None  # a content manager has no deals to review: no panel of zeros
    # One pass over the review queue's index for its figures and the wins to confirm.
    counts = selectors.review_counts(actor=actor, now=timezone.now())
    # No row when the lead scope can match nothing at all (the ORM's EmptyResultSet): none waiting.
    leads_waiting, extensions = next(iter(_VENDOR_WAITING.rows(actor)), (0, 0))
    return {
        "template": "deals/_vendor_panel.html",
        **counts,
        "extensions": extensions,
        "leads_waiting": leads_waiting,
    }


# The company page's product lines that need an authorization (vendor-wide rows, no tenant's), each
# with its minimum tier: a kept statement (prm.statements) rather than a queryset built on every view.
_REQUIREMENT_COLUMNS = tuple(f.attname for f in AuthorizationRequirement._meta.concrete_fields)
_TIER_COLUMNS = tuple(f.attname for f in Tier._meta.concrete_fields)


def _active_requirement_rows(actor: Actor) -> QuerySet:
    requirements = AuthorizationRequirement.objects.filter(active=True)  # the rows standings() reads
    return requirements.values_list(*_REQUIREMENT_COLUMNS, *(f"min_tier__{name}" for name in _TIER_COLUMNS))


_ACTIVE_REQUIREMENTS = Statement("deals.active_requirements", _active_requirement_rows)


def active_requirements(actor: Actor) -> list[AuthorizationRequirement]:
    """The active requirements with their minimum tier, as
    ``AuthorizationRequirement.objects.filter(active=True).select_related("min_tier")`` reads them."""
    width = len(_REQUIREMENT_COLUMNS)
    requirements = []
    for row in _ACTIVE_REQUIREMENTS.rows(actor):
        requirement = AuthorizationRequirement.from_db(DEFAULT_DB_ALIAS, _REQUIREMENT_COLUMNS, row[:width])
        if requirement.min_tier_id is not None:
            requirement.min_tier = Tier.from_db(DEFAULT_DB_ALIAS, _TIER_COLUMNS, row[width:])
        requirements.append(requirement)
    return requirements


def company_panel(request: HttpRequest, *, partner: Any) -> dict[str, Any] | None:
    """The product lines that need an authorization, on the partner's company page: whether the
    partner holds each, until when, and what each needs against what the partner has. A fixed
    number of queries however many lines and authorizations (deals.authorizations.standings)."""
    actor = request.actor
    if not actor.is_partner or partner.pk != actor.partner_id:
        return None
    rows = []
    for standing in authorizations.standings(partner=partner, requirements=active_requirements(actor)):
        authorization = standing.authorization
        requirement = standing.requirement
        if standing.holds:
            state = authorization.status
        elif authorization is not None and authorization.status == AuthorizationStatus.REVOKED:
            state = AuthorizationStatus.REVOKED
        elif authorization is not None:
            state = AuthorizationStatus.LAPSED
        else:
            state = "none"
        rows.append(
            {
                "product_line": requirement.product_line,
                "description": requirement.description,
                "state": state,
                "authorization": authorization,
                "needs": standing.needs(),
                "by_hand_only": not requirement.has_rule,
                "tier": requirement.min_tier.name if requirement.min_tier_id else "",
                "tier_met": standing.tier_met,
                "certification": standing.certification_name if requirement.certification_id else "",
                "certified": standing.certified,
                "certified_needed": requirement.certified_people,
                "certified_met": standing.certified_met,
                "rule_met": standing.rule_met,
            }
        )
    if not rows:
        return None  # no product line needs an authorization: nothing to say
    return {
        "template": "deals/_company_authorizations.html",
        "rows": rows,
        "tier": partner.tier.name,
        "authorized": sum(1 for row in rows if row["state"] in HOLDING_STATUSES),
    }


# --- the partner 360 page (partners.vendor_360) -------------------------------------------------------
# Reviews listed on the page; the rest are behind the queue's link, filtered to the partner.
REVIEW_ROWS = 8
AWAITING_REVIEW = (DealStatus.SUBMITTED, DealStatus.WON_PENDING)


def partner_360_panel(request: HttpRequest, *, partner: Any) -> dict[str, Any] | None:
    """The partner's open pipeline by stage (in the reporting currency, drawn as a chart) and the
    deals waiting for the vendor: registrations to review and wins to confirm. Three queries: the
    pipeline figures (deals.rollup) by status, stage and currency; the exchange rates; the oldest
    reviews."""
    actor = request.actor
    if not sees_partner_business(actor):
        return None  # money-blind roles: no deal amounts, and no panel of zeros
    deals = deal_policy.scope(actor).filter(partner_id=partner.pk)
    # The figures the triggers keep (deals.rollup): a few hundred rows for a partner of any size,
    # where summing its deals took 60-90 ms for 20,000 of them. Scoped as the deals are.
    groups = list(
        DealRollup.objects.filter(business_scope_q(actor), partner_id=partner.pk, product__isnull=True)
        .exclude(status=DealStatus.DRAFT)
        .order_by()
        .values("status", "stage", "currency")
        .annotate(n=Sum("deals"), value=Coalesce(Sum("amount"), selectors.ZERO))
    )
    rates = reporting_rates()
    counts: dict[str, int] = {}
    stages = {stage: {"count": 0, "value": Decimal(0)} for stage, _label in OPEN_STAGE_CHOICES}
    unconverted: set[str] = set()
    for row in groups:
        counts[row["status"]] = counts.get(row["status"], 0) + row["n"]
        if row["status"] not in OPEN_STATUSES:
            continue
        stage = stages.setdefault(row["stage"], {"count": 0, "value": Decimal(0)})
        stage["count"] += row["n"]
        value = rates.convert(row["value"], row["currency"])
        if value is None:
            unconverted.add(row["currency"])
        else:
            stage["value"] += value
    labels = dict(DealStage.choices)
    by_stage = [
        {
            "stage": key,
            "label": str(labels.get(key, key)),
            "count": figures["count"],
            "value": quantize(figures["value"], rates.currency),
        }
        for key, figures in stages.items()
    ]
    awaiting = (
        deals.filter(status__in=AWAITING_REVIEW)
        .select_related("registered_by")
        .order_by(Coalesce("won_claimed_at", "submitted_at"), "pk")[:REVIEW_ROWS]
    )
    waiting = sum(counts.get(status, 0) for status in AWAITING_REVIEW)
    return {
        "template": "deals/_partner_360_panel.html",
        "columns": "col-lg-6 col-xxl-8",
        "partner": partner,
        "currency": rates.currency,
        "unconverted": sorted(unconverted),
        "by_stage": by_stage,
        "open_count": sum(row["count"] for row in by_stage),
        "open_value": sum((row["value"] for row in by_stage), Decimal(0)),
        "won_count": counts.get(DealStatus.WON, 0),
        "lost_count": counts.get(DealStatus.LOST, 0),
        "awaiting": list(awaiting),
        "awaiting_count": waiting,
        "awaiting_more": max(waiting - REVIEW_ROWS, 0),
        "now": timezone.now(),
        # Drawn by static/js/deal-charts.js, as on the pipeline pages.
        "charts": {
            "stage": {
                "labels": [row["label"] for row in by_stage],
                "keys": [row["stage"] for row in by_stage],
                "counts": [row["count"] for row in by_stage],
                "values": [float(row["value"]) for row in by_stage],
            }
        },
    }
