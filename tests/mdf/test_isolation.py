"""Tenant isolation of marketing funds through the real request path.

Partner A ("Northwind Resellers") has an allocation and fund requests in several statuses (a
draft, a submitted, a returned, a rejected and an approved request, and a finished activity with a
claim carrying two proof files, a PDF and a PNG, and an attributed deal). Partner B ("Southwind
Systems") has its own allocation and requests. B's admin and marketing users, and A's own sales
and learner users (who do not work funds), request every funds and incentives URL that takes an id
with A's ids: the answer is the same 404 as for an id that does not exist, and nothing of A's
changes. Lists, exports and ledgers show nothing of A. Proof files are served only by the
policy-checked download view, as attachments with the detected type, never from a media URL. On
the vendor side a channel account manager without A in the portfolio sees nothing of A, and
partner users reach neither the vendor report nor the admin.
"""

from __future__ import annotations

import copy
import csv
import io
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from PIL import Image

from incentives import services as incentive_services
from incentives.models import MdfAttribution
from mdf import services
from mdf.models import Allocation, ClaimProof, FundClaim, FundRequest, LedgerEntry, RequestStatus
from prm.models import AuditEvent, Notification
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as deal_f
from tests.exports import exported, get_or_export
from tests.helpers import login
from tests.isolation import PARTNERS_OUT_OF_THE_ADMIN, Case, admin_cases, built_once, foreign_id_test
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db

MISSING_PK = 987_654_321
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (12, 9), (20, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = png_bytes()


# --- helpers ------------------------------------------------------------------------------------
def normalised(content: bytes) -> str:
    """A page without its per-request CSRF tokens, to compare two 404 pages."""
    return re.sub(r"[A-Za-z0-9]{64}", "<token>", content.decode())


def raw(response: Any) -> bytes:
    """The response body; a streamed one (a file download) is read to the end once, which also
    closes the file."""
    if getattr(response, "streaming", False):
        if not hasattr(response, "read_body"):
            response.read_body = b"".join(response.streaming_content)
        return response.read_body
    return response.content


def body(response: Any) -> str:
    return raw(response).decode(errors="replace")


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response))))


def money(amount: Decimal) -> list[str]:
    """How an amount appears on a page ("2,232.22") and in a CSV file ("2232.22")."""
    return [f"{amount:,.2f}", f"{amount:.2f}"]


def references_in(text: str) -> set[str]:
    return set(re.findall(r"MDF-\d{6}", text))


# --- the world ----------------------------------------------------------------------------------
@dataclass
class Side:
    team: m.Team
    allocation: Allocation
    requests: dict[str, FundRequest]
    claim: FundClaim | None = None
    proofs: tuple[ClaimProof, ...] = ()
    attribution: MdfAttribution | None = None
    deal: Any = None
    secret_strings: tuple[str, ...] = ()

    @property
    def partner(self) -> Any:
        return self.team.partner

    def user(self, who: str) -> Any:
        return getattr(self.team, who)

    @property
    def secrets(self) -> list[str]:
        """Strings that identify this partner's funds and must never reach another partner."""
        values = [self.partner.legal_name, *self.secret_strings]
        for fund_request in self.requests.values():
            values += [fund_request.reference, fund_request.title, fund_request.description]
            values += money(fund_request.requested_amount) + money(fund_request.total_cost)
            if fund_request.approved_amount:
                values += money(fund_request.approved_amount)
            if fund_request.decision_comment:
                values.append(fund_request.decision_comment)
        if self.claim is not None:
            values += money(self.claim.claimed_amount) + money(self.claim.actual_cost) + [self.claim.notes]
        for proof in self.proofs:
            values += [proof.original_name, proof.file.name]
        if self.deal is not None:
            values += [self.deal.reference, self.deal.customer_name]
        for user in (self.team.admin, self.team.marketing, self.team.sales, self.team.learner):
            values.append(user.email)
        return values


@dataclass
class World:
    a: Side
    b: Side
    admin: Actor
    media: Path
    a_cam: Any = None  # the managers (the ``foreign`` fixture)
    b_cam: Any = None


def _request(actor: Actor, title: str, requested: str, cost: str, **dates: Any) -> FundRequest:
    return m.draft(
        actor,
        title=title,
        description=f"{title}: the private plan of this activity.",
        requested_amount=Decimal(requested),
        total_cost=Decimal(cost),
        **dates,
    )


