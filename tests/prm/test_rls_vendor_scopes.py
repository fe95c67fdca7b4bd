"""The database binds vendor staff too: a channel account manager's scope carries the portfolio,
a content / training manager's scope leaves the money tables out, and every table with partner
data has a policy. Checked in raw SQL over every tenant table, on the demo data (which fills
every app's tables for partners inside and outside Carl's portfolio)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import DatabaseError, transaction

from partners.middleware import resolve_actor
from partners.models import Membership, Partner
from prm import checks, rls
from prm.models import User
from prm.tenancy import Scope, tenant_scope
from tests import factories
from tests.helpers import raw

pytestmark = pytest.mark.django_db


def _partner_tables() -> dict[str, str]:
    """Every RLS table that names its partner column -> that column."""
    return {
        model._meta.db_table: rls.tenant_column(model)
        for model in rls.tenant_models()
        if getattr(model, "TENANT_COLUMN", None)
    }


def _foreign_rows(table: str, column: str, portfolio: list[int]) -> int:
    return raw(
        f'SELECT count(*) FROM "{table}" WHERE "{column}" IS NOT NULL AND NOT ("{column}" = ANY(%s))',
        [portfolio],
    )[0][0]


@pytest.fixture
def demo(settings: Any, tmp_path: Any) -> None:
    factories.default_tiers()
    factories.media_storage(settings, tmp_path)
    call_command("seed_demo", stdout=io.StringIO())


def _actor(email: str) -> Any:
    return resolve_actor(User.objects.get(email=email))


def _money_rows_outside_the_portfolio() -> None:
    """The demo keeps its money with Carl's partners; give a partner outside it a deal (with its
    lines) and a submitted fund request, so the checks below are not vacuous."""
    from tests.deals import factories as df
    from tests.mdf import factories as m

    admin = resolve_actor(User.objects.get(email="ada.admin@prm.example"))
    deal_team = df.team("Outside Deals GmbH")
    df.approved(deal_team.sales_actor, admin, customer="Hooli", domain="hooli.example")
    fund_team = m.team("Outside Funds Ltd")
    m.fund(fund_team.partner, m.budget(), "5000.00", admin)
    m.submitted(fund_team.marketing_actor)


def test_vendor_scopes_in_raw_sql_over_every_tenant_table(demo: None) -> None:
    _money_rows_outside_the_portfolio()
    tables = _partner_tables()
    money = {model._meta.db_table for model in rls.tenant_models() if rls.is_money_table(model)}

    # A channel account manager: nothing of a partner outside the portfolio, in any table.
    carl = _actor("carl.cam@prm.example")
    portfolio = list(carl.portfolio)
    names = sorted(Partner.objects.filter(pk__in=portfolio).values_list("legal_name", flat=True))
    assert [name.split()[0] for name in names] == ["Acme", "Globex"]
    outside = {table: _foreign_rows(table, column, portfolio) for table, column in tables.items()}
    for table in (
        "partners_partner",
        "partners_membership",
        "prm_auditevent",
        "deals_deal",
        "deals_dealline",
        "mdf_allocation",
        "mdf_fundrequest",
        "mdf_ledgerentry",
    ):
        assert outside[table] > 0, table  # rows the vendor-wide scope does see
    with tenant_scope(carl.scope):
        leaked = {table: _foreign_rows(table, column, portfolio) for table, column in tables.items()}
        visible_partners = sorted(pk for (pk,) in raw("SELECT id FROM partners_partner"))
        own_deals = raw("SELECT count(*) FROM deals_deal")[0][0]
    assert leaked == dict.fromkeys(tables, 0)
    assert visible_partners == sorted(portfolio)
    assert own_deals > 0  # the portfolio's own rows stay visible

    # A content / training manager: no money table at all; partners and training stay readable.
    tom = _actor("tom.training@prm.example")
    assert {
        "deals_deal",
        "deals_dealline",
        "deals_dealconflict",
        "mdf_fundrequest",
        "mdf_fundclaim",
        "mdf_claimproof",
        "mdf_ledgerentry",
        "mdf_approvallimit",
        "incentives_earningentry",
        "incentives_statement",
        "incentives_settlementline",
    } <= money
    counts = {table: raw(f'SELECT count(*) FROM "{table}"')[0][0] for table in money}
    for table in ("deals_deal", "mdf_fundrequest", "mdf_claimproof", "incentives_earningentry"):
        assert counts[table] > 0, table
    with tenant_scope(tom.scope):
        seen = {table: raw(f'SELECT count(*) FROM "{table}"')[0][0] for table in money}
        partners = raw("SELECT count(*) FROM partners_partner")[0][0]
        enrollments = raw("SELECT count(*) FROM training_enrollment")[0][0]
    assert seen == dict.fromkeys(money, 0)
    assert partners == Partner.objects.count() and enrollments > 0


def test_a_channel_manager_cannot_write_outside_the_portfolio() -> None:
    inside, outsider = factories.PartnerFactory(), factories.PartnerFactory()
    scope = Scope.vendor(portfolio=[inside.pk])
    with tenant_scope(scope), transaction.atomic():
        Membership.objects.create(user=factories.UserFactory(), partner=inside)
    with pytest.raises(DatabaseError), tenant_scope(scope), transaction.atomic():
        Membership.objects.create(user=factories.UserFactory(), partner=outsider)


def test_a_channel_manager_without_a_portfolio_sees_no_partner() -> None:
    factories.partner_user(factories.PartnerFactory())
    assert raw("SELECT count(*) FROM partners_partner")[0][0] > 0
    with tenant_scope(Scope.vendor(portfolio=())):
        assert raw("SELECT count(*) FROM partners_partner") == [(0,)]
        assert raw("SELECT count(*) FROM deals_deal") == [(0,)]


def test_every_money_policy_asks_for_the_money_setting_and_every_tenant_policy_for_the_portfolio() -> None:
    policies = dict(raw("SELECT tablename, qual FROM pg_policies WHERE policyname = %s", [rls.POLICY_NAME]))
    models = rls.tenant_models()
    qual = {model: policies[model._meta.db_table] for model in models}
    assert sum(rls.is_money_table(model) for model in models) >= 10  # there are money tables to check
    assert [m.__name__ for m in models if ("prm.money" in qual[m]) != rls.is_money_table(m)] == []
    with_partner = [model for model in models if getattr(model, "TENANT_COLUMN", None)]
    assert len(with_partner) >= 10
    assert [model.__name__ for model in with_partner if "prm.portfolio" not in qual[model]] == []


def test_partner_data_without_a_partner_column_is_vendor_only() -> None:
    from mdf.models import ApprovalLimit
    from partners.models import PartnerApplication

    for model in (PartnerApplication, ApprovalLimit):
        assert model in rls.tenant_models()
        with tenant_scope(Scope.partner(factories.PartnerFactory().pk)):
            assert raw(f'SELECT count(*) FROM "{model._meta.db_table}"') == [(0,)]


# --- the role check runs at start-up ----------------------------------------------------------------
def test_start_up_refuses_a_role_that_bypasses_rls(monkeypatch: pytest.MonkeyPatch) -> None:
    checks.require_role_cannot_bypass_rls()  # the suite's own role is fine
    monkeypatch.setattr(checks, "role_bypasses_rls", lambda using="default": True)
    with pytest.raises(ImproperlyConfigured, match="BYPASSRLS"):
        checks.require_role_cannot_bypass_rls()


def test_web_and_worker_start_ups_run_the_role_check(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    import prm.asgi
    import prm.wsgi
    from prm import celery

    def refuse(using: str = "default") -> None:
        raise ImproperlyConfigured("bypasses")

    monkeypatch.setattr(checks, "require_role_cannot_bypass_rls", refuse)
    for module in (prm.wsgi, prm.asgi):
        with pytest.raises(ImproperlyConfigured):
            importlib.reload(module)
    with pytest.raises(ImproperlyConfigured):
        celery._refuse_a_role_that_bypasses_rls()
    from celery.signals import worker_init

    assert any(
        receiver() is celery._refuse_a_role_that_bypasses_rls for _key, receiver in worker_init.receivers
    )


def test_the_role_check_runs_without_deploy_flags() -> None:
    from django.core.checks import registry

    ordinary = registry.registry.get_checks(include_deployment_checks=False)
    assert checks.check_role_cannot_bypass_rls in ordinary


def test_every_task_starts_from_no_scope() -> None:
    from prm.celery import EmptyScopeTask, app

    app.loader.import_default_modules()
    ours = [
        task
        for name, task in app.tasks.items()
        if name.split(".")[0] in {"prm", "partners", "deals", "mdf", "training", "content", "incentives"}
    ]
    assert ours and all(isinstance(task, EmptyScopeTask) for task in ours)


def test_every_table_that_points_at_tenant_rows_has_a_policy_too() -> None:
    """Partner data reached through another tenant row (a line of a deal, the proof of a claim)
    is tenant data as well: a table with a foreign key to a tenant table has its own policy."""
    from django.apps import apps

    tenant = set(rls.tenant_models())
    unguarded = {
        model._meta.label: [field.name for field in model._meta.fields if field.related_model in tenant]
        for model in apps.get_models()
        if model not in tenant
        and any(field.many_to_one and field.related_model in tenant for field in model._meta.fields)
    }
    assert unguarded == {}
