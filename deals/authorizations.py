"""Product authorization (seed 001: qualification management, agency business authorization).

A product line can require an authorization (``AuthorizationRequirement``). A partner holds one
(``PartnerAuthorization``) granted by rule — its tier and N of its people certified in a given
certification — or by hand by the vendor. A grant by rule lasts until the qualifying certifications
expire; the partner is warned ``warning_days`` before, and the authorization lapses then (or as
soon as the partner no longer meets the rule). Registering a deal on a line the partner is not
authorized for is refused with what is missing (:func:`check_products`, called by
deals.services).

Certifications belong to training, which deals never imports (the ladder in ARCHITECTURE.md):
training names an object on its AppConfig, the same way it contributes KPIs::

    class TrainingConfig(AppConfig):
        authorization_certifications = "training.authorizations.CERTIFICATIONS"

with ``choices()`` (id, name) of the certifications a rule may ask for, ``names(ids)``, and
``holders(certification_ids=, at=, partner_ids=None)``: for each (partner, certification), each
certified person's latest expiry, latest first (None: never expires) — one query for every partner.

Writes: one service per move (grant, renewal, warning, lapse, revocation), each locking the row,
audited through prm.transitions and notifying the partner's admins; :func:`evaluate`, run nightly
by ``deals.tasks.evaluate_authorizations``, re-evaluates every rule for every partner from a few
set-based reads and calls those services for the rows that change. Running it twice changes
nothing more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.module_loading import import_string

from partners.models import Partner, PartnerRole, PartnerStatus
from partners.selectors import partner_people
from prm import audit, transitions
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.notifications import notify
from prm.tenancy import Actor, system_scope

from .models import (
    HOLDING_STATUSES,
    AuthorizationRequirement,
    AuthorizationSource,
    AuthorizationStatus,
    PartnerAuthorization,
    Product,
)
from .policies import authorization_policy

HOOK = "authorization_certifications"


# --- the registry ---------------------------------------------------------------------------------
def certification_source() -> Any | None:
    """The object an installed app contributes for certification rules, or None (then a rule that
    asks for a certification can be met by nobody, and says so)."""
    for config in apps.get_app_configs():
        if path := getattr(config, HOOK, None):
            return import_string(path)
    return None


def certification_choices() -> list[tuple[int, str]]:
    source = certification_source()
    return source.choices() if source is not None else []


def _certification_names(ids: Collection[int]) -> dict[int, str]:
    source = certification_source()
    return source.names(ids) if source is not None and ids else {}


def _holders(
    certification_ids: Collection[int], *, at: datetime, partner_ids: Collection[int] | None = None
) -> dict[tuple[int, int], list[datetime | None]]:
    source = certification_source()
    if source is None or not certification_ids:
        return {}
    return source.holders(certification_ids=certification_ids, at=at, partner_ids=partner_ids)


# --- where a partner stands -----------------------------------------------------------------------
@dataclass
class Standing:
    """One requirement from one partner's side: its authorization (if any row), whether it meets
    the rule now and by how much."""

    requirement: AuthorizationRequirement
    authorization: PartnerAuthorization | None
    tier_name: str
    tier_met: bool  # True when the rule asks no tier
    certification_name: str
    certified: int  # the partner's people holding the certification now (0 without one)
    until: datetime | None  # when the qualifying certifications expire (None: they do not)
    now: datetime = field(default_factory=timezone.now)

    @property
    def certified_met(self) -> bool:
        return self.certified >= self.requirement.certified_people

    @property
    def rule_met(self) -> bool:
        return self.requirement.has_rule and self.tier_met and self.certified_met

    @property
    def holds(self) -> bool:
        return self.authorization is not None and self.authorization.holds(self.now)

    @property
    def revoked(self) -> bool:
        return self.authorization is not None and self.authorization.status == AuthorizationStatus.REVOKED

    def needs(self, *, with_shortfall: bool = False) -> str:
        """What the rule asks, e.g. "tier Gold and 2 people certified in 'Network Specialist'";
        ``with_shortfall`` adds what the partner has where it falls short."""
        requirement = self.requirement
        parts = []
        if requirement.min_tier_id is not None:
            part = _("tier %(tier)s") % {"tier": requirement.min_tier.name}
            if with_shortfall and not self.tier_met:
                part += " " + _("(yours is %(tier)s)") % {"tier": self.tier_name}
            parts.append(part)
        if requirement.certification_id is not None:
            part = _("%(n)s people certified in '%(name)s'") % {
                "n": requirement.certified_people,
                "name": self.certification_name,
            }
            if requirement.certified_people == 1:
                part = _("1 person certified in '%(name)s'") % {"name": self.certification_name}
            if with_shortfall and not self.certified_met:
                part += " " + _("(you have %(n)s)") % {"n": self.certified}
            parts.append(part)
        if not parts:
            return _("a grant by the vendor")
        return _(" and ").join(parts)

    def refusal(self) -> str:
        line = self.requirement.product_line
        if self.revoked:
            return _(
                "Authorization for %(line)s required: the vendor revoked yours; ask your channel "
                "account manager."
            ) % {"line": line}
        if not self.requirement.has_rule:
            return _(
                "Authorization for %(line)s required: the vendor grants it; ask your channel account manager."
            ) % {"line": line}
        return _("Authorization for %(line)s required: needs %(needs)s.") % {
            "line": line,
            "needs": self.needs(with_shortfall=True),
        }


def standings(
    *,
    partner: Partner,
    requirements: Iterable[AuthorizationRequirement] | None = None,
    now: datetime | None = None,
) -> list[Standing]:
    """Where ``partner`` stands on each requirement (every active one by default), in a fixed
    number of queries: the requirements, the partner's authorizations, its certified people and
    the certifications' names."""
    now = now or timezone.now()
    if requirements is None:
        requirements = AuthorizationRequirement.objects.filter(active=True).select_related("min_tier")
    requirements = list(requirements)
    if not requirements:
        return []
    authorizations = {
        row.requirement_id: row
        for row in PartnerAuthorization.objects.filter(
            partner_id=partner.pk, requirement__in=[r.pk for r in requirements]
        )
    }
    certification_ids = {r.certification_id for r in requirements if r.certification_id is not None}
    holders = _holders(certification_ids, at=now, partner_ids=[partner.pk])
    names = _certification_names(certification_ids)
    tier = partner.tier
    result = []
    for requirement in requirements:
        until: datetime | None = None
        certified = 0
        if requirement.certification_id is not None:
            people = holders.get((partner.pk, requirement.certification_id), [])
            certified = len(people)
            if certified >= requirement.certified_people:
                until = people[requirement.certified_people - 1]
        result.append(
            Standing(
                requirement=requirement,
                authorization=authorizations.get(requirement.pk),
                tier_name=tier.name,
                tier_met=requirement.min_tier_id is None or tier.rank >= requirement.min_tier.rank,
                certification_name=names.get(requirement.certification_id or 0, _("(no longer offered)")),
                certified=certified,
                until=until,
                now=now,
            )
        )
    return result


