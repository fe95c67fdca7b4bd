"""The all-apps benchmark data set (bench/loaders/portal.py), loaded small into the test database:
it has the sizes asked for, every row belongs to the right partner and only that partner sees it,
the fund balances and the rest agree with the services' rules, and the partner pages render on it.

Loaded once for the module (~3 s) inside a transaction that is rolled back at the end.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import override_settings
from django.urls import reverse

from bench.loaders import portal
from bench.loaders.partners import partner_user_ids
from mdf import balances
from prm.rls import tenant_column, tenant_models
from prm.tenancy import Scope, system_scope
from tests import factories
from tests.factories import actor_for
from tests.helpers import count, login, raw
from tests.scoping import acting

SIZES = portal.Sizes().scaled(0.001)


@pytest.fixture(scope="module")
def loaded(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any
) -> Iterator[portal.LoadedPortal]:
    media = tmp_path_factory.mktemp("media")
    storages = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media), "base_url": "/media-not-served/"},
        },
    }
    with django_db_blocker.unblock(), override_settings(STORAGES=storages), transaction.atomic():
        # The tiers the data migration made, which a transactional test that ran before in this
        # worker flushed (the loader gives its partners those tiers by name).
        factories.default_tiers()
        loaded = portal.load(seed=7, sizes=SIZES, chunk=400, vacuum=False)
        # Every foreign key checked now, once (and the load proved sound): left deferred, each
        # test's teardown would check them all again.
        connection.check_constraints()
        yield loaded
        transaction.set_rollback(True)


@pytest.fixture
def data(loaded: portal.LoadedPortal, db: Any) -> portal.LoadedPortal:
    return loaded


def test_the_sizes_asked_for(data: portal.LoadedPortal) -> None:
    assert SIZES.partners == 10 and SIZES.deals == 1000  # the scale the test means
    assert count("partners_partner") == SIZES.partners
    assert count("prm_user") == SIZES.users
    assert count("deals_deal") == SIZES.deals
    assert count("mdf_fundrequest") == SIZES.fund_requests
    assert count("training_quizattempt") == SIZES.quiz_attempts
    assert count("incentives_earningentry") == SIZES.earnings
    assert count("content_assetevent", "kind = 'download'") == SIZES.downloads
    assert count("training_course") == SIZES.courses
    assert count("content_asset") == SIZES.assets
    # Most earnings come from won deals; a few are reversals and finance's adjustments.
    assert count("incentives_earningentry", "kind = 'accrual'") >= 0.95 * SIZES.earnings
    assert count("incentives_earningentry", "kind = 'reversal'") >= 1
    # Fund requests in every stage of their life.
    statuses = {status for (status,) in raw("SELECT DISTINCT status FROM mdf_fundrequest")}
    assert {"draft", "approved", "rejected", "paid", "expired"} <= statuses
    # A later load finds the sequences past the loaded ids.
    (next_user,) = raw("SELECT nextval(pg_get_serial_sequence('prm_user', 'id'))")[0]
    assert next_user > SIZES.users


LOADED_TENANT_TABLES = {
    "partners_partner",
    "partners_membership",
    "partners_partneruserobjectpermission",
    "deals_deal",
    "deals_dealline",
    "mdf_allocation",
    "mdf_ledgerentry",
    "mdf_allocationbalance",
    "mdf_fundrequest",
    "mdf_fundclaim",
    "mdf_claimproof",
    "training_enrollment",
    "training_lessoncompletion",
    "training_quizattempt",
    "training_certificationaward",
    "incentives_earningentry",
    "incentives_statement",
    "incentives_settlementline",
    "content_assetevent",
}


def test_every_row_is_seen_by_its_own_partner_only(data: portal.LoadedPortal) -> None:
    checked = set()
    for model in tenant_models():
        if getattr(model, "RLS_VENDOR_ONLY", False):
            continue
        table, column = model._meta.db_table, tenant_column(model)
        total = count(table)
        if not total:
            continue
        checked.add(table)
        per_partner = 0
        for partner_id in range(1, SIZES.partners + 1):
            own = count(table, f'"{column}" = %s', [partner_id])
            assert count(table, scope=Scope.partner(partner_id)) == own, (table, partner_id)
            per_partner += own
        assert per_partner + count(table, f'"{column}" IS NULL') == total, table
    assert checked >= LOADED_TENANT_TABLES, LOADED_TENANT_TABLES - checked


# (child table, its partner column, parent table, the join, the parent's partner column): a row's
# partner is its parent's.
SAME_PARTNER = [
    ("partners_membership", "partner_id", "prm_user u", "u.id = c.user_id AND u.vendor_role = ''", None),
    ("deals_dealline", "partner_id", "deals_deal p", "p.id = c.deal_id", "partner_id"),
    ("mdf_fundrequest", "partner_id", "mdf_allocation p", "p.id = c.allocation_id", "partner_id"),
    ("mdf_ledgerentry", "partner_id", "mdf_allocation p", "p.id = c.allocation_id", "partner_id"),
    ("mdf_allocationbalance", "partner_id", "mdf_allocation p", "p.id = c.allocation_id", "partner_id"),
    ("mdf_fundclaim", "partner_id", "mdf_fundrequest p", "p.id = c.fund_request_id", "partner_id"),
    ("mdf_claimproof", "partner_id", "mdf_fundclaim p", "p.id = c.claim_id", "partner_id"),
    ("mdf_fundrequest", "partner_id", "partners_membership p", "p.user_id = c.requested_by_id", "partner_id"),
    ("training_enrollment", "partner_id", "partners_membership p", "p.user_id = c.user_id", "partner_id"),
    (
        "training_lessoncompletion",
        "partner_id",
        "training_enrollment p",
        "p.id = c.enrollment_id",
        "partner_id",
    ),
    ("training_quizattempt", "partner_id", "training_enrollment p", "p.id = c.enrollment_id", "partner_id"),
    (
        "training_certificationaward",
        "partner_id",
        "partners_membership p",
        "p.user_id = c.user_id",
        "partner_id",
    ),
    ("incentives_earningentry", "partner_id", "deals_deal p", "p.id = c.deal_id", "partner_id"),
    (
        "incentives_settlementline",
        "partner_id",
        "incentives_statement p",
        "p.id = c.statement_id",
        "partner_id",
    ),
    (
        "incentives_settlementline",
        "partner_id",
        "incentives_earningentry p",
        "p.id = c.entry_id",
        "partner_id",
    ),
    ("content_assetevent", "partner_id", "partners_membership p", "p.user_id = c.user_id", "partner_id"),
]


@pytest.mark.parametrize(("child", "column", "parent", "join", "parent_column"), SAME_PARTNER)
def test_each_row_belongs_to_its_parents_partner(
    data: portal.LoadedPortal, child: str, column: str, parent: str, join: str, parent_column: str | None
) -> None:
    if parent_column is None:  # every partner user has exactly one membership
        assert count("prm_user", "vendor_role = ''") == count("partners_membership")
        return
    joined = raw(f"SELECT count(*) FROM {child} c JOIN {parent} ON {join}")[0][0]
    wrong = raw(
        f"SELECT count(*) FROM {child} c JOIN {parent} ON {join} WHERE c.{column} <> p.{parent_column}"
    )
    assert joined > 0 and wrong[0][0] == 0


def busiest_partner() -> int:
    """The loaded partner with the most deals that can use the portal (active, agreement signed)."""
    version = settings.PRM["PARTNER_AGREEMENT_VERSION"]
    return raw(
        "SELECT p.id FROM partners_partner p JOIN deals_deal d ON d.partner_id = p.id"
        " WHERE p.status = 'active' AND p.agreement_version = %s"
        " GROUP BY p.id ORDER BY count(*) DESC LIMIT 1",
        [version],
    )[0][0]


def test_the_selectors_show_a_partner_its_own_rows(data: portal.LoadedPortal) -> None:
    from deals.selectors import deal_list
    from incentives.selectors import entry_list
    from mdf.selectors import request_list
    from prm.models import User
    from training.selectors import team_progress

    partner_id = busiest_partner()
    actor = actor_for(User.objects.get(pk=partner_user_ids(partner_id)[0]))
    with acting(actor):
        deals = deal_list(actor=actor).count()
        requests = request_list(actor=actor).count()
        earnings = entry_list(actor=actor).count()
        enrollments = team_progress(actor=actor, partner=actor.partner).count()
    assert deals == count("deals_deal", "partner_id = %s", [partner_id]) > 0
    assert requests == count("mdf_fundrequest", "partner_id = %s", [partner_id]) > 0
    assert earnings == count("incentives_earningentry", "partner_id = %s", [partner_id]) > 0
    assert enrollments == count("training_enrollment", "partner_id = %s", [partner_id]) > 0


def test_fund_balances_agree_with_the_requests_and_claims(data: portal.LoadedPortal) -> None:
    from mdf.selectors import allocations_with_balances
    from prm.models import User

    previous_period = data.funds.periods[0]
    checked = 0
    for partner_id in range(1, SIZES.partners + 1):
        admin = User.objects.get(pk=partner_user_ids(partner_id)[0])
        actor = actor_for(admin)
        if not actor.is_partner:
            continue  # no portal access (a terminated partner)
        with acting(actor):
            allocations = list(allocations_with_balances(actor=actor))
        for allocation in allocations:
            checked += 1

            def total(sql: str, allocation_id: int = allocation.pk) -> Decimal:
                return raw(sql, [allocation_id])[0][0] or Decimal("0")

            # From the requests and claims, not from the ledger: what is committed, spent and paid.
            committed = total(
                "SELECT sum(approved_amount) FROM mdf_fundrequest"
                " WHERE allocation_id = %s AND status IN ('approved', 'claim_submitted')"
            )
            claimed = total(
                "SELECT sum(c.approved_amount) FROM mdf_fundclaim c JOIN mdf_fundrequest r"
                " ON r.id = c.fund_request_id"
                " WHERE r.allocation_id = %s AND r.status IN ('claim_approved', 'paid')"
            )
            paid = total(
                "SELECT sum(c.approved_amount) FROM mdf_fundclaim c JOIN mdf_fundrequest r"
                " ON r.id = c.fund_request_id WHERE r.allocation_id = %s AND r.status = 'paid'"
            )
            funded = total(
                "SELECT sum(CASE WHEN kind = 'forfeited' THEN -amount ELSE amount END) FROM mdf_ledgerentry"
                " WHERE allocation_id = %s AND kind IN ('allocated', 'accrued', 'forfeited')"
            )
            assert allocation.balance_committed == committed, allocation.pk
            assert allocation.balance_claimed == claimed, allocation.pk
            assert allocation.balance_paid == paid, allocation.pk
            assert allocation.balance_available == funded - committed - claimed, allocation.pk
            assert allocation.balance_available >= 0, allocation.pk
            if allocation.budget.period_id == previous_period.id:
                # Closing the period forfeited what was left; later releases forfeited at once.
                assert allocation.balance_available == 0, allocation.pk
    assert checked >= SIZES.partners
    # The loader COPYs the ledger with its trigger on: the balances the lists read agree with it.
    with system_scope():
        assert balances.mismatches() == []


def test_training_follows_the_quiz_rules(data: portal.LoadedPortal) -> None:
    # Every attempt comes after all the course's lessons (attempt_start requires them).
    assert not raw(
        "SELECT a.id FROM training_quizattempt a JOIN training_enrollment e ON e.id = a.enrollment_id"
        " WHERE (SELECT count(*) FROM training_lesson l WHERE l.course_id = e.course_id)"
        " <> (SELECT count(*) FROM training_lessoncompletion c WHERE c.enrollment_id = e.id AND c.cycle = 1)"
    )
    # Never more counted attempts than allowed, and a pass only when the score reaches the mark.
    assert not raw(
        "SELECT a.enrollment_id FROM training_quizattempt a JOIN training_quiz q ON q.id = a.quiz_id"
        " WHERE a.reset_at IS NULL GROUP BY a.enrollment_id, a.cycle, q.max_attempts"
        " HAVING count(*) > q.max_attempts"
    )
    assert not raw(
        "SELECT a.id FROM training_quizattempt a JOIN training_quiz q ON q.id = a.quiz_id"
        " WHERE a.passed <> (a.score_percent >= q.pass_mark_percent)"
    )
    # A completed enrollment has its passed attempt; every award's courses were completed.
    assert not raw(
        "SELECT e.id FROM training_enrollment e WHERE e.completed_at IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM training_quizattempt a WHERE a.enrollment_id = e.id AND a.passed)"
    )
    assert not raw(
        "SELECT w.id FROM training_certificationaward w"
        " JOIN training_certification_courses r ON r.certification_id = w.certification_id"
        " WHERE NOT EXISTS (SELECT 1 FROM training_quizattempt a JOIN training_enrollment e"
        " ON e.id = a.enrollment_id WHERE e.user_id = w.user_id AND e.course_id = r.course_id AND a.passed)"
    )
    assert count("training_certificationaward") > 0


def test_earnings_come_from_won_deals_and_settle_once(data: portal.LoadedPortal) -> None:
    assert not raw(
        "SELECT e.id FROM incentives_earningentry e JOIN deals_deal d ON d.id = e.deal_id"
        " WHERE e.kind = 'accrual' AND (d.status <> 'won' OR d.currency <> e.currency OR e.amount <= 0)"
    )
    assert not raw(
        "SELECT s.id FROM incentives_statement s JOIN incentives_settlementline l ON l.statement_id = s.id"
        " GROUP BY s.id, s.total HAVING sum(l.amount) <> s.total OR s.total <= 0"
    )
    assert not raw(
        "SELECT id FROM incentives_statement WHERE status = 'paid' AND paid_by_id = approved_by_id"
    )
    assert count("incentives_settlementline") > 0


PARTNER_PAGES = [
    "home",
    "partners:team",
    "deals:list",
    "deals:pipeline",
    "mdf:funds",
    "mdf:request_list",
    "training:catalogue",
    "training:certifications",
    "training:team_progress",
    "content:library",
    "incentives:earnings",
    "notifications",
]


@pytest.mark.parametrize("url_name", PARTNER_PAGES)
def test_partner_pages_render_for_a_loaded_admin(data: portal.LoadedPortal, url_name: str) -> None:
    from prm.models import User

    admin = User.objects.get(pk=partner_user_ids(busiest_partner())[0])
    response = login(admin).get(reverse(url_name))
    assert response.status_code == 200, (url_name, response.status_code)
