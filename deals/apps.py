from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from prm.roles import VendorRole


class DealsConfig(AppConfig):
    name = "deals"
    verbose_name = _("Deal registration and leads")
    # What the one search box finds of this app (prm.search).
    search_sources = "deals.search.sources"
    default_auto_field = "django.db.models.BigAutoField"
    # The notification kinds this app sends, for the settings page (prm.notification_kinds).
    notification_kinds = "deals.notifications.KINDS"
    # ``manage.py seed_demo`` calls this after the partners' demo data.
    demo_seeder = "deals.demo.seed"
    # Panels on the partner home and the vendor dashboard (partners.views.app_panels).
    partner_home_panel = "deals.panels.partner_home_panel"
    vendor_home_panel = "deals.panels.vendor_home_panel"
    # Pipeline by stage and deals awaiting review on the partner 360 page (partners.vendor_360).
    partner_360_panel = "deals.panels.partner_360_panel"
    # The deal and lead KPIs of the partner scorecards (partners.performance.kpis).
    kpis = "deals.kpis.KPIS"
    # The product authorizations on the partner's company page (partners.panels.app_panels).
    company_panel = "deals.panels.company_panel"
    # The demo's product line that needs an authorization: after training's demo, whose
    # certifications its rule counts (partners' seed_demo runs these after every demo_seeder).
    demo_seeder_after = "deals.demo.seed_authorizations"
    # What a support case may be about (partners.support.linkables).
    support_linkables = "deals.support.linkables"
    # The public partner locator's product-line filter and its enquiries, which become leads
    # (partners.locator.registry).
    locator = "deals.locator.LOCATOR"

    vendor_role_permissions = {
        VendorRole.CHANNEL_ACCOUNT_MANAGER: {
            "deals.view_deal",
            "deals.change_deal",
            "deals.view_product",
            "deals.view_lead",
            "deals.add_lead",
            "deals.change_lead",
            # The portfolio's product authorizations: granted and revoked by hand through the
            # services (deals.admin), the requirements read-only.
            "deals.view_partnerauthorization",
            "deals.add_partnerauthorization",
            "deals.change_partnerauthorization",
            "deals.view_authorizationrequirement",
        },
        VendorRole.FINANCE: {"deals.view_deal", "deals.view_product"},
        VendorRole.CONTENT_MANAGER: {"deals.view_product"},
    }

    def ready(self) -> None:
        # The vendor filters' tier and product options, kept until one changes
        # (deals.selectors.filter_choices, prm.catalogue_cache).
        from partners.models import Tier
        from prm import catalogue_cache

        from .models import Product
        from .selectors import FILTER_CHOICES_CACHE

        catalogue_cache.invalidate_on_change(FILTER_CHOICES_CACHE, Tier, Product)

        # The app's CSV exports, built by Celery (prm.exports).
        from .exports import register_exports

        register_exports()
