from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from prm.roles import VendorRole


class PartnersConfig(AppConfig):
    name = "partners"
    verbose_name = _("Partners and program")
    # What the one search box finds of this app (prm.search).
    search_sources = "partners.search.sources"
    default_auto_field = "django.db.models.BigAutoField"
    # The notification kinds this app sends, for the settings page (prm.notification_kinds).
    notification_kinds = "partners.notifications.KINDS"
    # Who a user is acting as (role, partner, portfolio), for code that starts from a user id
    # rather than a request (prm.exports.resolve_actor in a Celery task).
    actor_resolver = "partners.middleware.resolve_actor"
    # The engine's own KPI, the channel account manager's rating (partners.performance.kpis).
    kpis = "partners.performance.kpis.KPIS"
    # The partners app's own panels (partners.panels.app_panels takes a list): open support cases
    # (partners.support.panels) and the joint business plan (partners.plans.panels) on the partner
    # home and the partner 360 page; open cases on the vendor dashboard.
    partner_home_panel = [
        "partners.support.panels.partner_home_panel",
        "partners.plans.panels.partner_home_panel",
    ]
    vendor_home_panel = "partners.support.panels.vendor_home_panel"
    partner_360_panel = [
        "partners.support.panels.partner_360_panel",
        "partners.plans.panels.partner_360_panel",
    ]

    # Model permissions per vendor role (program admins hold all); used by the admin and console.
    vendor_role_permissions = {
        VendorRole.CHANNEL_ACCOUNT_MANAGER: {
            "partners.view_partner",
            "partners.change_partner",
            "partners.view_membership",
            "partners.view_invitation",
            "partners.view_partnerapplication",
            # No tiers or audit events: the program's tables, not a CAM's to work on (the admin
            # index shows only what a role works on); a partner's history is on its own pages.
            # Ratings of the portfolio's partners (the admin; partners.performance.policies), and
            # the templates they are scored on, read-only.
            "partners.view_partnerassessment",
            "partners.add_partnerassessment",
            "partners.change_partnerassessment",
            "partners.view_scorecardtemplate",
            # Tier reviews of the portfolio (the tier reviews page decides them; the admin lists).
            "partners.view_tiergraceperiod",
            "partners.view_tierchangeproposal",
        },
        VendorRole.FINANCE: {"partners.view_partner", "partners.view_tier", "prm.view_auditevent"},
        VendorRole.CONTENT_MANAGER: {"partners.view_partner", "partners.view_tier"},
        # Support staff work cases in the console; in the admin they keep the case kinds, the SLA
        # targets and the teams up to date.
        VendorRole.SUPPORT: {
            "partners.view_casekind",
            "partners.add_casekind",
            "partners.change_casekind",
            "partners.view_slatarget",
            "partners.add_slatarget",
            "partners.change_slatarget",
            "partners.view_supportteam",
            "partners.change_supportteam",
        },
    }

    def ready(self) -> None:
        # The app's CSV exports, built by Celery (prm.exports).
        from .exports import register_exports
        from .support.exports import register_exports as register_support_exports

        register_exports()
        register_support_exports()
        # Cached actors need no signal receivers: database triggers move the people's
        # actor_version on when their membership, partner, tier or portfolio changes
        # (partners.actor_cache).
