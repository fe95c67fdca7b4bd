from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from prm.roles import VendorRole


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = _("Incentives, co-op accrual and attribution")
    default_auto_field = "django.db.models.BigAutoField"
    # The notification kinds this app sends, for the settings page (prm.notification_kinds).
    notification_kinds = "incentives.notifications.KINDS"
    demo_seeder = "incentives.demo.seed"
    # The earnings and MDF-return KPIs of the partner scorecards (partners.performance.kpis).
    kpis = "incentives.kpis.KPIS"
    # Attribution and return on investment on the MDF pages (partners.panels.app_panels).
    mdf_request_panel = "incentives.panels.mdf_request_panel"
    mdf_report_panel = "incentives.panels.mdf_report_panel"
    mdf_report_csv_rows = "incentives.panels.mdf_report_csv_rows"
    # Earnings this year and unpaid on the partner 360 page (partners.vendor_360).
    partner_360_panel = "incentives.panels.partner_360_panel"

    # Program admins hold every permission; finance reads programs, earnings and statements in the
    # admin (and reverses accruals from there: the service checks the role, not a model permission).
    vendor_role_permissions = {
        VendorRole.FINANCE: {
            "incentives.view_incentiveprogram",
            "incentives.view_earningentry",
            "incentives.view_statement",
            "incentives.view_settlementline",
        },
    }

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to the lower apps' events)
        from .exports import register_exports

        # The app's CSV exports, built by Celery (prm.exports).
        register_exports()
