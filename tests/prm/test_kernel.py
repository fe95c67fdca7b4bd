"""The kernel every app builds on: audit trail, notifications, money, tenancy helpers, small view helpers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.core import mail
from django.db import DatabaseError, transaction

from partners.forms import DomainField
from partners.models import Partner
from prm import audit
from prm.domains import normalise_domain
from prm.models import AuditEvent, Notification
from prm.money import Currency, Money, quantize
from prm.notifications import notify, notify_many, unread_count
from prm.tasks import send_notification_email
from prm.tenancy import ANONYMOUS, Actor, Scope, Side, current_scope_settings, system_scope, tenant_scope
from prm.views import csv_response
from tests import factories
from tests.scoping import acting

# --- Audit trail ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_record_stores_actor_target_and_jsonable_before_after(partner: Partner, program_admin: Any) -> None:
    # A service records inside its actor's request scope.
    with acting(factories.actor_for(program_admin)):
        event = audit.record(
            actor=program_admin,
            action="partner.tier_changed",
            target=partner,
            before={"tier": partner.tier, "amount": Decimal("10.50"), "on": date(2026, 1, 31)},
            after={"tier": "Gold", "when": datetime(2026, 2, 1, 12, 0, tzinfo=UTC), "list": (1, "a")},
            partner_id=partner.pk,
            reason="Met the Gold requirements",
        )
    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor == program_admin
    assert event.actor_label == program_admin.email
    assert event.partner_id == partner.pk
    assert event.target_id == str(partner.pk)
    assert event.target_repr == "Acme Networks"
    assert event.target_type.model_class() is Partner
    assert event.action == "partner.tier_changed"
    assert event.before == {"tier": str(partner.tier), "amount": "10.50", "on": "2026-01-31"}
    assert event.after == {"tier": "Gold", "when": "2026-02-01T12:00:00+00:00", "list": [1, "a"]}
    assert event.reason == "Met the Gold requirements"
    assert event.changes == [
        ("amount", "10.50", None),
        ("list", None, [1, "a"]),
        ("on", "2026-01-31", None),
        ("tier", str(partner.tier), "Gold"),
        ("when", None, "2026-02-01T12:00:00+00:00"),
    ]
    assert str(event) == "partner.tier_changed Acme Networks"


@pytest.mark.django_db
def test_record_without_actor_is_the_system(partner: Partner) -> None:
    unsaved = factories.UserFactory.build(email="ghost@example.com")
    with system_scope():  # the system records from a task, in the task's scope
        event = audit.record(actor=None, action="tier.evaluated", target=partner)
        unsaved_event = audit.record(actor=unsaved, action="x", target=partner)
    assert event.actor is None
    assert event.actor_label == "system"
    assert event.before == {} and event.after == {}
    assert unsaved_event.actor_label == "system"


@pytest.mark.django_db
def test_snapshot_uses_choice_values_and_foreign_key_text(partner: Partner) -> None:
    assert audit.snapshot(partner, ["status", "tier", "legal_name"]) == {
        "status": "active",
        "tier": str(partner.tier),
        "legal_name": "Acme Networks",
    }


@pytest.mark.django_db
def test_history_for_returns_only_that_target_newest_first(
    partner: Partner, other_partner: Partner, program_admin: Any
) -> None:
    with acting(factories.actor_for(program_admin)):
        first = audit.record(actor=program_admin, action="one", target=partner, partner_id=partner.pk)
        audit.record(
            actor=program_admin, action="elsewhere", target=other_partner, partner_id=other_partner.pk
        )
        audit.record(actor=program_admin, action="user", target=program_admin)
        second = audit.record(actor=program_admin, action="two", target=partner, partner_id=partner.pk)
    assert list(audit.history_for(target=partner)) == [second, first]
    assert [e.action for e in audit.history_for(target=program_admin)] == ["user"]
    assert [e.action for e in audit.history_for_partner(partner_id=partner.pk)] == ["two", "one"]


@pytest.mark.django_db
def test_audit_events_cannot_be_updated(partner: Partner) -> None:
    # Refused even in a scope that may write the table (the trigger, not row-level security).
    with system_scope():
        event = audit.record(actor=None, action="partner.activated", target=partner, partner_id=partner.pk)
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(action="partner.nothing_happened")
        event.reason = "rewritten history"
        with pytest.raises(DatabaseError), transaction.atomic():
            event.save()
    event.refresh_from_db()
    assert event.action == "partner.activated"
    assert event.reason == ""


@pytest.mark.django_db
def test_audit_events_cannot_be_deleted(partner: Partner) -> None:
    # Refused even in a scope that may write the table (the trigger, not row-level security).
    with system_scope():
        event = audit.record(actor=None, action="partner.activated", target=partner, partner_id=partner.pk)
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).delete()
        with pytest.raises(DatabaseError), transaction.atomic():
            event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- Notifications -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_notify_creates_the_row_and_waits_for_commit_to_email(
    partner_admin: Any, partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks, system_scope():
        notification = notify(
            recipient=partner_admin,
            kind="deal.approved",
            title="Your deal was approved",
            body="Deal #12",
            url="/deals/12/",
            partner_id=partner.pk,
        )
    assert mail.outbox == []
    assert len(callbacks) == 1
    notification.refresh_from_db()
    assert (
        notification.recipient,
        notification.kind,
        notification.title,
        notification.body,
        notification.url,
        notification.partner_id,
    ) == (partner_admin, "deal.approved", "Your deal was approved", "Deal #12", "/deals/12/", partner.pk)
    assert notification.read_at is None
    assert notification.emailed_at is None
    with acting(factories.actor_for(partner_admin)):  # the page's badge, in the user's request
        assert unread_count(user=partner_admin) == 1


@pytest.mark.django_db
def test_notify_sends_exactly_one_email_after_commit_and_is_idempotent(
    partner_admin: Any, partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), system_scope():
        notification = notify(
            recipient=partner_admin,
            kind="deal.approved",
            title="Your deal was approved",
            url="/deals/12/",
            partner_id=partner.pk,
        )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [partner_admin.email]
    assert message.subject == "[PRM] Your deal was approved"
    notification.refresh_from_db()
    emailed_at = notification.emailed_at
    assert emailed_at is not None

    # A redelivered task finds the e-mail already sent.
    assert send_notification_email(notification.pk) is False
    assert send_notification_email(notification.pk) is False
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.emailed_at == emailed_at


@pytest.mark.django_db
def test_send_notification_email_twice_sends_once(partner_admin: Any, partner: Partner) -> None:
    with system_scope():
        notification = notify(recipient=partner_admin, kind="k", title="Hello", partner_id=partner.pk)
    assert send_notification_email(notification.pk) is True
    assert send_notification_email(notification.pk) is False
    assert len(mail.outbox) == 1
    assert Notification.objects.get(pk=notification.pk).emailed_at is not None
    assert send_notification_email(notification.pk + 10_000) is False  # gone: nothing to do


@pytest.mark.django_db
def test_notify_respects_the_email_preference(
    partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    quiet = factories.partner_user(partner, email="quiet@acme.example", email_notifications=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, system_scope():
        notification = notify(recipient=quiet, kind="k", title="In-app only", partner_id=partner.pk)
    assert callbacks == []
    assert mail.outbox == []
    assert Notification.objects.filter(pk=notification.pk, recipient=quiet).exists()
    assert Notification.objects.get(pk=notification.pk).emailed_at is None


@pytest.mark.django_db
def test_notify_sends_no_email_to_an_inactive_user(
    partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    gone = factories.partner_user(partner, email="gone@acme.example", is_active=False)
    with django_capture_on_commit_callbacks(execute=True), system_scope():
        notify(recipient=gone, kind="k", title="Nobody reads this", partner_id=partner.pk)
    assert mail.outbox == []


@pytest.mark.django_db
def test_notify_with_email_false_is_in_app_only(
    partner_admin: Any, partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True), system_scope():
        notify(recipient=partner_admin, kind="k", title="Quiet", partner_id=partner.pk, email=False)
    assert mail.outbox == []
    assert Notification.objects.filter(recipient=partner_admin, title="Quiet").count() == 1


@pytest.mark.django_db
def test_nothing_is_sent_when_the_transaction_rolls_back(
    partner_admin: Any, partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
        system_scope(),
    ):
        notify(recipient=partner_admin, kind="k", title="Rolled back", partner_id=partner.pk)
        raise RuntimeError("boom")
    assert callbacks == []
    assert mail.outbox == []
    assert not Notification.objects.filter(title="Rolled back").exists()


@pytest.mark.django_db
def test_notify_truncates_long_titles_and_notify_many(partner_admin: Any, program_admin: Any) -> None:
    with system_scope():
        notifications = notify_many(
            recipients=[partner_admin, program_admin], kind="k", title="x" * 300, email=False
        )
    assert [n.recipient for n in notifications] == [partner_admin, program_admin]
    assert all(len(n.title) == 200 for n in notifications)
    assert Notification.objects.filter(kind="k", recipient__in=[partner_admin, program_admin]).count() == 2


# --- Money ---------------------------------------------------------------------------------------


def test_money_refuses_floats() -> None:
    with pytest.raises(TypeError):
        Money(0.1, "USD")
    with pytest.raises(TypeError):
        Money(10.0, "EUR")


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("10.005"), "USD", Decimal("10.00")),  # banker's rounding: half to even
        (Decimal("10.015"), "USD", Decimal("10.02")),
        (Decimal("10.016"), "EUR", Decimal("10.02")),
        (Decimal("1234.5"), "JPY", Decimal("1234")),
        (Decimal("1235.5"), "JPY", Decimal("1236")),
        (Decimal("1.2345"), "KWD", Decimal("1.234")),
        ("19.999", "GBP", Decimal("20.00")),
        (7, "USD", Decimal("7.00")),
    ],
)
def test_money_quantizes_to_minor_units(amount: Any, currency: str, expected: Decimal) -> None:
    money = Money(amount, currency)
    assert money.amount == expected
    assert money.amount.as_tuple().exponent == expected.as_tuple().exponent
    assert isinstance(money.amount, Decimal)
    assert quantize(Decimal(str(amount)), currency) == expected


def test_money_arithmetic_and_currency_mismatch() -> None:
    total = Money(Decimal("10.10"), "USD") + Money(Decimal("0.95"), "USD")
    assert total == Money(Decimal("11.05"), "USD")
    assert Money(Decimal("5"), "EUR") - Money(Decimal("7.5"), "EUR") == Money(Decimal("-2.50"), "EUR")
    with pytest.raises(ValueError, match="USD and EUR"):
        Money(Decimal("1"), "USD") + Money(Decimal("1"), "EUR")
    with pytest.raises(ValueError):
        Money(Decimal("1"), "GBP") - Money(Decimal("1"), "JPY")


def test_money_is_immutable_and_prints_with_currency() -> None:
    money = Money(Decimal("1234567.891"), "USD")
    assert str(money) == "1,234,567.89 USD"
    with pytest.raises(AttributeError):
        money.amount = Decimal("0")  # type: ignore[misc]
    assert Currency.USD == "USD"
    assert "JPY" in Currency.values


# --- Domains -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.Acme.com/about?x=1", "acme.com"),
        ("HTTP://Acme.COM", "acme.com"),
        ("acme.com.", "acme.com"),
        ("  www.acme.co.uk/path#frag ", "acme.co.uk"),
        ("acme.com:8443", "acme.com"),
        ("acme.com?utm=1", "acme.com"),
        ("sub.acme.io", "sub.acme.io"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_domain(raw: Any, expected: str) -> None:
    assert normalise_domain(raw) == expected


def test_domain_field_cleans_and_rejects() -> None:
    field = DomainField()
    assert field.clean("https://www.Acme.com/about?x=1") == "acme.com"
    for bad in ("not a domain", "acme", "-acme.com", "acme..com", "acme.c0m", "<script>.com"):
        with pytest.raises(forms.ValidationError) as excinfo:
            field.clean(bad)
        assert excinfo.value.code == "invalid"
    with pytest.raises(forms.ValidationError):
        field.clean("")  # required by default
    assert DomainField(required=False).clean("") == ""


# --- CSV export ----------------------------------------------------------------------------------


def _csv_rows(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def test_csv_response_defuses_formulas() -> None:
    response = csv_response(
        "partners.csv",
        ["name", "note"],
        [
            ['=HYPERLINK("http://evil.example","x")', "+1+1"],
            ["-2+3", "@SUM(A1:A2)"],
            ["Acme = best", 42],
            [None, Decimal("1.50")],
        ],
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="partners.csv"'
    assert _csv_rows(response) == [
        ["name", "note"],
        ['\'=HYPERLINK("http://evil.example","x")', "'+1+1"],
        ["'-2+3", "'@SUM(A1:A2)"],
        ["Acme = best", "42"],
        ["", "1.50"],
    ]


def test_csv_response_defuses_tab_and_carriage_return_prefixes() -> None:
    """OWASP's CSV-injection list also names a leading tab and carriage return."""
    response = csv_response("x.csv", ["cell"], [["\t=1+1"], ["\r=1+1"]])
    assert [row[0] for row in _csv_rows(response)[1:]] == ["'\t=1+1", "'\r=1+1"]


