"""Training reads: the catalogue by role with progress flags, public verification, certified-people
counts, and who sees whose enrolments and awards."""

from __future__ import annotations

import copy
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

import pytest
from django.http import Http404

from partners.models import PartnerRole
from prm.roles import VendorRole
from prm.tenancy import tenant_scope
from tests import factories
from tests.isolation import built_once
from tests.training import factories as f
from training import selectors, services
from training.models import AwardStatus, CertificationAward, Enrollment

pytestmark = pytest.mark.django_db


def test_catalogue_shows_published_courses_for_the_role_with_progress(partner: Any) -> None:
    me = f.learner(partner, role=PartnerRole.SALES)
    done = f.course("A done", roles=[PartnerRole.SALES, PartnerRole.LEARNER])
    started = f.course("B started", roles=[PartnerRole.SALES], lessons=3)
    untouched = f.course("C untouched", roles=[PartnerRole.SALES])
    f.course("D marketing only", roles=[PartnerRole.MARKETING])
    f.course("E draft", roles=[PartnerRole.SALES], published=False)
    f.pass_course(me, done)
    with f.acting(me):
        services.lesson_complete(actor=me, lesson=started.lessons[0])
    # Someone else's progress does not show in my flags.
    other = f.learner(partner, role=PartnerRole.SALES)
    f.pass_course(other, untouched)
    with f.acting(me):
        rows = [(c.title, c.lesson_count, c.enrolled, c.completed) for c in selectors.catalogue(actor=me)]
    assert rows == [
        ("A done", 2, True, True),
        ("B started", 3, True, False),
        ("C untouched", 2, False, False),
    ]


def test_catalogue_for_vendor_staff_is_empty() -> None:
    f.course()
    assert list(selectors.catalogue(actor=factories.vendor_actor())) == []


@built_once
def award_world() -> CertificationAward:
    """A learner of ``partner`` (tests/conftest.py) certified. Built once for the module
    (tests/isolation.py): each test runs in a savepoint of its own."""
    partner = factories.PartnerFactory(legal_name="Acme Networks")
    built = f.course()
    f.certification("Certified Cloud Architect", courses=[built])
    me = f.learner(partner)
    f.pass_course(me, built)
    return CertificationAward.objects.get(user=me.user)


@pytest.fixture
def awarded(award_world: CertificationAward) -> CertificationAward:
    # A copy: what a test changes on the objects in memory must not reach the next test.
    return copy.deepcopy(award_world)


@pytest.mark.parametrize("transform", [str, str.lower, lambda c: f"  {c.lower()}\n", lambda c: f"\t{c} "])
def test_verify_finds_an_award_by_its_code_any_case_and_spacing(
    awarded: CertificationAward, transform: Any
) -> None:
    with tenant_scope(None):  # the public page runs with no tenant scope
        found = selectors.verify(code=transform(awarded.verification_code))
    assert found is not None
    assert found.pk == awarded.pk
    assert found.certification.name == "Certified Cloud Architect"


@pytest.mark.parametrize("code", ["", "   ", None, "000000000000", "ABC", "X" * 17])
def test_verify_returns_none_for_unknown_or_overlong_codes(awarded: CertificationAward, code: Any) -> None:
    with tenant_scope(None):
        assert selectors.verify(code=code) is None


def test_verify_refuses_an_overlong_code_that_contains_a_real_one(awarded: CertificationAward) -> None:
    with tenant_scope(None):
        assert selectors.verify(code=awarded.verification_code + "00000") is None


def test_certified_people_count_counts_distinct_valid_people_per_partner(
    partner: Any, other_partner: Any
) -> None:
    one, two = f.certification(courses=[f.course()]), f.certification(courses=[f.course()])
    a1, a2, a3, a4 = (f.learner(partner) for _ in range(4))
    f.award(a1, one, expires_in=timedelta(days=100))
    f.award(a1, two, expires_in=None)  # same person twice: counted once
    f.award(a2, one, expires_in=timedelta(days=1))
    f.award(a3, one, expires_in=timedelta(days=-1))  # past due, not yet swept: excluded
    f.award(a4, one, expires_in=timedelta(days=100), status=AwardStatus.EXPIRED)  # excluded
    b1 = f.learner(other_partner)
    f.award(b1, two, expires_in=timedelta(days=10))
    third = factories.PartnerFactory()
    f.award(f.learner(third), one, expires_in=timedelta(days=-30))

    ours = {partner.pk, other_partner.pk, third.pk}
    with f.acting(factories.vendor_actor(VendorRole.CONTENT_MANAGER)):  # as the vendor report reads it
        everyone = selectors.certified_people_count()
        assert {key: value for key, value in everyone.items() if key in ours} == {
            partner.pk: 2,
            other_partner.pk: 1,
        }
        assert selectors.certified_people_count(partner_ids=[other_partner.pk, third.pk]) == {
            other_partner.pk: 1
        }
        assert selectors.certified_people_count(partner_ids=[]) == {}