@built_once
def world_once() -> Iterator[World]:
    """Built once for the module's tests, with its files in a folder of its own."""
    with tempfile.TemporaryDirectory() as root:
        media = Path(root) / "media"
        with override_settings(STORAGES=factories.storages_at(media)):
            yield _world(media)


@pytest.fixture
def world(world_once: World) -> World:
    """The module's world, as built (each test's writes are rolled back), on objects of its own."""
    return copy.deepcopy(world_once)


def _world(media: Path) -> World:
    admin = m.program_admin()
    fund_budget = m.budget(amount="500000.00")
    a = m.team("Northwind Resellers", tier="Gold")
    b = m.team("Southwind Systems", tier="Silver")
    allocation_a = m.fund(a.partner, fund_budget, "23456.78", admin)
    allocation_b = m.fund(b.partner, fund_budget, "20000.00", admin)

    mkt = a.marketing_actor
    draft = _request(mkt, "Quasar draft webinar", "1111.17", "3000.00")
    submitted = m.submit(mkt, _request(mkt, "Quasar submitted summit", "2222.29", "5000.00"))
    returned = m.submit(mkt, _request(mkt, "Quasar returned campaign", "1333.31", "3000.00"))
    rejected = m.submit(mkt, _request(mkt, "Quasar rejected billboard", "1444.43", "3000.00"))
    with m.acting(admin):
        services.request_return(actor=admin, fund_request=returned, reason="Add the Quasar landing page.")
        services.request_reject(actor=admin, fund_request=rejected, reason="Quasar billboards are out.")
    approved = m.approve(
        admin, m.submit(mkt, _request(mkt, "Quasar approved briefing", "3333.41", "7000.00")), "3100.43"
    )
    finished = m.approve(
        admin,
        m.submit(mkt, _request(mkt, "Quasar claimed expo", "4444.53", "9000.00", **m.past_dates())),
    )
    claim = m.claim(
        mkt,
        finished,
        files=[
            SimpleUploadedFile("quasar-invoice.pdf", PDF, content_type="application/pdf"),
            SimpleUploadedFile("quasar-booth.png", PNG, content_type="image/png"),
        ],
        actual_cost=Decimal("8300.61"),
        claimed_amount=Decimal("4100.59"),
        notes="The Quasar booth drew a crowd.",
    )
    product = deal_f.product("Quasar Firewall", price="100.00")
    deal = deal_f.approved(
        a.sales_actor,
        admin,
        customer="Quasar Customer Corp",
        domain="quasarcustomer.example",
        lines=[deal_f.line(product, 1, "100.00")],
    )
    with m.acting(a.admin_actor):
        attribution = incentive_services.attribute_deal(actor=a.admin_actor, deal=deal, fund_request=finished)

    b_submitted = m.submit(
        b.marketing_actor, _request(b.marketing_actor, "Southwind partner day", "1500.00", "4000.00")
    )
    b_approved = m.approve(
        admin, m.submit(b.admin_actor, _request(b.admin_actor, "Southwind webinar", "1800.00", "4000.00"))
    )
    requests_a = {
        "draft": draft,
        "submitted": submitted,
        "returned": returned,
        "rejected": rejected,
        "approved": approved,
        "claimed": finished,
    }
    side_a = Side(
        team=a,
        allocation=allocation_a,
        requests={kind: m.fresh(r) for kind, r in requests_a.items()},
        claim=FundClaim.objects.get(pk=claim.pk),
        proofs=tuple(ClaimProof.objects.filter(claim=claim).order_by("pk")),
        attribution=attribution,
        deal=deal,
        secret_strings=("23,456.78", "23456.78"),
    )
    side_b = Side(
        team=b,
        allocation=allocation_b,
        requests={"submitted": m.fresh(b_submitted), "approved": m.fresh(b_approved)},
    )
    assert [r.status for r in side_a.requests.values()] == [
        RequestStatus.DRAFT,
        RequestStatus.SUBMITTED,
        RequestStatus.RETURNED,
        RequestStatus.REJECTED,
        RequestStatus.APPROVED,
        RequestStatus.CLAIM_SUBMITTED,
    ]
    assert len(side_a.proofs) == 2
    return World(a=side_a, b=side_b, admin=admin, media=media)


