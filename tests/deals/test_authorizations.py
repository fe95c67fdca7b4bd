"""Product authorization (deals.authorizations): the Networking line needs tier Gold and 2 people
certified as 'Network Specialist'. Granted by the nightly rule run or by hand, warned before the
qualifying certifications expire, lapsed when they do, granted again; a deal on the line is refused
without it, in the portal and the API, with what is missing; the company page lists it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from deals import authorizations, tasks
from deals.models import (
    AuthorizationRequirement,
    AuthorizationSource,
    AuthorizationStatus,
    Deal,
    DealStatus,
    PartnerAuthorization,
    Product,
)
from partners.models import PartnerRole
from prm.errors import ApplicationError
from prm.models import AuditEvent, Notification
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as f
from tests.deals.test_api import Api
from tests.helpers import assert_constant_queries, login
from tests.training import factories as tf
from training.models import Certification

pytestmark = pytest.mark.django_db

REFUSAL = (
    "Authorization for Networking required: needs tier Gold and 2 people certified in "
    "'Network Specialist' (you have 1)."
)


@dataclass
class Program:
    requirement: AuthorizationRequirement
    certification: Certification
    switch: Product  # on the Networking line
    firewall: Product  # on a line that needs nothing


@pytest.fixture
def program(db: Any) -> Program:
    certification = tf.certification("Network Specialist", courses=[tf.course(lessons=1, quiz=False)])
    requirement = AuthorizationRequirement.objects.create(
        product_line="Networking",
        description="Switching needs trained engineers.",
        min_tier=factories.tier("Gold"),
        certification_id=certification.pk,
        certified_people=2,
        warning_days=30,
    )
    return Program(
        requirement=requirement,
        certification=certification,
        switch=f.product("Switch Y", price="10.00", line="Networking"),
        firewall=f.product("Firewall X", price="1000.00", line="Security"),
    )


def certify(
    person: Any,
    program: Program,
    *,
    expires_in: timedelta | None = None,
    until: datetime | None = None,
    **kw: Any,
) -> Any:
    award = tf.award(factories.actor_for(person), program.certification, expires_in=expires_in, **kw)
    if until is not None:  # an exact moment, to compare with what the rule computes
        award.expires_at = until
        award.save(update_fields=["expires_at"])
    return award


def authorization(team: f.Team, program: Program) -> PartnerAuthorization | None:
    return PartnerAuthorization.objects.filter(partner=team.partner, requirement=program.requirement).first()


def actions(team: f.Team) -> list[str]:
    return list(
        AuditEvent.objects.filter(partner_id=team.partner.pk, action__startswith="deals.authorization_")
        .order_by("pk")
        .values_list("action", flat=True)
    )


def notified(team: f.Team) -> list[str]:
    return list(
        Notification.objects.filter(recipient=team.admin, kind__startswith="deals.authorization_")
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def at(moment: datetime) -> Any:
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def qualified(team_a: f.Team, program: Program) -> datetime:
    """A (Gold) with two certified people, expiring in 100 and 200 days: qualifies until the first
    of them expires (then it has one). Returns that moment."""
    first = certify(team_a.sales, program, expires_in=timedelta(days=100))
    certify(team_a.sales2, program, until=first.expires_at + timedelta(days=100))
    return first.expires_at


def registration_form(product: Product) -> dict[str, str]:
    return {
        "customer_name": "Initrode",
        "customer_domain": "initrode.example",
        "customer_country": "US",
        "customer_region": "na",
        "stage": "qualification",
        "expected_close_date": (timezone.localdate() + timedelta(days=30)).isoformat(),
        "currency": "USD",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-product": str(product.pk),
        "lines-0-quantity": "3",
        "lines-0-unit_price": "10.00",
        "action": "submit",
    }


def registration_json(product: Product) -> dict[str, Any]:
    return {
        "customer_name": "Initrode",
        "customer_domain": "initrode.example",
        "customer_country": "US",
        "currency": "USD",
        "expected_close_date": (timezone.localdate() + timedelta(days=30)).isoformat(),
        "lines": [{"product": product.pk, "quantity": 3, "unit_price": "10.00"}],
    }


# --- granted by rule ---------------------------------------------------------------------------------
def test_the_nightly_run_grants_by_rule_until_the_qualifying_certifications_expire(
    team_a: f.Team, team_b: f.Team, program: Program, qualified: datetime
) -> None:
    # B has the people but is Silver: the rule asks for Gold.
    certify(team_b.sales, program, expires_in=timedelta(days=300))
    certify(team_b.sales2, program, expires_in=None)

    assert tasks.evaluate_authorizations() == {"granted": 1, "renewed": 0, "warned": 0, "lapsed": 0}

    granted = authorization(team_a, program)
    assert granted.status == AuthorizationStatus.ACTIVE
    assert granted.source == AuthorizationSource.RULE
    assert granted.valid_until == qualified  # the second-latest expiry: then only one is left
    assert granted.holds()
    assert authorization(team_b, program) is None
    assert actions(team_a) == ["deals.authorization_granted"]
    assert notified(team_a) == ["deals.authorization_granted"]
    # Idempotent: the same night again changes nothing and tells nobody twice.
    assert tasks.evaluate_authorizations() == {"granted": 0, "renewed": 0, "warned": 0, "lapsed": 0}
    assert actions(team_a) == ["deals.authorization_granted"]
    assert notified(team_a) == ["deals.authorization_granted"]


def test_people_who_left_the_partner_do_not_count(
    team_a: f.Team, program: Program, qualified: datetime
) -> None:
    membership = team_a.sales2.membership
    membership.is_active = False
    membership.save(update_fields=["is_active"])
    tasks.evaluate_authorizations()
    assert authorization(team_a, program) is None


def test_a_certification_that_never_expires_makes_a_grant_without_end(
    team_a: f.Team, program: Program
) -> None:
    certify(team_a.sales, program, expires_in=None)
    certify(team_a.sales2, program, expires_in=None)
    tasks.evaluate_authorizations()
    assert authorization(team_a, program).valid_until is None


# --- warned, lapsed, granted again -------------------------------------------------------------------
def test_warned_before_the_qualifying_certifications_expire_then_lapsed_at_expiry(
    team_a: f.Team, program: Program, qualified: datetime
) -> None:
    tasks.evaluate_authorizations()

    with at(qualified - timedelta(days=31)):  # outside the 30 days' warning
        assert tasks.evaluate_authorizations()["warned"] == 0
    with at(qualified - timedelta(days=29)):
        assert tasks.evaluate_authorizations()["warned"] == 1
        warned = authorization(team_a, program)
        assert warned.status == AuthorizationStatus.LAPSING
        assert warned.holds()  # still authorized while warned
        assert tasks.evaluate_authorizations()["warned"] == 0  # once
    note = Notification.objects.get(recipient=team_a.admin, kind="deals.authorization_lapsing")
    assert "Networking" in note.title and "lapses on" in note.title
    assert "2 people certified in 'Network Specialist'" in note.body

    with at(qualified + timedelta(seconds=1)):
        # Refused as soon as the certification expired, before any nightly run: the end is checked
        # when the deal is registered.
        with f.acting(team_a.sales_actor), pytest.raises(ApplicationError) as refused:
            f.draft(team_a.sales_actor, lines=[f.line(program.switch, 1, "10.00")])
        assert str(refused.value) == REFUSAL
        assert tasks.evaluate_authorizations()["lapsed"] == 1
        assert tasks.evaluate_authorizations()["lapsed"] == 0
    lapsed = authorization(team_a, program)
    assert lapsed.status == AuthorizationStatus.LAPSED
    assert lapsed.ended_at is not None
    assert actions(team_a) == [
        "deals.authorization_granted",
        "deals.authorization_lapsing",
        "deals.authorization_lapsed",
    ]
    assert notified(team_a) == [
        "deals.authorization_granted",
        "deals.authorization_lapsing",
        "deals.authorization_lapsed",
    ]


def test_granted_again_once_the_partner_qualifies_again(
    team_a: f.Team, program: Program, qualified: datetime
) -> None:
    tasks.evaluate_authorizations()
    with at(qualified + timedelta(days=1)):
        tasks.evaluate_authorizations()
        assert authorization(team_a, program).status == AuthorizationStatus.LAPSED
        # A third person certifies: two valid certifications again.
        third = factories.partner_user(team_a.partner, role=PartnerRole.SALES)
        renewed_until = certify(third, program, expires_in=timedelta(days=365)).expires_at
        assert tasks.evaluate_authorizations()["granted"] == 1
    again = authorization(team_a, program)
    assert again.status == AuthorizationStatus.ACTIVE
    assert again.ended_at is None and again.warned_at is None
    # The second-latest of 200 days (from the start) and 366 days: the first.
    assert again.valid_until == qualified + timedelta(days=100)
    assert renewed_until > again.valid_until
    assert actions(team_a) == [
        "deals.authorization_granted",
        "deals.authorization_lapsed",
        "deals.authorization_granted",
    ]


def test_a_renewed_certification_moves_the_end_and_lifts_the_warning(
    team_a: f.Team, program: Program, qualified: datetime
) -> None:
    tasks.evaluate_authorizations()
    with at(qualified - timedelta(days=10)):
        tasks.evaluate_authorizations()
        assert authorization(team_a, program).status == AuthorizationStatus.LAPSING
        certify(team_a.sales, program, expires_in=timedelta(days=700), cycle=2)
        assert tasks.evaluate_authorizations()["renewed"] == 1
    renewed = authorization(team_a, program)
    assert renewed.status == AuthorizationStatus.ACTIVE
    assert renewed.warned_at is None
    assert renewed.valid_until == qualified + timedelta(days=100)  # now the 200-day one is second
    assert actions(team_a)[-1] == "deals.authorization_renewed"


def test_a_partner_that_drops_below_the_tier_lapses(
    team_a: f.Team, program: Program, qualified: datetime
) -> None:
    tasks.evaluate_authorizations()
    team_a.partner.tier = factories.tier("Silver")
    team_a.partner.save(update_fields=["tier"])
    assert tasks.evaluate_authorizations()["lapsed"] == 1
    lapsed = authorization(team_a, program)
    assert lapsed.status == AuthorizationStatus.LAPSED
    event = AuditEvent.objects.filter(action="deals.authorization_lapsed").get()
    assert "tier Gold" in event.reason


# --- by hand -----------------------------------------------------------------------------------------
def test_a_program_admin_grants_by_hand_and_the_rule_leaves_it_alone(
    team_b: f.Team, program: Program, vendor_admin: Actor
) -> None:
    with f.acting(vendor_admin):
        with pytest.raises(ApplicationError, match="Say why"):
            authorizations.authorization_grant(
                actor=vendor_admin, partner=team_b.partner, requirement=program.requirement
            )
        granted = authorizations.authorization_grant(
            actor=vendor_admin,
            partner=team_b.partner,
            requirement=program.requirement,
            reason="Pilot partner for the new switches",
        )
    assert granted.status == AuthorizationStatus.ACTIVE
    assert granted.source == AuthorizationSource.MANUAL
    assert granted.granted_by == vendor_admin.user
    # B meets no rule (Silver, nobody certified), yet the nightly run keeps the vendor's grant.
    assert tasks.evaluate_authorizations() == {"granted": 0, "renewed": 0, "warned": 0, "lapsed": 0}
    assert authorization(team_b, program).holds()
    event = AuditEvent.objects.get(action="deals.authorization_granted", partner_id=team_b.partner.pk)
    assert event.actor == vendor_admin.user and event.reason == "Pilot partner for the new switches"
    # B's seller may now register on the line.
    deal = f.draft(team_b.sales_actor, lines=[f.line(program.switch, 1, "10.00")])
    assert f.submit(team_b.sales_actor, deal).status == DealStatus.SUBMITTED


def test_a_grant_by_hand_with_an_end_is_warned_and_lapses(
    team_b: f.Team, program: Program, vendor_admin: Actor
) -> None:
    end = timezone.now() + timedelta(days=60)
    with f.acting(vendor_admin):
        authorizations.authorization_grant(
            actor=vendor_admin,
            partner=team_b.partner,
            requirement=program.requirement,
            valid_until=end,
            reason="Trial quarter",
        )
    with at(end - timedelta(days=5)):
        assert tasks.evaluate_authorizations()["warned"] == 1
    with at(end):
        assert tasks.evaluate_authorizations()["lapsed"] == 1
    assert authorization(team_b, program).status == AuthorizationStatus.LAPSED


def test_only_the_partners_manager_or_a_program_admin_grants_and_revokes(
    team_a: f.Team, team_b: f.Team, program: Program, cam: Actor, qualified: datetime
) -> None:
    outsider = f.cam_for(team_b.partner)
    finance = factories.vendor_actor(VendorRole.FINANCE)
    for who in (outsider, finance, team_a.admin_actor):
        with f.acting(who), pytest.raises(PermissionDenied):
            authorizations.authorization_grant(
                actor=who, partner=team_a.partner, requirement=program.requirement, reason="Mine"
            )
    tasks.evaluate_authorizations()
    held = authorization(team_a, program)
    with f.acting(outsider), pytest.raises(PermissionDenied):
        authorizations.authorization_revoke(actor=outsider, authorization=held, reason="No")
    with f.acting(cam):
        with pytest.raises(ApplicationError, match="Say why"):
            authorizations.authorization_revoke(actor=cam, authorization=held, reason=" ")
        revoked = authorizations.authorization_revoke(
            actor=cam, authorization=held, reason="Support escalations unresolved"
        )
    assert revoked.status == AuthorizationStatus.REVOKED
    # The rule still holds, but a revocation is the vendor's decision: no re-grant at night...
    assert tasks.evaluate_authorizations()["granted"] == 0
    assert authorization(team_a, program).status == AuthorizationStatus.REVOKED
    # ... nor at registration, which says why.
    with f.acting(team_a.sales_actor), pytest.raises(ApplicationError, match="revoked"):
        f.draft(team_a.sales_actor, lines=[f.line(program.switch, 1, "10.00")])
    assert notified(team_a)[-1] == "deals.authorization_revoked"
    # Granted again by hand by the partner's manager.
    with f.acting(cam):
        again = authorizations.authorization_grant(
            actor=cam, partner=team_a.partner, requirement=program.requirement, reason="Escalations closed"
        )
    assert again.status == AuthorizationStatus.ACTIVE and again.source == AuthorizationSource.MANUAL


# --- registration ---------------------------------------------------------------------------------
def test_registration_on_the_line_is_refused_in_the_portal_with_what_is_missing(
    team_a: f.Team, program: Program
) -> None:
    certify(team_a.sales, program, expires_in=timedelta(days=100))
    response = login(team_a.sales).post(reverse("deals:create"), registration_form(program.switch))
    assert response.status_code == 400
    assert response.context["lines_error"] == REFUSAL
    assert REFUSAL.replace("'", "&#x27;") in response.content.decode()
    assert not Deal.objects.filter(partner=team_a.partner).exists()


def test_registration_on_the_line_is_refused_by_the_api_with_the_same_words(
    team_a: f.Team, program: Program
) -> None:
    certify(team_a.sales, program, expires_in=timedelta(days=100))
    response = Api(team_a.sales).post(reverse("api-deal-list"), registration_json(program.switch))
    assert response.status_code == 400
    assert json.loads(response.content) == {"detail": REFUSAL, "field": "lines", "problems": [REFUSAL]}
    assert not Deal.objects.filter(partner=team_a.partner).exists()


def test_a_draft_whose_authorization_lapsed_is_not_submitted(
    team_a: f.Team, program: Program, qualified: datetime
) -> None:
    tasks.evaluate_authorizations()
    created = Api(team_a.sales).post(reverse("api-deal-list"), registration_json(program.switch))
    assert created.status_code == 201
    pk = created.json()["id"]
    with at(qualified + timedelta(hours=1)):
        response = Api(team_a.sales).post(reverse("api-deal-submit", args=[pk]))
        assert response.status_code == 400
        assert REFUSAL in response.json()["problems"]
        # The portal's submit says the same on the deal's page.
        page = login(team_a.sales).post(reverse("deals:submit", args=[pk]), follow=True)
        assert REFUSAL.replace("'", "&#x27;") in page.content.decode()
    assert Deal.objects.get(pk=pk).status == DealStatus.DRAFT


def test_an_authorized_partner_registers_on_the_line(
    team_a: f.Team, program: Program, qualified: datetime
) -> None:
    tasks.evaluate_authorizations()
    response = login(team_a.sales).post(reverse("deals:create"), registration_form(program.switch))
    assert response.status_code == 302
    deal = Deal.objects.get(partner=team_a.partner)
    assert deal.status == DealStatus.SUBMITTED
    api = Api(team_a.sales2).post(reverse("api-deal-list"), registration_json(program.switch))
    assert api.status_code == 201


def test_a_partner_meeting_the_rule_before_the_nightly_run_is_granted_at_registration(
    team_a: f.Team, program: Program, qualified: datetime
) -> None:
    assert authorization(team_a, program) is None
    deal = f.draft(team_a.sales_actor, lines=[f.line(program.switch, 1, "10.00")])
    assert deal.pk
    granted = authorization(team_a, program)
    assert granted.source == AuthorizationSource.RULE and granted.valid_until == qualified
    assert actions(team_a) == ["deals.authorization_granted"]


def test_lines_that_need_nothing_and_inactive_requirements_are_not_checked(
    team_b: f.Team, program: Program
) -> None:
    f.submit(team_b.sales_actor, f.draft(team_b.sales_actor, lines=[f.line(program.firewall, 1, "10.00")]))
    program.requirement.active = False
    program.requirement.save(update_fields=["active"])
    lines = [f.line(program.switch, 1, "10.00")]
    deal = f.draft(team_b.sales_actor, lines=lines, customer="Umbrella", domain="umbrella.example")
    assert f.submit(team_b.sales_actor, deal).status == DealStatus.SUBMITTED


def test_a_line_granted_only_by_hand_says_whom_to_ask(team_b: f.Team, program: Program) -> None:
    AuthorizationRequirement.objects.create(product_line="Security")
    with f.acting(team_b.sales_actor), pytest.raises(ApplicationError) as refused:
        f.draft(team_b.sales_actor, lines=[f.line(program.firewall, 1, "10.00")])
    assert str(refused.value) == (
        "Authorization for Security required: the vendor grants it; ask your channel account manager."
    )


# --- the company page --------------------------------------------------------------------------------
def test_the_company_page_lists_authorizations_and_what_each_needs(
    team_a: f.Team, team_b: f.Team, program: Program, qualified: datetime
) -> None:
    tasks.evaluate_authorizations()
    AuthorizationRequirement.objects.create(product_line="Security", description="Managed firewalls only.")
    page = login(team_a.sales).get(reverse("partners:company"))
    assert page.status_code == 200
    text = page.content.decode().replace("&#x27;", "'")
    panel = text[text.index('id="authorizations"') :]
    assert "Networking" in panel and "Authorized" in panel
    assert "tier Gold and 2 people certified in 'Network Specialist'" in panel
    assert "2 of 2 people certified in Network Specialist" in panel
    assert "Security" in panel and "Managed firewalls only." in panel
    assert "Granted by the vendor: ask your channel account manager." in panel

    # B (Silver, one certified person): not authorized, and what it lacks.
    certify(team_b.sales, program, expires_in=timedelta(days=50))
    other = login(team_b.admin).get(reverse("partners:company")).content.decode().replace("&#x27;", "'")
    panel = other[other.index('id="authorizations"') :]
    assert "Not authorized" in panel
    assert "Tier Gold or higher (yours: Silver)" in panel
    assert "1 of 2 people certified in Network Specialist" in panel
    assert team_a.partner.legal_name not in other


def test_the_company_page_shows_no_panel_when_no_line_needs_an_authorization(team_a: f.Team) -> None:
    page = login(team_a.admin).get(reverse("partners:company"))
    assert 'id="authorizations"' not in page.content.decode()


def test_the_company_panel_runs_the_same_queries_for_1_and_50_lines(
    team_a: f.Team, program: Program, qualified: datetime
) -> None:
    tasks.evaluate_authorizations()
    admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)

    def grow() -> None:
        for n in range(49):
            certification = tf.certification(f"Track {n}", courses=[tf.course(lessons=1, quiz=False)])
            requirement = AuthorizationRequirement.objects.create(
                product_line=f"Line {n:02d}", certification_id=certification.pk, certified_people=1
            )
            certify(team_a.sales, Program(requirement, certification, program.switch, program.firewall),
                    expires_in=timedelta(days=90 + n))  # fmt: skip
            if n % 2:
                with f.acting(admin):
                    authorizations.authorization_grant(
                        actor=admin, partner=team_a.partner, requirement=requirement, reason="Pilot"
                    )

    def rows(response: Any) -> int:
        (panel,) = [p for p in response.context["panels"] if p["template"].endswith("authorizations.html")]
        return len(panel["rows"])

    assert_constant_queries(
        login(team_a.admin),
        reverse("partners:company"),
        grow,
        rows=rows,
        shows=lambda: list(AuthorizationRequirement.objects.values_list("product_line", flat=True)),
        within="authorization-list",
    )
