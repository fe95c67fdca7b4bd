"""Writes of the tier program: the evaluation (monthly by Celery beat, on demand by a program
admin), and the decisions on the tier changes it proposes.

The evaluation reads every partner's figures in a few queries (``tiers.measure_figures``), decides
per partner in Python (``tiers.decide``, no query), then writes what changed in a few statements per
kind of change: grace periods started, recovered, ended or expired; downgrades and upgrades
proposed; upgrades applied; proposals withdrawn. Each change is audited (one event per row) and
notified (in-app, and e-mailed after the commit). Nothing is downgraded without a person's
approval: a grace period that ends short only *proposes* the downgrade.

Running it twice for the same day changes nothing the second time: the rows it would create exist
(one running grace period, one pending proposal per partner), and a decision a person took on the
day's figures is not started over (``tiers.decide``).
"""

from __future__ import annotations

import logging
import time as clock
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy

from partners.models import (
    Membership,
    Partner,
    PartnerRole,
    PartnerStatus,
    Tier,
    TierChangeProposal,
    TierDirection,
    TierGracePeriod,
    TierGraceStatus,
    TierProposalStatus,
)
from prm import audit, transitions
from prm.errors import ApplicationError
from prm.i18n import gettext as _
from prm.i18n import translated
from prm.models import User, reporting_rates
from prm.notifications import notify, notify_bulk
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from prm.tenancy import Actor, system_scope

from . import tiers
from .policies import can_run_tier_evaluation, tier_proposal_policy
from .tier_moves import move_tiers
from .tiers import Decision, PartnerState, Shortfall, shortfalls_text

logger = logging.getLogger(__name__)

# One evaluation at a time (pg_advisory_xact_lock): a second waits, then finds the first's rows.
_LOCK_KEY = (7_212_002, 1)


def grace_days() -> int:
    return int(settings.PRM.get("TIER_GRACE_DAYS", 90))


@dataclass
class TierRun:
    """What one evaluation did (the task returns it; the benchmark prints it)."""

    today: date
    as_of: date
    partners: int = 0
    upgraded: int = 0
    upgrades_proposed: int = 0
    grace_started: int = 0
    recovered: int = 0
    ended: int = 0
    downgrades_proposed: int = 0
    withdrawn: int = 0
    unconvertible: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "partners": self.partners,
            "upgraded": self.upgraded,
            "upgrades_proposed": self.upgrades_proposed,
            "grace_started": self.grace_started,
            "recovered": self.recovered,
            "ended": self.ended,
            "downgrades_proposed": self.downgrades_proposed,
            "withdrawn": self.withdrawn,
        }


# What vendor staff read when one run changes several of their partners the same way.
SUMMARY_TITLES = {
    "tier.grace_started": gettext_lazy("%(n)d of your partners are below their tier's requirements"),
    "tier.grace_recovered": gettext_lazy("%(n)d of your partners meet their tier's requirements again"),
    "tier.downgrade_proposed": gettext_lazy("Decide: %(n)d downgrades proposed after their grace period"),
    "tier.upgrade_proposed": gettext_lazy("Decide: %(n)d upgrades proposed"),
    "tier.upgraded": gettext_lazy("%(n)d of your partners moved up a tier"),
    "tier.proposal_withdrawn": gettext_lazy("%(n)d tier change proposals were withdrawn"),
    "": gettext_lazy("%(n)d tier changes for your partners"),
}


@dataclass
class _Partner:
    pk: int
    name: str
    tier: Tier
    manager_id: int | None

    @property
    def row(self) -> Partner:
        """An unsaved stand-in for the foreign keys of the rows the run creates, so their text (the
        audit trail's) needs no query per row."""
        return Partner(pk=self.pk, legal_name=self.name, tier=self.tier)


