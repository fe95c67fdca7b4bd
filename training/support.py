"""Courses a support case may be about (partners.support.linkables): the courses offered to the
person, as the course policy decides. Courses are vendor content, so vendor staff working the case
see which course it is; authors also get its page in the admin."""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from partners.support.linkables import CHOICES_LIMIT, Linkable
from prm.tenancy import Actor

from .models import Course
from .policies import course_policy


def _choices(actor: Actor) -> list[tuple[int, str]]:
    if not actor.is_partner:
        return []
    courses = course_policy.scope(actor).only("pk", "title").order_by("title", "pk")
    return [(course.pk, course.title) for course in courses[:CHOICES_LIMIT]]


def _resolve(actor: Actor, ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    if actor.is_partner:
        courses = course_policy.scope(actor).filter(pk__in=list(ids)).only("pk", "title")
        return {course.pk: (course.title, reverse("training:course", args=[course.pk])) for course in courses}
    if not actor.is_vendor:
        return {}
    author = course_policy.can(actor, "author")
    courses = Course.objects.filter(pk__in=list(ids)).only("pk", "title")
    return {
        course.pk: (course.title, reverse("admin:training_course_change", args=[course.pk]) if author else "")
        for course in courses
    }


def linkables() -> list[Linkable]:
    return [Linkable(key="training.course", label=_("Course"), choices=_choices, resolve=_resolve)]
