"""The deal and lead CSV exports (prm.exports): built by Celery in the asking actor's scope from
the same selectors and filter forms as the pages. Registered in ``DealsConfig.ready``."""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partners import selectors as partner_selectors
from prm.exports import Export, ExportFile, queryset_total, register
from prm.tenancy import Actor

from . import selectors
from .forms import (
    DealFilterForm,
    LeadFilterForm,
    PipelineFilterForm,
    ReviewQueueFilterForm,
    VendorDealFilterForm,
)
from .models import ConflictStatus, Deal, DealStatus, LeadStatus


def _blank(rows: Any) -> Any:
    # Empty cells are written as empty cells whether a row says "" or None.
    return ([None if cell == "" else cell for cell in row] for row in rows)


def _conflict_pending(deal: Deal) -> bool:
    # Rejected or closed deals keep their last conflict_status; it only means something while
    # the registration waits for a decision.
    return deal.conflict_status == ConflictStatus.UNDER_REVIEW and deal.status in {
        DealStatus.SUBMITTED,
        DealStatus.RETURNED,
    }


def _conflict_label(deal: Any) -> str:
    if deal.conflict_status == ConflictStatus.UNDER_REVIEW:
        return _("possible conflict") if deal.status in {DealStatus.SUBMITTED, DealStatus.RETURNED} else ""
    return _("cleared") if deal.conflict_status == ConflictStatus.CLEARED else ""


def _partners(actor: Actor) -> Any:
    return partner_selectors.partner_choices(actor=actor)


def _is_partner(actor: Actor) -> bool:
    return actor.is_partner


def _is_vendor(actor: Actor) -> bool:
    return actor.is_vendor


# --- Partner side ---------------------------------------------------------------------------------
DEAL_CSV_HEADER = [
    "reference",
    "customer",
    "customer_domain",
    "customer_country",
    "opportunity",
    "stage",
    "status",
    "conflict",
    "amount",
    "currency",
    "expected_close",
    "protected_until",
    "registered_by",
    "created",
    "submitted",
]


def _deal_rows(deals: Any) -> Any:
    for deal in deals.iterator(chunk_size=2000):
        yield [
            deal.reference,
            deal.customer_name,
            deal.customer_domain,
            deal.customer_country.code if deal.customer_country else "",
            deal.title,
            deal.get_stage_display(),
            deal.get_status_display(),
            _("Possible conflict under review") if _conflict_pending(deal) else "",
            deal.amount,
            deal.currency,
            deal.expected_close_date.isoformat() if deal.expected_close_date else "",
            deal.protected_until.date().isoformat() if deal.protected_until else "",
            deal.registered_by.email,
            deal.created_at.date().isoformat(),
            deal.submitted_at.date().isoformat() if deal.submitted_at else "",
        ]


def partner_deals(actor: Actor, query: QueryDict) -> ExportFile:
    deals = selectors.deal_list(actor=actor, filters=DealFilterForm(query or None).filters())
    return ExportFile("deals.csv", DEAL_CSV_HEADER, _blank(_deal_rows(deals)), queryset_total(deals))


def partner_leads(actor: Actor, query: QueryDict) -> ExportFile:
    status = query.get("status", "")
    if status not in {LeadStatus.OFFERED, LeadStatus.ACCEPTED}:
        status = ""
    queryset = selectors.lead_list(actor=actor, status=status)
    rows = (
        [
            lead.company_name,
            lead.domain,
            lead.country.code if lead.country else "",
            lead.get_region_display(),
            lead.contact_name,
            lead.contact_email,
            lead.product_interest,
            lead.estimated_value if lead.estimated_value is not None else "",
            lead.currency,
            lead.get_status_display(),
            lead.respond_by.isoformat() if lead.respond_by and lead.status == LeadStatus.OFFERED else "",
            lead.deal.reference if lead.deal else "",
        ]
        for lead in queryset.iterator(chunk_size=2000)
    )
    header = [
        "company",
        "domain",
        "country",
        "region",
        "contact",
        "contact_email",
        "product_interest",
        "estimated_value",
        "currency",
        "status",
        "respond_by",
        "deal",
    ]
    return ExportFile("leads.csv", header, _blank(rows), queryset_total(queryset))


# --- Vendor side ------------------------------------------------------------------------------------
def review_queue(actor: Actor, query: QueryDict) -> ExportFile:
    from .vendor_views import DUE_SOON

    form = ReviewQueueFilterForm(query or None, partners=_partners(actor))
    deals = selectors.review_queue(actor=actor, filters=form.filters())
    now = timezone.now()
    header = [
        "reference",
        "partner",
        "tier",
        "customer",
        "customer_domain",
        "amount",
        "currency",
        "submitted_at",
        "review_due_at",
        "sla",
        "conflict",
    ]
    rows = (
        [
            deal.reference,
            deal.partner.legal_name,
            deal.partner.tier.name,
            deal.customer_name,
            deal.customer_domain,
            deal.amount,
            deal.currency,
            deal.submitted_at.isoformat() if deal.submitted_at else "",
            deal.review_due_at.isoformat() if deal.review_due_at else "",
            (
                "overdue"
                if deal.review_due_at and deal.review_due_at < now
                else "due soon"
                if deal.review_due_at and deal.review_due_at < now + DUE_SOON
                else ""
            ),
            _conflict_label(deal),
        ]
        for deal in deals.iterator(chunk_size=2000)
    )
    return ExportFile("deal-review-queue.csv", header, _blank(rows), queryset_total(deals))