def check_products(*, partner: Partner, product_ids: Collection[int]) -> None:
    """Refuse a deal with a product of a line the partner is not authorized for, saying what is
    missing. A partner that meets a rule the nightly run has not granted yet (its second person
    was certified this morning) is granted now, not refused."""
    lines = Product.objects.filter(pk__in=list(product_ids)).values("product_line")
    requirements = list(
        AuthorizationRequirement.objects.filter(active=True, product_line__in=lines).select_related(
            "min_tier"
        )
    )
    if not requirements:
        return
    problems = []
    for standing in standings(partner=partner, requirements=requirements):
        if standing.holds:
            continue
        if standing.rule_met and not standing.revoked:
            # The grant is the system's, in its scope (the partner's own scope writes no grants).
            with system_scope():
                authorization_grant(
                    actor=None,
                    partner=partner,
                    requirement=standing.requirement,
                    valid_until=standing.until,
                    source=AuthorizationSource.RULE,
                )
            continue
        problems.append(standing.refusal())
    if problems:
        raise ApplicationError(" ".join(problems), field="lines", extra={"problems": problems})


# --- writes -----------------------------------------------------------------------------------------
def _notify_partner(authorization: PartnerAuthorization, kind: str, title: str, body: str = "") -> None:
    """The partner's admins hear of every change, and so does its channel account manager."""
    url = reverse("partners:company") + "#authorizations"
    for user in partner_people(authorization.partner_id, {PartnerRole.ADMIN}):
        notify(
            recipient=user, kind=kind, title=title, body=body, partner_id=authorization.partner_id, url=url
        )
    manager = authorization.partner.channel_account_manager
    if manager is not None and manager.is_active:
        notify(
            recipient=manager,
            kind=kind,
            title=_("%(partner)s: %(title)s") % {"partner": authorization.partner.legal_name, "title": title},
            body=body,
        )


