"""Type, country and region are vendor-controlled: a partner admin asks for a change, the partner's
channel account manager (or a program admin) approves or rejects it with a reason (issue 9)."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import Http404
from django.urls import reverse

from partners import selectors, services
from partners.models import (
    Partner,
    PartnerRole,
    PartnerType,
    ProfileChangeRequest,
    ProfileChangeStatus,
    Region,
)
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Scope, tenant_scope
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db

ASK = {"partner_type": PartnerType.DISTRIBUTOR, "country": "DE", "region": Region.EMEA}
WHY = "We now distribute in the DACH market from our new Berlin headquarters."


def text(response: Any) -> str:
    return response.content.decode()


def classification(partner: Partner) -> tuple[str, str, str]:
    partner.refresh_from_db()
    return partner.partner_type, partner.country.code, partner.region


ORIGINAL = (PartnerType.RESELLER, "US", Region.NORTH_AMERICA)
ASKED = (PartnerType.DISTRIBUTOR, "DE", Region.EMEA)


@pytest.fixture
def admin_actor(partner_admin: Any) -> Any:
    return factories.actor_for(partner_admin)


@pytest.fixture
def cam(partner: Partner, channel_manager: Any) -> Any:
    services.partner_assign_channel_manager(
        actor=factories.vendor_actor(), partner=partner, manager=channel_manager
    )
    return factories.actor_for(channel_manager)


@pytest.fixture
def cam_outside(other_partner: Partner) -> Any:
    """Globex's manager: Acme is not in their portfolio."""
    manager = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="olga@prm.example")
    services.partner_assign_channel_manager(
        actor=factories.vendor_actor(), partner=other_partner, manager=manager
    )
    return factories.actor_for(manager)


@pytest.fixture
def pending(partner: Partner, admin_actor: Any, cam: Any) -> ProfileChangeRequest:
    return services.profile_change_request(actor=admin_actor, partner=partner, data=ASK, message=WHY)


# --- Services -----------------------------------------------------------------------------------
def test_partner_admin_asks_and_the_channel_manager_is_notified(
    pending: ProfileChangeRequest, partner: Partner, partner_admin: Any, channel_manager: Any
) -> None:
    assert pending.status == ProfileChangeStatus.PENDING
    assert pending.requested_by == partner_admin
    assert (pending.from_partner_type, pending.from_country.code, pending.from_region) == ORIGINAL
    assert classification(partner) == ORIGINAL  # nothing changes until the vendor decides
    event = AuditEvent.objects.get(action="profile_change.requested")
    assert event.partner_id == partner.pk
    assert event.before == {"partner_type": "reseller", "country": "US", "region": "na"}
    assert event.after == {"partner_type": "distributor", "country": "DE", "region": "emea"}
    assert event.reason == WHY
    note = Notification.objects.get(recipient=channel_manager, kind="profile_change.requested")
    assert note.partner_id is None  # vendor-side data
    assert note.url.startswith(reverse("vendor:partner_detail", args=[partner.pk]))


def test_without_a_channel_manager_program_admins_are_notified(
    partner: Partner, admin_actor: Any, program_admin: Any
) -> None:
    services.profile_change_request(actor=admin_actor, partner=partner, data=ASK, message=WHY)
    assert Notification.objects.filter(recipient=program_admin, kind="profile_change.requested").exists()


def test_channel_manager_approves_and_the_change_is_applied(
    pending: ProfileChangeRequest, partner: Partner, partner_admin: Any, cam: Any
) -> None:
    services.profile_change_approve(actor=cam, change_request=pending)
    assert classification(partner) == ASKED
    pending.refresh_from_db()
    assert pending.status == ProfileChangeStatus.APPROVED
    assert pending.decided_by == cam.user and pending.decided_at is not None
    event = AuditEvent.objects.get(action="profile_change.approved")
    assert event.actor == cam.user and event.partner_id == partner.pk
    assert event.before == {"status": "pending", "partner_type": "reseller", "country": "US", "region": "na"}
    assert event.after == {
        "status": "approved",
        "partner_type": "distributor",
        "country": "DE",
        "region": "emea",
    }
    assert Notification.objects.filter(
        recipient=partner_admin, kind="profile_change.approved", partner_id=partner.pk
    ).exists()


def test_program_admin_may_decide_too(pending: ProfileChangeRequest, partner: Partner) -> None:
    services.profile_change_approve(actor=factories.vendor_actor(), change_request=pending)
    assert classification(partner) == ASKED


