"""Every partner page fits the screen (issue 14): signed in as each partner persona of the demo in a
390 x 844 window, the test opens every page the person's navigation reaches and, one of each kind,
the pages those link to (a deal, a fund request, its claim, a course and a lesson, an asset, a
support case, a plan, the forms...). Nothing may need a horizontal scroll: the document is no wider
than the window and no element sticks out of it unless it sits in a box that scrolls on purpose
(the charts' and code's), and no label may spill out of its button, chip or badge. Then the same
walk in German at 1280 px (the browser asks for German; the catalog is compiled for the test), where
long words must neither push the navigation onto a second row or out of the window, nor out of their
boxes. Translations themselves are not checked here.

A screenshot of every page is saved under the test's tmp dir (``<tmp>/<width>/<who>-<page>.png``);
set PRM_SCREENSHOT_DIR to keep them somewhere else. A failure names the elements that stick out and
the screenshot that shows them."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from deals.models import Deal, DealStatus
from mdf.models import FundRequest, RequestStatus
from partners.management.commands.seed_demo import DEMO_PASSWORD
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# The demo's partner people (partners/management/commands/seed_demo.py), one per role, and the two
# whose company is not active (they see the agreement, or the suspension notice).
ACME = "Acme Networks Inc."
ADMIN = "alice.admin@acme.example"
PARTNER_PEOPLE = [
    ADMIN,
    "sam.sales@acme.example",
    "mia.marketing@acme.example",
    "leo.learner@acme.example",
    "ivy.admin@initech.example",
    "uma.admin@umbrella.example",
]

# Pages of each kind the partner admin's walk must have opened (its link-following must not quietly
# miss a kind): path patterns, ids as <id>.
ADMIN_MUST_SEE = [
    "/",
    "/deals/",
    "/deals/new/",
    "/deals/<id>/",
    "/deals/<id>/edit/",
    "/deals/pipeline/",
    "/leads/",
    "/funds/",
    "/funds/requests/",
    "/funds/requests/new/",
    "/funds/requests/<id>/",
    "/funds/requests/<id>/claim/",
    "/earnings/",
    "/training/",
    "/training/courses/<id>/",
    "/training/lessons/<id>/",
    "/training/certifications/",
    "/training/team/",
    "/content/",
    "/content/<id>/",
    "/scorecard/",
    "/plans/",
    "/plans/<id>/",
    "/company/",
    "/team/",
    "/support/",
    "/support/new/",
    "/support/cases/<id>/",
    "/notifications/",
    "/account/notifications/",
    "/exports/",
    "/account/api-tokens/",
    "/integrations/webhooks/",
    "/accounts/2fa/",
    "/accounts/password/change/",
]

# Not pages to look at: files, exports, other sides of the portal, the way out.
SKIP = re.compile(
    r"^/(admin|vendor|static|media|i18n|demo|api|healthz)/|^/accounts/(logout|login)/|"
    r"\.(csv|pdf|png|jpe?g|svg|zip)$|/(download|logo|files|proofs|pdf)/|^/verify/"
)
MAX_DEPTH = 2  # the navigation's pages, the pages they link to, and the pages those link to

# Elements wider than the window (or left of it) that no scrolling box holds, and boxes that scroll
# sideways although they are not meant to (only charts' canvases and code may).
MEASURE = """() => {
  const width = window.innerWidth;
  const describe = (e) => {
    const id = e.id ? `#${e.id}` : "";
    const cls = typeof e.className === "string" && e.className.trim()
      ? "." + e.className.trim().split(/\\s+/).slice(0, 3).join(".") : "";
    const r = e.getBoundingClientRect();
    return `${e.tagName.toLowerCase()}${id}${cls} [${Math.round(r.left)}..${Math.round(r.right)}]`
      + ` "${(e.innerText || e.value || "").trim().replace(/\\s+/g, " ").slice(0, 40)}"`;
  };
  const scroller = (e) => {
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
      const x = getComputedStyle(a).overflowX;
      if (x === "auto" || x === "scroll" || x === "hidden" || x === "clip") { return a; }
    }
    return null;
  };
  const visible = (e) => {
    const s = getComputedStyle(e);
    return s.visibility !== "hidden" && s.display !== "none";
  };
  const wide = [];
  const scrolling = [];
  for (const e of document.querySelectorAll("body *")) {
    const r = e.getBoundingClientRect();
    if (!r.width || !r.height || !visible(e)) { continue; }
    // Cut off on the right, or partly on the left (wholly left of the window is hidden on purpose,
    // like the application form's honeypot field, and scrolls nowhere).
    if ((r.right > width + 1 || (r.left < -1 && r.right > 0)) && !scroller(e)) { wide.push(e); }
    const x = getComputedStyle(e).overflowX;
    if ((x === "auto" || x === "scroll") && e.scrollWidth > e.clientWidth + 1
        && !e.matches("pre, code, [data-scroll-x]")) { scrolling.push(e); }
  }
  // The innermost ones say what to fix.
  const innermost = wide.filter((e) => !wide.some((o) => o !== e && e.contains(o)));
  return {
    documentWidth: document.documentElement.scrollWidth,
    windowWidth: width,
    wide: innermost.slice(0, 8).map(describe),
    scrolling: scrolling.slice(0, 4).map(describe),
  };
}"""


def sign_in(page: Page, site_url: str, email: str) -> None:
    page.goto(f"{site_url}/accounts/login/")
    page.fill("#id_login", email)
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))


def kind_of(path: str) -> str:
    """``/deals/42/edit/`` -> ``/deals/<id>/edit/``: one page of each kind is enough."""
    return re.sub(r"/\d+(?=/)", "/<id>", path)


def same_site_paths(page: Page, selector: str, site_url: str) -> list[str]:
    hrefs = page.locator(selector).evaluate_all(
        "links => links.filter(a => !a.target && !a.hasAttribute('download')).map(a => a.href)"
    )
    paths = []
    for href in hrefs:
        url = urlsplit(href)
        if f"{url.scheme}://{url.netloc}" == site_url and not SKIP.search(url.path):
            paths.append(url.path)
    return list(dict.fromkeys(paths))


@dataclass
class Walk:
    """What one person's walk opened and what did not fit."""

    who: str
    tried: set[str] = field(default_factory=set)  # the kinds of page asked for
    opened: dict[str, str] = field(default_factory=dict)  # kind -> the path that answered
    problems: list[str] = field(default_factory=list)


