"""Writes of the performance engine: the nightly scorecard snapshots, the channel account managers'
qualitative ratings, and the program admin's KPI switches and templates (audited)."""

from __future__ import annotations

import json
import logging
import time as clock
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from partners.models import (
    KpiSetting,
    Partner,
    PartnerAssessment,
    PartnerStatus,
    ScorecardSnapshot,
    ScorecardTemplate,
)
from prm import audit
from prm.errors import ApplicationError
from prm.models import reporting_rates
from prm.money import Currency
from prm.policies import PermissionDenied
from prm.tenancy import Actor

from . import scoring
from .kpis import Kpi, enabled_kpis, is_month_end, kpi_registry, measure, quarter_start
from .policies import assessment_policy, can_manage_scorecards

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock(namespace, day): two runs for the same day wait for each other, so the
# second replaces the first's rows instead of both inserting.
_LOCK_NAMESPACE = 7_212_001
_BATCH = 2_000


# --- nightly snapshots ------------------------------------------------------------------------------
@dataclass
class SnapshotRun:
    """What one run did: ``written`` rows for ``as_of``, or nothing because that month-end is frozen."""

    as_of: date
    written: int = 0
    frozen: bool = False
    month_end: bool = False
    missing_rates: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def templates_for_scoring(
    kpis: dict[str, Kpi],
) -> dict[int, tuple[ScorecardTemplate, list[scoring.LineSpec]]]:
    """Active templates with the lines that can be scored: a line whose KPI is switched off (or
    gone) is left out, and its weight shared among the others by ``scoring.score``."""
    prepared = {}
    for template in ScorecardTemplate.objects.filter(is_active=True).prefetch_related("lines"):
        specs = [
            scoring.LineSpec(
                kpi=line.kpi,
                weight=line.weight,
                target=line.target,
                bands=tuple(scoring.parse_bands(line.bands)),
                lower_is_better=kpis[line.kpi].lower_is_better,
            )
            for line in template.lines.all()
            if line.kpi in kpis
        ]
        prepared[template.pk] = (template, specs)
    return prepared


def _template_for(
    audiences: dict[tuple[int | None, str], int], tier_id: int, partner_type: str
) -> int | None:
    """The most specific active template: tier and type, tier, type, everybody."""
    for key in ((tier_id, partner_type), (tier_id, ""), (None, partner_type), (None, "")):
        if key in audiences:
            return audiences[key]
    return None


_SNAPSHOT_COLUMNS = (
    ("partner_id", "%s"),
    ("as_of", "%s"),
    ("template_id", "%s"),
    ("template_name", "%s"),
    ("total_score", "%s"),
    ("values", "%s::jsonb"),
    ("lines", "%s::jsonb"),
    ("month_end", "%s"),
    ("frozen", "%s"),
    ("computed_at", "%s"),
)


def _insert_snapshots(rows: list[tuple]) -> None:
    """Plain multi-row INSERTs. Django's bulk_create sends the rows as arrays (INSERT ... SELECT
    FROM UNNEST) and psycopg quotes arrays of JSON text in Python: 32 s for the benchmark's 10,000
    snapshots, against under a second for rows whose values libpq quotes one by one. (COPY is
    refused on a table with row-level security.)"""
    quote = connection.ops.quote_name
    table = quote(ScorecardSnapshot._meta.db_table)
    columns = ", ".join(quote(name) for name, _placeholder in _SNAPSHOT_COLUMNS)
    row_sql = "(" + ", ".join(placeholder for _name, placeholder in _SNAPSHOT_COLUMNS) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _BATCH):
            batch = rows[start : start + _BATCH]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_sql] * len(batch))}",  # noqa: S608
                [value for row in batch for value in row],
            )


