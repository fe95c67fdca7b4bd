"""prm.timesince.TimeSince writes what Django's ``timesince(value, now, depth=depth)`` writes, the
same text (no-break spaces, the language's separator) and the same safeness, over years of
moments, month ends, leap days, the future and the moment itself, in time zones of their own, in
each language of the portal, at depth 1 (the MDF admin's age column) and 2 (the deal review
queue's "… ago"); and both call sites print it."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import translation
from django.utils.safestring import SafeData
from django.utils.timesince import timesince

from prm import timesince as kept_timesince
from prm.timesince import TimeSince

LANGUAGES = [code for code, _name in settings.LANGUAGES]
DEPTHS = [1, 2, 3]
NOWS = [
    datetime(2024, 2, 29, 12, 0, tzinfo=UTC),
    datetime(2025, 3, 31, 23, 59, 59, tzinfo=UTC),
    datetime(2026, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC),
    datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC),
    datetime(2026, 3, 10, 9, 30, tzinfo=UTC),
    datetime(2026, 3, 31, 12, 30, 15, 500_000, tzinfo=UTC),
    datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
    datetime(2027, 1, 1, 0, 0, 30, tzinfo=UTC),
    datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC),
    # ``now`` in a zone of its own: Django compares the two in the value's zone.
    datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),
]
STEPS = sorted(
    {
        timedelta(0),
        timedelta(microseconds=300),
        *(timedelta(seconds=s) for s in (1, 59, 60, 61, 119, 120, 3_599, 3_600, 3_601, 86_399, 86_400)),
        *(timedelta(seconds=s) for s in (86_401, 604_799, 604_800, 604_801)),
        timedelta(hours=23, minutes=59),
        timedelta(days=6, hours=23),
        timedelta(days=13, hours=5),
        timedelta(days=400, hours=3),
        # months across short months, years across leap days: either side of each
        *(
            timedelta(days=day, seconds=shift)
            for day in (27, 28, 29, 30, 31, 58, 59, 60, 61, 364, 365, 366, 367, 800)
            for shift in (-1, 0, 1, 7_200)
        ),
    }
)
ZONES = [UTC, ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata")]
# A leap day and month ends, as the moment itself.
CALENDAR_EDGES = [
    (datetime(2025, 2, 28, 10, 0, tzinfo=UTC), datetime(2024, 2, 29, 10, 0, tzinfo=UTC)),
    (datetime(2025, 3, 1, 10, 0, tzinfo=UTC), datetime(2024, 2, 29, 10, 0, tzinfo=UTC)),
    (datetime(2028, 2, 29, 9, 0, tzinfo=UTC), datetime(2024, 2, 29, 10, 0, tzinfo=UTC)),
    (datetime(2026, 2, 28, 23, 59, tzinfo=UTC), datetime(2026, 1, 31, 0, 0, tzinfo=UTC)),
    (datetime(2026, 3, 1, 0, 0, tzinfo=UTC), datetime(2026, 1, 31, 0, 0, tzinfo=UTC)),
    (datetime(2026, 5, 1, 0, 0, tzinfo=UTC), datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)),
    (datetime(2027, 7, 31, 8, 0, tzinfo=UTC), datetime(2026, 8, 31, 8, 0, 1, tzinfo=UTC)),
]


def moments_by_now() -> dict[datetime, list[datetime]]:
    """For each ``now``, the moments to write: around it (past and future) in each zone, the
    calendar's edges, and 3000 drawn over three years (the same every run)."""
    found: dict[datetime, list[datetime]] = {now: [] for now in NOWS}
    for now in NOWS:
        for step in STEPS:
            found[now] += [(now - step).astimezone(zone) for zone in ZONES]
            if step < timedelta(days=1):
                found[now] += [(now + step).astimezone(zone) for zone in ZONES]
    for now, value in CALENDAR_EDGES:
        found.setdefault(now, []).extend(value.astimezone(zone) for zone in ZONES)
    chance = random.Random(11)
    for _ in range(3000):
        now = NOWS[chance.randrange(len(NOWS))]
        back = timedelta(
            seconds=chance.randrange(-86_400, 3 * 366 * 86_400), microseconds=chance.randrange(10**6)
        )
        found[now].append((now - back).astimezone(ZONES[chance.randrange(len(ZONES))]))
    return found


