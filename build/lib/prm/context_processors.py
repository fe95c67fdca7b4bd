from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .notifications import unread_count


def portal(request: HttpRequest) -> dict[str, Any]:
    actor = getattr(request, "actor", None)
    user = getattr(request, "user", None)
    unread = 0
    if actor is not None and actor.scope is not None and user is not None and user.is_authenticated:
        unread = unread_count(user=user)
    return {"actor": actor, "unread_notifications": unread, "site_url": settings.SITE_URL}