def state_of(world: World, side: Side) -> dict[str, Any]:
    """Everything a request by somebody else must leave untouched."""
    partner = side.partner
    return {
        "requests": list(FundRequest.objects.filter(partner=partner).order_by("pk").values()),
        "claims": list(FundClaim.objects.filter(partner=partner).order_by("pk").values()),
        "proofs": list(ClaimProof.objects.filter(partner=partner).order_by("pk").values()),
        "ledger": list(LedgerEntry.objects.filter(partner=partner).order_by("pk").values()),
        "attributions": list(MdfAttribution.objects.filter(partner=partner).order_by("pk").values()),
        "balances": m.balances(side.allocation),
        "audit": AuditEvent.objects.filter(partner_id=partner.pk).count(),
        "notifications": Notification.objects.filter(partner_id=partner.pk).count(),
        "files": m.stored_files(world.media),
    }


def everything() -> dict[str, int]:
    return {
        "requests": FundRequest.objects.count(),
        "claims": FundClaim.objects.count(),
        "proofs": ClaimProof.objects.count(),
        "ledger": LedgerEntry.objects.count(),
        "attributions": MdfAttribution.objects.count(),
    }


# --- every URL that takes an id -----------------------------------------------------------------
def edit_data() -> dict[str, Any]:
    """A complete, valid request form: if a foreign id were accepted, this would overwrite it."""
    start = m.today() + timedelta(days=40)
    return {
        "activity_type": "event",
        "title": "Hijacked activity",
        "description": "Hijack",
        "start_date": start.isoformat(),
        "end_date": start.isoformat(),
        "total_cost": "100.00",
        "requested_amount": "50.00",
        "currency": "USD",
        "expected_leads": "1",
        "action": "submit",
        "confirm_short_notice": "1",
    }


def claim_post() -> dict[str, Any]:
    return {
        "actual_cost": "9000.00",
        "claimed_amount": "10.00",
        "leads_generated": "1",
        "attendees": "1",
        "notes": "Hijacked claim",
        "files": [SimpleUploadedFile("hijack.pdf", PDF, content_type="application/pdf")],
    }


# (url name, method, which of A's ids, the data that would work for the owner)
ID_URLS: list[tuple[str, str, str, Any]] = [
    ("mdf:request_detail", "get", "request", None),
    ("mdf:request_edit", "get", "request", None),
    ("mdf:request_edit", "post", "request", "edit"),
    ("mdf:request_submit", "post", "request", {"confirm_short_notice": "1"}),
    ("mdf:claim_create", "get", "request", None),
    ("mdf:claim_create", "post", "request", "claim"),
    ("mdf:allocation_ledger", "get", "allocation", None),
    ("mdf:proof_download", "get", "proof", None),
    ("incentives:attribute_deal", "post", "request", "attribute"),
    ("incentives:detach_deal", "post", "attribution", {}),
]


def ids_of(side: Side, kind: str) -> list[int]:
    return {
        "request": [r.pk for r in side.requests.values()],
        "allocation": [side.allocation.pk],
        "proof": [p.pk for p in side.proofs],
        "attribution": [side.attribution.pk] if side.attribution else [],
    }[kind]


def call(client: Client, method: str, url: str, data: Any, world: World) -> Any:
    if data == "edit":
        data = edit_data()
    elif data == "claim":
        data = claim_post()
    elif data == "attribute":
        data = {"deal": world.a.deal.pk}
    response = client.get(url) if method == "get" else client.post(url, data or {})
    raw(response)
    return response


# (side, role): B's funds users, and A's people who do not work funds.
INTRUDERS = {
    "b_admin": ("b", "admin"),
    "b_marketing": ("b", "marketing"),
    "a_sales": ("a", "sales"),
    "a_learner": ("a", "learner"),
}


def _ids(kind: str) -> Any:
    """A's rows of one kind, as a case's targets."""
    model = {
        "request": FundRequest,
        "allocation": Allocation,
        "proof": ClaimProof,
        "attribution": MdfAttribution,
        "claim": FundClaim,
        "ledger": LedgerEntry,
    }[kind]
    if kind in {"claim", "ledger"}:
        return lambda world, _who: list(model.objects.filter(partner=world.a.partner).order_by("pk")[:2])
    return lambda world, _who: list(model.objects.filter(pk__in=ids_of(world.a, kind)).order_by("pk"))


