"""The Content-Security-Policy header, and templates that live within it: no inline scripts, no
inline event handlers; the admin's inline styles carry the request's nonce. (The browser tests in
tests/e2e check that every page they open loads without a violation.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from prm.models import User
from tests.helpers import login

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# A <script> element with code in it: no src= and not a data block (json_script, allauth's
# data-allauth-onload JSON).
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)


def policy_of(response: Any) -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def test_pages_carry_the_policy(db: Any) -> None:
    policy = policy_of(Client().get("/accounts/login/"))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no nonce on a page without inline code
    assert policy["style-src"] == ["'self'"]
    assert policy["style-src-attr"] == ["'unsafe-inline'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    everything = " ".join(value for values in policy.values() for value in values)
    assert "'unsafe-eval'" not in everything


def test_lesson_videos_may_be_framed_from_the_two_hosts_we_embed(db: Any) -> None:
    policy = policy_of(Client().get("/accounts/login/"))
    assert policy["frame-src"] == ["https://www.youtube-nocookie.com", "https://player.vimeo.com"]


def test_templates_have_no_inline_script_or_event_handler() -> None:
    offenders = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        source = template.read_text()
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER):
            offenders += [f"{template.relative_to(TEMPLATES)}: {hit}" for hit in pattern.findall(source)]
    # Scripts go into static/js/ (reading data from json_script elements or data- attributes).
    assert not offenders, "\n".join(offenders)


def test_admin_inline_styles_carry_the_nonce_of_the_response(program_admin: User) -> None:
    client = login(program_admin)
    response = client.get("/admin/mdf/fundrequest/")
    assert response.status_code == 200
    nonce_sources = [value for value in policy_of(response)["style-src"] if value.startswith("'nonce-")]
    assert len(nonce_sources) == 1
    nonce = nonce_sources[0].removeprefix("'nonce-").removesuffix("'")
    styles = re.findall(r"<style([^>]*)>", response.content.decode())
    assert styles and all(f'nonce="{nonce}"' in attributes for attributes in styles)


def test_admin_periodic_task_form_runs_no_inline_script(program_admin: User) -> None:
    """django_celery_beat's template had an inline <script> the policy blocks (found by the
    accessibility crawl, issue 14); templates/admin/djcelery/ moves it to static/js/."""
    page = login(program_admin).get("/admin/django_celery_beat/periodictask/add/").content.decode()
    assert not INLINE_SCRIPT.findall(page), INLINE_SCRIPT.findall(page)
    assert 'src="/static/js/periodic-task-form.js"' in page
