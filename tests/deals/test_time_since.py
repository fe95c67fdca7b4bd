"""deals.rendering.TimeSince writes what Django's ``timesince(value, now)`` writes (the review
queue's "… ago"), the same text and the same safeness, over moments around month ends, leap days,
years, the future and the moment itself, in time zones of their own, in each language of the
portal."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.safestring import SafeData
from django.utils.timesince import timesince

from deals.rendering import TimeSince

NOWS = [
    datetime(2024, 2, 29, 12, 0, tzinfo=UTC),
    datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC),
    datetime(2026, 3, 10, 9, 30, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
]
STEPS = [
    timedelta(0),
    timedelta(microseconds=300),
    timedelta(seconds=1),
    timedelta(seconds=59),
    timedelta(minutes=1),
    timedelta(minutes=59, seconds=59),
    timedelta(hours=1),
    timedelta(hours=23, minutes=59),
    timedelta(days=1),
    timedelta(days=6, hours=23),
    timedelta(days=7),
    timedelta(days=13, hours=5),
    timedelta(days=28),
    timedelta(days=29),
    timedelta(days=30),
    timedelta(days=31),
    timedelta(days=59),
    timedelta(days=60, minutes=1),
    timedelta(days=365),
    timedelta(days=366),
    timedelta(days=400, hours=3),
    timedelta(days=800),
]
ZONES = [UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")]


def moments() -> list[tuple[datetime, datetime]]:
    pairs = [(now, (now - step).astimezone(zone)) for now in NOWS for step in STEPS for zone in ZONES]
    pairs += [(now, (now + step).astimezone(zone)) for now in NOWS for step in STEPS[:8] for zone in ZONES]
    chance = random.Random(11)  # the same moments every run
    for _ in range(3000):
        now = NOWS[chance.randrange(len(NOWS))]
        back = timedelta(
            seconds=chance.randrange(-86_400, 3 * 366 * 86_400), microseconds=chance.randrange(10**6)
        )
        pairs.append((now, (now - back).astimezone(ZONES[chance.randrange(len(ZONES))])))
    return pairs


@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
def test_time_since_writes_what_djangos_timesince_writes(language: str) -> None:
    with translation.override(language):
        for now, value in moments():
            since = TimeSince(now)
            written, expected = since(value), timesince(value, now)
            assert written == expected, (now, value)
            assert isinstance(written, SafeData) == isinstance(expected, SafeData), (now, value)
            assert since(value) == written  # the time zone's ``now``, kept, is the same


def test_dates_and_naive_moments_are_djangos_own() -> None:
    now = datetime(2026, 3, 10, 9, 30)  # naive, as Django takes it too
    since = TimeSince(now)
    for value in (datetime(2025, 1, 1, 8, 0), datetime(2026, 3, 9, 9, 31), datetime(2024, 2, 29).date()):
        assert since(value) == timesince(value, now)
