"""Support cases across tenants: partner A's cases and files, asked for by partner B's people, by a
channel account manager without A in the portfolio, and by vendor roles that do not work cases,
get the same answer as a missing id, show nothing of A and change nothing (tests/isolation.py).
A's own people and A's channel account manager make the same requests (the controls).

Internal notes never reach a partner: not A's own people by page, e-mail or export (the tests at
the end), and the partner scope cannot even read their table (tests/prm/test_rls.py: CaseNote is
vendor-only). Support cases have no API routes.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from partners.models import (
    CaseAttachment,
    CaseMessage,
    CaseNote,
    CasePriority,
    PartnerRole,
    SupportCase,
)
from prm.models import AuditEvent
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as deal_factories
from tests.exports import exported
from tests.helpers import body_text, login
from tests.isolation import Case, built_once, foreign_id_test
from tests.partners import support_factories as s
from tests.partners.support_factories import services

pytestmark = pytest.mark.django_db

NOTE = "WATCHLIST-NOTE: margin dispute with this partner"


@dataclass
class World:
    a_admin: Any
    a_learner: Any
    a_cam: Any
    b_admin: Any
    b_cam: Any
    finance: Any
    content: Any
    support: Any
    case: SupportCase  # open, with a file and an internal note
    resolved: SupportCase  # resolved, waiting for its rating
    attachment: CaseAttachment
    a_name: str


@built_once
def world() -> Iterator[World]:
    with tempfile.TemporaryDirectory() as root, override_settings(STORAGES=factories.storages_at(Path(root))):
        a = deal_factories.team("Acme Secretive Networks")
        b = deal_factories.team("Globex Systems")
        a_cam, b_cam = deal_factories.cam_for(a.partner), deal_factories.cam_for(b.partner)
        support = factories.vendor_actor(VendorRole.SUPPORT)
        case = s.open_case(
            a.admin_actor,
            subject="Rebate statement lists the wrong region",
            description="Our confidential rebate figures are off by 12 percent.",
            files=[s.pdf("acme-rebate-statement.pdf")],
            priority=CasePriority.HIGH,
        )
        services.case_add_note(actor=a_cam, case=case, body=NOTE)
        resolved = s.open_case(a.admin_actor, subject="Portal login loops", description="Since Monday.")
        services.case_resolve(actor=support, case=resolved, body="Cleared the stale session.")
        yield World(
            a_admin=a.admin,
            a_learner=factories.partner_user(a.partner, role=PartnerRole.LEARNER),
            a_cam=a_cam.user,
            b_admin=b.admin,
            b_cam=b_cam.user,
            finance=factories.vendor_user(VendorRole.FINANCE),
            content=factories.vendor_user(VendorRole.CONTENT_MANAGER),
            support=support.user,
            case=case,
            resolved=resolved,
            attachment=CaseAttachment.objects.get(case=case),
            a_name=a.partner.legal_name,
        )


PEOPLE = {
    name: (lambda world, name=name: getattr(world, name))
    for name in ("a_admin", "a_learner", "a_cam", "b_admin", "b_cam", "finance", "content", "support")
}
OUTSIDERS = ("b_admin", "b_cam", "finance", "content")


def _secrets(world: World, _who: str) -> list[str]:
    return [
        world.a_name,
        world.case.subject,
        world.case.description,
        world.resolved.subject,
        world.attachment.original_name,
        world.attachment.file.name,
        NOTE,
    ]


def _state(world: World) -> Any:
    return (
        list(SupportCase.objects.order_by("pk").values()),
        CaseMessage.objects.count(),
        CaseNote.objects.count(),
        CaseAttachment.objects.count(),
        AuditEvent.objects.count(),
    )


def _open(world: World, _who: str) -> list[SupportCase]:
    return [world.case]


def _resolved(world: World, _who: str) -> list[SupportCase]:
    return [world.resolved]


def _file(world: World, _who: str) -> list[CaseAttachment]:
    return [world.attachment]


def _upload(_world: World, _target: Any) -> dict[str, Any]:
    return {"files": [s.pdf("hijack.pdf")]}


CASES = [
    Case(
        "support:case_detail",
        ("GET",),
        OUTSIDERS,
        _open,
        controls=("a_admin", "a_learner", "a_cam", "support"),
    ),
    Case(
        "support:attachment_download",
        ("GET",),
        OUTSIDERS,
        _file,
        absent=("%PDF",),
        controls=("a_admin", "a_cam", "support"),
    ),
    Case(
        "support:case_reply",
        ("POST",),
        OUTSIDERS,
        _open,
        data={"body": "Hijacked reply"},
        controls=("a_admin",),
    ),
    Case("support:case_add_files", ("POST",), OUTSIDERS, _open, data=_upload, controls=("a_admin",)),
    Case("support:case_assign", ("POST",), OUTSIDERS, _open, data={"assignee": ""}, controls=("support",)),
    Case(
        "support:case_priority",
        ("POST",),
        OUTSIDERS,
        _open,
        data={"priority": CasePriority.URGENT},
        controls=("a_cam",),
    ),
    Case("support:case_resolve", ("POST",), OUTSIDERS, _open, data={"body": ""}, controls=("support",)),
    Case("support:case_close", ("POST",), OUTSIDERS, _open, data={}, controls=("a_admin",)),
    Case("support:case_rate", ("POST",), OUTSIDERS, _resolved, data={"rating": "5"}, controls=("a_admin",)),
    Case(
        "support:case_reopen", ("POST",), OUTSIDERS, _resolved, data={"reason": "Hijack"}, controls=("a_cam",)
    ),
]

test_foreign_case_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    CASES,
    world="world",
    people=PEOPLE,
    secrets=_secrets,
    state=_state,
    # Nothing was queued for later either (a flashed message naming A's case).
    follow=lambda world, who: "support:case_list" if who == "b_admin" else None,
)


# --- internal notes never reach a partner ------------------------------------------------------------
def test_the_partners_own_case_page_never_shows_an_internal_note(world: World) -> None:
    url = reverse("support:case_detail", args=[world.case.pk])
    for partner_user in (world.a_admin, world.a_learner):
        text = body_text(login(partner_user).get(url))
        assert world.case.subject in text and "acme-rebate-statement.pdf" in text
        assert NOTE not in text and "Internal note" not in text and "support.note_added" not in text
    # Vendor staff working the case read it.
    assert NOTE in body_text(login(world.a_cam).get(url))
    assert NOTE in body_text(login(world.support).get(url))


def test_a_partner_cannot_post_an_internal_note(world: World) -> None:
    before = CaseNote.objects.count()
    response = login(world.a_admin).post(
        reverse("support:case_reply", args=[world.case.pk]), {"body": "Sneaky", "internal": "on"}, follow=True
    )
    assert "Only vendor staff working the case add internal notes." in body_text(response)
    assert CaseNote.objects.count() == before


def test_no_e_mail_carries_an_internal_note(world: World, django_capture_on_commit_callbacks: Any) -> None:
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        login(world.a_cam).post(
            reverse("support:case_reply", args=[world.case.pk]),
            {"body": "SECOND-NOTE internal", "internal": "on"},
        )
        login(world.a_cam).post(
            reverse("support:case_reply", args=[world.case.pk]), {"body": "A public answer"}
        )
    assert any("A public answer" in m.body and world.a_admin.email in m.to for m in mail.outbox)
    assert all("SECOND-NOTE" not in m.body for m in mail.outbox)
    partner_addresses = {world.a_admin.email, world.a_learner.email}
    assert not any(set(m.to) & partner_addresses and "Internal note" in m.subject for m in mail.outbox)


def test_the_case_export_has_no_internal_note_and_no_partner_may_run_it(world: World) -> None:
    built = exported(login(world.support), reverse("support:report_export"))
    assert built.status_code == 200
    text = built.content.decode()
    assert world.case.subject in text and NOTE not in text
    assert login(world.a_admin).post(reverse("support:report_export")).status_code == 404
    assert login(world.b_cam).get(reverse("support:queue")).status_code == 200
    assert world.case.subject not in body_text(login(world.b_cam).get(reverse("support:queue")))