def walk(
    page: Page,
    site_url: str,
    who: str,
    shots: Path,
    extra: Iterable[str] = (),
    checks: Iterable[Callable[[Page], str | None]] = (),
) -> Walk:
    """Open the start page, every page of the navigation and, one of each kind, the pages they link
    to (``MAX_DEPTH`` deep); measure each (and run ``checks`` on it) and keep its screenshot."""
    result = Walk(who)
    page.goto(f"{site_url}/")
    start = urlsplit(page.url).path
    queue: list[tuple[str, int]] = [(start, 0)]
    queue += [(path, 0) for path in same_site_paths(page, "nav.prm-navbar a[href]", site_url)]
    queue += [(path, 1) for path in extra]
    name = who.split("@")[0]
    while queue:
        path, depth = queue.pop(0)
        kind = kind_of(path)
        if kind in result.tried:
            continue
        result.tried.add(kind)
        response = page.goto(f"{site_url}{path}")
        # A suspended company's people land on a notice that answers 403: measure it like any page.
        if response is None or (response.status != 200 and not (path == start and response.status == 403)):
            result.problems.append(f"{path}: answered {response.status if response else 'nothing'}")
            continue
        landed = urlsplit(page.url).path  # after a redirect: the page it led to
        result.tried.add(kind_of(landed))
        result.opened.setdefault(kind_of(landed), landed)
        page.wait_for_load_state("load")
        slug = kind_of(landed).replace("<id>", "id").replace("/", "-").rstrip("-") or "-home"
        shot = shots / f"{name}{slug}.png"
        page.screenshot(path=str(shot), full_page=True)
        measured = page.evaluate(MEASURE)
        if measured["documentWidth"] > measured["windowWidth"] or measured["wide"] or measured["scrolling"]:
            result.problems.append(
                f"{path} ({shot.name}): page {measured['documentWidth']} px in a "
                f"{measured['windowWidth']} px window; sticking out: {measured['wide']}; "
                f"scrolling sideways: {measured['scrolling']}"
            )
        result.problems += [
            f"{path} ({shot.name}): {problem}" for check in checks if (problem := check(page))
        ]
        if depth < MAX_DEPTH:
            queue += [(link, depth + 1) for link in same_site_paths(page, "main a[href]", site_url)]
    return result


