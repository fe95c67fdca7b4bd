"""Lessons are written through the lesson services, from the course admin as from anywhere: the
body is sanitised before it is stored, creating, changing and deleting a lesson each leave an
audit event with who did it and what changed, and only the people who author courses may do it
(anyone else is refused and nothing changes). In the course admin a new lesson may take the
position of one deleted in the same save."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from partners.models import PartnerRole
from prm import audit
from prm.models import AuditEvent
from prm.policies import PermissionDenied
from prm.roles import VendorRole
from tests import factories
from tests.helpers import login
from tests.training import factories as f
from training import services
from training.models import Course, Lesson

pytestmark = pytest.mark.django_db

DIRTY = '<p onclick="steal()">Hello</p><script>alert(1)</script>'
CLEAN = "<p>Hello</p>"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# --- the services ---------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [VendorRole.CONTENT_MANAGER, VendorRole.PROGRAM_ADMIN])
def test_a_new_lesson_is_stored_sanitised_and_audited(role: str) -> None:
    built = f.course(lessons=1, quiz=False)
    author = factories.vendor_actor(role)
    lesson = services.lesson_save(
        actor=author, lesson=Lesson(course=built.course, position=2, title="Policies", body=DIRTY)
    )
    assert Lesson.objects.get(pk=lesson.pk).body == CLEAN
    [event] = events("training.lesson_created")
    assert (event.actor, event.target_id) == (author.user, str(lesson.pk))
    assert event.after["title"] == "Policies"
    assert event.after["body"] == CLEAN


def test_a_changed_lesson_records_only_what_changed() -> None:
    built = f.course(lessons=1, quiz=False)
    author = factories.vendor_actor(VendorRole.CONTENT_MANAGER)
    lesson = Lesson.objects.get(pk=built.lessons[0].pk)
    lesson.title = "Renamed"
    lesson.body = DIRTY
    services.lesson_save(actor=author, lesson=lesson)
    assert Lesson.objects.get(pk=lesson.pk).body == CLEAN
    [event] = events("training.lesson_changed")
    assert event.before == {"title": "Lesson 1", "body": "<p>Part 1</p>"}
    assert event.after == {"title": "Renamed", "body": CLEAN}

    services.lesson_save(actor=author, lesson=Lesson.objects.get(pk=lesson.pk))  # nothing changed
    assert len(events("training.lesson_changed")) == 1


def test_a_deleted_lesson_is_audited_with_what_it_was() -> None:
    built = f.course(lessons=2, quiz=False)
    author = factories.vendor_actor(VendorRole.CONTENT_MANAGER)
    gone = built.lessons[1]
    gone_pk = gone.pk
    services.lesson_delete(actor=author, lesson=gone)
    assert not Lesson.objects.filter(pk=gone_pk).exists()
    [event] = events("training.lesson_deleted")
    assert (event.actor, event.target_id) == (author.user, str(gone_pk))
    assert event.before["title"] == "Lesson 2"


@pytest.mark.parametrize("who", [VendorRole.CHANNEL_ACCOUNT_MANAGER, VendorRole.FINANCE, "partner admin"])
def test_only_authors_write_lessons(who: str, partner: Any) -> None:
    built = f.course(lessons=1, quiz=False)
    actor = (
        f.learner(partner, role=PartnerRole.ADMIN) if who == "partner admin" else factories.vendor_actor(who)
    )
    lesson = Lesson.objects.get(pk=built.lessons[0].pk)
    lesson.title = "Hijacked"
    with pytest.raises(PermissionDenied):
        services.lesson_save(actor=actor, lesson=lesson)
    with pytest.raises(PermissionDenied):
        services.lesson_save(actor=actor, lesson=Lesson(course=built.course, position=2, title="New"))
    with pytest.raises(PermissionDenied):
        services.lesson_delete(actor=actor, lesson=lesson)
    assert list(Lesson.objects.filter(course=built.course).values_list("title", flat=True)) == ["Lesson 1"]
    assert not AuditEvent.objects.filter(action__startswith="training.lesson_").exists()


# --- the course admin -----------------------------------------------------------------------------
def course_post(course: Course, lessons: list[dict[str, Any]]) -> dict[str, Any]:
    """The course change form as the admin posts it: the course's fields, then its lesson rows
    (existing ones, with their ``id``, first)."""
    data: dict[str, Any] = {
        "title": course.title,
        "slug": course.slug,
        "summary": course.summary,
        "partner_roles": list(course.partner_roles),
        "estimated_minutes": course.estimated_minutes,
        "lessons-TOTAL_FORMS": len(lessons),
        "lessons-INITIAL_FORMS": sum(1 for lesson in lessons if "id" in lesson),
        "lessons-MIN_NUM_FORMS": 0,
        "lessons-MAX_NUM_FORMS": 1000,
        "_save": "Save",
    }
    for index, lesson in enumerate(lessons):
        data[f"lessons-{index}-course"] = course.pk
        data.update({f"lessons-{index}-{name}": value for name, value in lesson.items()})
    return data


def test_the_course_admin_saves_and_deletes_lessons_through_the_services() -> None:
    built = f.course(lessons=2, quiz=False, published=False)
    first, second = built.lessons
    manager = factories.vendor_user(VendorRole.CONTENT_MANAGER)
    response = login(manager).post(
        reverse("admin:training_course_change", args=[built.course.pk]),
        course_post(
            built.course,
            [
                {"id": first.pk, "position": 1, "title": "Welcome", "body": DIRTY, "video_url": ""},
                {"id": second.pk, "position": 2, "title": "Lesson 2", "body": "", "DELETE": "on"},
                {
                    "position": 2,
                    "title": "Next steps",
                    "body": '<p>Go</p><img src="https://x.example/a.png">',
                },
            ],
        ),
    )
    assert response.status_code == 302, response.context and response.context["errors"]

    assert list(built.course.lessons.order_by("position").values_list("title", "body")) == [
        ("Welcome", CLEAN),
        ("Next steps", "<p>Go</p>"),
    ]
    changed = events("training.lesson_changed")
    assert [(e.actor, e.target_id, e.after) for e in changed] == [
        (manager, str(first.pk), {"title": "Welcome", "body": CLEAN})
    ]
    assert [(e.actor, e.target_id) for e in events("training.lesson_deleted")] == [(manager, str(second.pk))]
    new = built.course.lessons.get(title="Next steps")
    assert [(e.actor, e.target_id) for e in events("training.lesson_created")] == [(manager, str(new.pk))]
    assert audit.history_for(target=new).count() == 1