def _date(moment: datetime | None) -> str:
    return date_format(timezone.localtime(moment), "DATE_FORMAT") if moment else _("no end date")


def authorization_grant(
    *,
    actor: Actor | None,
    partner: Partner,
    requirement: AuthorizationRequirement,
    valid_until: datetime | None = None,
    source: str = AuthorizationSource.MANUAL,
    reason: str = "",
    now: datetime | None = None,
) -> PartnerAuthorization:
    """Grant (or grant again, or renew with a new end) ``partner``'s authorization for
    ``requirement``. By hand (``actor`` given): a program admin or the partner's channel account
    manager, with a reason; by rule (``actor`` None): the system, with the qualifying
    certifications' expiry as the end. Idempotent: the same grant again changes nothing."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if actor is not None:
        authorization_policy.require(
            actor,
            "grant",
            partner,
            _("Only a program admin or the partner's channel account manager grants authorizations."),
        )
        if source == AuthorizationSource.MANUAL and not reason:
            raise ApplicationError(_("Say why the authorization is granted by hand."), field="reason")
    if valid_until is not None and valid_until <= now:
        raise ApplicationError(_("The end of the authorization must be in the future."), field="valid_until")
    user = actor.user if actor is not None else None
    with transaction.atomic():
        authorization, created = PartnerAuthorization.objects.get_or_create(
            partner=partner,
            requirement=requirement,
            defaults={
                "source": source,
                "granted_at": now,
                "granted_by": user,
                "valid_until": valid_until,
                "reason": reason,
            },
        )
        if created:
            audit.record(
                actor=user,
                action="deals.authorization_granted",
                target=authorization,
                partner_id=partner.pk,
                after={"status": authorization.status, "source": source, "valid_until": valid_until},
                reason=reason,
            )
        else:
            authorization = transitions.lock(authorization, related=("requirement",))
            holding = authorization.status in HOLDING_STATUSES
            if actor is None and (
                # Revoked by the vendor, or granted by hand: no rule overrides that decision.
                authorization.status == AuthorizationStatus.REVOKED
                or (holding and authorization.source == AuthorizationSource.MANUAL)
                # The same grant again: nothing to do.
                or (holding and authorization.valid_until == valid_until)
            ):
                return authorization
            # A renewal that still ends inside the warning period keeps the warning already sent.
            still_warned = (
                authorization.status == AuthorizationStatus.LAPSING
                and valid_until is not None
                and valid_until <= now + timedelta(days=requirement.warning_days)
            )
            with transitions.transition(
                authorization,
                to=None
                if holding and (still_warned or authorization.status == AuthorizationStatus.ACTIVE)
                else AuthorizationStatus.ACTIVE,
                actor=user,
                action="deals.authorization_renewed" if holding else "deals.authorization_granted",
                snapshot=["status", "source", "valid_until"],
                partner_id=partner.pk,
                reason=reason,
            ) as change:
                change.set(source=source, valid_until=valid_until, granted_by=user, reason=reason)
                if not holding:
                    change.set(granted_at=now, ended_at=None, warned_at=None)
                elif not still_warned:
                    change.set(warned_at=None)
            if holding and actor is None:
                return authorization  # a renewal by rule: nothing the partner must act on
    authorization.partner = partner
    _notify_partner(
        authorization,
        "deals.authorization_granted",
        _("Authorized for %(line)s") % {"line": requirement.product_line},
        _("You can register deals on %(line)s until %(until)s.")
        % {"line": requirement.product_line, "until": _date(valid_until)},
    )
    return authorization


def authorization_revoke(
    *, actor: Actor, authorization: PartnerAuthorization, reason: str
) -> PartnerAuthorization:
    """Take an authorization back by hand; no rule grants it again until the vendor does."""
    authorization_policy.require(
        actor,
        "revoke",
        authorization,
        _("Only a program admin or the partner's channel account manager revokes authorizations."),
    )
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            _("Say why the authorization is revoked (the partner sees it)."), field="reason"
        )
    authorization = transitions.lock(
        authorization, related=("partner", "partner__channel_account_manager", "requirement")
    )
    with transitions.transition(
        authorization,
        to=AuthorizationStatus.REVOKED,
        actor=actor.user,
        action="deals.authorization_revoked",
        partner_id=authorization.partner_id,
        reason=reason,
    ) as change:
        change.set(ended_at=timezone.now(), reason=reason)
    _notify_partner(
        authorization,
        "deals.authorization_revoked",
        _("Authorization for %(line)s revoked") % {"line": authorization.requirement.product_line},
        reason,
    )
    return authorization


def authorization_warn(*, authorization: PartnerAuthorization, now: datetime | None = None) -> bool:
    """Tell the partner its authorization lapses soon (once: it becomes LAPSING). Idempotent."""
    now = now or timezone.now()
    authorization = transitions.lock(
        authorization, related=("partner", "partner__channel_account_manager", "requirement")
    )
    until = authorization.valid_until
    requirement = authorization.requirement
    if (
        authorization.status != AuthorizationStatus.ACTIVE
        or until is None
        or until <= now
        or until > now + timedelta(days=requirement.warning_days)
    ):
        return False
    with transitions.transition(
        authorization,
        to=AuthorizationStatus.LAPSING,
        actor=None,
        action="deals.authorization_lapsing",
        partner_id=authorization.partner_id,
    ) as change:
        change.set(warned_at=now)
    body = (
        _("Recertify your people in time to keep it: it needs %(needs)s.")
        % {"needs": _needs_text(requirement)}
        if authorization.source == AuthorizationSource.RULE
        else _("Ask your channel account manager to extend it.")
    )
    _notify_partner(
        authorization,
        "deals.authorization_lapsing",
        _("Your authorization for %(line)s lapses on %(when)s")
        % {"line": requirement.product_line, "when": _date(until)},
        body,
    )
    return True


def authorization_lapse(
    *, authorization: PartnerAuthorization, why: str, now: datetime | None = None
) -> bool:
    """End an authorization that no longer holds (its end passed, or the partner no longer meets
    the rule). Idempotent: one that already lapsed or was revoked is left alone."""
    now = now or timezone.now()
    authorization = transitions.lock(
        authorization, related=("partner", "partner__channel_account_manager", "requirement")
    )
    if authorization.status not in HOLDING_STATUSES:
        return False
    with transitions.transition(
        authorization,
        to=AuthorizationStatus.LAPSED,
        actor=None,
        action="deals.authorization_lapsed",
        partner_id=authorization.partner_id,
        reason=why,
    ) as change:
        change.set(ended_at=now)
    _notify_partner(
        authorization,
        "deals.authorization_lapsed",
        _("Your authorization for %(line)s has lapsed") % {"line": authorization.requirement.product_line},
        why,
    )
    return True


def _needs_text(requirement: AuthorizationRequirement) -> str:
    names = _certification_names([requirement.certification_id] if requirement.certification_id else [])
    return Standing(
        requirement=requirement,
        authorization=None,
        tier_name="",
        tier_met=True,
        certification_name=names.get(requirement.certification_id or 0, ""),
        certified=0,
        until=None,
    ).needs()


def requirement_saved(*, actor: Actor, requirement: AuthorizationRequirement, created: bool) -> None:
    """Audit a program admin's change to what a product line requires (the admin saves the row)."""
    audit.record(
        actor=actor.user,
        action="deals.authorization_requirement_created"
        if created
        else "deals.authorization_requirement_changed",
        target=requirement,
        after=audit.snapshot(
            requirement,
            ["product_line", "min_tier", "certification_id", "certified_people", "warning_days", "active"],
        ),
    )


