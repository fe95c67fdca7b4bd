"""The content usage report's CSV exports (prm.exports), built by Celery in the asking actor's
scope from the report's selectors. Registered in ``ContentConfig.ready``."""

from __future__ import annotations

from django.http import QueryDict
from django.utils.translation import gettext_lazy

from prm.exports import Export, ExportFile, register
from prm.tenancy import Actor

from . import selectors


def _is_vendor(actor: Actor) -> bool:
    return actor.is_vendor


def _check(actor: Actor, query: QueryDict) -> None:
    # An asset the actor cannot see is the report's 404 at once, not a failed export later.
    if asset_id := query.get("asset"):
        selectors.asset_for_report(actor=actor, pk=asset_id)


def usage_report(actor: Actor, query: QueryDict) -> ExportFile:
    if asset_id := query.get("asset"):
        asset = selectors.asset_for_report(actor=actor, pk=asset_id)
        rows = selectors.usage_by_partner(actor=actor, asset=asset)
        return ExportFile(
            f"content-usage-{asset.pk}.csv",
            ["asset", "partner", "tier", "views", "downloads", "cobranded", "people", "last_used"],
            (
                [
                    asset.title,
                    row["partner__legal_name"],
                    row["partner__tier__name"] or "",
                    row["view_total"],
                    row["download_total"],
                    row["cobranded_total"],
                    row["people"],
                    row["last_at"].isoformat(timespec="minutes") if row["last_at"] else "",
                ]
                for row in rows
            ),
            len(rows),
        )
    return ExportFile(
        "content-usage.csv",
        ["asset_id", "asset", "category", "kind", "status", "views", "downloads", "cobranded", "partners"],
        (
            [
                asset.pk,
                asset.title,
                asset.category.name,
                asset.kind,
                asset.status,
                asset.view_total,
                asset.download_total,
                asset.cobranded_total,
                asset.partner_total,
            ]
            for asset in selectors.usage_by_asset(actor=actor).iterator(chunk_size=500)
        ),
    )


def register_exports() -> None:
    register(Export("content.usage", gettext_lazy("Content usage"), _is_vendor, usage_report, check=_check))
