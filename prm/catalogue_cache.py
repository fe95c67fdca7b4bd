"""A cache for vendor content that every partner user of one audience sees alike: the training
catalogue of a partner role, the content library of a tier, partner type and region.

Those pages read the same few rows on every request for every partner of the audience (six of
the catalogue's nine queries, and most of its Python time turning them into objects); they change
when someone in the vendor's team edits the catalogue, a few times a week. So they are kept, as
plain data (never a partner's own progress or downloads, which stay per request), under a key
naming three things:

* ``name``: what is kept ("training", "content");
* the **version** of that name, a token kept in the cache beside it. :func:`invalidate` replaces
  it, at once and again when the transaction commits (a request that read the old rows between the
  write and the commit cannot keep its copy under the new token); :func:`invalidate_on_change`
  calls it on the save, delete and many-to-many signals of the models the value is read from;
* the caller's ``parts``: **everything that decides what the value holds** (the partner role; the
  tier, partner type and region). A part left out would show one audience another's content.

Each process also remembers the values it last read (by their whole key, version included): a
request then reads only the version from the cache, not the value, nor unpickles it.

A write that sends no signal (``bulk_create``, ``QuerySet.update``, raw SQL) shows when the entry
expires: after PRM["CATALOGUE_CACHE_SECONDS"] (600 by default; 0 turns the cache off). A value can
also say when it stops holding (content that becomes visible or expires at a set moment): it is
computed again from then on, whatever the cache's expiry.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone

T = TypeVar("T")

CATALOGUE_CACHE_SECONDS = 600
# Values this process read last, by their whole key (a new version is a new key), each with the
# moment it stops holding (its own, or the cache's expiry): at most this many, the oldest
# forgotten first.
_REMEMBERED = 64
_remembered: dict[str, tuple[datetime, Any]] = {}
_remembering = threading.Lock()


def _seconds() -> int:
    return int(settings.PRM.get("CATALOGUE_CACHE_SECONDS", CATALOGUE_CACHE_SECONDS))


def _version_key(name: str) -> str:
    return f"catalogue:{name}:version"


def _new_version(name: str) -> None:
    cache.set(_version_key(name), uuid.uuid4().hex[:16], None)


def invalidate(name: str) -> None:
    """What is kept under ``name`` is computed again by the next request, and again by the first
    request after the current transaction commits."""
    _new_version(name)
    transaction.on_commit(lambda: _new_version(name))


def invalidate_on_change(name: str, *senders: type[models.Model], m2m: Iterable[Any] = ()) -> None:
    """Invalidate ``name`` whenever a row of one of ``senders`` is saved or deleted, or a
    many-to-many relation of ``m2m`` (``Model.field.through``) is changed."""

    def changed(**_kwargs: Any) -> None:
        invalidate(name)

    # weak=False: nothing else holds this closure, and a weak reference would let it go.
    for sender in senders:
        post_save.connect(changed, sender=sender, weak=False, dispatch_uid=f"catalogue:{name}:save:{sender}")
        post_delete.connect(
            changed, sender=sender, weak=False, dispatch_uid=f"catalogue:{name}:delete:{sender}"
        )
    for through in m2m:
        m2m_changed.connect(
            changed, sender=through, weak=False, dispatch_uid=f"catalogue:{name}:m2m:{through}"
        )


def cached(
    name: str, parts: Sequence[str | int | None], compute: Callable[[], tuple[T, datetime | None]]
) -> T:
    """``compute()``'s value, kept for every request with the same ``name`` and ``parts`` until
    the next change (see the module's docstring). ``compute`` returns the value and the moment it
    stops holding (None: until something changes)."""
    seconds = _seconds()
    if not seconds:
        return compute()[0]
    version = cache.get(_version_key(name))
    if version is None:
        # The first request since the cache was emptied: whoever adds the token first wins.
        cache.add(_version_key(name), uuid.uuid4().hex[:16], None)
        version = cache.get(_version_key(name))
    key = ":".join(["catalogue", name, str(version), *(str(part) for part in parts)])
    now = timezone.now()
    remembered = _remembered.get(key)
    if remembered is not None and remembered[0] > now:
        return remembered[1]
    kept = cache.get(key)
    if kept is not None and kept[0] > now:
        _remember(key, kept)
        return kept[1]
    value, until = compute()
    # Until the value stops holding, at most the cache's time.
    until = (
        min(until, now + timedelta(seconds=seconds))
        if until is not None
        else now + timedelta(seconds=seconds)
    )
    if until > now:
        # A whole second more: Redis counts in seconds, and the moment stored decides anyway.
        cache.set(key, (until, value), int((until - now).total_seconds()) + 1)
        _remember(key, (until, value))
    return value


def _remember(key: str, kept: tuple[datetime, Any]) -> None:
    with _remembering:
        while len(_remembered) >= _REMEMBERED:
            del _remembered[next(iter(_remembered))]
        _remembered[key] = kept


class KeptBodies:
    """Page bodies rendered from a kept catalogue (the object ``cached`` returns: the same one while
    it holds, a new one once anything in it changes), per process: a body is reused only for the
    very catalogue object it was rendered from and the same ``shown`` (everything else the body
    prints: role, language, filters, page, the viewer's own progress, ...). The oldest is
    forgotten first. A body must name no one (no user, no token) beyond what ``shown`` holds."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._bodies: OrderedDict[Hashable, tuple[object, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, catalogue: object, shown: Hashable, render: Callable[[], T]) -> T:
        """The body kept for ``catalogue`` and ``shown``, or ``render()`` (then kept)."""
        with self._lock:
            entry = self._bodies.get(shown)
            if entry is not None and entry[0] is catalogue:
                self._bodies.move_to_end(shown)
                return entry[1]
        body = render()
        with self._lock:
            self._bodies[shown] = (catalogue, body)
            self._bodies.move_to_end(shown)
            while len(self._bodies) > self.size:
                self._bodies.popitem(last=False)
        return body

    def clear(self) -> None:
        with self._lock:
            self._bodies.clear()

    def __len__(self) -> int:
        return len(self._bodies)
