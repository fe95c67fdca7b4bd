"""Who the benchmarks act as."""

from __future__ import annotations

from collections.abc import Iterable


def partner_admins(partner_ids: Iterable[int]) -> dict[int, int]:
    """{partner id: user id} of an active admin of each partner that has one. Call it in the
    system scope: memberships are tenant rows."""
    from partners.models import Membership

    return dict(
        Membership.objects.filter(partner_id__in=partner_ids, role="admin", is_active=True).values_list(
            "partner_id", "user_id"
        )
    )
