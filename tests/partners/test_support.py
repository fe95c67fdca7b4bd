"""Support cases: SLA arithmetic (business hours, weekends, the vendor's holidays), each service and
its refusals, notifications on both sides (never an internal note to a partner), the SLA beat task
(reminders and escalations sent once), the policy as a matrix of roles, and the related-item
registry (deals, MDF and training contribute; a foreign item is refused)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from partners.models import (
    CaseAttachment,
    CaseKind,
    CaseNote,
    CasePriority,
    CaseStatus,
    PartnerRole,
    SlaTarget,
    SupportCase,
)
from partners.support import linkables, sla
from partners.support.policies import case_policy
from partners.support.tasks import check_support_slas
from prm.errors import ApplicationError
from prm.models import AuditEvent, Holiday, Notification
from prm.roles import VendorRole
from prm.tenancy import system_scope
from tests import factories
from tests.deals import factories as deal_factories
from tests.partners import support_factories as s
from tests.partners.support_factories import selectors, services
from tests.scoping import acting

pytestmark = pytest.mark.django_db

UTC = timezone.get_fixed_timezone(0)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# 2026-12-04 is a Friday.
FRIDAY_4PM = at(2026, 12, 4, 16, 0)


# --- SLA arithmetic -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (at(2026, 12, 1, 10, 0), 2, at(2026, 12, 1, 12, 0)),  # inside one business day
        (at(2026, 12, 1, 7, 0), 2, at(2026, 12, 1, 11, 0)),  # before opening: counted from 09:00
        (at(2026, 12, 1, 20, 0), 2, at(2026, 12, 2, 11, 0)),  # after closing: the next morning
        (FRIDAY_4PM, 2, at(2026, 12, 7, 10, 0)),  # one hour on Friday, one on Monday
        (at(2026, 12, 5, 12, 0), 8, at(2026, 12, 7, 17, 0)),  # opened on Saturday: all of Monday
        (at(2026, 12, 1, 9, 0), 40, at(2026, 12, 7, 17, 0)),  # five business days, over a weekend
    ],
)
def test_business_hours_skip_nights_and_weekends(start: datetime, hours: int, due: datetime) -> None:
    assert sla.add_business_hours(start, hours) == due


def test_business_hours_skip_the_vendors_holidays() -> None:
    Holiday.objects.create(date=date(2026, 12, 7), name="Company day")
    Holiday.objects.create(date=date(2026, 12, 8), name="Second company day")
    # Friday 16:00 + 2 h: one hour on Friday; Monday and Tuesday off; Wednesday 10:00.
    assert sla.add_business_hours(FRIDAY_4PM, 2) == at(2026, 12, 9, 10, 0)


def test_a_kinds_own_target_beats_the_one_for_every_kind_and_the_default() -> None:
    complaint, consulting = s.kind(CaseKind.COMPLAINT), s.kind(CaseKind.BUSINESS_CONSULTING)
    assert sla.target_for(complaint, CasePriority.HIGH) == sla.Target(4, 16)  # the default
    SlaTarget.objects.create(
        kind=None, priority=CasePriority.HIGH, first_response_hours=3, resolution_hours=24
    )
    SlaTarget.objects.create(
        kind=complaint, priority=CasePriority.HIGH, first_response_hours=1, resolution_hours=8
    )
    assert sla.target_for(complaint, CasePriority.HIGH) == sla.Target(1, 8)
    assert sla.target_for(consulting, CasePriority.HIGH) == sla.Target(3, 24)


def test_the_sla_state_is_read_from_the_due_times() -> None:
    due = at(2026, 12, 1, 12, 0)
    assert sla.clock_state(due, None, at(2026, 12, 1, 9, 0)) == sla.ON_TRACK
    assert sla.clock_state(due, None, at(2026, 12, 1, 10, 30)) == sla.DUE_SOON
    assert sla.clock_state(due, None, at(2026, 12, 1, 12, 0)) == sla.BREACHED
    assert sla.clock_state(due, at(2026, 12, 1, 11, 0), at(2026, 12, 3)) == sla.MET
    assert sla.clock_state(due, at(2026, 12, 1, 13, 0), at(2026, 12, 3)) == sla.BREACHED


# --- opening --------------------------------------------------------------------------------------
@pytest.fixture
def world(settings: Any, tmp_path: Any) -> Any:
    factories.media_storage(settings, tmp_path)
    team = deal_factories.team("Northwind Resellers")
    other = deal_factories.team("Globex Systems")
    cam = deal_factories.cam_for(team.partner)
    support = factories.vendor_actor(VendorRole.SUPPORT)

    class World:
        pass

    w = World()
    w.team, w.other, w.cam, w.support, w.root = team, other, cam, support, tmp_path
    w.partner = team.admin_actor
    w.learner = factories.actor_for(factories.partner_user(team.partner, role=PartnerRole.LEARNER))
    return w


def test_a_partner_opens_a_case_with_files_due_by_the_sla(world: Any) -> None:
    with time_machine.travel(FRIDAY_4PM, tick=False):
        case = s.open_case(world.learner, priority=CasePriority.URGENT, files=[s.pdf("scan.pdf")])
    assert case.partner_id == world.team.partner.pk
    assert case.status == CaseStatus.NEW
    # Urgent: 2 business hours to answer, 8 to resolve.
    assert case.first_response_due_at == at(2026, 12, 7, 10, 0)
    assert case.resolution_due_at == at(2026, 12, 7, 16, 0)
    attachment = CaseAttachment.objects.get(case=case)
    assert attachment.file.name.startswith(f"partners/{world.team.partner.pk}/support/{case.pk}/")
    assert attachment.file.name.endswith(".pdf") and "scan" not in attachment.file.name
    assert attachment.content_type == "application/pdf"
    event = AuditEvent.objects.get(action="support.opened")
    assert event.partner_id == case.partner_id and event.after["files"] == 1
    # The partner's CAM and the support staff hear of it; so does the opener's admin.
    told = set(Notification.objects.filter(kind="support.opened").values_list("recipient_id", flat=True))
    assert {world.cam.user.pk, world.support.user.pk, world.team.admin.pk} <= told


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": "  "}, "subject"),
        ({"description": ""}, "description"),
        ({"priority": "whenever"}, "priority"),
        ({"files": "text"}, "files"),
        ({"files": "big"}, "files"),
        ({"files": "empty"}, "files"),
        ({"kind": "inactive"}, "kind"),
        ({"related": "deals.deal:987654"}, "related"),
        ({"related": "nonsense"}, "related"),
    ],
)
def test_bad_input_is_refused_on_its_field(world: Any, settings: Any, change: dict, field: str) -> None:
    settings.PRM = {**settings.PRM, "UPLOAD_MAX_BYTES": 100}
    values: dict[str, Any] = {
        "kind": s.kind(),
        "subject": "Broken portal",
        "description": "It broke.",
        "priority": CasePriority.NORMAL,
        "files": [],
    }
    values.update(change)
    if values["files"] == "text":  # a text file named like a PDF: the content decides
        values["files"] = [SimpleUploadedFile("invoice.pdf", b"just text", content_type="application/pdf")]
    elif values["files"] == "big":
        values["files"] = [s.pdf(content=s.PDF + b"x" * 200)]
    elif values["files"] == "empty":
        values["files"] = [s.pdf(content=b"")]
    if values["kind"] == "inactive":
        values["kind"] = CaseKind.objects.create(key="retired", name="Retired", is_active=False)
    with pytest.raises(ApplicationError) as error:
        services.case_open(actor=world.partner, **values)
    assert error.value.field == field
    assert not SupportCase.objects.exists()
    assert list(world.root.rglob("*.pdf")) == []


def test_vendor_staff_do_not_open_cases(world: Any) -> None:
    with pytest.raises(ApplicationError):
        s.open_case(world.support)


# --- related items: the registry ------------------------------------------------------------------
def test_deals_mdf_and_training_contribute_what_a_case_may_be_about() -> None:
    assert {item.key for item in linkables.linkables()} >= {
        "deals.deal",
        "mdf.fundrequest",
        "training.course",
    }


def test_a_partner_links_its_own_deal_and_never_another_partners(world: Any) -> None:
    own = deal_factories.submitted(world.team.admin_actor, customer="Initech", domain="initech.com")
    foreign = deal_factories.submitted(
        world.other.admin_actor, customer="Umbrella Corp", domain="umbrella.example"
    )
    with acting(world.partner):
        offered = dict(linkables.choices_for(world.partner))
    assert [label for _value, label in offered["Deal"]] == [f"{own.reference} Initech"]
    case = s.open_case(world.partner, related=f"deals.deal:{own.pk}")
    assert (case.related_type.model, case.related_id, case.related_label) == (
        "deal",
        own.pk,
        f"{own.reference} Initech",
    )

    # The partner's admin opens it; the partner's learner (no deals) sees the case, not the deal.
    def resolve(actor: Any) -> Any:
        with acting(actor):
            return linkables.resolve(actor, case.related_type_id, case.related_id)

    assert resolve(world.partner)[1].endswith(f"/deals/{own.pk}/")
    assert resolve(world.learner) is None
    # Its CAM gets the vendor's page for it; support staff (no deals) only the stored label.
    assert "/vendor/deals/" in resolve(world.cam)[1]
    assert resolve(world.support) is None
    with pytest.raises(ApplicationError) as error:
        s.open_case(world.partner, related=f"deals.deal:{foreign.pk}")
    assert error.value.field == "related"


# --- the conversation -----------------------------------------------------------------------------
def _tell_after_commit(django_capture_on_commit_callbacks: Any, call: Any) -> Any:
    with django_capture_on_commit_callbacks(execute=True):
        return call()


def test_replies_move_the_case_and_reach_the_other_side_by_mail(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with time_machine.travel(at(2026, 12, 1, 10, 0), tick=False):
        case = s.open_case(world.partner)
    mail.outbox.clear()
    with time_machine.travel(at(2026, 12, 1, 11, 0), tick=False):
        _tell_after_commit(
            django_capture_on_commit_callbacks,
            lambda: services.case_reply(actor=world.support, case=case, body="Which invoice numbers?"),
        )
    case.refresh_from_db()
    assert case.status == CaseStatus.WAITING
    assert case.first_responded_at == at(2026, 12, 1, 11, 0)
    assert any("Which invoice numbers?" in m.body and world.team.admin.email in m.to for m in mail.outbox)
    _tell_after_commit(
        django_capture_on_commit_callbacks,
        lambda: services.case_reply(actor=world.partner, case=case, body="INV-1 and INV-2", files=[s.pdf()]),
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert any("INV-1 and INV-2" in m.body and world.support.user.email in m.to for m in mail.outbox)
    replies = AuditEvent.objects.filter(action="support.replied").order_by("pk")
    assert [e.after["from"] for e in replies] == ["vendor", "partner"]
    assert replies[1].after["files"] == ["evidence.pdf"]


def test_an_internal_note_never_reaches_the_partner(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = s.open_case(world.partner)
    mail.outbox.clear()
    _tell_after_commit(
        django_capture_on_commit_callbacks,
        lambda: services.case_add_note(actor=world.cam, case=case, body="SECRET-NOTE: partner is on watch"),
    )
    note = CaseNote.objects.get()
    # The vendor side reads it; the partner's conversation and history do not have it.
    assert any(e.body == note.body for e in selectors.conversation(actor=world.support, case=case))
    partner_case = selectors.case_get(actor=world.partner, pk=case.pk)
    assert all(
        "SECRET-NOTE" not in e.body for e in selectors.conversation(actor=world.partner, case=partner_case)
    )
    assert not selectors.case_history(actor=world.partner, case=partner_case).filter(
        action__startswith="support.note"
    )
    # Its audit event belongs to no partner and holds no text; no partner user is told.
    event = AuditEvent.objects.get(action="support.note_added")
    assert event.partner_id is None and "SECRET" not in str(event.after)
    partner_people = {world.team.admin.pk, world.learner.user.pk}
    assert not Notification.objects.filter(
        kind="support.note_added", recipient_id__in=partner_people
    ).exists()
    assert all("SECRET-NOTE" not in m.body for m in mail.outbox)
    assert not Notification.objects.filter(body__contains="SECRET-NOTE").exists()
    # And partners may not write one.
    with pytest.raises(ApplicationError):
        services.case_add_note(actor=world.partner, case=case, body="x")


def test_resolve_rate_once_and_close(world: Any) -> None:
    case = s.open_case(world.partner)
    with pytest.raises(ApplicationError):  # not resolved yet
        services.case_rate(actor=world.partner, case=case, rating=5)
    services.case_resolve(actor=world.support, case=case, body="Duplicates removed.")
    case.refresh_from_db()
    assert case.status == CaseStatus.RESOLVED and case.first_responded_at and case.resolved_at
    with pytest.raises(ApplicationError):  # vendor staff do not rate
        services.case_rate(actor=world.support, case=case, rating=5)
    for bad in (0, 6, "five", None):
        with pytest.raises(ApplicationError) as error:
            services.case_rate(actor=world.partner, case=case, rating=bad)
        assert error.value.field == "rating"
    services.case_rate(actor=world.partner, case=case, rating=4, comment="Quick and friendly")
    case.refresh_from_db()
    assert (case.status, case.rating, case.rating_comment) == (CaseStatus.CLOSED, 4, "Quick and friendly")
    with pytest.raises(ApplicationError):
        services.case_rate(actor=world.partner, case=case, rating=1)
    with pytest.raises(ApplicationError):  # a closed case takes no replies
        services.case_reply(actor=world.partner, case=case, body="One more thing")


def test_a_partner_reply_reopens_a_resolved_case_with_a_new_resolution_clock(world: Any) -> None:
    with time_machine.travel(at(2026, 12, 1, 10, 0), tick=False):
        case = s.open_case(world.partner)
        services.case_resolve(actor=world.support, case=case)
    with time_machine.travel(at(2026, 12, 14, 10, 0), tick=False):
        services.case_reply(actor=world.partner, case=case, body="It is back.")
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and case.resolved_at is None
    assert case.resolution_due_at == sla.add_business_hours(at(2026, 12, 14, 10, 0), 40)


def test_vendor_reopens_changes_priority_and_assigns(world: Any) -> None:
    with time_machine.travel(at(2026, 12, 1, 10, 0), tick=False):
        case = s.open_case(world.partner, priority=CasePriority.LOW)
        services.case_change_priority(actor=world.cam, case=case, priority=CasePriority.URGENT)
    case.refresh_from_db()
    assert case.first_response_due_at == at(2026, 12, 1, 12, 0)
    services.case_assign(actor=world.support, case=case, assignee=world.cam.user)
    case.refresh_from_db()
    assert case.assignee_id == world.cam.user.pk
    # A CAM outside the partner's portfolio cannot be given its case.
    stranger = deal_factories.cam_for(world.other.partner)
    with pytest.raises(ApplicationError) as error:
        services.case_assign(actor=world.support, case=case, assignee=stranger.user)
    assert error.value.field == "assignee"
    services.case_resolve(actor=world.cam, case=case)
    with pytest.raises(ApplicationError):
        services.case_reopen(actor=world.cam, case=case, reason="")
    services.case_reopen(actor=world.cam, case=case, reason="The duplicates are back")
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    actions = list(
        AuditEvent.objects.filter(target_id=str(case.pk)).order_by("pk").values_list("action", flat=True)
    )
    assert actions == [
        "support.opened",
        "support.priority_changed",
        "support.assigned",
        "support.resolved",
        "support.reopened",
    ]


def test_a_partner_cannot_act_on_another_partners_case(world: Any) -> None:
    case = s.open_case(world.partner)
    outsider = world.other.admin_actor
    for call in (
        lambda: services.case_reply(actor=outsider, case=case, body="hi"),
        lambda: services.case_close(actor=outsider, case=case),
        lambda: services.case_add_files(actor=outsider, case=case, files=[s.pdf()]),
    ):
        with pytest.raises(ApplicationError):
            call()
    assert not selectors.partner_case_list(actor=outsider).exists()


# --- SLA reminders and escalations ----------------------------------------------------------------
def test_reminders_and_escalations_go_out_once(world: Any, settings: Any) -> None:
    settings.PRM = {**settings.PRM, "SUPPORT_SLA_WARNING_HOURS": 1}
    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        case = s.open_case(world.partner, priority=CasePriority.URGENT)  # answer by 11:00, resolve by 17:00
    assert case.first_response_due_at == at(2026, 12, 1, 11, 0)
    with time_machine.travel(at(2026, 12, 1, 9, 30), tick=False):
        assert check_support_slas() == 0
    with time_machine.travel(at(2026, 12, 1, 10, 15), tick=False):
        assert check_support_slas() == 1  # the first response is due within the hour
        assert check_support_slas() == 0
    with time_machine.travel(at(2026, 12, 1, 11, 5), tick=False):
        assert check_support_slas() == 1  # missed: escalated
        assert check_support_slas() == 0
        with system_scope():
            queue = selectors.queue(actor=world.support, filters=selectors.QueueFilters(breached=True))
            assert list(queue) == [case]
    with time_machine.travel(at(2026, 12, 1, 16, 15), tick=False):
        assert check_support_slas() == 1  # resolution due within the hour
    with time_machine.travel(at(2026, 12, 1, 17, 0), tick=False):
        assert check_support_slas() == 1
        assert check_support_slas() == 0
    actions = list(
        AuditEvent.objects.filter(action__startswith="support.sla_").values_list("action", flat=True)
    )
    assert sorted(actions) == sorted(
        [
            "support.sla_response_reminder",
            "support.sla_response_escalated",
            "support.sla_resolution_reminder",
            "support.sla_resolution_escalated",
        ]
    )
    assert not AuditEvent.objects.filter(action__startswith="support.sla_", partner_id__isnull=False).exists()
    # An escalation reaches program admins and the partner's CAM; never the partner.
    escalated = Notification.objects.filter(kind="support.sla_escalated")
    assert world.cam.user.pk in set(escalated.values_list("recipient_id", flat=True))
    assert not escalated.filter(partner_id__isnull=False).exists()


def test_a_case_answered_in_time_is_not_escalated(world: Any) -> None:
    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        case = s.open_case(world.partner, priority=CasePriority.URGENT)
        services.case_reply(actor=world.support, case=case, body="On it")
    with time_machine.travel(at(2026, 12, 1, 11, 30), tick=False):
        check_support_slas()
    assert not AuditEvent.objects.filter(action__startswith="support.sla_response").exclude(
        action="support.sla_response_reminder"
    )
    case.refresh_from_db()
    assert sla.case_sla(case, at(2026, 12, 1, 11, 30)).response == sla.MET


# --- the policy, as a matrix of roles ---------------------------------------------------------------
ACTIONS = ["view", "reply", "add_files", "close", "rate", "note", "view_notes", "assign", "resolve", "reopen"]
PARTNER_MAY = {"view", "reply", "add_files", "close", "rate"}
VENDOR_MAY = {"view", "reply", "add_files", "close", "note", "view_notes", "assign", "resolve", "reopen"}


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("partner_admin", PARTNER_MAY),
        ("partner_learner", PARTNER_MAY),
        ("other_partner", set()),
        ("cam", VENDOR_MAY),
        ("other_cam", set()),
        ("support", VENDOR_MAY),
        ("program_admin", VENDOR_MAY),
        ("finance", set()),
        ("content_manager", set()),
    ],
)
def test_who_may_do_what_on_a_case(world: Any, who: str, allowed: set[str]) -> None:
    case = s.open_case(world.partner)
    actor = {
        "partner_admin": world.partner,
        "partner_learner": world.learner,
        "other_partner": world.other.admin_actor,
        "cam": world.cam,
        "other_cam": deal_factories.cam_for(world.other.partner),
        "support": world.support,
        "program_admin": factories.vendor_actor(VendorRole.PROGRAM_ADMIN),
        "finance": factories.vendor_actor(VendorRole.FINANCE),
        "content_manager": factories.vendor_actor(VendorRole.CONTENT_MANAGER),
    }[who]
    assert {action for action in ACTIONS if case_policy.can(actor, action, case)} == allowed
    assert case_policy.scope(actor).filter(pk=case.pk).exists() is ("view" in allowed)
    # The ORM filter on its own (run in the test body's vendor-wide scope, so row-level security
    # does not do the policy's work for it).
    assert SupportCase.objects.filter(case_policy.visible(actor), pk=case.pk).exists() is ("view" in allowed)
    assert case_policy.can(actor, "queue") is (who in {"cam", "other_cam", "support", "program_admin"})
    assert case_policy.can(actor, "open") is who.startswith(("partner", "other_partner"))


def test_a_closed_case_takes_no_reply_or_file_but_may_be_rated_and_reopened(world: Any) -> None:
    case = s.open_case(world.partner)
    services.case_resolve(actor=world.support, case=case)
    services.case_close(actor=world.partner, case=case)
    case.refresh_from_db()
    assert not case_policy.can(world.partner, "reply", case)
    assert not case_policy.can(world.support, "add_files", case)
    assert case_policy.can(world.partner, "rate", case)
    assert case_policy.can(world.support, "reopen", case)


def test_the_report_counts_breaches_ratings_and_resolution_times(world: Any) -> None:
    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        late = s.open_case(world.partner, subject="Late one", priority=CasePriority.URGENT)
        quick = s.open_case(world.partner, subject="Quick one")
        services.case_resolve(actor=world.support, case=quick)
        services.case_rate(actor=world.partner, case=quick, rating=5)
    with time_machine.travel(at(2026, 12, 2, 9, 0), tick=False):
        data = selectors.report(actor=world.support, days=30)
    totals = data["totals"]
    assert (totals["open"], totals["breached"], totals["opened"], totals["resolved"]) == (1, 1, 2, 1)
    assert totals["avg_rating"] == 5 and totals["resolution_hours"] == 0.0
    assert data["by_partner"][0]["partner__legal_name"] == "Northwind Resellers"
    assert data["by_cam"][0]["partner__channel_account_manager_id"] == world.cam.user.pk
    assert late.pk and data["chart"]["breached"] == [1]
