"""The partner's earnings CSV export (prm.exports), built by Celery in the asking actor's scope
from the Earnings page's selector. Registered in ``IncentivesConfig.ready``."""

from __future__ import annotations

from django.http import QueryDict
from django.utils.translation import gettext_lazy

from prm.exports import Export, ExportFile, queryset_total, register
from prm.tenancy import Actor

from . import selectors
from .policies import earning_policy


def _may_view_earnings(actor: Actor) -> bool:
    return actor.is_partner and earning_policy.can(actor, "view")


def _statement_number(entry: object) -> str:
    line = getattr(entry, "settlement_line", None)
    return line.statement.number if line is not None else ""


def earnings(actor: Actor, query: QueryDict) -> ExportFile:
    entries = selectors.entry_list(actor=actor, filters={"currency": query.get("currency", "")})
    return ExportFile(
        "earnings.csv",
        ["date", "program", "deal", "kind", "amount", "currency", "statement", "memo"],
        (
            [
                entry.created_at.date().isoformat(),
                entry.program.name,
                entry.deal.reference if entry.deal else "",
                entry.kind,
                entry.amount,
                entry.currency,
                _statement_number(entry),
                entry.memo,
            ]
            for entry in entries.iterator(chunk_size=500)
        ),
        queryset_total(entries),
    )


def register_exports() -> None:
    register(Export("incentives.earnings", gettext_lazy("Earnings"), _may_view_earnings, earnings))
