"""The partner's funds pages through the test client: balances on the funds page, requesting funds
(one request per form however often it is posted, clear messages for bad input and never a server
error, the short-notice confirmation), claiming with proof files (the file named in every refusal),
and the vendor's utilisation and ROI report with its CSV export."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from mdf import services
from mdf.exports import REPORT_CSV_HEADER
from mdf.models import Allocation, ClaimProof, FundClaim, FundRequest, LedgerEntry, LedgerKind, RequestStatus
from prm.models import AuditEvent
from prm.tenancy import Actor
from tests.exports import exported
from tests.helpers import login
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def text_of(response: Any) -> str:
    """The page as a reader sees it: entities decoded (an apostrophe is &#x27; in the HTML)."""
    return html.unescape(response.content.decode())


def messages_of(response: Any) -> list[str]:
    return [str(message.message) for message in response.context["messages"]]


def stat(page: str, key: str, currency: str = "USD") -> str:
    match = re.search(rf'id="stat-{key}-{currency}">([^<]*)<small>', page)
    assert match, key
    return match.group(1).strip()


@dataclass
class Setup:
    team: m.Team
    admin: Actor
    finance: Actor
    allocation: Allocation
    media: Path


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    return m.media_storage(settings, tmp_path / "media")


@pytest.fixture
def setup(media: Path) -> Setup:
    admin = m.program_admin()
    team = m.team("Northwind Resellers")
    allocation = m.fund(team.partner, m.budget(), "10000.00", admin)
    return Setup(team=team, admin=admin, finance=m.finance(), allocation=allocation, media=media)


# --- the funds page -------------------------------------------------------------------------------
def test_funds_page_shows_the_balances_of_a_known_ledger(setup: Setup) -> None:
    team, admin, finance = setup.team, setup.admin, setup.finance
    mkt = team.marketing_actor
    with m.acting(admin):  # a co-op accrual from a won deal
        services.allocation_accrue(
            partner=team.partner, amount=Decimal("500"), currency="USD", on=m.today(), source="deal:test-1"
        )
    committed = m.approved(mkt, admin, title="Open briefing", requested_amount=Decimal("2000"))
    paid = m.approved(mkt, admin, title="Paid expo", requested_amount=Decimal("1500"), **m.past_dates())
    paid_claim = m.claim(mkt, paid, actual_cost=Decimal("3000"), claimed_amount=Decimal("1500"))
    payable = m.approved(
        mkt, admin, title="Payable webinar", requested_amount=Decimal("800"), **m.past_dates()
    )
    payable_claim = m.claim(mkt, payable, actual_cost=Decimal("1600"), claimed_amount=Decimal("800"))
    with m.acting(finance):
        services.claim_approve(actor=finance, claim=paid_claim, amount=Decimal("1200"))
    with m.acting(admin):  # four eyes: not the approver
        services.claim_mark_paid(actor=admin, claim=paid_claim, payment_reference="PAY-1")
    with m.acting(finance):
        services.claim_approve(actor=finance, claim=payable_claim, amount=Decimal("700"))
    m.submitted(mkt, title="Waiting summit", requested_amount=Decimal("600"))

    # allocated 10,000 + 500; committed 2,000; claimed 1,200 + 700; paid 1,200
    balances = m.balances(setup.allocation)
    assert (balances.allocated, balances.committed, balances.claimed, balances.paid, balances.available) == (
        Decimal("10500.00"),
        Decimal("2000.00"),
        Decimal("1900.00"),
        Decimal("1200.00"),
        Decimal("6600.00"),
    )

    response = login(team.marketing).get(reverse("mdf:funds"))

    assert response.status_code == 200
    page = response.content.decode()
    assert stat(page, "allocated") == "10,500.00"
    assert stat(page, "committed") == "2,000.00"
    assert stat(page, "claimed") == "1,900.00"
    assert stat(page, "paid") == "1,200.00"
    assert stat(page, "available") == "6,600.00"
    assert "700.00 still to be paid" in page
    (row,) = response.context["summary"]
    assert row == {
        "currency": "USD",
        "allocated": Decimal("10500.00"),
        "committed": Decimal("2000.00"),
        "claimed": Decimal("1900.00"),
        "paid": Decimal("1200.00"),
        "available": Decimal("6600.00"),
        "forfeited": Decimal("0.00"),
        "payable": Decimal("700.00"),
    }
    (allocation,) = response.context["allocations"]
    assert allocation.balance_available == Decimal("6600.00")
    assert response.context["charts"][0]["values"] == [6600.0, 2000.0, 700.0, 1200.0]
    counts = {value: count for value, _label, count in response.context["status_counts"]}
    assert (counts["approved"], counts["claim_approved"], counts["paid"], counts["submitted"]) == (1, 1, 1, 1)
    assert response.context["total_count"] == 4
    assert [item["request"] for item in response.context["deadlines"]] == [committed]
    assert reverse("mdf:allocation_ledger", args=[setup.allocation.pk]) in page

    ledger_page = login(team.admin).get(reverse("mdf:allocation_ledger", args=[setup.allocation.pk]))
    assert ledger_page.status_code == 200
    kinds = [entry.kind for entry, _effect in ledger_page.context["rows"]]
    assert sorted(kinds) == sorted(
        [LedgerKind.ALLOCATED, LedgerKind.ACCRUED]
        + [LedgerKind.COMMITTED] * 3
        + [LedgerKind.RELEASED] * 2
        + [LedgerKind.CLAIMED] * 2
        + [LedgerKind.PAID]
    )


def test_funds_page_without_funds_and_for_other_roles(setup: Setup) -> None:
    newcomer = m.team("Eastwind Partners")
    page = login(newcomer.marketing).get(reverse("mdf:funds"))
    assert page.status_code == 200
    assert 'id="no-funds"' in page.content.decode()
    for who in ("sales", "learner"):
        response = login(getattr(setup.team, who)).get(reverse("mdf:funds"))
        assert response.status_code == 403
        assert "mdf/no_access.html" in [t.name for t in response.templates]


# --- requesting funds -------------------------------------------------------------------------------
def form_data(**overrides: Any) -> dict[str, Any]:
    start = overrides.pop("start", m.today() + timedelta(days=30))
    data = {
        "activity_type": "webinar",
        "title": "Typed title 4711",
        "description": "Typed description for the partner audience.",
        "start_date": start.isoformat() if isinstance(start, date) else start,
        "end_date": (start + timedelta(days=1)).isoformat() if isinstance(start, date) else start,
        "total_cost": "5000.00",
        "requested_amount": "2000.00",
        "currency": "USD",
        "expected_leads": "25",
        "submission_key": str(uuid.uuid4()),
        "action": "submit",
    }
    data.update(overrides)
    return data


def test_a_double_posted_request_form_creates_one_request(setup: Setup) -> None:
    client = login(setup.team.marketing)
    blank = client.get(reverse("mdf:request_create"))
    assert blank.status_code == 200
    key = str(blank.context["form"].initial["submission_key"])
    assert f'value="{key}"' in blank.content.decode()
    data = form_data(submission_key=key)

    first = client.post(reverse("mdf:request_create"), data)
    second = client.post(reverse("mdf:request_create"), data)

    fund_request = FundRequest.objects.filter(partner=setup.team.partner).get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == reverse("mdf:request_detail", args=[fund_request.pk])
    assert fund_request.status == RequestStatus.SUBMITTED
    assert str(fund_request.submission_key) == key
    assert fund_request.requested_by == setup.team.marketing
    assert (fund_request.total_cost, fund_request.requested_amount) == (
        Decimal("5000.00"),
        Decimal("2000.00"),
    )
    assert (
        AuditEvent.objects.filter(action="mdf.request_submitted", target_id=str(fund_request.pk)).count() == 1
    )
    assert LedgerEntry.objects.filter(fund_request=fund_request).count() == 0  # nothing committed yet
    page = client.get(first["Location"])
    assert any("was submitted for approval" in message for message in messages_of(page))


def test_save_draft_then_submit_from_the_detail_page(setup: Setup) -> None:
    client = login(setup.team.marketing)
    saved = client.post(reverse("mdf:request_create"), form_data(action="save"), follow=True)
    fund_request = FundRequest.objects.filter(partner=setup.team.partner).get()
    assert fund_request.status == RequestStatus.DRAFT
    assert any("Draft" in message and fund_request.reference in message for message in messages_of(saved))
    client.post(reverse("mdf:request_submit", args=[fund_request.pk]))
    assert m.fresh(fund_request).status == RequestStatus.SUBMITTED


# (overrides of the form, the message shown, whether a draft is kept)
BAD_INPUT = {
    "end_before_start": (
        {
            "start_date": (m.today() + timedelta(days=30)).isoformat(),
            "end_date": (m.today() + timedelta(days=29)).isoformat(),
        },
        "The activity ends before it starts.",
        False,
    ),
    "over_half_the_cost": (
        {"total_cost": "1000.00", "requested_amount": "600.00"},
        "You can request at most 50% of the cost: 500.00 USD.",
        False,
    ),
    "over_available": (
        {"total_cost": "30000.00", "requested_amount": "12000.00"},
        "You request 12000.00 USD but have 10000.00 USD available.",
        True,
    ),
    "wrong_currency": ({"currency": "EUR"}, "Your funds are in USD; request in that currency.", False),
    "no_funds_for_the_period": (
        {
            "start_date": (m.today() + timedelta(days=400)).isoformat(),
            "end_date": (m.today() + timedelta(days=401)).isoformat(),
        },
        "You have no marketing funds for the period of",
        False,
    ),
    "cost_not_a_number": ({"total_cost": "lots"}, "Enter an amount, e.g. 2500.00.", False),
    "negative_amount": ({"requested_amount": "-5"}, "The amount must be more than zero.", False),
    "huge_amount": ({"total_cost": "99999999999999999999"}, "That amount is too large.", False),
    "exponent_amount": ({"total_cost": "1e400"}, "That amount is too large.", False),
    "not_a_number": ({"requested_amount": "NaN"}, "Enter an amount, e.g. 2500.00.", False),
    "three_decimals": ({"requested_amount": "10.123"}, "Use at most 2 decimals.", False),
    "bad_date": ({"start_date": "2026-02-31"}, "Enter a valid date.", False),
    "no_title": ({"title": "   "}, "Give the activity a title.", False),
    "bad_activity": ({"activity_type": "party"}, "Select a valid choice.", False),
    "negative_leads": ({"expected_leads": "-3"}, "Cannot be negative.", False),
    "bad_currency": ({"currency": "XXX"}, "Select a valid choice.", False),
    # A tampered hidden field: no server error, the form comes back.
    "bad_key": ({"submission_key": "not-a-uuid"}, "Please correct the errors below.", False),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_gives_a_clear_message_and_keeps_what_was_typed(setup: Setup, case: str) -> None:
    overrides, message, keeps_draft = BAD_INPUT[case]
    data = form_data(**overrides)
    response = login(setup.team.marketing).post(reverse("mdf:request_create"), data)

    assert response.status_code == 400, response.status_code
    page = text_of(response)
    assert message in page
    # What was typed is still in the form.
    raw_page = response.content.decode()
    assert ('value="Typed title 4711"' in raw_page) == (case != "no_title")
    assert "Typed description for the partner audience." in raw_page
    assert f'value="{data["total_cost"]}"' in raw_page or case in {"huge_amount", "exponent_amount"}
    drafts = list(FundRequest.objects.filter(partner=setup.team.partner))
    assert [draft.status for draft in drafts] == ([RequestStatus.DRAFT] if keeps_draft else [])
    told = any("saved as a draft but was not submitted" in m_ for m_ in messages_of(response))
    assert told == keeps_draft
    # The page now edits that draft: saving again does not create a second one.
    edits = [f'action="{reverse("mdf:request_edit", args=[draft.pk])}"' in raw_page for draft in drafts]
    assert edits == [True] * len(drafts)
    assert not LedgerEntry.objects.filter(partner=setup.team.partner, kind=LedgerKind.COMMITTED).exists()


def test_short_notice_asks_for_confirmation_then_submits(setup: Setup) -> None:
    client = login(setup.team.marketing)
    data = form_data(start=m.today() + timedelta(days=3))

    warned = client.post(reverse("mdf:request_create"), data)

    assert warned.status_code == 200
    page = text_of(warned)
    assert 'id="short-notice"' in page
    assert "requests should come 10 business days ahead. Confirm to submit anyway." in page
    assert 'name="confirm_short_notice" value="1"' in page
    assert 'value="Typed title 4711"' in page
    draft = FundRequest.objects.filter(partner=setup.team.partner).get()
    assert draft.status == RequestStatus.DRAFT
    assert f'action="{reverse("mdf:request_edit", args=[draft.pk])}"' in page

    confirmed = client.post(
        reverse("mdf:request_edit", args=[draft.pk]), {**data, "confirm_short_notice": "1"}, follow=True
    )

    assert confirmed.redirect_chain[-1][0] == reverse("mdf:request_detail", args=[draft.pk])
    fund_request = FundRequest.objects.filter(partner=setup.team.partner).get()
    assert fund_request.pk == draft.pk
    assert fund_request.status == RequestStatus.SUBMITTED
    assert fund_request.short_notice_confirmed is True
    assert "You confirmed the short notice." in text_of(confirmed)


def test_short_notice_from_the_detail_page(setup: Setup) -> None:
    draft = m.draft(setup.team.marketing_actor, start_date=m.today() + timedelta(days=2))
    client = login(setup.team.marketing)

    warned = client.post(reverse("mdf:request_submit", args=[draft.pk]), follow=True)

    assert 'id="short-notice"' in warned.content.decode()
    assert m.fresh(draft).status == RequestStatus.DRAFT
    client.post(reverse("mdf:request_submit", args=[draft.pk]), {"confirm_short_notice": "1"})
    assert m.fresh(draft).status == RequestStatus.SUBMITTED
    assert m.fresh(draft).short_notice_confirmed is True


@pytest.mark.parametrize(
    "params",
    [
        {"status": "bogus"},
        {"period": "abc"},
        {"period": "987654321"},
        {"activity_type": "party", "page": "x"},
        {"page": "9999"},
        {"status": "submitted", "page": "-1"},
    ],
)
def test_request_list_and_export_ignore_bad_filters(setup: Setup, params: dict) -> None:
    fund_request = m.submitted(setup.team.marketing_actor, title="Filtered summit")
    client = login(setup.team.marketing)
    listing = client.get(reverse("mdf:request_list"), params)
    assert listing.status_code == 200
    assert fund_request.reference in listing.content.decode()
    export = exported(client, reverse("mdf:request_export"), params)
    assert export.status_code == 200
    assert fund_request.reference in export.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"draft", "submitted", "approved", "later"}),
        ({"status": RequestStatus.SUBMITTED}, {"submitted", "later"}),
        ({"status": RequestStatus.APPROVED}, {"approved"}),
        ({"status": RequestStatus.DRAFT}, {"draft"}),
        ({"activity_type": "event"}, {"submitted"}),
        ({"period": "later"}, {"later"}),
        ({"period": "current", "activity_type": "webinar"}, {"draft", "approved"}),
        ({"status": RequestStatus.PAID}, set()),
    ],
)
def test_request_list_and_export_show_exactly_the_filtered_requests(
    setup: Setup, params: dict[str, str], expected: set[str]
) -> None:
    team, admin = setup.team, setup.admin
    current = setup.allocation.budget.period
    later = m.period(
        starts_on=current.ends_on + timedelta(days=1), ends_on=current.ends_on + timedelta(days=180)
    )
    m.fund(team.partner, m.budget(later), "5000.00", admin)
    mkt = team.marketing_actor
    made = {
        "draft": m.draft(mkt, title="Draft webinar", activity_type="webinar"),
        "submitted": m.submitted(mkt, title="Submitted event", activity_type="event"),
        "approved": m.approved(mkt, admin, title="Approved webinar", activity_type="webinar"),
        "later": m.submitted(
            mkt,
            title="Later webinar",
            activity_type="webinar",
            start_date=later.starts_on + timedelta(days=3),
        ),
    }
    query = dict(params)
    if "period" in params:
        query["period"] = {"current": current, "later": later}[params["period"]].pk
    client = login(team.marketing)
    listing = client.get(reverse("mdf:request_list"), query)
    assert listing.status_code == 200
    listed = {
        key for key, request in made.items() if request in listing.context["page"].paginator.object_list
    }
    assert listed == expected
    export = exported(client, reverse("mdf:request_export"), query).content.decode()
    assert {key for key, request in made.items() if request.reference in export} == expected


