"""Defence in depth for funds: the database itself keeps each partner's allocations, ledger,
requests, claims and proof files to that partner, and shows nothing without a scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from mdf.models import Allocation, ClaimProof, FundClaim, FundRequest, LedgerEntry
from prm import rls
from prm.tenancy import Scope, tenant_scope
from tests.mdf import factories as m

pytestmark = pytest.mark.django_db

TENANT_TABLES = {
    "mdf_allocation": "partner_id",
    "mdf_ledgerentry": "partner_id",
    "mdf_fundrequest": "partner_id",
    "mdf_fundclaim": "partner_id",
    "mdf_claimproof": "partner_id",
    "incentives_mdfattribution": "partner_id",
}
MODELS = [Allocation, LedgerEntry, FundRequest, FundClaim, ClaimProof]


def _raw(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _count(table: str) -> int:
    return _raw(f'SELECT count(*) FROM "{table}"')[0][0]


def _partners(table: str) -> set[int]:
    return {partner_id for (partner_id,) in _raw(f'SELECT DISTINCT partner_id FROM "{table}"')}


@pytest.fixture
def rows(settings: Any, tmp_path: Path) -> dict[str, Any]:
    """Partners A and B each with an allocation, a claimed request with a proof file and a
    submitted one."""
    m.media_storage(settings, tmp_path / "media")
    admin = m.program_admin()
    fund_budget = m.budget()
    teams = {"a": m.team("Northwind Resellers"), "b": m.team("Southwind Systems")}
    made: dict[str, Any] = {}
    for key, team in teams.items():
        allocation = m.fund(team.partner, fund_budget, "10000.00", admin)
        claimed = m.approved(team.marketing_actor, admin, title=f"{key} claimed", **m.past_dates())
        m.claim(team.marketing_actor, claimed)
        m.submitted(team.marketing_actor, title=f"{key} submitted")
        made[key] = team
        made[f"{key}_allocation"] = allocation
        made[f"{key}_claimed"] = claimed
    return made


def test_every_funds_table_has_a_forced_policy_on_its_partner_column() -> None:
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
        assert "prm.partner_id" in policies[table]


def test_partner_b_scope_sees_none_of_partner_as_rows(rows: dict[str, Any]) -> None:
    a_pk, b_pk = rows["a"].partner.pk, rows["b"].partner.pk
    filled = [table for table in TENANT_TABLES if table != "incentives_mdfattribution"]  # no deals here
    with tenant_scope(Scope.vendor()):
        for table in filled:
            assert {a_pk, b_pk} <= _partners(table), table  # (and whatever other tests left)
    with tenant_scope(Scope.partner(b_pk)):
        for table in filled:
            assert _partners(table) == {b_pk}, table
        for table in TENANT_TABLES:
            assert _raw(f'SELECT count(*) FROM "{table}" WHERE partner_id = %s', [a_pk]) == [(0,)], table
        assert _raw("SELECT count(*) FROM mdf_fundrequest WHERE id = %s", [rows["a_claimed"].pk]) == [(0,)]
        assert _raw(
            "SELECT count(*) FROM mdf_ledgerentry WHERE allocation_id = %s", [rows["a_allocation"].pk]
        ) == [(0,)]
        assert _count("mdf_fundrequest") == 2
        assert _count("mdf_claimproof") == 1
        for model in MODELS:
            assert not model.objects.filter(partner_id=a_pk).exists(), model
    with tenant_scope(Scope.partner(a_pk)):
        assert _partners("mdf_ledgerentry") == {a_pk}
        assert FundRequest.objects.count() == 2


def test_partner_b_scope_cannot_write_into_partner_as_account(rows: dict[str, Any]) -> None:
    allocation = rows["a_allocation"]
    with (
        tenant_scope(Scope.partner(rows["b"].partner.pk)),
        pytest.raises(DatabaseError),
        transaction.atomic(),
    ):
        LedgerEntry.objects.create(
            allocation_id=allocation.pk,
            partner_id=allocation.partner_id,
            kind="allocated",
            amount="1000000.00",
            currency="USD",
            idempotency_key="sneaky",
        )
    assert not LedgerEntry.objects.filter(idempotency_key="sneaky").exists()


def test_no_scope_means_no_rows(rows: dict[str, Any]) -> None:
    _raw("SELECT set_config('prm.scope', '', false), set_config('prm.partner_id', '', false)")
    for table in TENANT_TABLES:
        assert _count(table) == 0, table
    with tenant_scope(None):
        for model in MODELS:
            assert model.objects.count() == 0, model
