from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from .roles import VendorRole


class PrmConfig(AppConfig):
    name = "prm"
    verbose_name = _("Portal kernel")
    default_auto_field = "django.db.models.BigAutoField"
    demo_seeder = "prm.demo.seed"
    # The notification kinds the kernel sends itself (password changes, exports).
    notification_kinds = "prm.notification_kinds.KINDS"
    # Program admins hold every permission; finance keeps the exchange rates reports convert with.
    # Channel account managers get none of the kernel's tables: they are not theirs to work on.
    vendor_role_permissions = {
        VendorRole.FINANCE: {
            "prm.view_exchangerate",
            "prm.add_exchangerate",
            "prm.change_exchangerate",
            "prm.view_holiday",
        },
    }

    def ready(self) -> None:
        # The export tasks ("prm.tasks.build_export", "prm.tasks.sweep_exports") live in prm.exports,
        # which queues the first; importing it here registers them in every process, workers too.
        from . import (  # noqa: F401  (registers system checks, schema extension)
            api_schema,
            checks,
            exports,
            rls,
        )

        # ``__in_ids``: a list of ids as one array parameter (a portfolio's partners in every
        # statement of a channel account manager's pages).
        from .lookups import register as register_lookups

        register_lookups()

        # Every migrate (also the test database's) ends by (re)applying the tenant row-level
        # security policies to every tenant-owned table, so a new table cannot be forgotten.
        post_migrate.connect(rls.apply_policies_after_migrate, dispatch_uid="prm.rls.apply_policies")

        # What installed apps show in the admin unnamed gets names in the catalog.
        from .derived_names import name_installed_apps_models

        name_installed_apps_models()

        # A password changed, set or reset is a mandatory notice to its owner (prm.notifications).
        from allauth.account.signals import password_changed, password_reset, password_set

        from .notifications import password_changed_notice

        for name, signal in (("changed", password_changed), ("set", password_set), ("reset", password_reset)):
            signal.connect(password_changed_notice, dispatch_uid=f"prm.password_notice.{name}")

        # So is a change to two-factor authentication: an authenticator added or removed, new
        # recovery codes.
        from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_reset

        from .notifications import mfa_changed_notice

        for name, signal in (
            ("added", authenticator_added),
            ("removed", authenticator_removed),
            ("reset", authenticator_reset),
        ):
            signal.connect(mfa_changed_notice, dispatch_uid=f"prm.mfa_notice.{name}")

        # What the user row read with it (prm.auth_backends: whether the user has a TOTP
        # authenticator) is dropped when an authenticator comes or goes in the same request.
        from .auth_backends import forget_loaded_state

        for name, signal in (("added", authenticator_added), ("removed", authenticator_removed)):
            signal.connect(forget_loaded_state, dispatch_uid=f"prm.user_loaded_state.{name}")

        # The bell's count read with the request's scope is dropped by any save or delete of a
        # notification (the services' update() and bulk_create() drop it themselves).
        from django.db.models.signals import post_delete, post_save

        from .models import Notification
        from .notifications import forget_loaded_unread

        post_save.connect(forget_loaded_unread, sender=Notification, dispatch_uid="prm.loaded_unread.save")
        post_delete.connect(
            forget_loaded_unread, sender=Notification, dispatch_uid="prm.loaded_unread.delete"
        )