def navigation_fits_one_row(page: Page) -> str | None:
    """At a desktop width the expanded navigation's items stand on one row (a German label that
    wraps a row of the bar shows as items at different heights)."""
    tops = page.locator("nav.prm-navbar .navbar-nav > .nav-item").evaluate_all(
        "items => items.filter(i => i.offsetParent).map(i => Math.round(i.getBoundingClientRect().top))"
    )
    height = page.locator("nav.prm-navbar").evaluate("nav => nav.getBoundingClientRect().height")
    if tops and (max(tops) - min(tops) > 8 or height > 80):
        return f"the navigation takes {len(set(tops))} rows ({height:.0f} px high)"
    return None


# Boxes that must hold their own words: a label longer than its button, chip or badge would spill
# over its border (the width checks above do not see it while it stays inside the window).
BOXES = ".btn, .nav-link, .badge, .status-chip, .card, .dropdown-item"


def words_stay_in_their_boxes(page: Page) -> str | None:
    spilled = page.locator(BOXES).evaluate_all(
        """boxes => boxes
          .filter(b => b.offsetParent && getComputedStyle(b).overflowX === "visible"
                       && b.scrollWidth > b.clientWidth + 1
                       // a counter pinned over an icon (the bell's unread count) stands out on purpose
                       && ![...b.children].some(c => getComputedStyle(c).position === "absolute"))
          .slice(0, 6)
          .map(b => `${b.className}: "${b.innerText.trim().replace(/\\s+/g, " ").slice(0, 40)}"`
                    + ` ${b.scrollWidth} px in ${b.clientWidth} px`)"""
    )
    return f"words spill out of their boxes: {spilled}" if spilled else None


def open_the_menu(page: Page, site_url: str, who: str, shots: Path) -> list[str]:
    """On a phone the navigation is a menu behind a button beside the company's name: opened (and
    its first dropdown with it), every item is on screen and nothing needs a sideways scroll."""
    page.goto(f"{site_url}/")
    problems = []
    brand = page.locator("nav.prm-navbar .navbar-brand").bounding_box()
    button = page.locator(".navbar-toggler").bounding_box()
    assert brand and button
    if button["y"] >= brand["y"] + brand["height"]:  # a long company name pushed it down
        problems.append(f"the menu button is on a row of its own, below {brand}")
    page.locator(".navbar-toggler").click()
    expect(page.locator("#mainnav")).to_have_class(re.compile(r"\bshow\b"))
    toggles = page.locator("#mainnav .dropdown-toggle")
    if toggles.count():
        toggles.first.click()
        expect(page.locator("#mainnav .dropdown-menu.show").first).to_be_visible()
    shot = shots / f"{who.split('@')[0]}-menu.png"
    page.screenshot(path=str(shot), full_page=True)
    measured = page.evaluate(MEASURE)
    items = page.locator("#mainnav .nav-link:visible, #mainnav .dropdown-menu.show .dropdown-item:visible")
    boxes = items.evaluate_all("els => els.map(e => e.getBoundingClientRect()).map(r => [r.left, r.right])")
    if measured["documentWidth"] > measured["windowWidth"] or measured["wide"]:
        problems.append(f"the open menu ({shot.name}) sticks out: {measured['wide']}")
    if not boxes or any(left < 0 or right > PHONE["width"] for left, right in boxes):
        problems.append(f"the open menu's items ({shot.name}) are not all on screen: {boxes}")
    return problems


