"""Accessibility (issue 14, WCAG 2.1 AA): every page each demo persona reaches has no serious or
critical axe-core violation, the admin pages vendor staff use included.

The crawl signs in as each persona of ``seed_demo`` (vendor staff with their TOTP code) and follows
the portal's links breadth-first from the start page, one page per URL pattern and persona, so the
crawl stays short however many rows the demo has. axe-core comes from the ``axe-playwright-python``
package (its bundled ``axe.min.js``), evaluated through the DevTools protocol: nothing is fetched
from the network and the pages' Content-Security-Policy stays as it is.

Set PRM_SCREENSHOT_DIR to keep a screenshot of every page crawled."""

from __future__ import annotations

import io
import os
import re
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command
from django.test import override_settings
from django.urls import Resolver404, resolve
from playwright.sync_api import Browser, Error, Page

from partners.management.commands.seed_demo import DEMO_PASSWORD
from tests import factories
from tests.demo_personas import PARTNER_PEOPLE, VENDOR_STAFF
from tests.e2e.browser import sign_in

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PUBLIC_START = ["/accounts/login/", "/apply/"]

# WCAG 2.0 and 2.1, levels A and AA; label-content-name-mismatch (WCAG 2.5.3) is tagged
# "experimental" in axe-core and so is switched on by name.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "rules": {"label-content-name-mismatch": {"enabled": True}},
    "resultTypes": ["violations"],
    # No re-reading of the style sheets: axe would copy each @import into an inline <style>, which
    # the Content-Security-Policy rightly blocks (only css-orientation-lock needs it).
    "preload": False,
}
FAILING_IMPACTS = {"serious", "critical"}

# Not pages: signing out, switching language (a POST), files, the API, the admin's scripts; and
# pages that only repeat another one (an admin row's history, its delete confirmation).
SKIP = re.compile(
    r"^/(accounts/logout|admin/logout|i18n|static|media|api|healthz|admin/jsi18n|admin/r/)"
    r"|/(download|export|history|delete|autocomplete)/|\.(pdf|csv|ics|zip|png|jpe?g|svg)$"
)
MAX_PAGES_PER_PERSONA = 120


@pytest.fixture
def demo(settings: Any, tmp_path: Path) -> Iterator[None]:
    settings.STORAGES = factories.storages_at(tmp_path)
    with override_settings(STORAGES=settings.STORAGES):
        factories.default_tiers()  # transactional tests start from an empty database
        call_command("seed_demo", stdout=io.StringIO())
        yield


def totp_secret(email: str) -> str | None:
    authenticator = Authenticator.objects.filter(user__email=email, type=Authenticator.Type.TOTP).first()
    return decrypt(authenticator.data["secret"]) if authenticator else None


def pattern(path: str) -> str | None:
    """The URL pattern ``path`` answers to (the crawl's unit), or None outside the portal."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.route


def links(page: Page) -> list[str]:
    hrefs = page.eval_on_selector_all(
        "a[href]", "anchors => anchors.map(a => a.href).filter(h => h.startsWith(location.origin))"
    )
    return [urlsplit(href).path for href in hrefs]


def violations(page: Page, axe: Axe) -> list[str]:
    found = []
    for violation in axe.run(page, options=AXE_OPTIONS).response["violations"]:
        if violation["impact"] not in FAILING_IMPACTS:
            continue
        for node in violation["nodes"][:5]:
            target = " ".join(str(part) for part in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")[:160]
            found.append(f"{violation['id']} ({violation['impact']}) {target}: {summary}")
    return found


def crawl(
    page: Page,
    site_url: str,
    start: list[str],
    who: str,
    axe: Axe,
    seen_patterns: set[str],
    within: Callable[[str], bool],
) -> tuple[dict[str, list[str]], int]:
    """Breadth-first from ``start`` (always checked): each URL pattern not in ``seen_patterns``
    (which it fills); the violations per page and the count of pages checked."""
    shots = os.environ.get("PRM_SCREENSHOT_DIR")
    queue = deque(start)
    seen_paths: set[str] = set()
    found: dict[str, list[str]] = {}
    checked = 0
    while queue and checked < MAX_PAGES_PER_PERSONA:
        path = queue.popleft()
        if path in seen_paths or SKIP.search(path) or not within(path):
            continue
        seen_paths.add(path)
        route = pattern(path)
        if route is None or (route in seen_patterns and path not in start):
            continue
        seen_patterns.add(route)
        try:
            response = page.goto(site_url + path)
        except Error:  # a file download, not a page
            continue
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        landed = urlsplit(page.url).path
        if landed != path:  # a redirect: check the page it lands on once, under its own pattern
            landed_route = pattern(landed)
            if landed_route in seen_patterns and landed not in start:
                continue
            seen_patterns.add(landed_route or landed)
        checked += 1
        if problems := violations(page, axe):
            found[f"{who} {landed}"] = problems
        print(f"{who} {landed}: {len(problems)} serious or critical")  # the crawl, shown on failure
        if shots:
            name = re.sub(r"[^a-z0-9]+", "-", f"{who.split('@')[0]} {landed}".lower()).strip("-")
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(Path(shots) / f"a11y-{name}.png"), full_page=True)
        queue.extend(links(page))
    return found, checked


# Three crawls (xdist runs them side by side): the public pages and the partner side; the vendor
# console; the admin, where the program admin reaches every table and the others add what differs.
CRAWLS = {
    "partner side": (["public", *PARTNER_PEOPLE], lambda path: not path.startswith("/admin/")),
    "vendor console": (VENDOR_STAFF, lambda path: not path.startswith("/admin/")),
    "admin": (VENDOR_STAFF, lambda path: path.startswith("/admin/")),
}


@pytest.mark.usefixtures("demo")
@pytest.mark.parametrize("crawl_name", list(CRAWLS))
def test_no_serious_or_critical_axe_violation_on_any_page_any_demo_persona_reaches(
    browser: Browser, site_url: str, crawl_name: str
) -> None:
    people, within = CRAWLS[crawl_name]
    axe = Axe()
    found: dict[str, list[str]] = {}
    checked = {}
    seen_patterns: set[str] = set()
    for who in people:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        if who == "public":
            start = PUBLIC_START
        else:
            sign_in(page, site_url, who, totp_secret=totp_secret(who), password=DEMO_PASSWORD)
            start = ["/admin/"] if crawl_name == "admin" else [urlsplit(page.url).path, "/"]
        problems, checked[who] = crawl(page, site_url, start, who, axe, seen_patterns, within)
        found.update(problems)
        context.close()

    assert all(checked.values()), checked
    assert not found, "serious or critical axe-core violations:\n" + "\n".join(
        f"{where}\n  " + "\n  ".join(problems) for where, problems in found.items()
    )
