"""Demo data for scorecards (``manage.py seed_demo`` runs it last: the KPIs read every other app's
demo data): two templates, the channel account managers' ratings for this quarter and the last,
today's scorecards computed for real, and eleven past month-ends so the trend charts show a year.

Demo only: the demo's deals, courses and downloads were all made today, so month-ends computed
from them would be empty. The past month-ends are therefore derived from today's values (a steady
climb to today's, deterministic) and scored by the same scoring code; they are frozen like real
month-ends, so the nightly run never rewrites them. Idempotent: templates by name, ratings by
partner and quarter, past month-ends by partner and day; today's snapshots are recomputed (which
replaces them).
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from partners.models import (
    Partner,
    PartnerType,
    ScorecardLine,
    ScorecardSnapshot,
    ScorecardTemplate,
)
from prm.models import User
from prm.roles import VendorRole
from prm.tenancy import Actor, Side

from . import scoring, services
from .kpis import enabled_kpis, month_end_before, quarter_start

TEMPLATES = [
    {
        "name": "Standard scorecard",
        "description": "Every partner not scored by a more specific template.",
        "partner_type": "",
        "lines": [
            ("won_revenue", 30, 250000),
            ("deals_registered", 10, 12),
            ("win_rate", 15, 40),
            ("certified_people", 15, 3),
            ("lead_acceptance_rate", 10, 80),
            ("content_downloads", 5, 10),
            ("cam_rating", 15, 4),
        ],
    },
    {
        "name": "Distributor scorecard",
        "description": "Distributors are measured on volume and enablement.",
        "partner_type": PartnerType.DISTRIBUTOR,
        "lines": [
            ("won_revenue", 40, 1000000),
            ("deals_registered", 20, 30),
            ("certified_people", 20, 6),
            ("mdf_roi", 10, 5),
            ("cam_rating", 10, 4),
        ],
    },
]

# (partner, rating this quarter, last quarter's, why)
RATINGS = [
    (
        "Acme Networks Inc.",
        4,
        3,
        "Joint account planning is working; certifications lag behind the pipeline.",
    ),
    ("Globex Systems GmbH", 3, 3, "Responsive on leads, few registrations of their own yet."),
    ("Initech Solutions Pte. Ltd.", 2, 2, "Still onboarding: agreement not accepted, no sales activity."),
    ("Umbrella Distribution Ltd", 2, 4, "Suspended over the partner fee; relationship on hold."),
]
# Each past month-end's share of today's values, oldest first: a year of uneven growth (a dip in
# the middle, as real programmes have) rather than a straight line, so the 12-month charts read.
HISTORY = tuple(
    Decimal(share)
    for share in ("0.30", "0.36", "0.45", "0.41", "0.50", "0.58", "0.54", "0.66", "0.75", "0.84", "0.93")
)


def seed(*, stdout: Any = None) -> None:
    today = timezone.localdate()
    _templates()
    _ratings(today)
    run = services.snapshots_compute(as_of=today, today=today)
    history = _history(today)
    if stdout is not None:
        stdout.write(f"Scorecards demo: {run.written} scorecards today, {history} past month-ends.\n")
    seed_tiers(stdout=stdout)


def _templates() -> None:
    for spec in TEMPLATES:
        template, created = ScorecardTemplate.objects.get_or_create(
            name=spec["name"],
            defaults={"description": spec["description"], "partner_type": spec["partner_type"]},
        )
        if created:
            ScorecardLine.objects.bulk_create(
                ScorecardLine(
                    template=template, kpi=kpi, weight=Decimal(weight), target=Decimal(target), position=n
                )
                for n, (kpi, weight, target) in enumerate(spec["lines"])
            )


def _ratings(today: Any) -> None:
    this_quarter = quarter_start(today)
    last_quarter = quarter_start(this_quarter - timedelta(days=1))
    for name, now, before, why in RATINGS:
        partner = Partner.objects.filter(legal_name=name).select_related("channel_account_manager").first()
        manager = partner.channel_account_manager if partner else None
        if manager is None:
            continue
        # Recorded as a request would resolve the manager (the portfolio is read by the policy).
        actor = Actor(user=manager, side=Side.VENDOR, vendor_role=VendorRole.CHANNEL_ACCOUNT_MANAGER)
        if manager.vendor_role != VendorRole.CHANNEL_ACCOUNT_MANAGER:
            admin = User.objects.filter(vendor_role=VendorRole.PROGRAM_ADMIN).order_by("pk").first()
            actor = Actor(user=admin, side=Side.VENDOR, vendor_role=VendorRole.PROGRAM_ADMIN)
        for quarter, rating in ((last_quarter, before), (this_quarter, now)):
            if not partner.assessments.filter(period_start=quarter).exists():
                services.assessment_record(
                    actor=actor, partner=partner, period_start=quarter, rating=rating, comment=why
                )


def _history(today: Any) -> int:
    """Eleven past month-ends for every partner scored today, climbing to today's values."""
    kpis = enabled_kpis()
    templates = services.templates_for_scoring(kpis)
    month_ends = []
    day = today
    for _step in HISTORY:
        day = month_end_before(day)
        month_ends.append(day)
    month_ends.reverse()  # oldest first, as HISTORY
    latest = ScorecardSnapshot.objects.filter(as_of=today)
    existing = set(ScorecardSnapshot.objects.filter(as_of__in=month_ends).values_list("partner_id", "as_of"))
    rows = []
    for snapshot in latest:
        for as_of, share in zip(month_ends, HISTORY, strict=True):
            if (snapshot.partner_id, as_of) in existing:
                continue
            values = {
                key: _earlier(kpis[key], value, share)
                for key, value in snapshot.values.items()
                if key in kpis
            }
            template, specs = templates.get(snapshot.template_id, (None, []))
            total, lines = scoring.score(specs, values)
            rows.append(
                ScorecardSnapshot(
                    partner_id=snapshot.partner_id,
                    as_of=as_of,
                    template=template,
                    template_name=template.name if template else "",
                    total_score=total,
                    values=json.loads(json.dumps(values, cls=DjangoJSONEncoder)),
                    lines=json.loads(json.dumps(lines, cls=DjangoJSONEncoder)),
                    month_end=True,
                    frozen=True,
                    computed_at=timezone.now(),
                )
            )
    ScorecardSnapshot.objects.bulk_create(rows)
    return len(rows)


