"""The vendor dashboard's partner figures, read through kept statements (prm.statements).

Building the figures' aggregate (a filtered count per tier, status and region), the tier list
and the two pending counts through the ORM was over a third of the dashboard's CPU, and they
were four statements. Now: the tiers (a handful of rows) and one row of every figure, the pending
applications and profile changes as scalar subqueries of it; both compiled once per shape.
Scoping is each model's policy's, as in partners.selectors (partner_counts, the pending counts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from django.db.models import Count, F, Func, IntegerField, Q, QuerySet, Subquery, Value
from django_countries.fields import Country

from prm.statements import Statement
from prm.tenancy import Actor

from . import selectors
from .models import (
    ApplicationStatus,
    Partner,
    PartnerApplication,
    PartnerStatus,
    PartnerType,
    ProfileChangeStatus,
    Region,
    Tier,
)
from .policies import application_policy, partner_policy, profile_change_policy


def _tiers(actor: Actor) -> QuerySet[Tier]:
    return Tier.objects.order_by("rank", "name").values_list("pk", "name")


_TIERS = Statement("partners.vendor_dashboard_tiers", _tiers)


def counted(queryset: QuerySet) -> Subquery:
    """``queryset``'s rows counted, as a scalar subquery (no GROUP BY: one row, 0 when none)."""
    return Subquery(
        queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n"),
        output_field=IntegerField(),
    )


def _figures(actor: Actor, *, tiers: list[int]) -> QuerySet[Partner]:
    # One row: a constant as the only "group" is no GROUP BY (Value has no group-by columns).
    counts: dict[str, Any] = {
        **{f"tier_{index}": Count("pk", filter=Q(tier_id=pk)) for index, pk in enumerate(tiers)},
        **{f"status_{value}": Count("pk", filter=Q(status=value)) for value in PartnerStatus.values},
        **{f"region_{value}": Count("pk", filter=Q(region=value)) for value in Region.values},
    }
    pending = {
        "pending_applications": counted(
            application_policy.scope(actor).filter(status=ApplicationStatus.SUBMITTED)
        ),
        "pending_profile_changes": counted(
            profile_change_policy.scope(actor).filter(status=ProfileChangeStatus.PENDING)
        ),
    }
    return (
        partner_policy.scope(actor)
        .order_by()
        .annotate(one=Value(1))
        .values("one")
        .annotate(**counts, **pending)
        .values_list(*counts, *pending)
    )


_FIGURES = Statement("partners.vendor_dashboard_figures", _figures, values=["tiers"])


def dashboard_figures(*, actor: Actor) -> dict[str, Any]:
    """The dashboard's partner figures in the actor's scope, as partners.selectors.partner_counts
    gives them (``status``, ``region``: {value: n} without zeros; ``tier``: rows of ``status``,
    ``label`` and ``n`` in the tiers' rank order), and ``pending_applications`` and
    ``pending_profile_changes``, as the selectors' pending counts."""
    tiers = _TIERS.rows(actor)
    found = _FIGURES.rows(actor, tiers=[pk for pk, _name in tiers])
    if not found:
        # The partner scope can match nothing at all (a channel account manager without a
        # partner yet: the ORM's EmptyResultSet, no row): the selectors count what remains (the
        # applications are not anyone's portfolio).
        return {
            **selectors.partner_counts(actor=actor),
            "pending_applications": selectors.pending_application_count(actor=actor),
            "pending_profile_changes": selectors.pending_profile_change_count(actor=actor),
        }
    (row,) = found
    tier_counts, row = row[: len(tiers)], row[len(tiers) :]
    statuses, row = row[: len(PartnerStatus.values)], row[len(PartnerStatus.values) :]
    regions, pending = row[: len(Region.values)], row[len(Region.values) :]
    return {
        "status": {value: n for value, n in zip(PartnerStatus.values, statuses, strict=True) if n},
        "region": {value: n for value, n in zip(Region.values, regions, strict=True) if n},
        # The keys the dashboard's chart reads (static/js/vendor-dashboard-charts.js).
        "tier": [
            {"status": name, "label": name, "n": n}
            for (_pk, name), n in zip(tiers, tier_counts, strict=True)
            if n
        ],
        "pending_applications": pending[0] or 0,
        "pending_profile_changes": pending[1] or 0,
    }


class RecentApplication(NamedTuple):
    """An application as the dashboard lists it: what the list shows, not the row, its reviewer
    and its partner (select_related of selectors.application_list) as model instances. Answers
    ``country.name`` and ``get_partner_type_display`` as the model does, for the template."""

    pk: int
    company_name: str
    partner_type: str
    country_code: str
    contact_name: str
    submitted_at: datetime

    @property
    def country(self) -> Country:
        return Country(code=self.country_code)

    def get_partner_type_display(self) -> str:
        return str(dict(PartnerType.choices).get(self.partner_type, self.partner_type))


RECENT_SHOWN = 5


def _recent_applications(actor: Actor) -> QuerySet[PartnerApplication]:
    return selectors.application_list(actor=actor, status=ApplicationStatus.SUBMITTED).values_list(
        "pk", "company_name", "partner_type", "country", "contact_name", "submitted_at"
    )[:RECENT_SHOWN]


_RECENT_APPLICATIONS = Statement("partners.vendor_dashboard_recent_applications", _recent_applications)


def recent_applications(*, actor: Actor) -> list[RecentApplication]:
    """The newest submitted applications (as ``selectors.application_list(status=SUBMITTED)[:5]``)."""
    return [RecentApplication._make(row) for row in _RECENT_APPLICATIONS.rows(actor)]
