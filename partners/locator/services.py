"""Writes of the locator: a partner's listing (audited), and a customer's enquiry, which becomes
that partner's lead through the app that owns leads (deals, through ``registry.product_lines``)."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _
from django_countries import countries

from partners.models import PartnerListing, Region
from partners.uploads import validate_logo
from prm import audit
from prm.errors import ApplicationError
from prm.policies import PermissionDenied
from prm.tenancy import Actor

from . import registry
from .policies import listing_policy
from .selectors import public_listing_partner_id

DESCRIPTION_MAX = PartnerListing._meta.get_field("description").max_length
_AUDITED = ("published", "description", "regions", "countries", "logo")


def _snapshot(listing: PartnerListing) -> dict[str, Any]:
    return {
        "published": listing.published,
        "description": listing.description,
        "regions": list(listing.regions),
        "countries": list(listing.countries),
        "logo": listing.logo.name or "",
    }


def listing_save(
    *,
    actor: Actor,
    listing: PartnerListing,
    data: dict[str, Any],
    logo: UploadedFile | None = None,
    remove_logo: bool = False,
) -> PartnerListing:
    """Save a partner's listing (created on its first save): opt in or out, the description, the
    regions and countries served, and the logo (checked like the company logo: size, and the real
    image type whatever the file's name). Audited with before and after."""
    listing_policy.require(
        actor, "edit", listing, _("Only your company's admins can change its listing in the partner locator.")
    )
    description = (data.get("description") or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise ApplicationError(
            _("Keep the description under %(limit)s characters.") % {"limit": DESCRIPTION_MAX},
            field="description",
        )
    regions = list(dict.fromkeys(data.get("regions") or []))
    if any(region not in Region.values for region in regions):
        raise ApplicationError(_("Choose regions from the list."), field="regions")
    codes = list(dict.fromkeys(code.upper() for code in data.get("countries") or []))
    if any(code not in countries for code in codes):
        raise ApplicationError(_("Choose countries from the list."), field="countries")
    published = bool(data.get("published"))
    if published and not description:
        raise ApplicationError(
            _("Describe your company before you list it: it is what customers read first."),
            field="description",
        )
    if logo is not None:
        validate_logo(logo)  # a clear message on the logo field; nothing is stored

    partner = listing.partner
    current, _created = PartnerListing.objects.select_for_update().get_or_create(partner=partner)
    before = _snapshot(current)
    old_logo = current.logo.name
    current.published = published
    current.description = description
    current.regions = regions
    current.countries = sorted(codes)
    current.updated_by = actor.user
    if logo is not None:
        current.logo.save(logo.name, logo, save=False)
    elif remove_logo:
        current.logo = ""
    current.save()
    after = _snapshot(current)
    if before != after:
        audit.record(
            actor=actor.user,
            action="partner.listing_changed",
            target=partner,
            partner_id=partner.pk,
            before={key: before[key] for key in _AUDITED if before[key] != after[key]},
            after={key: after[key] for key in _AUDITED if before[key] != after[key]},
        )
    if old_logo and old_logo != current.logo.name:
        storage = current.logo.storage
        transaction.on_commit(lambda: storage.delete(old_logo))
    current.partner = partner
    return current


def listing_contact(*, listing_pk: int, data: dict[str, Any]) -> Any:
    """A customer's enquiry to a listed partner: it becomes a lead offered to that partner, whose
    admins and sales people are told (deals.leads.lead_from_locator). Refused for a listing that
    is not public (withdrawn, or the partner no longer active, since the page was read)."""
    partner_id = public_listing_partner_id(pk=listing_pk)
    if partner_id is None:
        raise PermissionDenied(_("This partner is no longer listed."))
    leads = registry.product_lines()
    if leads is None:
        raise ApplicationError(_("Enquiries cannot be sent at the moment."))
    return leads.contact(partner_id=partner_id, data=data)
