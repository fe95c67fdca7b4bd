"""Audit events in plain words, for the pages that show a partner's recent activity to people (the
partner 360 page) rather than to auditors (the history tables, which keep the raw action and the
field-by-field changes).

Every app writes to the one audit trail and the partners app may not import the apps above it
(ARCHITECTURE.md), so the phrases are written here by action name, as ``partners.history`` writes
its rules by event family. An action nobody has phrased yet (a new app, a new transition) is not
shown as a raw key either: it reads "Deal: won claimed", built from the key, until it gets a
sentence of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from prm.models import AuditEvent
from prm.money import format_money

# action -> a sentence about the event's object (``%(target)s``: its name as recorded).
PHRASES = {
    # partners
    "partner.created": gettext_lazy("%(target)s joined the program"),
    "partner.imported": gettext_lazy("%(target)s was imported into the program"),
    "partner.onboarding": gettext_lazy("Onboarding started"),
    "partner.activated": gettext_lazy("Partner activated"),
    "partner.suspended": gettext_lazy("Partner suspended"),
    "partner.reinstated": gettext_lazy("Partner reinstated"),
    "partner.terminated": gettext_lazy("Partner terminated"),
    "partner.tier_changed": gettext_lazy("Tier changed"),
    "partner.tier_upgraded": gettext_lazy("Moved up a tier"),
    "partner.tier_downgraded": gettext_lazy("Moved down a tier"),
    "partner.channel_manager_changed": gettext_lazy("Channel account manager changed"),
    "partner.portfolio_granted": gettext_lazy("A channel account manager was given access"),
    "partner.portfolio_revoked": gettext_lazy("A channel account manager's access was removed"),
    "partner.profile_updated": gettext_lazy("Company profile updated"),
    "partner.logo_changed": gettext_lazy("Company logo changed"),
    "partner.listing_changed": gettext_lazy("Partner locator listing changed"),
    "partner.agreement_accepted": gettext_lazy("Partner agreement accepted"),
    "partner.assessment_recorded": gettext_lazy("Quarterly assessment recorded"),
    "partner.assessment_changed": gettext_lazy("Quarterly assessment changed"),
    "membership.created": gettext_lazy("%(target)s joined the team"),
    "membership.role_changed": gettext_lazy("Role of %(target)s changed"),
    "membership.deactivated": gettext_lazy("%(target)s was deactivated"),
    "membership.reactivated": gettext_lazy("%(target)s was reactivated"),
    "invitation.created": gettext_lazy("%(target)s was invited"),
    "invitation.resent": gettext_lazy("Invitation to %(target)s sent again"),
    "invitation.revoked": gettext_lazy("Invitation to %(target)s withdrawn"),
    "invitation.accepted": gettext_lazy("%(target)s accepted the invitation"),
    "profile_change.requested": gettext_lazy("Asked to change its type, country or region"),
    "profile_change.approved": gettext_lazy("Type, country or region change approved"),
    "profile_change.rejected": gettext_lazy("Type, country or region change declined"),
    "application.submitted": gettext_lazy("Applied to join the program"),
    "application.approved": gettext_lazy("Application approved"),
    "application.rejected": gettext_lazy("Application declined"),
    # deals and leads
    "deal.drafted": gettext_lazy("Deal %(target)s drafted"),
    "deal.edited": gettext_lazy("Deal %(target)s edited"),
    "deal.submitted": gettext_lazy("Deal %(target)s submitted for review"),
    "deal.approved": gettext_lazy("Deal %(target)s approved"),
    "deal.rejected": gettext_lazy("Deal %(target)s not approved"),
    "deal.returned": gettext_lazy("Deal %(target)s returned for more information"),
    "deal.conflict_resolved": gettext_lazy("Possible conflict on deal %(target)s resolved"),
    "deal.extension_requested": gettext_lazy("More time asked for deal %(target)s"),
    "deal.extension_approved": gettext_lazy("Extension of deal %(target)s granted"),
    "deal.extension_rejected": gettext_lazy("Extension of deal %(target)s refused"),
    "deal.stage_changed": gettext_lazy("Deal %(target)s moved to another stage"),
    "deal.won": gettext_lazy("Deal %(target)s won"),
    "deal.won_claimed": gettext_lazy("Deal %(target)s reported won, awaiting confirmation"),
    "deal.won_confirmed": gettext_lazy("Win of deal %(target)s confirmed"),
    "deal.won_rejected": gettext_lazy("Reported win of deal %(target)s turned down"),
    "deal.lost": gettext_lazy("Deal %(target)s lost"),
    "deal.expired": gettext_lazy("Protection of deal %(target)s ended"),
    "lead.created": gettext_lazy("Lead %(target)s created"),
    "lead.imported": gettext_lazy("Lead %(target)s imported"),
    "lead.offered": gettext_lazy("Lead %(target)s offered"),
    "lead.accepted": gettext_lazy("Lead %(target)s accepted"),
    "lead.declined": gettext_lazy("Lead %(target)s declined"),
    "lead.timed_out": gettext_lazy("Lead %(target)s not answered in time"),
    "lead.withdrawn": gettext_lazy("Lead %(target)s withdrawn"),
    # funds
    "mdf.allocated": gettext_lazy("Funds allocated"),
    "mdf.accrued": gettext_lazy("Co-op funds accrued"),
    "mdf.accrual_refused": gettext_lazy("Co-op accrual refused"),
    "mdf.forfeited": gettext_lazy("Unused funds forfeited"),
    "mdf.request_drafted": gettext_lazy("Fund request %(target)s drafted"),
    "mdf.request_edited": gettext_lazy("Fund request %(target)s edited"),
    "mdf.request_submitted": gettext_lazy("Fund request %(target)s submitted"),
    "mdf.request_escalated": gettext_lazy("Fund request %(target)s sent to a program admin"),
    "mdf.request_approved": gettext_lazy("Fund request %(target)s approved"),
    "mdf.request_rejected": gettext_lazy("Fund request %(target)s declined"),
    "mdf.request_returned": gettext_lazy("Fund request %(target)s returned for changes"),
    "mdf.request_expired": gettext_lazy("Fund request %(target)s expired unclaimed"),
    "mdf.claim_submitted": gettext_lazy("Claim submitted for %(target)s"),
    "mdf.claim_approved": gettext_lazy("Claim for %(target)s approved"),
    "mdf.claim_rejected": gettext_lazy("Claim for %(target)s declined"),
    "mdf.claim_paid": gettext_lazy("Claim for %(target)s paid"),
    "mdf.deal_attributed": gettext_lazy("A deal was credited to %(target)s"),
    "mdf.deal_detached": gettext_lazy("A deal was detached from %(target)s"),
    # training
    "training.enrolled": gettext_lazy("Enrolled: %(target)s"),
    "training.course_completed": gettext_lazy("Course completed: %(target)s"),
    "training.quiz_submitted": gettext_lazy("Quiz taken: %(target)s"),
    "training.quiz_timed_out": gettext_lazy("Quiz ran out of time: %(target)s"),
    "training.quiz_attempts_reset": gettext_lazy("Quiz attempts reset: %(target)s"),
    "training.certified": gettext_lazy("Certified: %(target)s"),
    "training.certification_expired": gettext_lazy("Certification expired: %(target)s"),
    # support cases (a case's name is "#12 Its subject")
    "support.opened": gettext_lazy("Case opened: %(target)s"),
    "support.replied": gettext_lazy("Reply added: %(target)s"),
    "support.files_added": gettext_lazy("Files added: %(target)s"),
    "support.assigned": gettext_lazy("Case assigned: %(target)s"),
    "support.priority_changed": gettext_lazy("Priority changed: %(target)s"),
    "support.resolved": gettext_lazy("Case resolved: %(target)s"),
    "support.reopened": gettext_lazy("Case reopened: %(target)s"),
    "support.closed": gettext_lazy("Case closed: %(target)s"),
    "support.rated": gettext_lazy("Case rated: %(target)s"),
    # incentives
    "incentives.earning_adjusted": gettext_lazy("Earnings adjusted"),
    "incentives.earning_reversed": gettext_lazy("Earnings reversed"),
    # A statement's name reads "Statement ST-...".
    "incentives.statement_created": gettext_lazy("%(target)s prepared"),
    "incentives.statement_approved": gettext_lazy("%(target)s approved"),
    "incentives.statement_paid": gettext_lazy("%(target)s paid"),
    # integrations
    "webhook.created": gettext_lazy("Webhook added"),
    "webhook.deleted": gettext_lazy("Webhook removed"),
    "webhook.secret_rotated": gettext_lazy("Webhook secret rotated"),
    "api_token.issued": gettext_lazy("API token issued"),
    "api_token.revoked": gettext_lazy("API token revoked"),
}

FAMILIES = {
    "partner": gettext_lazy("Partner"),
    "membership": gettext_lazy("Team"),
    "invitation": gettext_lazy("Invitation"),
    "profile_change": gettext_lazy("Profile change"),
    "application": gettext_lazy("Application"),
    "deal": gettext_lazy("Deal"),
    "lead": gettext_lazy("Lead"),
    "mdf": gettext_lazy("Funds"),
    "training": gettext_lazy("Training"),
    "content": gettext_lazy("Content"),
    "incentives": gettext_lazy("Incentives"),
    "webhook": gettext_lazy("Integrations"),
    "api_token": gettext_lazy("Integrations"),
}

# The icon (Bootstrap Icons) a family's events are shown with.
ICONS = {
    "partner": "building",
    "membership": "people",
    "invitation": "envelope",
    "profile_change": "ui-checks",
    "application": "inbox",
    "deal": "briefcase",
    "lead": "person-plus",
    "mdf": "cash-coin",
    "training": "mortarboard",
    "content": "collection",
    "incentives": "trophy",
    "webhook": "plug",
    "api_token": "key",
}


def family(action: str) -> str:
    return action.partition(".")[0]


def describe(event: AuditEvent) -> str:
    """One sentence saying what happened, e.g. "Deal DR-00042 Initech approved"."""
    target = event.target_repr or ""
    phrase = PHRASES.get(event.action)
    if phrase is not None:
        return str(phrase) % {"target": target}
    prefix, _dot, rest = event.action.partition(".")
    label = FAMILIES.get(prefix, prefix.replace("_", " ").capitalize())
    what = rest.replace("_", " ") or _("changed")
    return _("%(family)s: %(what)s") % {"family": label, "what": what} + (f" · {target}" if target else "")


def icon(event: AuditEvent) -> str:
    return ICONS.get(family(event.action), "dot")


def who(event: AuditEvent) -> str:
    """The person's name when there is one (the event's ``actor`` selected along), else what was
    recorded (an e-mail), else "system" for what the program did by itself."""
    if event.actor_id and event.actor is not None and getattr(event.actor, "full_name", ""):
        return event.actor.full_name
    return event.actor_label if event.actor_label and event.actor_label != "system" else _("PRM (automatic)")


def recent_activity(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """``events`` (with ``actor`` selected along) each given ``summary``, ``icon`` and ``who`` for a
    template, which cannot call functions with arguments."""
    shown = []
    for event in events:
        event.summary = describe(event)
        event.icon = icon(event)
        event.who = who(event)
        shown.append(event)
    return shown


# --- one object's history, for the partner's own pages ------------------------------------------
# The field names the audit snapshots use, as a partner reads them; any other name is shown with
# its underscores as spaces ("claim_deadline" -> "Claim deadline").
FIELD_LABELS = {
    "conflict_status": gettext_lazy("Possible conflict"),
    "protection_expires_at": gettext_lazy("Protected until"),
    "expected_close_date": gettext_lazy("Expected close"),
    "amount_requested": gettext_lazy("Amount requested"),
    "amount_approved": gettext_lazy("Amount approved"),
    "won_amount": gettext_lazy("Won amount"),
}
_KEYWORD = re.compile(r"^[a-z][a-z_]*$")


def field_label(name: str) -> str:
    """The field's label in the active language: one of FIELD_LABELS, else the name Django gives
    a field declared without one ("discount_percent" -> "discount percent", a message of the
    catalog: prm/derived_names.py), capitalised."""
    return str(FIELD_LABELS.get(name) or capfirst(gettext(name.replace("_", " "))))


def plain_value(value: object) -> object:
    """An audit snapshot's value as a person reads it: a date or time in the site's format (never
    ISO with microseconds), yes/no, a status key in words ("under_review" -> "Under review")."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if not isinstance(value, str):
        return value
    if len(value) >= 16 and value[4:5] == "-" and value[10:11] in ("T", " "):
        moment = parse_datetime(value)
        if moment is not None:
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return date_format(moment, "DATETIME_FORMAT")
    if len(value) == 10 and value[4:5] == "-":
        day = parse_date(value)
        if day is not None:
            return date_format(day, "DATE_FORMAT")
    if _KEYWORD.match(value):
        # A status key reads as its choice's label ("under_review" -> "Under review"), a message
        # of the catalog: in the active language when it is translated.
        return gettext(value.replace("_", " ").capitalize())
    return value


