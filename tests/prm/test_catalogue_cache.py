"""prm.catalogue_cache: a value is kept per name and parts until the name is invalidated (at once, and
again when the transaction commits), until the moment the value said it stops holding, or until
PRM["CATALOGUE_CACHE_SECONDS"] have passed; 0 turns it off. A process's own copy never outlives
any of these."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache

from prm import catalogue_cache

NOON = datetime(2027, 3, 31, 12, 0, 0, tzinfo=UTC)


def counter() -> tuple[list[int], Any]:
    calls: list[int] = []

    def compute(until: datetime | None = None) -> Any:
        def run() -> tuple[str, datetime | None]:
            calls.append(1)
            return f"value {len(calls)}", until

        return run

    return calls, compute


def test_a_value_is_kept_per_name_and_parts() -> None:
    calls, compute = counter()
    assert catalogue_cache.cached("probe", ("a", 1), compute()) == "value 1"
    assert catalogue_cache.cached("probe", ("a", 1), compute()) == "value 1"
    assert catalogue_cache.cached("probe", ("a", 2), compute()) == "value 2"
    assert catalogue_cache.cached("other", ("a", 1), compute()) == "value 3"
    assert len(calls) == 3


@pytest.mark.django_db
def test_invalidating_computes_again_and_the_process_copy_follows(
    django_capture_on_commit_callbacks: Any,
) -> None:
    _calls, compute = counter()
    assert catalogue_cache.cached("probe", ("a",), compute()) == "value 1"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        catalogue_cache.invalidate("probe")
    assert catalogue_cache.cached("probe", ("a",), compute()) == "value 2"
    # The commit changes the version again: what a request read before it is not kept.
    for callback in callbacks:
        callback()
    assert catalogue_cache.cached("probe", ("a",), compute()) == "value 3"
    assert catalogue_cache.cached("probe", ("a",), compute()) == "value 3"
    # Another process changed the version (the cache is shared, this process's copy is not).
    cache.set("catalogue:probe:version", "elsewhere", None)
    assert catalogue_cache.cached("probe", ("a",), compute()) == "value 4"
    # The cache emptied: a new version, and nothing old comes back.
    cache.clear()
    assert catalogue_cache.cached("probe", ("a",), compute()) == "value 5"


def test_a_value_holds_until_the_moment_it_names_and_the_cache_time(settings: Any) -> None:
    settings.PRM = {**settings.PRM, "CATALOGUE_CACHE_SECONDS": 600}
    _calls, compute = counter()
    with time_machine.travel(NOON, tick=False) as clock:
        soon = NOON + timedelta(seconds=90)
        assert catalogue_cache.cached("probe", ("a",), compute(soon)) == "value 1"
        clock.shift(timedelta(seconds=89))
        assert catalogue_cache.cached("probe", ("a",), compute(soon)) == "value 1"
        clock.shift(timedelta(seconds=1))
        assert catalogue_cache.cached("probe", ("a",), compute()) == "value 2"
        # No moment of its own: the cache's time.
        clock.shift(timedelta(seconds=599))
        assert catalogue_cache.cached("probe", ("a",), compute()) == "value 2"
        clock.shift(timedelta(seconds=1))
        assert catalogue_cache.cached("probe", ("a",), compute()) == "value 3"
        # A moment already past: computed every time.
        assert catalogue_cache.cached("probe", ("b",), compute(NOON)) == "value 4"
        assert catalogue_cache.cached("probe", ("b",), compute(NOON)) == "value 5"


def test_zero_seconds_turns_it_off(settings: Any) -> None:
    settings.PRM = {**settings.PRM, "CATALOGUE_CACHE_SECONDS": 0}
    _calls, compute = counter()
    assert catalogue_cache.cached("probe", ("a",), compute()) == "value 1"
    assert catalogue_cache.cached("probe", ("a",), compute()) == "value 2"
