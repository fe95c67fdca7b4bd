"""Portfolios (a channel account manager's ``work_partner`` object permission) change only through
the program-admin services, audited: django-guardian's object-permission pages are not reachable
from the admin, for any vendor role, and their old addresses answer 404, never 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from partners import selectors, services
from partners.models import Partner, PartnerUserObjectPermission
from partners.policies import PORTFOLIO_PERMISSION
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db


def holders(partner: Partner) -> set[str]:
    return set(
        PartnerUserObjectPermission.objects.filter(
            content_object=partner, permission__codename=PORTFOLIO_PERMISSION
        ).values_list("user__email", flat=True)
    )


@pytest.fixture
def program_actor(program_admin: Any) -> Any:
    return factories.actor_for(program_admin)


@pytest.fixture
def carl(partner: Partner, program_actor: Any, channel_manager: Any) -> Any:
    """Acme's channel account manager."""
    services.partner_assign_channel_manager(actor=program_actor, partner=partner, manager=channel_manager)
    return channel_manager


@pytest.fixture
def dora(other_partner: Partner, program_actor: Any) -> Any:
    """Another portfolio's channel account manager (Globex)."""
    manager = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="dora@prm.example")
    services.partner_assign_channel_manager(actor=program_actor, partner=other_partner, manager=manager)
    return manager


# --- The finding: guardian's pages in the admin ------------------------------------------------
def test_cam_cannot_grant_another_manager_rights_through_the_admin(
    partner: Partner, carl: Any, dora: Any
) -> None:
    """Issue 9: a CAM posted guardian's user-manage form and another portfolio's CAM got in."""
    url = f"/admin/partners/partner/{partner.pk}/permissions/user-manage/{dora.pk}/"
    client = login(carl)
    response = client.post(url, {"permissions": [PORTFOLIO_PERMISSION, "change_partner"]}, follow=True)
    assert response.status_code == 404
    assert client.get(f"/admin/partners/partner/{partner.pk}/permissions/", follow=True).status_code == 404
    assert holders(partner) == {carl.email}
    assert not PartnerUserObjectPermission.objects.filter(user=dora, content_object=partner).exists()
    # And so Dora still cannot open Acme anywhere.
    dora_client = login(dora)
    assert dora_client.get(reverse("vendor:partner_detail", args=[partner.pk])).status_code == 404
    assert dora_client.get(f"/admin/partners/partner/{partner.pk}/change/", follow=True).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "{pk}/permissions/",
        "{pk}/permissions/user-manage/{user}/",
        "{pk}/permissions/group-manage/1/",
        "abc/permissions/",
        "{pk}/permissions/user-manage/xyz/",
        "{pk}/permissions/group-manage/not-a-number/",
        "abc/permissions/user-manage/xyz/",
    ],
)
@pytest.mark.parametrize("who", ["program_admin", "cam"])
def test_old_object_permission_addresses_answer_404_never_500(
    partner: Partner, carl: Any, dora: Any, program_admin: Any, path: str, who: str
) -> None:
    user = {"program_admin": program_admin, "cam": carl}[who]
    url = "/admin/partners/partner/" + path.format(pk=partner.pk, user=dora.pk)
    client = login(user)
    assert client.get(url, follow=True).status_code == 404
    assert client.post(url, {"permissions": [PORTFOLIO_PERMISSION]}, follow=True).status_code == 404
    assert holders(partner) == {carl.email}


