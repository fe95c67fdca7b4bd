"""Foreign ids on the scorecard admin: partner A's quarterly rating, asked for by B's channel
account manager (the admin's change, delete and history pages) and by B's partner admin, gets the
same answer as a missing id, shows nothing of A and changes nothing. A's channel account manager
opens the same pages (the control)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from partners.models import Partner, PartnerAssessment
from partners.performance import services
from prm.models import AuditEvent
from tests import factories
from tests.deals.factories import cam_for
from tests.isolation import admin_cases, foreign_id_test
from tests.scoping import acting


@dataclass
class Ratings:
    a: Partner
    assessment: PartnerAssessment
    a_cam: Any
    b_cam: Any
    b_admin: Any


@pytest.fixture
def ratings(db: Any) -> Ratings:
    a = factories.PartnerFactory(legal_name="Acme Secretive Networks")
    b = factories.PartnerFactory(legal_name="Globex Systems")
    a_cam = cam_for(a)
    with acting(a_cam):
        assessment = services.assessment_record(
            actor=a_cam,
            partner=a,
            period_start=date(2026, 10, 1),
            rating=2,
            comment="Missed the joint plan review twice",
        )
    return Ratings(
        a=a, assessment=assessment, a_cam=a_cam.user, b_cam=cam_for(b).user, b_admin=factories.partner_user(b)
    )


def _state(world: Ratings) -> Any:
    return (
        list(PartnerAssessment.objects.order_by("pk").values()),
        AuditEvent.objects.filter(partner_id=world.a.pk).count(),
    )


test_foreign_rating_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    admin_cases(
        "partners.partnerassessment",
        lambda world, _asker: [world.assessment],
        outsiders=("b_cam",),
        partners=("b_admin",),
        controls=("a_cam",),
    ),
    world="ratings",
    people={"b_cam": lambda w: w.b_cam, "b_admin": lambda w: w.b_admin, "a_cam": lambda w: w.a_cam},
    secrets=lambda world, _who: ["Acme Secretive Networks", "Missed the joint plan review twice"],
    state=_state,
)
