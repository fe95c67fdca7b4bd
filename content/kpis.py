"""The content engagement KPIs of the partner scorecards (registered in ContentConfig.kpis; the
engine is partners.performance.kpis): what the partner's people downloaded from the library in the
trailing twelve months (a co-branded PDF is a download too; a view is not)."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from partners.performance.kpis import Kpi, KpiContext, Unit, Values

from .models import AssetEvent, EventKind

DOWNLOADS = (EventKind.DOWNLOAD, EventKind.COBRANDED)


def _downloads(context: KpiContext) -> QuerySet[AssetEvent]:
    window = context.window
    return AssetEvent.objects.filter(
        kind__in=DOWNLOADS, at__gte=window.starts_at, at__lt=window.ends_at
    ).order_by()


def content_downloads(context: KpiContext) -> Values:
    return (
        _downloads(context).values("partner_id").annotate(value=Count("*")).values_list("partner_id", "value")
    )


def content_downloaders(context: KpiContext) -> Values:
    return (
        _downloads(context)
        .filter(user__isnull=False)
        .values("partner_id")
        .annotate(value=Count("user_id", distinct=True))
        .values_list("partner_id", "value")
    )


KPIS = [
    Kpi(
        key="content_downloads",
        label=_("Content downloads (12 months)"),
        unit=Unit.COUNT,
        compute=content_downloads,
        description=_("Library assets downloaded (or co-branded) by the partner's people."),
    ),
    Kpi(
        key="content_downloaders",
        label=_("People using the content library"),
        unit=Unit.COUNT,
        compute=content_downloaders,
        description=_("The partner's people who downloaded at least one asset in the last twelve months."),
    ),
]
