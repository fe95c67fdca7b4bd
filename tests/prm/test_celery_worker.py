"""A real Celery worker process, against the real Redis broker, sends the e-mails."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from partners import services
from partners.models import PartnerRole
from prm.models import Notification
from prm.notifications import notify
from prm.tenancy import system_scope
from tests import factories

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


def _database_url() -> str:
    """The test database (pytest-django's, possibly with an xdist suffix) as a URL."""
    db = connection.settings_dict
    host = quote(db["HOST"], safe="") if db["HOST"].startswith("/") else db["HOST"]
    port = f":{db['PORT']}" if db["PORT"] else ""
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{host}{port}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(tmp_path: Path) -> Any:
    from prm.celery import app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    # This process publishes for real (no eager mode) to a queue only our worker consumes.
    previous = {
        "task_always_eager": app.conf.task_always_eager,
        "task_default_queue": app.conf.task_default_queue,
    }
    app.conf.update(task_always_eager=False, task_default_queue=queue)
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "prm.settings.test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    log_path = tmp_path / "worker.log"
    log_file = log_path.open("wb")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "prm",
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}@%h",
        ],
        env=env,
        cwd=settings.BASE_DIR,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    try:
        yield mail_dir
    finally:
        app.conf.update(**previous)
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    log_file.close()
    output = log_path.read_text(errors="replace")
    assert "Traceback" not in output, output


def _plain_text(raw: str) -> str:
    """The decoded text/plain part of a message written by the file e-mail backend."""
    message = email.message_from_string(raw.split("\n" + "-" * 79, 1)[0], policy=email.policy.default)
    return "\n".join(
        [f"{name}: {value}" for name, value in message.items()] + [message.get_body(("plain",)).get_content()]
    )


def _wait_for_mail(mail_dir: Path, timeout: float = 120) -> str:
    # Generous: on a loaded 2-core machine the worker alone can take half a minute to start.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = sorted(mail_dir.glob("*.log"))
        if files and files[0].stat().st_size:
            time.sleep(0.2)  # let the backend finish writing
            return _plain_text(files[0].read_text())
        time.sleep(0.2)
    log = mail_dir.parent / "worker.log"
    raise AssertionError(
        "the worker sent no e-mail in time:\n" + (log.read_text(errors="replace") if log.exists() else "")
    )


def test_worker_sends_the_invitation_email(celery_worker_process: Path, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    partner = factories.PartnerFactory(legal_name="Worker Test Partner")
    admin = factories.partner_user(partner, role=PartnerRole.ADMIN)
    invitation = services.invitation_create(
        actor=factories.actor_for(admin),
        partner=partner,
        email="new.colleague@example.com",
        role=PartnerRole.SALES,
    )
    message = _wait_for_mail(celery_worker_process)
    assert "To: new.colleague@example.com" in message
    assert "Worker Test Partner" in message
    assert services.invitation_url(invitation) in message


def test_worker_emails_a_notification_once_inside_the_database_scope(celery_worker_process: Path) -> None:
    user = factories.partner_user(email="notify.me@example.com")
    with system_scope():  # as the service that notifies; its commit hands the e-mail to the worker
        notification = notify(
            recipient=user, kind="test", title="Your deal was approved", partner_id=user.membership.partner_id
        )
    message = _wait_for_mail(celery_worker_process)
    assert "Your deal was approved" in message
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        notification.refresh_from_db()
        if notification.emailed_at:
            break
        time.sleep(0.2)
    # The worker read and updated an RLS-protected row: it ran in an explicit scope.
    assert Notification.objects.get(pk=notification.pk).emailed_at is not None
