"""Courses in the one search box (prm.search): those the course policy lets the person open."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from prm.search import SearchHit, SearchSource
from prm.tenancy import Actor

from .policies import course_policy


def _courses(actor: Actor) -> QuerySet:
    return course_policy.scope(actor).only("pk", "title", "summary")


def _hits(actor: Actor, courses: list[Any]) -> list[SearchHit]:
    return [
        SearchHit(
            title=course.title,
            url=reverse("training:course", args=[course.pk]),
            detail=truncatechars(course.summary, 120),
        )
        for course in courses
    ]


def sources() -> list[SearchSource]:
    return [
        SearchSource(
            key="training.course",
            label=_("Courses"),
            rows=_courses,
            hits=_hits,
            order_by=("title", "pk"),
            position=50,
        )
    ]
