from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncentivesConfig(AppConfig):
    name = "incentives"
    verbose_name = _("Incentives, co-op accrual and attribution")
    default_auto_field = "django.db.models.BigAutoField"
    demo_seeder = "incentives.demo.seed"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to the lower apps' events)
