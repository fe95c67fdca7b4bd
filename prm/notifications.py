"""Notifications kernel: an in-app row now, an e-mail from Celery after the transaction commits.

Every app notifies through :func:`notify` (a user) or :func:`send_email` (an address that has no
account yet, such as an invitation). Nothing is sent if the transaction rolls back.

A user's inbox is theirs alone: it is read through :func:`inbox` and :func:`notification_get`, and
marked read through :func:`mark_read`, each of which only ever touches the user's own rows.

Each user chooses, per kind of notification (``prm.notification_kinds``), where it goes:

* ``email`` (the default, today's behaviour): kept in the portal **and** e-mailed. The in-app row
  is always kept when a notification is sent at all: the bell is the record, the e-mail a copy;
* ``in_app``: kept in the portal, never e-mailed;
* ``off``: nothing at all, no row and no e-mail (``notify`` returns None).

A mandatory kind (security notices) ignores the choice: it is always kept and e-mailed at once.
With the daily digest on, the e-mails of the other kinds are not sent one by one: the rows wait
(``digest_pending``) for :func:`send_digest`, run once a day by Celery beat
(``prm.tasks.send_notification_digests``). A kind nobody registered behaves as the default.
The user's ``email_notifications`` switch (admin) still stops every e-mail but mandatory ones.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, NamedTuple

from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, connections, transaction
from django.db.models import QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from . import audit
from .errors import ApplicationError
from .i18n import for_user, language_of, render_message, to_message
from .models import Notification, NotificationDigest, User
from .notification_kinds import Channel, kind_registry, kinds_for
from .statements import Statement
from .tenancy import ANONYMOUS, Actor, system_scope


def channel_for(user: User, kind: str) -> str:
    """Where ``kind`` goes for ``user``: their choice, else the kind's default; mandatory kinds
    always go by e-mail."""
    entry = kind_registry().get(kind)
    if entry is not None and entry.mandatory:
        return Channel.EMAIL
    chosen = (user.notification_channels or {}).get(kind)
    if chosen in Channel.values:
        return chosen
    return entry.default if entry is not None else Channel.EMAIL


def notify(
    *,
    recipient: User,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    partner_id: int | None = None,
    email: bool = True,
) -> Notification | None:
    """Tell ``recipient`` about something, as their settings for ``kind`` say (see the module's
    docstring); None when they turned the kind off."""
    kept, emailed, digest = _delivery(recipient, kind, email)
    if not kept:
        return None
    forget_loaded_unread()
    fields = {
        "recipient": recipient,
        "kind": kind,
        **_texts(recipient, title, body),
        "url": url,
        "digest_pending": digest,
    }
    if recipient.vendor_role:
        # A notification to vendor staff is vendor-side data, even when a partner's action caused
        # it (an invitation accepted, an application submitted): it is written in the vendor scope
        # and tagged with no tenant, so no partner can ever read it.
        with system_scope():
            notification = Notification.objects.create(**fields, partner_id=None)
    else:
        notification = Notification.objects.create(**fields, partner_id=partner_id)
    if emailed:
        from .tasks import send_notification_email

        send_notification_email.delay_on_commit(notification.pk)
    return notification


def notify_many(*, recipients: list[User], **kwargs: Any) -> list[Notification]:
    """``notify`` each recipient; the ones who turned the kind off are left out of the answer."""
    sent = (notify(recipient=recipient, **kwargs) for recipient in recipients)
    return [notification for notification in sent if notification is not None]


def send_email(
    *, to: list[str], subject: str, template: str, context: dict[str, Any], language: str = ""
) -> None:
    """Render ``template`` (``.txt``, and ``.html`` when present) and send it after commit, in
    ``language``: by default the active one, the language ``subject`` was just written in (an
    address with no account has no language of its own; an invitation goes out in its sender's).

    ``context`` travels through the broker, so it must be JSON-serialisable: ids and strings.
    """
    from .tasks import send_templated_email

    language = language or translation.get_language() or settings.LANGUAGE_CODE
    transaction.on_commit(
        lambda: send_templated_email.delay(
            to=to, subject=str(subject), template=template, context=context, language=language
        )
    )


def _unread(actor: Actor, user_id: int) -> QuerySet[Notification]:
    # Unordered: a count has no use for Meta.ordering (which made PostgreSQL sort the rows first).
    # The inbox index (recipient, read_at, -created_at) finds them; the policy's partner column
    # is checked on each row.
    return (
        Notification.objects.filter(recipient_id=user_id, read_at__isnull=True).order_by().values_list("pk")
    )


# Counted on every page (the bell in the navigation): compiled once (prm.statements).
_UNREAD = Statement("prm.unread_notifications", _unread, values=["user_id"], count=True)


def unread_count(*, user: User) -> int:
    """How many of ``user``'s notifications are unread (the bell), in the current scope: the count
    read with the request's scope (:func:`unread_count_read`) while it still holds, else read now."""
    loaded = _loaded_unread(user.pk)
    if loaded is not None:
        return loaded
    return _UNREAD.count(ANONYMOUS, user_id=user.pk)


# --- The bell's count, read as the request begins -------------------------------------------------
# Every page shows the count; reading it in a statement of its own cost a round trip and a
# statement's parse and plan of the 2 shared cores (issue 11). ``partners.middleware`` sends it in
# the statement that writes the request's scope (prm.tenancy.tenant_scope's ``along``), which is
# the earliest point where row-level security lets it be read (the user row before it is read
# with no scope: prm_notification is a tenant table, whose policy shows no row then).
#
# The value holds for the request's own scope only (a nested scope, such as a service's
# system_scope, is another), and only until something writes a notification: every writer below
# drops it (notify, notify_bulk, mark_read: ``update()`` and ``bulk_create()`` send no signal), and
# a model signal catches any other save or delete (the admin). Then the count is read again,
# after the write, in the same transaction, as before. Kept on the database connection, which is
# the thread's and the request's (ActorMiddleware drops it when the request's transaction ends).
_LOADED_ATTRIBUTE = "prm_loaded_unread"


def unread_count_read(*, user: User) -> tuple[str, tuple] | None:
    """The unread count's kept statement and parameters for ``user``, to send with the scope;
    None when it cannot be sent that way (the count is then read on its own, when a page asks)."""
    return _UNREAD.scalar_sql(ANONYMOUS, user_id=user.pk)


def keep_loaded_unread(*, user: User, count: int) -> None:
    """Keep the count read with the scope just written (in the innermost open scope) for
    :func:`unread_count`."""
    connection = connections["default"]
    setattr(connection, _LOADED_ATTRIBUTE, (getattr(connection, "prm_open_scopes", 0), user.pk, int(count)))


def forget_loaded_unread(**_kwargs: Any) -> None:
    """Drop the count read with the scope: a notification was written (or the request ended)."""
    connection = connections["default"]
    if getattr(connection, _LOADED_ATTRIBUTE, None) is not None:
        setattr(connection, _LOADED_ATTRIBUTE, None)


def _loaded_unread(user_id: int) -> int | None:
    connection = connections["default"]
    loaded = getattr(connection, _LOADED_ATTRIBUTE, None)
    if loaded is None:
        return None
    depth, loaded_user_id, count = loaded
    # Only in the scope it was read in: not in a scope opened inside it, not after it closed.
    if loaded_user_id != user_id or depth != getattr(connection, "prm_open_scopes", 0):
        return None
    if not connection.in_atomic_block:
        return None
    return count


def _inbox_of(user_id: int) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient_id=user_id).order_by("-created_at", "-id")


