"""Tenant isolation through the real request path: one partner never sees or touches another's rows.

Partner A ("Acme Networks") has an admin, a sales user, a deactivated user, an open invitation, a
logo and a pending profile change request. Partner B ("Globex Systems") has an admin, and a channel
account manager whose portfolio is B. B's admin tries every partner-side URL that takes an id with
A's ids and must get the same 404 as for an id that does not exist; A's rows are unchanged
afterwards (the table ``FOREIGN_IDS``, run by tests/isolation.py). Vendor-side scoping (a channel
account manager's portfolio) is checked the same way, in the console and in the Django admin.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from partners import services
from partners.models import (
    Invitation,
    Membership,
    Partner,
    PartnerApplication,
    PartnerRole,
    PartnerStatus,
    PartnerUserObjectPermission,
    ProfileChangeRequest,
    Tier,
)
from prm.models import AuditEvent, Notification
from prm.roles import VendorRole
from tests import factories
from tests.deals.factories import cam_for
from tests.exports import exported
from tests.helpers import login
from tests.isolation import Case, admin_cases, built_once, foreign_id_test

pytestmark = pytest.mark.django_db

MISSING_PK = 987_654_321


def png_upload(name: str = "logo.png", size: tuple[int, int] = (40, 20)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def normalised(content: bytes) -> str:
    """A page without its per-request CSRF tokens, to compare two 404 pages."""
    return re.sub(r"[A-Za-z0-9]{64}", "<token>", content.decode())


def csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@dataclass
class World:
    a: Partner
    a_admin: Any
    a_sales: Any
    a_former: Any
    a_invitation: Invitation
    b: Partner
    b_admin: Any

    @property
    def a_secrets(self) -> list[str]:
        """Strings that identify partner A's people and must never reach partner B."""
        return [
            self.a.legal_name,
            self.a_admin.email,
            self.a_admin.full_name,
            self.a_sales.email,
            self.a_sales.full_name,
            self.a_former.email,
            self.a_former.full_name,
            self.a_invitation.email,
        ]


@built_once
def world_once() -> World:
    """Built once for the module's tests (the partners and admins are tests/conftest.py's)."""
    a = factories.PartnerFactory(legal_name="Acme Networks")
    b = factories.PartnerFactory(legal_name="Globex Systems")
    return _world(
        a,
        factories.partner_user(a, email="alice@acme.example"),
        b,
        factories.partner_user(b, email="bob@globex.example"),
    )


@pytest.fixture
def world(world_once: World) -> World:
    """The module's world, as built (each test's writes are rolled back), on objects of its own."""
    return copy.deepcopy(world_once)


def _world(partner: Partner, partner_admin: Any, other_partner: Partner, other_partner_admin: Any) -> World:
    partner_admin.full_name = "Alice Acmeson"
    partner_admin.save(update_fields=["full_name"])
    other_partner_admin.full_name = "Bob Globexson"
    other_partner_admin.save(update_fields=["full_name"])
    a_actor = factories.actor_for(partner_admin)
    a_sales = factories.partner_user(
        partner, role=PartnerRole.SALES, email="sam@acme.example", full_name="Samantha Acmesales"
    )
    a_former = factories.partner_user(
        partner, role=PartnerRole.MARKETING, email="fred@acme.example", full_name="Fred Formeracme"
    )
    services.membership_deactivate(actor=a_actor, membership=a_former.membership)
    invitation = services.invitation_create(
        actor=a_actor, partner=partner, email="ivy@acme.example", role=PartnerRole.MARKETING
    )
    services.partner_set_logo(actor=a_actor, partner=partner, upload=png_upload())
    partner.refresh_from_db()
    assert partner.logo
    return World(
        a=partner,
        a_admin=partner_admin,
        a_sales=a_sales,
        a_former=a_former,
        a_invitation=invitation,
        b=other_partner,
        b_admin=other_partner_admin,
    )


