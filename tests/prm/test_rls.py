"""Defence in depth: the database itself isolates tenants (PostgreSQL row-level security)."""

from __future__ import annotations

import pytest
from django.db import connection

from partners.models import Membership, Partner
from prm import rls
from prm.tenancy import Scope, tenant_scope
from tests import factories

pytestmark = pytest.mark.django_db


def _raw(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def _clear_scope() -> None:
    _raw("SELECT set_config('prm.scope', '', false), set_config('prm.partner_id', '', false)")


def test_every_tenant_table_has_forced_fail_closed_policy() -> None:
    tables = {model._meta.db_table for model in rls.tenant_models()}
    assert {"partners_partner", "partners_membership", "partners_invitation", "prm_auditevent"} <= tables
    rows = dict(
        (name, (enabled, forced))
        for name, enabled, forced in _raw(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = ANY(%s)",
            [list(tables)],
        )
    )
    assert rows.keys() == tables
    assert all(enabled and forced for enabled, forced in rows.values())
    policies = {
        name for (name,) in _raw("SELECT tablename FROM pg_policies WHERE policyname = %s", [rls.POLICY_NAME])
    }
    assert tables <= policies


def test_application_role_cannot_bypass_rls() -> None:
    ((superuser, bypass),) = _raw("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    assert not superuser and not bypass


def test_models_with_a_partner_foreign_key_declare_their_tenant_column() -> None:
    """A new partner-owned table cannot silently miss its policy."""
    from django.apps import apps

    exempt = {"PartnerApplication"}  # vendor-only data, no tenant until approved
    partner_owned = [
        model
        for model in apps.get_models()
        if model.__name__ not in exempt
        and any(
            getattr(field, "related_model", None) is Partner and field.many_to_one
            for field in model._meta.fields
        )
    ]
    assert {"Membership", "Deal", "FundRequest", "EarningEntry"} <= {
        model.__name__ for model in partner_owned
    }
    without = [model.__name__ for model in partner_owned if not getattr(model, "TENANT_COLUMN", None)]
    assert without == [], f"{without} have a partner FK but no TENANT_COLUMN"


def test_raw_sql_in_partner_b_scope_sees_none_of_partner_a() -> None:
    partner_a, partner_b = factories.PartnerFactory(), factories.PartnerFactory()
    factories.partner_user(partner_a)
    factories.partner_user(partner_b)
    with tenant_scope(Scope.partner(partner_b.pk)):
        partners = _raw("SELECT id FROM partners_partner")
        members = _raw("SELECT partner_id FROM partners_membership")
        leaked = _raw("SELECT count(*) FROM partners_partner WHERE id = %s", [partner_a.pk])
    assert partners == [(partner_b.pk,)]
    assert {partner_id for (partner_id,) in members} == {partner_b.pk}
    assert leaked == [(0,)]


def test_no_scope_means_no_rows() -> None:
    factories.partner_user(factories.PartnerFactory())
    _clear_scope()
    assert _raw("SELECT count(*) FROM partners_partner") == [(0,)]
    assert _raw("SELECT count(*) FROM partners_membership") == [(0,)]
    with tenant_scope(None):
        assert Partner.objects.count() == 0
        assert Membership.objects.count() == 0


def test_partner_scope_cannot_write_into_another_tenant() -> None:
    partner_a, partner_b = factories.PartnerFactory(), factories.PartnerFactory()
    user = factories.UserFactory()
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError), tenant_scope(Scope.partner(partner_b.pk)), transaction.atomic():
        Membership.objects.create(user=user, partner=partner_a)


def test_scope_is_restored_after_a_nested_block() -> None:
    partner_a = factories.PartnerFactory()
    with tenant_scope(Scope.partner(partner_a.pk)):
        with tenant_scope(None):
            assert Partner.objects.count() == 0
        assert list(Partner.objects.values_list("pk", flat=True)) == [partner_a.pk]
