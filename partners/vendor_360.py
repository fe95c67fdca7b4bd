"""The partner 360 page: everything a channel account manager needs before a call with a partner,
on one page, for vendor staff only.

The partners app owns the page and what it knows itself -- the profile, the key contacts, the
latest scorecard and the recent activity in plain words; every app above it contributes its panel
through the ``partner_360_panel`` hook (partners.panels), so this module imports none of them.

Who sees what: vendor staff only (a partner user gets the 404 every "not yours" gets); a channel
account manager only the portfolio (``selectors.partner_get`` answers 404 outside it); the
money-blind roles (content / training managers) get no money panel -- each app's panel leaves
itself out for them -- nor the scorecard (its snapshots hold money) nor the partner's business
events in the activity.

Queries are bounded whatever the partner's size: the page's own (partner, contacts, scorecard,
activity) are a fixed handful and every panel runs two or three aggregates or capped lists
(tests/partners/test_partner_360.py counts them with 1 and 50 rows of each kind).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from prm.views import vendor_required

from . import activity, selectors
from .models import PartnerRole
from .panels import app_panels
from .performance.policies import SCORECARD_VENDOR_ROLES
from .performance.selectors import scorecard_latest

ACTIVITY_ROWS = 10
CONTACT_ROWS = 4
SCORECARD_LINES = 8


@vendor_required
@require_GET  # a page to read: nothing on it is posted back here
def partner_360(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    partner = selectors.partner_get(actor=actor, pk=pk)
    sees_scorecard = actor.vendor_role in SCORECARD_VENDOR_ROLES
    scorecard = scorecard_latest(actor=actor, partner=partner) if sees_scorecard else None
    contacts = list(
        selectors.team_list(actor=actor, partner=partner).filter(role=PartnerRole.ADMIN, is_active=True)[
            :CONTACT_ROWS
        ]
    )
    events = selectors.partner_history(actor=actor, partner=partner)[:ACTIVITY_ROWS]
    return render(
        request,
        "partners/vendor/partner_360.html",
        {
            "partner": partner,
            "contacts": contacts,
            "sees_scorecard": sees_scorecard,
            "scorecard": scorecard,
            "reporting_currency": settings.PRM["REPORTING_CURRENCY"],
            "scorecard_lines": scorecard.lines[:SCORECARD_LINES] if scorecard else [],
            "activity": activity.recent_activity(events),
            "panels": app_panels("partner_360_panel", request, partner=partner),
        },
    )