def _is_amount(field: str) -> bool:
    return field == "amount" or field.endswith("_amount") or field in {"total_cost", "actual_cost"}


def plain_changes(event: AuditEvent) -> list[tuple[str, object, object]]:
    """(field, before, after) in plain words, leaving out what did not change ("none → none").
    Amounts carry the snapshot's currency ("47,400.00 USD", prm.money), which then needs no row
    of its own."""
    currency = event.after.get("currency") or event.before.get("currency") or ""
    rows = []
    for field, before, after in event.changes:
        if before == after or (field not in event.before and _is_empty(after)):
            continue
        if currency and field == "currency" and before in (None, "", after):
            continue
        if currency and _is_amount(field):
            rows.append((field_label(field), _plain_money(before, currency), _plain_money(after, currency)))
        else:
            rows.append((field_label(field), plain_value(before), plain_value(after)))
    return rows


def _plain_money(value: object, currency: str) -> object:
    try:
        return format_money(Decimal(str(value)), currency) if not _is_empty(value) else None
    except (InvalidOperation, ValueError):
        return plain_value(value)


def _is_empty(value: object) -> bool:
    return value is None or value == ""


def plain_history(events: Iterable[AuditEvent]) -> list[AuditEvent]:
    """One object's events for the partner's pages (deals, fund requests): a sentence each, who
    did it, and the changes in plain words; the raw keys stay in the admin's audit trail."""
    shown = recent_activity(events)
    for event in shown:
        # What includes/audit_changes.html reads (``.changes``), in plain words.
        event.in_plain_words = PlainChanges(plain_changes(event))
    return shown


@dataclass(frozen=True)
class PlainChanges:
    changes: list[tuple[str, object, object]]
