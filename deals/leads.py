"""Vendor leads: creation, CSV import, weighted distribution, and the partner's accept/decline
within the acceptance SLA (default 48 hours). On decline or timeout the lead moves on to another
partner, skipping every partner that already had it."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_countries import countries

from partners.models import Membership, Partner, PartnerRole, PartnerStatus, Region
from partners.policies import can_work_partner
from prm import audit, transitions
from prm.csvimport import read_rows
from prm.domains import DOMAIN_RE, normalise_domain
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.i18n import localized_datetime
from prm.money import Currency
from prm.notifications import notify
from prm.policies import PermissionDenied
from prm.statements import Statement
from prm.tenancy import Actor, system_scope

from .models import Deal, Lead, LeadOffer, LeadSource, LeadStatus, OfferOutcome
from .policies import lead_policy
from .webhooks import emit_lead_event

LEAD_FIELDS = (
    "company_name",
    "domain",
    "country",
    "region",
    "contact_name",
    "contact_email",
    "contact_phone",
    "product_interest",
    "estimated_value",
    "currency",
    "description",
)
# Text limits of the Lead columns: a longer value is reported on its row, not a database error.
_MAX_LENGTHS = {
    field.name: field.max_length
    for field in Lead._meta.get_fields()
    if getattr(field, "max_length", None) and field.get_internal_type() in {"CharField", "EmailField"}
}
CSV_REQUIRED = ("company_name", "region")
MAX_IMPORT_ROWS = 5000


def lead_create(*, actor: Actor, data: dict[str, Any]) -> Lead:
    lead_policy.require(
        actor, "create", None, _("Only program admins and channel account managers add leads.")
    )
    data = {name: data.get(name) for name in LEAD_FIELDS if data.get(name) not in (None, "")}
    if not data.get("company_name"):
        raise ApplicationError(_("Enter the lead's company."), field="company_name")
    if data.get("region") not in Region.values:
        raise ApplicationError(_("Choose the lead's region."), field="region")
    lead = Lead.objects.create(created_by=actor.user, **data)
    audit.record(actor=actor.user, action="lead.created", target=lead, after={"company": lead.company_name})
    return lead


LOCATOR_FIELDS = ("contact_name", "company_name", "contact_email", "country", "description")


def lead_from_locator(*, partner_id: int, data: dict[str, Any]) -> Lead:
    """An end customer's enquiry through the public partner locator (partners.locator): a lead for
    the partner they wrote to, offered to that partner at once (its admins and sales people are
    notified, ``_offer``). The same e-mail writing to the same partner again within
    ``PRM["LOCATOR_DUPLICATE_MINUTES"]`` is refused (a double click, a resend).

    The writer is anonymous: the lead is written in the system scope, and nothing is read back to
    them. The partner must be active; the locator checked that it is listed."""
    data = {name: (data.get(name) or "").strip() for name in LOCATOR_FIELDS}
    if not data["company_name"]:
        raise ApplicationError(_("Enter your company."), field="company_name")
    try:
        validate_email(data["contact_email"])
    except ValidationError as exc:
        raise ApplicationError(_("Enter a valid e-mail address."), field="contact_email") from exc
    data["contact_email"] = data["contact_email"].lower()
    data["country"] = data["country"].upper()
    if data["country"] and data["country"] not in countries:
        raise ApplicationError(_("Choose your country from the list."), field="country")
    for name, value in data.items():
        limit = _MAX_LENGTHS.get(name)
        if limit and len(value) > limit:
            raise ApplicationError(_("Keep this under %(limit)s characters.") % {"limit": limit}, field=name)
    with system_scope():
        partner = (
            Partner.objects.select_for_update().filter(pk=partner_id, status=PartnerStatus.ACTIVE).first()
        )
        if partner is None:
            raise ApplicationError(_("This partner does not take enquiries at the moment."))
        # The partner row is locked: two identical enquiries sent at once are checked one after
        # the other.
        since = timezone.now() - timedelta(minutes=settings.PRM["LOCATOR_DUPLICATE_MINUTES"])
        if Lead.objects.filter(
            source=LeadSource.LOCATOR,
            requested_partner=partner,
            contact_email=data["contact_email"],
            created_at__gte=since,
        ).exists():
            raise ApplicationError(
                _(
                    "You already sent %(partner)s an enquiry from this e-mail address a short while "
                    "ago. They will answer it; there is no need to send it again."
                )
                % {"partner": partner.legal_name}
            )
        lead = Lead.objects.create(
            source=LeadSource.LOCATOR,
            requested_partner=partner,
            region=partner.region,
            **data,
        )
        audit.record(
            actor=None,
            action="lead.created",
            target=lead,
            partner_id=partner.pk,
            after={"company": lead.company_name, "source": LeadSource.LOCATOR},
        )
        _offer(_lock_lead(lead), partner, actor_user=None, manual=True)
    return lead


@dataclass
class ImportResult:
    created: list[Lead] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


def _parse_row(row: dict[str, str]) -> dict[str, Any]:
    values = {key.strip().lower(): (value or "").strip() for key, value in row.items() if key}
    for name, value in values.items():
        if "\x00" in value:
            raise ValueError(_("“%(column)s” contains a NUL character.") % {"column": name})
        limit = _MAX_LENGTHS.get(name)
        if limit and len(value) > limit:
            raise ValueError(
                _("“%(column)s” is longer than %(limit)s characters.") % {"column": name, "limit": limit}
            )
    for name in CSV_REQUIRED:
        if not values.get(name):
            raise ValueError(_("“%(column)s” is empty.") % {"column": name})
    region = values["region"].lower()
    if region not in Region.values:
        raise ValueError(
            _("region “%(value)s” is not one of %(allowed)s.")
            % {"value": values["region"], "allowed": ", ".join(Region.values)}
        )
    data: dict[str, Any] = {"company_name": values["company_name"][:200], "region": region}
    if values.get("domain"):
        domain = normalise_domain(values["domain"])
        if not DOMAIN_RE.match(domain):
            raise ValueError(_("“%(value)s” is not a website domain.") % {"value": values["domain"]})
        data["domain"] = domain
    if values.get("country"):
        code = values["country"].upper()
        if code not in dict(countries):
            raise ValueError(
                _("country “%(value)s” is not an ISO code such as US or DE.") % {"value": values["country"]}
            )
        data["country"] = code
    if values.get("contact_email"):
        try:
            validate_email(values["contact_email"])
        except ValidationError as exc:
            raise ValueError(
                _("“%(value)s” is not an e-mail address.") % {"value": values["contact_email"]}
            ) from exc
        data["contact_email"] = values["contact_email"].lower()
    if values.get("estimated_value"):
        try:
            value = Decimal(values["estimated_value"].replace(",", ""))
        except InvalidOperation as exc:
            raise ValueError(
                _("estimated_value “%(value)s” is not a number.") % {"value": values["estimated_value"]}
            ) from exc
        # NaN, Infinity and amounts the column cannot hold are input errors, not crashes.
        if not value.is_finite() or not (Decimal("0") <= value < Decimal("1e14")):
            raise ValueError(
                _("estimated_value “%(value)s” must be an amount between 0 and 99,999,999,999,999.")
                % {"value": values["estimated_value"]}
            )
        data["estimated_value"] = value.quantize(Decimal("0.01"))
    if values.get("currency"):
        if values["currency"].upper() not in Currency.values:
            raise ValueError(_("currency “%(value)s” is not supported.") % {"value": values["currency"]})
        data["currency"] = values["currency"].upper()
    for name in ("contact_name", "contact_phone", "product_interest", "description"):
        if values.get(name):
            data[name] = values[name]
    return data


def lead_import_csv(*, actor: Actor, content: bytes) -> ImportResult:
    """All or nothing: if any row is wrong, nothing is imported and every wrong row is reported
    with its line number, so the file can be fixed and uploaded again."""
    lead_policy.require(
        actor, "import", None, _("Only program admins and channel account managers import leads.")
    )
    result = ImportResult()
    parsed = []
    for line_number, row in read_rows(content, required=CSV_REQUIRED, max_rows=MAX_IMPORT_ROWS):
        try:
            parsed.append(_parse_row(row))
        except ValueError as exc:
            result.errors.append((line_number, str(exc)))
    if result.errors:
        return result
    result.created = Lead.objects.bulk_create([Lead(created_by=actor.user, **data) for data in parsed])
    audit.record(
        actor=actor.user,
        action="lead.imported",
        target=result.created[0],
        after={"rows": len(result.created)},
    )
    return result


def _eligible_partners(lead: Lead) -> list[Partner]:
    if lead.source == LeadSource.LOCATOR:
        # The customer wrote to one partner: their enquiry is never handed to another one by
        # itself (declined or unanswered, it waits as "no partner available" for the vendor).
        return []
    offered = LeadOffer.objects.filter(lead=lead).values("partner_id")
    return list(
        Partner.objects.filter(status=PartnerStatus.ACTIVE, region=lead.region, tier__lead_weight__gt=0)
        .exclude(pk__in=offered)
        .select_related("tier")
        .order_by("pk")
    )


def choose_partner(lead: Lead, rng: random.Random | None = None) -> Partner | None:
    """Weighted by tier (``Tier.lead_weight``; 0 gets none), within the lead's region, skipping
    partners that already had this lead."""
    candidates = _eligible_partners(lead)
    if not candidates:
        return None
    rng = rng or random.SystemRandom()
    return rng.choices(candidates, weights=[p.tier.lead_weight for p in candidates], k=1)[0]


def _offer(lead: Lead, partner: Partner, *, actor_user: Any, manual: bool) -> LeadOffer:
    now = timezone.now()
    respond_by = now + timedelta(hours=settings.PRM["LEAD_ACCEPTANCE_SLA_HOURS"])
    offer = LeadOffer.objects.create(
        lead=lead, partner=partner, offered_at=now, respond_by=respond_by, assigned_manually=manual
    )
    with transitions.transition(
        lead,
        to=LeadStatus.OFFERED,
        actor=actor_user,
        action="lead.offered",
        snapshot=["status", "assigned_partner"],
        partner_id=partner.pk,
    ) as change:
        change.set(assigned_partner=partner, offered_at=now, respond_by=respond_by)
    emit_lead_event(lead, "lead.offered")
    for membership in Membership.objects.filter(
        partner=partner, is_active=True, role__in=[PartnerRole.ADMIN, PartnerRole.SALES]
    ).select_related("user"):
        notify(
            recipient=membership.user,
            kind="lead.offered",
            partner_id=partner.pk,
            title=_("New lead for you: %(company)s") % {"company": lead.company_name},
            body=_("Accept or decline by %(when)s.") % {"when": localized_datetime(respond_by)},
            url=reverse("deals:lead_list"),
        )
    return offer


def _lock_lead(lead: Lead) -> Lead:
    return transitions.lock(lead)


def _lock_offered_lead(actor: Actor, lead: Lead, action: str) -> Lead:
    """The lead, locked, if it is offered to the actor's partner; refused otherwise.

    A partner answers in its own database scope, which hides a lead offered to another partner
    from the lock itself (another partner's lead, or one handed on since the page was read): that
    is the same refusal as the policy's, not a missing row."""
    message = _("This lead is not offered to you any more.")
    try:
        lead = _lock_lead(lead)
    except Lead.DoesNotExist:
        raise PermissionDenied(message) from None
    lead_policy.require(actor, action, lead, message)
    return lead


def lead_distribute(*, actor: Actor | None, lead: Lead, rng: random.Random | None = None) -> LeadOffer | None:
    """Offer the lead to the next partner automatically; None (and status "no partner available")
    when every eligible partner already had it."""
    if actor is not None:
        lead_policy.require(
            actor, "distribute", lead, _("Only program admins and channel account managers distribute.")
        )
    lead = _lock_lead(lead)
    if lead.status not in {LeadStatus.NEW, LeadStatus.UNASSIGNABLE, LeadStatus.OFFERED}:
        raise ApplicationError(_("This lead was already accepted or closed."))
    if (
        lead.status == LeadStatus.OFFERED
        and LeadOffer.objects.filter(lead=lead, outcome=OfferOutcome.PENDING).exists()
    ):
        raise ApplicationError(_("This lead is waiting for a partner's answer."))
    partner = choose_partner(lead, rng)
    if partner is None:
        lead.status = LeadStatus.UNASSIGNABLE
        lead.assigned_partner = None
        lead.save(update_fields=["status", "assigned_partner"])
        return None
    return _offer(lead, partner, actor_user=actor.user if actor else None, manual=False)


def lead_assign(*, actor: Actor, lead: Lead, partner: Partner) -> LeadOffer:
    lead_policy.require(
        actor, "distribute", lead, _("Only program admins and channel account managers assign.")
    )
    lead = _lock_lead(lead)
    if lead.status not in {LeadStatus.NEW, LeadStatus.UNASSIGNABLE}:
        raise ApplicationError(_("Only new or unassigned leads can be assigned by hand."))
    if partner.status != PartnerStatus.ACTIVE:
        raise ApplicationError(_("%(partner)s is not an active partner.") % {"partner": partner})
    if not can_work_partner(actor, partner):
        raise PermissionDenied(_("%(partner)s is not in your portfolio.") % {"partner": partner})
    if LeadOffer.objects.filter(lead=lead, partner=partner).exists():
        raise ApplicationError(_("%(partner)s already had this lead.") % {"partner": partner})
    return _offer(lead, partner, actor_user=actor.user, manual=True)


def _pending_offer(lead: Lead) -> LeadOffer:
    offer = LeadOffer.objects.select_for_update().filter(lead=lead, outcome=OfferOutcome.PENDING).first()
    if offer is None:
        raise ApplicationError(_("This lead is no longer waiting for your answer."))
    return offer


def lead_accept(*, actor: Actor, lead: Lead) -> Deal:
    """The partner takes the lead: it becomes a draft deal they complete and submit."""
    from .services import deal_save_draft

    lead = _lock_offered_lead(actor, lead, "accept")
    offer = _pending_offer(lead)
    # The offer ends at respond_by, the instant the timeout job takes it (overdue_offers_q).
    if offer.respond_by <= timezone.now():
        raise ApplicationError(_("The time to accept this lead has passed."))
    with transitions.transition(
        lead,
        to=LeadStatus.ACCEPTED,
        actor=actor.user,
        action="lead.accepted",
        snapshot=[],  # the deal it became is what the trail shows
        partner_id=lead.assigned_partner_id,
    ) as change:
        deal = deal_save_draft(
            actor=actor,
            data={
                "customer_name": lead.company_name,
                "customer_domain": lead.domain,
                "customer_country": lead.country,
                "customer_region": lead.region,
                "contact_name": lead.contact_name,
                "contact_email": lead.contact_email,
                "contact_phone": lead.contact_phone,
                "currency": lead.currency,
                "notes": "\n".join(filter(None, [lead.product_interest, lead.description])),
            },
            lines=[],
        )
        offer.outcome = OfferOutcome.ACCEPTED
        offer.responded_by = actor.user
        offer.responded_at = timezone.now()
        offer.save(update_fields=["outcome", "responded_by", "responded_at"])
        change.set(deal=deal)
        change.audit_extra["deal"] = deal.reference
    if lead.created_by_id:
        notify(
            recipient=lead.created_by,
            kind="lead.accepted",
            url=reverse("deals:vendor_lead_list"),
            title=_("%(partner)s accepted the lead %(company)s")
            % {"partner": actor.partner.legal_name, "company": lead.company_name},
        )
    return deal


def _move_on(lead: Lead, offer: LeadOffer, outcome: str, *, actor_user: Any, reason: str) -> LeadOffer | None:
    offer.outcome = outcome
    offer.responded_by = actor_user
    offer.responded_at = timezone.now()
    offer.reason = reason
    offer.save(update_fields=["outcome", "responded_by", "responded_at", "reason"])
    previous_partner = lead.assigned_partner
    audit.record(
        actor=actor_user,
        action=f"lead.{outcome}",
        target=lead,
        partner_id=previous_partner.pk,
        reason=reason,
        before={"assigned_partner": str(previous_partner), "offer": OfferOutcome.PENDING},
        after={"assigned_partner": None, "offer": outcome},
    )
    # Handing the lead on is vendor work: the declining partner's scope may neither un-assign a
    # row it would then no longer own (RLS refuses) nor see the other partners.
    with system_scope():
        lead.status = LeadStatus.NEW
        lead.assigned_partner = None
        lead.save(update_fields=["status", "assigned_partner"])
        next_offer = lead_distribute(actor=None, lead=lead)
    if lead.created_by_id:
        moved = _("offered to another partner") if next_offer else _("no other partner is available")
        notify(
            recipient=lead.created_by,
            kind=f"lead.{outcome}",
            url=reverse("deals:vendor_lead_list"),
            title=_("Lead %(company)s: %(partner)s did not take it; %(moved)s")
            % {"company": lead.company_name, "partner": previous_partner.legal_name, "moved": moved},
        )
    return next_offer


def lead_decline(*, actor: Actor, lead: Lead, reason: str) -> LeadOffer | None:
    lead = _lock_offered_lead(actor, lead, "decline")
    if not (reason or "").strip():
        raise ApplicationError(_("Say why you decline, so the vendor can route better."), field="reason")
    offer = _pending_offer(lead)
    return _move_on(lead, offer, OfferOutcome.DECLINED, actor_user=actor.user, reason=reason.strip())


def lead_time_out(*, lead: Lead, now: Any = None) -> bool:
    """System job: the partner did not answer within the SLA. Idempotent."""
    now = now or timezone.now()
    lead = _lock_lead(lead)
    offer = (
        LeadOffer.objects.select_for_update()
        .filter(lead=lead, outcome=OfferOutcome.PENDING, respond_by__lte=now)
        .first()
    )
    if lead.status != LeadStatus.OFFERED or offer is None:
        return False
    partner = lead.assigned_partner
    for membership in Membership.objects.filter(
        partner=partner, is_active=True, role__in=[PartnerRole.ADMIN, PartnerRole.SALES]
    ).select_related("user"):
        notify(
            recipient=membership.user,
            kind="lead.timed_out",
            partner_id=partner.pk,
            title=_("The lead %(company)s went to another partner: no answer in time")
            % {"company": lead.company_name},
        )
    _move_on(lead, offer, OfferOutcome.TIMED_OUT, actor_user=None, reason="")
    return True


def overdue_offers_q(now: Any) -> Q:
    return Q(status=LeadStatus.OFFERED, respond_by__lte=now)


# --- The partner's lead list ----------------------------------------------------------------------
def _partner_lead_keys(actor: Actor, status: str | None) -> Any:
    from . import selectors  # selectors -> forms -> this module: imported when first called

    return selectors.lead_list(actor=actor, status=status or "").values_list("pk")


# The partner lead list's count, on every request, compiled once per shape (prm.statements): most
# partners have no lead, and then the count is all the page reads (no list is built).
_PARTNER_LEAD_COUNT = Statement("deals.partner_lead_count", _partner_lead_keys, values=["status"], count=True)


def partner_lead_count(*, actor: Actor, status: str = "") -> int:
    """How many leads ``selectors.lead_list(actor=actor, status=status)`` lists."""
    # A plain str (an enum member is another shape of the statement); None: no filter.
    return _PARTNER_LEAD_COUNT.count(actor, status=str(status) if status else None)