def snapshots_compute(*, as_of: date, today: date | None = None) -> SnapshotRun:
    """Every partner's scorecard as of the end of ``as_of`` (terminated partners are not scored).

    Idempotent: the day's rows are replaced whole, in one transaction. A month-end computed after
    its day is frozen: computing it again changes nothing (and says so). Earlier days stay as they
    were (the history). The caller opens the database scope: the nightly task, the system scope."""
    today = today or timezone.localdate()
    if as_of > today:
        raise ApplicationError(_("A scorecard cannot be computed for a day that has not come yet."))
    run = SnapshotRun(as_of=as_of, month_end=is_month_end(as_of))
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, as_of.toordinal()])
        if ScorecardSnapshot.objects.filter(as_of=as_of, frozen=True).exists():
            run.frozen = True
            return run

        kpis = enabled_kpis()
        rates = reporting_rates()
        run.missing_rates = sorted(set(Currency.values) - set(rates.rates))
        if run.missing_rates:
            logger.warning("scorecards %s: no exchange rate for %s", as_of, ", ".join(run.missing_rates))
        measured = measure(as_of=as_of, kpis=kpis, rates=rates)
        run.seconds.update(measured.seconds)

        started = clock.perf_counter()
        templates = templates_for_scoring(kpis)
        audiences = {
            (template.tier_id, template.partner_type): pk for pk, (template, _lines) in templates.items()
        }
        empty = {key: kpi.empty_value for key, kpi in kpis.items()}
        frozen = run.month_end and as_of < today
        now = timezone.now()
        rows = []
        partners = Partner.objects.exclude(status=PartnerStatus.TERMINATED).order_by("pk")
        for partner_id, tier_id, partner_type in partners.values_list("pk", "tier_id", "partner_type"):
            values = {key: measured.values[key].get(partner_id, empty[key]) for key in kpis}
            template_id = _template_for(audiences, tier_id, partner_type)
            template, specs = templates[template_id] if template_id else (None, [])
            total, lines = scoring.score(specs, values)
            rows.append(
                (
                    partner_id,
                    as_of,
                    template_id,
                    template.name if template else "",
                    total,
                    json.dumps(values, cls=DjangoJSONEncoder),
                    json.dumps(lines, cls=DjangoJSONEncoder),
                    run.month_end,
                    frozen,
                    now,
                )
            )
        run.seconds["score"] = clock.perf_counter() - started

        started = clock.perf_counter()
        ScorecardSnapshot.objects.filter(as_of=as_of).delete()
        _insert_snapshots(rows)
        run.written = len(rows)
        run.seconds["write"] = clock.perf_counter() - started
    return run


# --- qualitative assessments -----------------------------------------------------------------------
ASSESSMENT_FIELDS = ["rating", "comment"]


def assessment_check(
    *, actor: Actor, partner: Partner, period_start: date, rating: Any, comment: str
) -> tuple[date, int, str]:
    """The quarter, rating and comment as they will be stored, or the ApplicationError naming what
    is wrong (the admin's form shows it on the field)."""
    if not assessment_policy.can_record_for(actor, partner):
        raise PermissionDenied(_("Only the partner's channel account manager or a program admin rates it."))
    quarter = quarter_start(period_start)
    if quarter > timezone.localdate():
        raise ApplicationError(_("A quarter that has not begun cannot be rated yet."), field="period_start")
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise ApplicationError(_("The rating is a whole number from 1 to 5."), field="rating")
    comment = (comment or "").strip()
    if not comment:
        raise ApplicationError(
            _("Say why: the comment is what the partner and your colleagues read."), field="comment"
        )
    if len(comment) > 2000:
        raise ApplicationError(_("Keep the comment under 2,000 characters."), field="comment")
    return quarter, rating, comment