# --- the nightly re-evaluation ------------------------------------------------------------------------
@dataclass
class Evaluation:
    granted: int = 0
    renewed: int = 0
    warned: int = 0
    lapsed: int = 0


def qualifying_partners(
    requirement: AuthorizationRequirement,
    *,
    ranks: dict[int, int],
    holders: dict[tuple[int, int], list[datetime | None]],
) -> dict[int, datetime | None]:
    """The partners that meet ``requirement``'s rule, each with when its qualifying certifications
    expire (None: they do not), from the set-based reads of :func:`evaluate`."""
    min_rank = requirement.min_tier.rank if requirement.min_tier_id is not None else None
    needed = requirement.certified_people
    if requirement.certification_id is None:
        return {pk: None for pk, rank in ranks.items() if min_rank is None or rank >= min_rank}
    qualifying = {}
    for (partner_id, certification_id), people in holders.items():
        if certification_id != requirement.certification_id or len(people) < needed:
            continue
        rank = ranks.get(partner_id)
        if rank is None or (min_rank is not None and rank < min_rank):
            continue
        qualifying[partner_id] = people[needed - 1]
    return qualifying


def evaluate(*, now: datetime | None = None) -> Evaluation:
    """Re-evaluate every rule for every active partner: grant, renew, warn, lapse. The reads are a
    few set-based queries whatever the number of partners (the rules, every partner's tier, every
    certified person's expiry, every authorization); each change is then a service call in a
    transaction of its own, in the system scope. Idempotent."""
    now = now or timezone.now()
    done = Evaluation()
    with system_scope():
        active = list(AuthorizationRequirement.objects.filter(active=True).select_related("min_tier"))
        ruled = [r for r in active if r.has_rule]
        ranks = dict(Partner.objects.filter(status=PartnerStatus.ACTIVE).values_list("pk", "tier__rank"))
        holders = _holders({r.certification_id for r in ruled if r.certification_id}, at=now)
        rows: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
        for row in PartnerAuthorization.objects.filter(requirement__in=[r.pk for r in ruled]).values(
            "pk", "partner_id", "requirement_id", "status", "source", "valid_until"
        ):
            rows[row["requirement_id"]][row["partner_id"]] = row
    for requirement in ruled:
        qualifying = qualifying_partners(requirement, ranks=ranks, holders=holders)
        existing = rows[requirement.pk]
        for partner_id, until in qualifying.items():
            row = existing.get(partner_id)
            holding = row is not None and row["status"] in HOLDING_STATUSES
            if row is not None and (
                row["status"] == AuthorizationStatus.REVOKED
                or (holding and (row["source"] == AuthorizationSource.MANUAL or row["valid_until"] == until))
            ):
                continue  # the vendor's decision stands, or nothing changed
            with system_scope():
                authorization_grant(
                    actor=None,
                    partner=Partner.objects.select_related("channel_account_manager").get(pk=partner_id),
                    requirement=requirement,
                    valid_until=until,
                    source=AuthorizationSource.RULE,
                    now=now,
                )
            if holding:
                done.renewed += 1
            else:
                done.granted += 1
        why = _("The partner no longer meets the rule: it needs %(needs)s.") % {
            "needs": _needs_text(requirement)
        }
        for partner_id, row in existing.items():
            if (
                partner_id not in qualifying
                and row["source"] == AuthorizationSource.RULE
                and row["status"] in HOLDING_STATUSES
            ):
                with system_scope():
                    done.lapsed += authorization_lapse(
                        authorization=PartnerAuthorization(pk=row["pk"]), why=why, now=now
                    )
    # Ends that passed, and ends close enough to warn of: grants by rule and by hand alike.
    horizon = now + timedelta(days=max((r.warning_days for r in active), default=0))
    with system_scope():
        due = list(
            PartnerAuthorization.objects.filter(
                status__in=HOLDING_STATUSES, valid_until__lte=horizon, requirement__active=True
            ).values_list("pk", "status", "source", "valid_until", "requirement__warning_days")
        )
    for pk, status, source, until, warning_days in due:
        with system_scope():
            if until <= now:
                why = (
                    _("The qualifying certifications expired.")
                    if source == AuthorizationSource.RULE
                    else _("The end the vendor set for it passed.")
                )
                done.lapsed += authorization_lapse(
                    authorization=PartnerAuthorization(pk=pk), why=why, now=now
                )
            elif status == AuthorizationStatus.ACTIVE and until <= now + timedelta(days=warning_days):
                done.warned += authorization_warn(authorization=PartnerAuthorization(pk=pk), now=now)
    return done
