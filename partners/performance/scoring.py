"""From KPI values to a score: pure functions, no database.

A template line has a target and scoring bands. Its *attainment* is the value as a percentage of
the target (for a KPI where lower is better, the target as a percentage of the value, so beating the
target is above 100 % either way). The line earns the points of the highest band whose threshold the
attainment reaches (0 below the first). The total is the weighted average of the lines' points:
0 to 100. A line without a value (no deals closed: no win rate) earns 0 points; a line whose KPI is
switched off, or no longer exists, is left out and its weight shared among the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

HUNDRED = Decimal(100)
# Attainment is stored with the snapshot; "infinitely better" (a lower-is-better KPI at 0) is capped.
MAX_ATTAINMENT = Decimal("999.9")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Band:
    threshold: Decimal  # attainment in % of the target, from which...
    points: Decimal  # ...the line earns this many points (out of 100)


def _decimal(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def bands_error(raw: Any) -> str:
    """What is wrong with a line's bands, in words for the admin; "" when they are fine."""
    if not isinstance(raw, list) or not raw:
        return _(
            'Scoring bands are a list of [threshold %, points] pairs, e.g. [["50", "25"], ["100", "100"]].'
        )
    previous: tuple[Decimal, Decimal] | None = None
    for pair in raw:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            return _('Each scoring band is a [threshold %, points] pair, e.g. ["100", "80"].')
        threshold, points = _decimal(pair[0]), _decimal(pair[1])
        if threshold is None or points is None:
            return _("Band thresholds and points are numbers.")
        if threshold < 0:
            return _("A band threshold is a percentage of the target, 0 or more.")
        if not 0 <= points <= HUNDRED:
            return _("Band points are between 0 and 100.")
        if previous is not None:
            if threshold <= previous[0]:
                return _("Bands must be in ascending order of threshold, each higher than the one before.")
            if points < previous[1]:
                return _("A higher band cannot earn fewer points than the band below it.")
        previous = (threshold, points)
    return ""


def parse_bands(raw: Any) -> list[Band]:
    """The bands as Decimals; raises ValueError (with the admin's message) when they are invalid."""
    error = bands_error(raw)
    if error:
        raise ValueError(error)
    return [Band(Decimal(str(threshold)), Decimal(str(points))) for threshold, points in raw]


def attainment(value: Decimal | None, target: Decimal, *, lower_is_better: bool) -> Decimal | None:
    if value is None:
        return None
    if lower_is_better:
        if value <= 0:
            return MAX_ATTAINMENT
        reached = target * HUNDRED / value
    else:
        reached = value * HUNDRED / target
    return min(reached, MAX_ATTAINMENT).quantize(Decimal("0.1"))


def points_for(reached: Decimal | None, bands: Sequence[Band]) -> Decimal:
    points = Decimal(0)
    if reached is None:
        return points
    for band in bands:
        if reached >= band.threshold:
            points = band.points
    return points


def next_band(reached: Decimal | None, bands: Sequence[Band]) -> Band | None:
    """The first band above what the line earns now (None at the top)."""
    current = points_for(reached, bands)
    for band in bands:
        if band.points > current and (reached is None or reached < band.threshold):
            return band
    return None


def value_for(band: Band, target: Decimal, *, lower_is_better: bool) -> Decimal | None:
    """The value that reaches ``band``: at least this much (or, lower is better, at most)."""
    if lower_is_better:
        return None if band.threshold <= 0 else (target * HUNDRED / band.threshold).quantize(CENT)
    return (band.threshold * target / HUNDRED).quantize(CENT)


@dataclass(frozen=True)
class LineSpec:
    """A template line, ready to score (its KPI known and measured)."""

    kpi: str
    weight: Decimal
    target: Decimal
    bands: tuple[Band, ...]
    lower_is_better: bool = False


def score(lines: Sequence[LineSpec], values: dict[str, Decimal | None]) -> tuple[Decimal | None, list[dict]]:
    """The total (None without any line) and each line as stored in a snapshot: ``score`` is the
    line's share of the total and ``max`` the most it could add, so ``max - score`` is what the line
    leaves on the table."""
    total_weight = sum((line.weight for line in lines), Decimal(0))
    if not lines or total_weight <= 0:
        return None, []
    scored = []
    weighted_points = Decimal(0)
    for line in lines:
        value = values.get(line.kpi)
        reached = attainment(value, line.target, lower_is_better=line.lower_is_better)
        points = points_for(reached, line.bands)
        weighted_points += points * line.weight
        upcoming = next_band(reached, line.bands)
        scored.append(
            {
                "kpi": line.kpi,
                "weight": line.weight,
                "target": line.target,
                "value": value,
                "attainment": reached,
                "points": points,
                "score": (points * line.weight / total_weight).quantize(CENT),
                "max": (HUNDRED * line.weight / total_weight).quantize(CENT),
                "next_points": upcoming.points if upcoming else None,
                "next_value": (
                    value_for(upcoming, line.target, lower_is_better=line.lower_is_better)
                    if upcoming
                    else None
                ),
            }
        )
    return (weighted_points / total_weight).quantize(CENT), scored


def template_errors(
    lines: Iterable[tuple[str, Decimal | None, Decimal | None, Any]], known: Iterable[str]
) -> list[str]:
    """What stops a template's lines ``(kpi, weight, target, bands)`` from scoring, as messages for
    the admin: unknown or repeated KPIs, weights that do not add up to 100, a target of 0, bad bands."""
    known = set(known)
    errors: list[str] = []
    seen: set[str] = set()
    total = Decimal(0)
    lines = list(lines)
    if not lines:
        return [_("A scorecard template needs at least one KPI.")]
    for kpi, weight, target, bands in lines:
        if kpi not in known:
            errors.append(_("%(kpi)s is not a KPI of this portal.") % {"kpi": kpi})
        if kpi in seen:
            errors.append(_("%(kpi)s appears twice: each KPI has one line.") % {"kpi": kpi})
        seen.add(kpi)
        if weight is None or weight <= 0:
            errors.append(_("The weight of %(kpi)s must be above 0.") % {"kpi": kpi})
        else:
            total += weight
        if target is None or target <= 0:
            errors.append(_("The target of %(kpi)s must be above 0.") % {"kpi": kpi})
        band_error = bands_error(bands)
        if band_error:
            errors.append(f"{kpi}: {band_error}")
    if total != HUNDRED:
        errors.append(
            _("The weights add up to %(total)s; they must add up to 100.")
            % {"total": format(total.normalize(), "f")}
        )
    return errors
