"""The scorecard pages: a partner's own scorecard (partner portal), the rankings and one partner's
scorecard with its quarterly ratings (vendor console). Thin: a selector, the display helpers,
a service for the rating."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from partners import selectors as partner_selectors
from partners.models import PartnerRole, ScorecardSnapshot
from prm.errors import attempt
from prm.roles import VendorRole
from prm.tenancy import Actor
from prm.views import partner_required, querystring_without_page, start_export, vendor_required

from . import selectors, services
from .display import scorecard_summary, value_text
from .forms import AssessmentForm, RankingFilterForm, quarter_label, recent_quarters
from .kpis import kpi_registry
from .policies import assessment_policy, sees_money_figures, snapshot_policy

RATERS = {VendorRole.PROGRAM_ADMIN, VendorRole.CHANNEL_ACCOUNT_MANAGER}


# --- partner portal ---------------------------------------------------------------------------------
@require_GET
@partner_required
def scorecard(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    partner = actor.partner
    display = scorecard_summary(actor=actor, partner=partner, compact=False)
    # The channel account manager's latest rating, for the partner admins who may read it.
    assessment = (
        selectors.assessment_list(actor=actor, partner=partner).first()
        if display is not None and actor.partner_role == PartnerRole.ADMIN
        else None
    )
    return render(
        request,
        "partners/performance/scorecard.html",
        {
            "display": display,
            "assessment": assessment,
            "sees_money": sees_money_figures(actor),
            "may_sell": actor.partner_role in {PartnerRole.ADMIN, PartnerRole.SALES},
        },
    )


# --- vendor console ---------------------------------------------------------------------------------
def _may_rank(actor: Actor) -> None:
    """Scorecards hold money figures: vendor roles that never see money get the 404 of a page that
    does not exist for them (as the other vendor money pages do)."""
    if not snapshot_policy.can(actor, "rank"):
        raise Http404


@dataclass(frozen=True)
class Column:
    key: str  # the sort key: score, name, tier or kpi:<key>
    label: str
    numeric: bool = True
    descending_first: bool = True


@dataclass(frozen=True)
class SortLink:
    column: Column
    url: str
    active: str  # "asc", "desc" or ""


def _sort_links(request: HttpRequest, columns: list[Column], current: str) -> list[SortLink]:
    params = [(k, v) for k, vs in request.GET.lists() for v in vs if k not in {"page", "sort"} and v]
    links = []
    for column in columns:
        if current == column.key:
            active, new = "asc", f"-{column.key}"
        elif current == f"-{column.key}":
            active, new = "desc", column.key
        else:
            active, new = "", f"-{column.key}" if column.descending_first else column.key
        links.append(SortLink(column, "?" + urlencode([*params, ("sort", new)]), active))
    return links


@dataclass(frozen=True)
class RankingRow:
    snapshot: ScorecardSnapshot
    cells: list[str]


@require_GET
@vendor_required
def rankings(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    _may_rank(actor)
    form = RankingFilterForm(request.GET or None)
    sort = request.GET.get("sort", "-score")[:120]
    page = selectors.scorecard_rankings(
        actor=actor,
        filters=form.filters() if request.GET else {},
        sort=sort,
        page=request.GET.get("page"),
    )
    registry = kpi_registry()
    kpi_columns = selectors.ranking_columns(actor=actor, registry=registry)
    rows = []
    for snapshot in page.object_list:
        values = selectors.visible_values(snapshot, actor=actor, registry=registry)
        rows.append(
            RankingRow(snapshot, [value_text(values.get(column.key), column.unit) for column in kpi_columns])
        )
    headers = _sort_links(
        request,
        [
            Column("score", _("Score"), numeric=False),
            Column("name", _("Partner"), numeric=False, descending_first=False),
            Column("tier", _("Tier"), numeric=False),
            *(
                Column(
                    f"kpi:{column.key}",
                    column.label,
                    descending_first=not registry[column.key].lower_is_better,
                )
                for column in kpi_columns
            ),
        ],
        sort if sort.lstrip("-") else "-score",
    )
    filtered = any(request.GET.get(name) for name in RankingFilterForm.base_fields)
    return render(
        request,
        "partners/vendor/scorecard_rankings.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "score_header": headers[0],
            "name_header": headers[1],
            "tier_header": headers[2],
            "kpi_headers": headers[3:],
            "as_of": page.object_list[0].as_of if page.object_list else None,
            "querystring": querystring_without_page(request),
            "filtered": filtered,
            "may_rate": actor.vendor_role in RATERS,
        },
    )


@vendor_required
def rankings_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "partners.scorecard_rankings")


def _raw(request: HttpRequest) -> dict[str, Any]:
    return {
        "period_start": recent_quarters()[0],
        "rating": request.POST.get("rating"),
        "comment": request.POST.get("comment", ""),
    }


@require_http_methods(["GET", "POST"])
@vendor_required
def partner_scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    """One partner's scorecard for vendor staff, with the quarterly ratings and, for its channel
    account manager or a program admin, the form to rate it (POST records the rating)."""
    actor = request.actor
    _may_rank(actor)
    partner = partner_selectors.partner_get(actor=actor, pk=pk)
    may_rate = assessment_policy.can_record_for(actor, partner)
    assessments = list(selectors.assessment_list(actor=actor, partner=partner)[:8])
    this_quarter = recent_quarters()[0]
    form = None
    if request.method == "POST" and not may_rate:
        # Finance reads scorecards but rates nobody: the service says so, as a message.
        attempt(request, lambda: services.assessment_check(actor=actor, partner=partner, **_raw(request)))
        return redirect("vendor:partner_scorecard", pk=partner.pk)
    if request.method == "POST":
        form = AssessmentForm(request.POST)
        if form.is_valid():
            done, assessment = attempt(
                request,
                lambda: services.assessment_record(actor=actor, partner=partner, **form.cleaned_data),
                form=form,
            )
            if done:
                messages.success(
                    request,
                    _(
                        "Your rating of %(partner)s for %(quarter)s is recorded. "
                        "It counts from tonight's scorecard."
                    )
                    % {"partner": partner.legal_name, "quarter": assessment.period_label},
                )
                return redirect("vendor:partner_scorecard", pk=partner.pk)
    elif may_rate:
        current = next((a for a in assessments if a.period_start == this_quarter), None)
        initial = {"period_start": this_quarter.isoformat()}
        if current is not None:
            initial.update(rating=current.rating, comment=current.comment)
        form = AssessmentForm(initial=initial)
    return render(
        request,
        "partners/vendor/partner_scorecard.html",
        {
            "partner": partner,
            "display": scorecard_summary(actor=actor, partner=partner, compact=False),
            "assessments": assessments,
            "form": form,
            "may_rate": may_rate,
            "may_read_ratings": actor.vendor_role in RATERS,
            "this_quarter": quarter_label(this_quarter),
            "rated_this_quarter": any(a.period_start == this_quarter for a in assessments),
            "sees_money": sees_money_figures(actor),
            "rankings_url": reverse("vendor:scorecard_rankings"),
        },
        status=400 if form is not None and form.is_bound else 200,
    )
