"""Qualitative assessments: a channel account manager rates the portfolio's partners (1 to 5, per
quarter, with a comment), a program admin any partner; nobody else records one. A partner's admins
read their own company's ratings, no other partner ever does. Recording again replaces the rating,
audited; and the rating is a KPI like the others. Also the scorecard admin pages (KPI switches,
templates with their validation, ratings) as signed-in vendor staff."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from partners.models import KpiSetting, PartnerAssessment, PartnerRole, ScorecardTemplate
from partners.performance import services
from partners.performance.policies import assessment_policy
from prm.errors import ApplicationError
from prm.models import AuditEvent
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor, Scope
from tests import factories
from tests.deals.factories import cam_for
from tests.helpers import count, login
from tests.partners import scorecard_factories as sf
from tests.partners.scorecard_factories import at
from tests.scoping import acting

pytestmark = pytest.mark.django_db

Q1 = date(2027, 1, 1)


def record(actor: Actor, partner: Any, **kwargs: Any) -> PartnerAssessment:
    values = {
        "period_start": Q1,
        "rating": 4,
        "comment": "Strong pipeline, slow on certifications.",
        **kwargs,
    }
    with acting(actor):
        return services.assessment_record(actor=actor, partner=partner, **values)


@pytest.fixture
def people(db: Any) -> dict[str, Any]:
    a, b = factories.PartnerFactory(legal_name="Acme"), factories.PartnerFactory(legal_name="Globex")
    return {
        "a": a,
        "b": b,
        "program_admin": factories.vendor_actor(),
        "cam_a": cam_for(a),
        "cam_b": cam_for(b),
        "finance": factories.vendor_actor(VendorRole.FINANCE),
        "content_manager": factories.vendor_actor(VendorRole.CONTENT_MANAGER),
        "a_admin": factories.actor_for(factories.partner_user(a, role=PartnerRole.ADMIN)),
        "a_sales": factories.actor_for(factories.partner_user(a, role=PartnerRole.SALES)),
        "a_learner": factories.actor_for(factories.partner_user(a, role=PartnerRole.LEARNER)),
        "b_admin": factories.actor_for(factories.partner_user(b, role=PartnerRole.ADMIN)),
    }


MAY_RECORD = {"program_admin", "cam_a"}
MAY_READ = {"program_admin", "cam_a", "a_admin"}
EVERYBODY = [
    "program_admin",
    "cam_a",
    "cam_b",
    "finance",
    "content_manager",
    "a_admin",
    "a_sales",
    "a_learner",
    "b_admin",
]


@time_machine.travel(at(2027, 2, 10, 9), tick=False)
@pytest.mark.parametrize("who", EVERYBODY)
def test_who_rates_a_partner_and_who_reads_the_rating(people: dict[str, Any], who: str) -> None:
    actor = people[who]
    existing = record(people["program_admin"], people["a"], period_start=date(2026, 10, 1))
    if who in MAY_RECORD:
        assert record(actor, people["a"]).rating == 4
    else:
        with pytest.raises(PermissionDenied):
            record(actor, people["a"])
    with acting(actor):
        visible = list(assessment_policy.scope(actor).values_list("pk", flat=True))
        assert assessment_policy.can(actor, "view", existing) is (who in MAY_READ)
    assert (existing.pk in visible) is (who in MAY_READ)


@time_machine.travel(at(2027, 2, 10, 9), tick=False)
def test_the_database_keeps_ratings_to_their_partner(people: dict[str, Any]) -> None:
    assessment = record(people["cam_a"], people["a"])
    table = PartnerAssessment._meta.db_table
    assert count(table, "id = %s", [assessment.pk], scope=Scope.partner(people["b"].pk)) == 0
    assert count(table, "id = %s", [assessment.pk], scope=Scope.partner(people["a"].pk)) == 1
    assert count(table, "id = %s", [assessment.pk], scope=Scope.vendor(portfolio=[people["b"].pk])) == 0
    assert count(table, "id = %s", [assessment.pk], scope=Scope.vendor(portfolio=[people["a"].pk])) == 1


@time_machine.travel(at(2027, 2, 10, 9), tick=False)
def test_rating_again_replaces_the_quarters_rating_and_both_are_audited(people: dict[str, Any]) -> None:
    first = record(people["cam_a"], people["a"], period_start=date(2027, 2, 3), rating=3)
    assert first.period_start == Q1  # any day names its quarter
    second = record(people["program_admin"], people["a"], rating="5", comment="  Closed the Initech deal. ")
    assert second.pk == first.pk and PartnerAssessment.objects.count() == 1
    second.refresh_from_db()
    assert (second.rating, second.comment, second.assessed_by) == (
        5,
        "Closed the Initech deal.",
        people["program_admin"].user,
    )
    events = list(
        AuditEvent.objects.filter(partner_id=people["a"].pk, action__startswith="partner.assessment_")
    )
    assert [event.action for event in reversed(events)] == [
        "partner.assessment_recorded",
        "partner.assessment_changed",
    ]
    assert events[0].before["rating"] == 3 and events[0].after["rating"] == 5
    assert events[0].after["quarter"] == "2027 Q1"


@time_machine.travel(at(2027, 2, 10, 9), tick=False)
@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"period_start": date(2027, 4, 1)}, "period_start"),  # the next quarter has not begun
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "four"}, "rating"),
        ({"comment": "   "}, "comment"),
        ({"comment": "x" * 2001}, "comment"),
    ],
)
def test_a_rating_is_checked(people: dict[str, Any], values: dict[str, Any], field: str) -> None:
    with pytest.raises(ApplicationError) as refused:
        record(people["cam_a"], people["a"], **values)
    assert refused.value.field == field
    assert not PartnerAssessment.objects.exists()


# --- the admin ---------------------------------------------------------------------------------------
def _add_rating(user: Any, partner: Any, **overrides: Any) -> Any:
    data = {
        "partner": partner.pk,
        "period_start": "2027-02-10",
        "rating": "4",
        "comment": "Good quarter.",
        **overrides,
    }
    return login(user).post(reverse("admin:partners_partnerassessment_add"), data)


@time_machine.travel(at(2027, 2, 10, 9), tick=False)
def test_a_channel_account_manager_rates_the_portfolio_in_the_admin(people: dict[str, Any]) -> None:
    cam = people["cam_a"].user
    response = _add_rating(cam, people["a"])
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = PartnerAssessment.objects.get()
    assert (saved.partner, saved.period_start, saved.rating, saved.assessed_by) == (people["a"], Q1, 4, cam)
    assert AuditEvent.objects.filter(action="partner.assessment_recorded", actor=cam).exists()
    # A partner outside the portfolio is not offered, and a posted id is refused.
    refused = _add_rating(cam, people["b"])
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    # The same quarter again: change the existing rating instead.
    again = _add_rating(cam, people["a"], period_start="2027-03-31")
    assert again.status_code == 200 and "already exists" in again.content.decode()
    # The list shows the portfolio's ratings only.
    record(people["program_admin"], people["b"])
    listed = login(cam).get(reverse("admin:partners_partnerassessment_changelist"))
    assert "Acme" in listed.content.decode() and "Globex" not in listed.content.decode()


@time_machine.travel(at(2027, 2, 10, 9), tick=False)
def test_the_admin_refuses_a_quarter_to_come_on_the_field(people: dict[str, Any]) -> None:
    response = _add_rating(people["program_admin"].user, people["b"], period_start="2027-05-02")
    assert response.status_code == 200
    assert "A quarter that has not begun cannot be rated yet." in response.content.decode()
    assert not PartnerAssessment.objects.exists()


def _template_post(lines: list[tuple[str, str, str, str]], **fields: str) -> dict[str, str]:
    data = {
        "name": "Resellers",
        "description": "",
        "tier": "",
        "partner_type": "reseller",
        "is_active": "on",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        **fields,
    }
    for index, (kpi, weight, target, bands) in enumerate(lines):
        data.update(
            {
                f"lines-{index}-position": str(index),
                f"lines-{index}-kpi": kpi,
                f"lines-{index}-weight": weight,
                f"lines-{index}-target": target,
                f"lines-{index}-bands": bands,
            }
        )
    return data


BANDS = '[["50", "40"], ["100", "100"]]'


def test_a_program_admin_defines_a_template_and_the_admin_explains_what_is_wrong(program_admin: Any) -> None:
    client = login(program_admin)
    url = reverse("admin:partners_scorecardtemplate_add")
    wrong = client.post(
        url,
        _template_post(
            [
                ("won_revenue", "60", "100000", BANDS),
                ("win_rate", "30", "40", '[["100", "80"], ["50", "90"]]'),
            ]
        ),
    )
    text = wrong.content.decode()
    assert wrong.status_code == 200 and not ScorecardTemplate.objects.exists()
    assert "The weights add up to 90; they must add up to 100." in text
    assert "win_rate: Bands must be in ascending order of threshold" in text

    right = client.post(
        url, _template_post([("won_revenue", "60", "100000", BANDS), ("win_rate", "40", "40", BANDS)])
    )
    assert right.status_code == 302
    template = ScorecardTemplate.objects.get()
    assert [(line.kpi, line.weight) for line in template.lines.all()] == [
        ("won_revenue", 60),
        ("win_rate", 40),
    ]
    event = AuditEvent.objects.get(action="scorecards.template_created")
    assert [line["kpi"] for line in event.after["lines"]] == ["won_revenue", "win_rate"]

    # A second active template for the same audience is refused.
    twin = client.post(url, _template_post([("won_revenue", "100", "1", BANDS)], name="Twin"))
    assert "Another active template already applies to this tier and partner type." in twin.content.decode()


def test_channel_account_managers_read_templates_but_do_not_change_them(channel_manager: Any) -> None:
    template = sf.template("Standard", lines=[("won_revenue", 100, 1000)])
    client = login(channel_manager)
    assert (
        client.get(reverse("admin:partners_scorecardtemplate_change", args=[template.pk])).status_code == 200
    )
    assert client.get(reverse("admin:partners_scorecardtemplate_add")).status_code == 403
    assert client.get(reverse("admin:partners_kpisetting_changelist")).status_code == 403


def test_the_kpi_list_shows_every_kpi_and_switches_them(program_admin: Any) -> None:
    client = login(program_admin)
    url = reverse("admin:partners_kpisetting_changelist")
    page = client.get(url)
    assert page.status_code == 200 and "Won revenue (12 months)" in page.content.decode()
    assert KpiSetting.objects.filter(key="won_revenue", enabled=True).exists()
    selected = KpiSetting.objects.filter(key__in=["won_revenue", "mdf_roi"]).values_list("pk", flat=True)
    response = client.post(url, {"action": "switch_off", "_selected_action": [str(pk) for pk in selected]})
    assert response.status_code == 302
    assert set(KpiSetting.objects.filter(enabled=False).values_list("key", flat=True)) == {
        "won_revenue",
        "mdf_roi",
    }
    assert AuditEvent.objects.filter(action="scorecards.kpi_switched_off").count() == 2
