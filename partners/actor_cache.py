"""The actor of a signed-in person, kept in the web process between requests.

Resolving who is acting reads the person's membership with its partner and tier (or a channel
account manager's portfolio) in a system-scope transaction of its own: several round trips to
PostgreSQL and about 2 ms of ORM work, paid by every request before its view runs — the largest
part of that cost (issue 11). The answer changes only when a membership, a partner, a tier or a
portfolio permission changes, so it is cached, under these rules:

* **Validity comes from the database, with the user row.** PostgreSQL triggers move
  ``prm_user.actor_version`` on in the same transaction as any write to those four tables, for
  every person the write concerns (partners/migrations/0007_actor_version_triggers.py): services,
  the admin, queryset ``update()`` and ``bulk_create()``, raw SQL, all alike. The authentication
  middleware reads the user row from the database on every request, and an entry is keyed by
  ``(user id, actor_version, vendor role)``: after a change the key is new and the old entry is
  never looked up again.
* Why that is safe against a concurrent change: the user row (with its version) is read before the
  membership is. A change that committed before the user row was read is in what the resolution
  reads; one that commits later bumps the version, so the next request asks for another key. An
  entry is never keyed by a version newer than what it holds.
* The user row itself is never cached: a deactivated person is anonymous at once.
* Entries live in this process only (no round trip to Redis on a hit), pickled: every request gets
  its own copy of the partner, so a view changing ``actor.partner`` (a form bound to it) cannot
  leak into the next request. At most ``MAX_ENTRIES``, least recently used dropped first, each for
  ``PRM["ACTOR_CACHE_SECONDS"]`` at most; 0 turns the cache off.
"""

from __future__ import annotations

import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

from prm.tenancy import ANONYMOUS, Actor

MAX_ENTRIES = 10_000

_entries: OrderedDict[tuple[int, int, str], tuple[float, bytes]] = OrderedDict()
_lock = threading.Lock()


def _key(user: Any) -> tuple[int, int, str] | None:
    version = getattr(user, "actor_version", None)
    if version is None:  # a user row loaded without the column: nothing to key on
        return None
    return (user.pk, version, user.vendor_role)


def clear() -> None:
    """Drop every entry of this process (tests; a changed setting)."""
    with _lock:
        _entries.clear()


def _clear_on_setting_change(setting: str, **kwargs: Any) -> None:
    if setting == "PRM":
        clear()


setting_changed.connect(_clear_on_setting_change, dispatch_uid="partners.actor_cache")


def _lookup(key: tuple[int, int, str]) -> bytes | None:
    now = time.monotonic()
    with _lock:
        found = _entries.get(key)
        if found is None:
            return None
        expires, data = found
        if expires <= now:
            del _entries[key]
            return None
        _entries.move_to_end(key)
        return data


def _store(key: tuple[int, int, str], data: bytes, timeout: int) -> None:
    with _lock:
        _entries[key] = (time.monotonic() + timeout, data)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def cached_actor(user: Any, *, resolve: Callable[[Any], Actor]) -> Actor:
    """``resolve(user)``, or the same answer kept since, while nothing it depends on changed."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ANONYMOUS
    timeout = settings.PRM.get("ACTOR_CACHE_SECONDS", 0)
    key = _key(user) if timeout else None
    if key is None:
        return resolve(user)
    data = _lookup(key)
    if data is not None:
        side, partner, partner_role, portfolio = pickle.loads(data)  # noqa: S301 (our own bytes)
        return Actor(
            user=user,
            side=side,
            vendor_role=user.vendor_role,
            partner=partner,
            partner_role=partner_role,
            portfolio=portfolio,
        )
    actor = resolve(user)
    _store(
        key,
        pickle.dumps(
            (actor.side, actor.partner, actor.partner_role, actor.portfolio), pickle.HIGHEST_PROTOCOL
        ),
        timeout,
    )
    return actor
