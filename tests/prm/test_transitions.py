"""The one transition mechanism (prm.transitions), tested once on a real tenant model: a partner's
status, with a state machine declared for the test so the kernel is checked apart from any app's
own declaration."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partners.models import Partner, PartnerStatus
from prm import transitions
from prm.errors import ApplicationError
from prm.models import AuditEvent
from prm.tenancy import Actor
from tests import factories
from tests.scoping import acting

MACHINE = transitions.StateMachine(
    {
        PartnerStatus.ONBOARDING: {PartnerStatus.ACTIVE},
        PartnerStatus.ACTIVE: {PartnerStatus.SUSPENDED},
        PartnerStatus.SUSPENDED: {PartnerStatus.ACTIVE},
        PartnerStatus.TERMINATED: set(),
    },
    refusal="Partner %(legal_name)s is %(current)s; it cannot become %(target)s.",
)


@pytest.fixture(autouse=True)
def _machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Partner, "TRANSITIONS", MACHINE, raising=False)


@pytest.fixture
def acme(db: Any) -> Partner:
    return factories.PartnerFactory(legal_name="Acme Networks", status=PartnerStatus.ACTIVE)


@pytest.fixture
def admin(program_admin: Any) -> Actor:
    """The caller these tests model: a service in a program admin's request (and its scope)."""
    return factories.actor_for(program_admin)


def _events(partner: Partner) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(target_id=str(partner.pk), action__startswith="test."))


@pytest.mark.django_db
def test_lock_selects_the_row_for_update_of_itself_only(acme: Partner, admin: Actor) -> None:
    with acting(admin), CaptureQueriesContext(connection) as queries:
        locked = transitions.lock(acme, related=("tier",))
    (query,) = queries.captured_queries
    assert 'FOR UPDATE OF "partners_partner"' in query["sql"]
    assert locked.pk == acme.pk and locked is not acme
    with CaptureQueriesContext(connection) as queries:
        assert locked.tier.name  # joined for reading, no further query
    assert not queries.captured_queries


@pytest.mark.django_db
def test_a_transition_on_an_unlocked_row_is_a_programming_error(acme: Partner, program_admin: Any) -> None:
    with (
        pytest.raises(RuntimeError, match="Lock the row"),
        transitions.transition(acme, actor=program_admin, action="test.suspended", to="suspended"),
    ):
        pass
    assert Partner.objects.get(pk=acme.pk).status == PartnerStatus.ACTIVE