MOMENTS = moments_by_now()


@pytest.mark.parametrize("depth", DEPTHS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_time_since_writes_what_djangos_timesince_writes(language: str, depth: int) -> None:
    with translation.override(language):
        for now, values in MOMENTS.items():
            since = TimeSince(now, depth)  # one per "render": its zone's ``now`` moves between zones
            for value in values:
                written, expected = since(value), timesince(value, now, depth=depth)
                assert written == expected, (now, value, depth)
                assert isinstance(written, SafeData) == isinstance(expected, SafeData), (now, value)


def test_a_language_given_is_written_whatever_language_is_active() -> None:
    now = NOWS[4]
    values = MOMENTS[now][:200]
    naive_now, leap_day = datetime(2026, 3, 10, 9, 30), date(2024, 2, 29)
    with translation.override("de"):
        expected = [timesince(value, now) for value in values]
        expected_naive = timesince(leap_day, naive_now)
    with translation.override("fr"):
        since = TimeSince(now, language="de")
        assert [since(value) for value in values] == expected
        assert TimeSince(naive_now, language="de")(leap_day) == expected_naive  # Django's own, in German


@pytest.mark.parametrize("depth", DEPTHS)
def test_dates_and_naive_moments_are_djangos_own(depth: int) -> None:
    naive_now = datetime(2026, 3, 10, 9, 30)  # naive, as Django takes it too
    since = TimeSince(naive_now, depth)
    for value in (datetime(2025, 1, 1, 8, 0), datetime(2026, 3, 9, 9, 31), date(2024, 2, 29)):
        assert since(value) == timesince(value, naive_now, depth=depth)
    aware_now = TimeSince(NOWS[0], depth)
    with pytest.raises(TypeError):  # Django cannot compare a naive moment with an aware one either
        timesince(datetime(2024, 1, 1), NOWS[0], depth=depth)
    with pytest.raises(TypeError):
        aware_now(datetime(2024, 1, 1))


def test_a_depth_below_one_is_refused_as_django_refuses_it() -> None:
    with pytest.raises(ValueError, match="depth must be greater than 0"):
        TimeSince(NOWS[0], 0)


def test_the_kept_words_are_forgotten_when_the_catalogs_change() -> None:
    with translation.override("de"):
        TimeSince(NOWS[4])(NOWS[4] - timedelta(days=40))
    assert ("de", "month", 1) in kept_timesince._unit_texts
    assert "de" in kept_timesince._separators
    with override_settings(LOCALE_PATHS=[*settings.LOCALE_PATHS]):
        assert ("de", "month", 1) not in kept_timesince._unit_texts
        assert "de" not in kept_timesince._separators


# --- the call sites --------------------------------------------------------------------------------
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_mdf_admins_age_is_djangos_largest_unit_or_just_now(language: str) -> None:
    from mdf.admin.common import EMPTY, age

    with translation.override(language):
        assert age(None) == EMPTY
        for now in NOWS:
            assert age(now - timedelta(seconds=59), now=now) == translation.gettext("just now")
            for step in STEPS:
                if step >= timedelta(minutes=1):
                    for zone in ZONES:
                        moment = (now - step).astimezone(zone)
                        expected = timesince(moment, now, depth=1)
                        assert age(moment, now=now, language=language) == expected, (now, moment)
                        assert age(moment, now=now) == expected, (now, moment)


def test_the_review_queues_ago_is_djangos_timesince() -> None:
    from deals.vendor_views import _review_rows_context

    now = NOWS[4]
    with translation.override("es"):
        context = _review_rows_context([], now=now, may_review=True)
        for value in MOMENTS[now][:300]:
            assert context["since"](value) == timesince(value, now)
            assert context["ago"](value) == translation.gettext("%(since)s ago") % {
                "since": timesince(value, now)
            }
