"""Partner services: every write is a checked transition, audited, with side effects after commit."""

from __future__ import annotations

import io
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import get_perms
from PIL import Image

from partners import services
from partners.models import (
    PARTNER_TRANSITIONS,
    ApplicationStatus,
    Invitation,
    Membership,
    Partner,
    PartnerApplication,
    PartnerRole,
    PartnerStatus,
    PartnerUserObjectPermission,
)
from prm import audit
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import ANONYMOUS, tenant_scope
from tests import factories

pytestmark = pytest.mark.django_db

User = get_user_model()
STRONG_PASSWORD = "violet-harbour-lantern-42"


# --- helpers -------------------------------------------------------------------------------------
def _only_application_error(excinfo: pytest.ExceptionInfo) -> ApplicationError:
    """An error the user caused, not a permission problem (PermissionDenied subclasses it)."""
    assert type(excinfo.value) is ApplicationError, f"expected ApplicationError, got {type(excinfo.value)!r}"
    return excinfo.value


def _history(target: Any) -> list[AuditEvent]:
    return list(audit.history_for(target=target))


def _actions(target: Any) -> list[str]:
    return sorted(event.action for event in audit.history_for(target=target))


def _png(name: str = "logo.png", size: tuple[int, int] = (48, 32), noise: bool = False) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    if noise:
        image = Image.frombytes("L", size, os.urandom(size[0] * size[1]))
    else:
        image = Image.new("RGB", size, (200, 30, 30))
    image.save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def media_root(settings: Any, tmp_path: Path) -> Path:
    """Logos go to a private temporary directory for the test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "base_url": "/media-not-served/"},
        },
    }
    return tmp_path


@pytest.fixture
def admin_actor(partner_admin: Any) -> Any:
    return factories.actor_for(partner_admin)


@pytest.fixture
def program_actor(program_admin: Any) -> Any:
    return factories.actor_for(program_admin)


@pytest.fixture
def sales_user(partner: Partner) -> Any:
    return factories.partner_user(partner, role=PartnerRole.SALES, email="sam.sales@acme.example")


@pytest.fixture
def finance_actor(db: Any) -> Any:
    return factories.actor_for(factories.vendor_user(VendorRole.FINANCE, email="fiona@prm.example"))


@pytest.fixture
def cam_in_portfolio(partner: Partner, program_actor: Any, channel_manager: Any) -> Any:
    services.partner_assign_channel_manager(actor=program_actor, partner=partner, manager=channel_manager)
    return factories.actor_for(channel_manager)


@pytest.fixture
def cam_outside(db: Any) -> Any:
    return factories.actor_for(
        factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="outsider.cam@prm.example")
    )


# --- Partner status transitions ------------------------------------------------------------------
PRO, ONB, ACT, SUS, TER = (
    PartnerStatus.PROSPECT,
    PartnerStatus.ONBOARDING,
    PartnerStatus.ACTIVE,
    PartnerStatus.SUSPENDED,
    PartnerStatus.TERMINATED,
)

# name -> (service, target status, audit action, extra kwargs)
TRANSITION_SERVICES: dict[str, tuple[Any, str, str, dict[str, str]]] = {
    "start_onboarding": (services.partner_start_onboarding, ONB, "partner.onboarding", {}),
    "activate": (services.partner_activate, ACT, "partner.activated", {}),
    "suspend": (services.partner_suspend, SUS, "partner.suspended", {"reason": "Unpaid invoices"}),
    "reinstate": (services.partner_reinstate, ACT, "partner.reinstated", {}),
    "terminate": (services.partner_terminate, TER, "partner.terminated", {"reason": "Contract ended"}),
}

ALLOWED = [
    (PRO, "start_onboarding"),
    (PRO, "terminate"),
    (ONB, "activate"),
    (ONB, "terminate"),
    (ACT, "suspend"),
    (ACT, "terminate"),
    (SUS, "reinstate"),
    (SUS, "activate"),
    (SUS, "terminate"),
]
DISALLOWED = [
    (status, name)
    for status in PartnerStatus.values
    for name in TRANSITION_SERVICES
    if (status, name) not in ALLOWED
]


def test_transition_table_is_the_documented_lifecycle() -> None:
    expected = {
        PRO: {ONB, TER},
        ONB: {ACT, TER},
        ACT: {SUS, TER},
        SUS: {ACT, TER},
        TER: set(),
    }
    assert expected == PARTNER_TRANSITIONS
    assert len(DISALLOWED) == 16


@pytest.mark.parametrize(("start", "name"), ALLOWED)
def test_allowed_transition_changes_status_audits_and_notifies_admins(
    start: str, name: str, partner: Partner, partner_admin: Any, program_admin: Any, program_actor: Any
) -> None:
    Partner.objects.filter(pk=partner.pk).update(status=start)
    partner.refresh_from_db()
    service, target, action, kwargs = TRANSITION_SERVICES[name]

    result = service(actor=program_actor, partner=partner, **kwargs)

    partner.refresh_from_db()
    assert partner.status == target
    assert result.status == target
    (event,) = _history(partner)
    assert event.action == action
    assert event.before == {"status": start}
    assert event.after == {"status": target}
    assert event.actor == program_admin
    assert event.actor_label == program_admin.email
    assert event.partner_id == partner.pk
    assert event.reason == kwargs.get("reason", "")
    notification = Notification.objects.get(recipient=partner_admin, kind=action)
    assert notification.partner_id == partner.pk
    assert notification.body == kwargs.get("reason", "")


@pytest.mark.parametrize(("start", "name"), DISALLOWED)
def test_disallowed_transition_is_refused_and_changes_nothing(
    start: str, name: str, partner: Partner, partner_admin: Any, program_actor: Any
) -> None:
    Partner.objects.filter(pk=partner.pk).update(status=start)
    partner.refresh_from_db()
    service, target, _action, kwargs = TRANSITION_SERVICES[name]

    with pytest.raises(ApplicationError) as excinfo:
        service(actor=program_actor, partner=partner, **kwargs)

    message = _only_application_error(excinfo).message
    # Reinstating says only what it needs (a suspended partner); the others name both ends.
    named = (
        ["suspended"] if name == "reinstate" else [PartnerStatus(s).label.lower() for s in (start, target)]
    )
    assert [fragment for fragment in named if fragment not in message] == []
    partner.refresh_from_db()
    assert partner.status == start
    assert _history(partner) == []
    assert not Notification.objects.filter(recipient=partner_admin).exists()


@pytest.mark.parametrize(
    ("start", "name", "fragments"),
    [
        (TER, "activate", ["terminated", "active"]),
        (PRO, "activate", ["prospect", "active"]),
        (ACT, "start_onboarding", ["active", "onboarding"]),
        (ACT, "reinstate", ["suspended"]),
    ],
)
def test_named_disallowed_transitions(
    start: str, name: str, fragments: list[str], partner: Partner, program_actor: Any
) -> None:
    Partner.objects.filter(pk=partner.pk).update(status=start)
    partner.refresh_from_db()
    service, _target, _action, kwargs = TRANSITION_SERVICES[name]
    with pytest.raises(ApplicationError) as excinfo:
        service(actor=program_actor, partner=partner, **kwargs)
    message = _only_application_error(excinfo).message
    for fragment in fragments:
        assert fragment in message
    assert Partner.objects.get(pk=partner.pk).status == start
    assert AuditEvent.objects.filter(partner_id=partner.pk).count() == 0


@pytest.mark.parametrize("name", ["suspend", "terminate"])
@pytest.mark.parametrize("reason", ["", "   ", None])
def test_suspend_and_terminate_need_a_reason(
    name: str, reason: Any, partner: Partner, program_actor: Any
) -> None:
    service = TRANSITION_SERVICES[name][0]
    with pytest.raises(ApplicationError) as excinfo:
        service(actor=program_actor, partner=partner, reason=reason)
    error = _only_application_error(excinfo)
    assert error.field == "reason"
    assert error.message
    partner.refresh_from_db()
    assert partner.status == PartnerStatus.ACTIVE
    assert _history(partner) == []


@pytest.mark.parametrize("name", ["suspend", "terminate", "activate", "start_onboarding"])
def test_partner_user_cannot_change_status(name: str, partner: Partner, admin_actor: Any) -> None:
    service, _target, _action, kwargs = TRANSITION_SERVICES[name]
    with pytest.raises(PermissionDenied):
        service(actor=admin_actor, partner=partner, **kwargs)
    partner.refresh_from_db()
    assert partner.status == PartnerStatus.ACTIVE
    assert _history(partner) == []


def test_reinstate_by_partner_user_is_permission_denied(partner: Partner, admin_actor: Any) -> None:
    Partner.objects.filter(pk=partner.pk).update(status=SUS)
    partner.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.partner_reinstate(actor=admin_actor, partner=partner)
    assert Partner.objects.get(pk=partner.pk).status == SUS


def test_cam_outside_portfolio_cannot_change_status(partner: Partner, cam_outside: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.partner_suspend(actor=cam_outside, partner=partner, reason="Late payments")
    partner.refresh_from_db()
    assert partner.status == PartnerStatus.ACTIVE
    assert not AuditEvent.objects.filter(partner_id=partner.pk, action="partner.suspended").exists()


def test_finance_cannot_change_status(partner: Partner, finance_actor: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.partner_terminate(actor=finance_actor, partner=partner, reason="Fraud")
    assert Partner.objects.get(pk=partner.pk).status == PartnerStatus.ACTIVE


def test_cam_inside_portfolio_can_change_status(
    partner: Partner, cam_in_portfolio: Any, channel_manager: Any
) -> None:
    services.partner_suspend(actor=cam_in_portfolio, partner=partner, reason="Missed QBR twice")
    partner.refresh_from_db()
    assert partner.status == PartnerStatus.SUSPENDED
    event = audit.history_for(target=partner).get(action="partner.suspended")
    assert event.actor == channel_manager
    assert event.reason == "Missed QBR twice"

    services.partner_reinstate(actor=cam_in_portfolio, partner=partner)
    partner.refresh_from_db()
    assert partner.status == PartnerStatus.ACTIVE
    assert audit.history_for(target=partner).filter(action="partner.reinstated").count() == 1


# --- Channel account manager assignment -----------------------------------------------------------
def test_assign_channel_manager_grants_portfolio_permission_and_audits(
    partner: Partner, program_actor: Any, program_admin: Any, channel_manager: Any
) -> None:
    result = services.partner_assign_channel_manager(
        actor=program_actor, partner=partner, manager=channel_manager
    )

    partner.refresh_from_db()
    assert result.channel_account_manager == channel_manager
    assert partner.channel_account_manager == channel_manager
    assert get_perms(channel_manager, partner) == ["work_partner"]
    assert (
        PartnerUserObjectPermission.objects.filter(
            user=channel_manager, content_object=partner, permission__codename="work_partner"
        ).count()
        == 1
    )
    (event,) = _history(partner)
    assert event.action == "partner.channel_manager_changed"
    assert event.before == {"channel_account_manager": None}
    assert event.after == {"channel_account_manager": str(channel_manager)}
    assert event.actor == program_admin
    assert event.partner_id == partner.pk
    assert Notification.objects.filter(recipient=channel_manager, kind="portfolio.added").count() == 1


def test_moving_partner_to_another_cam_removes_the_old_permission(
    partner: Partner, program_actor: Any, channel_manager: Any
) -> None:
    second = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="dora@prm.example")
    services.partner_assign_channel_manager(actor=program_actor, partner=partner, manager=channel_manager)
    services.partner_assign_channel_manager(actor=program_actor, partner=partner, manager=second)

    partner.refresh_from_db()
    assert partner.channel_account_manager == second
    assert get_perms(channel_manager, partner) == []
    assert get_perms(second, partner) == ["work_partner"]
    assert list(
        PartnerUserObjectPermission.objects.filter(content_object=partner).values_list("user_id", flat=True)
    ) == [second.pk]
    latest = audit.history_for(target=partner).first()
    assert latest.before == {"channel_account_manager": str(channel_manager)}
    assert latest.after == {"channel_account_manager": str(second)}


def test_unassigning_the_cam_removes_the_permission(
    partner: Partner, program_actor: Any, channel_manager: Any
) -> None:
    services.partner_assign_channel_manager(actor=program_actor, partner=partner, manager=channel_manager)
    services.partner_assign_channel_manager(actor=program_actor, partner=partner, manager=None)
    partner.refresh_from_db()
    assert partner.channel_account_manager is None
    assert get_perms(channel_manager, partner) == []
    assert not PartnerUserObjectPermission.objects.filter(content_object=partner).exists()
    assert _actions(partner) == ["partner.channel_manager_changed", "partner.channel_manager_changed"]


def test_assigning_the_same_cam_again_is_a_no_op(
    partner: Partner, program_actor: Any, channel_manager: Any
) -> None:
    services.partner_assign_channel_manager(actor=program_actor, partner=partner, manager=channel_manager)
    services.partner_assign_channel_manager(actor=program_actor, partner=partner, manager=channel_manager)
    assert len(_history(partner)) == 1
    assert PartnerUserObjectPermission.objects.filter(content_object=partner).count() == 1


@pytest.mark.parametrize("role", [VendorRole.FINANCE, VendorRole.PROGRAM_ADMIN, VendorRole.CONTENT_MANAGER])
def test_assigning_a_non_cam_is_refused(role: str, partner: Partner, program_actor: Any) -> None:
    not_a_cam = factories.vendor_user(role, email=f"{role}.person@prm.example")
    with pytest.raises(ApplicationError) as excinfo:
        services.partner_assign_channel_manager(actor=program_actor, partner=partner, manager=not_a_cam)
    error = _only_application_error(excinfo)
    assert error.field == "channel_account_manager"
    assert "not a channel account manager" in error.message
    partner.refresh_from_db()
    assert partner.channel_account_manager is None
    assert get_perms(not_a_cam, partner) == []
    assert _history(partner) == []


def test_assigning_a_partner_user_as_cam_is_refused(
    partner: Partner, program_actor: Any, sales_user: Any
) -> None:
    with pytest.raises(ApplicationError):
        services.partner_assign_channel_manager(actor=program_actor, partner=partner, manager=sales_user)
    assert Partner.objects.get(pk=partner.pk).channel_account_manager is None


@pytest.mark.parametrize("who", ["cam", "finance", "partner_admin"])
def test_only_program_admins_assign_channel_managers(
    who: str,
    partner: Partner,
    channel_manager: Any,
    cam_in_portfolio: Any,
    finance_actor: Any,
    admin_actor: Any,
) -> None:
    actor = {"cam": cam_in_portfolio, "finance": finance_actor, "partner_admin": admin_actor}[who]
    other_cam = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="eve.cam@prm.example")
    with pytest.raises(PermissionDenied):
        services.partner_assign_channel_manager(actor=actor, partner=partner, manager=other_cam)
    partner.refresh_from_db()
    assert partner.channel_account_manager == channel_manager
    assert get_perms(other_cam, partner) == []


# --- Profile ------------------------------------------------------------------------------------
def _profile_data(partner: Partner, **changes: Any) -> dict[str, Any]:
    data = {name: getattr(partner, name) for name in services.PROFILE_FIELDS}
    data["country"] = partner.country.code  # what the form's cleaned_data holds
    data.update(changes)
    return data


def test_update_profile_audits_only_changed_fields(
    partner: Partner, partner_admin: Any, admin_actor: Any
) -> None:
    old_phone = partner.phone
    data = _profile_data(partner, legal_name="Acme Networks GmbH", phone="+49 30 1234567")

    services.partner_update_profile(actor=admin_actor, partner=partner, data=data)

    partner.refresh_from_db()
    assert partner.legal_name == "Acme Networks GmbH"
    assert partner.phone == "+49 30 1234567"
    (event,) = _history(partner)
    assert event.action == "partner.profile_updated"
    assert event.before == {"legal_name": "Acme Networks", "phone": old_phone}
    assert event.after == {"legal_name": "Acme Networks GmbH", "phone": "+49 30 1234567"}
    assert event.actor == partner_admin
    assert event.partner_id == partner.pk


def test_update_profile_can_change_the_country(partner: Partner, program_actor: Any) -> None:
    """A country change (the vendor's to make) is audited as plain country codes (the audit trail
    is JSON)."""
    with transaction.atomic():
        services.partner_update_profile(
            actor=program_actor, partner=partner, data=_profile_data(partner, country="DE")
        )
    partner.refresh_from_db()
    assert partner.country.code == "DE"
    (event,) = _history(partner)
    assert event.before == {"country": "US"}
    assert event.after == {"country": "DE"}


def test_update_profile_without_changes_writes_no_audit(partner: Partner, admin_actor: Any) -> None:
    updated_at = partner.updated_at
    services.partner_update_profile(actor=admin_actor, partner=partner, data=_profile_data(partner))
    services.partner_update_profile(actor=admin_actor, partner=partner, data={})
    partner.refresh_from_db()
    assert partner.updated_at == updated_at
    assert _history(partner) == []


def test_update_profile_ignores_fields_outside_the_profile(partner: Partner, admin_actor: Any) -> None:
    services.partner_update_profile(
        actor=admin_actor,
        partner=partner,
        data={"status": PartnerStatus.TERMINATED, "agreement_version": "x"},
    )
    partner.refresh_from_db()
    assert partner.status == PartnerStatus.ACTIVE
    assert partner.agreement_version == settings.PRM["PARTNER_AGREEMENT_VERSION"]
    assert _history(partner) == []


def test_partner_non_admin_cannot_update_profile(partner: Partner, sales_user: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.partner_update_profile(
            actor=factories.actor_for(sales_user), partner=partner, data={"legal_name": "Hijacked"}
        )
    assert Partner.objects.get(pk=partner.pk).legal_name == "Acme Networks"
    assert _history(partner) == []


def test_other_partners_admin_cannot_update_profile(partner: Partner, other_partner_admin: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.partner_update_profile(
            actor=factories.actor_for(other_partner_admin), partner=partner, data={"legal_name": "Hijacked"}
        )
    assert Partner.objects.get(pk=partner.pk).legal_name == "Acme Networks"


def test_cam_profile_edits_follow_the_portfolio(
    partner: Partner, cam_in_portfolio: Any, cam_outside: Any
) -> None:
    with pytest.raises(PermissionDenied):
        services.partner_update_profile(actor=cam_outside, partner=partner, data={"phone": "+1 555 0100"})
    services.partner_update_profile(actor=cam_in_portfolio, partner=partner, data={"phone": "+1 555 0199"})
    assert Partner.objects.get(pk=partner.pk).phone == "+1 555 0199"


# --- Logo ---------------------------------------------------------------------------------------
def test_set_logo_stores_png_under_partner_prefix_with_random_name(
    media_root: Path, partner: Partner, partner_admin: Any, admin_actor: Any
) -> None:
    upload = _png("evil.html")
    content = upload.read()
    upload.seek(0)

    services.partner_set_logo(actor=admin_actor, partner=partner, upload=upload)

    partner.refresh_from_db()
    assert re.fullmatch(rf"partners/{partner.pk}/logo/[0-9a-f]{{32}}\.png", partner.logo.name), (
        partner.logo.name
    )
    assert "evil" not in partner.logo.name
    stored = media_root / partner.logo.name
    assert stored.read_bytes() == content
    (event,) = _history(partner)
    assert event.action == "partner.logo_changed"
    assert event.before == {"logo": ""}
    assert event.after == {"logo": partner.logo.name}
    assert event.actor == partner_admin


def test_two_uploads_get_different_names_and_the_old_file_goes_after_commit(
    media_root: Path, partner: Partner, admin_actor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    services.partner_set_logo(actor=admin_actor, partner=partner, upload=_png())
    partner.refresh_from_db()
    first = partner.logo.name
    with django_capture_on_commit_callbacks(execute=True):
        services.partner_set_logo(actor=admin_actor, partner=partner, upload=_png(size=(20, 20)))
    partner.refresh_from_db()
    assert partner.logo.name != first
    assert not (media_root / first).exists()
    assert (media_root / partner.logo.name).exists()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("logo.png", b"this is plain text, not a picture\n" * 4, "image/png"),
        (
            "logo.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b"<script>alert(document.cookie)</script></svg>",
            "image/svg+xml",
        ),
        ("logo.png", b"<html><script>alert(1)</script></html>", "image/png"),
    ],
    ids=["text-as-png", "svg", "html-as-png"],
)
def test_set_logo_refuses_what_is_not_a_raster_image(
    media_root: Path, partner: Partner, admin_actor: Any, name: str, content: bytes, content_type: str
) -> None:
    services.partner_set_logo(actor=admin_actor, partner=partner, upload=_png())
    partner.refresh_from_db()
    before = partner.logo.name

    with pytest.raises(ApplicationError) as excinfo:
        services.partner_set_logo(
            actor=admin_actor,
            partner=partner,
            upload=SimpleUploadedFile(name, content, content_type=content_type),
        )

    error = _only_application_error(excinfo)
    assert error.field == "logo"
    assert "not an image" in error.message
    partner.refresh_from_db()
    assert partner.logo.name == before
    assert [p.name for p in (media_root / f"partners/{partner.pk}/logo").iterdir()] == [Path(before).name]
    assert _actions(partner) == ["partner.logo_changed"]


def test_set_logo_refuses_a_file_over_the_size_limit(
    media_root: Path, partner: Partner, admin_actor: Any
) -> None:
    upload = _png(size=(64, 64), noise=True)
    assert upload.size > 100
    with (
        override_settings(PRM={**settings.PRM, "LOGO_MAX_BYTES": 100}),
        pytest.raises(ApplicationError) as excinfo,
    ):
        services.partner_set_logo(actor=admin_actor, partner=partner, upload=upload)
    error = _only_application_error(excinfo)
    assert error.field == "logo"
    assert filesizeformat(100) in error.message
    assert "limit" in error.message
    partner.refresh_from_db()
    assert partner.logo.name == ""
    assert not (media_root / "partners").exists()
    assert _history(partner) == []


def test_set_logo_refuses_an_oversized_picture(media_root: Path, partner: Partner, admin_actor: Any) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        services.partner_set_logo(actor=admin_actor, partner=partner, upload=_png(size=(5000, 10)))
    assert "5000" in _only_application_error(excinfo).message
    assert Partner.objects.get(pk=partner.pk).logo.name == ""


def test_set_logo_needs_edit_profile_permission(
    media_root: Path, partner: Partner, sales_user: Any, other_partner_admin: Any
) -> None:
    for user in (sales_user, other_partner_admin):
        with pytest.raises(PermissionDenied):
            services.partner_set_logo(actor=factories.actor_for(user), partner=partner, upload=_png())
    assert Partner.objects.get(pk=partner.pk).logo.name == ""
    assert not (media_root / "partners").exists()


# --- Partner agreement --------------------------------------------------------------------------
@pytest.fixture
def onboarding_partner(partner: Partner) -> Partner:
    Partner.objects.filter(pk=partner.pk).update(status=PartnerStatus.ONBOARDING, agreement_version="")
    partner.refresh_from_db()
    return partner


def test_accept_agreement_records_acceptance_and_activates(
    onboarding_partner: Partner, partner_admin: Any, admin_actor: Any
) -> None:
    started = timezone.now()
    services.partner_accept_agreement(actor=admin_actor, partner=onboarding_partner)

    partner = Partner.objects.get(pk=onboarding_partner.pk)
    assert partner.agreement_version == settings.PRM["PARTNER_AGREEMENT_VERSION"]
    assert partner.agreement_accepted_by == partner_admin
    assert partner.agreement_accepted_at >= started
    assert partner.status == PartnerStatus.ACTIVE
    assert partner.agreement_is_current
    (event,) = _history(partner)
    assert event.action == "partner.agreement_accepted"
    assert event.before == {"agreement_version": "", "status": "onboarding"}
    assert event.after == {"agreement_version": settings.PRM["PARTNER_AGREEMENT_VERSION"], "status": "active"}
    assert event.actor == partner_admin


def test_accept_agreement_twice_is_idempotent(onboarding_partner: Partner, admin_actor: Any) -> None:
    services.partner_accept_agreement(actor=admin_actor, partner=onboarding_partner)
    first = Partner.objects.get(pk=onboarding_partner.pk)
    services.partner_accept_agreement(actor=admin_actor, partner=first)
    second = Partner.objects.get(pk=onboarding_partner.pk)
    assert second.agreement_accepted_at == first.agreement_accepted_at
    assert second.status == PartnerStatus.ACTIVE
    assert len(_history(second)) == 1


def test_accept_agreement_notifies_the_channel_manager(
    onboarding_partner: Partner, cam_in_portfolio: Any, channel_manager: Any, admin_actor: Any
) -> None:
    services.partner_accept_agreement(actor=admin_actor, partner=onboarding_partner)
    assert (
        Notification.objects.filter(recipient=channel_manager, kind="partner.agreement_accepted").count() == 1
    )


def test_accept_agreement_keeps_a_suspended_partner_suspended(partner: Partner, admin_actor: Any) -> None:
    Partner.objects.filter(pk=partner.pk).update(status=PartnerStatus.SUSPENDED, agreement_version="2000.1")
    partner.refresh_from_db()
    services.partner_accept_agreement(actor=admin_actor, partner=partner)
    partner.refresh_from_db()
    assert partner.agreement_version == settings.PRM["PARTNER_AGREEMENT_VERSION"]
    assert partner.status == PartnerStatus.SUSPENDED


def test_accept_agreement_does_not_skip_the_lifecycle_for_a_prospect(
    partner: Partner, admin_actor: Any
) -> None:
    """PARTNER_TRANSITIONS forbids prospect -> active; accepting the agreement must not bypass it."""
    Partner.objects.filter(pk=partner.pk).update(status=PartnerStatus.PROSPECT, agreement_version="")
    partner.refresh_from_db()
    services.partner_accept_agreement(actor=admin_actor, partner=partner)
    partner.refresh_from_db()
    assert partner.agreement_version == settings.PRM["PARTNER_AGREEMENT_VERSION"]
    assert PartnerStatus.ACTIVE not in PARTNER_TRANSITIONS[PartnerStatus.PROSPECT]
    assert partner.status != PartnerStatus.ACTIVE, (
        "accepting the agreement moved a prospect straight to active"
    )


def test_sales_user_cannot_accept_agreement(onboarding_partner: Partner, sales_user: Any) -> None:
    with pytest.raises(PermissionDenied) as excinfo:
        services.partner_accept_agreement(actor=factories.actor_for(sales_user), partner=onboarding_partner)
    assert "partner admin" in excinfo.value.message
    partner = Partner.objects.get(pk=onboarding_partner.pk)
    assert partner.agreement_version == ""
    assert partner.agreement_accepted_by is None
    assert partner.status == PartnerStatus.ONBOARDING


@pytest.mark.parametrize("who", ["program_admin", "other_partner_admin"])
def test_only_the_partners_own_admin_accepts_the_agreement(
    who: str, onboarding_partner: Partner, program_actor: Any, other_partner_admin: Any
) -> None:
    actor = program_actor if who == "program_admin" else factories.actor_for(other_partner_admin)
    with pytest.raises(PermissionDenied):
        services.partner_accept_agreement(actor=actor, partner=onboarding_partner)
    assert Partner.objects.get(pk=onboarding_partner.pk).agreement_version == ""


# --- Invitations --------------------------------------------------------------------------------
def test_invitation_create_sends_email_with_accept_url_after_commit(
    partner: Partner, partner_admin: Any, admin_actor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invitation = services.invitation_create(
            actor=admin_actor, partner=partner, email="  New.Colleague@Example.com ", role=PartnerRole.SALES
        )
    assert mail.outbox == []  # nothing is sent before the transaction commits
    assert len(callbacks) == 1

    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            actor=admin_actor,
            partner=partner,
            email="second.colleague@example.com",
            role=PartnerRole.MARKETING,
        )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["second.colleague@example.com"]
    assert "Acme Networks" in message.subject
    url = services.invitation_url(invitation)
    assert url.startswith(settings.SITE_URL.rstrip("/") + "/")
    assert url in message.body
    assert invitation.partner == partner
    assert invitation.role == PartnerRole.MARKETING
    assert invitation.invited_by == partner_admin
    assert invitation.is_open
    (event,) = _history(invitation)
    assert event.action == "invitation.created"
    assert event.after == {"email": "second.colleague@example.com", "role": "marketing"}
    assert event.partner_id == partner.pk


def test_invitation_create_normalises_the_address(partner: Partner, admin_actor: Any) -> None:
    invitation = services.invitation_create(
        actor=admin_actor, partner=partner, email="  New.Colleague@Example.com ", role=PartnerRole.SALES
    )
    assert invitation.email == "new.colleague@example.com"


def test_duplicate_open_invitation_is_refused(partner: Partner, admin_actor: Any) -> None:
    services.invitation_create(
        actor=admin_actor, partner=partner, email="dup@example.com", role=PartnerRole.SALES
    )
    with pytest.raises(ApplicationError) as excinfo:
        services.invitation_create(
            actor=admin_actor, partner=partner, email="DUP@example.com", role=PartnerRole.ADMIN
        )
    error = _only_application_error(excinfo)
    assert error.field == "email"
    assert "dup@example.com" in error.message
    assert Invitation.objects.filter(partner=partner, email="dup@example.com").count() == 1


def test_an_address_with_an_account_elsewhere_is_invited_like_any_other(
    partner: Partner, admin_actor: Any, other_partner_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The inviting admin must not learn that the address has an account at another company; its
    owner learns from the e-mail that it cannot join a second one (see test_enumeration.py)."""
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            actor=admin_actor,
            partner=partner,
            email=other_partner_admin.email.upper(),
            role=PartnerRole.SALES,
        )
    assert invitation.email == other_partner_admin.email
    (message,) = [m for m in mail.outbox if other_partner_admin.email in m.to]
    assert "already has an account" in message.body
    assert "/invitations/" not in message.body


