"""Browser tests run Debian's Chromium headless through Playwright (never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage

CHROMIUM = os.environ.get("PRM_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--disable-dev-shm-usage",
        ],
    }


@pytest.fixture
def site_url(live_server: Any, settings: Any) -> str:
    """Links in e-mails point at the live server."""
    settings.SITE_URL = live_server.url
    return live_server.url


# --- Content-Security-Policy: every page the browser tests open must load without a violation ---
# Chromium reports each blocked script, style, image or frame as a console error ("Refused to ...
# because it violates the following Content Security Policy directive ..."); the init script also
# turns every `securitypolicyviolation` event into one, with the directive and the blocked source.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"} `
    + `in ${event.documentURI} (${event.sourceFile || "?"}:${event.lineNumber})`);
});
"""


def _is_csp_violation(text: str) -> bool:
    return "Content Security Policy" in text or text.startswith("CSP violation:")


def _watch_for_csp_violations(context: BrowserContext, violations: list[str]) -> None:
    context.add_init_script(script=_REPORT_CSP_VIOLATIONS)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and _is_csp_violation(message.text):
            where = message.page.url if message.page else "?"
            violations.append(f"{where}: {message.text}")

    context.on("console", on_console)


@pytest.fixture
def csp_violations(browser: Browser, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The CSP violations of every browser context opened in this test: the `context`/`page`
    fixtures' and any a test opens itself with ``browser.new_context()``."""
    violations: list[str] = []
    open_context = browser.new_context

    def new_context(*args: Any, **kwargs: Any) -> BrowserContext:
        context = open_context(*args, **kwargs)
        _watch_for_csp_violations(context, violations)
        return context

    monkeypatch.setattr(browser, "new_context", new_context)
    yield violations


@pytest.fixture(autouse=True)
def _no_csp_violations(csp_violations: list[str]) -> Iterator[None]:
    yield
    # Torn down after the test's pages and contexts (set up later, closed earlier), so every
    # console message has arrived.
    assert not csp_violations, "Content-Security-Policy violations:\n" + "\n".join(csp_violations)
