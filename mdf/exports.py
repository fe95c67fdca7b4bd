"""The MDF CSV exports (prm.exports): the partner's fund requests and the vendor's utilisation and
ROI report, built by Celery in the asking actor's scope from the pages' selectors. Registered in
``MdfConfig.ready``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, QueryDict
from django.utils.translation import gettext_lazy

from partners.panels import app_panels
from prm.exports import Export, ExportFile, queryset_total, register
from prm.tenancy import Actor

from . import selectors
from .forms import ReportGroupForm, RequestFilterForm
from .policies import MDF_ROLES

REQUEST_CSV_HEADER = [
    "reference",
    "title",
    "activity_type",
    "status",
    "period",
    "start_date",
    "end_date",
    "total_cost",
    "requested_amount",
    "approved_amount",
    "currency",
    "expected_leads",
    "claim_deadline",
    "claimed_amount",
    "claim_approved_amount",
    "requested_by",
    "created",
    "submitted",
]

# The report export's format. The last four columns belong to the "roi" section, which incentives
# contributes (mdf_report_csv_rows); they stay in the header whichever apps fill them.
REPORT_CSV_HEADER = [
    "section",
    "group_by",
    "group",
    "reference",
    "activity",
    "partner",
    "currency",
    "allocated",
    "committed",
    "claimed",
    "paid",
    "available",
    "spent",
    "deals",
    "won_revenue",
    "revenue_per_mdf",
]


def _works_funds(actor: Actor) -> bool:
    return actor.is_partner and actor.partner_role in MDF_ROLES


def _is_vendor(actor: Actor) -> bool:
    return actor.is_vendor


def _request_rows(requests: Any) -> Any:
    for fund_request in requests.iterator(chunk_size=2000):
        claim = getattr(fund_request, "claim", None)
        yield [
            fund_request.reference,
            fund_request.title,
            fund_request.activity_label,
            fund_request.status_label,
            fund_request.allocation.budget.period.name,
            fund_request.start_date.isoformat(),
            fund_request.end_date.isoformat(),
            fund_request.total_cost,
            fund_request.requested_amount,
            fund_request.approved_amount,
            fund_request.currency,
            fund_request.expected_leads,
            fund_request.claim_deadline.isoformat() if fund_request.claim_deadline else None,
            claim.claimed_amount if claim else None,
            claim.approved_amount if claim else None,
            fund_request.requested_by.email,
            fund_request.created_at.date().isoformat(),
            fund_request.submitted_at.date().isoformat() if fund_request.submitted_at else None,
        ]


def fund_requests(actor: Actor, query: QueryDict) -> ExportFile:
    requests = selectors.request_list(actor=actor, filters=RequestFilterForm(query or None).filters())
    return ExportFile(
        "fund-requests.csv", REQUEST_CSV_HEADER, _request_rows(requests), queryset_total(requests)
    )


def vendor_report(actor: Actor, query: QueryDict) -> ExportFile:
    group = ReportGroupForm(query or None).selected_group()
    data = selectors.utilisation_summary(actor=actor, group=group)
    # The hooks other apps contribute through take a request; the export has only its actor.
    request = HttpRequest()
    request.actor = actor
    request.user = actor.user

    def rows() -> Any:
        for row in data["rows"]:
            yield [
                "utilisation",
                group,
                row["group"],
                None,
                None,
                None,
                row["currency"],
                *(row[key] for key in selectors.UTILISATION_KEYS),
                None,
                None,
                None,
                None,
            ]
        # Sections other apps contribute (incentives: "roi"), as rows keyed by column name.
        for contributed in app_panels("mdf_report_csv_rows", request):
            for row in contributed:
                yield [row.get(column) for column in REPORT_CSV_HEADER]

    return ExportFile("mdf-report.csv", REPORT_CSV_HEADER, rows())


def register_exports() -> None:
    register(Export("mdf.fund_requests", gettext_lazy("Fund requests"), _works_funds, fund_requests))
    register(Export("mdf.vendor_report", gettext_lazy("MDF utilisation and ROI"), _is_vendor, vendor_report))