def test_a_member_of_the_team_is_not_invited_again(
    partner: Partner, admin_actor: Any, sales_user: Any
) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        services.invitation_create(
            actor=admin_actor, partner=partner, email=sales_user.email.upper(), role=PartnerRole.SALES
        )
    assert _only_application_error(excinfo).field == "email"
    assert "already on your team" in excinfo.value.message
    assert not Invitation.objects.filter(email__iexact=sales_user.email).exists()


@pytest.mark.parametrize("role", ["owner", "", "superuser", "ADMIN"])
def test_invalid_role_is_refused(role: str, partner: Partner, admin_actor: Any) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        services.invitation_create(actor=admin_actor, partner=partner, email="x@example.com", role=role)
    assert _only_application_error(excinfo).field == "role"
    assert not Invitation.objects.filter(partner=partner).exists()


def test_sales_user_cannot_invite(partner: Partner, sales_user: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            actor=factories.actor_for(sales_user),
            partner=partner,
            email="x@example.com",
            role=PartnerRole.SALES,
        )
    assert not Invitation.objects.filter(partner=partner).exists()


def test_admin_of_another_partner_cannot_invite(partner: Partner, other_partner_admin: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            actor=factories.actor_for(other_partner_admin),
            partner=partner,
            email="x@example.com",
            role=PartnerRole.ADMIN,
        )
    assert not Invitation.objects.filter(partner=partner).exists()


