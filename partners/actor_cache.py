"""The actor of a signed-in person, kept in the cache between requests.

Resolving who is acting reads the person's membership with its partner and tier (or a channel
account manager's portfolio) in a system-scope transaction of its own: four round trips to
PostgreSQL and about 2 ms of ORM work, paid by every request before its view runs — the largest
part of that cost (issue 11). The answer changes only when a membership, a partner, a tier or a
portfolio permission changes, so it is cached, under these rules:

* An entry is keyed by the user's id and records that id; it is only ever rebuilt into an actor for
  the very user row the authentication middleware loaded from the database for this request.
* The user row itself is never cached: a deactivated person is anonymous at once, and an entry made
  for another vendor role than the user's current one is ignored.
* Every entry records the *generation* that was current before its resolution read the database.
  Saving or deleting a membership, partner, tier or portfolio permission (model signals: every
  service, the admin, cascades, django-guardian's ``assign_perm`` / ``remove_perm``) moves the
  generation on twice: at once, and again after its transaction commits. The second move is what
  makes it safe: a request that read the database before the commit recorded the older
  generation, so its entry is dead on arrival.
* Queryset ``update()`` / ``bulk_create()`` send no signals: code that writes those four models in
  bulk must call :func:`forget_all_actors` itself (the application has no such write today;
  tests/partners/test_actor_cache.py keeps it so). Writes outside Django (``psql``) are not seen;
  entries expire after ``PRM["ACTOR_CACHE_SECONDS"]`` (five minutes by default) in any case. 0
  turns the cache off.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from prm.tenancy import ANONYMOUS, Actor

GENERATION_KEY = "actor:generation"


def _entry_key(user_id: int) -> str:
    return f"actor:{user_id}"


def _new_generation() -> str:
    return secrets.token_hex(8)


def _move_generation_on() -> None:
    cache.set(GENERATION_KEY, _new_generation(), timeout=None)


def forget_all_actors() -> None:
    """Make every cached actor stale: now, and again once the current transaction commits."""
    _move_generation_on()
    transaction.on_commit(_move_generation_on)


def forget_actors_on_change(sender: Any, **kwargs: Any) -> None:
    """post_save / post_delete receiver for the models an actor is made of."""
    if kwargs.get("raw"):
        return  # loaddata: no request is being served from these rows yet
    forget_all_actors()


def _current_generation(found: dict[str, Any]) -> str:
    generation = found.get(GENERATION_KEY)
    if generation is None:
        # First use, or the key was evicted: start one (another process may win the race; then
        # use theirs).
        cache.add(GENERATION_KEY, _new_generation(), timeout=None)
        generation = cache.get(GENERATION_KEY)
    return generation


def cached_actor(user: Any, *, resolve: Callable[[Any], Actor]) -> Actor:
    """``resolve(user)``, or the same answer from the cache while nothing it depends on changed."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ANONYMOUS
    timeout = settings.PRM.get("ACTOR_CACHE_SECONDS", 0)
    if not timeout:
        return resolve(user)
    key = _entry_key(user.pk)
    found = cache.get_many([key, GENERATION_KEY])
    # Read before the database is: an entry is never newer than the generation it carries.
    generation = _current_generation(found)
    entry = found.get(key)
    if entry is not None:
        user_id, entry_generation, vendor_role, side, partner, partner_role, portfolio = entry
        if user_id == user.pk and entry_generation == generation and vendor_role == user.vendor_role:
            return Actor(
                user=user,
                side=side,
                vendor_role=vendor_role,
                partner=partner,
                partner_role=partner_role,
                portfolio=portfolio,
            )
    actor = resolve(user)
    cache.set(
        key,
        (
            user.pk,
            generation,
            user.vendor_role,
            actor.side,
            actor.partner,
            actor.partner_role,
            actor.portfolio,
        ),
        timeout=timeout,
    )
    return actor
