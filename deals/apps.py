from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from prm.roles import VendorRole


class DealsConfig(AppConfig):
    name = "deals"
    verbose_name = _("Deal registration and leads")
    default_auto_field = "django.db.models.BigAutoField"
    # ``manage.py seed_demo`` calls this after the partners' demo data.
    demo_seeder = "deals.demo.seed"
    # Panels on the partner home and the vendor dashboard (partners.views.app_panels).
    partner_home_panel = "deals.panels.partner_home_panel"
    vendor_home_panel = "deals.panels.vendor_home_panel"
    # The deal and lead KPIs of the partner scorecards (partners.performance.kpis).
    kpis = "deals.kpis.KPIS"
    # What a support case may be about (partners.support.linkables).
    support_linkables = "deals.support.linkables"

    vendor_role_permissions = {
        VendorRole.CHANNEL_ACCOUNT_MANAGER: {
            "deals.view_deal",
            "deals.change_deal",
            "deals.view_product",
            "deals.view_lead",
            "deals.add_lead",
            "deals.change_lead",
        },
        VendorRole.FINANCE: {"deals.view_deal", "deals.view_product"},
        VendorRole.CONTENT_MANAGER: {"deals.view_product"},
    }

    def ready(self) -> None:
        # The app's CSV exports, built by Celery (prm.exports).
        from .exports import register_exports

        register_exports()
