"""The signed-in person's own profile settings (their language); the notification settings are in
prm.notifications."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from . import audit
from .errors import ApplicationError
from .models import User


def save_language(*, actor: Any, language: str) -> Any:
    """Save the acting user's own language ("" follows the browser); audited (in their partner's
    trail for a partner user). Anything but one of the portal's languages is refused."""
    user = actor.user
    if user is None:
        raise ApplicationError(_("Sign in to change your language."))
    if language and language not in dict(settings.LANGUAGES):
        raise ApplicationError(_("Choose one of the offered languages."), field="language")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.language != language:
            before = {"language": user.language}
            user.language = language
            user.save(update_fields=["language"])
            audit.record(
                actor=user,
                action="user.language_changed",
                target=user,
                before=before,
                after={"language": language},
                partner_id=actor.partner_id,
            )
    return user