def test_reject_changes_nothing_and_tells_the_partner_why(
    pending: ProfileChangeRequest, partner: Partner, partner_admin: Any, cam: Any
) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        services.profile_change_reject(actor=cam, change_request=pending, reason="  ")
    assert excinfo.value.field == "reason"
    services.profile_change_reject(actor=cam, change_request=pending, reason="Distribution needs a contract.")
    assert classification(partner) == ORIGINAL
    pending.refresh_from_db()
    assert pending.status == ProfileChangeStatus.REJECTED
    assert pending.decision_reason == "Distribution needs a contract."
    event = AuditEvent.objects.get(action="profile_change.rejected")
    assert event.reason == "Distribution needs a contract."
    note = Notification.objects.get(recipient=partner_admin, kind="profile_change.rejected")
    assert note.body == "Distribution needs a contract."


def test_a_decided_request_cannot_be_decided_again(pending: ProfileChangeRequest, cam: Any) -> None:
    services.profile_change_reject(actor=cam, change_request=pending, reason="No.")
    with pytest.raises(ApplicationError) as excinfo:
        services.profile_change_approve(actor=cam, change_request=pending)
    assert "already rejected" in excinfo.value.message
    assert classification(pending.partner) == ORIGINAL


def test_channel_manager_outside_the_portfolio_gets_404_and_cannot_decide(
    pending: ProfileChangeRequest, partner: Partner, cam_outside: Any
) -> None:
    with pytest.raises(Http404):
        selectors.profile_change_get(actor=cam_outside, pk=pending.pk)
    assert list(selectors.profile_change_list(actor=cam_outside)) == []
    with pytest.raises(PermissionDenied):
        services.profile_change_approve(actor=cam_outside, change_request=pending)
    with pytest.raises(PermissionDenied):
        services.profile_change_reject(actor=cam_outside, change_request=pending, reason="Because")
    assert classification(partner) == ORIGINAL
    pending.refresh_from_db()
    assert pending.status == ProfileChangeStatus.PENDING


@pytest.mark.parametrize("who", ["partner_admin", "finance", "content"])
def test_partners_and_other_vendor_roles_cannot_decide(
    pending: ProfileChangeRequest, partner: Partner, admin_actor: Any, who: str
) -> None:
    actor = {
        "partner_admin": admin_actor,
        "finance": factories.vendor_actor(VendorRole.FINANCE),
        "content": factories.vendor_actor(VendorRole.CONTENT_MANAGER),
    }[who]
    with pytest.raises(PermissionDenied):
        services.profile_change_approve(actor=actor, change_request=pending)
    with pytest.raises(PermissionDenied):
        services.profile_change_reject(actor=actor, change_request=pending, reason="x")
    assert classification(partner) == ORIGINAL


@pytest.mark.parametrize("role", [PartnerRole.SALES, PartnerRole.MARKETING, PartnerRole.LEARNER])
def test_only_a_partner_admin_asks(partner: Partner, role: str) -> None:
    actor = factories.actor_for(factories.partner_user(partner, role=role))
    with pytest.raises(PermissionDenied):
        services.profile_change_request(actor=actor, partner=partner, data=ASK, message=WHY)
    assert not ProfileChangeRequest.objects.filter(partner=partner).exists()


def test_one_pending_request_at_a_time(
    pending: ProfileChangeRequest, partner: Partner, admin_actor: Any
) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        services.profile_change_request(
            actor=admin_actor, partner=partner, data={**ASK, "region": Region.APAC}, message=WHY
        )
    assert "already awaiting review" in excinfo.value.message
    assert ProfileChangeRequest.objects.filter(partner=partner).count() == 1


def test_a_new_request_once_the_last_one_is_decided(
    pending: ProfileChangeRequest, partner: Partner, admin_actor: Any, cam: Any
) -> None:
    services.profile_change_reject(actor=cam, change_request=pending, reason="Not yet.")
    again = services.profile_change_request(actor=admin_actor, partner=partner, data=ASK, message=WHY)
    assert again.status == ProfileChangeStatus.PENDING
    assert selectors.company_profile_change(actor=admin_actor, partner=partner) == again


def test_a_request_must_change_something_and_say_why(partner: Partner, admin_actor: Any) -> None:
    same = {"partner_type": PartnerType.RESELLER, "country": "US", "region": Region.NORTH_AMERICA}
    with pytest.raises(ApplicationError):
        services.profile_change_request(actor=admin_actor, partner=partner, data=same, message=WHY)
    with pytest.raises(ApplicationError) as excinfo:
        services.profile_change_request(actor=admin_actor, partner=partner, data=ASK, message=" ")
    assert excinfo.value.field == "message"
    assert not ProfileChangeRequest.objects.filter(partner=partner).exists()


def test_partner_admin_cannot_change_the_fields_through_the_profile_service(
    partner: Partner, admin_actor: Any
) -> None:
    for name, value in ASK.items():
        with pytest.raises(PermissionDenied):
            services.partner_update_profile(actor=admin_actor, partner=partner, data={name: value})
    assert classification(partner) == ORIGINAL


