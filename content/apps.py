from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from prm.roles import VendorRole

_AUTHORING = {
    f"content.{verb}_{model}"
    for verb in ("add", "change", "delete", "view")
    for model in ("category", "asset", "announcement")
} | {"content.view_assetversion", "content.add_assetversion"}


class ContentConfig(AppConfig):
    name = "content"
    verbose_name = _("Content library")
    # What the one search box finds of this app (prm.search).
    search_sources = "content.search.sources"
    default_auto_field = "django.db.models.BigAutoField"
    demo_seeder = "content.demo.seed"
    # Announcements (and the newest assets) on the partner home page (partners.views.app_panels).
    partner_home_panel = "content.panels.partner_home_panel"
    # The content-engagement KPIs of the partner scorecards (partners.performance.kpis).
    kpis = "content.kpis.KPIS"
    # Downloads and top assets on the partner 360 page (partners.vendor_360).
    partner_360_panel = "content.panels.partner_360_panel"
    # Program admins hold every permission; content managers author the library in the admin.
    # Versions are never edited or deleted there: old ones are the record of what partners got.
    vendor_role_permissions = {VendorRole.CONTENT_MANAGER: _AUTHORING}

    def ready(self) -> None:
        # The app's CSV exports, built by Celery (prm.exports).
        from .exports import register_exports

        register_exports()
        # The library every partner of an audience sees alike is kept until one of the rows it is
        # read from changes (content.selectors.library, prm.catalogue_cache).
        from prm import catalogue_cache

        from .models import Asset, AssetVersion, Category
        from .selectors import LIBRARY_CACHE

        catalogue_cache.invalidate_on_change(
            LIBRARY_CACHE, Asset, AssetVersion, Category, m2m=[Asset.tiers.through]
        )