def tiers_evaluate(
    *, today: date | None = None, actor: Actor | None = None, grace_ends_only: bool = False
) -> TierRun:
    """Evaluate every active partner's tier on the figures as of the end of yesterday.

    ``actor``: the program admin who asked (None: the monthly beat). ``grace_ends_only``: only the
    partners whose grace period is over (the nightly run, so a downgrade is proposed on the day the
    grace period ends rather than at the next monthly evaluation). The caller opens the database
    scope: the task, the system scope."""
    if actor is not None and not can_run_tier_evaluation(actor):
        raise PermissionDenied(_("Only program admins run the tier evaluation."))
    today = today or timezone.localdate()
    run = TierRun(today=today, as_of=today - timedelta(days=1))
    user = actor.user if actor is not None else None
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(_LOCK_KEY))
        started = clock.perf_counter()
        tier_list = list(Tier.objects.order_by("rank"))
        if not tier_list:
            return run
        rates = reporting_rates()
        reqs: dict[int, list[tiers.Requirement] | None] = {}
        for tier in tier_list:
            found, unconvertible = tiers.requirements(tier, rates)
            # A revenue requirement in a currency without a rate cannot be compared: nobody moves
            # into or out of that tier until the rate is kept (the run reports the currency).
            reqs[tier.pk] = None if unconvertible else found
            run.unconvertible.extend(unconvertible)
        if run.unconvertible:
            logger.warning("tier evaluation: no exchange rate for %s", ", ".join(run.unconvertible))
        graces = {
            grace.partner_id: grace
            for grace in transitions.mark_locked(
                TierGracePeriod.objects.select_for_update(of=("self",))
                .select_related("tier", "partner")
                .filter(status=TierGraceStatus.RUNNING)
            )
        }
        pending = {
            proposal.partner_id: proposal
            for proposal in transitions.mark_locked(
                TierChangeProposal.objects.select_for_update(of=("self",))
                .select_related("partner", "from_tier", "to_tier")
                .filter(status=TierProposalStatus.PENDING)
            )
        }
        decided = dict(
            TierChangeProposal.objects.filter(
                status__in=[TierProposalStatus.APPROVED, TierProposalStatus.WAIVED]
            )
            .order_by()
            .values("partner_id")
            .annotate(last=Max("as_of"))
            .values_list("partner_id", "last")
        )
        partners = Partner.objects.filter(status=PartnerStatus.ACTIVE).order_by("pk")
        only = None
        if grace_ends_only:
            only = [pk for pk, grace in graces.items() if grace.ends_on <= today]
            partners = partners.filter(pk__in=only)
        by_tier = {tier.pk: tier for tier in tier_list}
        rows = [
            _Partner(pk, name, by_tier[tier_id], manager_id)
            for pk, name, tier_id, manager_id in partners.values_list(
                "pk", "legal_name", "tier_id", "channel_account_manager_id"
            )
        ]
        run.partners = len(rows)
        run.seconds["load"] = clock.perf_counter() - started
        if not rows:
            return run

        started = clock.perf_counter()
        figures = tiers.measure_figures(
            as_of=run.as_of,
            rates=rates,
            partner_ids=only,
            with_score=any(tier.min_score is not None for tier in tier_list),
        )
        run.seconds["measure"] = clock.perf_counter() - started

        started = clock.perf_counter()
        decisions: list[tuple[Decision, _Partner, dict[str, Any]]] = []
        for partner in rows:
            values = tiers.with_zeros(figures.get(partner.pk))
            state = PartnerState(
                partner_id=partner.pk,
                tier=partner.tier,
                grace=graces.get(partner.pk),
                pending=pending.get(partner.pk),
                last_decided_as_of=decided.get(partner.pk),
            )
            decision = tiers.decide(
                state, tiers=tier_list, reqs=reqs, figures=values, as_of=run.as_of, today=today
            )
            if decision.changes:
                decisions.append((decision, partner, values))
        run.seconds["decide"] = clock.perf_counter() - started

        started = clock.perf_counter()
        _Writer(run=run, user=user, graces=graces, pending=pending).write(decisions)
        run.seconds["write"] = clock.perf_counter() - started
    return run


