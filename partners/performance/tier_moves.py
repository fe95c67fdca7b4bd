"""The tier evaluation's one bulk write to partners: many partners' tiers in one UPDATE per move.

Cached actors carry their partner's tier; the UPDATE needs nothing more for them: database
triggers move the members' ``actor_version`` on (partners.actor_cache)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils import timezone

from partners.models import Partner


def move_tiers(groups: Mapping[tuple[int, int], Sequence[int]]) -> set[int]:
    """Move the partners ``groups[(from tier, to tier)]`` that are still on the from-tier (not
    changed by hand since the decision); the ids of those moved."""
    now, moved = timezone.now(), set()
    for (from_id, to_id), ids in groups.items():
        if Partner.objects.filter(pk__in=list(ids), tier_id=from_id).update(tier_id=to_id, updated_at=now):
            moved.update(Partner.objects.filter(pk__in=list(ids), tier_id=to_id).values_list("pk", flat=True))
    return moved
