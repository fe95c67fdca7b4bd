"""The one mechanism every state change of every app goes through.

A model declares its allowed moves once (``TRANSITIONS = StateMachine(...)`` on the model); a
service locks the row with :func:`lock`, applies its own rules (who may, what must be filled in,
idempotent double clicks), and opens :func:`transition` around the change. The kernel then
checks the move is allowed, snapshots the audited fields before and after, saves only the named
fields, writes the audit event and hands side effects to the database's commit. So a new
transition is the declaration plus its own rules, and the mechanics are tested once
(tests/prm/test_transitions.py).

This module imports no domain app: it works on any model with a status-like field.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from django.db import models, transaction

from . import audit
from .errors import ApplicationError
from .models import User

M = TypeVar("M", bound=models.Model)

# Set on an instance by lock(): transition() refuses a row nobody locked, since checking the
# current state of an unlocked row lets two concurrent requests both pass the check.
_LOCKED = "_transitions_locked"


class StateMachine:
    """The moves a model's ``field`` may make, and the message a refused move shows.

    ``refusal`` is formatted with ``current`` and ``target`` (the lower-cased labels of the two
    states) and, for any other name, the instance's attribute of that name (a statement's
    ``number``), so each app keeps its own wording."""

    def __init__(
        self, allowed: Mapping[str, Collection[str]], *, refusal: str, field: str = "status"
    ) -> None:
        self.allowed = allowed
        self.refusal = refusal
        self.field = field

    def allows(self, obj: models.Model, target: str) -> bool:
        return target in self.allowed.get(getattr(obj, self.field), ())

    def label(self, obj: models.Model, state: str) -> str:
        choices = dict(obj._meta.get_field(self.field).flatchoices)
        return str(choices.get(state, state)).lower()

    def refuse(self, obj: models.Model, target: str, message: str | None = None) -> ApplicationError:
        return ApplicationError(str(message or self.refusal) % _MessageValues(self, obj, target))


class _MessageValues(Mapping[str, Any]):
    """What a refusal message may name: the two states, or any attribute of the instance."""

    def __init__(self, machine: StateMachine, obj: models.Model, target: str) -> None:
        self.machine, self.obj, self.target = machine, obj, target

    def __getitem__(self, key: str) -> Any:
        if key == "current":
            return self.machine.label(self.obj, getattr(self.obj, self.machine.field))
        if key == "target":
            return self.machine.label(self.obj, self.target)
        try:
            return getattr(self.obj, key)
        except AttributeError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(("current", "target"))

    def __len__(self) -> int:
        return 2


def lock(obj: M, *, related: Sequence[str] = ()) -> M:
    """The row of ``obj`` again, locked until the end of the transaction.

    of=("self",): only the row itself is locked, not the rows joined by ``related`` for reading
    (locking a partner's tier would make every partner on that tier queue behind one request)."""
    queryset = type(obj)._default_manager.select_for_update(of=("self",))
    if related:
        queryset = queryset.select_related(*related)
    locked = queryset.get(pk=obj.pk)
    setattr(locked, _LOCKED, True)
    return locked


class Change(Generic[M]):
    """A transition under way: the service sets fields through it and queues its side effects."""

    def __init__(
        self,
        obj: M,
        *,
        to: str | None,
        action: str,
        reason: str,
        partner_id: int | None,
        machine: StateMachine | None,
        refusal: str | None,
    ) -> None:
        self.obj = obj
        self.to = to
        self.action = action
        self.reason = reason
        # Settable in the block: an application's partner exists only once it is approved.
        self.partner_id = partner_id
        # Values the audit event records that are no field of the row (a count the change alters,
        # a reference): ``audit_before`` joins the before-snapshot, ``audit_extra`` the after.
        self.audit_before: dict[str, Any] = {}
        self.audit_extra: dict[str, Any] = {}
        self._machine = machine
        self._refusal = refusal
        self._fields: list[str] = []
        self._after_commit: list[Callable[[], Any]] = []

    def set(self, **values: Any) -> None:
        """Assign fields of the row; only the fields set here (and the state) are saved."""
        for name, value in values.items():
            setattr(self.obj, name, value)
            if name not in self._fields:
                self._fields.append(name)

    def become(self, to: str) -> None:
        """Go to another state than announced (a win that must wait for confirmation); checked
        against the model's allowed moves like the first."""
        _check(self.obj, to, self._machine, None, self._refusal)
        self.to = to

    def after_commit(self, callback: Callable[[], Any]) -> None:
        """Run ``callback`` once the transaction commits (never if the transition fails or the
        transaction rolls back): signals to other apps, Celery tasks, outbound calls."""
        self._after_commit.append(callback)


def _check(
    obj: models.Model,
    to: str,
    machine: StateMachine | None,
    from_states: Collection[str] | None,
    refusal: str | None,
) -> None:
    if machine is None:
        raise TypeError(f"{type(obj).__name__} declares no TRANSITIONS; it has no states to move between.")
    current = getattr(obj, machine.field)
    if not machine.allows(obj, to) or (from_states is not None and current not in from_states):
        raise machine.refuse(obj, to, refusal)


@contextmanager
def transition(
    obj: M,
    *,
    actor: User | None,
    action: str,
    to: str | None = None,
    from_states: Collection[str] | None = None,
    refusal: str | None = None,
    snapshot: Sequence[str] = ("status",),
    after: Sequence[str] | None = None,
    partner_id: int | None = None,
    reason: str = "",
) -> Iterator[Change[M]]:
    """Move the locked row ``obj`` to state ``to`` (or, with ``to`` None, make an audited change
    that is not a state change), audited as ``action``.

    On entry the move is checked against the model's ``TRANSITIONS`` (and, narrower,
    ``from_states``); a refused move raises ApplicationError with the model's message (or
    ``refusal``) and nothing is saved or audited. The block applies the service's own rules and
    field changes through the yielded :class:`Change`. On a clean exit the state and the fields
    set are saved with update_fields (plus ``updated_at`` where the model keeps one), the audit
    event records ``snapshot`` before and ``after`` (default: the same fields) after, and the
    queued side effects are handed to the commit. An exception in the block leaves all of it
    undone."""
    if not getattr(obj, _LOCKED, False):
        raise RuntimeError("Lock the row with prm.transitions.lock() before a transition.")
    machine: StateMachine | None = getattr(type(obj), "TRANSITIONS", None)
    if to is not None:
        _check(obj, to, machine, from_states, refusal)
    change = Change(
        obj, to=to, action=action, reason=reason, partner_id=partner_id, machine=machine, refusal=refusal
    )
    before = audit.snapshot(obj, snapshot)
    yield change
    fields = list(change._fields)
    if change.to is not None:
        assert machine is not None  # checked on entry
        setattr(obj, machine.field, change.to)
        fields.insert(0, machine.field)
    if fields:
        if (
            any(f.name == "updated_at" and getattr(f, "auto_now", False) for f in obj._meta.concrete_fields)
            and "updated_at" not in fields
        ):
            fields.append("updated_at")
        obj.save(update_fields=fields)
    audit.record(
        actor=actor,
        action=change.action,
        target=obj,
        before={**before, **change.audit_before},
        after={**audit.snapshot(obj, after if after is not None else snapshot), **change.audit_extra},
        partner_id=change.partner_id,
        reason=change.reason,
    )
    for callback in change._after_commit:
        transaction.on_commit(callback)


def transition_many(
    objs: Sequence[M],
    *,
    actor: User | None,
    action: str,
    to: str,
    values: Mapping[str, Any] | None = None,
    partner_id: Callable[[M], int | None] = lambda obj: getattr(obj, "partner_id", None),
    reason: Callable[[M], str] | str = "",
    extra: Callable[[M], dict[str, Any]] | None = None,
) -> int:
    """Move many locked rows of one model to ``to`` in one UPDATE, with one audit event each (one
    INSERT): :func:`transition` for a batch job that closes thousands of rows in a run.

    Every row must be locked (select_for_update in the caller's transaction) and allowed to move
    (the model's ``TRANSITIONS``), or nothing happens. ``values`` are set on every row too (a
    closing date); ``extra(obj)`` adds to a row's after-snapshot. Returns the rows changed."""
    if not objs:
        return 0
    model = type(objs[0])
    machine: StateMachine | None = getattr(model, "TRANSITIONS", None)
    for obj in objs:
        if not getattr(obj, _LOCKED, False):
            raise RuntimeError("Lock the rows (select_for_update, then mark_locked) before a transition.")
        _check(obj, to, machine, None, None)
    assert machine is not None  # _check refused a model without one
    values = dict(values or {})
    befores = [audit.snapshot(obj, (machine.field,)) for obj in objs]
    update = {machine.field: to, **values}
    if any(f.name == "updated_at" and getattr(f, "auto_now", False) for f in model._meta.concrete_fields):
        from django.utils import timezone

        update.setdefault("updated_at", timezone.now())
    changed = model._default_manager.filter(pk__in=[obj.pk for obj in objs]).update(**update)
    for obj in objs:
        for name, value in update.items():
            setattr(obj, name, value)
    audit.record_many(
        {
            "actor": actor,
            "action": action,
            "target": obj,
            "before": before,
            "after": {
                **audit.snapshot(obj, (machine.field, *values)),
                **(extra(obj) if extra is not None else {}),
            },
            "partner_id": partner_id(obj),
            "reason": reason(obj) if callable(reason) else reason,
        }
        for obj, before in zip(objs, befores, strict=True)
    )
    return changed


def mark_locked(objs: Iterable[M]) -> list[M]:
    """Rows the caller read with ``select_for_update()`` in the current transaction, marked as
    locked for :func:`transition` / :func:`transition_many` (``lock`` reads one row at a time)."""
    objs = list(objs)
    for obj in objs:
        setattr(obj, _LOCKED, True)
    return objs