class _Writer:
    """The evaluation's writes, a few statements per kind of change, and who is told."""

    def __init__(
        self,
        *,
        run: TierRun,
        user: User | None,
        graces: dict[int, TierGracePeriod],
        pending: dict[int, TierChangeProposal],
    ) -> None:
        self.run, self.user, self.graces, self.pending = run, user, graces, pending
        self.notices: list[dict[str, Any]] = []
        self.partner_notices: list[tuple[int, dict[str, Any]]] = []
        self.vendor_notices: list[tuple[_Partner, bool, dict[str, Any]]] = []

    # --- who is told ---------------------------------------------------------------------------------
    def tell_partner(self, partner: _Partner, kind: str, title: str, body: str = "") -> None:
        """The partner's admins (in-app and e-mail)."""
        self.partner_notices.append(
            (
                partner.pk,
                {
                    "kind": kind,
                    "title": title,
                    "body": body,
                    "url": reverse("home") + "#tier-progress",
                    "partner_id": partner.pk,
                },
            )
        )

    def tell_vendor(
        self, partner: _Partner, kind: str, title: str, body: str = "", decide: bool = False
    ) -> None:
        """The partner's channel account manager; for a decision with no manager, the program
        admins."""
        self.vendor_notices.append(
            (
                partner,
                decide,
                {"kind": kind, "title": title, "body": body, "url": reverse("vendor:tier_review_list")},
            )
        )

    def send(self) -> None:
        admins: dict[int, list[User]] = defaultdict(list)
        if self.partner_notices:
            ids = {pk for pk, _notice in self.partner_notices}
            for membership in Membership.objects.filter(
                partner_id__in=ids, role=PartnerRole.ADMIN, is_active=True, user__is_active=True
            ).select_related("user"):
                admins[membership.partner_id].append(membership.user)
        managers: dict[int, User] = {}
        program_admins: list[User] = []
        if self.vendor_notices:
            manager_ids = {
                partner.manager_id for partner, _d, _n in self.vendor_notices if partner.manager_id
            }
            managers = {user.pk: user for user in User.objects.filter(pk__in=manager_ids, is_active=True)}
            if any(
                decide and partner.manager_id not in managers for partner, decide, _n in self.vendor_notices
            ):
                program_admins = list(
                    User.objects.filter(vendor_role=VendorRole.PROGRAM_ADMIN, is_active=True)
                )
        notices = []
        for partner_id, notice in self.partner_notices:
            notices.extend({**notice, "recipient": user} for user in admins.get(partner_id, []))
        # Vendor staff get one notification per kind of change, however many of their partners it
        # concerns (a first evaluation can put hundreds of a portfolio in a grace period at once).
        grouped: dict[tuple[int, str], list[tuple[_Partner, dict[str, Any]]]] = defaultdict(list)
        recipients_by_id: dict[int, User] = {}
        for partner, decide, notice in self.vendor_notices:
            manager = managers.get(partner.manager_id) if partner.manager_id else None
            for user in [manager] if manager is not None else (program_admins if decide else []):
                recipients_by_id[user.pk] = user
                grouped[(user.pk, notice["kind"])].append((partner, notice))
        for (user_id, kind), items in grouped.items():
            if len(items) == 1:
                notices.append({**items[0][1], "recipient": recipients_by_id[user_id]})
                continue
            names = [partner.name for partner, _notice in items]
            shown = ", ".join(names[:10]) + (
                _(" and %(n)d more") % {"n": len(names) - 10} if len(names) > 10 else ""
            )
            notices.append(
                {
                    "recipient": recipients_by_id[user_id],
                    "kind": kind,
                    "title": translated(SUMMARY_TITLES.get(kind, SUMMARY_TITLES[""])) % {"n": len(items)},
                    "body": shown,
                    "url": items[0][1]["url"],
                }
            )
        if notices:
            notify_bulk(notices)

    # --- the changes ------------------------------------------------------------------------------------
    def write(self, decisions: list[tuple[Decision, _Partner, dict[str, Any]]]) -> None:
        run, today = self.run, self.run.today
        closing = {"recovered": [], "ended": []}
        withdrawing: list[tuple[TierChangeProposal, str, _Partner]] = []
        upgrades: list[tuple[_Partner, Tier, dict[str, Any]]] = []
        proposals: list[tuple[TierChangeProposal, _Partner]] = []
        new_graces: list[tuple[TierGracePeriod, _Partner]] = []
        expiring: list[tuple[TierGracePeriod, _Partner, list[Shortfall]]] = []
        for decision, partner, values in decisions:
            figures = {key: None if value is None else str(value) for key, value in values.items()}
            if decision.end_grace:
                closing[decision.end_grace].append((self.graces[partner.pk], partner))
            if decision.withdraw:
                withdrawing.append((self.pending[partner.pk], decision.withdraw, partner))
            if decision.upgrade_to is not None:
                if decision.propose_upgrade:
                    proposals.append(
                        (
                            TierChangeProposal(
                                partner=partner.row,
                                direction=TierDirection.UP,
                                from_tier=partner.tier,
                                to_tier=decision.upgrade_to,
                                as_of=run.as_of,
                                figures=figures,
                            ),
                            partner,
                        )
                    )
                else:
                    upgrades.append((partner, decision.upgrade_to, figures))
            if decision.start_grace:
                new_graces.append(
                    (
                        TierGracePeriod(
                            partner=partner.row,
                            tier=partner.tier,
                            started_on=today,
                            ends_on=today + timedelta(days=grace_days()),
                            as_of=run.as_of,
                            figures=figures,
                            shortfalls=[shortfall.as_json() for shortfall in decision.start_grace],
                        ),
                        partner,
                    )
                )
            if decision.expire_grace:
                grace = self.graces[partner.pk]
                expiring.append((grace, partner, decision.expire_grace))
                proposals.append(
                    (
                        TierChangeProposal(
                            partner=partner.row,
                            direction=TierDirection.DOWN,
                            from_tier=partner.tier,
                            to_tier=decision.downgrade_to,
                            grace_period=grace,
                            as_of=run.as_of,
                            figures=figures,
                            shortfalls=[shortfall.as_json() for shortfall in decision.expire_grace],
                        ),
                        partner,
                    )
                )

        self._close_graces(closing)
        self._withdraw(withdrawing)
        self._expire(expiring)
        self._upgrade(upgrades)
        self._start_graces(new_graces)
        self._propose(proposals)
        self.send()

    def _close_graces(self, closing: dict[str, list[tuple[TierGracePeriod, _Partner]]]) -> None:
        today = self.run.today
        for outcome, rows in closing.items():
            if not rows:
                continue
            status = TierGraceStatus.RECOVERED if outcome == "recovered" else TierGraceStatus.ENDED
            transitions.transition_many(
                [grace for grace, _partner in rows],
                actor=self.user,
                action=f"tier.grace_{outcome}",
                to=status,
                values={"closed_on": today},
            )
            for grace, partner in rows:
                if outcome == "recovered":
                    self.run.recovered += 1
                    title = _("You meet the %(tier)s requirements again") % {"tier": grace.tier.name}
                    body = _("Your grace period is over: %(tier)s stays your tier.") % {
                        "tier": grace.tier.name
                    }
                    self.tell_partner(partner, "tier.grace_recovered", title, body)
                    self.tell_vendor(
                        partner,
                        "tier.grace_recovered",
                        _("%(partner)s meets the %(tier)s requirements again")
                        % {"partner": partner.name, "tier": grace.tier.name},
                    )
                else:
                    self.run.ended += 1
                    self.tell_partner(
                        partner,
                        "tier.grace_ended",
                        _("Your grace period for %(tier)s is closed") % {"tier": grace.tier.name},
                        _(
                            "Your tier changed since it started; your current tier's requirements "
                            "are the ones that count."
                        ),
                    )

    def _withdraw(self, rows: list[tuple[TierChangeProposal, str, _Partner]]) -> None:
        if not rows:
            return
        reasons = {proposal.pk: reason for proposal, reason, _partner in rows}
        transitions.transition_many(
            [proposal for proposal, _reason, _partner in rows],
            actor=self.user,
            action="tier.proposal_withdrawn",
            to=TierProposalStatus.WITHDRAWN,
            values={"decided_at": timezone.now()},
            reason=lambda proposal: reasons[proposal.pk],
        )
        for proposal, reason, partner in rows:
            self.run.withdrawn += 1
            title = _("The proposed move of %(partner)s to %(tier)s is withdrawn") % {
                "partner": partner.name,
                "tier": proposal.to_tier.name,
            }
            self.tell_vendor(partner, "tier.proposal_withdrawn", title, reason)
            if proposal.direction == TierDirection.DOWN:
                self.tell_partner(
                    partner,
                    "tier.proposal_withdrawn",
                    _("You keep %(tier)s") % {"tier": partner.tier.name},
                    _("You meet its requirements again; the proposed move to %(tier)s is withdrawn.")
                    % {"tier": proposal.to_tier.name},
                )

    def _expire(self, rows: list[tuple[TierGracePeriod, _Partner, list[Shortfall]]]) -> None:
        """Grace periods over with the partner still short; the downgrade proposals are made by
        ``_propose`` (the partner is told there, once)."""
        if not rows:
            return
        still_missing = {grace.pk: [item.as_json() for item in missing] for grace, _partner, missing in rows}
        transitions.transition_many(
            [grace for grace, _partner, _missing in rows],
            actor=self.user,
            action="tier.grace_expired",
            to=TierGraceStatus.EXPIRED,
            values={"closed_on": self.run.today},
            extra=lambda grace: {"still_missing": still_missing[grace.pk]},
        )

    def _upgrade(self, rows: list[tuple[_Partner, Tier, dict[str, Any]]]) -> None:
        if not rows:
            return
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for partner, tier, _figures in rows:
            groups[(partner.tier.pk, tier.pk)].append(partner.pk)
        started = clock.perf_counter()
        moved = move_tiers(groups)
        # The partners' UPDATE alone (deals' pipeline roll-up moves each partner's figures with
        # it, in a row trigger): the benchmark reports it apart.
        self.run.seconds["tier_update"] = clock.perf_counter() - started
        events = []
        for partner, tier, figures in rows:
            if partner.pk not in moved:
                continue
            self.run.upgraded += 1
            target = partner.row
            events.append(
                {
                    "actor": self.user,
                    "action": "partner.tier_upgraded",
                    "target": target,
                    "before": {"tier": partner.tier.name},
                    "after": {"tier": tier.name, "figures": figures},
                    "partner_id": partner.pk,
                    "reason": _("Tier evaluation of %(day)s") % {"day": self.run.today.isoformat()},
                }
            )
            title = _("Welcome to %(tier)s") % {"tier": tier.name}
            body = _(
                "Your figures as of %(day)s meet the %(tier)s requirements: your benefits are upgraded."
            ) % {
                "day": date_format(self.run.as_of),
                "tier": tier.name,
            }
            self.tell_partner(partner, "tier.upgraded", title, body)
            self.tell_vendor(
                partner,
                "tier.upgraded",
                _("%(partner)s moved up to %(tier)s") % {"partner": partner.name, "tier": tier.name},
            )
        audit.record_many(events)

    def _start_graces(self, rows: list[tuple[TierGracePeriod, _Partner]]) -> None:
        if not rows:
            return
        created = TierGracePeriod.objects.bulk_create([grace for grace, _partner in rows], batch_size=2000)
        events = []
        for grace, (_row, partner) in zip(created, rows, strict=True):
            self.run.grace_started += 1
            missing = [Shortfall.from_json(item) for item in grace.shortfalls]
            events.append(
                {
                    "actor": self.user,
                    "action": "tier.grace_started",
                    "target": grace,
                    "after": {
                        "status": grace.status,
                        "tier": partner.tier.name,
                        "ends_on": grace.ends_on,
                        "shortfalls": grace.shortfalls,
                    },
                    "partner_id": partner.pk,
                }
            )
            title = _("Keep %(tier)s: meet its requirements by %(day)s") % {
                "tier": partner.tier.name,
                "day": date_format(grace.ends_on),
            }
            body = _(
                "Your figures as of %(as_of)s are below what %(tier)s requires. You keep the tier and "
                "its benefits during a grace period until %(day)s; what is missing:\n%(missing)s"
            ) % {
                "as_of": date_format(grace.as_of),
                "tier": partner.tier.name,
                "day": date_format(grace.ends_on),
                "missing": shortfalls_text(missing),
            }
            self.tell_partner(partner, "tier.grace_started", title, body)
            self.tell_vendor(
                partner,
                "tier.grace_started",
                _("%(partner)s is below the %(tier)s requirements until %(day)s")
                % {"partner": partner.name, "tier": partner.tier.name, "day": date_format(grace.ends_on)},
                shortfalls_text(missing),
            )
        audit.record_many(events)

    def _propose(self, rows: list[tuple[TierChangeProposal, _Partner]]) -> None:
        if not rows:
            return
        created = TierChangeProposal.objects.bulk_create(
            [proposal for proposal, _partner in rows], batch_size=2000
        )
        events = []
        for proposal, (_row, partner) in zip(created, rows, strict=True):
            down = proposal.direction == TierDirection.DOWN
            if down:
                self.run.downgrades_proposed += 1
            else:
                self.run.upgrades_proposed += 1
            events.append(
                {
                    "actor": self.user,
                    "action": "tier.downgrade_proposed" if down else "tier.upgrade_proposed",
                    "target": proposal,
                    "after": {
                        "status": proposal.status,
                        "from_tier": proposal.from_tier.name,
                        "to_tier": proposal.to_tier.name,
                        "shortfalls": proposal.shortfalls,
                    },
                    "partner_id": partner.pk,
                }
            )
            names = {"partner": partner.name, "from": proposal.from_tier.name, "to": proposal.to_tier.name}
            if down:
                missing = shortfalls_text(Shortfall.from_json(item) for item in proposal.shortfalls)
                self.tell_partner(
                    partner,
                    "tier.downgrade_proposed",
                    _("Your grace period for %(from)s is over: a move to %(to)s is proposed") % names,
                    _(
                        "Your figures are still below the %(from)s requirements. Your channel account "
                        "manager decides whether you move to %(to)s or keep %(from)s; what is missing:\n"
                    )
                    % names
                    + missing,
                )
                self.tell_vendor(
                    partner,
                    "tier.downgrade_proposed",
                    _("Decide: move %(partner)s from %(from)s down to %(to)s?") % names,
                    missing,
                    decide=True,
                )
            else:
                self.tell_partner(
                    partner,
                    "tier.upgrade_proposed",
                    _("You qualify for %(to)s") % names,
                    _(
                        "Your figures meet the %(to)s requirements; "
                        "the move is with your channel account manager."
                    )
                    % names,
                )
                self.tell_vendor(
                    partner,
                    "tier.upgrade_proposed",
                    _("Decide: move %(partner)s up from %(from)s to %(to)s?") % names,
                    decide=True,
                )
        audit.record_many(events)


