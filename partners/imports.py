"""Bringing an existing partner base into the portal from a CSV file: each row becomes a partner
in onboarding, on its tier, with its channel account manager, and its admin is invited by e-mail —
exactly what approving an application does, for many partners at once.

All or nothing, like the lead import: if any row is wrong (an unknown tier, a partner or e-mail
that already exists, the same company twice in the file), nothing is created and every wrong row
is reported with its line number."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from prm import audit
from prm.csvimport import read_rows
from prm.domains import DOMAIN_RE, normalise_domain
from prm.errors import ApplicationError
from prm.roles import VendorRole
from prm.tenancy import Actor

from .models import Partner, PartnerRole, PartnerStatus, PartnerType, Region, Tier
from .services import User, _invite, partner_assign_channel_manager

REQUIRED = ("legal_name", "country", "region", "admin_email")
MAX_ROWS = 2000
COLUMNS = [
    ("legal_name", True, gettext_lazy("The company's legal name.")),
    ("country", True, gettext_lazy("ISO code such as US or DE.")),
    ("region", True, ", ".join(Region.values)),
    ("admin_email", True, gettext_lazy("Invited as the partner's admin.")),
    ("admin_name", False, gettext_lazy("Used in the invitation.")),
    ("partner_type", False, ", ".join(PartnerType.values)),
    ("tier", False, gettext_lazy("A tier name; the entry tier when empty.")),
    ("website_domain", False, gettext_lazy("e.g. acme.com")),
    ("phone", False, ""),
    ("channel_manager_email", False, gettext_lazy("An existing channel account manager.")),
]
SAMPLE = (
    "legal_name,country,region,admin_email,admin_name,partner_type,tier,website_domain,phone,"
    "channel_manager_email\n"
    "Contoso Networks Ltd,GB,emea,ops@contoso.example,Casey Jones,reseller,Silver,contoso.example,"
    "+44 20 5550 0100,\n"
)


@dataclass
class PartnerImportResult:
    created: list[Partner] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def _require_program_admin(actor: Actor) -> None:
    if not (actor.is_vendor and actor.vendor_role == VendorRole.PROGRAM_ADMIN):
        raise ApplicationError(_("Only program admins import partners."))


def _parse(values: dict[str, str], tiers: dict[str, Tier], managers: dict[str, Any]) -> dict[str, Any]:
    for name in REQUIRED:
        if not values.get(name):
            raise ValueError(_("“%(column)s” is empty.") % {"column": name})
    if len(values["legal_name"]) > 200:
        raise ValueError(_("legal_name is longer than 200 characters."))
    country = values["country"].upper()
    if country not in dict(countries):
        raise ValueError(
            _("country “%(value)s” is not an ISO code such as US or DE.") % {"value": values["country"]}
        )
    region = values["region"].lower()
    if region not in Region.values:
        raise ValueError(
            _("region “%(value)s” is not one of %(allowed)s.")
            % {"value": values["region"], "allowed": ", ".join(Region.values)}
        )
    email = values["admin_email"].lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValueError(
            _("“%(value)s” is not an e-mail address.") % {"value": values["admin_email"]}
        ) from exc
    partner_type = (values.get("partner_type") or PartnerType.RESELLER).lower()
    if partner_type not in PartnerType.values:
        raise ValueError(
            _("partner_type “%(value)s” is not one of %(allowed)s.")
            % {"value": values["partner_type"], "allowed": ", ".join(PartnerType.values)}
        )
    tier_name = (values.get("tier") or "").lower()
    if tier_name and tier_name not in tiers:
        raise ValueError(
            _("tier “%(value)s” does not exist (tiers: %(allowed)s).")
            % {"value": values["tier"], "allowed": ", ".join(t.name for t in tiers.values())}
        )
    domain = ""
    if values.get("website_domain"):
        domain = normalise_domain(values["website_domain"])
        if not DOMAIN_RE.match(domain):
            raise ValueError(_("“%(value)s” is not a website domain.") % {"value": values["website_domain"]})
    manager_email = (values.get("channel_manager_email") or "").lower()
    if manager_email and manager_email not in managers:
        raise ValueError(
            _("“%(value)s” is not a channel account manager of the vendor.") % {"value": manager_email}
        )
    return {
        "legal_name": values["legal_name"],
        "country": country,
        "region": region,
        "partner_type": partner_type,
        "tier": tiers[tier_name] if tier_name else None,
        "website_domain": domain,
        "phone": values.get("phone", "")[:40],
        "admin_email": email,
        "admin_name": values.get("admin_name", "")[:150],
        "manager": managers.get(manager_email),
    }


def partner_import_csv(*, actor: Actor, content: bytes) -> PartnerImportResult:
    _require_program_admin(actor)
    rows = read_rows(content, required=REQUIRED, max_rows=MAX_ROWS)
    tiers = {tier.name.lower(): tier for tier in Tier.objects.order_by("rank")}
    entry_tier = next(iter(tiers.values()), None)
    if entry_tier is None:
        raise ApplicationError(_("Set up at least one program tier before importing partners."))
    managers = {
        user.email.lower(): user
        for user in User.objects.filter(vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER, is_active=True)
    }
    result = PartnerImportResult()
    parsed: list[tuple[int, dict[str, Any]]] = []
    for line, values in rows:
        try:
            parsed.append((line, _parse(values, tiers, managers)))
        except ValueError as exc:
            result.errors.append((line, str(exc)))
    # Duplicates: in the file, and with what is already in the portal (one query each).
    names = [data["legal_name"].lower() for _line, data in parsed]
    emails = [data["admin_email"] for _line, data in parsed]
    domains = [data["website_domain"] for _line, data in parsed if data["website_domain"]]
    taken_names = set(
        Partner.objects.annotate(lower=Lower("legal_name"))
        .filter(lower__in=names)
        .values_list("lower", flat=True)
    )
    taken_domains = set(
        Partner.objects.filter(website_domain__in=domains).values_list("website_domain", flat=True)
    )
    taken_emails = set(
        User.objects.annotate(lower=Lower("email")).filter(lower__in=emails).values_list("lower", flat=True)
    )
    seen: dict[str, int] = {}
    for line, data in parsed:
        problems = []
        if data["legal_name"].lower() in taken_names:
            problems.append(_("a partner named “%(name)s” already exists.") % {"name": data["legal_name"]})
        if data["website_domain"] and data["website_domain"] in taken_domains:
            problems.append(
                _("a partner with %(domain)s already exists.") % {"domain": data["website_domain"]}
            )
        if data["admin_email"] in taken_emails:
            problems.append(_("%(email)s already has a portal account.") % {"email": data["admin_email"]})
        for key in (f"name:{data['legal_name'].lower()}", f"email:{data['admin_email']}"):
            if key in seen:
                problems.append(_("the same as line %(line)s.") % {"line": seen[key]})
            seen.setdefault(key, line)
        if problems:
            result.errors.append((line, " ".join(problems)))
    if result.errors:
        result.errors.sort()
        return result
    for _line, data in parsed:
        partner = Partner.objects.create(
            legal_name=data["legal_name"],
            partner_type=data["partner_type"],
            country=data["country"],
            region=data["region"],
            website_domain=data["website_domain"],
            phone=data["phone"],
            contact_email=data["admin_email"],
            status=PartnerStatus.ONBOARDING,
            tier=data["tier"] or entry_tier,
        )
        audit.record(
            actor=actor.user,
            action="partner.imported",
            target=partner,
            partner_id=partner.pk,
            after=audit.snapshot(partner, ["legal_name", "status", "tier"]),
        )
        if data["manager"] is not None:
            partner = partner_assign_channel_manager(actor=actor, partner=partner, manager=data["manager"])
        _invite(
            actor=actor,
            partner=partner,
            email=data["admin_email"],
            role=PartnerRole.ADMIN,
            greeting_name=data["admin_name"],
        )
        result.created.append(partner)
    return result
