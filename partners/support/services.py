"""Writes for support cases: one keyword-only function per change, each checked by the policy,
audited (prm.audit / prm.transitions) and notifying both sides (prm.notifications: the in-app row
with the change, the e-mail after the commit).

Internal notes are written, audited and notified on the vendor side only: their audit event
belongs to no partner and carries no text, and no partner is ever notified of one, so a note
cannot reach a partner by page, e-mail, export or API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from django.utils import timezone

from prm import audit, transitions
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.i18n import localized_datetime
from prm.notifications import notify
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor

from ..models import (
    OPEN_STATUSES,
    CaseAttachment,
    CaseKind,
    CaseMessage,
    CaseNote,
    CasePriority,
    CaseStatus,
    Membership,
    Partner,
    PartnerRole,
    SupportCase,
    SupportTeam,
)
from ..uploads import validate_document
from . import linkables, sla
from .policies import case_policy

ACCEPTED = _("PDF documents and PNG, JPEG, GIF or WebP images")
NOTE = "support.note_added"


def _require(actor: Actor, action: str, case: SupportCase | None = None, message: str = "") -> None:
    if not case_policy.can(actor, action, case):
        raise PermissionDenied(message or _("You are not allowed to do that on this case."))


def _max_files() -> int:
    return settings.PRM["MDF_MAX_PROOF_FILES"]


# --- who hears about what -----------------------------------------------------------------------
def _partner_url(case: SupportCase) -> str:
    return reverse("support:case_detail", args=[case.pk])


def _partner_side(case: SupportCase) -> list[Any]:
    """The person who opened the case and the partner's admins, while they are active members."""
    memberships = Membership.objects.filter(
        partner_id=case.partner_id, is_active=True, user__is_active=True
    ).select_related("user")
    return [m.user for m in memberships if m.user_id == case.opened_by_id or m.role == PartnerRole.ADMIN]


def _vendor_side(case: SupportCase, *, escalate: bool = False) -> list[Any]:
    """Whoever works the case: its assignee, else its team, else the partner's channel account
    manager and the support staff. An escalation adds program admins and the channel account
    manager whatever the assignment."""
    users = get_user_model().objects.filter(is_active=True)
    people: dict[int, Any] = {}
    if case.assignee_id:
        people.update({u.pk: u for u in users.filter(pk=case.assignee_id)})
    elif case.team_id:
        people.update({u.pk: u for u in users.filter(support_teams=case.team_id)})
    partner = Partner.objects.filter(pk=case.partner_id).select_related("channel_account_manager").first()
    cam = partner.channel_account_manager if partner else None
    if not people:
        people.update({u.pk: u for u in users.filter(vendor_role=VendorRole.SUPPORT)})
        if cam is not None and cam.is_active:
            people[cam.pk] = cam
    if escalate:
        people.update({u.pk: u for u in users.filter(vendor_role=VendorRole.PROGRAM_ADMIN)})
        if cam is not None and cam.is_active:
            people[cam.pk] = cam
    return [u for u in people.values() if u.vendor_role]


def _tell(
    recipients: Sequence[Any],
    case: SupportCase,
    *,
    kind: str,
    title: str,
    body: str = "",
    actor: Actor | None = None,
) -> None:
    skip = actor.user.pk if actor is not None and actor.user is not None else None
    for user in recipients:
        if user.pk == skip:
            continue
        notify(
            recipient=user,
            kind=kind,
            title=title,
            body=body,
            url=_partner_url(case),
            partner_id=None if user.vendor_role else case.partner_id,
        )


def _tell_partner(case: SupportCase, **kwargs: Any) -> None:
    _tell(_partner_side(case), case, **kwargs)


def _tell_vendor(case: SupportCase, *, escalate: bool = False, **kwargs: Any) -> None:
    _tell(_vendor_side(case, escalate=escalate), case, **kwargs)


# --- files ---------------------------------------------------------------------------------------
def _check_files(files: Sequence[UploadedFile]) -> list[tuple[UploadedFile, str, str]]:
    if len(files) > _max_files():
        raise ApplicationError(
            _("Attach at most %(n)s files at a time.") % {"n": _max_files()}, field="files"
        )
    # All checked before any is stored.
    return [(upload, *validate_document(upload, accepted=str(ACCEPTED), field="files")) for upload in files]