@pytest.mark.django_db
def test_allowed_move_saves_only_the_named_fields_and_audits_before_after(
    acme: Partner, program_admin: Any, admin: Actor
) -> None:
    with acting(admin):
        partner = transitions.lock(acme)
    # Changed in memory but not through the change: must not be written.
    partner.legal_name = "Not saved"
    with (
        acting(admin),
        CaptureQueriesContext(connection) as queries,
        transitions.transition(
            partner,
            actor=program_admin,
            action="test.suspended",
            to=PartnerStatus.SUSPENDED,
            snapshot=["status"],
            after=["status", "phone"],
            partner_id=partner.pk,
            reason="Overdue invoices",
        ) as change,
    ):
        assert partner.status == PartnerStatus.ACTIVE  # the state moves on a clean exit
        change.set(phone="+1 555 0100")
        change.audit_extra["note"] = "kept"
    update = next(q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE"))
    assert '"status"' in update and '"phone"' in update and '"updated_at"' in update
    assert '"legal_name"' not in update
    stored = Partner.objects.get(pk=acme.pk)
    assert (stored.status, stored.phone, stored.legal_name) == ("suspended", "+1 555 0100", "Acme Networks")
    (event,) = _events(acme)
    assert event.actor == program_admin
    assert event.partner_id == acme.pk
    assert event.before == {"status": "active"}
    assert event.after == {"status": "suspended", "phone": "+1 555 0100", "note": "kept"}
    assert event.reason == "Overdue invoices"


@pytest.mark.django_db
def test_disallowed_move_is_refused_with_the_models_message_and_nothing_saved(
    acme: Partner, program_admin: Any, admin: Actor
) -> None:
    Partner.objects.filter(pk=acme.pk).update(status=PartnerStatus.TERMINATED)
    with acting(admin):
        partner = transitions.lock(acme)
    entered = False
    with (
        acting(admin),
        pytest.raises(ApplicationError) as refused,
        transitions.transition(
            partner, actor=program_admin, action="test.activated", to=PartnerStatus.ACTIVE
        ) as change,
    ):
        entered = True
        change.set(phone="+1 555 0100")
    assert str(refused.value) == "Partner Acme Networks is terminated; it cannot become active."
    assert not entered
    stored = Partner.objects.get(pk=acme.pk)
    assert (stored.status, stored.phone) == (PartnerStatus.TERMINATED, "")
    assert _events(acme) == []


@pytest.mark.django_db
def test_from_states_narrow_the_map_with_the_services_own_message(
    acme: Partner, program_admin: Any, admin: Actor
) -> None:
    # ACTIVE -> SUSPENDED is allowed by the map; this transition only starts from ONBOARDING.
    with acting(admin):
        partner = transitions.lock(acme)
    with (
        acting(admin),
        pytest.raises(ApplicationError, match=r"^Only onboarding partners\.$"),
        transitions.transition(
            partner,
            actor=program_admin,
            action="test.suspended",
            to=PartnerStatus.SUSPENDED,
            from_states={PartnerStatus.ONBOARDING},
            refusal="Only onboarding partners.",
        ),
    ):
        pass
    assert _events(acme) == []


@pytest.mark.django_db
def test_become_redirects_the_move_and_checks_it_again(
    acme: Partner, program_admin: Any, admin: Actor
) -> None:
    with acting(admin):
        partner = transitions.lock(acme)
    with (
        acting(admin),
        pytest.raises(ApplicationError, match="cannot become onboarding"),
        transitions.transition(
            partner, actor=program_admin, action="test.moved", to=PartnerStatus.SUSPENDED
        ) as change,
    ):
        change.become(PartnerStatus.ONBOARDING)
    assert Partner.objects.get(pk=acme.pk).status == PartnerStatus.ACTIVE
    assert _events(acme) == []


@pytest.mark.django_db
def test_an_error_in_the_services_rules_leaves_nothing_saved_audited_or_scheduled(
    acme: Partner, program_admin: Any, admin: Actor, django_capture_on_commit_callbacks: Any
) -> None:
    with acting(admin):
        partner = transitions.lock(acme)
    sent = []
    with (
        django_capture_on_commit_callbacks() as callbacks,
        acting(admin),
        pytest.raises(ApplicationError, match="Say why"),
        transitions.transition(
            partner, actor=program_admin, action="test.suspended", to=PartnerStatus.SUSPENDED
        ) as change,
    ):
        change.after_commit(lambda: sent.append("webhook"))
        change.set(phone="+1 555 0100")
        raise ApplicationError("Say why.")
    assert callbacks == [] and sent == []
    assert Partner.objects.get(pk=acme.pk).status == PartnerStatus.ACTIVE
    assert _events(acme) == []


@pytest.mark.django_db
def test_side_effects_run_only_after_the_commit(
    acme: Partner, program_admin: Any, admin: Actor, django_capture_on_commit_callbacks: Any
) -> None:
    with acting(admin):
        partner = transitions.lock(acme)
    sent: list[str] = []
    with django_capture_on_commit_callbacks() as callbacks:
        with (
            acting(admin),
            transitions.transition(
                partner, actor=program_admin, action="test.suspended", to=PartnerStatus.SUSPENDED
            ) as change,
        ):
            change.after_commit(lambda: sent.append(Partner.objects.get(pk=acme.pk).status))
        assert sent == []  # not yet: the transaction has not committed
    # The change's own callback, beside others a partner save registers (the actor cache's).
    assert callbacks
    for callback in callbacks:
        callback()
    assert sent == [PartnerStatus.SUSPENDED]


@pytest.mark.django_db
def test_an_audited_change_without_a_state_keeps_the_state(
    acme: Partner, program_admin: Any, admin: Actor
) -> None:
    with acting(admin):
        partner = transitions.lock(acme)
    with (
        acting(admin),
        transitions.transition(
            partner, actor=None, action="test.phone_changed", snapshot=["phone"]
        ) as change,
    ):
        change.set(phone="+1 555 0199")
    stored = Partner.objects.get(pk=acme.pk)
    assert (stored.status, stored.phone) == (PartnerStatus.ACTIVE, "+1 555 0199")
    (event,) = _events(acme)
    assert (event.actor, event.actor_label) == (None, "system")
    assert (event.before, event.after) == ({"phone": ""}, {"phone": "+1 555 0199"})


@pytest.mark.django_db
def test_values_that_are_no_field_join_the_audits_before_and_after(acme: Partner, admin: Actor) -> None:
    # A change that alters something counted elsewhere (a learner's attempts left) records the
    # count before and after; the row itself is not written when no field is set.
    with acting(admin):
        partner = transitions.lock(acme)
    with (
        acting(admin),
        CaptureQueriesContext(connection) as queries,
        transitions.transition(partner, actor=None, action="test.counted", snapshot=["status"]) as change,
    ):
        change.audit_before["left"] = 0
        change.audit_extra["left"] = 3
    assert not [q for q in queries.captured_queries if q["sql"].startswith('UPDATE "partners_partner"')]
    (event,) = _events(acme)
    assert (event.before, event.after) == ({"status": "active", "left": 0}, {"status": "active", "left": 3})


@pytest.mark.django_db
def test_a_model_without_transitions_cannot_change_state(
    acme: Partner, program_admin: Any, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(Partner, "TRANSITIONS", raising=False)
    with acting(admin):
        partner = transitions.lock(acme)
    with (
        acting(admin),
        pytest.raises(TypeError, match="declares no TRANSITIONS"),
        transitions.transition(partner, actor=program_admin, action="test.x", to="suspended"),
    ):
        pass


@pytest.mark.django_db
def test_the_audited_partner_may_be_known_only_inside_the_block(
    acme: Partner, program_admin: Any, admin: Actor
) -> None:
    with acting(admin):
        partner = transitions.lock(acme)
    with (
        acting(admin),
        transitions.transition(
            partner, actor=program_admin, action="test.suspended", to=PartnerStatus.SUSPENDED
        ) as change,
    ):
        change.partner_id = acme.pk  # an approved application's partner is created in the block
    (event,) = _events(acme)
    assert event.partner_id == acme.pk


@pytest.mark.django_db
def test_transition_many_moves_locked_rows_in_one_update_with_an_event_each(admin: Actor) -> None:
    partners = [factories.PartnerFactory(status=PartnerStatus.ACTIVE) for _n in range(3)]
    with acting(admin):
        with pytest.raises(RuntimeError, match="Lock the rows"):
            transitions.transition_many(
                partners, actor=admin.user, action="test.suspended", to=PartnerStatus.SUSPENDED
            )
        locked = transitions.mark_locked(
            Partner.objects.select_for_update().filter(pk__in=[p.pk for p in partners]).order_by("pk")
        )
        with CaptureQueriesContext(connection) as queries:
            changed = transitions.transition_many(
                locked,
                actor=admin.user,
                action="test.suspended",
                to=PartnerStatus.SUSPENDED,
                values={"phone": "+1 555 0100"},
                partner_id=lambda partner: partner.pk,
                reason=lambda partner: f"batch {partner.pk}",
            )
    assert changed == 3
    assert (
        len([q for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]) <= 3
    )
    for partner in partners:
        partner.refresh_from_db()
        assert (partner.status, partner.phone) == (PartnerStatus.SUSPENDED, "+1 555 0100")
        (event,) = _events(partner)
        assert event.before == {"status": "active"}
        assert event.after == {"status": "suspended", "phone": "+1 555 0100"}
        assert (event.reason, event.partner_id, event.actor) == (
            f"batch {partner.pk}",
            partner.pk,
            admin.user,
        )


@pytest.mark.django_db
def test_transition_many_refuses_the_whole_batch_when_one_row_may_not_move(admin: Actor) -> None:
    ok = factories.PartnerFactory(status=PartnerStatus.ACTIVE)
    gone = factories.PartnerFactory(status=PartnerStatus.TERMINATED)
    with acting(admin):
        locked = transitions.mark_locked(
            Partner.objects.select_for_update().filter(pk__in=[ok.pk, gone.pk]).order_by("pk")
        )
        with pytest.raises(ApplicationError, match="cannot become suspended"):
            transitions.transition_many(
                locked, actor=admin.user, action="test.suspended", to=PartnerStatus.SUSPENDED
            )
    ok.refresh_from_db()
    assert ok.status == PartnerStatus.ACTIVE and not _events(ok)