def _earlier(kpi: Any, value: Any, share: Decimal) -> Decimal | None:
    """A value a few months back: a share of today's, or (lower is better) that much worse. A
    rating does not build up, it stays."""
    if value is None:
        return None
    value = Decimal(value)
    if kpi.unit == "rating":
        return value
    if kpi.lower_is_better:
        return kpi.quantize(value * (2 - share))
    return kpi.quantize(value * share)


# --- tier evaluation ----------------------------------------------------------------------------------
# Moving into the top tiers needs a person's approval in the demo program (Tier.upgrade_needs_approval).
APPROVAL_TIERS = ("Gold", "Platinum")
GRACE_PARTNER = "Acme Networks Inc."  # below its tier (Gold): in a grace period
UPGRADE_PARTNER = ("Globex Systems GmbH", "Gold")  # an upgrade proposal waiting for its manager


def seed_tiers(*, stdout: Any = None) -> None:
    """One partner in a grace period and one upgrade proposal waiting, made through the evaluation's
    own writer (audited, the partner admins and managers notified), on today's figures. Demo only:
    the demo's figures are a few deals made today, so the upgrade is staged rather than earned (the
    next real evaluation withdraws it, saying why). Idempotent: nothing is added for a partner that
    already has a running grace period or a pending proposal."""
    from partners.models import Tier, TierChangeProposal, TierGracePeriod, TierGraceStatus, TierProposalStatus
    from prm.models import reporting_rates

    from . import tier_services, tiers

    for tier in Tier.objects.filter(name__in=APPROVAL_TIERS, upgrade_needs_approval=False):
        tier.upgrade_needs_approval = True
        tier.save(update_fields=["upgrade_needs_approval"])
    today = timezone.localdate()
    decisions = []
    rates = reporting_rates()
    grace_partner = Partner.objects.select_related("tier").filter(legal_name=GRACE_PARTNER).first()
    if (
        grace_partner
        and not TierGracePeriod.objects.filter(partner=grace_partner, status=TierGraceStatus.RUNNING).exists()
    ):
        figures = tiers.with_zeros(
            tiers.measure_figures(as_of=today, rates=rates, partner_ids=[grace_partner.pk]).get(
                grace_partner.pk
            )
        )
        reqs, _unconvertible = tiers.requirements(grace_partner.tier, rates)
        missing = tiers.shortfalls(reqs, figures)
        if missing:
            decisions.append(
                (
                    tiers.Decision(partner_id=grace_partner.pk, start_grace=missing),
                    grace_partner,
                    figures,
                )
            )
    name, to_name = UPGRADE_PARTNER
    upgrade_partner = Partner.objects.select_related("tier").filter(legal_name=name).first()
    to_tier = Tier.objects.filter(name=to_name).first()
    if (
        upgrade_partner
        and to_tier
        and to_tier.rank > upgrade_partner.tier.rank
        and not TierChangeProposal.objects.filter(
            partner=upgrade_partner, status=TierProposalStatus.PENDING
        ).exists()
    ):
        figures = tiers.with_zeros(
            tiers.measure_figures(as_of=today, rates=rates, partner_ids=[upgrade_partner.pk]).get(
                upgrade_partner.pk
            )
        )
        decisions.append(
            (
                tiers.Decision(partner_id=upgrade_partner.pk, upgrade_to=to_tier, propose_upgrade=True),
                upgrade_partner,
                figures,
            )
        )
    run = tier_services.stage(decisions, today=today)
    if stdout is not None:
        stdout.write(
            f"Tiers demo: {run.grace_started} grace period started, "
            f"{run.upgrades_proposed} upgrade proposed.\n"
        )
