"""Defence in depth for training: progress, attempts and awards are kept per partner by the
database itself (forced row-level security), whatever the ORM asks for."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from prm import rls
from prm.tenancy import Scope, tenant_scope
from tests.training import factories as f
from training import services
from training.models import CertificationAward, Enrollment, LessonCompletion, QuizAttempt

pytestmark = pytest.mark.django_db

TENANT_TABLES = {
    "training_enrollment": "partner_id",
    "training_lessoncompletion": "partner_id",
    "training_quizattempt": "partner_id",
    "training_certificationaward": "partner_id",
}
MODELS = (Enrollment, LessonCompletion, QuizAttempt, CertificationAward)


def _raw(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _count(table: str) -> int:
    return _raw(f'SELECT count(*) FROM "{table}"')[0][0]


@pytest.fixture
def rows(partner: Any, other_partner: Any) -> dict[str, Any]:
    """Partner A: one certified learner (2 lessons, a failed and a passed attempt); partner B: one
    learner with one lesson done."""
    built = f.course(lessons=2)
    f.certification(courses=[built])
    a, b = f.learner(partner), f.learner(other_partner)
    f.complete_lessons(a, built)
    f.take_quiz(a, built, n_right=0)
    f.take_quiz(a, built, seed=2)
    with f.acting(b):
        services.lesson_complete(actor=b, lesson=built.lessons[0])
    return {"a": a, "b": b, "built": built}


def test_every_training_tenant_table_has_a_forced_policy() -> None:
    models = {model._meta.db_table: model for model in rls.tenant_models()}
    assert set(TENANT_TABLES) <= set(models)
    for table, column in TENANT_TABLES.items():
        assert rls.tenant_column(models[table]) == column
    tables = list(TENANT_TABLES)
    flags = {
        name: (enabled, forced)
        for name, enabled, forced in _raw(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)",
            [tables],
        )
    }
    assert flags == dict.fromkeys(tables, (True, True))
    policies = dict(
        _raw(
            "SELECT tablename, qual FROM pg_policies WHERE policyname = %s AND tablename = ANY(%s)",
            [rls.POLICY_NAME, tables],
        )
    )
    assert set(policies) == set(tables)
    for table, column in TENANT_TABLES.items():
        assert column in policies[table]


def test_partner_b_scope_sees_none_of_partner_a(rows: dict, partner: Any, other_partner: Any) -> None:
    a_pk, b_pk = partner.pk, other_partner.pk
    ours = f"WHERE partner_id IN ({a_pk}, {b_pk})"  # the vendor scope sees other tests' rows too
    with tenant_scope(Scope.vendor()):
        assert {t: _raw(f'SELECT count(*) FROM "{t}" {ours}')[0][0] for t in TENANT_TABLES} == {
            "training_enrollment": 2,
            "training_lessoncompletion": 3,
            "training_quizattempt": 2,
            "training_certificationaward": 1,
        }
    with tenant_scope(Scope.partner(b_pk)):
        assert _raw("SELECT partner_id, count(*) FROM training_enrollment GROUP BY partner_id") == [(b_pk, 1)]
        assert _raw("SELECT partner_id, count(*) FROM training_lessoncompletion GROUP BY partner_id") == [
            (b_pk, 1)
        ]
        for table in TENANT_TABLES:
            assert _raw(f'SELECT count(*) FROM "{table}" WHERE partner_id = %s', [a_pk]) == [(0,)], table
        assert _count("training_quizattempt") == 0
        assert _count("training_certificationaward") == 0
        assert Enrollment.objects.filter(user=rows["a"].user).count() == 0
        assert CertificationAward.objects.count() == 0
    with tenant_scope(Scope.partner(a_pk)):
        assert _count("training_enrollment") == 1
        assert _count("training_lessoncompletion") == 2
        assert _count("training_quizattempt") == 2
        assert _count("training_certificationaward") == 1


def test_no_scope_means_no_rows(rows: dict) -> None:
    _raw("SELECT set_config('prm.scope', '', false), set_config('prm.partner_id', '', false)")
    for table in TENANT_TABLES:
        assert _count(table) == 0, table
    with tenant_scope(None):
        for model in MODELS:
            assert model.objects.count() == 0, model


def test_partner_scope_cannot_change_or_plant_another_partners_rows(
    rows: dict, partner: Any, other_partner: Any
) -> None:
    award = CertificationAward.objects.get(partner=partner)
    with tenant_scope(Scope.partner(other_partner.pk)):
        assert CertificationAward.objects.filter(pk=award.pk).update(status="expired") == 0
        assert QuizAttempt.objects.update(passed=True) == 0
    assert CertificationAward.objects.get(pk=award.pk).status == "active"
    with pytest.raises(DatabaseError), tenant_scope(Scope.partner(other_partner.pk)), transaction.atomic():
        CertificationAward.objects.create(
            user=rows["b"].user, partner_id=partner.pk, certification=award.certification, cycle=5
        )