def inbox(*, user: User) -> QuerySet[Notification]:
    """The user's own notifications, newest first."""
    return _inbox_of(user.pk)


class InboxRow(NamedTuple):
    """A notification as the inbox page lists it."""

    pk: int
    title: str
    body: str
    i18n: dict[str, Any]
    created_at: datetime
    read_at: datetime | None

    @property
    def display_title(self) -> str:
        """As Notification.display_title: the title in the active language (``prm.i18n``)."""
        return render_message((self.i18n or {}).get("title"), self.title)

    @property
    def display_body(self) -> str:
        return render_message((self.i18n or {}).get("body"), self.body)


def _inbox_count(actor: Actor, user_id: int) -> QuerySet[Notification]:
    return _inbox_of(user_id).values_list("pk")


def _inbox_rows(actor: Actor, user_id: int, bottom: int, top: int) -> QuerySet[Notification]:
    return _inbox_of(user_id).values_list(*InboxRow._fields)[bottom:top]


# The inbox page's two reads (its count and a page of rows), compiled once per shape (the page's
# bounds are its shape; prm.statements): building them through the ORM was a fifth of the page.
_INBOX_COUNT = Statement("prm.inbox_count", _inbox_count, values=["user_id"], count=True)
_INBOX_ROWS = Statement("prm.inbox_rows", _inbox_rows, values=["user_id"])