def vendor_deals(actor: Actor, query: QueryDict) -> ExportFile:
    form = VendorDealFilterForm(query or None, partners=_partners(actor))
    deals = selectors.deal_list(actor=actor, filters=form.filters())
    header = [
        "reference",
        "partner",
        "tier",
        "partner_region",
        "customer",
        "customer_domain",
        "customer_country",
        "opportunity",
        "products",
        "stage",
        "status",
        "conflict",
        "amount",
        "currency",
        "expected_close",
        "registered_by",
        "created",
        "submitted",
        "protected_until",
        "won_amount",
        "closed_on",
    ]
    rows = (
        [
            deal.reference,
            deal.partner.legal_name,
            deal.partner.tier.name,
            deal.partner.get_region_display(),
            deal.customer_name,
            deal.customer_domain,
            deal.customer_country.code if deal.customer_country else "",
            deal.title,
            "; ".join(f"{line.quantity} × {line.product.name}" for line in deal.lines.all()),
            deal.get_stage_display(),
            deal.get_status_display(),
            _conflict_label(deal),
            deal.amount,
            deal.currency,
            deal.expected_close_date.isoformat() if deal.expected_close_date else "",
            deal.registered_by.email,
            deal.created_at.date().isoformat(),
            deal.submitted_at.isoformat() if deal.submitted_at else "",
            deal.protected_until.date().isoformat() if deal.protected_until else "",
            deal.won_amount if deal.won_amount is not None else "",
            deal.closed_on.isoformat() if deal.closed_on else "",
        ]
        # Each chunk of 500 deals fetches its lines and products in one query each.
        for deal in deals.prefetch_related("lines__product").iterator(chunk_size=500)
    )
    return ExportFile("deals.csv", header, _blank(rows), queryset_total(deals))


def vendor_pipeline(actor: Actor, query: QueryDict) -> ExportFile:
    from .views import pipeline_tables

    form = PipelineFilterForm(query or None, partners=_partners(actor))
    # Every partner of the ranking: the export is built by a worker, not in the request.
    report = selectors.pipeline_report(actor=actor, filters=form.filters(), partners=None)
    tables = pipeline_tables(report, with_drafts=False)
    rows = (
        [
            dimension,
            row["label"],
            row["count"],
            row["value"],
            "" if row.get("won") is None else row["won"],
            report["currency"],
        ]
        for dimension in ("partner", "tier", "region", "product")
        for row in tables[f"by_{dimension}"]
    )
    header = ["dimension", "name", "deals", "value", "won_value", "currency"]
    return ExportFile("pipeline.csv", header, _blank(rows))


def vendor_leads(actor: Actor, query: QueryDict) -> ExportFile:
    status = LeadFilterForm(query or None).filters().get("status", "")
    queryset = selectors.lead_list(actor=actor, status=status)
    header = [
        "id",
        "company",
        "domain",
        "country",
        "region",
        "contact",
        "contact_email",
        "contact_phone",
        "product_interest",
        "estimated_value",
        "currency",
        "status",
        "assigned_partner",
        "offered_at",
        "respond_by",
        "offers",
        "deal",
        "created",
    ]
    rows = (
        [
            lead.pk,
            lead.company_name,
            lead.domain,
            lead.country.code if lead.country else "",
            lead.get_region_display(),
            lead.contact_name,
            lead.contact_email,
            lead.contact_phone,
            lead.product_interest,
            lead.estimated_value if lead.estimated_value is not None else "",
            lead.currency,
            lead.get_status_display(),
            lead.assigned_partner.legal_name if lead.assigned_partner else "",
            lead.offered_at.isoformat() if lead.offered_at else "",
            lead.respond_by.isoformat() if lead.respond_by and lead.status == LeadStatus.OFFERED else "",
            lead.offer_count,
            lead.deal.reference if lead.deal else "",
            lead.created_at.date().isoformat(),
        ]
        for lead in queryset.annotate(offer_count=Count("offers")).iterator(chunk_size=2000)
    )
    return ExportFile("leads.csv", header, _blank(rows), queryset_total(queryset))


def register_exports() -> None:
    for export in (
        Export("deals.partner_deals", gettext_lazy("Deals"), _is_partner, partner_deals),
        Export("deals.partner_leads", gettext_lazy("Leads"), _is_partner, partner_leads),
        Export("deals.review_queue", gettext_lazy("Deal review queue"), _is_vendor, review_queue),
        Export("deals.vendor_deals", gettext_lazy("All deals"), _is_vendor, vendor_deals),
        Export("deals.vendor_pipeline", gettext_lazy("Pipeline"), _is_vendor, vendor_pipeline),
        Export("deals.vendor_leads", gettext_lazy("Leads"), _is_vendor, vendor_leads),
    ):
        register(export)
