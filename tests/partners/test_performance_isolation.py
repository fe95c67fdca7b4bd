"""Foreign ids on the scorecard admin: partner A's quarterly rating, asked for by B's channel
account manager (the admin's change, delete and history pages) and by B's partner admin, gets the
same answer as a missing id, shows nothing of A and changes nothing. A's channel account manager
opens the same pages (the control).

The same for the console's page of A's scorecard (``vendor:partner_scorecard``), which also takes
the channel account manager's rating: B's manager and B's partner admin get the 404 of a missing
partner, see none of A's figures or ratings and rate nothing; A's manager reads it and rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from partners.models import Partner, PartnerAssessment, ScorecardSnapshot
from partners.performance import services
from partners.performance.forms import recent_quarters
from prm.models import AuditEvent
from prm.tenancy import system_scope
from tests import factories
from tests.deals.factories import cam_for
from tests.isolation import Case, admin_cases, foreign_id_test
from tests.partners import scorecard_factories as sf
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
    # Scorecards for both, A's with a figure of its own (7 deals registered), so a leak would show.
    sf.template("Secretive template", lines=[("deals_registered", 100, 10)])
    for _n in range(7):
        sf.deal(a, "submitted")
    with system_scope():
        services.snapshots_compute(as_of=date(2026, 11, 29), today=date(2026, 11, 30))
    return Ratings(
        a=a, assessment=assessment, a_cam=a_cam.user, b_cam=cam_for(b).user, b_admin=factories.partner_user(b)
    )


def _state(world: Ratings) -> Any:
    return (
        list(PartnerAssessment.objects.order_by("pk").values()),
        AuditEvent.objects.filter(partner_id=world.a.pk).count(),
        list(ScorecardSnapshot.objects.order_by("pk").values_list("pk", "total_score")),
    )


PEOPLE = {"b_cam": lambda w: w.b_cam, "b_admin": lambda w: w.b_admin, "a_cam": lambda w: w.a_cam}


test_foreign_rating_ids_give_the_same_404_as_missing_ones = foreign_id_test(
    admin_cases(
        "partners.partnerassessment",
        lambda world, _asker: [world.assessment],
        outsiders=("b_cam",),
        partners=("b_admin",),
        controls=("a_cam",),
    ),
    world="ratings",
    people=PEOPLE,
    secrets=lambda world, _who: ["Acme Secretive Networks", "Missed the joint plan review twice"],
    state=_state,
)


def _rating(_world: Ratings, _objects: Any) -> dict[str, str]:
    return {"period_start": recent_quarters()[0].isoformat(), "rating": "5", "comment": "Overwritten by B"}


test_a_foreign_partners_scorecard_page_is_the_404_of_a_missing_one = foreign_id_test(
    [
        Case(
            "vendor:partner_scorecard",
            ("GET", "POST"),
            ("b_cam", "b_admin"),
            lambda world, _asker: [world.a],
            data=_rating,
            controls=("a_cam",),
        ),
    ],
    world="ratings",
    people=PEOPLE,
    secrets=lambda world, _who: [
        "Acme Secretive Networks",
        "Missed the joint plan review twice",
        "Secretive template",
        "Deals registered",
    ],
    state=_state,
)
