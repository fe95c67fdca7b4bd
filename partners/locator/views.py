"""The public partner locator (no sign-in) and a partner's listing page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from partners.ratelimit import hit_rate_limit
from prm.errors import attempt
from prm.views import querystring_without_page

from . import selectors, services
from .forms import ContactForm, DirectoryFilterForm, ListingForm
from .policies import listing_policy

_LOGO_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}


@require_GET
def directory(request: HttpRequest) -> HttpResponse:
    choices = selectors.filter_choices()
    form = DirectoryFilterForm(request.GET or None, choices=choices)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    page = None
    if not form.errors:
        page = selectors.directory(
            filters=filters,
            page_number=request.GET.get("page"),
            certification_names=dict(choices.certifications),
        )
    return render(
        request,
        "partners/locator/directory.html",
        {
            "form": form,
            "page": page,
            "filtered": any(filters.values()),
            "querystring": querystring_without_page(request),
        },
        status=400 if form.errors else 200,
    )


def _listing_or_404(pk: int) -> selectors.PublicListing:
    listing = selectors.public_listing(pk=pk, certification_names=selectors.certification_names())
    if listing is None:
        raise Http404
    return listing


@require_http_methods(["GET", "POST"])
def listing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A listed partner's public page, with the enquiry form (CSRF-protected like every form)."""
    listing = _listing_or_404(pk)
    form = ContactForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if hit_rate_limit(request, "locator_contact"):
            form.add_error(None, _("Too many enquiries from your network. Please try again in an hour."))
            return render(
                request, "partners/locator/detail.html", {"listing": listing, "form": form}, status=429
            )
        if form.is_spam():
            # Pretend success so the bot learns nothing; nothing is stored.
            return redirect("locator:thanks", pk=listing.pk)
        if form.is_valid():
            data = {name: value for name, value in form.cleaned_data.items() if name != "homepage"}
            done, _lead = attempt(
                request, lambda: services.listing_contact(listing_pk=listing.pk, data=data), form=form
            )
            if done:
                return redirect("locator:thanks", pk=listing.pk)
        status = 400
    return render(request, "partners/locator/detail.html", {"listing": listing, "form": form}, status=status)


@require_GET
def thanks(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "partners/locator/thanks.html", {"listing": _listing_or_404(pk)})


@require_GET
def listing_logo(request: HttpRequest, pk: int) -> HttpResponse:
    """A listed partner's locator logo: public while the listing is. Only raster images checked
    on upload are ever stored; still, the browser is never let to guess a type."""
    logo = selectors.public_logo(pk=pk)
    if logo is None:
        raise Http404
    response = FileResponse(logo.open("rb"), as_attachment=False)
    response["Content-Type"] = _LOGO_TYPES.get(logo.name.rsplit(".", 1)[-1], "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cache-Control"] = "public, max-age=300"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def listing_manage(request: HttpRequest, pk: int) -> HttpResponse:
    """The partner's listing in the locator, for its admins (and the vendor staff who may edit
    its profile). Another partner's: 404, as if it did not exist."""
    actor = request.actor
    listing = selectors.listing_for_edit(actor=actor, partner_pk=pk)
    if not listing_policy.can(actor, "edit", listing):
        raise PermissionDenied
    initial = {
        "published": listing.published,
        "description": listing.description,
        "regions": listing.regions,
        "countries": listing.countries,
    }
    form = ListingForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        done, saved = attempt(
            request,
            lambda: services.listing_save(
                actor=actor,
                listing=listing,
                data=data,
                logo=data.get("logo"),
                remove_logo=data.get("remove_logo", False),
            ),
            form=form,
        )
        if done:
            if saved.published:
                messages.success(request, _("Your listing is saved and shown in the partner locator."))
            else:
                messages.success(request, _("Your listing is saved. It is not shown in the partner locator."))
            return redirect("locator:manage", pk=listing.partner_id)
    return render(
        request,
        "partners/locator/manage.html",
        {"form": form, "listing": listing, "partner": listing.partner},
        status=400 if form.errors else 200,
    )