def _data(spec: Any) -> Any:
    """An ID_URLS body as a case's data, built afresh for each request (an upload is read once)."""

    def build(world: World, _target: Any) -> Any:
        if spec == "edit":
            return edit_data()
        if spec == "claim":
            return claim_post()
        if spec == "attribute":
            return {"deal": world.a.deal.pk}
        return spec

    return build


NO_FILE = ("%PDF", "PNG")
PORTAL_CASES = [
    Case(url_name, methods, tuple(INTRUDERS), _ids(kind), data=_data(data), absent=absent)
    for url_name, methods, kind, data, absent in [
        ("mdf:request_detail", ("GET", "POST"), "request", None, ()),
        ("mdf:request_edit", ("GET", "POST"), "request", "edit", ()),
        ("mdf:request_submit", ("POST",), "request", {"confirm_short_notice": "1"}, ()),
        ("mdf:claim_create", ("GET", "POST"), "request", "claim", ()),
        ("mdf:allocation_ledger", ("GET", "POST"), "allocation", None, ()),
        ("mdf:proof_download", ("GET", "POST"), "proof", None, NO_FILE),
        ("incentives:attribute_deal", ("POST",), "request", "attribute", ()),
        ("incentives:detach_deal", ("POST",), "attribution", None, ()),
    ]
] + [
    # Proof files: a channel account manager without A in the portfolio gets the same 404.
    Case(
        "mdf:proof_download",
        ("GET", "POST"),
        ("b_cam",),
        _ids("proof"),
        absent=NO_FILE,
        label="manager",
        controls=("a_cam",),
    ),
]

# The admin: B's manager (outside A's portfolio) and a partner user.
NO_CLAIM_DECISIONS = (
    "a channel account manager takes no claim decision on any claim (finance does): the same 403 for every id"
)
# mdf.admin.common.DecisionAdminMixin: the change form of requests, claims and allocations is
# read-only for everybody (decisions go through the services), so a POST to it is refused first.
READ_ONLY_FORM = {"change POST": "the change form saves nothing for anybody: the same 403 for every id"}
ADMIN_CASES = [
    *admin_cases(
        "mdf.fundrequest",
        _ids("request"),
        outsiders=("b_cam",),
        partners=("b_admin",),
        refused=READ_ONLY_FORM,
    ),
    *admin_cases(
        "mdf.fundclaim", _ids("claim"), outsiders=("b_cam",), partners=("b_admin",), refused=READ_ONLY_FORM
    ),
    *admin_cases(
        "mdf.allocation",
        _ids("allocation"),
        outsiders=("b_cam",),
        partners=("b_admin",),
        refused=READ_ONLY_FORM,
    ),
    *admin_cases("mdf.ledgerentry", _ids("ledger"), outsiders=("b_cam",), partners=("b_admin",)),
]
for model, kind, actions, why in [
    ("fundrequest", "request", ("approve_selected", "return_selected", "reject_selected"), ""),
    ("fundclaim", "claim", ("approve_claims", "reject_claims", "mark_paid"), NO_CLAIM_DECISIONS),
    (
        "allocation",
        "allocation",
        ("allocate_funds",),
        "a channel account manager allocates no funds (program admins and finance do): the same 403 for "
        "every id",
    ),
]:
    for action in actions:
        common = {"args": ("object_id",), "extra": {"action": action}}
        ADMIN_CASES += [
            Case(
                f"admin:mdf_{model}_decide",
                ("GET", "POST"),
                ("b_cam",),
                _ids(kind),
                status=403 if why else 404,
                why=why,
                label="outsider",
                **common,
            ),
            Case(
                f"admin:mdf_{model}_decide",
                ("GET", "POST"),
                ("b_admin",),
                _ids(kind),
                status=302,
                redirect_to="admin:login",
                why=PARTNERS_OUT_OF_THE_ADMIN,
                label="partner",
                **common,
            ),
        ]


@built_once
def foreign(world_once: World) -> World:
    """The world with A's channel account manager and B's (an outsider to A), built once on top
    of it for the cases, which run after the world's other tests."""
    world = copy.deepcopy(world_once)
    world.a_cam = m.cam_for(world.a.partner).user
    world.b_cam = m.cam_for(world.b.partner).user
    return world


def _person(world: World, who: str) -> Any:
    if who.endswith("_cam"):
        return getattr(world, who)
    side, role = INTRUDERS[who] if who in INTRUDERS else who.split("_")
    return getattr(world, side).user(role)