@pytest.mark.parametrize("who", ["cam", "finance"])
def test_vendor_staff_other_than_program_admins_cannot_invite(
    who: str, partner: Partner, cam_in_portfolio: Any, finance_actor: Any
) -> None:
    actor = cam_in_portfolio if who == "cam" else finance_actor
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            actor=actor, partner=partner, email="x@example.com", role=PartnerRole.SALES
        )
    assert not Invitation.objects.filter(partner=partner).exists()


@pytest.fixture
def invitation(partner: Partner, partner_admin: Any, admin_actor: Any) -> Invitation:
    return services.invitation_create(
        actor=admin_actor, partner=partner, email="newbie@example.com", role=PartnerRole.MARKETING
    )


def test_invitation_accept_creates_a_verified_member(
    invitation: Invitation, partner: Partner, partner_admin: Any
) -> None:
    user = services.invitation_accept(
        token=services.invitation_token(invitation), full_name="  Nia Newbie ", password=STRONG_PASSWORD
    )

    user.refresh_from_db()
    assert user.email == "newbie@example.com"
    assert user.full_name == "Nia Newbie"
    assert user.check_password(STRONG_PASSWORD)
    assert user.is_active
    assert user.vendor_role == ""
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("newbie@example.com", True, True)
    membership = Membership.objects.get(user=user)
    assert (membership.partner, membership.role, membership.is_active) == (
        partner,
        PartnerRole.MARKETING,
        True,
    )
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None
    assert invitation.accepted_user == user
    assert not invitation.is_open
    accepted = audit.history_for(target=invitation).get(action="invitation.accepted")
    assert accepted.actor == user
    assert accepted.partner_id == partner.pk
    created = audit.history_for(target=membership).get(action="membership.created")
    assert created.after == {"user": "newbie@example.com", "role": "marketing"}
    notification = Notification.objects.get(recipient=partner_admin, kind="invitation.accepted")
    assert notification.partner_id == partner.pk
    assert "Nia Newbie" in notification.title
    assert factories.actor_for(user).partner_id == partner.pk


