"""Fund periods and budgets are written through ``mdf.services.period_save`` and ``budget_save``,
which check who may, save and audit; the admin pages (a period with its budget inline, and the
budget page) call them rather than saving and auditing by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from mdf import services
from mdf.models import Budget, FundPeriod
from prm.models import AuditEvent
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.helpers import login
from tests.mdf import factories as m
from tests.mdf.factories import acting

pytestmark = pytest.mark.django_db


def _events(action: str, target: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, target_id=str(target.pk)).order_by("pk"))


@pytest.fixture
def admin() -> Actor:
    return m.program_admin()


def test_a_period_is_created_and_changed_through_the_service_and_audited_per_change(admin: Actor) -> None:
    with acting(admin):
        period = services.period_save(
            actor=admin,
            period=FundPeriod(name="FY2031 H1", starts_on=date(2031, 1, 1), ends_on=date(2031, 6, 30)),
        )
    [created] = _events("mdf.period_created", period)
    assert (created.actor, created.before) == (admin.user, {})
    assert created.after == {"name": "FY2031 H1", "starts_on": "2031-01-01", "ends_on": "2031-06-30"}

    period.name = "FY2031 first half"
    with acting(admin):
        services.period_save(actor=admin, period=period)
        services.period_save(actor=admin, period=period)  # saved again unchanged: nothing to audit
    [changed] = _events("mdf.period_changed", period)
    assert (changed.before["name"], changed.after["name"]) == ("FY2031 H1", "FY2031 first half")
    assert FundPeriod.objects.get(pk=period.pk).name == "FY2031 first half"


def test_editing_a_period_never_reopens_it_when_it_closed_meanwhile(admin: Actor) -> None:
    today = timezone.localdate()
    period = m.period(starts_on=today - timedelta(days=100), ends_on=today - timedelta(days=1))
    stale = FundPeriod.objects.get(pk=period.pk)  # as the admin's form loaded it, still open
    services.period_close(period=period)
    stale.name = "Renamed after it closed"
    with acting(admin):
        services.period_save(actor=admin, period=stale)
    saved = FundPeriod.objects.get(pk=period.pk)
    assert saved.name == "Renamed after it closed"
    assert saved.closed_at is not None


def test_a_budget_is_created_and_changed_through_the_service_and_audited(admin: Actor) -> None:
    period = m.period()
    with acting(admin):
        budget = services.budget_save(
            actor=admin, budget=Budget(period=period, currency="EUR", amount=Decimal("50000.00"))
        )
    [created] = _events("mdf.budget_created", budget)
    assert created.after == {"period": str(period), "currency": "EUR", "amount": "50000.00"}

    budget.amount = Decimal("60000.00")
    with acting(admin):
        services.budget_save(actor=admin, budget=budget)
    [changed] = _events("mdf.budget_changed", budget)
    assert (changed.actor, changed.before["amount"], changed.after["amount"]) == (
        admin.user,
        "50000.00",
        "60000.00",
    )
    assert Budget.objects.get(pk=budget.pk).amount == Decimal("60000.00")


@pytest.mark.parametrize("role", [VendorRole.CHANNEL_ACCOUNT_MANAGER, VendorRole.FINANCE])
def test_only_program_admins_set_periods_and_budgets(role: str) -> None:
    actor = factories.vendor_actor(role)
    existing = m.budget(amount="100000.00")
    existing.amount = Decimal("1.00")
    new_period = FundPeriod(name="FY2032", starts_on=date(2032, 1, 1), ends_on=date(2032, 12, 31))
    with acting(actor):
        with pytest.raises(PermissionDenied):
            services.period_save(actor=actor, period=new_period)
        with pytest.raises(PermissionDenied):
            services.budget_save(actor=actor, budget=existing)
    assert not FundPeriod.objects.filter(name="FY2032").exists()
    assert Budget.objects.get(pk=existing.pk).amount == Decimal("100000.00")
    assert not AuditEvent.objects.filter(action__startswith="mdf.period_").exists()
    assert not AuditEvent.objects.filter(action__startswith="mdf.budget_").exists()


def test_the_admin_saves_periods_and_budgets_through_the_services(monkeypatch: Any) -> None:
    saved: list[str] = []
    period_save, budget_save = services.period_save, services.budget_save

    def spy(name: str, service: Any) -> Any:
        def call(**kwargs: Any) -> Any:
            saved.append(name)
            return service(**kwargs)

        return call

    monkeypatch.setattr(services, "period_save", spy("period", period_save))
    monkeypatch.setattr(services, "budget_save", spy("budget", budget_save))
    program_admin = factories.vendor_user(VendorRole.PROGRAM_ADMIN, email="ada.admin@prm.example")
    budget = m.budget(amount="100000.00")
    period = budget.period
    client = login(program_admin)

    response = client.post(
        reverse("admin:mdf_fundperiod_change", args=[period.pk]),
        {
            "name": "Renamed period",
            "starts_on": period.starts_on.isoformat(),
            "ends_on": period.ends_on.isoformat(),
            "budgets-TOTAL_FORMS": "1",
            "budgets-INITIAL_FORMS": "1",
            "budgets-MIN_NUM_FORMS": "0",
            "budgets-MAX_NUM_FORMS": "1000",
            "budgets-0-id": str(budget.pk),
            "budgets-0-period": str(period.pk),
            "budgets-0-currency": "USD",
            "budgets-0-amount": "150000",
        },
    )
    assert response.status_code == 302
    assert saved == ["period", "budget"]
    [budget_changed] = _events("mdf.budget_changed", budget)
    assert budget_changed.actor == program_admin
    assert Decimal(budget_changed.after["amount"]) == Decimal("150000")
    assert _events("mdf.period_changed", period)[0].after["name"] == "Renamed period"

    response = client.post(reverse("admin:mdf_budget_change", args=[budget.pk]), {"amount": "175000"})
    assert response.status_code == 302
    assert saved == ["period", "budget", "budget"]
    assert Budget.objects.get(pk=budget.pk).amount == Decimal("175000.00")
    assert len(_events("mdf.budget_changed", budget)) == 2