# --- claims -------------------------------------------------------------------------------------------
@pytest.fixture
def finished(setup: Setup) -> FundRequest:
    """An approved activity that has ended: ready to be claimed."""
    return m.approved(
        setup.team.marketing_actor, setup.admin, requested_amount=Decimal("2000"), **m.past_dates()
    )


def claim_form(*files: Any, **overrides: Any) -> dict[str, Any]:
    return {
        "actual_cost": "4200.00",
        "claimed_amount": "1800.00",
        "leads_generated": "17",
        "attendees": "90",
        "notes": "Full room.",
        "files": list(files),
        **overrides,
    }


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def assert_no_claim(setup: Setup, fund_request: FundRequest) -> None:
    assert not FundClaim.objects.exists()
    assert not ClaimProof.objects.exists()
    assert m.fresh(fund_request).status == RequestStatus.APPROVED
    assert m.stored_files(setup.media) == []


@pytest.mark.parametrize(
    "name, content",
    [
        ("minutes.pdf", b"Just some meeting minutes, typed as text.\n" * 4),
        ("invoice.pdf", m.HTML_BYTES),
        ("photo.png", b"\x89PNG\r\n\x1a\nthis is not really an image"),
    ],
    ids=["text", "html", "broken-png"],
)
def test_a_file_of_the_wrong_type_is_refused_by_name(
    setup: Setup, finished: FundRequest, name: str, content: bytes
) -> None:
    response = login(setup.team.marketing).post(
        reverse("mdf:claim_create", args=[finished.pk]),
        claim_form(upload("good-invoice.pdf", PDF), upload(name, content)),
    )

    assert response.status_code == 400
    page = text_of(response)
    assert f"{name} is not" in page  # "… is not a file type we accept" / "… is not a readable image"
    assert 'id="files-again"' in page  # the browser does not keep chosen files: say so
    assert 'value="1800.00"' in response.content.decode()  # typed values kept
    assert_no_claim(setup, finished)