def stage(
    decisions: list[tuple[Decision, Partner, dict[str, Any]]], *, today: date, user: User | None = None
) -> TierRun:
    """Write ``decisions`` (each with the partner and its figures) as the evaluation would: the
    demo data stages a grace period and a proposal this way. The caller opens the scope."""
    run = TierRun(today=today, as_of=today)
    rows = [
        (
            decision,
            _Partner(partner.pk, partner.legal_name, partner.tier, partner.channel_account_manager_id),
            values,
        )
        for decision, partner, values in decisions
    ]
    _Writer(run=run, user=user, graces={}, pending={}).write(rows)
    return run


# --- a person's decision on a proposal -----------------------------------------------------------------
def _decide(actor: Actor, proposal: TierChangeProposal) -> tuple[TierChangeProposal, Partner]:
    tier_proposal_policy.require(
        actor,
        "decide",
        proposal,
        _("Only the partner's channel account manager or a program admin decides tier changes."),
    )
    proposal = transitions.lock(proposal, related=("partner", "from_tier", "to_tier"))
    if proposal.status != TierProposalStatus.PENDING:
        raise ApplicationError(
            _("This proposal was already %(status)s.") % {"status": proposal.get_status_display().lower()}
        )
    partner = transitions.lock(proposal.partner, related=("tier",))
    return proposal, partner