def test_admin_change_page_offers_no_object_permissions_button(partner: Partner, program_admin: Any) -> None:
    response = login(program_admin).get(f"/admin/partners/partner/{partner.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "/permissions/" not in page
    assert "Object permissions" not in page


def test_admin_change_page_shows_the_portfolio_read_only(
    partner: Partner, carl: Any, program_admin: Any
) -> None:
    response = login(program_admin).get(f"/admin/partners/partner/{partner.pk}/change/")
    assert carl.email in response.content.decode()


# --- Services: grant and revoke, program admins only, audited ----------------------------------
def test_program_admin_grants_and_revokes_a_portfolio_with_audit(
    partner: Partner, program_actor: Any, carl: Any, dora: Any
) -> None:
    services.portfolio_grant(actor=program_actor, partner=partner, manager=dora)
    assert holders(partner) == {carl.email, dora.email}
    event = AuditEvent.objects.filter(action="partner.portfolio_granted").get()
    assert event.partner_id == partner.pk
    assert event.actor == program_actor.user
    assert event.before == {"portfolio": carl.email}
    assert event.after == {"portfolio": ", ".join(sorted([carl.email, dora.email]))}
    assert Notification.objects.filter(recipient=dora, kind="portfolio.added").count() == 2  # Globex, Acme

    services.portfolio_revoke(actor=program_actor, partner=partner, manager=dora)
    assert holders(partner) == {carl.email}
    event = AuditEvent.objects.filter(action="partner.portfolio_revoked").get()
    assert event.before == {"portfolio": ", ".join(sorted([carl.email, dora.email]))}
    assert event.after == {"portfolio": carl.email}
    # The manager of record is unchanged by a second holder coming and going.
    partner.refresh_from_db()
    assert partner.channel_account_manager == carl


def test_granting_twice_changes_nothing(partner: Partner, program_actor: Any, carl: Any, dora: Any) -> None:
    services.portfolio_grant(actor=program_actor, partner=partner, manager=dora)
    services.portfolio_grant(actor=program_actor, partner=partner, manager=dora)
    assert AuditEvent.objects.filter(action="partner.portfolio_granted").count() == 1


@pytest.mark.parametrize("who", ["cam", "finance", "content", "partner_admin"])
def test_only_program_admins_grant_or_revoke(
    partner: Partner, partner_admin: Any, carl: Any, dora: Any, who: str
) -> None:
    actor = {
        "cam": factories.actor_for(carl),
        "finance": factories.vendor_actor(VendorRole.FINANCE),
        "content": factories.vendor_actor(VendorRole.CONTENT_MANAGER),
        "partner_admin": factories.actor_for(partner_admin),
    }[who]
    with pytest.raises(PermissionDenied):
        services.portfolio_grant(actor=actor, partner=partner, manager=dora)
    with pytest.raises(PermissionDenied):
        services.portfolio_revoke(actor=actor, partner=partner, manager=carl)
    assert holders(partner) == {carl.email}
    assert not AuditEvent.objects.filter(action__startswith="partner.portfolio_").exists()


def test_only_channel_account_managers_hold_portfolios(
    partner: Partner, program_actor: Any, partner_admin: Any
) -> None:
    for user in (factories.vendor_user(VendorRole.FINANCE), partner_admin):
        with pytest.raises(ApplicationError):
            services.portfolio_grant(actor=program_actor, partner=partner, manager=user)
    assert holders(partner) == set()


def test_manager_of_record_is_not_revoked_behind_the_assignment(
    partner: Partner, program_actor: Any, carl: Any
) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        services.portfolio_revoke(actor=program_actor, partner=partner, manager=carl)
    assert "manager" in excinfo.value.message
    assert holders(partner) == {carl.email}


def test_portfolio_holders_selector_is_vendor_only(
    partner: Partner, partner_admin: Any, program_actor: Any, carl: Any
) -> None:
    assert [user.email for user in selectors.portfolio_holders(actor=program_actor, partner=partner)] == [
        carl.email
    ]
    assert list(selectors.portfolio_holders(actor=factories.actor_for(partner_admin), partner=partner)) == []


# --- The console page that calls them ----------------------------------------------------------
def test_program_admin_grants_and_revokes_through_the_console(
    partner: Partner, program_admin: Any, carl: Any, dora: Any
) -> None:
    client = login(program_admin)
    detail = client.get(reverse("vendor:partner_detail", args=[partner.pk]))
    page = detail.content.decode()
    assert 'id="portfolio-card"' in page
    assert carl.email in page
    response = client.post(
        reverse("vendor:partner_portfolio_grant", args=[partner.pk]), {"manager": dora.pk}, follow=True
    )
    assert response.status_code == 200
    assert holders(partner) == {carl.email, dora.email}
    assert f"{dora.full_name or dora.email} can now work {partner.legal_name}." in response.content.decode()
    assert login(dora).get(reverse("vendor:partner_detail", args=[partner.pk])).status_code == 200

    response = client.post(
        reverse("vendor:partner_portfolio_revoke", args=[partner.pk, dora.pk]), follow=True
    )
    assert response.status_code == 200
    assert holders(partner) == {carl.email}
    assert (
        AuditEvent.objects.filter(
            action__in=["partner.portfolio_granted", "partner.portfolio_revoked"], actor=program_admin
        ).count()
        == 2
    )
    # Revoking the manager of record is refused with a message, not a 500.
    response = client.post(
        reverse("vendor:partner_portfolio_revoke", args=[partner.pk, carl.pk]), follow=True
    )
    assert response.status_code == 200
    assert "assign another channel account manager first" in response.content.decode()
    assert holders(partner) == {carl.email}


def test_cam_cannot_use_the_console_portfolio_actions(
    partner: Partner, other_partner: Partner, carl: Any, dora: Any
) -> None:
    client = login(carl)
    page = client.get(reverse("vendor:partner_detail", args=[partner.pk])).content.decode()
    assert 'id="portfolio-grant-form"' not in page
    response = client.post(
        reverse("vendor:partner_portfolio_grant", args=[partner.pk]), {"manager": dora.pk}, follow=True
    )
    assert response.status_code == 200  # a message, as for every refused console action
    assert holders(partner) == {carl.email}
    # Outside the portfolio the partner does not exist for Carl.
    assert (
        client.post(
            reverse("vendor:partner_portfolio_grant", args=[other_partner.pk]), {"manager": carl.pk}
        ).status_code
        == 404
    )
    assert (
        client.post(reverse("vendor:partner_portfolio_revoke", args=[other_partner.pk, dora.pk])).status_code
        == 404
    )
    assert holders(other_partner) == {dora.email}