EXPIRED_INVITATION = "This invitation link is no longer valid. Ask your partner admin for a new one."


@pytest.mark.parametrize(
    ("after", "outcome"),
    [(timedelta(days=14, seconds=-1), "accepted"), (timedelta(days=14), EXPIRED_INVITATION)],
)
def test_an_invitation_is_valid_for_14_days_to_the_second(
    partner: Partner, admin_actor: Any, after: timedelta, outcome: str
) -> None:
    sent = datetime(2028, 2, 20, 18, 0, tzinfo=UTC)  # 14 days later is 5 March: over the leap day
    with time_machine.travel(sent, tick=False):
        invitation = services.invitation_create(
            actor=admin_actor, partner=partner, email="late@example.com", role=PartnerRole.SALES
        )
    assert invitation.expires_at == datetime(2028, 3, 5, 18, 0, tzinfo=UTC)

    def accept() -> str:
        try:
            services.invitation_accept(
                token=services.invitation_token(invitation), full_name="Lee Late", password=STRONG_PASSWORD
            )
        except ApplicationError as refused:
            return str(refused)
        return "accepted"

    with time_machine.travel(sent + after, tick=False):
        assert accept() == outcome
    assert Membership.objects.filter(user__email="late@example.com").exists() is (outcome == "accepted")


