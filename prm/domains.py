"""Website domains as customers and partners type them, reduced to the one form we compare and
store. Kernel code: partners (profiles, imports) and deals (customer domains, conflict checks) must
agree on it, and neither should reach into the other's forms for it."""

from __future__ import annotations

import re

DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")


def normalise_domain(value: str) -> str:
    """``https://www.Acme.com/about`` -> ``acme.com``."""
    value = (value or "").strip().lower()
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    value = value.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].split(":", 1)[0]
    value = value.removeprefix("www.")
    return value.rstrip(".")