# --- Tenancy helpers -----------------------------------------------------------------------------


def test_actor_properties() -> None:
    assert ANONYMOUS.scope is None
    assert not ANONYMOUS.is_authenticated and not ANONYMOUS.is_vendor and not ANONYMOUS.is_partner
    assert Actor(user=None, side=Side.VENDOR, vendor_role="finance").scope == Scope.vendor()
    # A partner-side actor without a partner has no scope at all (fail closed).
    assert Actor(user=None, side=Side.PARTNER).scope is None
    with pytest.raises(ValueError):
        Scope.partner(0)
    assert Scope.partner("7") == Scope(kind="partner", partner_id=7)


@pytest.mark.django_db
def test_partner_actor_scope(partner_admin: Any, partner: Partner) -> None:
    actor = factories.actor_for(partner_admin)
    assert actor.is_partner
    assert actor.partner_id == partner.pk
    assert actor.scope == Scope.partner(partner.pk)


@pytest.mark.django_db
def test_tenant_scope_sets_and_restores_settings(partner: Partner) -> None:
    # Scopes nest inside an outer one, as a task's system scope around a service's own.
    with system_scope():
        outer = current_scope_settings()
        assert outer == ("vendor", "", "*", "on")
        with tenant_scope(Scope.partner(partner.pk)):
            assert current_scope_settings() == ("partner", str(partner.pk), "", "")
            with tenant_scope(None):
                assert current_scope_settings() == ("", "", "", "")
                assert not Partner.objects.filter(pk=partner.pk).exists()
            assert current_scope_settings() == ("partner", str(partner.pk), "", "")
            with tenant_scope(Scope.vendor(portfolio=[partner.pk, 3], money=False)):
                expected = "{" + ",".join(str(pk) for pk in sorted({3, partner.pk})) + "}"
                assert current_scope_settings() == ("vendor", "", expected, "")
            with system_scope():
                assert current_scope_settings() == ("vendor", "", "*", "on")
        assert current_scope_settings() == outer


@pytest.mark.django_db
def test_tenant_scope_is_undone_when_the_block_fails(partner: Partner) -> None:
    with system_scope():
        with pytest.raises(RuntimeError), tenant_scope(None):
            raise RuntimeError("boom")
        assert current_scope_settings() == ("vendor", "", "*", "on")
        assert Partner.objects.filter(pk=partner.pk).exists()


def test_every_beat_schedule_entry_names_a_registered_task() -> None:
    from django.conf import settings

    from prm.celery import app

    app.loader.import_default_modules()
    missing = [
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] not in app.tasks
    ]
    assert missing == []
