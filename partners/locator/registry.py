"""What the apps above partners contribute to the locator, found on their AppConfigs (the ladder
in ARCHITECTURE.md: partners never imports them):

* ``authorization_certifications`` (training): the certifications and who holds them, the same
  object deals' product-authorization rules count (``choices()``, ``holders(...)``);
* ``locator`` (deals): the product lines partners are authorized for (``choices()``,
  ``partner_ids(product_line=, at=)`` as a subquery, ``lines_of(partner_ids=, at=)``) and
  ``contact(partner_id=, data=)``, which turns a customer's enquiry into that partner's lead.

Without the app, the filter is not offered (and an enquiry cannot be sent)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.utils.module_loading import import_string


def _contribution(hook: str) -> Any | None:
    for config in apps.get_app_configs():
        if path := getattr(config, hook, None):
            return import_string(path)
    return None


def certifications() -> Any | None:
    return _contribution("authorization_certifications")


def product_lines() -> Any | None:
    return _contribution("locator")