class InboxPages:
    """The user's inbox for a Paginator (its count and its slices), as :func:`inbox` lists it,
    read through the kept statements; rows are InboxRow."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id

    def count(self) -> int:
        return _INBOX_COUNT.count(ANONYMOUS, user_id=self.user_id)

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, bounds: slice) -> list[InboxRow]:
        if not isinstance(bounds, slice) or bounds.step is not None:
            raise TypeError("the inbox is read a page (a slice) at a time")
        bottom, top = bounds.start or 0, bounds.stop
        if top is None or bottom < 0:
            raise ValueError("a page of the inbox has bounds")
        if top <= bottom:
            return []  # an empty inbox's one page
        rows = _INBOX_ROWS.rows(ANONYMOUS, user_id=self.user_id, bottom=bottom, top=top)
        return [InboxRow._make(row) for row in rows]


def inbox_pages(*, user: User) -> InboxPages:
    """:func:`inbox` for the inbox page's paginator."""
    return InboxPages(user.pk)


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
    forget_loaded_unread()  # the bell of the page this request renders counts what is left
    return unread.update(read_at=timezone.now())


def _texts(recipient: User, title: Any, body: Any) -> dict[str, Any]:
    """The title and body to store: written in the recipient's language, with what they were made
    of when they came from ``prm.i18n.gettext`` so each reader gets them in theirs."""
    message = {key: to_message(text) for key, text in (("title", title), ("body", body))}
    message = {key: value for key, value in message.items() if value}
    with for_user(recipient):
        title_text = render_message(message.get("title"), str(title))
        body_text = render_message(message.get("body"), str(body or ""))
    return {"title": title_text[:200], "body": body_text, "i18n": message}


# Notifications whose e-mails one broker message carries (notify_bulk).
_EMAIL_BATCH = 200


def _delivery(recipient: User, kind: str, email: bool) -> tuple[bool, bool, bool]:
    """(kept, e-mailed at once, held for the digest) for one notification, as the recipient's
    settings for ``kind`` say (the module's docstring): :func:`notify` and :func:`notify_bulk`
    decide alike."""
    channel = channel_for(recipient, kind)
    if channel == Channel.OFF:
        return False, False, False
    entry = kind_registry().get(kind)
    mandatory = entry is not None and entry.mandatory
    wants_email = (
        email
        and channel == Channel.EMAIL
        and recipient.is_active
        and (recipient.email_notifications or mandatory)
    )
    digest = wants_email and recipient.notification_digest and not mandatory
    return True, wants_email and not digest, digest


def notify_bulk(notices: list[dict[str, Any]]) -> list[Notification]:
    """Many notifications in one INSERT, each given as :func:`notify`'s keyword arguments, kept,
    e-mailed or held for the digest as :func:`notify` would (those turned off are left out), with
    the e-mails sent after the commit. For a batch job that tells thousands of people in one run
    (the monthly tier evaluation). The caller runs in the system scope, which may write both
    partner rows and vendor staff's (those get no partner id, as in :func:`notify`)."""
    rows, emailed_rows = [], []
    for notice in notices:
        recipient = notice["recipient"]
        kept, emailed, digest = _delivery(recipient, notice["kind"], notice.get("email", True))
        if not kept:
            continue
        row = Notification(
            recipient=recipient,
            kind=notice["kind"],
            **_texts(recipient, notice["title"], notice.get("body", "")),
            url=notice.get("url", ""),
            partner_id=None if recipient.vendor_role else notice.get("partner_id"),
            digest_pending=digest,
        )
        rows.append(row)
        if emailed:
            emailed_rows.append(row)
    forget_loaded_unread()
    created = Notification.objects.bulk_create(rows, batch_size=2000)
    emailed = [row.pk for row in emailed_rows]  # bulk_create sets the ids on the same objects
    if emailed:
        from .tasks import send_notification_emails

        def send() -> None:
            for start in range(0, len(emailed), _EMAIL_BATCH):
                send_notification_emails.delay(emailed[start : start + _EMAIL_BATCH])

        transaction.on_commit(send)
    return created


