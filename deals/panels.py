"""The deals panels on the partner home, the vendor dashboard and the partner's company page (see
partners.panels.app_panels)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Min, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from partners.policies import sees_partner_business

from . import authorizations, selectors
from .models import HOLDING_STATUSES, AuthorizationStatus, DealStatus, LeadStatus
from .policies import deal_policy, lead_policy


def partner_home_panel(request: HttpRequest) -> dict[str, Any] | None:
    actor = request.actor
    if not deal_policy.can(actor, "register") and not deal_policy.scope(actor).exists():
        return None
    counts, expiring = selectors.deal_counts_and_expiring(actor=actor)
    now = timezone.now()
    leads = (
        lead_policy.scope(actor)
        .filter(status=LeadStatus.OFFERED)
        .aggregate(n=Count("pk"), first=Min("respond_by"))
    )
    next_steps = []
    if leads["n"]:
        next_steps.append(
            {
                "title": ngettext("Answer %(n)s new lead", "Answer %(n)s new leads", leads["n"])
                % {"n": leads["n"]},
                "url": reverse("deals:lead_list"),
                "why": _("Accept or decline before %(when)s, or it goes to another partner.")
                % {"when": timezone.localtime(leads["first"]).strftime("%d %b %H:%M")},
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
                "url": reverse("deals:list") + "?status=returned",
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
                "url": reverse("deals:list") + "?status=approved",
                "why": _("Close them or request an extension within 14 days."),
            }
        )
    return {
        "template": "deals/_home_panel.html",
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


def vendor_home_panel(request: HttpRequest) -> dict[str, Any] | None:
    actor = request.actor
    if not sees_partner_business(actor):
        return None  # a content manager has no deals to review: no panel of zeros
    now = timezone.now()
    queue = selectors.review_queue(actor=actor).aggregate(
        waiting=Count("pk"),
        overdue=Count("pk", filter=Q(review_due_at__lt=now)),
        due_soon=Count("pk", filter=Q(review_due_at__gte=now, review_due_at__lt=now + timedelta(hours=24))),
        conflicts=Count("pk", filter=Q(conflict_status="under_review")),
    )
    extensions = selectors.pending_extensions(actor=actor).count()
    wins_waiting = selectors.won_queue(actor=actor).count()
    leads_waiting = (
        lead_policy.scope(actor).filter(status__in=[LeadStatus.NEW, LeadStatus.UNASSIGNABLE]).count()
    )
    return {
        "template": "deals/_vendor_panel.html",
        **queue,
        "extensions": extensions,
        "wins_waiting": wins_waiting,
        "leads_waiting": leads_waiting,
    }


def company_panel(request: HttpRequest, *, partner: Any) -> dict[str, Any] | None:
    """The product lines that need an authorization, on the partner's company page: whether the
    partner holds each, until when, and what each needs against what the partner has. A fixed
    number of queries however many lines and authorizations (deals.authorizations.standings)."""
    actor = request.actor
    if not actor.is_partner or partner.pk != actor.partner_id:
        return None
    rows = []
    for standing in authorizations.standings(partner=partner):
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
