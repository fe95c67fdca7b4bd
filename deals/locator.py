"""What deals contributes to the public partner locator (partners.locator, which never imports
this app; registered as ``DealsConfig.locator``): the product lines a partner is authorized for,
as a filter and on each listed partner, and the enquiry a customer sends, which becomes a lead for
that partner (:func:`deals.leads.lead_from_locator`).

Only product lines that need an authorization (an active ``AuthorizationRequirement``) are
offered: any partner sells the others."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from .leads import lead_from_locator
from .models import HOLDING_STATUSES, AuthorizationRequirement, Lead, PartnerAuthorization


def _holding(at: datetime) -> QuerySet[PartnerAuthorization]:
    return PartnerAuthorization.objects.filter(status__in=HOLDING_STATUSES, requirement__active=True).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=at)
    )


class LocatorProductLines:
    def choices(self) -> list[tuple[str, str]]:
        """The product lines a customer may ask for: those that need an authorization."""
        lines = AuthorizationRequirement.objects.filter(active=True).order_by("product_line")
        return [(line, line) for line in lines.values_list("product_line", flat=True)]

    def partner_ids(self, *, product_line: str, at: datetime) -> QuerySet[Any]:
        """The partners authorized for ``product_line`` at ``at``, as a subquery (no query of its
        own: the caller's list filters on it)."""
        return _holding(at).filter(requirement__product_line=product_line).values("partner_id")

    def lines_of(self, *, partner_ids: Collection[int], at: datetime) -> dict[int, list[str]]:
        """Each of these partners' authorized product lines, by name: one query."""
        lines: dict[int, list[str]] = defaultdict(list)
        rows = (
            _holding(at)
            .filter(partner_id__in=list(partner_ids))
            .order_by("requirement__product_line")
            .values_list("partner_id", "requirement__product_line")
        )
        for partner_id, line in rows:
            lines[partner_id].append(line)
        return dict(lines)

    def contact(self, *, partner_id: int, data: dict[str, Any]) -> Lead:
        return lead_from_locator(partner_id=partner_id, data=data)


LOCATOR = LocatorProductLines()
