"""The registry of notification kinds: what each ``notify(kind=...)`` means to the person who gets it.

Every app declares the kinds it sends, with a label and a plain-words description for the
notification settings page, and registers them through its config (the same pattern as the panels,
``partners.panels``), so the kernel never imports an app above it::

    class DealsConfig(AppConfig):
        notification_kinds = "deals.notifications.KINDS"      # a list of NotificationKind

A kind is shown to the audiences that can receive it (partner users, vendor staff). A *mandatory*
kind (security: a password changed, one's access changed) cannot be turned off or held back for
the digest; the page shows it locked with the reason. ``tests/prm/test_notification_settings.py``
reads the apps' source and fails for a ``notify`` call whose kind is not registered here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

PARTNER = "partner"
VENDOR = "vendor"


class Channel(models.TextChoices):
    # "E-mail" also keeps the notification in the portal: the bell is the record, the e-mail a copy.
    EMAIL = "email", _("In the portal and by e-mail")
    IN_APP = "in_app", _("In the portal only")
    OFF = "off", _("Off")


@dataclass(frozen=True)
class NotificationKind:
    key: str
    label: str | Promise
    description: str | Promise
    group: str | Promise
    audiences: frozenset[str] = frozenset({PARTNER})
    # The partner roles that receive it (e.g. only admins hear about their company's status);
    # None: every partner role. Vendor staff are not narrowed by role.
    partner_roles: frozenset[str] | None = None
    mandatory: bool = False
    # Why it cannot be turned off, shown beside the locked choice.
    mandatory_reason: str | Promise = ""
    default: str = Channel.EMAIL

    def for_user(self, user: object, partner_role: str = "") -> bool:
        if getattr(user, "vendor_role", ""):
            return VENDOR in self.audiences
        return PARTNER in self.audiences and (
            self.partner_roles is None or partner_role in self.partner_roles
        )


def kind(
    key: str,
    label: str | Promise,
    description: str | Promise,
    *,
    group: str | Promise,
    audiences: tuple[str, ...] = (PARTNER,),
    partner_roles: tuple[str, ...] | None = None,
    mandatory_reason: str | Promise = "",
    default: str = Channel.EMAIL,
) -> NotificationKind:
    """Shorthand for the apps' lists: ``mandatory_reason`` given means the kind is mandatory."""
    return NotificationKind(
        key=key,
        label=label,
        description=description,
        group=group,
        audiences=frozenset(audiences),
        partner_roles=frozenset(partner_roles) if partner_roles is not None else None,
        mandatory=bool(mandatory_reason),
        mandatory_reason=mandatory_reason,
        default=default,
    )


ACCOUNT = _("Your account")

# The kernel's own kinds.
KINDS = [
    kind(
        "account.password_changed",
        _("Your password was changed"),
        _(
            "Sent when the password of your account is changed or reset, so you notice at once if it "
            "was not you."
        ),
        group=ACCOUNT,
        audiences=(PARTNER, VENDOR),
        mandatory_reason=_(
            "A security notice: it is always sent, so nobody can take over your account unnoticed."
        ),
    ),
    kind(
        "account.mfa_changed",
        _("Your two-factor authentication was changed"),
        _(
            "Sent when an authenticator app or security key is added to or removed from your account, "
            "or new recovery codes are made, so you notice at once if it was not you."
        ),
        group=ACCOUNT,
        audiences=(PARTNER, VENDOR),
        mandatory_reason=_(
            "A security notice: it is always sent, so nobody can take over your account unnoticed."
        ),
    ),
    kind(
        "export.ready",
        _("Your export is ready"),
        _("A CSV export you started has been built and can be downloaded under Your exports."),
        group=ACCOUNT,
        audiences=(PARTNER, VENDOR),
    ),
]


@functools.cache
def kind_registry() -> dict[str, NotificationKind]:
    """Every installed app's kinds, keyed by kind, in INSTALLED_APPS order."""
    registry: dict[str, NotificationKind] = {}
    for config in apps.get_app_configs():
        if path := getattr(config, "notification_kinds", None):
            for entry in import_string(path):
                if entry.key in registry:
                    raise ImproperlyConfigured(f"Notification kind {entry.key!r} is registered twice.")
                registry[entry.key] = entry
    return registry


def kinds_for(user: object, partner_role: str = "") -> list[NotificationKind]:
    """The kinds ``user`` (acting in ``partner_role`` for a partner user) can receive, for their
    settings page."""
    return [entry for entry in kind_registry().values() if entry.for_user(user, partner_role)]