def test_channel_manager_still_edits_them_directly(partner: Partner, cam: Any) -> None:
    services.partner_update_profile(actor=cam, partner=partner, data={"region": Region.EMEA})
    assert classification(partner)[2] == Region.EMEA


# --- Partner side pages -------------------------------------------------------------------------
def test_partner_admin_asks_from_the_company_page_and_sees_it_pending(
    partner: Partner, partner_admin: Any, cam: Any
) -> None:
    client = login(partner_admin)
    page = client.get(reverse("partners:company"))
    assert 'id="profile-change-form"' in text(page)
    assert 'id="profile-change-status"' not in text(page)  # nothing asked yet
    response = client.post(reverse("partners:company_profile_change"), {**ASK, "message": WHY}, follow=True)
    assert response.status_code == 200
    page = text(response)
    assert "Your request was sent to the vendor. You will be notified of the answer." in page
    assert 'id="profile-change-status"' in page
    assert "awaiting review" in page
    assert "Distributor" in page and "Germany" in page
    assert 'id="profile-change-form"' not in page  # one pending at a time
    assert classification(partner) == ORIGINAL


def test_invalid_request_shows_errors_and_saves_nothing(partner: Partner, partner_admin: Any) -> None:
    response = login(partner_admin).post(
        reverse("partners:company_profile_change"), {**ASK, "region": "mars", "message": ""}
    )
    assert response.status_code == 400
    assert 'id="profile-change-form"' in text(response)
    assert "Select a valid choice." in text(response)
    assert "This field is required." in text(response)
    assert not ProfileChangeRequest.objects.filter(partner=partner).exists()


def test_same_values_show_a_clear_error(partner: Partner, partner_admin: Any) -> None:
    response = login(partner_admin).post(
        reverse("partners:company_profile_change"),
        {"partner_type": "reseller", "country": "US", "region": "na", "message": WHY},
    )
    assert response.status_code == 400
    assert "Choose a type, country or region different from the current one." in text(response)


def test_other_roles_see_the_request_but_cannot_ask(pending: ProfileChangeRequest, partner: Partner) -> None:
    sales = factories.partner_user(partner, role=PartnerRole.SALES)
    client = login(sales)
    page = text(client.get(reverse("partners:company")))
    assert 'id="profile-change-status"' in page
    assert 'id="profile-change-form"' not in page
    assert "Your partner admin can ask the vendor for a change." in page
    response = client.post(reverse("partners:company_profile_change"), {**ASK, "message": WHY})
    assert response.status_code == 404


def test_company_page_shows_the_outcome(
    pending: ProfileChangeRequest, partner: Partner, partner_admin: Any, cam: Any
) -> None:
    services.profile_change_reject(actor=cam, change_request=pending, reason="Distribution needs a contract.")
    page = text(login(partner_admin).get(reverse("partners:company")))
    assert "was not approved" in page
    assert "Distribution needs a contract." in page
    assert 'id="profile-change-form"' in page  # they may ask again


