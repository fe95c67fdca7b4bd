"""Django's ``timesince``, the same text, fast enough to print on every row of a list.

Django's ``timesince(value, now, depth=depth)`` translates its units through a lazy plural
(``ngettext_lazy``) and its separator through ``gettext(", ")`` on every call: some 12-80 µs a
call, once per row of the deal review queue ("… ago") and of the MDF admin's age column. Here each
unit's words are translated once per language and number and kept for the process, the separator
once per language, and ``now`` is converted to the value's time zone once per zone.

:meth:`TimeSince.__call__` is Django's algorithm (django/utils/timesince.py) step for step for
aware moments, computing only the units it will print; tests/prm/test_timesince.py compares the
two over years of moments, month ends and leap days, in time zones of their own, in each language
of the portal, at depth 1 and 2. Anything else (a date, a naive moment) goes to Django's own
function.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from django.utils import translation
from django.utils.html import avoid_wrapping
from django.utils.timesince import TIME_STRINGS, timesince

from prm.kept import TRANSLATION_SETTINGS, Kept

# Django's units in its order (years first), and the seconds of the units below a month.
_UNIT_NAMES = tuple(TIME_STRINGS)
_CHUNKS = (60 * 60 * 24 * 7, 60 * 60 * 24, 60 * 60, 60)
# The units below a month with their seconds, largest first: (seconds, Django's unit name).
_UNITS_UNDER_A_MONTH = tuple(zip(_CHUNKS, _UNIT_NAMES[2:], strict=True))
_MONTHS_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Django's message (timesince's ``gettext(", ")``), translated by Django's own catalogs: named here,
# not written in a gettext call, so that makemessages does not take it for one of the portal's.
_SEPARATOR = ", "

# A unit's words as timesince prints them ("3\xa0days", no-break spaces), by (language, unit,
# number): a pure function of those while the catalogs stay as they are; a few hundred at most
# (hours below 24, days below 7, ...), bounded all the same: emptied when full.
# Forgotten when a test changes the languages or the catalogs (the words may read otherwise).
UNIT_TEXTS_KEPT = 4096
_unit_texts: Kept[tuple[str | None, str, int], str] = Kept(UNIT_TEXTS_KEPT, forget_on=TRANSLATION_SETTINGS)
# The separator between two units, by language.
_separators: Kept[str | None, str] = Kept(64, forget_on=TRANSLATION_SETTINGS)


def _translated(language: str | None, make: Any) -> str:
    """``make()`` in ``language``: the active one as a rule (then no switch is paid for)."""
    if language == translation.get_language():
        return make()
    with translation.override(language):
        return make()


def unit_text(language: str | None, name: str, number: int) -> str:
    """``avoid_wrapping(TIME_STRINGS[name] % {"num": number})`` in ``language``, kept."""
    key = (language, name, number)
    text = _unit_texts.get(key)
    if text is None:
        text = _unit_texts.keep(
            key, _translated(language, lambda: avoid_wrapping(TIME_STRINGS[name] % {"num": number}))
        )
    return text


def _separator(language: str | None) -> str:
    separator = _separators.get(language)
    if separator is None:
        separator = _separators.keep(language, _translated(language, lambda: translation.gettext(_SEPARATOR)))
    return separator


class TimeSince:
    """``since(value)``: Django's ``timesince(value, now, depth=depth)`` in ``language`` (the
    active language unless given: a list that already read it passes it). Make one per render
    and call it per row; one may be shared between threads."""

    __slots__ = ("_now_aware", "_now_in_zone", "depth", "language", "now")

    def __init__(self, now: datetime, depth: int = 2, *, language: str | None = None) -> None:
        if depth <= 0:
            raise ValueError("depth must be greater than 0.")  # as Django's
        self.now = now
        self.depth = depth
        self.language = language or translation.get_language()
        # Aware as Django's is_aware has it (an offset, not just a tzinfo).
        self._now_aware = isinstance(now, datetime) and now.utcoffset() is not None
        # (zone, ``now`` in it) for the last value's zone, in which Django compares the two: one
        # attribute, replaced whole, so that threads sharing the object never pair them wrongly.
        self._now_in_zone: tuple[tzinfo | None, datetime] = (None, now)

    def __call__(self, value: Any) -> str:
        if not (self._now_aware and isinstance(value, datetime) and value.utcoffset() is not None):
            return _translated(self.language, lambda: timesince(value, self.now, depth=self.depth))
        zone = value.tzinfo
        kept_zone, now = self._now_in_zone
        if zone is not kept_zone:
            now = self.now.astimezone(zone)
            self._now_in_zone = (zone, now)
        language = self.language
        delta = now - value
        # Seconds and microseconds are ignored, as Django does.
        if delta.days * 86400 + delta.seconds <= 0:
            return unit_text(language, "minute", 0)
        total_months = (now.year - value.year) * 12 + (now.month - value.month)
        if value.day > now.day or (value.day == now.day and value.time() > now.time()):
            total_months -= 1
        years, months = divmod(total_months, 12)
        depth = self.depth
        # The usual ends first, looked up inline (a list's rows: a call saved is a tenth of its time).
        if years and (depth == 1 or not months):  # nothing after the years is printed
            return _unit_texts.get((language, "year", years)) or unit_text(language, "year", years)
        if depth == 1:
            if months:  # and no years (above)
                return _unit_texts.get((language, "month", months)) or unit_text(language, "month", months)
            # Under a month: the largest unit that counts one or more, counted from the value
            # itself (Django's pivot without years or months); units above it count none, so
            # nothing is taken off before it is counted.
            remaining = delta.total_seconds()
            for chunk, name in _UNITS_UNDER_A_MONTH:
                count = int(remaining // chunk)
                if count:
                    return _unit_texts.get((language, name, count)) or unit_text(language, name, count)
            return unit_text(language, "minute", 0)
        partials = [years, months]
        if not (years and depth == 2):  # else "years, months": the units below a month unused
            if years or months:
                # Django's pivot: the value moved on by the years and months (its day kept where
                # the month has it, its microseconds dropped); what remains is counted from there.
                pivot_year = value.year + years
                pivot_month = value.month + months
                if pivot_month > 12:
                    pivot_month -= 12
                    pivot_year += 1
                pivot = datetime(
                    pivot_year,
                    pivot_month,
                    min(_MONTHS_DAYS[pivot_month - 1], value.day),
                    value.hour,
                    value.minute,
                    value.second,
                    tzinfo=zone,
                )
            else:
                pivot = value
            remaining = (now - pivot).total_seconds()
            for chunk in _CHUNKS:
                count = int(remaining // chunk)
                partials.append(count)
                remaining -= chunk * count
        first = next((index for index, part in enumerate(partials) if part != 0), None)
        if first is None:
            return unit_text(language, "minute", 0)
        written = []
        for index in range(first, min(first + depth, len(partials))):
            if partials[index] == 0:
                break
            written.append(unit_text(language, _UNIT_NAMES[index], partials[index]))
        if len(written) == 1:
            return written[0]  # what Django's join of one writes, with no separator looked up
        return _separator(language).join(written)