def assessment_record(
    *, actor: Actor, partner: Partner, period_start: date, rating: Any, comment: str
) -> PartnerAssessment:
    """Rate ``partner`` for the calendar quarter holding ``period_start`` (1 to 5, with the reasons).
    A second rating for the same quarter replaces the first; both are in the audit trail."""
    quarter, rating, comment = assessment_check(
        actor=actor, partner=partner, period_start=period_start, rating=rating, comment=comment
    )

    with transaction.atomic():
        assessment = (
            PartnerAssessment.objects.select_for_update()
            .filter(partner=partner, period_start=quarter)
            .first()
        )
        if assessment is None:
            try:
                with transaction.atomic():
                    assessment = PartnerAssessment.objects.create(
                        partner=partner,
                        period_start=quarter,
                        rating=rating,
                        comment=comment,
                        assessed_by=actor.user,
                    )
            except IntegrityError:
                # Someone rated the same quarter at the same moment: theirs is replaced below.
                assessment = PartnerAssessment.objects.select_for_update().get(
                    partner=partner, period_start=quarter
                )
            else:
                audit.record(
                    actor=actor.user,
                    action="partner.assessment_recorded",
                    target=assessment,
                    partner_id=partner.pk,
                    after={"quarter": assessment.period_label, "rating": rating, "comment": comment},
                )
                return assessment
        before = audit.snapshot(assessment, ASSESSMENT_FIELDS)
        assessment.rating, assessment.comment, assessment.assessed_by = rating, comment, actor.user
        assessment.save(update_fields=["rating", "comment", "assessed_by", "updated_at"])
        audit.record(
            actor=actor.user,
            action="partner.assessment_changed",
            target=assessment,
            partner_id=partner.pk,
            before={"quarter": assessment.period_label, **before},
            after={"quarter": assessment.period_label, "rating": rating, "comment": comment},
        )
    return assessment


# --- the program's KPI switches and templates ------------------------------------------------------
def kpi_setting_set(*, actor: Actor, key: str, enabled: bool) -> KpiSetting:
    """Switch a KPI on or off for every partner from the next computation on."""
    if not can_manage_scorecards(actor):
        raise PermissionDenied(_("Only program admins switch KPIs on and off."))
    if key not in kpi_registry():
        raise ApplicationError(_("%(key)s is not a KPI of this portal.") % {"key": key}, field="key")
    with transaction.atomic():
        # A missing row means "on": creating it changes nothing yet.
        setting, _new = KpiSetting.objects.select_for_update().get_or_create(key=key)
        if setting.enabled == enabled:
            return setting
        before = {"enabled": setting.enabled}
        setting.enabled, setting.updated_by = enabled, actor.user
        setting.save(update_fields=["enabled", "updated_by", "updated_at"])
        audit.record(
            actor=actor.user,
            action="scorecards.kpi_switched_on" if enabled else "scorecards.kpi_switched_off",
            target=setting,
            before=before,
            after={"enabled": enabled},
        )
    return setting


def kpi_settings_sync() -> int:
    """A row (switched on, as a missing row means) for every KPI that has none, so the admin lists
    them all. Changes nothing that counts: no audit."""
    existing = set(KpiSetting.objects.values_list("key", flat=True))
    missing = [KpiSetting(key=key) for key in kpi_registry() if key not in existing]
    KpiSetting.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


def template_errors(lines: list[tuple[str, Decimal | None, Decimal | None, Any]]) -> list[str]:
    """Why a template's lines cannot be saved (the admin shows these), or an empty list."""
    return scoring.template_errors(lines, known=kpi_registry())


def template_saved(*, actor: Actor, template: ScorecardTemplate, created: bool) -> None:
    """Audit a template as saved in the admin: what it applies to and its lines."""
    if not can_manage_scorecards(actor):
        raise PermissionDenied(_("Only program admins change scorecard templates."))
    audit.record(
        actor=actor.user,
        action="scorecards.template_created" if created else "scorecards.template_changed",
        target=template,
        after={
            "audience": template.audience,
            "active": template.is_active,
            "lines": [
                {"kpi": line.kpi, "weight": line.weight, "target": line.target, "bands": line.bands}
                for line in template.lines.all()
            ],
        },
    )