# --- Vendor side pages --------------------------------------------------------------------------
def test_channel_manager_approves_from_the_list(
    pending: ProfileChangeRequest, partner: Partner, channel_manager: Any, partner_admin: Any
) -> None:
    client = login(channel_manager)
    listing = client.get(reverse("vendor:profile_change_list"))
    assert listing.status_code == 200
    assert f'id="profile-change-{pending.pk}"' in text(listing)
    assert f'id="approve-change-{pending.pk}"' in text(listing)
    assert WHY in text(listing)
    response = client.post(reverse("vendor:profile_change_approve", args=[pending.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("vendor:profile_change_list")
    assert "type, country and region are updated" in text(response)
    assert "No change requests are waiting" in text(response)  # the empty state
    assert classification(partner) == ASKED
    page = text(login(partner_admin).get(reverse("partners:company")))
    assert "was approved" in page


def test_channel_manager_rejects_from_the_partner_page(
    pending: ProfileChangeRequest, partner: Partner, channel_manager: Any
) -> None:
    client = login(channel_manager)
    detail = text(client.get(reverse("vendor:partner_detail", args=[partner.pk])))
    assert 'id="profile-changes"' in detail
    assert f'id="reject-change-{pending.pk}"' in detail
    url = reverse("vendor:profile_change_reject", args=[pending.pk])
    response = client.post(url, {"reason": "", "from": "partner"}, follow=True)
    assert "Tell the partner why the change is rejected." in text(response)
    pending.refresh_from_db()
    assert pending.status == ProfileChangeStatus.PENDING
    response = client.post(url, {"reason": "Needs a contract.", "from": "partner"}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("vendor:partner_detail", args=[partner.pk]))
    assert "rejected; its admin was told why" in text(response)
    assert classification(partner) == ORIGINAL


def test_the_tabs_split_pending_from_decided_requests(
    pending: ProfileChangeRequest, program_admin: Any, cam: Any, other_partner: Any, other_partner_admin: Any
) -> None:
    waiting = services.profile_change_request(
        actor=factories.actor_for(other_partner_admin), partner=other_partner, data=ASK, message=WHY
    )
    services.profile_change_approve(actor=cam, change_request=pending)
    client = login(program_admin)
    decided = text(client.get(reverse("vendor:profile_change_list"), {"status": "decided"}))
    assert f'id="profile-change-{pending.pk}"' in decided
    assert f'id="approve-change-{pending.pk}"' not in decided
    assert f'id="profile-change-{waiting.pk}"' not in decided
    waiting_tab = text(client.get(reverse("vendor:profile_change_list")))
    assert f'id="profile-change-{waiting.pk}"' in waiting_tab
    assert f'id="approve-change-{waiting.pk}"' in waiting_tab
    assert f'id="profile-change-{pending.pk}"' not in waiting_tab


def test_empty_tabs_say_so(pending: ProfileChangeRequest, cam: Any) -> None:
    # The channel account manager's portfolio holds only this partner, so "empty" is this test's.
    client = login(cam.user)
    assert "No change requests here" in text(
        client.get(reverse("vendor:profile_change_list"), {"status": "decided"})
    )
    services.profile_change_approve(actor=cam, change_request=pending)
    assert "No change requests are waiting" in text(client.get(reverse("vendor:profile_change_list")))
    assert f'id="profile-change-{pending.pk}"' in text(
        client.get(reverse("vendor:profile_change_list"), {"status": "decided"})
    )


def test_finance_sees_requests_without_decision_buttons(
    pending: ProfileChangeRequest, partner: Partner
) -> None:
    client = login(factories.vendor_user(VendorRole.FINANCE))
    listing = text(client.get(reverse("vendor:profile_change_list")))
    assert f'id="profile-change-{pending.pk}"' in listing
    assert f'id="approve-change-{pending.pk}"' not in listing
    response = client.post(reverse("vendor:profile_change_approve", args=[pending.pk]), follow=True)
    assert "channel account manager or a program admin decides profile changes" in text(response)
    assert classification(partner) == ORIGINAL


def test_dashboard_counts_pending_requests(pending: ProfileChangeRequest, program_admin: Any) -> None:
    page = text(login(program_admin).get(reverse("vendor:dashboard")))
    assert 'id="pending-profile-changes">1<' in page


# --- Isolation ----------------------------------------------------------------------------------
def test_channel_manager_outside_the_portfolio_gets_404_in_the_console(
    pending: ProfileChangeRequest, partner: Partner, cam_outside: Any
) -> None:
    client = login(cam_outside.user)
    assert f'id="profile-change-{pending.pk}"' not in text(client.get(reverse("vendor:profile_change_list")))
    assert client.post(reverse("vendor:profile_change_approve", args=[pending.pk])).status_code == 404
    assert (
        client.post(reverse("vendor:profile_change_reject", args=[pending.pk]), {"reason": "x"}).status_code
        == 404
    )
    assert classification(partner) == ORIGINAL


def test_another_partner_can_neither_see_nor_act_on_the_request(
    pending: ProfileChangeRequest, partner: Partner, other_partner: Partner, other_partner_admin: Any
) -> None:
    client = login(other_partner_admin)
    page = text(client.get(reverse("partners:company")))
    assert WHY not in page and 'id="profile-change-status"' not in page
    for name in ("vendor:profile_change_approve", "vendor:profile_change_reject"):
        assert client.post(reverse(name, args=[pending.pk]), {"reason": "x"}).status_code == 404
    assert client.get(reverse("vendor:profile_change_list")).status_code == 404
    # Asking for their own company does not touch Acme's request.
    client.post(reverse("partners:company_profile_change"), {**ASK, "message": "Our own move."})
    assert classification(partner) == ORIGINAL
    assert ProfileChangeRequest.objects.get(pk=pending.pk).status == ProfileChangeStatus.PENDING
    assert ProfileChangeRequest.objects.filter(partner=other_partner).count() == 1
    actor = factories.actor_for(other_partner_admin)
    assert list(selectors.profile_change_list(actor=actor)) == list(
        ProfileChangeRequest.objects.filter(partner=other_partner)
    )


def test_row_level_security_hides_another_partners_requests(
    pending: ProfileChangeRequest, other_partner: Partner
) -> None:
    with tenant_scope(Scope.partner(other_partner.pk)):
        assert not ProfileChangeRequest.objects.filter(pk=pending.pk).exists()
    with tenant_scope(Scope.partner(pending.partner_id)):
        assert ProfileChangeRequest.objects.filter(pk=pending.pk).exists()
    with tenant_scope(None):
        assert not ProfileChangeRequest.objects.exists()
