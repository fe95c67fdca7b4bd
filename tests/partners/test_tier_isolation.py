"""Foreign ids on the tier reviews: partner A's tier change proposal and grace period, asked for by
B's channel account manager and by partner users (B's admin, and A's own: proposals are the
vendor's), get the same answer as a missing id, show nothing of A and change nothing. A's channel
account manager opens the admin pages (the control)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from partners.models import Partner, TierChangeProposal, TierGracePeriod
from partners.performance import tier_services
from prm.models import AuditEvent
from prm.tenancy import system_scope
from tests import factories
from tests.deals.factories import cam_for
from tests.isolation import Case, admin_cases, foreign_id_test


@dataclass
class TierWorld:
    a: Partner
    proposal: TierChangeProposal
    grace: TierGracePeriod
    a_cam: Any
    a_admin: Any
    b_cam: Any
    b_admin: Any


@pytest.fixture
def tier_world(db: Any) -> TierWorld:
    silver = next(tier for tier in factories.default_tiers() if tier.name == "Silver")
    a = factories.PartnerFactory(legal_name="Acme Secretive Networks", tier=silver)
    b = factories.PartnerFactory(legal_name="Globex Systems")
    a_cam = cam_for(a)
    with system_scope():
        tier_services.tiers_evaluate(today=date(2027, 1, 1))
        tier_services.tiers_evaluate(today=date(2027, 1, 1) + timedelta(days=90))
    grace = TierGracePeriod.objects.create(
        partner=a,
        tier=silver,
        started_on=date(2027, 5, 1),
        ends_on=date(2027, 7, 30),
        as_of=date(2027, 4, 30),
    )
    return TierWorld(
        a=a,
        proposal=TierChangeProposal.objects.get(partner=a),
        grace=grace,
        a_cam=a_cam.user,
        a_admin=factories.partner_user(a),
        b_cam=cam_for(b).user,
        b_admin=factories.partner_user(b),
    )


def _state(world: TierWorld) -> Any:
    return (
        list(TierChangeProposal.objects.order_by("pk").values()),
        list(Partner.objects.filter(pk=world.a.pk).values("tier_id")),
        AuditEvent.objects.filter(partner_id=world.a.pk).count(),
    )


CASES = [
    Case(
        "vendor:tier_proposal_approve",
        ("POST",),
        ("b_cam", "b_admin", "a_admin"),
        lambda world, _asker: [world.proposal],
    ),
    Case(
        "vendor:tier_proposal_waive",
        ("POST",),
        ("b_cam", "b_admin", "a_admin"),
        lambda world, _asker: [world.proposal],
        data={"note": "Keep them"},
    ),
    *admin_cases(
        "partners.tierchangeproposal",
        lambda world, _asker: [world.proposal],
        outsiders=("b_cam",),
        partners=("b_admin", "a_admin"),
        controls=("a_cam",),
    ),
    *admin_cases(
        "partners.tiergraceperiod",
        lambda world, _asker: [world.grace],
        outsiders=("b_cam",),
        partners=("b_admin", "a_admin"),
        controls=("a_cam",),
    ),
]

test_foreign_tier_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    CASES,
    world="tier_world",
    people={
        "b_cam": lambda w: w.b_cam,
        "b_admin": lambda w: w.b_admin,
        "a_admin": lambda w: w.a_admin,
        "a_cam": lambda w: w.a_cam,
    },
    secrets=lambda world, _who: ["Acme Secretive Networks"],
    state=_state,
)
