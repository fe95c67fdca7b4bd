"""Thin views for the content library: the partner's library, an asset's page, the download (always
streamed through Django, never a public media URL), the co-branded PDF, and the vendor's usage
report with its CSV exports."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template import engines
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

from prm import catalogue_cache
from prm.jinja2 import url_with_pk
from prm.templatetags.prm_pagination import pagination
from prm.views import paginate, partner_required, querystring_without_page, start_export, vendor_required

from . import cobranding, selectors, services
from .models import AssetKind, EventKind
from .policies import COBRAND, DOWNLOAD, MANAGE, asset_policy

LIBRARY_PAGE_SIZE = 24
REPORT_PAGE_SIZE = 50
FILTER_KEYS = ("q", "category", "kind", "tag")


def _filters(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key, "").strip() for key in FILTER_KEYS}


@partner_required
def library(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    filters = _filters(request)
    # The search box and filters swap only the results (htmx); a full load renders the page.
    partial = bool(request.htmx and request.htmx.target == "library-results")
    kept = None
    if filters["q"]:
        # Full-text search is the database's: a page of the assets found, best match first.
        page = paginate(
            request, selectors.asset_list(actor=actor, filters=filters), per_page=LIBRARY_PAGE_SIZE
        )
        page.object_list = [selectors.LibraryAsset.of(asset) for asset in page.object_list]
    else:
        # Every other filter narrows the library kept for the partner's audience.
        kept = selectors.library(actor=actor)
        page = paginate(request, selectors.filter_library(kept.assets, filters), per_page=LIBRARY_PAGE_SIZE)
    context = {
        "page": page,
        "filters": filters,
        "filtered": any(filters.values()),
        "querystring": querystring_without_page(request),
    }
    # The results (and the page around them) through Jinja2: templates/jinja2/content/. Through
    # Django's engine they were over half the page's time.
    name = "content/_results.html" if partial else "content/library.html"
    if not partial:
        kept = kept or selectors.library(actor=actor)
        context |= {"categories": kept.categories, "tags": kept.tags, "kinds": AssetKind.choices}
    if kept is None or filters["q"]:
        body = _render(name, request, context)
    else:
        # Without a search, the markup is the kept library's for these filters and this page:
        # rendered once per process (_BODIES, prm.catalogue_cache.KeptBodies), not on every
        # request (half the page's CPU).
        shown = (
            name,
            translation.get_language(),
            tuple(filters.items()),
            page.number,
            context["querystring"],
        )
        body = _BODIES.get(kept, shown, lambda: _render(name, request, context))
    if partial:
        return HttpResponse(body)
    context["body"] = body
    return render(request, "content/library.html", context)


# The library's bodies this process rendered last (the oldest forgotten first; ~30 KB each).
_BODIES = catalogue_cache.KeptBodies(64)


def _render(name: str, request: HttpRequest, context: dict[str, Any]) -> SafeString:
    html = (
        engines["jinja2"]
        .get_template(name)
        .render({**context, "asset_url": url_with_pk("content:asset"), "pagination": pagination}, request)
    )
    return mark_safe(html)  # noqa: S308 -- Jinja2 autoescaped every value (prm/jinja2.py)


@partner_required
def asset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    asset = selectors.asset_get(actor=actor, pk=pk)
    services.record_event(actor=actor, asset=asset, kind=EventKind.VIEW)
    return render(
        request,
        "content/asset_detail.html",
        {
            "asset": asset,
            "versions": selectors.asset_versions(asset=asset) if asset.is_file else [],
            "may_download": asset_policy.can(actor, DOWNLOAD, asset),
            "may_cobrand": asset_policy.can(actor, COBRAND, asset),
        },
    )


@partner_required
def asset_download(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    asset = selectors.asset_get(actor=actor, pk=pk)
    if asset.kind == AssetKind.LINK:
        services.record_event(actor=actor, asset=asset, kind=EventKind.VIEW)
        # The URL was checked to be http(s) when the asset was saved.
        return HttpResponseRedirect(asset.url)
    version = asset.current_version
    if version is None:
        raise Http404
    services.record_event(actor=actor, asset=asset, kind=EventKind.DOWNLOAD)
    response = FileResponse(
        version.file.open("rb"),
        as_attachment=True,
        filename=version.original_filename,
        content_type=version.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@partner_required
def asset_cobranded(request: HttpRequest, pk: int) -> HttpResponse:
    actor = request.actor
    asset = selectors.asset_get(actor=actor, pk=pk)
    if not asset_policy.can(actor, COBRAND, asset):
        raise Http404
    pdf = cobranding.cobranded_pdf(asset=asset, partner=actor.partner, user=actor.user)
    services.record_event(actor=actor, asset=asset, kind=EventKind.COBRANDED)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"{slugify(asset.title)}-{slugify(actor.partner.legal_name)}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- Vendor report -------------------------------------------------------------------------------
def _partner_rows(actor: Any, asset: Any) -> list[dict[str, Any]]:
    return selectors.usage_by_partner(actor=actor, asset=asset)


@vendor_required
def vendor_report(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    selected = None
    partner_rows: list[dict[str, Any]] = []
    if asset_id := request.GET.get("asset"):
        selected = selectors.asset_for_report(actor=actor, pk=asset_id)
        partner_rows = _partner_rows(actor, selected)
    page = paginate(request, selectors.usage_by_asset(actor=actor), per_page=REPORT_PAGE_SIZE)
    return render(
        request,
        "content/vendor_report.html",
        {
            "page": page,
            "selected": selected,
            "partner_rows": partner_rows,
            "querystring": querystring_without_page(request),
            "may_manage": asset_policy.can(actor, MANAGE),
        },
    )


@vendor_required
def vendor_report_export(request: HttpRequest) -> HttpResponse:
    return start_export(request, "content.usage")
