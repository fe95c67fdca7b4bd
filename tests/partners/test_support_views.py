"""Support case pages: the partner's journey through the pages (open with a file, read the vendor's
answer, rate), the vendor's (queue, reply, resolve, report), bad input answered with a message and
never a 500, the home panels, and bounded queries on the queue, the partner's list and a case page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from partners.models import CaseAttachment, CaseKind, CasePriority, CaseStatus, PartnerRole, SupportCase
from prm.roles import VendorRole
from tests import factories
from tests.deals import factories as deal_factories
from tests.helpers import assert_constant_queries, body_text, element, login
from tests.partners import support_factories as s
from tests.partners.support_factories import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings: Any, tmp_path: Any) -> Any:
    factories.media_storage(settings, tmp_path)
    team = deal_factories.team("Northwind Resellers")

    class World:
        pass

    w = World()
    w.team = team
    w.partner = team.admin_actor
    w.cam = deal_factories.cam_for(team.partner)
    w.support = factories.vendor_actor(VendorRole.SUPPORT)
    return w


def test_a_partner_opens_a_complaint_with_a_file_gets_an_answer_and_rates_it(world: Any) -> None:
    s.built_in_kinds()
    client = login(world.team.admin)
    page = client.get(reverse("support:case_open"))
    assert page.status_code == 200 and "Business failure report" in body_text(page)
    response = client.post(
        reverse("support:case_open"),
        {
            "kind": s.kind(CaseKind.COMPLAINT).pk,
            "subject": "Delivery arrived broken",
            "description": "Three of ten units were cracked.",
            "priority": CasePriority.HIGH,
            "related": "",
            "files": [s.pdf("photo-report.pdf")],
        },
    )
    case = SupportCase.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "support:case_detail", args=[case.pk]
    )
    text = body_text(client.get(response["Location"]))
    assert "Delivery arrived broken" in text and "photo-report.pdf" in text and "is open" in text
    attachment = CaseAttachment.objects.get()
    download = client.get(reverse("support:attachment_download", args=[attachment.pk]))
    assert download.status_code == 200 and download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content).startswith(b"%PDF")

    vendor = login(world.support.user)
    queue = body_text(vendor.get(reverse("support:queue")))
    assert "Delivery arrived broken" in queue and "Northwind Resellers" in queue
    assert (
        vendor.post(
            reverse("support:case_reply", args=[case.pk]), {"body": "Replacements ship today."}
        ).status_code
        == 302
    )
    assert vendor.post(reverse("support:case_resolve", args=[case.pk]), {"body": ""}).status_code == 302

    text = body_text(client.get(reverse("support:case_detail", args=[case.pk])))
    assert "Replacements ship today." in text and 'id="rate-form"' in text
    # The history in plain words: a sentence per event, not the audit keys and ISO timestamps.
    assert f"Case opened: #{case.pk}" in text and f"Case resolved: #{case.pk}" in text
    assert "support.opened" not in text and "support.resolved" not in text
    assert not re.search(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", re.sub(r"<[^>]+>", " ", text)
    )  # shown, not in attributes
    assert (
        client.post(
            reverse("support:case_rate", args=[case.pk]), {"rating": "5", "comment": "Fast"}
        ).status_code
        == 302
    )
    case.refresh_from_db()
    assert (case.status, case.rating) == (CaseStatus.CLOSED, 5)
    assert "Rated 5/5" in body_text(vendor.get(reverse("support:case_detail", args=[case.pk])))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"subject": ""}, "This field is required"),
        ({"kind": "999999"}, "Select a valid choice"),
        ({"related": "deals.deal:424242"}, "Select a valid choice"),
        ({"files": "fake"}, "is not a file type we accept"),
    ],
)
def test_bad_input_on_the_open_form_is_a_message_not_a_500(world: Any, data: dict, message: str) -> None:
    post = {
        "kind": s.kind().pk,
        "subject": "Broken",
        "description": "It broke.",
        "priority": CasePriority.NORMAL,
        **data,
    }
    if post.get("files") == "fake":
        post["files"] = [
            SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
        ]
    response = login(world.team.admin, raise_request_exception=False).post(reverse("support:case_open"), post)
    assert response.status_code == 400
    assert message in body_text(response)
    assert not SupportCase.objects.exists()


def test_bad_input_on_case_actions_is_a_message_not_a_500(world: Any) -> None:
    case = s.open_case(world.partner)
    client = login(world.team.admin, raise_request_exception=False)
    for url, data, message in [
        ("support:case_reply", {"body": ""}, "This field is required"),
        ("support:case_rate", {"rating": "9"}, "Select a valid choice"),
        ("support:case_reply", {"body": "x" * 10_001}, "at most 10000 characters"),
    ]:
        response = client.post(reverse(url, args=[case.pk]), data)
        assert response.status_code == 400, url
        assert message in body_text(response), url
    # A refusal about the case itself is said on the case page.
    for url, data, message in [
        ("support:case_rate", {"rating": "5"}, "once it is resolved"),
        ("support:case_resolve", {}, "not allowed"),
    ]:
        response = client.post(reverse(url, args=[case.pk]), data, follow=True)
        assert response.redirect_chain[-1][0] == reverse("support:case_detail", args=[case.pk]), url
        assert message in body_text(response), url
    vendor = login(world.support.user, raise_request_exception=False)
    response = vendor.post(reverse("support:case_priority", args=[case.pk]), {"priority": "asap"})
    assert response.status_code == 400 and "Select a valid choice" in body_text(response)


def test_the_vendor_pages_are_for_the_roles_that_work_cases(world: Any) -> None:
    for role, status in [
        (VendorRole.SUPPORT, 200),
        (VendorRole.PROGRAM_ADMIN, 200),
        (VendorRole.FINANCE, 404),
        (VendorRole.CONTENT_MANAGER, 404),
    ]:
        client = login(factories.vendor_user(role))
        assert client.get(reverse("support:queue")).status_code == status
        assert client.get(reverse("support:report")).status_code == status
    assert login(world.team.admin).get(reverse("support:queue")).status_code == 404
    # Support staff see no partner's business: their dashboard is the queue, their menu the cases.
    agent = login(world.support.user)
    response = agent.get(reverse("vendor:dashboard"))
    assert response.status_code == 302 and response["Location"] == reverse("support:queue")
    menu = element(body_text(agent.get(reverse("support:queue"))), "mainnav")
    assert 'id="nav-support"' in menu and "All partners" not in menu and "Review queue" not in menu
    assert login(world.support.user).get(reverse("support:case_list")).status_code == 404


def test_the_queue_marks_breached_cases_and_the_report_counts_them(world: Any) -> None:
    import time_machine

    with time_machine.travel("2026-12-01 09:00Z", tick=False):
        late = s.open_case(world.partner, subject="Nobody answered", priority=CasePriority.URGENT)
        fine = s.open_case(world.partner, subject="Just asked", priority=CasePriority.LOW)
    with time_machine.travel("2026-12-01 12:00Z", tick=False):
        client = login(world.support.user)
        queue = client.get(reverse("support:queue"))
        table = element(body_text(queue), "queue-table")
        assert f'id="case-{late.pk}" class="table-danger"' in table and "Breached" in table
        assert f'id="case-{fine.pk}" class=""' in table
        breached_only = element(
            body_text(client.get(reverse("support:queue"), {"breached": "on"})), "queue-table"
        )
        assert "Nobody answered" in breached_only and "Just asked" not in breached_only
        report = body_text(client.get(reverse("support:report")))
        assert 'id="total-breached">1<' in report


def test_the_home_pages_show_open_cases(world: Any) -> None:
    case = s.open_case(world.partner, subject="Need pricing advice", kind_key=CaseKind.BUSINESS_CONSULTING)
    services.case_reply(actor=world.support, case=case, body="Which region?")
    home = body_text(login(world.team.admin).get(reverse("home")))
    assert 'id="support-panel"' in home and "Need pricing advice" in home
    assert "Answer 1 support case waiting for you" in home
    dashboard = body_text(login(world.cam.user).get(reverse("vendor:dashboard")))
    assert 'id="support-panel"' in dashboard


# --- bounded queries -------------------------------------------------------------------------------
def _grow(world: Any, n: int) -> None:
    for i in range(n):
        case = s.open_case(world.partner, subject=f"Probe case {i:03d}", files=[s.pdf(f"probe-{i}.pdf")])
        services.case_assign(actor=world.support, case=case, assignee=world.cam.user)


def test_the_queue_runs_the_same_queries_for_1_and_50_cases(world: Any) -> None:
    _grow(world, 1)
    assert_constant_queries(
        login(world.support.user),
        reverse("support:queue"),
        lambda: _grow(world, 49),
        rows=lambda response: response.context["page"].paginator.count,
        shows=lambda: [c.subject for c in SupportCase.objects.all()],
        small=1,
        large=50,
        within="queue-table",
    )


def test_the_partners_case_list_runs_the_same_queries_for_1_and_50_cases(world: Any) -> None:
    _grow(world, 1)
    assert_constant_queries(
        login(factories.partner_user(world.team.partner, role=PartnerRole.SALES)),
        reverse("support:case_list"),
        lambda: _grow(world, 49),
        rows=lambda response: response.context["page"].paginator.count,
        shows=lambda: [c.subject for c in SupportCase.objects.all()],
        small=1,
        large=50,
        within="case-table",
    )


def test_a_case_page_runs_the_same_queries_for_1_and_30_messages(world: Any) -> None:
    case = s.open_case(world.partner)

    def talk(n: int) -> None:
        for i in range(n):
            services.case_reply(
                actor=world.support, case=case, body=f"Answer {i:03d}", files=[s.pdf(f"a{i}.pdf")]
            )
            services.case_add_note(actor=world.cam, case=case, body=f"Note {i:03d}")

    talk(1)
    assert_constant_queries(
        login(world.cam.user),
        reverse("support:case_detail", args=[case.pk]),
        lambda: talk(29),
        rows=lambda response: sum(1 for e in response.context["entries"] if e.kind == "message"),
        shows=lambda: [m.body for m in case.messages.all()] + [n.body for n in case.notes.all()],
        small=1,
        large=30,
    )


def test_the_partner_360_panel_shows_one_partners_open_cases_to_those_who_work_them(
    world: Any, rf: Any
) -> None:
    """Ready for the partner 360 page's hook (another branch): one partner's open cases, breaches
    counted; nothing for a role that does not work cases."""
    import time_machine
    from django.template.loader import render_to_string

    from partners.support.panels import partner_360_panel
    from tests.scoping import acting

    other = deal_factories.team("Globex Systems")
    with time_machine.travel("2026-12-01 09:00Z", tick=False):
        s.open_case(world.partner, subject="Late complaint", priority=CasePriority.URGENT)
        s.open_case(other.admin_actor, subject="Someone else's case")
    request = rf.get("/")
    request.actor = world.support
    with time_machine.travel("2026-12-02 09:00Z", tick=False), acting(world.support):  # as the page would
        panel = partner_360_panel(request, partner=world.team.partner)
    assert (panel["open"], panel["breached"]) == (1, 1)
    html = render_to_string(panel["template"], {"panel": panel})
    assert "Late complaint" in html and "Someone else" not in html and "1 breached" in html
    request.actor = factories.vendor_actor(VendorRole.FINANCE)
    assert partner_360_panel(request, partner=world.team.partner) is None


def test_the_report_runs_the_same_queries_for_1_and_50_cases(world: Any) -> None:
    _grow(world, 1)
    assert_constant_queries(
        login(world.cam.user),
        reverse("support:report"),
        lambda: _grow(world, 49),
        rows=lambda response: response.context["report"]["totals"]["opened"],
        shows=lambda: ["Northwind Resellers", "Complaint"],
        small=1,
        large=50,
    )
