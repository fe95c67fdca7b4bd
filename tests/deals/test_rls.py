"""Defence in depth for deals: the database itself keeps each partner's deals, lines, extension
requests, leads and offers to that partner, and conflict evidence to the vendor."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from deals import leads, services
from deals.models import (
    Deal,
    DealConflict,
    DealExtensionRequest,
    DealLine,
    Lead,
    LeadOffer,
)
from prm import rls
from prm.tenancy import Scope, tenant_scope
from tests.deals import factories as f

pytestmark = pytest.mark.django_db

TENANT_TABLES = {
    "deals_deal": "partner_id",
    "deals_dealline": "partner_id",
    "deals_dealextensionrequest": "partner_id",
    "deals_lead": "assigned_partner_id",
    "deals_leadoffer": "partner_id",
}
VENDOR_ONLY_TABLES = {"deals_dealconflict"}


def _raw(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _count(table: str) -> int:
    return _raw(f'SELECT count(*) FROM "{table}"')[0][0]


@pytest.fixture
def rows(team_a: f.Team, team_b: f.Team, vendor_admin: Any) -> dict[str, Any]:
    """Partner A: an approved deal with an extension request, and an offered lead; partner B: a
    deal in conflict with A's. Vendor pool: one unassigned lead."""
    a_deal = f.approved(team_a.sales_actor, vendor_admin, customer="Initech", domain="initech.com")
    with f.acting(team_a.sales_actor):
        services.deal_request_extension(actor=team_a.sales_actor, deal=a_deal, reason="Budget moved")
    b_deal = f.submitted(team_b.sales_actor, customer="Initech", domain="initech.com")
    a_lead = f.lead(vendor_admin, "Vandelay")
    with f.acting(vendor_admin):
        leads.lead_assign(actor=vendor_admin, lead=a_lead, partner=team_a.partner)
    pool_lead = f.lead(vendor_admin, "Kramerica")
    assert DealConflict.objects.filter(deal=b_deal).count() == 1
    return {"a_deal": a_deal, "b_deal": b_deal, "a_lead": a_lead, "pool_lead": pool_lead}


def test_every_deals_table_has_a_forced_policy() -> None:
    models = {model._meta.db_table: model for model in rls.tenant_models()}
    assert set(TENANT_TABLES) | VENDOR_ONLY_TABLES <= set(models)
    for table, column in TENANT_TABLES.items():
        assert rls.tenant_column(models[table]) == column
    assert DealConflict.RLS_VENDOR_ONLY is True
    tables = list(TENANT_TABLES) + list(VENDOR_ONLY_TABLES)
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
    assert "partner_id" not in policies["deals_dealconflict"]
    assert "'vendor'" in policies["deals_dealconflict"]


def test_partner_b_scope_sees_none_of_partner_a(rows: dict, team_a: f.Team, team_b: f.Team) -> None:
    a_pk, b_pk = team_a.partner.pk, team_b.partner.pk
    with tenant_scope(Scope.partner(b_pk)):
        assert _raw("SELECT partner_id, count(*) FROM deals_deal GROUP BY partner_id") == [(b_pk, 1)]
        assert _raw("SELECT count(*) FROM deals_deal WHERE partner_id = %s", [a_pk]) == [(0,)]
        assert _raw("SELECT count(*) FROM deals_deal WHERE id = %s", [rows["a_deal"].pk]) == [(0,)]
        assert {pid for (pid,) in _raw("SELECT partner_id FROM deals_dealline")} == {b_pk}
        assert _count("deals_dealextensionrequest") == 0
        assert _count("deals_lead") == 0  # A's offered lead and the vendor's pool
        assert _count("deals_leadoffer") == 0
        assert _count("deals_dealconflict") == 0  # evidence about B's own deal, too
        assert Deal.objects.count() == 1
        assert DealConflict.objects.count() == 0
    with tenant_scope(Scope.partner(a_pk)):
        assert _raw("SELECT count(*) FROM deals_deal") == [(1,)]
        assert _count("deals_dealextensionrequest") == 1
        assert _raw("SELECT id FROM deals_lead") == [(rows["a_lead"].pk,)]
        assert _count("deals_leadoffer") == 1
        assert _count("deals_dealconflict") == 0
    with tenant_scope(Scope.vendor()):  # this test's rows (the vendor also sees other tests')
        ours = [a_pk, b_pk]
        assert Deal.objects.filter(partner__in=ours).count() == 2
        assert DealConflict.objects.filter(deal__partner__in=ours).count() == 1
        assert Lead.objects.filter(pk__in=[rows["a_lead"].pk, rows["pool_lead"].pk]).count() == 2


def test_no_scope_means_no_rows(rows: dict) -> None:
    _raw("SELECT set_config('prm.scope', '', false), set_config('prm.partner_id', '', false)")
    for table in [*TENANT_TABLES, *VENDOR_ONLY_TABLES]:
        assert _count(table) == 0, table
    with tenant_scope(None):
        assert Deal.objects.count() == 0
        assert DealLine.objects.count() == 0
        assert DealExtensionRequest.objects.count() == 0
        assert Lead.objects.count() == 0
        assert LeadOffer.objects.count() == 0
        assert DealConflict.objects.count() == 0


def test_partner_scope_cannot_change_another_partners_rows(
    rows: dict, team_a: f.Team, team_b: f.Team
) -> None:
    a_deal, cable = rows["a_deal"], f.product("Cable")
    with tenant_scope(Scope.partner(team_b.partner.pk)):
        assert Deal.objects.filter(pk=a_deal.pk).update(notes="mine now") == 0
        assert DealConflict.objects.update(resolution="dismissed") == 0
    assert Deal.objects.get(pk=a_deal.pk).notes == ""
    conflicts = DealConflict.objects.filter(deal__partner__in=[team_a.partner, team_b.partner])
    assert list(conflicts.values_list("resolution", flat=True)) == ["open"]
    with pytest.raises(DatabaseError), tenant_scope(Scope.partner(team_b.partner.pk)), transaction.atomic():
        DealLine.objects.create(
            deal=a_deal, partner_id=team_a.partner.pk, product=cable, quantity=1, unit_price=1, amount=1
        )
    with pytest.raises(DatabaseError), tenant_scope(Scope.partner(team_b.partner.pk)), transaction.atomic():
        DealConflict.objects.create(deal=rows["b_deal"], conflicting_deal=rows["b_deal"])