def test_accepting_an_invitation_sent_by_vendor_staff(
    partner: Partner, program_admin: Any, program_actor: Any
) -> None:
    """Approving an application makes a program admin the inviter; the applicant must still be able
    to accept, and the program admin is told (a vendor-side notification, no partner)."""
    invitation = services.invitation_create(
        actor=program_actor, partner=partner, email="founder@acme.example", role=PartnerRole.ADMIN
    )
    user = services.invitation_accept(
        token=services.invitation_token(invitation), full_name="Fay Founder", password=STRONG_PASSWORD
    )
    assert Membership.objects.get(user=user).role == PartnerRole.ADMIN
    notification = Notification.objects.get(recipient=program_admin, kind="invitation.accepted")
    assert notification.partner_id is None
    assert notification.url == reverse("vendor:partner_detail", args=[partner.pk])


def test_second_accept_with_same_token_is_refused(invitation: Invitation) -> None:
    token = services.invitation_token(invitation)
    services.invitation_accept(token=token, full_name="Nia Newbie", password=STRONG_PASSWORD)
    with pytest.raises(ApplicationError) as excinfo:
        services.invitation_accept(token=token, full_name="Mallory", password="another-Strong-pass-99")
    assert "no longer valid" in _only_application_error(excinfo).message
    assert User.objects.filter(email__iexact="newbie@example.com").count() == 1
    assert User.objects.get(email="newbie@example.com").full_name == "Nia Newbie"


def test_expired_invitation_cannot_be_accepted(invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ApplicationError) as excinfo:
        services.invitation_accept(
            token=services.invitation_token(invitation), full_name="Nia Newbie", password=STRONG_PASSWORD
        )
    assert "no longer valid" in _only_application_error(excinfo).message
    assert not User.objects.filter(email="newbie@example.com").exists()


