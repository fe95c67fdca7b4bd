"""prm.kept.Kept: what a process keeps of what it wrote, emptied when full and when a setting it
follows from changes."""

from __future__ import annotations

import gc

import pytest
from django.test import override_settings

from prm import kept as kept_module
from prm.kept import EVERY_SETTING, TRANSLATION_SETTINGS, Kept


def test_values_are_kept_by_their_key_and_keep_returns_the_value() -> None:
    days: Kept[tuple[str, int], str] = Kept(10)
    assert days.keep(("en", 1), "Monday") == "Monday"
    assert days.keep(("de", 1), "Montag") == "Montag"
    assert days.get(("en", 1)) == "Monday"
    assert days.get(("de", 1)) == "Montag"
    assert days.get(("fr", 1)) is None
    assert days.keep(("en", 1), "Monday, again") == "Monday, again"  # a key kept again: replaced
    assert dict(days) == {("en", 1): "Monday, again", ("de", 1): "Montag"}


def test_it_never_holds_more_than_its_limit_and_is_emptied_when_full() -> None:
    numbers: Kept[int, int] = Kept(3)
    for number in range(3):
        numbers.keep(number, number * 10)
    assert dict(numbers) == {0: 0, 1: 10, 2: 20}
    numbers.keep(3, 30)  # full: everything before is forgotten, the new one kept
    assert dict(numbers) == {3: 30}
    for number in range(100):
        numbers.keep(number, number)
        assert len(numbers) <= 3
    assert numbers.get(99) == 99


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="one entry at least"):
        Kept(0)


def test_it_is_forgotten_when_a_setting_it_follows_from_changes_and_only_then() -> None:
    texts: Kept[str, str] = Kept(10, forget_on=TRANSLATION_SETTINGS | {"DATE_FORMAT"})
    untouched: Kept[str, str] = Kept(10)
    texts.keep("de", "Tage")
    untouched.keep("de", "Tage")
    with override_settings(TIME_ZONE="Europe/Berlin"):  # not one it follows from
        assert texts == {"de": "Tage"}
    with override_settings(DATE_FORMAT="j. F Y"):
        assert texts == {}
        texts.keep("de", "Tage")
    assert texts == {}  # the setting set back is a change too
    texts.keep("de", "Tage")
    with override_settings(LOCALE_PATHS=[]):
        assert texts == {}
    assert untouched == {"de": "Tage"}  # nothing to forget on: never emptied by a setting


def test_every_setting_forgets_on_any_change() -> None:
    fragments: Kept[str, str] = Kept(10, forget_on=EVERY_SETTING)
    fragments.keep("main", "<ul></ul>")
    with override_settings(SOME_SETTING_NOBODY_READS=1):
        assert fragments == {}


def test_one_receiver_serves_every_instance_and_holds_none_alive() -> None:
    before = len(kept_module._forgetting)
    made = [Kept(4, forget_on={"DATE_FORMAT"}) for _ in range(5)]
    assert len(kept_module._forgetting) == before + 5
    del made
    gc.collect()
    assert len(kept_module._forgetting) == before
