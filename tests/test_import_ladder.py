"""The import ladder (ARCHITECTURE.md), kept by import-linter's contracts in pyproject.toml:
``prm <- partners <- deals | mdf | training | content <- incentives``, and no import circles. Run
here so the README's test command (and CI) fails on an import that climbs or crosses the ladder."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from django.urls import resolve, reverse
from importlinter import api

REPOSITORY = Path(__file__).resolve().parent.parent
APPS = ["prm", "partners", "deals", "mdf", "training", "content", "incentives"]
# What each app may use: the apps below it on the ladder.
BELOW = {
    "prm": set(),
    "partners": {"prm"},
    "deals": {"prm", "partners"},
    "mdf": {"prm", "partners"},
    "training": {"prm", "partners"},
    "content": {"prm", "partners"},
    "incentives": {"prm", "partners", "deals", "mdf", "training", "content"},
}
# An app named in a template: a URL namespace ({% url 'deals:detail' %}), an admin URL
# ('admin:mdf_fundrequest_change') or a template directory ({% include "deals/_panel.html" %}).
APP_REFERENCE = re.compile(
    r"""\{%\s*url\s+['"](\w+):|['"]admin:([a-z]+)_|\{%\s*(?:include|extends)\s+['"](?:admin/)?(\w+)/"""
)


def test_the_contracts_describe_the_ladder() -> None:
    """Someone weakening the contracts (a layer dropped, the circles check gone) fails here."""
    configuration = api.read_configuration(str(REPOSITORY / "pyproject.toml"))
    assert sorted(configuration["session_options"]["root_packages"]) == sorted(APPS)
    contracts = {contract["id"]: contract for contract in configuration["contracts_options"]}
    assert contracts["ladder"]["type"] == "layers"
    assert contracts["ladder"]["layers"] == [
        "incentives",
        "deals | mdf | training | content",
        "partners",
        "prm",
    ]
    assert contracts["no-circles"]["type"] == "acyclic_siblings"
    assert sorted(contracts["no-circles"]["ancestors"]) == sorted(APPS)


def test_the_code_keeps_the_import_ladder() -> None:
    # The venv's own lint-imports, beside this interpreter; from the repository root it analyses
    # this checkout. No cache: nothing is written into the working tree.
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report


def test_breaking_the_kernel_circles_kept_names_and_urls() -> None:
    """The webhook task moved out of prm.tasks keeps the name queued messages carry, and the URL
    root that no longer imports partners.views still serves the home page at /."""
    from partners.views import home
    from prm import tasks, webhooks

    assert webhooks.deliver_webhook.name == "prm.tasks.deliver_webhook"
    assert tasks.send_due_webhooks.name == "prm.tasks.send_due_webhooks"
    assert reverse("home") == "/"
    assert resolve("/").func is home


def test_app_templates_keep_the_ladder() -> None:
    """import-linter reads Python only: an app's templates may link to, or include from, the apps
    below it, never a sibling or an app above (that is what panels contributed through
    partners.panels are for). The site layout (base.html) and allauth's pages are the project's."""
    templates = REPOSITORY / "templates"
    climbing = []
    for app in APPS:
        for folder in (templates / app, templates / "admin" / app):
            for template in sorted(folder.rglob("*.html")):
                for match in APP_REFERENCE.finditer(template.read_text()):
                    named = next(group for group in match.groups() if group)
                    if named in BELOW and named != app and named not in BELOW[app]:
                        climbing.append(f"{template.relative_to(templates)}: {match.group(0)}")
    assert climbing == []