PEOPLE = {
    who: (lambda name: lambda world: _person(world, name))(who)
    for who in [*INTRUDERS, "a_admin", "a_cam", "b_cam"]
}

test_foreign_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    PORTAL_CASES + ADMIN_CASES,
    world="foreign",
    people=PEOPLE,
    secrets=lambda world, _who: world.a.secrets,
    state=lambda world: (state_of(world, world.a), state_of(world, world.b), everything()),
    # Nothing was queued for later either (a flashed message naming A's request).
    follow=lambda world, who: "mdf:funds" if who.startswith("b_") and who != "b_cam" else None,
)


def test_the_owner_reaches_every_url_control(world: World) -> None:
    """Positive control: for A's own funds users the same requests are not 404, so the 404s above
    mean something."""
    admin = login(world.a.team.admin)
    for url_name, method, kind, data in ID_URLS:
        if method == "post":
            continue
        for pk in ids_of(world.a, kind):
            response = call(admin, method, reverse(url_name, args=[pk]), data, world)
            assert response.status_code in {200, 302}, (url_name, pk, response)
    marketing = login(world.a.team.marketing)
    draft = world.a.requests["draft"]
    response = marketing.post(reverse("mdf:request_edit", args=[draft.pk]), edit_data())
    assert response.status_code == 302
    assert m.fresh(draft).title == "Hijacked activity"  # the same POST works for its owner
    detach = admin.post(reverse("incentives:detach_deal", args=[world.a.attribution.pk]))
    assert detach.status_code == 302
    assert not MdfAttribution.objects.filter(pk=world.a.attribution.pk).exists()


def test_guessing_proof_ids_finds_nothing(world: World) -> None:
    ids = [proof.pk for proof in world.a.proofs]
    # Ids start at 1: on a new database the first proofs have the smallest ids there are.
    guesses = range(max(1, min(ids) - 5), max(ids) + 6)
    for who in ("admin", "marketing"):
        client = login(world.b.user(who))
        answers = {pk: client.get(reverse("mdf:proof_download", args=[pk])) for pk in guesses}
        assert {pk: r.status_code for pk, r in answers.items()} == dict.fromkeys(guesses, 404), who
        for response in answers.values():
            assert response.get("Content-Disposition") is None
            # The files' own signatures: a bare "PNG" can occur by chance in the 404 page's random
            # tokens (CSRF, CSP nonce), which made this test fail one run in a few dozen.
            assert b"%PDF-" not in raw(response) and b"\x89PNG\r\n" not in raw(response)


def test_anonymous_users_are_sent_to_sign_in(world: World) -> None:
    client = Client()
    login_url = reverse(settings.LOGIN_URL)
    urls = [
        (method, reverse(url_name, args=[pk]))
        for url_name, method, kind, _data in ID_URLS
        for pk in ids_of(world.a, kind)
    ]
    urls += [
        ("get", reverse(name))
        for name in (
            "mdf:funds",
            "mdf:request_list",
            "mdf:request_export",
            "mdf:request_create",
            "mdf:vendor_report",
            "mdf:vendor_report_export",
        )
    ]
    for method, url in urls:
        response = client.get(url) if method == "get" else client.post(url, {})
        assert response.status_code == 302, (method, url, response.status_code)
        assert response["Location"].startswith(login_url), (url, response["Location"])
        page = body(response)
        assert [s for s in world.a.secrets if s in page] == [], url


