"""A small fixed-window rate limit on the Redis cache, for public forms."""

from __future__ import annotations

import ipaddress
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, _, unit = rate.partition("/")
    return int(count), _UNITS[unit]


def client_ip(request: HttpRequest) -> str:
    """The address of the client, the same one allauth's login limits use.

    Each proxy appends the address it received the request from to X-Forwarded-For, so behind
    ``PRM_TRUSTED_PROXY_COUNT`` proxies of our own the client is the N-th entry from the right;
    whatever stands left of it the client wrote itself. With no trusted proxy the header is ignored:
    a client could put any address there and get a fresh bucket with every request."""
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    trusted = settings.PRM_TRUSTED_PROXY_COUNT
    forwarded = request.headers.get("X-Forwarded-For", "")
    if trusted <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",")]
    if len(hops) < trusted:
        # The request did not pass through all our proxies: only the connection's address is known.
        return remote
    try:
        return str(ipaddress.ip_address(hops[-trusted]))
    except ValueError:
        return remote


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
