"""Reads of the locator.

The public pages have no actor: an anonymous request's database scope shows no rows at all. They
read through :func:`public_listings` only, in the system scope (as the certificate check and the
partner application do, prm.tenancy.system_scope), narrowed there to published listings of active
partners, and hand the page :class:`PublicListing` values built from the listing's public fields:
never the partner's contact e-mail, phone, people or anything else of its portal data.

The listing page for a partner's admins reads through the listing policy (``listing_for_edit``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django_countries import countries

from partners.models import Partner, PartnerListing, PartnerStatus, Region, Tier
from partners.selectors import partner_get
from prm.tenancy import Actor, system_scope

from . import registry
from .policies import listing_policy

PAGE_SIZE = 12
# What makes a listing public: the partner opted in and is active (not onboarding, suspended or
# terminated).
LISTED = Q(published=True, partner__status=PartnerStatus.ACTIVE)
# The partner's columns a public page may read (with the listing's own).
_PUBLIC_PARTNER_FIELDS = (
    "partner__legal_name",
    "partner__country",
    "partner__region",
    "partner__website_domain",
    "partner__status",
    "partner__tier__name",
    "partner__tier__rank",
)


@dataclass(frozen=True)
class PublicListing:
    """What the public sees of one listed partner."""

    pk: int
    name: str
    tier: str
    region: str
    country: str
    website_domain: str
    description: str
    has_logo: bool
    regions: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    certifications: list[str] = field(default_factory=list)
    product_lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FilterChoices:
    tiers: list[tuple[int, str]]
    certifications: list[tuple[int, str]]
    product_lines: list[tuple[str, str]]


def filter_choices() -> FilterChoices:
    """The tiers, certifications and product lines a customer may filter by (vendor catalogue)."""
    certifications = registry.certifications()
    lines = registry.product_lines()
    with system_scope():
        return FilterChoices(
            tiers=list(Tier.objects.order_by("-rank").values_list("pk", "name")),
            certifications=certifications.choices() if certifications is not None else [],
            product_lines=lines.choices() if lines is not None else [],
        )


def certification_names() -> dict[int, str]:
    """The certifications a listing may show, by id (one query; none without training)."""
    certifications = registry.certifications()
    if certifications is None:
        return {}
    with system_scope():
        return dict(certifications.choices())


def public_listings() -> QuerySet[PartnerListing]:
    """The published listings of active partners, with only their public columns. Evaluate inside
    ``system_scope()``: outside it an anonymous request reads no rows."""
    return (
        PartnerListing.objects.filter(LISTED)
        .select_related("partner", "partner__tier")
        .only("pk", "partner_id", "description", "logo", "regions", "countries", *_PUBLIC_PARTNER_FIELDS)
    )


def _public(
    listing: PartnerListing,
    *,
    certifications: list[str] = (),  # type: ignore[assignment]
    product_lines: list[str] = (),  # type: ignore[assignment]
) -> PublicListing:
    partner = listing.partner
    region_labels = dict(Region.choices)
    return PublicListing(
        pk=listing.pk,
        name=partner.legal_name,
        tier=partner.tier.name,
        region=str(region_labels.get(partner.region, partner.region)),
        country=partner.country.name,
        website_domain=partner.website_domain,
        description=listing.description,
        has_logo=bool(listing.logo),
        regions=[str(region_labels[code]) for code in listing.regions if code in region_labels],
        countries=[countries.name(code) for code in listing.countries if countries.name(code)],
        certifications=list(certifications),
        product_lines=list(product_lines),
    )


def _decorate(listings: list[PartnerListing], certification_names: dict[int, str]) -> list[PublicListing]:
    """The listings with their partners' current certifications and authorized product lines: two
    queries whatever the number of listings."""
    now = timezone.now()
    partner_ids = [listing.partner_id for listing in listings]
    held: dict[int, list[str]] = {}
    source = registry.certifications()
    if source is not None and certification_names and partner_ids:
        holders = source.holders(certification_ids=list(certification_names), at=now, partner_ids=partner_ids)
        for partner_id, certification_id in sorted(holders, key=lambda key: certification_names[key[1]]):
            held.setdefault(partner_id, []).append(certification_names[certification_id])
    lines_source = registry.product_lines()
    lines = lines_source.lines_of(partner_ids=partner_ids, at=now) if lines_source and partner_ids else {}
    return [
        _public(
            listing,
            certifications=held.get(listing.partner_id, []),
            product_lines=lines.get(listing.partner_id, []),
        )
        for listing in listings
    ]


def directory(*, filters: dict[str, Any], page_number: Any, certification_names: dict[int, str]) -> Page:
    """One page of the public directory for the (validated) ``filters``: region and country match
    the partner's own or those it serves; tier; a certification at least one of its people holds
    now; a product line it is authorized for now. Best tiers first, then by name. A fixed number of
    queries whatever the page holds."""
    now = timezone.now()
    with system_scope():
        listings = public_listings()
        if region := filters.get("region"):
            listings = listings.filter(Q(partner__region=region) | Q(regions__contains=[region]))
        if country := filters.get("country"):
            listings = listings.filter(Q(partner__country=country) | Q(countries__contains=[country]))
        if tier := filters.get("tier"):
            listings = listings.filter(partner__tier_id=tier)
        if certification := filters.get("certification"):
            source = registry.certifications()
            holders = source.holders(certification_ids=[certification], at=now) if source else {}
            listings = listings.filter(partner_id__in=sorted({partner for partner, _c in holders}))
        if product_line := filters.get("product_line"):
            lines = registry.product_lines()
            if lines is None:
                listings = listings.none()
            else:
                listings = listings.filter(
                    partner_id__in=lines.partner_ids(product_line=product_line, at=now)
                )
        listings = listings.order_by("-partner__tier__rank", "partner__legal_name", "pk")
        page = Paginator(listings, PAGE_SIZE).get_page(page_number)
        page.object_list = _decorate(list(page.object_list), certification_names)
    return page


def public_listing(*, pk: Any, certification_names: dict[int, str]) -> PublicListing | None:
    """One listed partner's public page, or None (not listed, not active, no such listing)."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    with system_scope():
        listing = public_listings().filter(pk=pk).first()
        if listing is None:
            return None
        return _decorate([listing], certification_names)[0]


def public_listing_partner_id(*, pk: int) -> int | None:
    """The partner a public enquiry goes to, if the listing is public."""
    with system_scope():
        return public_listings().filter(pk=pk).values_list("partner_id", flat=True).first()


def public_logo(*, pk: int) -> FieldFile | None:
    with system_scope():
        listing = public_listings().filter(pk=pk).exclude(logo="").first()
    return listing.logo if listing is not None else None


# --- the partner's own listing page ----------------------------------------------------------------
def listing_for_edit(*, actor: Actor, partner_pk: Any) -> PartnerListing:
    """The listing of a partner the actor may see (a 404 for any other, whether or not it exists),
    or a new unsaved one when the partner has none yet."""
    partner: Partner = partner_get(actor=actor, pk=partner_pk)
    listing = listing_policy.scope(actor).filter(partner=partner).first()
    if listing is None:
        listing = PartnerListing(partner=partner)
    else:
        listing.partner = partner
    return listing