# --- lists, exports and ledgers -----------------------------------------------------------------
@pytest.mark.parametrize("who", ["admin", "marketing"])
def test_lists_exports_and_ledgers_show_nothing_of_the_other_partner(world: World, who: str) -> None:
    client = login(world.b.user(who))
    views = [
        ("mdf:funds", [], {}),
        ("mdf:request_list", [], {}),
        ("mdf:request_list", [], {"status": "approved"}),
        ("mdf:request_list", [], {"status": "claim_submitted"}),
        ("mdf:request_list", [], {"period": world.a.allocation.budget.period_id}),
        ("mdf:request_export", [], {}),
        ("mdf:request_export", [], {"status": "submitted"}),
        ("mdf:request_create", [], {}),
        ("mdf:allocation_ledger", [world.b.allocation.pk], {}),
        *[("mdf:request_detail", [r.pk], {}) for r in world.b.requests.values()],
        ("notifications", [], {}),
    ]
    problems = []
    for url_name, args, params in views:
        where = f"{url_name} {args} {params}"
        response = get_or_export(client, reverse(url_name, args=args), params)
        assert response.status_code == 200, where
        text = body(response)
        problems += [f"{where}: shows {secret!r}" for secret in world.a.secrets if secret in text]
        if url_name in {"mdf:request_list", "mdf:request_export"}:
            expected = {
                r.reference for r in world.b.requests.values() if params.get("status") in {None, r.status}
            }
            assert references_in(text) == expected, where
    assert problems == []

    funds = client.get(reverse("mdf:funds"))
    assert [row["allocated"] for row in funds.context["summary"]] == [Decimal("20000.00")]
    assert [a.pk for a in funds.context["allocations"]] == [world.b.allocation.pk]
    assert funds.context["total_count"] == 2
    export = csv_rows(exported(client, reverse("mdf:request_export")))
    assert sorted(row[0] for row in export[1:]) == sorted(r.reference for r in world.b.requests.values())
    ledger = client.get(reverse("mdf:allocation_ledger", args=[world.b.allocation.pk]))
    entries = [entry for entry, _effect in ledger.context["rows"]]
    assert entries and {entry.partner_id for entry in entries} == {world.b.partner.pk}


def test_the_owner_sees_their_rows_in_the_same_lists_control(world: World) -> None:
    client = login(world.a.team.marketing)
    export = csv_rows(exported(client, reverse("mdf:request_export")))
    assert sorted(row[0] for row in export[1:]) == sorted(r.reference for r in world.a.requests.values())
    detail = client.get(reverse("mdf:request_detail", args=[world.a.requests["claimed"].pk]))
    page = detail.content.decode()
    for proof in world.a.proofs:
        assert reverse("mdf:proof_download", args=[proof.pk]) in page
        assert proof.original_name in page
    funds = client.get(reverse("mdf:funds")).content.decode()
    assert "23,456.78" in funds


# --- proof files --------------------------------------------------------------------------------
@pytest.mark.parametrize("index, content_type, content", [(0, "application/pdf", PDF), (1, "image/png", PNG)])
def test_the_owner_downloads_a_proof_as_an_attachment(
    world: World, index: int, content_type: str, content: bytes
) -> None:
    proof = world.a.proofs[index]
    for user in (world.a.team.marketing, world.a.team.admin):
        response = login(user).get(reverse("mdf:proof_download", args=[proof.pk]))
        assert response.status_code == 200
        assert response["Content-Type"] == content_type
        assert "html" not in response["Content-Type"]
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment"), disposition
        assert proof.original_name in disposition
        assert response["X-Content-Type-Options"] == "nosniff"
        policy = response["Content-Security-Policy"]
        assert "sandbox" in policy and "default-src 'none'" in policy
        assert "no-store" in response["Cache-Control"]
        assert raw(response) == content


def test_proofs_are_stored_under_the_partner_with_a_random_name(world: World) -> None:
    prefix = f"partners/{world.a.partner.pk}/"
    names = []
    for proof, extension in zip(world.a.proofs, ("pdf", "png"), strict=True):
        name = proof.file.name
        names.append(name)
        assert name.startswith(prefix), name
        assert re.fullmatch(
            rf"{re.escape(prefix)}mdf/claims/{proof.claim_id}/[0-9a-f]{{32}}\.{extension}", name
        )
        assert "quasar" not in name  # not the uploaded name
        assert proof.original_name not in name
        assert (world.media / name).is_file()
    assert names[0] != names[1]
    stored = {(world.media / name).read_bytes() for name in names}
    assert stored == {PDF, PNG}


def test_the_storage_has_no_public_url(world: World) -> None:
    proof = world.a.proofs[0]
    owner = login(world.a.team.marketing)
    candidates = [
        settings.MEDIA_URL + proof.file.name,
        proof.file.url,
        "/media/" + proof.file.name,
        "/" + proof.file.name,
        "/static/" + proof.file.name,
    ]
    for url in candidates:
        for client in (owner, Client()):
            response = client.get(url)
            assert response.status_code == 404, (url, response.status_code)
            assert PDF not in raw(response)


