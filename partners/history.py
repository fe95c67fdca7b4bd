"""What each partner role may read of its company's audit trail (the company page's history).

Every app writes to the one trail, and the partners app may not import the apps above it, so the
rules are written here by event family (the action's prefix, ``deal.won`` -> ``deal``). They
restate the apps' own policies, so the history never shows a role what its other pages hide:

* partner, team and profile-change events: every partner user (the company and team pages show
  the same to everybody);
* deals (deals/policies.py): partner admins all the company's; a sales user only the deals they
  registered -- here: the objects they acted on themselves; leads: admins and sales;
* funds (mdf/policies.py): partner admins and marketing, the whole company's;
* training (training/policies.py): partner admins the company's, everybody else their own;
* earnings and statements (incentives/policies.py) and webhooks: partner admins only;
* API tokens: admins the company's, everybody else their own.

A family not named here (a new app, a new kind of event) is shown to partner admins only until
someone decides otherwise: the rules fail closed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from prm.models import AuditEvent
from prm.policies import NOTHING
from prm.tenancy import Actor

from .models import PartnerRole

ALL_ROLES = frozenset(PartnerRole.values)
ADMIN = frozenset({PartnerRole.ADMIN})


@dataclass(frozen=True)
class FamilyRule:
    company: frozenset[str]  # roles that see every event of the family in their company
    own: frozenset[str] = frozenset()  # roles that see the events on objects they acted on


FAMILY_RULES: dict[str, FamilyRule] = {
    "partner": FamilyRule(company=ALL_ROLES),
    "membership": FamilyRule(company=ALL_ROLES),
    "invitation": FamilyRule(company=ALL_ROLES),
    "profile_change": FamilyRule(company=ALL_ROLES),
    "deal": FamilyRule(company=ADMIN, own=frozenset({PartnerRole.SALES})),
    "lead": FamilyRule(company=frozenset({PartnerRole.ADMIN, PartnerRole.SALES})),
    "mdf": FamilyRule(company=frozenset({PartnerRole.ADMIN, PartnerRole.MARKETING})),
    "training": FamilyRule(company=ADMIN, own=ALL_ROLES),
    "incentives": FamilyRule(company=ADMIN),
    "webhook": FamilyRule(company=ADMIN),
    "api_token": FamilyRule(company=ADMIN, own=ALL_ROLES),
    # Support cases (partners/support/policies.py): every partner user sees the company's cases.
    # Internal notes and SLA bookkeeping are audited with no partner, so they never show here.
    "support": FamilyRule(company=ALL_ROLES),
}

# Vendor-side events about a partner that no partner user reads anywhere: conflict evidence names
# the other partner (the deal page leaves it out too), and who else at the vendor works the account.
VENDOR_ONLY_ACTIONS = frozenset(
    {"deal.conflict_resolved", "partner.portfolio_granted", "partner.portfolio_revoked"}
)

# Payload fields a role below partner admin does not see on the pages it may open: a co-op accrual
# is listed in the fund ledger as "Co-op accrual", never with the won deal it came from.
REDACTED_FIELDS: dict[str, frozenset[str]] = {"mdf.accrued": frozenset({"source"})}


def visible_q(actor: Actor) -> Q:
    """The company-history rows ``actor`` may read (on top of the partner filter)."""
    if not actor.is_partner:
        return NOTHING
    role = actor.partner_role
    without_vendor_only = ~Q(action__in=VENDOR_ONLY_ACTIONS)
    if role == PartnerRole.ADMIN:
        return without_vendor_only
    acted_on_it = Exists(
        AuditEvent.objects.filter(
            partner_id=actor.partner_id,
            actor_id=actor.user.pk,
            target_type=OuterRef("target_type"),
            target_id=OuterRef("target_id"),
        )
    )
    allowed = NOTHING
    for family, rule in FAMILY_RULES.items():
        in_family = Q(action__startswith=f"{family}.")
        if role in rule.company:
            allowed |= in_family
        elif role in rule.own:
            allowed |= in_family & Q(acted_on_it)
    return allowed & without_vendor_only


def redact(event: AuditEvent, actor: Actor) -> AuditEvent:
    """Drop the payload fields ``actor``'s role cannot see elsewhere (in memory, never saved)."""
    hidden = REDACTED_FIELDS.get(event.action)
    if hidden and actor.partner_role != PartnerRole.ADMIN:
        event.before = {key: value for key, value in event.before.items() if key not in hidden}
        event.after = {key: value for key, value in event.after.items() if key not in hidden}
    return event