def _store_files(
    actor: Actor, case: SupportCase, checked: list[tuple[UploadedFile, str, str]], message: CaseMessage | None
) -> list[CaseAttachment]:
    stored: list[CaseAttachment] = []
    try:
        for upload, content_type, extension in checked:
            attachment = CaseAttachment(
                case=case,
                partner_id=case.partner_id,
                message=message,
                original_name=(upload.name or "file")[:255],
                content_type=content_type,
                size=upload.size,
                uploaded_by=actor.user,
            )
            attachment.file.save(f"attachment.{extension}", upload, save=False)
            stored.append(attachment)
            attachment.save()
    except Exception:
        # The storage is not part of the transaction: take back what was written.
        storage = CaseAttachment._meta.get_field("file").storage
        for attachment in stored:
            storage.delete(attachment.file.name)
        raise
    return stored


# --- opening ---------------------------------------------------------------------------------------
def _clean_text(value: Any, field: str, label: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ApplicationError(_("Enter the %(label)s.") % {"label": label}, field=field)
    if len(text) > limit:
        raise ApplicationError(
            _("Keep the %(label)s under %(n)s characters.") % {"label": label, "n": limit}, field=field
        )
    return text


def _clean_priority(priority: Any) -> str:
    if priority not in CasePriority.values:
        raise ApplicationError(_("Choose a priority."), field="priority")
    return priority


def case_open(
    *,
    actor: Actor,
    kind: CaseKind | None,
    subject: str,
    description: str,
    priority: str = CasePriority.NORMAL,
    related: str = "",
    files: Sequence[UploadedFile] = (),
    now: datetime | None = None,
) -> SupportCase:
    _require(actor, "open", message=_("Only partner users open support cases."))
    if kind is None or not kind.is_active:
        raise ApplicationError(_("Choose what the case is about."), field="kind")
    subject = _clean_text(subject, "subject", _("subject"), 200)
    description = _clean_text(description, "description", _("description"), 10_000)
    priority = _clean_priority(priority)
    related_type = related_id = None
    related_label = ""
    if related:
        found = linkables.offered(actor, related)
        if found is None:
            raise ApplicationError(_("Choose one of your own items, or none."), field="related")
        key, related_id, related_label = found
        related_type = linkables.content_type_for(key)
    checked = _check_files(files)
    now = now or timezone.now()
    response_due, resolution_due = sla.due_times(kind, priority, now)
    case = SupportCase.objects.create(
        partner_id=actor.partner_id,
        kind=kind,
        subject=subject,
        description=description,
        priority=priority,
        opened_by=actor.user,
        related_type=related_type,
        related_id=related_id,
        related_label=related_label[:255],
        created_at=now,
        first_response_due_at=response_due,
        resolution_due_at=resolution_due,
    )
    _store_files(actor, case, checked, None)
    audit.record(
        actor=actor.user,
        action="support.opened",
        target=case,
        partner_id=case.partner_id,
        after={
            **audit.snapshot(case, ["kind", "subject", "priority", "status"]),
            "related": related_label,
            "files": len(checked),
            "first_response_due_at": response_due,
            "resolution_due_at": resolution_due,
        },
    )
    _tell_vendor(
        case,
        kind="support.opened",
        title=_("New %(kind)s from %(partner)s: %(subject)s")
        % {"kind": kind.name.lower(), "partner": actor.partner.legal_name, "subject": subject},
        body=description[:1000],
        actor=actor,
    )
    _tell_partner(
        case,
        kind="support.opened",
        title=_("Case %(number)s opened: %(subject)s") % {"number": case.number, "subject": subject},
        body=_("We answer by %(when)s.") % {"when": localized_datetime(response_due)},
        actor=actor,
    )
    return case


# --- messages, files and notes --------------------------------------------------------------------
def _reopen_fields(case: SupportCase, now: datetime) -> dict[str, Any]:
    """A case that comes back gets a new resolution clock from now."""
    target = sla.target_for(case.kind, case.priority)
    return {
        "resolved_at": None,
        "closed_at": None,
        "resolution_due_at": sla.add_business_hours(now, target.resolution_hours),
        "resolution_reminded_at": None,
        "resolution_escalated_at": None,
    }


def case_reply(
    *,
    actor: Actor,
    case: SupportCase,
    body: str,
    files: Sequence[UploadedFile] = (),
    now: datetime | None = None,
) -> CaseMessage:
    """A public message: the partner's follow-up or the vendor's answer. The vendor's first one is
    the first response; it then waits for the partner, whose answer puts it back in progress (and
    a resolved case back open)."""
    _require(actor, "reply", case, _("This case is closed; open a new one."))
    body = _clean_text(body, "body", _("message"), 10_000)
    checked = _check_files(files)
    now = now or timezone.now()
    case = transitions.lock(case, related=["kind"])
    _require(actor, "reply", case, _("This case is closed; open a new one."))
    from_vendor = actor.is_vendor
    to: str | None = None
    fields: dict[str, Any] = {}
    if from_vendor:
        if case.first_responded_at is None:
            fields["first_responded_at"] = now
        if case.status in (CaseStatus.NEW, CaseStatus.OPEN):
            to = CaseStatus.WAITING
    else:
        if case.status == CaseStatus.WAITING:
            to = CaseStatus.OPEN
        elif case.status == CaseStatus.RESOLVED:
            to = CaseStatus.OPEN
            fields.update(_reopen_fields(case, now))
    message = CaseMessage.objects.create(
        case=case,
        partner_id=case.partner_id,
        author=actor.user,
        from_vendor=from_vendor,
        body=body,
        created_at=now,
    )
    stored = _store_files(actor, case, checked, message)
    with transitions.transition(
        case,
        actor=actor.user,
        action="support.replied",
        to=to,
        partner_id=case.partner_id,
        snapshot=["status"],
    ) as change:
        change.set(**fields)
        change.audit_extra = {
            "message": body[:2000],
            "from": "vendor" if from_vendor else "partner",
            "files": [a.original_name for a in stored],
        }
    title = _("New reply on case %(number)s: %(subject)s") % {"number": case.number, "subject": case.subject}
    if from_vendor:
        _tell_partner(case, kind="support.replied", title=title, body=body[:1000], actor=actor)
    else:
        _tell_vendor(case, kind="support.replied", title=title, body=body[:1000], actor=actor)
    return message


def case_add_files(*, actor: Actor, case: SupportCase, files: Sequence[UploadedFile]) -> list[CaseAttachment]:
    _require(actor, "add_files", case, _("This case is closed; open a new one."))
    if not files:
        raise ApplicationError(_("Choose at least one file."), field="files")
    checked = _check_files(files)
    case = transitions.lock(case)
    stored = _store_files(actor, case, checked, None)
    audit.record(
        actor=actor.user,
        action="support.files_added",
        target=case,
        partner_id=case.partner_id,
        after={"files": [a.original_name for a in stored]},
    )
    title = _("Files added to case %(number)s") % {"number": case.number}
    body = ", ".join(a.original_name for a in stored)
    if actor.is_vendor:
        _tell_partner(case, kind="support.files_added", title=title, body=body, actor=actor)
    else:
        _tell_vendor(case, kind="support.files_added", title=title, body=body, actor=actor)
    return stored


def case_add_note(*, actor: Actor, case: SupportCase, body: str) -> CaseNote:
    """An internal note: vendor staff only. Its audit event names no partner and holds no text (the
    note itself is in a vendor-only table), and only vendor staff are told."""
    _require(actor, "note", case, _("Only vendor staff working the case add internal notes."))
    body = _clean_text(body, "body", _("note"), 10_000)
    case = transitions.lock(case)
    note = CaseNote.objects.create(case=case, author=actor.user, body=body)
    audit.record(actor=actor.user, action=NOTE, target=case, partner_id=None, after={"note": note.pk})
    _tell_vendor(
        case,
        kind=NOTE,
        title=_("Internal note on case %(number)s: %(subject)s")
        % {"number": case.number, "subject": case.subject},
        actor=actor,
    )
    return note


# --- triage --------------------------------------------------------------------------------------------
def case_assign(
    *, actor: Actor, case: SupportCase, assignee: Any | None = None, team: SupportTeam | None = None
) -> SupportCase:
    _require(actor, "assign", case)
    if assignee is not None and not (assignee.is_active and assignee.vendor_role):
        raise ApplicationError(_("Assign the case to active vendor staff."), field="assignee")
    if assignee is not None and not case_policy.can(
        Actor(user=assignee, side="vendor", vendor_role=assignee.vendor_role), "view", case
    ):
        raise ApplicationError(
            _("%(name)s does not work this partner's cases.") % {"name": assignee}, field="assignee"
        )
    case = transitions.lock(case)
    if case.assignee_id == (assignee.pk if assignee else None) and case.team_id == (
        team.pk if team else None
    ):
        return case  # a double click: nothing changed
    with transitions.transition(
        case,
        actor=actor.user,
        action="support.assigned",
        partner_id=case.partner_id,
        snapshot=["assignee", "team"],
    ) as change:
        change.set(assignee=assignee, team=team)
    title = _("Case %(number)s assigned to you: %(subject)s") % {
        "number": case.number,
        "subject": case.subject,
    }
    recipients: list[Any] = (
        [assignee] if assignee else list(team.members.filter(is_active=True)) if team else []
    )
    _tell(recipients, case, kind="support.assigned", title=title, actor=actor)
    return case


def case_change_priority(*, actor: Actor, case: SupportCase, priority: str) -> SupportCase:
    """A new priority moves the targets, counted from when the case was opened; a clock that moved
    may remind and escalate again."""
    _require(actor, "change_priority", case)
    priority = _clean_priority(priority)
    case = transitions.lock(case, related=["kind"])
    if case.priority == priority:
        return case
    response_due, resolution_due = sla.due_times(case.kind, priority, case.created_at)
    with transitions.transition(
        case,
        actor=actor.user,
        action="support.priority_changed",
        partner_id=case.partner_id,
        snapshot=["priority", "first_response_due_at", "resolution_due_at"],
    ) as change:
        fields: dict[str, Any] = {"priority": priority, "first_response_due_at": response_due}
        if case.first_responded_at is None:
            fields.update(response_reminded_at=None, response_escalated_at=None)
        if case.is_open:
            fields.update(
                resolution_due_at=resolution_due, resolution_reminded_at=None, resolution_escalated_at=None
            )
        change.set(**fields)
    title = _("Case %(number)s is now %(priority)s priority") % {
        "number": case.number,
        "priority": case.get_priority_display().lower(),
    }
    _tell_partner(case, kind="support.priority_changed", title=title, actor=actor)
    _tell_vendor(case, kind="support.priority_changed", title=title, actor=actor)
    return case


def case_resolve(
    *, actor: Actor, case: SupportCase, body: str = "", now: datetime | None = None
) -> SupportCase:
    """The vendor resolves the case, with an optional public summary; the partner is asked to rate
    it (or to reply, which reopens it)."""
    _require(actor, "resolve", case)
    now = now or timezone.now()
    if body.strip():
        case_reply(actor=actor, case=case, body=body, now=now)
    case = transitions.lock(case)
    with transitions.transition(
        case,
        actor=actor.user,
        action="support.resolved",
        to=CaseStatus.RESOLVED,
        from_states=OPEN_STATUSES,
        partner_id=case.partner_id,
        snapshot=["status", "resolved_at"],
    ) as change:
        fields: dict[str, Any] = {"resolved_at": now}
        if case.first_responded_at is None:
            fields["first_responded_at"] = now  # resolving answers the partner too
        change.set(**fields)
    title = _("Case %(number)s resolved: %(subject)s") % {"number": case.number, "subject": case.subject}
    _tell_partner(
        case,
        kind="support.resolved",
        title=title,
        body=_("Tell us how we did: rate the resolution, or reply if the problem is not solved."),
        actor=actor,
    )
    _tell_vendor(case, kind="support.resolved", title=title, actor=actor)
    return case


def case_reopen(*, actor: Actor, case: SupportCase, reason: str, now: datetime | None = None) -> SupportCase:
    _require(actor, "reopen", case)
    reason = _clean_text(reason, "reason", _("reason"), 2000)
    now = now or timezone.now()
    case = transitions.lock(case, related=["kind"])
    with transitions.transition(
        case,
        actor=actor.user,
        action="support.reopened",
        to=CaseStatus.OPEN,
        from_states=(CaseStatus.RESOLVED, CaseStatus.CLOSED),
        partner_id=case.partner_id,
        reason=reason,
        snapshot=["status", "resolution_due_at"],
    ) as change:
        change.set(**_reopen_fields(case, now))
    title = _("Case %(number)s reopened: %(subject)s") % {"number": case.number, "subject": case.subject}
    _tell_partner(case, kind="support.reopened", title=title, body=reason, actor=actor)
    _tell_vendor(case, kind="support.reopened", title=title, body=reason, actor=actor)
    return case


def case_close(*, actor: Actor, case: SupportCase, now: datetime | None = None) -> SupportCase:
    """Either side closes a case that needs nothing more (the partner solved it themselves)."""
    _require(actor, "close", case, _("This case is already closed."))
    now = now or timezone.now()
    case = transitions.lock(case)
    with transitions.transition(
        case,
        actor=actor.user,
        action="support.closed",
        to=CaseStatus.CLOSED,
        partner_id=case.partner_id,
        snapshot=["status"],
    ) as change:
        change.set(closed_at=now)
    title = _("Case %(number)s closed: %(subject)s") % {"number": case.number, "subject": case.subject}
    if actor.is_partner:
        _tell_vendor(case, kind="support.closed", title=title, actor=actor)
    else:
        _tell_partner(case, kind="support.closed", title=title, actor=actor)
    return case


def case_rate(
    *, actor: Actor, case: SupportCase, rating: Any, comment: str = "", now: datetime | None = None
) -> SupportCase:
    """The partner rates a resolved case (1 to 5, with a comment), once; rating closes it."""
    _require(actor, "rate", case, _("Only the partner rates a case."))
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ApplicationError(_("Choose a rating from 1 to 5."), field="rating")
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ApplicationError(_("Keep the comment under 2000 characters."), field="comment")
    now = now or timezone.now()
    case = transitions.lock(case)
    if case.status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED) or case.resolved_at is None:
        raise ApplicationError(_("You can rate a case once it is resolved."))
    if case.rating is not None:
        raise ApplicationError(_("This case is already rated."))
    with transitions.transition(
        case,
        actor=actor.user,
        action="support.rated",
        to=CaseStatus.CLOSED if case.status == CaseStatus.RESOLVED else None,
        partner_id=case.partner_id,
        snapshot=["status", "rating", "rating_comment"],
    ) as change:
        change.set(rating=rating, rating_comment=comment, rated_at=now)
        if case.closed_at is None:
            change.set(closed_at=now)
    _tell_vendor(
        case,
        kind="support.rated",
        title=_("Case %(number)s rated %(rating)s/5") % {"number": case.number, "rating": rating},
        body=comment[:1000],
        actor=actor,
    )
    return case


