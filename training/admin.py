"""Course authoring for training managers: courses with their lessons, quizzes with questions and
choices, certifications and learning paths. Publishing calls the same services as everything
else (audited, checks that every question has a right answer); lesson bodies are sanitised when
saved. Awards are read-only and scoped like every other tenant-owned admin list."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from partners.admin import ScopedAdminMixin
from partners.middleware import resolve_actor
from prm.errors import ApplicationError

from . import services
from .forms import CertificationAdminForm, CourseAdminForm
from .models import (
    Certification,
    CertificationAward,
    Choice,
    Course,
    LearningPath,
    LearningPathCourse,
    Lesson,
    Question,
    Quiz,
)


class LessonInline(admin.StackedInline):
    model = Lesson
    extra = 0
    ordering = ["position"]
    fields = [("position", "title"), "body", ("video_url", "attachment")]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    form = CourseAdminForm
    list_display = ["title", "status", "lesson_total", "estimated_minutes", "published_at"]
    list_filter = ["status"]
    search_fields = ["title", "slug", "summary"]
    prepopulated_fields = {"slug": ["title"]}
    # The status changes only through the publish / unpublish actions (audited, validated).
    readonly_fields = ["status", "published_at", "quiz_link", "preview_link"]
    fields = [
        "title",
        "slug",
        "summary",
        "partner_roles",
        "estimated_minutes",
        "status",
        "published_at",
        "quiz_link",
        "preview_link",
    ]
    inlines = [LessonInline]
    actions = ["publish_selected", "unpublish_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(lesson_total=Count("lessons"))

    @admin.display(description=_("lessons"), ordering="lesson_total")
    def lesson_total(self, obj: Course) -> int:
        return getattr(obj, "lesson_total", 0)

    @admin.display(description=_("quiz"))
    def quiz_link(self, obj: Course) -> str:
        if obj.pk is None:
            return _("Save the course first.")
        quiz = Quiz.objects.filter(course=obj).annotate(n=Count("questions")).first()
        if quiz is None:
            return format_html(
                '<a href="{}?course={}">{}</a>', reverse("admin:training_quiz_add"), obj.pk, _("Add a quiz")
            )
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:training_quiz_change", args=[quiz.pk]),
            _("Edit the quiz (%(n)s questions)") % {"n": quiz.n},
        )

    @admin.display(description=_("preview"))
    def preview_link(self, obj: Course) -> str:
        if obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            reverse("training:course", args=[obj.pk]),
            _("Preview as a learner sees it"),
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not Lesson:
            super().save_formset(request, form, formset, change)
            return
        lessons = formset.save(commit=False)
        for lesson in formset.deleted_objects:
            lesson.delete()
        for lesson in lessons:
            lesson.body = services.sanitise_html(lesson.body)
            lesson.save()
        formset.save_m2m()

    def _run(self, request: HttpRequest, queryset: QuerySet, action: Any, done: Any) -> None:
        actor = resolve_actor(request.user)
        count = 0
        for course in queryset:
            try:
                with transaction.atomic():
                    action(actor=actor, course=course)
                count += 1
            except ApplicationError as exc:
                self.message_user(request, f"{course}: {exc.message}", messages.ERROR)
        if count:
            self.message_user(request, done(count), messages.SUCCESS)

    @admin.action(description=_("Publish selected courses"))
    def publish_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(
            request,
            queryset,
            services.course_publish,
            lambda n: ngettext("%(n)d course published.", "%(n)d courses published.", n) % {"n": n},
        )

    @admin.action(description=_("Unpublish selected courses"))
    def unpublish_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(
            request,
            queryset,
            services.course_unpublish,
            lambda n: ngettext("%(n)d course unpublished.", "%(n)d courses unpublished.", n) % {"n": n},
        )


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    ordering = ["position"]
    fields = ["position", "text", "kind", "answers"]
    readonly_fields = ["answers"]
    show_change_link = True

    @admin.display(description=_("choices"))
    def answers(self, obj: Question) -> str:
        if obj.pk is None:
            return _("Save, then add the choices.")
        choices = list(obj.choices.all())
        right = sum(1 for choice in choices if choice.is_correct)
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:training_question_change", args=[obj.pk]),
            _("%(n)s choices, %(right)s right") % {"n": len(choices), "right": right},
        )


@admin.register(Quiz)
class QuizAdmin(admin.ModelAdmin):
    list_display = ["course", "pass_mark_percent", "max_attempts", "time_limit_minutes", "question_total"]
    list_select_related = ["course"]
    search_fields = ["course__title"]
    autocomplete_fields = ["course"]
    inlines = [QuestionInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(question_total=Count("questions"))

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"course": request.GET.get("course")} if request.GET.get("course") else {}

    @admin.display(description=_("questions"), ordering="question_total")
    def question_total(self, obj: Quiz) -> int:
        return getattr(obj, "question_total", 0)


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 2
    fields = ["text", "is_correct"]


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "quiz", "position", "kind"]
    list_filter = ["kind", "quiz"]
    list_select_related = ["quiz", "quiz__course"]
    search_fields = ["text", "quiz__course__title"]
    autocomplete_fields = ["quiz"]
    inlines = [ChoiceInline]


@admin.register(Certification)
class CertificationAdmin(admin.ModelAdmin):
    form = CertificationAdminForm
    list_display = ["name", "status", "validity_months", "course_total"]
    list_filter = ["status"]
    search_fields = ["name"]
    filter_horizontal = ["courses"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(course_total=Count("courses"))

    @admin.display(description=_("required courses"), ordering="course_total")
    def course_total(self, obj: Certification) -> int:
        return getattr(obj, "course_total", 0)


class LearningPathCourseInline(admin.TabularInline):
    model = LearningPathCourse
    extra = 1
    ordering = ["position"]
    fields = ["position", "course"]
    autocomplete_fields = ["course"]


@admin.register(LearningPath)
class LearningPathAdmin(admin.ModelAdmin):
    list_display = ["name", "partner_role"]
    list_filter = ["partner_role"]
    search_fields = ["name"]
    inlines = [LearningPathCourseInline]


@admin.register(CertificationAward)
class CertificationAwardAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Awards are made by the services when the courses are complete; the admin only shows them."""

    partner_field = "partner"
    list_display = [
        "certification",
        "user",
        "partner",
        "status",
        "awarded_at",
        "expires_at",
        "verification_code",
    ]
    list_filter = ["status", "certification"]
    search_fields = ["verification_code", "user__email", "user__full_name", "partner__legal_name"]
    list_select_related = ["certification", "user", "partner"]
    date_hierarchy = "awarded_at"
    readonly_fields = [
        "user",
        "partner",
        "certification",
        "cycle",
        "awarded_at",
        "expires_at",
        "status",
        "verification_code",
        "reminders_sent",
    ]
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
