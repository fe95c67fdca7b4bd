"""The partner lists' CSV exports (prm.exports): a partner's team, and the vendor's partner list,
built by Celery in the asking actor's scope from the pages' selectors. Registered in
``PartnersConfig.ready``."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy

from prm.exports import Export, ExportFile, queryset_total, register
from prm.tenancy import Actor

from . import selectors
from .forms import PartnerFilterForm
from .performance import selectors as performance
from .performance.forms import RankingFilterForm
from .performance.kpis import kpi_registry
from .performance.policies import sees_money_figures, snapshot_policy


def _is_partner(actor: Actor) -> bool:
    return actor.is_partner


def _is_vendor(actor: Actor) -> bool:
    return actor.is_vendor


def team(actor: Actor, query: QueryDict) -> ExportFile:
    members = selectors.team_list(actor=actor, partner=actor.partner)
    return ExportFile(
        "team.csv",
        ["name", "email", "role", "active", "joined"],
        (
            [
                m.user.full_name,
                m.user.email,
                m.get_role_display(),
                "yes" if m.is_active else "no",
                m.created_at.date().isoformat(),
            ]
            for m in members.iterator(chunk_size=2000)
        ),
        queryset_total(members),
    )


def partners(actor: Actor, query: QueryDict) -> ExportFile:
    form = PartnerFilterForm(query or None)
    partner_list = selectors.partner_list(actor=actor, filters=form.filters() if query else {})
    return ExportFile(
        "partners.csv",
        [
            "id",
            "legal_name",
            "type",
            "country",
            "region",
            "status",
            "tier",
            "channel_account_manager",
            "website_domain",
            "active_users",
            "agreement_version",
            "created",
        ],
        (
            [
                p.pk,
                p.legal_name,
                p.get_partner_type_display(),
                p.country.code,
                p.get_region_display(),
                p.get_status_display(),
                p.tier.name,
                p.channel_account_manager.email if p.channel_account_manager else "",
                p.website_domain,
                p.member_count,
                p.agreement_version,
                p.created_at.date().isoformat(),
            ]
            for p in partner_list.iterator(chunk_size=2000)
        ),
        queryset_total(partner_list),
    )


def _ranks(actor: Actor) -> bool:
    return snapshot_policy.can(actor, "rank")


def scorecard_rankings(actor: Actor, query: QueryDict) -> ExportFile:
    """The rankings page's rows with the page's filters and sort, every page, and every KPI the
    actor may see (money figures left out for whoever may not see them)."""
    form = RankingFilterForm(query or None)
    rows = performance.scorecard_ranking_rows(
        actor=actor, filters=form.filters() if query else {}, sort=query.get("sort", "-score")[:120]
    )
    registry = kpi_registry()
    money = sees_money_figures(actor)
    keys = [key for key, kpi in registry.items() if money or not kpi.money]

    def lines() -> Any:
        for row in rows.iterator(chunk_size=2000):
            values = performance.visible_values(row, actor=actor, registry=registry)
            partner = row.partner
            yield [
                row.rank,
                partner.pk,
                partner.legal_name,
                partner.tier.name,
                partner.get_partner_type_display(),
                partner.get_region_display(),
                partner.channel_account_manager.email if partner.channel_account_manager else "",
                row.as_of.isoformat(),
                row.template_name,
                row.total_score,
                *(values.get(key) for key in keys),
            ]

    return ExportFile(
        "scorecard-rankings.csv",
        [
            "rank",
            "partner_id",
            "legal_name",
            "tier",
            "type",
            "region",
            "channel_account_manager",
            "as_of",
            "template",
            "score",
            *keys,
        ],
        lines(),
        queryset_total(rows),
    )


def register_exports() -> None:
    register(Export("partners.team", gettext_lazy("Team"), _is_partner, team))
    register(Export("partners.partners", gettext_lazy("Partners"), _is_vendor, partners))
    register(
        Export("partners.scorecard_rankings", gettext_lazy("Scorecard rankings"), _ranks, scorecard_rankings)
    )
    # Joint business plans (partners.plans).
    from .plans.exports import register_exports as register_plan_exports

    register_plan_exports()
