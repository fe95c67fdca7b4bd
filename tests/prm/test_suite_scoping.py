"""The suite's own rule (tests/scoping.py): code under test runs with no database scope unless it
opens one; only a test body's own statements see every partner, one statement at a time."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from partners.models import Partner
from prm.tenancy import NO_SCOPE_SETTINGS, Actor, Scope, current_scope_settings, tenant_scope
from tests import factories
from tests.helpers import raw
from tests.scoping import _in_actor_scope_when_called_by_a_test

pytestmark = pytest.mark.django_db


def test_a_test_bodys_statement_sees_every_partner_but_leaves_no_scope_behind() -> None:
    partner = factories.PartnerFactory()
    assert Partner.objects.filter(pk=partner.pk).exists()  # the test body's own statement
    (scope,) = raw("SELECT current_setting('prm.scope', true)")[0]
    assert scope == "vendor"
    # Application code (prm.tenancy here) reads the connection as a worker would: nothing set.
    assert current_scope_settings() == NO_SCOPE_SETTINGS


def test_application_code_called_from_a_test_sees_no_rows_without_its_own_scope() -> None:
    partner = factories.PartnerFactory()
    # A Celery task's start (prm.celery.EmptyScopeTask) or a request's before its actor is known.
    with tenant_scope(None):
        assert not Partner.objects.filter(pk=partner.pk).exists()
    with tenant_scope(Scope.partner(partner.pk)):
        assert Partner.objects.filter(pk=partner.pk).exists()


def test_a_service_called_from_a_test_runs_in_its_actors_scope_only() -> None:
    partner = factories.PartnerFactory()
    actor: Actor = factories.actor_for(factories.partner_user(partner))

    def service(*, actor: Actor) -> tuple[str, ...]:
        return current_scope_settings()

    wrapped = _in_actor_scope_when_called_by_a_test(service)
    assert wrapped(actor=actor) == ("partner", str(partner.pk), "", "")
    assert current_scope_settings() == NO_SCOPE_SETTINGS  # and nothing stays open afterwards


def test_a_refused_statement_in_a_tests_own_savepoint_rolls_back_cleanly() -> None:
    partner = factories.PartnerFactory()
    with pytest.raises(DatabaseError), transaction.atomic():
        raw("INSERT INTO partners_partner (id) VALUES (%s)", [partner.pk])  # duplicate key
    assert Partner.objects.filter(pk=partner.pk).exists()


def test_the_wrapper_leaves_a_scope_opened_by_the_test_alone() -> None:
    a, b = factories.PartnerFactory(), factories.PartnerFactory()
    with tenant_scope(Scope.partner(a.pk)):
        assert list(Partner.objects.filter(pk__in=[a.pk, b.pk]).values_list("pk", flat=True)) == [a.pk]