def test_a_proof_stored_with_a_foreign_type_is_served_as_an_opaque_download(world: World) -> None:
    """Defence in depth: even a row claiming text/html (e.g. written by an older version) is never
    served as HTML."""
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    proof = ClaimProof(
        claim=world.a.claim,
        partner=world.a.partner,
        original_name="invoice.html",
        content_type="text/html",
        size=len(html),
        uploaded_by=world.a.team.marketing,
    )
    proof.file.save("legacy.html", ContentFile(html), save=True)
    response = login(world.a.team.marketing).get(reverse("mdf:proof_download", args=[proof.pk]))
    assert response.status_code == 200
    assert raw(response) == html  # the bytes as stored, but never as a page
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize("who", ["sales", "learner"])
def test_colleagues_without_funds_roles_cannot_download_proofs(world: World, who: str) -> None:
    client = login(world.a.user(who))
    missing = client.get(reverse("mdf:proof_download", args=[MISSING_PK]))
    assert missing.status_code == 404
    for proof in world.a.proofs:
        response = client.get(reverse("mdf:proof_download", args=[proof.pk]))
        assert response.status_code == 404
        assert normalised(raw(response)) == normalised(raw(missing))


# --- vendor side --------------------------------------------------------------------------------
def test_a_channel_manager_without_the_partner_sees_nothing_of_it(world: World) -> None:
    cam = m.cam_for(world.b.partner)
    client = login(cam.user)
    problems = []

    # Proof files: the same 404 as a missing id.
    missing = client.get(reverse("mdf:proof_download", args=[MISSING_PK]))
    assert missing.status_code == 404
    for proof in world.a.proofs:
        response = client.get(reverse("mdf:proof_download", args=[proof.pk]))
        if response.status_code != 404 or normalised(raw(response)) != normalised(raw(missing)):
            problems.append(f"proof {proof.pk}: {response.status_code}")

    # The admin change view and decision pages answer exactly as for a request that does not
    # exist: a 404 (partners.admin.ScopedAdminMixin replaces Django's redirect to the index).
    def admin_answer(url_name: str, pk: int, *extra: str) -> tuple[Any, Any, list[str], str]:
        response = client.get(reverse(url_name, args=[pk, *extra]), follow=True)
        first = response.redirect_chain[0] if response.redirect_chain else (None, response.status_code)
        context = response.context or {}
        found = [str(msg.message).replace(str(pk), "<id>") for msg in context.get("messages", [])]
        return first[1], first[0], found, body(response)

    for url_name, extra in (
        ("admin:mdf_fundrequest_change", ()),
        ("admin:mdf_fundrequest_decide", ("approve_selected",)),
        ("admin:mdf_fundrequest_decide", ("reject_selected",)),
    ):
        expected = admin_answer(url_name, MISSING_PK, *extra)
        assert expected[:3] == (404, None, []), (url_name, expected[:3])
        for fund_request in world.a.requests.values():
            status, location, found, page = admin_answer(url_name, fund_request.pk, *extra)
            if (status, location, found) != expected[:3]:
                problems.append(f"{url_name} {fund_request.reference}: {status} {location} {found}")
            problems += [f"{url_name}: shows {s!r}" for s in world.a.secrets if s in page]

    # Lists and reports.
    for url_name, params in (
        ("admin:mdf_fundrequest_changelist", {}),
        ("admin:mdf_fundrequest_changelist", {"q": world.a.requests["submitted"].reference}),
        ("admin:mdf_allocation_changelist", {}),
        ("admin:mdf_ledgerentry_changelist", {}),
        ("mdf:vendor_report", {}),
        ("mdf:vendor_report", {"group": "tier"}),
        ("mdf:vendor_report", {"group": "period"}),
        ("mdf:vendor_report_export", {}),
    ):
        response = get_or_export(client, reverse(url_name), params)
        assert response.status_code == 200, url_name
        text = body(response)
        for echoed in params.values():  # the search box and filter links repeat the query
            text = text.replace(str(echoed), "")
        problems += [f"{url_name} {params}: shows {s!r}" for s in world.a.secrets if s in text]
    assert problems == []

    # The CAM's own partner is there (control).
    report = client.get(reverse("mdf:vendor_report"))
    assert "Southwind Systems" in report.content.decode()
    (roi_panel,) = report.context["panels"]  # contributed by incentives
    assert {row["request"].partner_id for row in roi_panel["roi"]} == {world.b.partner.pk}
    assert [row["group"] for row in report.context["rows"]] == ["Southwind Systems"]
    changelist = client.get(reverse("admin:mdf_fundrequest_changelist"))
    assert {r.partner_id for r in changelist.context["cl"].result_list} == {world.b.partner.pk}


