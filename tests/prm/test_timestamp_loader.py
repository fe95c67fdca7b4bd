"""prm.postgresql: timestamps are read by psycopg's C loader, with the values and the time zone
Django's own loader gives them (datetime.timezone.utc on a connection in UTC)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import BaseTzLoader

from prm.postgresql.base import UtcTimestampLoader, _c_timestamptz_loader

pytestmark = pytest.mark.django_db

TIMESTAMPTZ = 1184

# Values as people and the code write them: offsets of whole and half hours, fractions of every
# length, before 1970, a leap day, both ends of a daylight saving change, the far future.
MOMENTS = [
    "2026-12-07 17:24:40+00",
    "2026-12-07 17:24:40.5+00",
    "2026-12-07 17:24:40.123456+00",
    "2026-12-07 17:24:40.000001+00",
    "2026-12-07 17:24:40.12+05:30",
    "2026-03-29 01:59:59.999999+01",
    "2026-03-29 03:00:00+02",
    "2026-10-25 02:30:00+02",
    "2024-02-29 23:59:59-08",
    "1969-12-31 23:59:59.9-03:30",
    "1901-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


class _DjangosLoader(BaseTzLoader):
    timezone = datetime.UTC


def test_the_portal_reads_timestamps_through_psycopgs_c_loader() -> None:
    assert connection.connection is not None or connection.ensure_connection() is None
    registered = connection.connection.adapters.get_loader(TIMESTAMPTZ, psycopg.pq.Format.TEXT)
    assert registered is UtcTimestampLoader
    assert psycopg.pq.__impl__ in ("binary", "c"), "pyproject.toml installs psycopg[binary]"
    assert _c_timestamptz_loader().__module__.startswith(("psycopg_binary", "psycopg_c"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        cursor.fetchall()
        loader = cursor.cursor._tx.get_loader(TIMESTAMPTZ, psycopg.pq.Format.TEXT)
    assert isinstance(loader, UtcTimestampLoader)
    assert type(loader.load.__self__) is _c_timestamptz_loader()


def test_each_value_is_djangos_in_utc() -> None:
    django_loader = _DjangosLoader(TIMESTAMPTZ, connection.connection)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT moment::timestamptz, moment::timestamptz::text FROM unnest(%s::text[]) AS moment",
            [MOMENTS],
        )
        rows = cursor.fetchall()
    assert len(rows) == len(MOMENTS)
    for loaded, text in rows:
        expected = django_loader.load(text.encode())
        assert loaded == expected
        assert loaded.tzinfo is datetime.UTC
        assert (loaded.year, loaded.month, loaded.day, loaded.hour, loaded.minute, loaded.second) == (
            expected.year,
            expected.month,
            expected.day,
            expected.hour,
            expected.minute,
            expected.second,
        )
        assert loaded.microsecond == expected.microsecond


def test_a_model_reads_back_the_moment_it_saved() -> None:
    from django.contrib.sessions.models import Session

    moment = datetime.datetime(2026, 12, 7, 17, 24, 40, 123456, tzinfo=datetime.UTC)
    Session.objects.create(session_key="timestamp-loader", session_data="", expire_date=moment)
    read = Session.objects.get(session_key="timestamp-loader").expire_date
    assert read == moment
    assert read.tzinfo is datetime.UTC


@pytest.fixture
def berlin() -> Iterator[psycopg.Connection]:
    """A connection of its own in another time zone (never one Django opens)."""
    params = {**connection.get_connection_params()}
    params.pop("cursor_factory", None)
    with psycopg.connect(**params) as raw:
        raw.execute("SET TIME ZONE 'Europe/Berlin'")
        yield raw


def test_on_a_connection_in_another_time_zone_it_is_djangos_loader(berlin: psycopg.Connection) -> None:
    ours = UtcTimestampLoader(TIMESTAMPTZ, berlin)
    djangos = _DjangosLoader(TIMESTAMPTZ, berlin)
    for text in ("2026-12-07 18:24:40.5+01", "2026-07-01 02:00:00+02"):
        assert ours.load(text.encode()) == djangos.load(text.encode())
        assert ours.load(text.encode()).tzinfo is datetime.UTC
