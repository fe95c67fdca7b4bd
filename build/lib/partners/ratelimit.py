"""A small fixed-window rate limit on the Redis cache, for public forms."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, unit = rate.partition("/")
    return int(count), _UNITS[unit]


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def hit_rate_limit(request: HttpRequest, action: str, rate: str | None = None) -> bool:
    """Count this request; True when the caller is over the limit for ``action``."""
    limit, window = parse_rate(rate or settings.PRM[f"{action.upper()}_RATE_LIMIT"])
    bucket = int(time.time() // window)
    key = f"ratelimit:{action}:{client_ip(request)}:{bucket}"
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=window)
        count = 1
    return count > limit