def _snapshot(world: World) -> dict[str, Any]:
    invitation = Invitation.objects.get(pk=world.a_invitation.pk)
    return {
        "memberships": sorted(
            Membership.objects.filter(partner=world.a).values_list("pk", "role", "is_active")
        ),
        "users_active": sorted(
            Membership.objects.filter(partner=world.a).values_list("user__email", "user__is_active")
        ),
        "invitation": (
            invitation.expires_at,
            invitation.revoked_at,
            invitation.accepted_at,
            invitation.nonce,
        ),
        "open_invitations": Invitation.objects.filter(partner=world.a, revoked_at__isnull=True).count(),
        "partner": Partner.objects.filter(pk=world.a.pk)
        .values("legal_name", "status", "tier_id", "channel_account_manager_id", "logo")
        .get(),
    }


@dataclass
class Foreign:
    """The world, with what the vendor side works on: B's channel account manager, a manager who
    covers A (a portfolio grant), A's pending profile change and an application."""

    world: World
    b_cam: Any
    a_cover: Any
    a_change: ProfileChangeRequest
    application: PartnerApplication


@built_once
def foreign(world_once: World) -> Foreign:
    """Built once on top of the world for the cases, which run after the world's other tests."""
    world = copy.deepcopy(world_once)
    program_admin = factories.vendor_actor()
    b_cam = cam_for(world.b).user
    a_cover = cam_for().user
    services.portfolio_grant(actor=program_admin, partner=world.a, manager=a_cover)
    a_change = services.profile_change_request(
        actor=factories.actor_for(world.a_admin),
        partner=world.a,
        data={"country": "CA"},
        message="We moved our head office to Toronto.",
    )
    world.a.refresh_from_db()
    return Foreign(
        world=world,
        b_cam=b_cam,
        a_cover=a_cover,
        a_change=a_change,
        application=factories.ApplicationFactory(company_name="Initech Applicant"),
    )


def _state(foreign: Foreign) -> dict[str, Any]:
    world = foreign.world
    return {
        **_snapshot(world),
        "portfolio": sorted(
            PartnerUserObjectPermission.objects.filter(content_object=world.a).values_list(
                "user_id", flat=True
            )
        ),
        "change": ProfileChangeRequest.objects.filter(pk=foreign.a_change.pk).values().get(),
        "application": PartnerApplication.objects.filter(pk=foreign.application.pk).values().get(),
        "audit": AuditEvent.objects.filter(partner_id=world.a.pk).count(),
        "notifications": Notification.objects.count(),
    }


PEOPLE = {
    "b_admin": lambda x: x.world.b_admin,
    "b_cam": lambda x: x.b_cam,
    "a_admin": lambda x: x.world.a_admin,
    "a_sales": lambda x: x.world.a_sales,
    "program_admin": lambda x: factories.vendor_user(),
}


def _members(*who: str) -> Any:
    return lambda x, _asker: [
        {"admin": x.world.a_admin, "sales": x.world.a_sales, "former": x.world.a_former}[w].membership
        for w in who
    ]


def _a(x: Foreign, _asker: str) -> list[Partner]:
    return [x.world.a]


def _top_tier(x: Foreign, _target: Any) -> dict[str, Any]:
    return {"tier": Tier.objects.order_by("-rank").first().pk, "reason": "Great quarter"}


def _team_cases(headers: dict[str, str], label: str) -> list[Case]:
    """What a partner admin does to another's people, by a plain form or by htmx."""
    invitation = lambda x, _asker: [x.world.a_invitation]  # noqa: E731
    common = {"who": ("b_admin",), "headers": headers}
    return [
        Case(
            "partners:member_role",
            ("POST",),
            targets=_members("admin"),
            data={"role": PartnerRole.SALES},
            label=f"{label} admin to sales",
            **common,
        ),
        Case(
            "partners:member_role",
            ("POST",),
            targets=_members("sales"),
            data={"role": PartnerRole.ADMIN},
            label=f"{label} sales to admin",
            **common,
        ),
        Case(
            "partners:member_deactivate", ("POST",), targets=_members("sales", "admin"), label=label, **common
        ),
        Case("partners:member_reactivate", ("POST",), targets=_members("former"), label=label, **common),
        Case("partners:invitation_resend", ("POST",), targets=invitation, label=label, **common),
        Case("partners:invitation_revoke", ("POST",), targets=invitation, label=label, **common),
    ]