def test_vendor_staff_who_see_the_partner_download_its_proofs_control(world: World) -> None:
    for user in (
        m.cam_for(world.a.partner).user,
        factories.vendor_user(VendorRole.FINANCE),
        factories.vendor_user(VendorRole.PROGRAM_ADMIN),
    ):
        response = login(user).get(reverse("mdf:proof_download", args=[world.a.proofs[0].pk]))
        assert response.status_code == 200, user.vendor_role
        assert raw(response) == PDF


@pytest.mark.parametrize("who", [("a", "admin"), ("a", "marketing"), ("b", "admin"), ("b", "marketing")])
def test_partner_users_reach_neither_the_vendor_report_nor_the_admin(world: World, who: tuple) -> None:
    side, role = who
    client = login(getattr(world, side).user(role))
    for name in ("mdf:vendor_report", "mdf:vendor_report_export"):
        response = get_or_export(client, reverse(name))
        assert response.status_code == 404, name
        assert "Southwind" not in body(response) and "Northwind" not in body(response)
    fund_request = world.a.requests["submitted"]
    claim = world.a.claim
    for url in (
        reverse("admin:index"),
        reverse("admin:mdf_fundrequest_changelist"),
        reverse("admin:mdf_fundrequest_change", args=[fund_request.pk]),
        reverse("admin:mdf_fundrequest_decide", args=[fund_request.pk, "approve_selected"]),
        reverse("admin:mdf_fundclaim_changelist"),
        reverse("admin:mdf_fundclaim_change", args=[claim.pk]),
        reverse("admin:mdf_allocation_changelist"),
        reverse("admin:mdf_ledgerentry_changelist"),
    ):
        response = client.get(url, follow=True)
        # At most a detour through the admin's sign-in page, which refuses a partner user.
        assert response.status_code in {403, 404}, (url, response.status_code, response.redirect_chain)
        assert all(hop.startswith(reverse("admin:login")) for hop, _code in response.redirect_chain), url
        page = body(response)
        assert [s for s in world.a.secrets if s in page] == [], url
    # A forged admin action changes nothing.
    before = state_of(world, world.a)
    client.post(
        reverse("admin:mdf_fundrequest_changelist"),
        {
            "action": "approve_selected",
            "_selected_action": [fund_request.pk],
            "post": "yes",
            f"amount-{fund_request.pk}": "10",
        },
    )
    assert state_of(world, world.a) == before


# --- ids inside forms -----------------------------------------------------------------------------
def test_replaying_another_partners_submission_key_reveals_nothing(world: World) -> None:
    """The create form's submission key makes a double click create one request. Replayed by
    another partner it must neither hand out nor change the request it belongs to."""
    key = "6f1c3a52-8a9e-4b8f-9a57-3b0d1c2e4f60"
    form = {**edit_data(), "submission_key": key, "action": "save"}
    mine = login(world.a.team.marketing).post(
        reverse("mdf:request_create"),
        {
            **form,
            "title": "Quasar keyed launch",
            "description": "Quasar keyed plan",
            "total_cost": "155.57",
            "requested_amount": "77.77",
        },
    )
    assert mine.status_code == 302
    keyed = FundRequest.objects.get(submission_key=key)
    world.a.requests["keyed"] = keyed
    before, totals = state_of(world, world.a), everything()

    response = login(world.b.team.marketing).post(
        reverse("mdf:request_create"), {**form, "title": "Southwind copy"}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "This form was already used" in page
    assert [s for s in world.a.secrets if s in page] == []
    assert key not in page  # a fresh key is issued
    assert 'value="Southwind copy"' in page  # what B typed is kept
    assert state_of(world, world.a) == before
    assert everything() == totals


def test_another_partners_deal_cannot_be_attributed(world: World) -> None:
    """B's admin offers A's deal id for B's own approved activity: refused, nothing linked."""
    b_request = world.b.requests["approved"]
    before, totals = state_of(world, world.a), everything()
    response = login(world.b.team.admin).post(
        reverse("incentives:attribute_deal", args=[b_request.pk]), {"deal": world.a.deal.pk}, follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Choose one of your approved or won deals" in page
    assert world.a.deal.reference not in page and world.a.deal.customer_name not in page
    assert not MdfAttribution.objects.filter(fund_request=b_request).exists()
    assert state_of(world, world.a) == before
    assert everything() == totals