def _tell_decision(
    proposal: TierChangeProposal, partner: Partner, actor: Actor, title: str, body: str
) -> None:
    writer = _Writer(
        run=TierRun(today=timezone.localdate(), as_of=proposal.as_of), user=actor.user, graces={}, pending={}
    )
    row = _Partner(partner.pk, partner.legal_name, partner.tier, partner.channel_account_manager_id)
    writer.tell_partner(row, f"tier.proposal_{proposal.status}", title, body)
    if partner.channel_account_manager_id and partner.channel_account_manager_id != actor.user.pk:
        writer.tell_vendor(
            row,
            f"tier.proposal_{proposal.status}",
            _("%(who)s decided on %(partner)s's tier: %(status)s")
            % {
                "who": actor.user.full_name or actor.user.email,
                "partner": partner.legal_name,
                "status": proposal.get_status_display().lower(),
            },
            body,
        )
    writer.send()


def tier_proposal_approve(
    *, actor: Actor, proposal: TierChangeProposal, note: str = ""
) -> TierChangeProposal:
    """Move the partner to the proposed tier."""
    note = (note or "").strip()
    with transaction.atomic():
        proposal, partner = _decide(actor, proposal)
        if partner.tier_id != proposal.from_tier_id:
            raise ApplicationError(
                _("%(partner)s is no longer on %(tier)s; this proposal does not apply any more.")
                % {"partner": partner.legal_name, "tier": proposal.from_tier.name}
            )
        with transitions.transition(
            proposal,
            actor=actor.user,
            to=TierProposalStatus.APPROVED,
            action="tier.proposal_approved",
            partner_id=partner.pk,
            reason=note,
        ) as change:
            change.set(decided_by=actor.user, decided_at=timezone.now(), decision_note=note)
        down = proposal.direction == TierDirection.DOWN
        with transitions.transition(
            partner,
            actor=actor.user,
            action="partner.tier_downgraded" if down else "partner.tier_upgraded",
            snapshot=("tier",),
            partner_id=partner.pk,
            reason=note or str(proposal),
        ) as change:
            change.set(tier=proposal.to_tier)
        names = {"from": proposal.from_tier.name, "to": proposal.to_tier.name}
        if down:
            title = _("Your tier is now %(to)s") % names
            body = _("Your figures stayed below the %(from)s requirements after the grace period.") % names
        else:
            title = _("Welcome to %(to)s") % names
            body = _("Your move up from %(from)s was approved.") % names
        _tell_decision(proposal, partner, actor, title, f"{body}\n{note}".strip())
    return proposal


