"""Kernel Celery tasks: thin, idempotent, and run in an explicit database scope."""

from __future__ import annotations

import contextlib
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone, translation

from .i18n import for_user
from .models import Notification
from .tenancy import system_scope

# Importing prm.webhooks also registers its deliver_webhook task (named "prm.tasks.deliver_webhook",
# defined there to keep the two modules out of an import circle) wherever these tasks are found.
from .webhooks import deliver, due_delivery_ids


def _absolute(url: str) -> str:
    if not url or url.startswith("http"):
        return url
    return settings.SITE_URL.rstrip("/") + url


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_email(notification_id: int) -> bool:
    with system_scope():
        notification = (
            Notification.objects.select_for_update()
            .select_related("recipient")
            .filter(pk=notification_id)
            .first()
        )
        # Idempotent: a redelivered task finds the e-mail already sent and does nothing.
        if notification is None or notification.emailed_at is not None:
            return False
        # In the recipient's language, whoever caused it (prm.i18n).
        with for_user(notification.recipient) as language:
            context = {
                "notification": notification,
                "url": _absolute(notification.url),
                "LANGUAGE_CODE": language,
            }
            text = render_to_string("emails/notification.txt", context)
            html = render_to_string("emails/notification.html", context)
            subject = notification.display_title
        message = EmailMultiAlternatives(
            subject=f"[PRM] {subject}", body=text, to=[notification.recipient.email]
        )
        message.attach_alternative(html, "text/html")
        message.send()
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    return True


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_notification_emails(notification_ids: list[int]) -> int:
    """The e-mails of a batch of notifications (``notifications.notify_bulk``): one broker message
    for many, each sent as :func:`send_notification_email` sends it; a retry skips those sent."""
    return sum(1 for notification_id in notification_ids if send_notification_email(notification_id))


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_templated_email(
    *, to: list[str], subject: str, template: str, context: dict[str, Any], language: str = ""
) -> bool:
    # In the language the subject was written in (prm.notifications.send_email).
    with translation.override(language or settings.LANGUAGE_CODE):
        context = {**context, "site_url": settings.SITE_URL, "LANGUAGE_CODE": translation.get_language()}
        text = render_to_string(f"{template}.txt", context)
        html = None
        with contextlib.suppress(TemplateDoesNotExist):
            html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(subject=f"[PRM] {subject}", body=text, to=to)
    if html is not None:
        message.attach_alternative(html, "text/html")
    message.send()
    return True


@shared_task
def sweep_orphan_files() -> int:
    """Daily: delete uploads whose database rows were never committed (see prm.files)."""
    from .files import sweep_orphan_files as sweep

    return len(sweep().deleted)


@shared_task
def send_due_webhooks() -> int:
    """Every minute: the retries whose pause is over (and any delivery whose task was lost)."""
    ids = due_delivery_ids()
    for delivery_id in ids:
        deliver(delivery_id=delivery_id)
    return len(ids)