@pytest.fixture
def demo(settings: Any, tmp_path: Path) -> None:
    factories.media_storage(settings, tmp_path / "media")
    factories.default_tiers()
    call_command("seed_demo", stdout=io.StringIO())


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    root = Path(os.environ.get("PRM_SCREENSHOT_DIR") or tmp_path / "screenshots")
    root.mkdir(parents=True, exist_ok=True)
    return root


def admin_forms() -> list[str]:
    """Forms the admin's walk may not meet by following the first link of a kind: a draft deal's
    edit form, and the claim form of an approved fund request."""
    draft = Deal.objects.filter(partner__legal_name=ACME, status=DealStatus.DRAFT).first()
    request = FundRequest.objects.filter(partner__legal_name=ACME, status=RequestStatus.APPROVED).first()
    assert draft is not None and request is not None, "the demo has no draft deal or approved request"
    return [f"/deals/{draft.pk}/edit/", f"/funds/requests/{request.pk}/claim/"]


def test_every_partner_page_fits_a_390_px_phone(
    browser: Browser, site_url: str, demo: None, shots: Path
) -> None:
    phone = shots / "390"
    phone.mkdir(exist_ok=True)
    problems: list[str] = []
    # Before signing in: the start page, the login page, the application form, the password reset.
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    public = ["/accounts/login/", "/accounts/password/reset/"]
    checks = [words_stay_in_their_boxes]
    result = walk(context.new_page(), site_url, "anonymous", phone, public, checks=checks)
    problems += [f"signed out: {problem}" for problem in result.problems]
    missed = {"/accounts/login/", "/apply/", "/accounts/password/reset/"} - set(result.opened)
    assert not missed, f"the signed-out walk did not reach {missed}: {sorted(result.opened)}"
    context.close()
    for who in PARTNER_PEOPLE:
        context = browser.new_context(viewport=PHONE, device_scale_factor=1)
        page = context.new_page()
        sign_in(page, site_url, who)
        extra = admin_forms() if who == ADMIN else []
        result = walk(page, site_url, who, phone, extra, checks=[words_stay_in_their_boxes])
        problems += [f"{who} {problem}" for problem in result.problems]
        problems += [f"{who} {problem}" for problem in open_the_menu(page, site_url, who, phone)]
        if who == ADMIN:
            missed = [kind for kind in ADMIN_MUST_SEE if kind not in result.opened]
            if missed:
                problems.append(f"{who}: the walk did not reach {missed}; it opened {sorted(result.opened)}")
        context.close()
    assert not problems, "pages that do not fit 390 px:\n" + "\n".join(problems)


@pytest.fixture
def german(settings: Any, tmp_path: Path) -> None:
    """The German catalog compiled (the repository holds only the .po files)."""
    msgfmt = shutil.which("msgfmt")
    assert msgfmt, "msgfmt (GNU gettext) is needed to compile the German messages"
    locale = tmp_path / "locale"
    for path in django_settings.LOCALE_PATHS:
        for po in Path(path).glob("*/LC_MESSAGES/django.po"):
            mo = locale / po.relative_to(path).with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([msgfmt, "-o", str(mo), str(po)], check=True)
    settings.LOCALE_PATHS = [locale]


def test_every_partner_page_fits_1280_px_in_german(
    browser: Browser, site_url: str, demo: None, german: None, shots: Path
) -> None:
    desktop = shots / "1280-de"
    desktop.mkdir(exist_ok=True)
    problems: list[str] = []
    for who in PARTNER_PEOPLE[:2]:  # the admin sees every item; sales the deal pages as theirs
        context = browser.new_context(viewport=DESKTOP, device_scale_factor=1, locale="de-DE")
        page = context.new_page()
        sign_in(page, site_url, who)
        assert page.locator("html").get_attribute("lang") == "de"
        extra = admin_forms() if who == ADMIN else []
        checks = [navigation_fits_one_row, words_stay_in_their_boxes]
        result = walk(page, site_url, who, desktop, extra, checks=checks)
        problems += [f"{who} {problem}" for problem in result.problems]
        context.close()
    assert not problems, "pages that do not fit 1280 px in German:\n" + "\n".join(problems)
