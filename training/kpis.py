"""The certification KPIs of the partner scorecards (registered in TrainingConfig.kpis; the engine
is partners.performance.kpis): certified people, certifications held, and people certified in each
certification track (one KPI per certification, so a template can ask for "3 people certified in
Security"). Read at the end of the as-of day, from the award and expiry dates."""

from __future__ import annotations

from functools import partial

from django.db.models import Count, F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from partners.performance.kpis import Kpi, KpiContext, Unit, Values

from .models import Certification, CertificationAward

TRACK_PREFIX = "certified_people."


def _valid_awards(context: KpiContext) -> QuerySet[CertificationAward]:
    """Awards valid through the whole as-of day, held by people still active in the partner that
    earned them (a person who left takes the certification along). Membership has no history, so a
    past day computed again counts today's members."""
    ends_at = context.window.ends_at
    return CertificationAward.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gte=ends_at),
        awarded_at__lt=ends_at,
        user__membership__partner_id=F("partner_id"),
        user__membership__is_active=True,
    ).order_by()


def certified_people(context: KpiContext, certification_id: int | None = None) -> Values:
    awards = _valid_awards(context)
    if certification_id is not None:
        awards = awards.filter(certification_id=certification_id)
    return (
        awards.values("partner_id")
        .annotate(value=Count("user_id", distinct=True))
        .values_list("partner_id", "value")
    )


def certifications_held(context: KpiContext) -> Values:
    return (
        _valid_awards(context)
        .values("partner_id")
        .annotate(value=Count("*"))
        .values_list("partner_id", "value")
    )


STATIC_KPIS = [
    Kpi(
        key="certified_people",
        label=_("Certified people"),
        unit=Unit.COUNT,
        compute=certified_people,
        description=_("People holding at least one valid certification."),
    ),
    Kpi(
        key="certifications_held",
        label=_("Certifications held"),
        unit=Unit.COUNT,
        compute=certifications_held,
        description=_("Valid certifications held by the partner's people, all tracks together."),
    ),
]


def kpis() -> list[Kpi]:
    """The static KPIs and one per certification track (read from the database each time)."""
    tracks = [
        Kpi(
            key=f"{TRACK_PREFIX}{pk}",
            label=_("People certified: %(name)s") % {"name": name},
            unit=Unit.COUNT,
            compute=partial(certified_people, certification_id=pk),
            description=_("People holding a valid %(name)s certification.") % {"name": name},
        )
        for pk, name in Certification.objects.order_by("name").values_list("pk", "name")
    ]
    return [*STATIC_KPIS, *tracks]
