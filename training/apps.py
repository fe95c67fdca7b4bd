from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from prm.roles import VendorRole

_AUTHORING = {
    f"training.{verb}_{model}"
    for verb in ("add", "change", "delete", "view")
    for model in (
        "course",
        "lesson",
        "quiz",
        "question",
        "choice",
        "certification",
        "learningpath",
        "learningpathcourse",
    )
}

_PROGRESS = {"training.view_enrollment", "training.view_quizattempt"}


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = _("Training and certification")
    # What the one search box finds of this app (prm.search).
    search_sources = "training.search.sources"
    default_auto_field = "django.db.models.BigAutoField"
    # The notification kinds this app sends, for the settings page (prm.notification_kinds).
    notification_kinds = "training.notifications.KINDS"
    demo_seeder = "training.demo.seed"
    # The certification KPIs of the partner scorecards, one per track (partners.performance.kpis).
    kpis = "training.kpis.kpis"
    # The certifications deals' product-authorization rules count people in (deals.authorizations).
    authorization_certifications = "training.authorizations.CERTIFICATIONS"
    # Certified people and expiring certifications on the partner 360 page (partners.vendor_360).
    partner_360_panel = "training.panels.partner_360_panel"
    # What a support case may be about (partners.support.linkables).
    support_linkables = "training.support.linkables"

    # Learners' enrollments and attempts are read-only in the admin (scoped to a CAM's portfolio);
    # it is where those who may reset quiz attempts do it (training.policies.ATTEMPT_RESET_ROLES).
    vendor_role_permissions = {
        VendorRole.CONTENT_MANAGER: _AUTHORING | _PROGRESS | {"training.view_certificationaward"},
        VendorRole.CHANNEL_ACCOUNT_MANAGER: _PROGRESS
        | {"training.view_certificationaward", "training.view_course"},
    }

    def ready(self) -> None:
        # The app's CSV exports, built by Celery (prm.exports).
        from .exports import register_exports

        register_exports()
        # The catalogue every partner user of a role sees alike is kept until one of the rows it is
        # read from changes (training.selectors.training_catalogue, prm.catalogue_cache).
        from prm import catalogue_cache

        from .models import Certification, Course, LearningPath, LearningPathCourse, Lesson
        from .selectors import CATALOGUE_CACHE

        catalogue_cache.invalidate_on_change(
            CATALOGUE_CACHE,
            Course,
            Lesson,
            Certification,
            LearningPath,
            LearningPathCourse,
            m2m=[Certification.courses.through],
        )