FOREIGN_IDS: list[Case] = [
    Case("partners:partner_logo", ("GET", "POST"), ("b_admin",), _a, absent=("PNG",), controls=("a_admin",)),
    *_team_cases({}, "plain"),
    *_team_cases({"HX-Request": "true"}, "htmx"),
    # The vendor console: a partner user reaches none of it; B's manager nothing of A.
    Case("vendor:partner_detail", ("GET", "POST"), ("b_cam", "b_admin"), _a, controls=("program_admin",)),
    # The partner 360 page: vendor staff only, a channel account manager the portfolio only.
    Case("vendor:partner_360", ("GET",), ("b_cam", "b_admin"), _a, controls=("program_admin",)),
    Case(
        "vendor:partner_change_status",
        ("POST",),
        ("b_cam", "b_admin"),
        _a,
        data={"action": "suspend", "reason": "Unpaid invoices"},
        label="suspend",
    ),
    Case(
        "vendor:partner_change_status",
        ("POST",),
        ("b_cam",),
        _a,
        data={"action": "terminate", "reason": "Breach"},
        label="terminate",
    ),
    Case("vendor:partner_change_tier", ("POST",), ("b_cam", "b_admin"), _a, data=_top_tier),
    Case(
        "vendor:partner_assign_manager",
        ("POST",),
        ("b_cam", "b_admin"),
        _a,
        data=lambda x, _target: {"channel_account_manager": x.b_cam.pk},
    ),
    Case(
        "vendor:partner_portfolio_grant",
        ("POST",),
        ("b_cam", "b_admin"),
        _a,
        data=lambda x, _target: {"manager": x.b_cam.pk},
    ),
    Case(
        "vendor:partner_portfolio_revoke",
        ("POST",),
        ("b_cam", "b_admin"),
        lambda x, _asker: [{"pk": x.world.a, "user_pk": x.a_cover}],
        args=("pk", "user_pk"),
        keep=("user_pk",),
    ),
    Case(
        "vendor:profile_change_approve",
        ("POST",),
        ("b_cam", "b_admin", "a_admin"),
        lambda x, _asker: [x.a_change],
    ),
    Case(
        "vendor:profile_change_reject",
        ("POST",),
        ("b_cam", "b_admin", "a_admin"),
        lambda x, _asker: [x.a_change],
        data={"reason": "Not so"},
    ),
    # Applications are the vendor's: no partner user reaches them (their own company's included).
    Case(
        "vendor:application_detail",
        ("GET", "POST"),
        ("b_admin", "a_admin"),
        lambda x, _asker: [x.application],
        controls=("b_cam",),
    ),
    Case("vendor:application_approve", ("POST",), ("b_admin", "a_admin"), lambda x, _asker: [x.application]),
    Case(
        "vendor:application_reject",
        ("POST",),
        ("b_admin", "a_admin"),
        lambda x, _asker: [x.application],
        data={"reason": "no"},
    ),
    # The Django admin.
    *admin_cases("partners.partner", _a, outsiders=("b_cam",), partners=("b_admin",)),
    *admin_cases(
        "partners.membership",
        _members("admin", "sales", "former"),
        outsiders=("b_cam",),
        partners=("b_admin",),
    ),
    *admin_cases(
        "partners.invitation",
        lambda x, _asker: [x.world.a_invitation],
        outsiders=("b_cam",),
        partners=("b_admin",),
    ),
    *admin_cases(
        "prm.auditevent",
        lambda x, _asker: AuditEvent.objects.filter(partner_id=x.world.a.pk)[:3],
        outsiders=("b_cam",),
        partners=("b_admin",),
    ),
]