def tier_proposal_waive(*, actor: Actor, proposal: TierChangeProposal, note: str) -> TierChangeProposal:
    """Keep the partner's tier: a downgrade waived (the next evaluation starts a new grace period if
    the partner is still short), or an upgrade declined (proposed again on the next figures)."""
    note = (note or "").strip()
    with transaction.atomic():
        proposal, partner = _decide(actor, proposal)
        if not note:
            raise ApplicationError(_("Say why the tier is kept; the partner's admins read it."), field="note")
        with transitions.transition(
            proposal,
            actor=actor.user,
            to=TierProposalStatus.WAIVED,
            action="tier.proposal_waived",
            partner_id=partner.pk,
            reason=note,
        ) as change:
            change.set(decided_by=actor.user, decided_at=timezone.now(), decision_note=note)
        names = {"from": proposal.from_tier.name, "to": proposal.to_tier.name}
        if proposal.direction == TierDirection.DOWN:
            title = _("You keep %(from)s") % names
        else:
            title = _("Your move to %(to)s is not approved for now") % names
        _tell_decision(proposal, partner, actor, title, note)
    return proposal


def tier_evaluation_request(*, actor: Actor) -> None:
    """A program admin asks for the evaluation now: it runs in a Celery worker once this commits
    (it reads every partner's figures, too long for a page), as the admin, who is told the outcome."""
    if not can_run_tier_evaluation(actor):
        raise PermissionDenied(_("Only program admins run the tier evaluation."))
    user_id = actor.user.pk
    transaction.on_commit(lambda: evaluate_tiers.delay(requested_by=user_id))


