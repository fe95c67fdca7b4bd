"""Approval limits are written through ``mdf.services.approval_limit_save`` and
``approval_limit_remove``, which check that a program admin is setting them and audit each change on
the manager; the admin page calls them rather than saving and auditing by hand."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from mdf import services
from mdf.models import ApprovalLimit
from prm.models import AuditEvent
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from tests import factories
from tests.helpers import login
from tests.mdf import factories as m
from tests.mdf.factories import acting

pytestmark = pytest.mark.django_db


def _limit_of(manager: Any) -> Decimal | None:
    """The limit as the approval reads it: in the manager's own request."""
    with acting(factories.actor_for(manager)):
        return services.approval_limit_of(manager, "USD")


def _events(action: str, target: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, target_id=str(target.pk)).order_by("pk"))


def test_a_limit_is_set_changed_and_removed_through_the_services_and_audited_on_the_manager() -> None:
    admin = m.program_admin()
    cam = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER)
    default = Decimal(settings.PRM["MDF_DEFAULT_CAM_APPROVAL_LIMIT"])

    with acting(admin):
        limit = services.approval_limit_save(
            actor=admin, limit=ApprovalLimit(user=cam, amount=Decimal("5000.00"), currency="USD")
        )
    [set_event] = _events("mdf.approval_limit_set", cam)
    assert (set_event.actor, set_event.before) == (admin.user, {})
    assert set_event.after == {"amount": "5000.00", "currency": "USD"}
    assert _limit_of(cam) == Decimal("5000.00")

    limit.amount = Decimal("8000.00")
    with acting(admin):
        services.approval_limit_save(actor=admin, limit=limit)
    [changed] = _events("mdf.approval_limit_changed", cam)
    assert (changed.actor, changed.before, changed.after) == (
        admin.user,
        {"amount": "5000.00", "currency": "USD"},
        {"amount": "8000.00", "currency": "USD"},
    )
    assert _limit_of(cam) == Decimal("8000.00")

    with acting(admin):
        services.approval_limit_remove(actor=admin, limit=limit)
    [removed] = _events("mdf.approval_limit_removed", cam)
    assert (removed.actor, removed.before, removed.after) == (
        admin.user,
        {"amount": "8000.00", "currency": "USD"},
        {},
    )
    assert not ApprovalLimit.objects.filter(user=cam).exists()
    assert _limit_of(cam) == default


@pytest.mark.parametrize("role", [VendorRole.CHANNEL_ACCOUNT_MANAGER, VendorRole.FINANCE])
def test_only_program_admins_set_or_remove_approval_limits(role: str) -> None:
    actor = factories.vendor_actor(role)
    existing = ApprovalLimit.objects.create(
        user=factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER),
        amount=Decimal("5000.00"),
        currency="USD",
    )
    # A channel account manager raising their own limit is the case that matters most.
    own = ApprovalLimit(user=actor.user, amount=Decimal("1000000.00"), currency="USD")
    existing.amount = Decimal("1000000.00")

    with acting(actor):
        for call in (
            lambda: services.approval_limit_save(actor=actor, limit=own),
            lambda: services.approval_limit_save(actor=actor, limit=existing),
            lambda: services.approval_limit_remove(actor=actor, limit=existing),
        ):
            with pytest.raises(PermissionDenied, match="Only program admins set approval limits"):
                call()

    assert not ApprovalLimit.objects.filter(user=actor.user).exists()
    assert ApprovalLimit.objects.get(pk=existing.pk).amount == Decimal("5000.00")
    assert not AuditEvent.objects.filter(action__startswith="mdf.approval_limit_").exists()


def test_the_admin_changes_and_removes_limits_through_the_services(monkeypatch: Any) -> None:
    called: list[str] = []
    save, remove = services.approval_limit_save, services.approval_limit_remove

    def spy(name: str, service: Any) -> Any:
        def call(**kwargs: Any) -> Any:
            called.append(name)
            return service(**kwargs)

        return call

    monkeypatch.setattr(services, "approval_limit_save", spy("save", save))
    monkeypatch.setattr(services, "approval_limit_remove", spy("remove", remove))
    program_admin = factories.vendor_user(VendorRole.PROGRAM_ADMIN, email="ada.admin@prm.example")
    cam = factories.vendor_user(VendorRole.CHANNEL_ACCOUNT_MANAGER)
    limit = ApprovalLimit.objects.create(user=cam, amount=Decimal("5000.00"), currency="USD")
    client = login(program_admin)

    response = client.post(
        reverse("admin:mdf_approvallimit_change", args=[limit.pk]), {"amount": "7500", "currency": "USD"}
    )
    assert response.status_code == 302
    [changed] = _events("mdf.approval_limit_changed", cam)
    assert changed.actor == program_admin
    assert Decimal(changed.before["amount"]) == Decimal("5000")
    assert Decimal(changed.after["amount"]) == Decimal("7500")

    response = client.post(reverse("admin:mdf_approvallimit_delete", args=[limit.pk]), {"post": "yes"})
    assert response.status_code == 302
    [removed] = _events("mdf.approval_limit_removed", cam)
    assert removed.actor == program_admin
    assert not ApprovalLimit.objects.filter(pk=limit.pk).exists()
    assert called == ["save", "remove"]
