"""What a process keeps of what it wrote: :class:`Kept`, a dict emptied when it is full.

Pages keep what they wrote (a row, a filter bar, a day's text, a unit's words) in a module dict,
by a key of everything the text depends on, so that the next request finds it instead of
writing it again. Such a memo needs a bound, and this one's is the cheapest there is: once it
holds ``limit`` entries the next one kept empties it first. A hit is a plain ``dict.get`` (C,
no Python frame): no least-recently-used bookkeeping on the hot path (an OrderedDict's
``move_to_end`` under a lock on every hit), and a miss pays one ``len()``. What emptying costs
is each entry written once more; a working set that fits is kept whole, one that does not would
churn an LRU as well. (Where an entry is costly enough to deserve LRU, e.g.
deals.rendering.kept_widget, the site keeps its own OrderedDict.)

``forget_on``: the settings whose change (a test's ``override_settings``) makes what was kept
wrong, e.g. the catalogs for translated text; one ``setting_changed`` receiver serves every
instance. Threads may share an instance: each dict operation is atomic, and two threads filling
one at once can at worst lose an entry just kept or hold a few past ``limit`` for a moment.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any, Final, Generic, TypeVar

from django.core.signals import setting_changed
from django.dispatch import receiver

K = TypeVar("K")
V = TypeVar("V")

# The settings translated text follows from (the languages and their catalogs).
TRANSLATION_SETTINGS: Final = frozenset({"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"})


class _EverySetting:
    """``forget_on=EVERY_SETTING``: for what may follow from any setting (URLs, templates)."""

    def __contains__(self, setting: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "EVERY_SETTING"


EVERY_SETTING: Final = _EverySetting()


class Kept(dict[K, V], Generic[K, V]):
    """A dict of at most ``limit`` entries: read it with ``get``, add with :meth:`keep`, which
    empties it first when full. Emptied too when one of ``forget_on`` (setting names, or
    EVERY_SETTING) changes."""

    __slots__ = ("__weakref__", "forget_on", "limit")

    def __init__(self, limit: int, *, forget_on: Iterable[str] | _EverySetting = ()) -> None:
        super().__init__()
        if limit < 1:
            raise ValueError("a Kept holds one entry at least")
        self.limit = limit
        self.forget_on: frozenset[str] | _EverySetting = (
            forget_on if isinstance(forget_on, _EverySetting) else frozenset(forget_on)
        )
        if self.forget_on:
            _forgetting[id(self)] = self

    def keep(self, key: K, value: V) -> V:
        """Keep ``value`` for ``key`` and return it; everything kept before is forgotten first
        if ``limit`` entries are kept already."""
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


# Every Kept with something to forget on, by its id (a dict has no hash); weakly, so that one a
# test made goes with it.
_forgetting: weakref.WeakValueDictionary[int, Kept[Any, Any]] = weakref.WeakValueDictionary()


@receiver(setting_changed, dispatch_uid="prm.kept.forget")
def _forget(*, setting: str, **kwargs: Any) -> None:
    for kept in list(_forgetting.values()):
        if setting in kept.forget_on:
            kept.clear()