@built_once
def companies_world() -> dict[str, Any]:
    """Two partners (``partner`` and ``other_partner``, tests/conftest.py), each with an admin and
    learners who passed a certified course. Built once for the module (tests/isolation.py): each
    test runs in a savepoint of its own."""
    partner = factories.PartnerFactory(legal_name="Acme Networks")
    other_partner = factories.PartnerFactory(legal_name="Globex Systems")
    built = f.course()
    f.certification(courses=[built])
    people = {
        "a_admin": f.learner(partner, role=PartnerRole.ADMIN),
        "a1": f.learner(partner),
        "a2": f.learner(partner),
        "b_admin": f.learner(other_partner, role=PartnerRole.ADMIN),
        "b1": f.learner(other_partner),
    }
    for key in ("a1", "a2", "b1"):
        f.pass_course(people[key], built)
    return {"two_companies": people, "partner": partner, "other_partner": other_partner}


@pytest.fixture
def world(companies_world: dict[str, Any]) -> dict[str, Any]:
    # A copy: what a test changes on the objects in memory must not reach the next test.
    return copy.deepcopy(companies_world)


def test_team_progress_and_awards_do_not_cross_partners(world: dict[str, Any]) -> None:
    two_companies, partner, other_partner = world["two_companies"], world["partner"], world["other_partner"]
    p = two_companies
    a_users = {p["a1"].user.pk, p["a2"].user.pk}
    # The policy alone (vendor-level database scope, so RLS does not help here) ...
    assert list(selectors.team_progress(actor=p["b_admin"], partner=partner)) == []
    assert [e.user_id for e in selectors.team_progress(actor=p["b_admin"], partner=other_partner)] == [
        p["b1"].user.pk
    ]
    assert {e.user_id for e in selectors.team_progress(actor=p["a_admin"], partner=partner)} == a_users
    assert list(selectors.my_awards(actor=p["b_admin"])) == []
    # ... and as a request would run it.
    course = Enrollment.objects.filter(user=p["a1"].user).get().course  # everyone's course
    with f.acting(p["b_admin"]):
        assert list(selectors.team_progress(actor=p["b_admin"], partner=partner)) == []
        assert list(selectors.my_awards(actor=p["b_admin"])) == []
        assert selectors.enrollment_for(actor=p["b_admin"], course=course) is None


def test_team_progress_counts_lessons_done_in_the_current_cycle(world: dict[str, Any]) -> None:
    two_companies, partner = world["two_companies"], world["partner"]
    rows = list(selectors.team_progress(actor=two_companies["a_admin"], partner=partner))
    assert [(r.done, r.completed_at is not None) for r in rows] == [(2, True), (2, True)]


def test_a_learner_sees_only_their_own(world: dict[str, Any]) -> None:
    two_companies, partner = world["two_companies"], world["partner"]
    a1, a2 = two_companies["a1"], two_companies["a2"]
    for scoped in (False, True):
        with tenant_scope(a1.scope) if scoped else nullcontext():
            rows = list(selectors.team_progress(actor=a1, partner=partner))
            assert [e.user_id for e in rows] == [a1.user.pk]
            awards = list(selectors.my_awards(actor=a1))
            assert [a.user_id for a in awards] == [a1.user.pk]
    a2_award = CertificationAward.objects.get(user=a2.user)
    with pytest.raises(Http404):
        selectors.award_get(actor=a1, pk=a2_award.pk)
    with pytest.raises(Http404):
        selectors.award_get(actor=two_companies["b_admin"], pk=a2_award.pk)
    assert selectors.award_get(actor=two_companies["a_admin"], pk=a2_award.pk).pk == a2_award.pk
