"""The content panel on the partner home page (see partners.views.app_panels): the announcements
the partner is entitled to now, and the newest assets in its library."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from . import selectors


def partner_home_panel(request: HttpRequest) -> dict[str, Any] | None:
    actor = request.actor
    if not actor.is_partner:
        return None
    announcements = selectors.announcements_for(actor=actor)
    newest = selectors.newest_assets(actor=actor)
    if not announcements and not newest:
        return None
    return {"template": "content/_home_panel.html", "announcements": announcements, "newest": newest}