@shared_task(
    name="partners.tasks.evaluate_tiers",
    acks_late=True,
    autoretry_for=(OSError,),
    max_retries=3,
    retry_backoff=True,
)
def evaluate_tiers(
    today: str | None = None, requested_by: int | None = None, grace_ends_only: bool = False
) -> dict[str, Any]:
    """Evaluate every partner's tier (monthly by beat; ``requested_by``: the program admin who
    asked, who is told the outcome), or only the partners whose grace period is over
    (``grace_ends_only``, nightly). Idempotent: a second run of the same day changes nothing."""
    from partners.middleware import resolve_actor

    day = date.fromisoformat(today) if today else timezone.localdate()
    with system_scope():
        user = User.objects.filter(pk=requested_by, is_active=True).first() if requested_by else None
        if requested_by and user is None:
            return {}  # the person who asked is gone: nobody to run it as
        actor = resolve_actor(user) if user is not None else None
        run = tiers_evaluate(today=day, actor=actor, grace_ends_only=grace_ends_only)
        if user is not None:
            counts = run.counts()
            notify(
                recipient=user,
                kind="tier.evaluation_done",
                title=_("Tier evaluation done: %(partners)d partners evaluated") % counts,
                body=_(
                    "%(upgraded)d upgraded, %(upgrades_proposed)d upgrades and %(downgrades_proposed)d "
                    "downgrades proposed, %(grace_started)d grace periods started, %(recovered)d partners "
                    "recovered, %(withdrawn)d proposals withdrawn."
                )
                % counts,
                url=reverse("vendor:tier_review_list"),
                email=False,
            )
    return {**run.counts(), "seconds": {step: round(value, 2) for step, value in run.seconds.items()}}