def test_an_empty_file_is_refused_by_name(setup: Setup, finished: FundRequest) -> None:
    """Among several proof files, the refusal must say which one is empty. (Known bug: the form's
    FileField refuses an empty file first with "The file is empty.", naming none, so
    mdf.uploads.validate_proof's "<name> is empty." is never reached from the claim form.)"""
    response = login(setup.team.marketing).post(
        reverse("mdf:claim_create", args=[finished.pk]),
        claim_form(upload("invoice.pdf", PDF), upload("empty-scan.pdf", b"")),
    )
    assert response.status_code == 400
    assert "empty-scan.pdf is empty." in text_of(response)
    assert_no_claim(setup, finished)


def test_an_oversize_file_is_refused_by_name(setup: Setup, finished: FundRequest) -> None:
    big = PDF + b"\n%" + b"x" * 2000
    with override_settings(PRM={**settings.PRM, "UPLOAD_MAX_BYTES": 1000}):
        response = login(setup.team.marketing).post(
            reverse("mdf:claim_create", args=[finished.pk]), claim_form(upload("huge-invoice.pdf", big))
        )
    assert response.status_code == 400
    page = text_of(response)
    assert "huge-invoice.pdf is 2.0" in page
    assert "files may be at most 1000" in page
    assert_no_claim(setup, finished)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"claimed_amount": "2500.00", "actual_cost": "6000.00"},
            "You can claim at most the 2000.00 USD approved.",
        ),
        (
            {"claimed_amount": "1800.00", "actual_cost": "3000.00"},
            "You can claim at most 50% of the actual cost.",
        ),
        ({"claimed_amount": "abc"}, "Enter an amount, e.g. 2500.00."),
        ({"attendees": "-1"}, "Cannot be negative."),
    ],
)
def test_a_claim_over_the_limits_is_refused(
    setup: Setup, finished: FundRequest, overrides: dict, message: str
) -> None:
    response = login(setup.team.marketing).post(
        reverse("mdf:claim_create", args=[finished.pk]), claim_form(upload("invoice.pdf", PDF), **overrides)
    )
    assert response.status_code == 400
    assert message in text_of(response)
    assert_no_claim(setup, finished)


