from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from prm.roles import VendorRole


class MdfConfig(AppConfig):
    name = "mdf"
    verbose_name = _("Market development funds")
    # What the one search box finds of this app (prm.search).
    search_sources = "mdf.search.sources"
    default_auto_field = "django.db.models.BigAutoField"
    # The notification kinds this app sends, for the settings page (prm.notification_kinds).
    notification_kinds = "mdf.notifications.KINDS"
    demo_seeder = "mdf.demo.seed"
    # The MDF KPI of the partner scorecards (partners.performance.kpis).
    kpis = "mdf.kpis.KPIS"
    # Funds allocated / requested / paid this period on the partner 360 page (partners.vendor_360).
    partner_360_panel = "mdf.panels.partner_360_panel"
    # What a support case may be about (partners.support.linkables).
    support_linkables = "mdf.support.linkables"

    vendor_role_permissions = {
        VendorRole.CHANNEL_ACCOUNT_MANAGER: {
            "mdf.view_fundrequest",
            "mdf.change_fundrequest",
            # The portfolio's claims, read-only (the admin scopes them): finance decides them
            # (PRODUCT.md), the CAM follows them from the Funds menu.
            "mdf.view_fundclaim",
            "mdf.view_allocation",
            "mdf.view_ledgerentry",
            "mdf.view_fundperiod",
            "mdf.view_budget",
        },
        VendorRole.FINANCE: {
            "mdf.view_fundrequest",
            "mdf.view_fundclaim",
            "mdf.change_fundclaim",
            "mdf.view_allocation",
            "mdf.view_ledgerentry",
            "mdf.view_fundperiod",
            "mdf.view_budget",
        },
    }

    def ready(self) -> None:
        # The app's CSV exports, built by Celery (prm.exports).
        from .exports import register_exports

        register_exports()
