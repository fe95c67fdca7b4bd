"""The audit trail: every state change and role/permission change, with actor, time and
before/after. Services call :func:`record`; nothing else writes AuditEvent rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from .models import AuditEvent, User


def _jsonable(value: Any) -> Any:
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    # Countries, UUIDs, files and the like: keep what a reader would see.
    return getattr(value, "code", None) or getattr(value, "name", None) or str(value)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The displayable values of ``fields`` (foreign keys as their text) for before/after."""
    values = {}
    for name in fields:
        value = getattr(instance, name)
        if hasattr(value, "label") and hasattr(value, "value"):  # a TextChoices member
            value = value.value
        values[name] = _jsonable(value)
    return values


def record(
    *,
    actor: User | None,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    partner_id: int | None = None,
    reason: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_label=(actor.email if actor is not None and actor.pk else "system"),
        partner_id=partner_id,
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        target_id=str(target.pk),
        target_repr=str(target)[:255],
        action=action,
        before=_jsonable(before or {}),
        after=_jsonable(after or {}),
        reason=reason,
    )


def history_for(*, target: models.Model) -> models.QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        target_id=str(target.pk),
    ).select_related("actor")


def history_for_partner(*, partner_id: int) -> models.QuerySet[AuditEvent]:
    """Everything that happened to a partner and the objects it owns."""
    return AuditEvent.objects.filter(partner_id=partner_id).select_related("actor", "target_type")


def record_many(events: Iterable[dict[str, Any]]) -> list[AuditEvent]:
    """Many events in one INSERT, each given as :func:`record`'s keyword arguments. For a batch job
    that changes thousands of rows in one run (the monthly tier evaluation), where one INSERT per
    row would be most of its time; each row still gets its own event."""
    rows = []
    for event in events:
        actor, target = event.get("actor"), event["target"]
        rows.append(
            AuditEvent(
                actor=actor if actor is not None and actor.pk else None,
                actor_label=(actor.email if actor is not None and actor.pk else "system"),
                partner_id=event.get("partner_id"),
                target_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
                target_id=str(target.pk),
                target_repr=str(target)[:255],
                action=event["action"],
                before=_jsonable(event.get("before") or {}),
                after=_jsonable(event.get("after") or {}),
                reason=event.get("reason", ""),
            )
        )
    return AuditEvent.objects.bulk_create(rows, batch_size=2000)