# --- The settings page --------------------------------------------------------------------------
def notification_settings(*, actor: Actor) -> tuple[dict[str, str], bool]:
    """The acting user's channel for every kind they can receive, and whether the digest is on."""
    user = actor.user
    channels = {entry.key: channel_for(user, entry.key) for entry in kinds_for(user, actor.partner_role)}
    return channels, user.notification_digest


def save_notification_settings(*, actor: Actor, channels: dict[str, str], digest: bool) -> User:
    """Save the acting user's own choices (audited, in their partner's trail for a partner user).
    Only kinds the user can receive are kept; a mandatory kind cannot be changed, and anything
    else is refused with the field it belongs to."""
    user = actor.user
    if user is None:
        raise ApplicationError(_("Sign in to change your notification settings."))
    allowed = {entry.key: entry for entry in kinds_for(user, actor.partner_role)}
    for key, channel in channels.items():
        if key not in allowed:
            raise ApplicationError(_("There is no such kind of notification."), field=key)
        if channel not in Channel.values:
            raise ApplicationError(_("Choose one of the offered options."), field=key)
        if allowed[key].mandatory and channel != Channel.EMAIL:
            raise ApplicationError(
                _("This notice is always sent: %(why)s") % {"why": allowed[key].mandatory_reason}, field=key
            )
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = {"channels": dict(user.notification_channels or {}), "digest": user.notification_digest}
        # Only what differs from a kind's default is stored, so a default changed later reaches
        # everyone who never chose otherwise; mandatory kinds are never stored.
        stored = dict(user.notification_channels or {})
        for key, channel in channels.items():
            entry = allowed[key]
            if entry.mandatory or channel == entry.default:
                stored.pop(key, None)
            else:
                stored[key] = channel
        after = {"channels": stored, "digest": digest}
        if after != before:
            user.notification_channels = stored
            user.notification_digest = digest
            user.save(update_fields=["notification_channels", "notification_digest"])
            audit.record(
                actor=user,
                action="notifications.settings_changed",
                target=user,
                before=before,
                after=after,
                partner_id=actor.partner_id,
            )
    return user


# --- The daily digest ---------------------------------------------------------------------------
def digest_language(user: User) -> str:
    """The language of ``user``'s digest: their own (``prm.i18n.language_of``)."""
    return language_of(user)


def users_with_digest_due() -> list[int]:
    with system_scope():
        return list(
            Notification.objects.filter(digest_pending=True, emailed_at__isnull=True)
            .order_by()
            .values_list("recipient_id", flat=True)
            .distinct()
        )


