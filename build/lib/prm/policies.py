"""The base of every policy: one object answers "may this actor do X to this object?" and
"which rows may this actor see?" (as a ``Q``), so list pages and detail pages never disagree."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.db import models
from django.db.models import Q
from django.http import Http404

from .errors import ApplicationError
from .tenancy import Actor

ModelT = TypeVar("ModelT", bound=models.Model)

NOTHING = Q(pk__in=[])


class PermissionDenied(ApplicationError):
    """An action the actor may not take on an object they can see."""


class Policy(Generic[ModelT]):
    model: type[ModelT]

    def visible(self, actor: Actor) -> Q:
        """Rows this actor may see. Fail closed: subclasses widen from nothing."""
        return NOTHING

    def can(self, actor: Actor, action: str, obj: ModelT | None = None) -> bool:
        return False

    # --- helpers shared by all selectors ------------------------------------------------------
    def scope(self, actor: Actor, queryset: models.QuerySet[ModelT] | None = None) -> models.QuerySet[ModelT]:
        queryset = self.model._default_manager.all() if queryset is None else queryset
        return queryset.filter(self.visible(actor))

    def get_or_404(
        self, actor: Actor, queryset: models.QuerySet[ModelT] | None = None, **lookup: Any
    ) -> ModelT:
        """The same 404 for "not yours" and "does not exist" (Zulip's access_stream_by_id)."""
        try:
            return self.scope(actor, queryset).get(**lookup)
        except (self.model.DoesNotExist, ValueError, TypeError) as exc:
            raise Http404 from exc

    def require(self, actor: Actor, action: str, obj: ModelT | None = None, message: str = "") -> None:
        if not self.can(actor, action, obj):
            raise PermissionDenied(message or "You are not allowed to do that.")