@pytest.mark.parametrize("tamper", ["flip-last", "truncate", "garbage", "other-secret-key"])
def test_tampered_token_is_refused(tamper: str, invitation: Invitation) -> None:
    token = services.invitation_token(invitation)
    with override_settings(SECRET_KEY="a-different-secret-key-" + "x" * 40):
        foreign = services.invitation_token(invitation)
    assert foreign != token
    bad = {
        "flip-last": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "truncate": token[: len(token) // 2],
        "garbage": "not-a-token",
        "other-secret-key": foreign,
    }[tamper]
    assert services.invitation_from_token(bad) is None
    with pytest.raises(ApplicationError):
        services.invitation_accept(token=bad, full_name="Nia Newbie", password=STRONG_PASSWORD)
    assert not User.objects.filter(email="newbie@example.com").exists()
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is None


def test_token_with_a_wrong_nonce_is_refused(invitation: Invitation) -> None:
    """A correctly signed token whose nonce does not match (e.g. the invitation was re-issued)."""
    forged = services.invitation_token(Invitation(pk=invitation.pk, nonce="guessed"))
    assert services.invitation_from_token(forged) is None
    with pytest.raises(ApplicationError):
        services.invitation_accept(token=forged, full_name="Nia Newbie", password=STRONG_PASSWORD)
    assert not User.objects.filter(email="newbie@example.com").exists()


def test_a_correctly_signed_token_in_another_format_does_not_crash(invitation: Invitation) -> None:
    """Links e-mailed before tokens became deterministic were made with ``signing.dumps`` (same salt
    and key, so the signature checks out). Opening one must give "invalid link" or the invitation,
    never an unhandled error (a 500 on the public accept page)."""
    from django.core import signing

    legacy = signing.dumps(
        {"i": invitation.pk, "n": invitation.nonce}, salt=services.INVITATION_SALT, compress=True
    )
    found = services.invitation_from_token(legacy)
    assert found is None or found.pk == invitation.pk


@pytest.mark.parametrize("password", ["password", "short", "newbie@example.com", "12345678901"])
def test_weak_password_saves_nothing(password: str, invitation: Invitation) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        services.invitation_accept(
            token=services.invitation_token(invitation), full_name="Nia", password=password
        )
    error = _only_application_error(excinfo)
    assert error.field == "password1"
    assert error.message
    assert not User.objects.filter(email="newbie@example.com").exists()
    assert not EmailAddress.objects.filter(email="newbie@example.com").exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None
    assert invitation.is_open
    assert _actions(invitation) == ["invitation.created"]


def test_accept_needs_a_name(invitation: Invitation) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        services.invitation_accept(
            token=services.invitation_token(invitation), full_name="  ", password=STRONG_PASSWORD
        )
    assert _only_application_error(excinfo).field == "full_name"
    assert not User.objects.filter(email="newbie@example.com").exists()


def test_revoke_closes_the_invitation_and_is_audited(invitation: Invitation, admin_actor: Any) -> None:
    services.invitation_revoke(actor=admin_actor, invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert not invitation.is_open
    services.invitation_revoke(actor=admin_actor, invitation=invitation)  # idempotent
    assert _actions(invitation) == ["invitation.created", "invitation.revoked"]
    with pytest.raises(ApplicationError):
        services.invitation_accept(
            token=services.invitation_token(invitation), full_name="Nia Newbie", password=STRONG_PASSWORD
        )
    assert not User.objects.filter(email="newbie@example.com").exists()
    # A fresh invitation to the same address is possible again.
    again = services.invitation_create(
        actor=admin_actor, partner=invitation.partner, email="newbie@example.com", role=PartnerRole.SALES
    )
    assert again.pk != invitation.pk
    assert again.is_open


def test_accepted_invitation_cannot_be_revoked(invitation: Invitation, admin_actor: Any) -> None:
    services.invitation_accept(
        token=services.invitation_token(invitation), full_name="Nia Newbie", password=STRONG_PASSWORD
    )
    with pytest.raises(ApplicationError):
        services.invitation_revoke(actor=admin_actor, invitation=invitation)
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is None


def test_resend_extends_and_emails_again(
    invitation: Invitation, admin_actor: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    invitation.refresh_from_db()
    assert not invitation.is_open

    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_resend(actor=admin_actor, invitation=invitation)

    invitation.refresh_from_db()
    assert invitation.is_open
    expected = timezone.now() + timedelta(days=settings.PRM["INVITATION_VALID_DAYS"])
    assert abs((invitation.expires_at - expected).total_seconds()) < 60
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["newbie@example.com"]
    assert services.invitation_url(invitation) in mail.outbox[0].body
    assert _actions(invitation) == ["invitation.created", "invitation.resent"]


def test_resend_of_a_closed_invitation_is_refused(invitation: Invitation, admin_actor: Any) -> None:
    services.invitation_revoke(actor=admin_actor, invitation=invitation)
    with pytest.raises(ApplicationError):
        services.invitation_resend(actor=admin_actor, invitation=invitation)
    assert _actions(invitation) == ["invitation.created", "invitation.revoked"]


def test_sales_user_cannot_resend_or_revoke(invitation: Invitation, sales_user: Any) -> None:
    actor = factories.actor_for(sales_user)
    with pytest.raises(PermissionDenied):
        services.invitation_resend(actor=actor, invitation=invitation)
    with pytest.raises(PermissionDenied):
        services.invitation_revoke(actor=actor, invitation=invitation)
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is None


def test_expired_invitation_is_replaced_by_a_new_one(invitation: Invitation, admin_actor: Any) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    fresh = services.invitation_create(
        actor=admin_actor, partner=invitation.partner, email="newbie@example.com", role=PartnerRole.SALES
    )
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert fresh.is_open
    assert (
        Invitation.objects.filter(
            partner=invitation.partner, email="newbie@example.com", revoked_at__isnull=True
        ).get()
        == fresh
    )


# --- Memberships --------------------------------------------------------------------------------
def test_last_admin_cannot_be_demoted(partner: Partner, partner_admin: Any, admin_actor: Any) -> None:
    membership = partner_admin.membership
    with pytest.raises(ApplicationError) as excinfo:
        services.membership_change_role(actor=admin_actor, membership=membership, role=PartnerRole.SALES)
    assert "last partner admin" in _only_application_error(excinfo).message
    membership.refresh_from_db()
    assert membership.role == PartnerRole.ADMIN
    assert _history(membership) == []


def test_last_admin_cannot_be_deactivated(partner: Partner, partner_admin: Any, program_actor: Any) -> None:
    membership = partner_admin.membership
    with pytest.raises(ApplicationError) as excinfo:
        services.membership_deactivate(actor=program_actor, membership=membership)
    assert "last partner admin" in _only_application_error(excinfo).message
    membership.refresh_from_db()
    partner_admin.refresh_from_db()
    assert membership.is_active
    assert partner_admin.is_active
    assert _history(membership) == []


def test_with_two_admins_one_can_be_demoted(partner: Partner, partner_admin: Any, admin_actor: Any) -> None:
    second = factories.partner_user(partner, role=PartnerRole.ADMIN, email="second.admin@acme.example")
    membership = services.membership_change_role(
        actor=admin_actor, membership=second.membership, role=PartnerRole.SALES
    )
    assert membership.role == PartnerRole.SALES
    assert Membership.objects.get(user=second).role == PartnerRole.SALES
    (event,) = _history(membership)
    assert event.action == "membership.role_changed"
    assert event.before == {"role": "admin"}
    assert event.after == {"role": "sales"}
    assert event.actor == partner_admin
    assert event.partner_id == partner.pk
    assert Notification.objects.filter(recipient=second, kind="membership.role_changed").count() == 1
    # Now alice is the only admin left.
    with pytest.raises(ApplicationError):
        services.membership_change_role(
            actor=admin_actor, membership=partner_admin.membership, role=PartnerRole.SALES
        )
    assert Membership.objects.get(user=partner_admin).role == PartnerRole.ADMIN


def test_inactive_admins_do_not_count(partner: Partner, partner_admin: Any, admin_actor: Any) -> None:
    second = factories.partner_user(partner, role=PartnerRole.ADMIN, email="second.admin@acme.example")
    services.membership_deactivate(actor=admin_actor, membership=second.membership)
    with pytest.raises(ApplicationError):
        services.membership_deactivate(
            actor=factories.actor_for(partner_admin), membership=partner_admin.membership
        )
    assert Membership.objects.get(user=partner_admin).is_active


def test_same_role_is_a_no_op(partner: Partner, sales_user: Any, admin_actor: Any) -> None:
    services.membership_change_role(
        actor=admin_actor, membership=sales_user.membership, role=PartnerRole.SALES
    )
    assert _history(sales_user.membership) == []


def test_change_role_refuses_an_unknown_role(partner: Partner, sales_user: Any, admin_actor: Any) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        services.membership_change_role(actor=admin_actor, membership=sales_user.membership, role="owner")
    assert _only_application_error(excinfo).field == "role"
    assert Membership.objects.get(user=sales_user).role == PartnerRole.SALES


def test_deactivate_and_reactivate_a_member(partner: Partner, sales_user: Any, admin_actor: Any) -> None:
    membership = services.membership_deactivate(actor=admin_actor, membership=sales_user.membership)
    assert membership.is_active is False
    sales_user.refresh_from_db()
    assert sales_user.is_active is False
    assert Membership.objects.get(user=sales_user).is_active is False
    assert factories.actor_for(sales_user) is ANONYMOUS
    event = audit.history_for(target=membership).get()
    assert (event.action, event.before, event.after) == (
        "membership.deactivated",
        {"is_active": True},
        {"is_active": False},
    )

    services.membership_reactivate(actor=admin_actor, membership=membership)
    sales_user.refresh_from_db()
    assert sales_user.is_active is True
    assert Membership.objects.get(user=sales_user).is_active is True
    assert _actions(membership) == ["membership.deactivated", "membership.reactivated"]
    assert factories.actor_for(sales_user).partner_id == partner.pk


def test_sales_user_cannot_manage_memberships(partner: Partner, partner_admin: Any, sales_user: Any) -> None:
    actor = factories.actor_for(sales_user)
    with pytest.raises(PermissionDenied):
        services.membership_change_role(actor=actor, membership=sales_user.membership, role=PartnerRole.ADMIN)
    with pytest.raises(PermissionDenied):
        services.membership_deactivate(actor=actor, membership=partner_admin.membership)
    assert Membership.objects.get(user=sales_user).role == PartnerRole.SALES
    assert Membership.objects.get(user=partner_admin).is_active


def test_other_partners_admin_cannot_manage_memberships(sales_user: Any, other_partner_admin: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.membership_deactivate(
            actor=factories.actor_for(other_partner_admin), membership=sales_user.membership
        )
    sales_user.refresh_from_db()
    assert sales_user.is_active


# --- Applications -------------------------------------------------------------------------------
def _application_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "company_name": "Initech Solutions Ltd",
        "partner_type": "msp",
        "country": "GB",
        "region": "emea",
        "website_domain": "initech.example",
        "contact_name": "Peter Gibbons",
        "contact_email": "Peter@Initech.example",
        "contact_phone": "+44 20 7946 0000",
        "employee_count": 42,
        "message": "We resell to SMBs.",
    }
    data.update(overrides)
    return data


def test_application_submit_creates_a_row_and_notifies_program_admins(program_admin: Any) -> None:
    second_admin = factories.vendor_user(VendorRole.PROGRAM_ADMIN, email="grace@prm.example")
    retired = factories.vendor_user(VendorRole.PROGRAM_ADMIN, email="retired@prm.example", is_active=False)
    cam = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER, email="cam.x@prm.example")

    application = services.application_submit(data=_application_data())

    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.contact_email == "peter@initech.example"
    assert application.company_name == "Initech Solutions Ltd"
    mine = [program_admin, second_admin, retired, cam]
    notifications = Notification.objects.filter(kind="application.submitted", recipient__in=mine)
    assert sorted(n.recipient.email for n in notifications) == sorted(
        [program_admin.email, second_admin.email]
    )
    assert not Notification.objects.filter(recipient__in=[retired, cam]).exists()
    for notification in notifications:
        assert "Initech Solutions Ltd" in notification.title
        assert notification.url == reverse("vendor:application_detail", args=[application.pk])


def test_application_submit_works_from_the_public_anonymous_scope(program_admin: Any) -> None:
    """The public apply page runs with no tenant scope (the anonymous actor's)."""
    with tenant_scope(ANONYMOUS.scope):
        application = services.application_submit(data=_application_data())
    assert PartnerApplication.objects.filter(pk=application.pk).exists()
    assert Notification.objects.filter(recipient=program_admin, kind="application.submitted").count() == 1


def test_duplicate_pending_application_returns_the_one_we_have(program_admin: Any) -> None:
    """A double-click or a resend is answered like the first submission (the public form never
    says whether an address applied before), and nothing is stored or notified twice."""
    first = services.application_submit(data=_application_data())
    again = services.application_submit(data=_application_data(contact_email="PETER@initech.example "))
    assert again.pk == first.pk
    assert PartnerApplication.objects.filter(contact_email="peter@initech.example").count() == 1
    assert Notification.objects.filter(recipient=program_admin, kind="application.submitted").count() == 1


def test_a_decided_application_does_not_block_a_new_one(program_actor: Any) -> None:
    first = services.application_submit(data=_application_data())
    services.application_reject(actor=program_actor, application=first, reason="Outside our region")
    services.application_submit(data=_application_data())
    assert PartnerApplication.objects.filter(contact_email="peter@initech.example").count() == 2


def test_application_from_an_existing_account_is_accepted_and_the_reviewer_warned(
    partner_admin: Any, program_admin: Any
) -> None:
    from partners import selectors

    application = services.application_submit(
        data=_application_data(contact_email=partner_admin.email.upper())
    )
    assert application.contact_email == partner_admin.email
    assert Notification.objects.filter(recipient=program_admin, kind="application.submitted").exists()
    reviewer = factories.actor_for(program_admin)
    assert selectors.application_existing_account(actor=reviewer, application=application)
    # Approving still cannot invite that address: the reviewer is told why.
    with pytest.raises(ApplicationError) as excinfo:
        services.application_approve(actor=reviewer, application=application)
    assert "already has a portal account" in excinfo.value.message


@pytest.fixture
def application(db: Any) -> PartnerApplication:
    return factories.ApplicationFactory(
        company_name="Hooli XYZ Inc",
        contact_email="gavin@hooli.example",
        contact_name="Gavin Belson",
        website_domain="hooli.example",
        contact_phone="+1 650 555 0100",
    )


def test_application_approve_creates_partner_invitation_and_email(
    application: PartnerApplication,
    program_admin: Any,
    program_actor: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    gold = factories.tier("Gold")
    with django_capture_on_commit_callbacks(execute=True):
        partner = services.application_approve(actor=program_actor, application=application, tier=gold)

    partner.refresh_from_db()
    assert partner.legal_name == "Hooli XYZ Inc"
    assert partner.status == PartnerStatus.ONBOARDING
    assert partner.tier == gold
    assert partner.website_domain == "hooli.example"
    assert partner.contact_email == "gavin@hooli.example"
    assert partner.phone == "+1 650 555 0100"
    assert partner.agreement_version == ""
    application.refresh_from_db()
    assert application.status == ApplicationStatus.APPROVED
    assert application.reviewed_by == program_admin
    assert application.reviewed_at is not None
    assert application.partner == partner
    invitation = Invitation.objects.get(partner=partner)
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "gavin@hooli.example",
        PartnerRole.ADMIN,
        program_admin,
    )
    assert invitation.is_open
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["gavin@hooli.example"]
    assert services.invitation_url(invitation) in mail.outbox[0].body
    approved = audit.history_for(target=application).get()
    assert approved.action == "application.approved"
    assert approved.before == {"status": "submitted"}
    assert approved.after == {"status": "approved"}
    assert approved.partner_id == partner.pk
    assert approved.actor == program_admin
    assert _actions(partner) == ["partner.created"]
    assert _actions(invitation) == ["invitation.created"]


def test_approving_twice_is_refused(application: PartnerApplication, program_actor: Any) -> None:
    services.application_approve(actor=program_actor, application=application, tier=factories.tier())
    with pytest.raises(ApplicationError) as excinfo:
        services.application_approve(actor=program_actor, application=application, tier=factories.tier())
    assert "approved" in _only_application_error(excinfo).message
    assert Partner.objects.filter(legal_name="Hooli XYZ Inc").count() == 1
    assert Invitation.objects.filter(email="gavin@hooli.example").count() == 1


@pytest.mark.parametrize("who", ["finance", "partner_admin"])
def test_finance_and_partner_users_cannot_approve(
    who: str, application: PartnerApplication, finance_actor: Any, admin_actor: Any
) -> None:
    actor = finance_actor if who == "finance" else admin_actor
    with pytest.raises(PermissionDenied):
        services.application_approve(actor=actor, application=application, tier=factories.tier())
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.partner is None
    assert not Partner.objects.filter(legal_name="Hooli XYZ Inc").exists()


def test_reject_needs_a_reason(application: PartnerApplication, program_actor: Any) -> None:
    for reason in ("", "   "):
        with pytest.raises(ApplicationError) as excinfo:
            services.application_reject(actor=program_actor, application=application, reason=reason)
        assert _only_application_error(excinfo).field == "reason"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert _history(application) == []


def test_reject_records_reason_and_emails_the_applicant(
    application: PartnerApplication,
    program_admin: Any,
    program_actor: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.application_reject(
            actor=program_actor, application=application, reason="We are not recruiting MSPs in Germany yet."
        )
    application.refresh_from_db()
    assert application.status == ApplicationStatus.REJECTED
    assert application.rejection_reason == "We are not recruiting MSPs in Germany yet."
    assert application.reviewed_by == program_admin
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["gavin@hooli.example"]
    assert "We are not recruiting MSPs in Germany yet." in mail.outbox[0].body
    event = audit.history_for(target=application).get()
    assert (event.action, event.after, event.reason) == (
        "application.rejected",
        {"status": "rejected"},
        "We are not recruiting MSPs in Germany yet.",
    )
    with pytest.raises(ApplicationError):
        services.application_approve(actor=program_actor, application=application, tier=factories.tier())
    assert not Partner.objects.filter(legal_name="Hooli XYZ Inc").exists()


def test_finance_cannot_reject(application: PartnerApplication, finance_actor: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.application_reject(actor=finance_actor, application=application, reason="No")
    assert PartnerApplication.objects.get(pk=application.pk).status == ApplicationStatus.SUBMITTED


# --- Vendor staff -------------------------------------------------------------------------------
def test_program_admin_sets_a_vendor_role(
    program_admin: Any, program_actor: Any, channel_manager: Any
) -> None:
    user = services.vendor_user_set_role(actor=program_actor, user=channel_manager, role=VendorRole.FINANCE)
    channel_manager.refresh_from_db()
    assert user.vendor_role == channel_manager.vendor_role == VendorRole.FINANCE
    assert channel_manager.is_staff
    event = audit.history_for(target=channel_manager).get()
    assert event.action == "user.vendor_role_changed"
    assert event.before == {"vendor_role": "channel_account_manager", "is_staff": True}
    assert event.after == {"vendor_role": "finance", "is_staff": True}
    assert event.actor == program_admin
    assert event.partner_id is None


def test_removing_the_vendor_role_removes_staff_access(program_actor: Any, channel_manager: Any) -> None:
    services.vendor_user_set_role(actor=program_actor, user=channel_manager, role="")
    channel_manager.refresh_from_db()
    assert channel_manager.vendor_role == ""
    assert channel_manager.is_staff is False
    assert factories.actor_for(channel_manager).is_vendor is False


@pytest.mark.parametrize("who", ["cam", "finance", "partner_admin"])
def test_only_program_admins_set_vendor_roles(
    who: str, channel_manager: Any, finance_actor: Any, admin_actor: Any
) -> None:
    actor = {
        "cam": factories.actor_for(channel_manager),
        "finance": finance_actor,
        "partner_admin": admin_actor,
    }[who]
    target = factories.vendor_user(VendorRole.CONTENT_MANAGER, email="content@prm.example")
    with pytest.raises(PermissionDenied):
        services.vendor_user_set_role(actor=actor, user=target, role=VendorRole.PROGRAM_ADMIN)
    target.refresh_from_db()
    assert target.vendor_role == VendorRole.CONTENT_MANAGER
    assert _history(target) == []


def test_partner_user_cannot_get_a_vendor_role(program_actor: Any, partner_admin: Any) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        services.vendor_user_set_role(actor=program_actor, user=partner_admin, role=VendorRole.PROGRAM_ADMIN)
    _only_application_error(excinfo)
    partner_admin.refresh_from_db()
    assert partner_admin.vendor_role == ""
    assert partner_admin.is_staff is False
    assert _history(partner_admin) == []


def test_unknown_vendor_role_is_refused(program_actor: Any, channel_manager: Any) -> None:
    with pytest.raises(ApplicationError) as excinfo:
        services.vendor_user_set_role(actor=program_actor, user=channel_manager, role="god")
    assert _only_application_error(excinfo).field == "vendor_role"
    channel_manager.refresh_from_db()
    assert channel_manager.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER


def test_the_services_in_these_tests_run_in_their_actors_scope(
    partner: Partner, admin_actor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prm.tenancy import current_scope_settings

    seen: list[tuple[str, ...]] = []
    monkeypatch.setattr(audit, "record", lambda **kwargs: seen.append(current_scope_settings()))
    services.partner_update_profile(actor=admin_actor, partner=partner, data={"phone": "+1 555 0100"})
    assert seen == [("partner", str(partner.pk), "", "")]