def send_digest(*, user_id: int, day: Any = None) -> int:
    """Send ``user_id``'s digest of ``day`` (today by default) once: the notifications still
    waiting for it, in one e-mail in the user's language, then marked e-mailed. Returns how many
    it listed; 0 when there was nothing or the day's digest was already sent.

    The day's marker (``NotificationDigest``, unique per user and day) is written in the same
    transaction as the sending: a second worker's insert waits on the first and then fails, so it
    sends nothing; a failed send rolls the marker back, so the retry sends.
    """
    day = day or timezone.localdate()
    with system_scope():
        user = User.objects.filter(pk=user_id).first()
        if user is None:
            return 0
        waiting = Notification.objects.select_for_update().filter(
            recipient=user, digest_pending=True, emailed_at__isnull=True
        )
        if not user.is_active or not user.email_notifications:
            waiting.update(digest_pending=False)
            return 0
        try:
            with transaction.atomic():
                marker = NotificationDigest.objects.create(user=user, day=day)
        except IntegrityError:
            return 0  # already sent today (or being sent by another worker right now)
        notifications = list(waiting.order_by("created_at", "id"))
        if not notifications:
            marker.delete()
            return 0
        site = settings.SITE_URL.rstrip("/")
        for notification in notifications:
            notification.absolute_url = (
                site + notification.url if notification.url.startswith("/") else notification.url
            )
        language = digest_language(user)
        with translation.override(language):
            context = {
                "LANGUAGE_CODE": language,
                "user": user,
                "day": day,
                "notifications": notifications,
                "inbox_url": site + reverse("notifications"),
                "settings_url": site + reverse("notification_settings"),
            }
            subject = _("Your daily summary: %(count)s notifications") % {"count": len(notifications)}
            text = render_to_string("emails/notification_digest.txt", context)
            html = render_to_string("emails/notification_digest.html", context)
        message = EmailMultiAlternatives(subject=f"[PRM] {subject}", body=text, to=[user.email])
        message.attach_alternative(html, "text/html")
        message.send()
        now = timezone.now()
        Notification.objects.filter(pk__in=[n.pk for n in notifications]).update(
            emailed_at=now, digest_pending=False
        )
        marker.notifications = len(notifications)
        marker.save(update_fields=["notifications"])
    return len(notifications)


# Named as the kernel's other tasks but defined here: prm.tasks would import this module, which
# already imports prm.tasks (an import circle). prm.apps imports this module in every process.
@shared_task(
    name="prm.tasks.send_notification_digests",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def send_notification_digests() -> int:
    """Daily at 07:00 (beat): one digest e-mail to each user who chose it and has notifications
    waiting. Idempotent: a user's digest of the day is sent once, however often this runs (see
    :func:`send_digest`)."""
    day = timezone.localdate()
    return sum(1 for user_id in users_with_digest_due() if send_digest(user_id=user_id, day=day))


# --- Security notices ---------------------------------------------------------------------------
def _partner_of(user: User) -> int | None:
    """The partner a partner user's notice belongs to, so it lands in their own inbox: resolved by
    the app that knows memberships (its ``actor_resolver``, as prm.exports does; not imported from
    there, which imports this module)."""
    if user.vendor_role:
        return None
    for config in apps.get_app_configs():
        if path := getattr(config, "actor_resolver", None):
            return import_string(path)(user).partner_id
    return None


def password_changed_notice(*, user: User, **_kwargs: Any) -> None:
    """allauth's password_changed / password_set / password_reset: the mandatory notice."""
    from .i18n import gettext

    with system_scope():
        partner_id = _partner_of(user)
        notify(
            recipient=user,
            kind="account.password_changed",
            title=gettext("Your password was changed"),
            body=gettext("If this was not you, reset your password now and tell your administrator."),
            url=reverse("account_change_password"),
            partner_id=partner_id,
        )


def mfa_changed_notice(*, user: User, authenticator: Any = None, signal: Any = None, **_kwargs: Any) -> None:
    """allauth's authenticator_added / authenticator_removed / authenticator_reset (recovery codes
    made again), sent after the commit: the mandatory notice, saying which change it was."""
    from allauth.mfa import signals as mfa_signals
    from allauth.mfa.models import Authenticator

    from .i18n import gettext

    codes = getattr(authenticator, "type", None) == Authenticator.Type.RECOVERY_CODES
    if codes and signal is not mfa_signals.authenticator_reset:
        # Recovery codes come and go with the first or last authenticator: that one's notice
        # says it, one notice per change.
        return
    if signal is mfa_signals.authenticator_added:
        title = gettext("A new two-factor authenticator was added to your account")
    elif signal is mfa_signals.authenticator_removed:
        title = gettext("A two-factor authenticator was removed from your account")
    else:
        title = gettext("New recovery codes were made for your account")
    with system_scope():
        partner_id = _partner_of(user)
        notify(
            recipient=user,
            kind="account.mfa_changed",
            title=title,
            body=gettext("If this was not you, reset your password now and tell your administrator."),
            url=reverse("mfa_index"),
            partner_id=partner_id,
        )
