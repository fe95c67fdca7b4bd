"""Notifications kernel: an in-app row now, an e-mail from Celery after the transaction commits.

Every app notifies through :func:`notify` (a user) or :func:`send_email` (an address that has no
account yet, such as an invitation). Nothing is sent if the transaction rolls back.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from .models import Notification, User
from .tenancy import system_scope


def notify(
    *,
    recipient: User,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    partner_id: int | None = None,
    email: bool = True,
) -> Notification:
    if recipient.vendor_role:
        # A notification to vendor staff is vendor-side data, even when a partner's action caused
        # it (an invitation accepted, an application submitted): it is written in the vendor scope
        # and tagged with no tenant, so no partner can ever read it.
        with system_scope():
            notification = Notification.objects.create(
                recipient=recipient, kind=kind, title=title[:200], body=body, url=url, partner_id=None
            )
    else:
        notification = Notification.objects.create(
            recipient=recipient, kind=kind, title=title[:200], body=body, url=url, partner_id=partner_id
        )
    if email and recipient.email_notifications and recipient.is_active:
        from .tasks import send_notification_email

        send_notification_email.delay_on_commit(notification.pk)
    return notification


def notify_many(*, recipients: list[User], **kwargs: Any) -> list[Notification]:
    return [notify(recipient=recipient, **kwargs) for recipient in recipients]


def send_email(*, to: list[str], subject: str, template: str, context: dict[str, Any]) -> None:
    """Render ``template`` (``.txt``, and ``.html`` when present) and send it after commit.

    ``context`` travels through the broker, so it must be JSON-serialisable: ids and strings.
    """
    from .tasks import send_templated_email

    transaction.on_commit(
        lambda: send_templated_email.delay(to=to, subject=subject, template=template, context=context)
    )


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