test_foreign_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    FOREIGN_IDS,
    world="foreign",
    people=PEOPLE,
    secrets=lambda x, _who: [*x.world.a_secrets, x.a_change.message, "Initech Applicant"],
    state=_state,
)


# --- Partner side: B's admin with A's ids -----------------------------------------------------
def test_partner_a_admin_reaches_own_logo_control(world: World) -> None:
    """Positive control: the URL works for the owner, so B's 404 below means something."""
    response = login(world.a_admin).get(reverse("partners:partner_logo", args=[world.a.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_a_admin_can_act_on_own_ids_control(world: World) -> None:
    """Positive control for the POST URLs above: for the owner they change state."""
    client = login(world.a_admin)
    response = client.post(
        reverse("partners:member_role", args=[world.a_sales.membership.pk]), {"role": PartnerRole.MARKETING}
    )
    assert response.status_code == 302
    assert Membership.objects.get(pk=world.a_sales.membership.pk).role == PartnerRole.MARKETING
    response = client.post(reverse("partners:invitation_revoke", args=[world.a_invitation.pk]))
    assert response.status_code == 302
    assert Invitation.objects.get(pk=world.a_invitation.pk).revoked_at is not None


def test_other_partner_team_page_and_export_show_nothing_of_a(world: World) -> None:
    client = login(world.b_admin)
    team = client.get(reverse("partners:team"))
    assert team.status_code == 200
    page = team.content.decode()
    assert world.b_admin.email in page
    for secret in world.a_secrets:
        assert secret not in page

    export = exported(client, reverse("partners:team_export"))
    assert export.status_code == 200
    rows = csv_rows(export)
    assert rows[0] == ["name", "email", "role", "active", "joined"]
    assert [row[1] for row in rows[1:]] == [world.b_admin.email]
    text = export.content.decode()
    for secret in world.a_secrets:
        assert secret not in text


def test_other_partner_home_does_not_mention_a(world: World) -> None:
    response = login(world.b_admin).get(reverse("home"))
    assert response.status_code == 200
    page = response.content.decode()
    assert world.b.legal_name in page
    for secret in world.a_secrets:
        assert secret not in page


def test_notifications_page_shows_only_own(world: World) -> None:
    Notification.objects.create(
        recipient=world.a_admin, partner_id=world.a.pk, kind="test", title="Acme secret pipeline review"
    )
    Notification.objects.create(
        recipient=world.b_admin, partner_id=world.b.pk, kind="test", title="Globex quarterly kickoff"
    )
    client = login(world.b_admin)
    page = client.get(reverse("notifications")).content.decode()
    assert "Globex quarterly kickoff" in page
    assert "Acme secret pipeline review" not in page
    foreign = Notification.objects.get(recipient=world.a_admin)
    assert client.get(reverse("notification_open", args=[foreign.pk])).status_code == 404
    Notification.objects.filter(pk=foreign.pk).update(read_at=None)
    client.post(reverse("notifications_read_all"))
    assert Notification.objects.get(pk=foreign.pk).read_at is None
    assert Notification.objects.get(recipient=world.b_admin).read_at is not None


def test_anonymous_gets_no_logo(world: World) -> None:
    response = Client().get(reverse("partners:partner_logo", args=[world.a.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize(
    "url_name", ["partners:team", "partners:company", "partners:team_export", "notifications"]
)
def test_anonymous_redirected_to_login_on_partner_pages(world: World, url_name: str) -> None:
    url = reverse(url_name)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert f"next={url}" in response["Location"]


@pytest.mark.parametrize(
    ("url_name", "needs_pk"),
    [("partners:team_invite", False), ("partners:member_deactivate", True), ("partners:company_logo", False)],
)
def test_anonymous_posts_are_redirected_to_login(world: World, url_name: str, needs_pk: bool) -> None:
    before = _snapshot(world)
    args = [world.a_sales.membership.pk] if needs_pk else []
    response = Client().post(reverse(url_name, args=args), {"email": "mallory@evil.example", "role": "admin"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert _snapshot(world) == before


# --- Vendor side ------------------------------------------------------------------------------
VENDOR_GETS = [
    ("vendor:dashboard", False),
    ("vendor:partner_list", False),
    ("vendor:partner_export", False),
    ("vendor:partner_detail", True),
    ("vendor:application_list", False),
    ("vendor:application_detail", "app"),
]
VENDOR_POSTS = [
    ("vendor:partner_change_status", {"action": "suspend", "reason": "x"}),
    ("vendor:partner_change_tier", {"tier": "top"}),
    ("vendor:partner_assign_manager", {"channel_account_manager": ""}),
    ("vendor:application_approve", {}),
    ("vendor:application_reject", {"reason": "no"}),
]


@pytest.mark.parametrize(("url_name", "arg"), VENDOR_GETS)
def test_partner_user_gets_404_on_vendor_pages(world: World, url_name: str, arg: Any) -> None:
    application = factories.ApplicationFactory(company_name="Initech Applicant")
    args = [] if not arg else [application.pk] if arg == "app" else [world.a.pk]
    response = login(world.b_admin).get(reverse(url_name, args=args))
    assert response.status_code == 404
    assert "Initech Applicant" not in response.content.decode()
    assert world.a.legal_name not in response.content.decode()


@pytest.mark.parametrize(("url_name", "data"), VENDOR_POSTS)
def test_partner_user_cannot_post_vendor_actions(world: World, url_name: str, data: dict) -> None:
    application = factories.ApplicationFactory()
    top_tier = Tier.objects.order_by("-rank").first()
    data = {key: (top_tier.pk if value == "top" else value) for key, value in data.items()}
    pk = application.pk if url_name.startswith("vendor:application") else world.b.pk
    before = _snapshot(world)
    b_before = Partner.objects.filter(pk=world.b.pk).values("status", "tier_id").get()
    response = login(world.b_admin).post(reverse(url_name, args=[pk]), data)
    assert response.status_code == 404
    assert _snapshot(world) == before
    assert Partner.objects.filter(pk=world.b.pk).values("status", "tier_id").get() == b_before
    application.refresh_from_db()
    assert application.status == "submitted"
    assert application.partner_id is None


@pytest.fixture
def portfolio(world: World, channel_manager: Any) -> Any:
    """The CAM works partner B only."""
    services.partner_assign_channel_manager(
        actor=factories.vendor_actor(), partner=world.b, manager=channel_manager
    )
    return channel_manager


def test_cam_sees_portfolio_partner_detail_but_404_outside(world: World, portfolio: Any) -> None:
    client = login(portfolio)
    own = client.get(reverse("vendor:partner_detail", args=[world.b.pk]))
    assert own.status_code == 200
    assert world.b.legal_name in own.content.decode()
    foreign = client.get(reverse("vendor:partner_detail", args=[world.a.pk]))
    missing = client.get(reverse("vendor:partner_detail", args=[MISSING_PK]))
    assert foreign.status_code == 404
    assert missing.status_code == 404
    assert normalised(foreign.content) == normalised(missing.content)


def test_cam_partner_list_and_export_show_only_portfolio(world: World, portfolio: Any) -> None:
    client = login(portfolio)
    listing = client.get(reverse("vendor:partner_list"))
    assert listing.status_code == 200
    assert [p.pk for p in listing.context["page"].object_list] == [world.b.pk]
    page = listing.content.decode()
    assert world.b.legal_name in page
    assert world.a.legal_name not in page

    # Even a filter or a search aimed at A returns nothing.
    searched = client.get(reverse("vendor:partner_list"), {"q": "Acme"})
    assert list(searched.context["page"].object_list) == []
    assert world.a.legal_name not in searched.content.decode()

    export = exported(client, reverse("vendor:partner_export"))
    assert export.status_code == 200
    rows = csv_rows(export)
    assert rows[0][:2] == ["id", "legal_name"]
    assert [row[1] for row in rows[1:]] == [world.b.legal_name]
    assert world.a.legal_name not in export.content.decode()


def test_cam_dashboard_counts_only_portfolio(world: World, portfolio: Any) -> None:
    response = login(portfolio).get(reverse("vendor:dashboard"))
    assert response.status_code == 200
    assert response.context["total"] == 1


def test_cam_can_change_status_inside_portfolio_control(world: World, portfolio: Any) -> None:
    response = login(portfolio).post(
        reverse("vendor:partner_change_status", args=[world.b.pk]),
        {"action": "suspend", "reason": "Unpaid invoices"},
    )
    assert response.status_code == 302
    assert Partner.objects.get(pk=world.b.pk).status == PartnerStatus.SUSPENDED


def test_cam_admin_partner_changelist_shows_only_portfolio(world: World, portfolio: Any) -> None:
    client = login(portfolio)
    response = client.get("/admin/partners/partner/")
    assert response.status_code == 200
    page = response.content.decode()
    assert world.b.legal_name in page
    assert world.a.legal_name not in page
    assert [p.pk for p in response.context["cl"].result_list] == [world.b.pk]
    # The change page of a partner outside the portfolio is not reachable either.
    change = client.get(f"/admin/partners/partner/{world.a.pk}/change/")
    assert change.status_code != 200
    assert world.a.legal_name not in change.content.decode()


@pytest.mark.parametrize("model", ["membership", "invitation"])
def test_cam_admin_people_changelists_show_only_portfolio(world: World, portfolio: Any, model: str) -> None:
    factories.partner_user(world.b, role=PartnerRole.SALES, email="gina@globex.example")
    services.invitation_create(
        actor=factories.actor_for(world.b_admin),
        partner=world.b,
        email="gus@globex.example",
        role=PartnerRole.SALES,
    )
    response = login(portfolio).get(f"/admin/partners/{model}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert {"membership": world.b_admin.full_name, "invitation": "gus@globex.example"}[model] in page
    assert {row.partner_id for row in response.context["cl"].result_list} == {world.b.pk}
    for secret in world.a_secrets:
        assert secret not in page


def test_cam_admin_has_no_audit_trail_table(world: World, portfolio: Any) -> None:
    """The audit trail is a kernel table, not a CAM's to work on (a partner's history is on its
    own pages): the admin refuses it with the portal's 403 page. A's audit events (logo change,
    invitation, deactivation) carry A's name and people: none of them on that page either."""
    response = login(portfolio).get("/admin/prm/auditevent/")
    assert response.status_code == 403
    page = response.content.decode()
    for secret in world.a_secrets:
        assert secret not in page


def test_program_admin_sees_both_partners_control(world: World, program_admin: Any) -> None:
    client = login(program_admin)
    listing = client.get(reverse("vendor:partner_list"))
    assert {p.pk for p in listing.context["page"].object_list} >= {world.a.pk, world.b.pk}
    admin_list = client.get("/admin/partners/partner/")
    assert world.a.legal_name in admin_list.content.decode()
    assert world.b.legal_name in admin_list.content.decode()


def test_finance_user_sees_no_portfolio_restriction_but_cannot_change_status(world: World) -> None:
    finance = factories.vendor_user(VendorRole.FINANCE, email="fin@prm.example")
    client = login(finance)
    assert client.get(reverse("vendor:partner_detail", args=[world.a.pk])).status_code == 200
    response = client.post(
        reverse("vendor:partner_change_status", args=[world.a.pk]),
        {"action": "suspend", "reason": "x"},
        follow=True,
    )
    assert response.status_code == 200
    assert Partner.objects.get(pk=world.a.pk).status == PartnerStatus.ACTIVE
