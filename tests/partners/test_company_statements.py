"""The company page's reads of the partner's profile change request and recent changes are kept
statements (prm.statements), compiled once per shape and kept, for an admin and for a role whose
history is filtered (each call is also checked against the ORM's own statement in the tests,
PRM["VERIFY_STATEMENTS"]), and what the page shows from them is the request and events as read
through the ORM."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from deals.panels import _ACTIVE_REQUIREMENTS
from partners import selectors, services
from partners.models import Partner, PartnerRole, ProfileChangeRequest
from prm.models import AuditEvent, User
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [PartnerRole.ADMIN, PartnerRole.SALES])
def test_the_company_statements_are_compiled_once_and_kept(
    partner: Partner, partner_admin: User, role: str, settings: Any
) -> None:
    assert settings.PRM["VERIFY_STATEMENTS"]
    admin_actor = factories.actor_for(partner_admin)
    services.partner_update_profile(
        actor=admin_actor, partner=partner, data={"legal_name": "Acme Renamed", "phone": "+1 555 0100"}
    )
    who = partner_admin if role == PartnerRole.ADMIN else factories.partner_user(partner, role=role)
    response = login(who).get(reverse("partners:company"))
    assert response.status_code == 200
    actor = factories.actor_for(who)
    assert selectors._COMPANY_PROFILE_CHANGE.is_kept(actor, partner_id=partner.pk)
    assert selectors._COMPANY_HISTORY.is_kept(actor, partner_id=partner.pk, limit=10)
    assert _ACTIVE_REQUIREMENTS.is_kept(actor)  # deals' company panel: the lines needing authorization


def test_the_request_and_events_are_the_orms(partner: Partner, partner_admin: User) -> None:
    actor = factories.actor_for(partner_admin)
    services.partner_update_profile(actor=actor, partner=partner, data={"phone": "+1 555 0101"})
    change = ProfileChangeRequest.objects.create(
        partner=partner,
        requested_by=partner_admin,
        partner_type=partner.partner_type,
        country="DE",
        region=partner.region,
        from_partner_type=partner.partner_type,
        from_country=partner.country,
        from_region=partner.region,
    )
    read = selectors.company_profile_change(actor=actor, partner=partner)
    assert read is not None and read.pk == change.pk
    assert read.changes == change.changes and read.changes
    assert read.status == change.status and read.requested_at == change.requested_at
    events = selectors.company_history(actor=actor, partner=partner)
    expected = list(AuditEvent.objects.filter(partner_id=partner.pk).order_by("-created_at", "-id")[:10])
    assert [(e.pk, e.action, e.actor_label, e.created_at, e.changes) for e in events] == [
        (e.pk, e.action, e.actor_label, e.created_at, e.changes) for e in expected
    ]
