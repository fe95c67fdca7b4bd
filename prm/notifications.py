"""Notifications kernel: an in-app row now, an e-mail from Celery after the transaction commits.

Every app notifies through :func:`notify` (a user) or :func:`send_email` (an address that has no
account yet, such as an invitation). Nothing is sent if the transaction rolls back.

A user's inbox is theirs alone: it is read through :func:`inbox` and :func:`notification_get`, and
marked read through :func:`mark_read`, each of which only ever touches the user's own rows.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

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


def inbox(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first."""
    return Notification.objects.filter(recipient=user).order_by("-created_at", "-id")


def notification_get(*, user: User, pk: Any) -> Notification:
    """One of the user's own notifications; another user's id is the same 404 as a missing one."""
    notification = inbox(user=user).filter(pk=pk).first()
    if notification is None:
        raise Http404
    return notification


def mark_read(*, user: User, ids: Collection[int] | None = None, every: bool = False) -> int:
    """Mark the user's own unread notifications read: those with ``ids``, or ``every`` one.
    Returns how many changed. Ids of other users' notifications change nothing; one already read
    keeps the time it was first read. Not audited: reading one's notifications changes nothing
    anyone else relies on."""
    if (ids is None) == (not every):
        raise ValueError("mark_read takes either ids or every=True")
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=list(ids))
    return unread.update(read_at=timezone.now())


# Notifications whose e-mails one broker message carries (notify_bulk).
_EMAIL_BATCH = 200


def notify_bulk(notices: list[dict[str, Any]]) -> list[Notification]:
    """Many notifications in one INSERT, each given as :func:`notify`'s keyword arguments, with
    their e-mails sent after the commit as :func:`notify` sends them. For a batch job that tells
    thousands of people in one run (the monthly tier evaluation). The caller runs in the system
    scope, which may write both partner rows and vendor staff's (those get no partner id, as in
    :func:`notify`)."""
    rows = []
    for notice in notices:
        recipient = notice["recipient"]
        rows.append(
            Notification(
                recipient=recipient,
                kind=notice["kind"],
                title=str(notice["title"])[:200],
                body=notice.get("body", ""),
                url=notice.get("url", ""),
                partner_id=None if recipient.vendor_role else notice.get("partner_id"),
            )
        )
    created = Notification.objects.bulk_create(rows, batch_size=2000)
    emailed = [
        notification.pk
        for notification, notice in zip(created, notices, strict=True)
        if notice.get("email", True)
        and notification.recipient.email_notifications
        and notification.recipient.is_active
    ]
    if emailed:
        from .tasks import send_notification_emails

        def send() -> None:
            for start in range(0, len(emailed), _EMAIL_BATCH):
                send_notification_emails.delay(emailed[start : start + _EMAIL_BATCH])

        transaction.on_commit(send)
    return created