def test_a_claim_without_files_is_refused(setup: Setup, finished: FundRequest) -> None:
    response = login(setup.team.marketing).post(reverse("mdf:claim_create", args=[finished.pk]), claim_form())
    assert response.status_code == 400
    assert "Attach proof of performance" in text_of(response)
    assert_no_claim(setup, finished)


def test_a_valid_claim_with_two_files_makes_one_claim_with_two_proofs(
    setup: Setup, finished: FundRequest
) -> None:
    client = login(setup.team.marketing)
    form = client.get(reverse("mdf:claim_create", args=[finished.pk]))
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.content.decode()
    png = m.png("booth-photo.png")

    response = client.post(
        reverse("mdf:claim_create", args=[finished.pk]),
        claim_form(upload("invoice-0042.pdf", PDF), png),
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("mdf:request_detail", args=[finished.pk])
    claim = FundClaim.objects.filter(partner=setup.team.partner).get()
    assert claim.fund_request == finished
    assert (claim.actual_cost, claim.claimed_amount, claim.leads_generated, claim.attendees) == (
        Decimal("4200.00"),
        Decimal("1800.00"),
        17,
        90,
    )
    proofs = list(claim.proofs.order_by("pk"))
    assert [(p.original_name, p.content_type) for p in proofs] == [
        ("invoice-0042.pdf", "application/pdf"),
        ("booth-photo.png", "image/png"),
    ]
    assert len(m.stored_files(setup.media)) == 2
    assert m.fresh(finished).status == RequestStatus.CLAIM_SUBMITTED
    page = response.content.decode()
    for proof in proofs:
        assert reverse("mdf:proof_download", args=[proof.pk]) in page
    assert any("Claim for" in message and "submitted" in message for message in messages_of(response))
    # Claimed once: the form is not offered again.
    again = client.get(reverse("mdf:claim_create", args=[finished.pk]), follow=True)
    assert again.redirect_chain[-1][0] == reverse("mdf:request_detail", args=[finished.pk])
    assert FundClaim.objects.filter(partner=setup.team.partner).count() == 1


def test_the_claim_form_says_when_it_is_too_early(setup: Setup) -> None:
    upcoming = m.approved(setup.team.marketing_actor, setup.admin)
    client = login(setup.team.marketing)
    page = client.get(reverse("mdf:claim_create", args=[upcoming.pk])).content.decode()
    assert 'id="claim-not-yet"' in page
    response = client.post(
        reverse("mdf:claim_create", args=[upcoming.pk]), claim_form(upload("invoice.pdf", PDF))
    )
    assert response.status_code == 400
    assert "Claim after the activity has ended" in text_of(response)
    assert not FundClaim.objects.filter(partner=setup.team.partner).exists()


# --- the vendor report --------------------------------------------------------------------------------
@pytest.mark.parametrize("group", ["partner", "tier", "period"])
def test_vendor_report_renders_and_exports_its_sections(setup: Setup, group: str) -> None:
    mkt = setup.team.marketing_actor
    finished = m.approved(
        mkt, setup.admin, title="Report expo", requested_amount=Decimal("2000"), **m.past_dates()
    )
    claim = m.claim(mkt, finished, actual_cost=Decimal("4000"), claimed_amount=Decimal("1900"))
    with m.acting(setup.finance):
        services.claim_approve(actor=setup.finance, claim=claim, amount=Decimal("1800"))
    webinar = m.approved(mkt, setup.admin, title="Report webinar", requested_amount=Decimal("500"))
    m.submitted(mkt, title="Report draft summit", requested_amount=Decimal("300"))  # not in the ROI
    client = login(setup.admin.user)

    page = client.get(reverse("mdf:vendor_report"), {"group": group})

    assert page.status_code == 200
    content = page.content.decode()
    assert 'id="utilisation-table"' in content
    assert "Report expo" in content and "Report webinar" in content
    (row,) = page.context["rows"]
    assert (row["allocated"], row["committed"], row["claimed"], row["available"]) == (
        Decimal("10000.00"),
        Decimal("500.00"),
        Decimal("1800.00"),
        Decimal("7700.00"),
    )
    assert row["used_percent"] == Decimal("23")

    export = exported(client, reverse("mdf:vendor_report_export"), {"group": group})
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    assert export["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert list(rows[0].keys()) == REPORT_CSV_HEADER
    assert {r["section"] for r in rows} == {"utilisation", "roi"}
    (utilisation,) = [r for r in rows if r["section"] == "utilisation"]
    expected_group = {
        "partner": "Northwind Resellers",
        "tier": "Gold",
        "period": finished.allocation.budget.period.name,
    }
    assert (utilisation["group_by"], utilisation["group"]) == (group, expected_group[group])
    assert (utilisation["allocated"], utilisation["claimed"], utilisation["available"]) == (
        "10000.00",
        "1800.00",
        "7700.00",
    )
    roi = {r["reference"]: r for r in rows if r["section"] == "roi"}
    assert set(roi) == {finished.reference, webinar.reference}
    assert roi[finished.reference]["spent"] == "1800.00"  # the approved claim
    assert roi[webinar.reference]["spent"] == "500.00"  # still committed
    assert roi[finished.reference]["partner"] == "Northwind Resellers"


# --- hostile names --------------------------------------------------------------------------------------
def test_file_names_are_never_rendered_as_html(setup: Setup, finished: FundRequest) -> None:
    name = "<img src=x onerror=alert(1)>.pdf"
    client = login(setup.team.marketing)
    url = reverse("mdf:claim_create", args=[finished.pk])

    refused = client.post(url, claim_form(upload(name, b"plain text, not a PDF")))
    assert refused.status_code == 400
    assert "<img src=x" not in refused.content.decode()
    assert f"{name} is not a file type we accept" in text_of(refused)

    accepted = client.post(url, claim_form(upload(name, PDF)), follow=True)
    proof = ClaimProof.objects.filter(partner=setup.team.partner).get()
    assert proof.original_name == name
    assert "<img src=x" not in accepted.content.decode()
    assert name in text_of(accepted)
    download = client.get(reverse("mdf:proof_download", args=[proof.pk]))
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment")
    assert download["Content-Type"] == "application/pdf"
    review = login(setup.finance.user).get(reverse("admin:mdf_fundclaim_change", args=[proof.claim_id]))
    assert review.status_code == 200
    assert "<img src=x" not in review.content.decode()


def test_the_request_export_neutralises_spreadsheet_formulas(setup: Setup) -> None:
    formula = '=HYPERLINK("http://evil.example","Open")'
    m.draft(setup.team.marketing_actor, title=formula)
    export = exported(login(setup.team.marketing), reverse("mdf:request_export"))
    (row,) = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert row["title"] == "'" + formula