# --- SLA reminders and escalations (Celery beat: partners.support.tasks) ------------------------------
def case_sla_check(*, case: SupportCase, now: datetime | None = None) -> list[str]:
    """Remind whoever works the case before a target is due, and escalate when it is missed, each
    once per due time (a stamp on the row, set under the row's lock, so a second run or a second
    worker sends nothing). Returns what was sent."""
    now = now or timezone.now()
    case = transitions.lock(case)
    if not case.is_open:
        return []
    lead = sla.warning_lead()
    clocks = [
        ("response", case.first_responded_at is None, case.first_response_due_at),
        ("resolution", True, case.resolution_due_at),
    ]
    sent: list[str] = []
    for clock, running, due in clocks:
        if not running:
            continue
        reminded, escalated = f"{clock}_reminded_at", f"{clock}_escalated_at"
        if now >= due and getattr(case, escalated) is None:
            event = "escalated"
            stamps = {escalated: now, reminded: getattr(case, reminded) or now}
        elif now >= due - lead and getattr(case, reminded) is None:
            event = "reminder"
            stamps = {reminded: now}
        else:
            continue
        # Vendor-side bookkeeping: the events belong to no partner (partner_id None).
        with transitions.transition(
            case, actor=None, action=f"support.sla_{clock}_{event}", snapshot=[], after=[*stamps]
        ) as change:
            change.set(**stamps)
            change.audit_extra = {"due": due}
        when = localized_datetime(due)
        what = _("first response") if clock == "response" else _("resolution")
        if event == "reminder":
            title = _("Case %(number)s: %(what)s due at %(when)s") % {
                "number": case.number,
                "what": what,
                "when": when,
            }
        else:
            title = _("SLA breached on case %(number)s: %(what)s was due at %(when)s") % {
                "number": case.number,
                "what": what,
                "when": when,
            }
        _tell_vendor(
            case, escalate=event == "escalated", kind=f"support.sla_{event}", title=title, body=case.subject
        )
        sent.append(f"{clock}_{event}")
    return sent
