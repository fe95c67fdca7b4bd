"""The notification kinds the training app sends (registered in prm.notification_kinds)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from prm.notification_kinds import kind

TRAINING = _("Training and certifications")

KINDS = [
    kind(
        "training.certified",
        _("Certification earned"),
        _("You passed a course and earned its certification."),
        group=TRAINING,
    ),
    kind(
        "training.expiring",
        _("Certification expiring soon"),
        _("One of your certifications expires soon; renew it to keep it."),
        group=TRAINING,
    ),
    kind(
        "training.expired",
        _("Certification expired"),
        _("One of your certifications expired."),
        group=TRAINING,
    ),
    kind(
        "training.quiz_attempts_reset",
        _("Quiz attempts reset"),
        _("A training manager gave you new attempts at a course's quiz."),
        group=TRAINING,
    ),
]
