"""The partner lists' CSV exports (prm.exports): a partner's team, and the vendor's partner list,
built by Celery in the asking actor's scope from the pages' selectors. Registered in
``PartnersConfig.ready``."""

from __future__ import annotations

from django.http import QueryDict
from django.utils.translation import gettext_lazy

from prm.exports import Export, ExportFile, queryset_total, register
from prm.tenancy import Actor

from . import selectors
from .forms import PartnerFilterForm


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


def register_exports() -> None:
    register(Export("partners.team", gettext_lazy("Team"), _is_partner, team))
    register(Export("partners.partners", gettext_lazy("Partners"), _is_vendor, partners))
