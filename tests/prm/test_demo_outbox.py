"""The demo's outbox (issue 14: ``bin/portal`` printed ~4,800 lines of e-mail HTML): one terminal
line per e-mail, the messages kept as files and read by vendor staff at /demo/outbox/, all of it
on the local (demo) settings only."""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection
from django.test import override_settings

from prm import demo_outbox
from tests import factories
from tests.helpers import login
from tests.test_docker_compose import _manage_under_production_settings

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '<p>Hello <b>Dana</b></p><script>alert("x")</script><img src=x onerror="alert(1)">'


@pytest.fixture
def outbox(tmp_path: Path) -> Any:
    with override_settings(
        PRM_DEMO_OUTBOX_DIR=str(tmp_path / "outbox"),
        EMAIL_BACKEND="prm.demo_outbox.OutboxBackend",
        ROOT_URLCONF="prm.demo_urls",
    ):
        yield tmp_path / "outbox"


def _send(subject: str, to: str, body_html: str = HOSTILE) -> None:
    message = EmailMultiAlternatives(subject, "Hello Dana (text)", "portal@prm.example", [to])
    message.attach_alternative(body_html, "text/html")
    message.send()


def test_the_backend_prints_one_line_per_e_mail_and_keeps_the_message(outbox: Path, capsys: Any) -> None:
    _send("Deal DR-1 approved", "dana@northwind.example")
    _send("Your statement", "finance@northwind.example")
    printed = capsys.readouterr().out.splitlines()
    assert printed == [
        "[mail] to dana@northwind.example: Deal DR-1 approved",
        "[mail] to finance@northwind.example: Your statement",
    ]
    files = sorted(outbox.iterdir())
    assert len(files) == 2 and all(demo_outbox.NAME.match(f.name) for f in files)
    kept = demo_outbox.kept_messages()
    assert [m.subject for m in kept] == ["Your statement", "Deal DR-1 approved"]  # newest first
    full = demo_outbox.kept_message(kept[1].name)
    assert full is not None
    assert full.to == "dana@northwind.example" and "<b>Dana</b>" in full.html
    assert full.text.strip() == "Hello Dana (text)"
    assert get_connection().__class__ is demo_outbox.OutboxBackend


@pytest.mark.django_db
def test_vendor_staff_read_the_outbox_with_the_html_sandboxed(outbox: Path) -> None:
    _send("Deal DR-1 approved", "dana@northwind.example")
    response = login(factories.vendor_user()).get("/demo/outbox/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Deal DR-1 approved" in page and "dana@northwind.example" in page
    # The HTML is only inside the sandboxed frame's srcdoc, escaped: never markup of this page.
    assert '<script>alert("x")</script>' not in page
    assert 'sandbox=""' in page and 'id="outbox-html"' in page
    srcdoc = page.split('srcdoc="', 1)[1].split('"', 1)[0]
    assert html.unescape(srcdoc) == HOSTILE


@pytest.mark.django_db
def test_the_outbox_page_is_for_vendor_staff_and_opens_kept_messages_only(outbox: Path) -> None:
    _send("Deal DR-1 approved", "dana@northwind.example")
    assert login(factories.partner_user()).get("/demo/outbox/").status_code == 404
    vendor = login(factories.vendor_user())
    for name in ("../../../etc/passwd", "x.eml", "20260101T000000000000-000000000000.eml"):
        response = vendor.get("/demo/outbox/", {"m": name})
        assert response.status_code == 404, name
        assert "That message is not in the outbox any more." in response.content.decode()


@pytest.mark.django_db
def test_an_empty_outbox_says_what_to_do(outbox: Path) -> None:
    page = login(factories.vendor_user()).get("/demo/outbox/").content.decode()
    assert "No e-mails yet." in page


@pytest.mark.django_db
def test_the_test_and_production_urls_have_no_outbox(client: Any) -> None:
    assert client.get("/demo/outbox/").status_code == 404  # prm.urls, as under production


def test_production_settings_neither_route_the_outbox_nor_use_its_backend() -> None:
    result = _manage_under_production_settings(
        "shell",
        "-c",
        "from django.conf import settings; from django.urls import resolve, Resolver404\n"
        "try:\n    resolve('/demo/outbox/'); print('routed')\nexcept Resolver404:\n    print('not routed')\n"
        "print('backend:', settings.EMAIL_BACKEND, 'urls:', settings.ROOT_URLCONF)",
    )
    assert "not routed" in result.stdout, result.stdout + result.stderr
    assert "backend: django.core.mail.backends.smtp.EmailBackend urls: prm.urls" in result.stdout


def test_the_local_settings_use_the_outbox() -> None:
    local = (ROOT / "prm" / "settings" / "local.py").read_text()
    assert 'default="prm.demo_outbox.OutboxBackend"' in local
    assert 'ROOT_URLCONF = "prm.demo_urls"' in local


def test_bin_portal_folds_the_seeding_e_mails_into_one_line() -> None:
    spec = importlib.util.spec_from_file_location("launcher", ROOT / "bin" / "launcher.py")
    assert spec and spec.loader
    launcher = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launcher)
    output = (
        "Demo logins:\n[mail] to a@x.example: Welcome\n[mail] to b@x.example: Welcome\n  admin@vendor / pw"
    )
    summary = launcher.demo_summary(output, "http://127.0.0.1:8000")
    assert summary.splitlines() == [
        "Demo logins:",
        "  admin@vendor / pw",
        "2 demo e-mails were sent while seeding: read them at http://127.0.0.1:8000/demo/outbox/",
    ]
