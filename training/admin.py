"""Course authoring for training managers: courses with their lessons, quizzes with questions and
choices, certifications and learning paths. Publishing calls the same services as everything
else (audited, checks that every question has a right answer); lessons are saved and deleted
through the lesson services (bodies sanitised, every change audited). Awards and learners'
enrollments are read-only and scoped like every other tenant-owned admin list; on an enrollment,
those allowed may reset a learner's failed quiz attempts (an action with a confirmation page
asking for the reason, also a button on the enrollment's page)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from partners.admin import ScopedAdminMixin
from prm.admin import BigTableAdmin, DateRangeFilter, LabelledTabularInline
from prm.admin_actions import confirm_then_run, confirmation_context, run_each
from prm.errors import ApplicationError

from . import services
from .forms import AttemptResetForm, CertificationAdminForm, CourseAdminForm
from .models import (
    Certification,
    CertificationAward,
    Choice,
    Course,
    Enrollment,
    LearningPath,
    LearningPathCourse,
    Lesson,
    Question,
    Quiz,
    QuizAttempt,
)
from .policies import RESET_ATTEMPTS, enrollment_policy


class LessonInline(admin.StackedInline):
    model = Lesson
    extra = 0
    ordering = ["position"]
    fields = [("position", "title"), "body", ("video_url", "attachment")]
    # A link typed without a scheme is taken as https (Django 6's default, as content's forms do):
    # only https videos are embedded on the lesson page.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


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
        # The lesson service sanitises the body and writes the audit trail; deletions first, so a
        # new lesson may take the position of one removed in the same save.
        actor = request.actor
        lessons = formset.save(commit=False)
        for lesson in formset.deleted_objects:
            services.lesson_delete(actor=actor, lesson=lesson)
        for lesson in lessons:
            services.lesson_save(actor=actor, lesson=lesson)
        formset.save_m2m()

    @admin.action(description=_("Publish selected courses"))
    def publish_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda actor, course: services.course_publish(actor=actor, course=course),
            done_message=lambda n: (
                ngettext("%(n)d course published.", "%(n)d courses published.", n) % {"n": n}
            ),
        )

    @admin.action(description=_("Unpublish selected courses"))
    def unpublish_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_each(
            self,
            request,
            queryset,
            lambda actor, course: services.course_unpublish(actor=actor, course=course),
            done_message=lambda n: (
                ngettext("%(n)d course unpublished.", "%(n)d courses unpublished.", n) % {"n": n}
            ),
        )


class QuestionInline(LabelledTabularInline):
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


class ChoiceInline(LabelledTabularInline):
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


class LearningPathCourseInline(LabelledTabularInline):
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
class CertificationAwardAdmin(ScopedAdminMixin, BigTableAdmin):
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
    list_filter = ["status", "certification", ("awarded_at", DateRangeFilter)]
    search_fields = ["verification_code", "user__email", "user__full_name", "partner__legal_name"]
    list_select_related = ["certification", "user", "partner"]
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


# --- Learners' progress: read-only, and the quiz-attempt reset -------------------------------------
class QuizAttemptInline(LabelledTabularInline):
    """Every attempt of every cycle, reset ones included: the history is never edited here."""

    model = QuizAttempt
    extra = 0
    can_delete = False
    ordering = ["-cycle", "number"]
    fields = [
        "number",
        "cycle",
        "started_at",
        "submitted_at",
        "score_percent",
        "passed",
        "reset_at",
        "reset_by",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("reset_by")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _counted(condition: Q | None = None) -> Count:
    """Attempts of the enrollment's current cycle that count against the quiz's limit (the rule of
    ``services.counted_attempts``), narrowed by ``condition``."""
    counted = Q(attempts__cycle=F("cycle"), attempts__reset_at__isnull=True)
    return Count("attempts", filter=counted & condition if condition is not None else counted)


@admin.register(Enrollment)
class EnrollmentAdmin(ScopedAdminMixin, BigTableAdmin):
    """Learners in courses. Progress is made by the learners; the admin only shows it and offers
    the reset of failed quiz attempts, through the same service as everything else."""

    partner_field = "partner"
    list_display = ["user", "partner", "course", "cycle", "attempts_used", "started_at", "completed_at"]
    # No partner filter: its choices would name partners outside a CAM's portfolio.
    list_filter = ["course", ("started_at", DateRangeFilter)]
    search_fields = ["user__email", "user__full_name", "partner__legal_name", "course__title"]
    list_select_related = ["user", "partner", "course"]
    fields = [
        "user",
        "partner",
        "course",
        "cycle",
        "attempts_used",
        "started_at",
        "completed_at",
        "last_lesson",
    ]
    readonly_fields = fields
    inlines = [QuizAttemptInline]
    actions = ["reset_quiz_attempts"]
    change_form_template = "training/admin/enrollment_change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(used_total=_counted(), quiz_max_attempts=F("course__quiz__max_attempts"))
        )

    @admin.display(description=_("quiz attempts used"), ordering="used_total")
    def attempts_used(self, obj: Enrollment) -> str:
        if getattr(obj, "quiz_max_attempts", None) is None:
            return "—"
        return gettext("%(used)s of %(total)s") % {"used": obj.used_total, "total": obj.quiz_max_attempts}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # learners enroll themselves

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # progress and attempts are the learner's record

    def has_reset_quiz_attempts_permission(self, request: HttpRequest) -> bool:
        # Role-level only; the service decides per enrollment (a CAM: their portfolio).
        return enrollment_policy.can(request.actor, RESET_ATTEMPTS)

    # The button on an enrollment's page opens the action's confirmation page for that one row.
    def get_urls(self) -> list[Any]:
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/reset-attempts/",
                self.admin_site.admin_view(self.reset_attempts_view),
                name=f"{opts.app_label}_{opts.model_name}_reset_attempts",
            ),
            *super().get_urls(),
        ]

    def _change_url(self, obj: Enrollment) -> str:
        return reverse(
            "admin:training_enrollment_change", args=[quote(obj.pk)], current_app=self.admin_site.name
        )

    def reset_attempts_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if not self.has_reset_quiz_attempts_permission(request):
            raise PermissionDenied
        obj = self.get_object(request, unquote(object_id))
        if obj is None:  # outside the scope or missing: the same 404
            return self._get_obj_does_not_exist_redirect(request, self.model._meta, object_id)
        request.training_single_enrollment = obj
        response = self.reset_quiz_attempts(request, self.get_queryset(request).filter(pk=obj.pk))
        return response if response is not None else HttpResponseRedirect(self._change_url(obj))

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if obj is not None and self.has_reset_quiz_attempts_permission(request) and obj.quiz_max_attempts:
            context["reset_attempts_url"] = reverse(
                "admin:training_enrollment_reset_attempts",
                args=[quote(obj.pk)],
                current_app=self.admin_site.name,
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @admin.action(
        description=_("Reset quiz attempts of selected learners…"), permissions=["reset_quiz_attempts"]
    )
    def reset_quiz_attempts(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Asks for the reason on a confirmation page, then resets each enrollment's failed
        attempts through the service, each in its own savepoint; refusals are reported per row."""
        enrollments = list(queryset.order_by("user__full_name", "course__title"))
        quizzes = {
            quiz.course_id: quiz
            for quiz in Quiz.objects.filter(course__in=[e.course_id for e in enrollments])
        }

        def reset(actor: Any, enrollment: Enrollment, reason: str) -> None:
            quiz = quizzes.get(enrollment.course_id)
            if quiz is None:
                raise ApplicationError(gettext("This course has no quiz."))
            services.attempts_reset(actor=actor, enrollment=enrollment, quiz=quiz, reason=reason)

        single = getattr(request, "training_single_enrollment", None)
        return confirm_then_run(
            request,
            form=AttemptResetForm,
            submit_name="apply",
            run=lambda form: run_each(
                self,
                request,
                enrollments,
                lambda actor, enrollment: reset(actor, enrollment, form.cleaned_data["reason"]),
                done_message=lambda n: (
                    ngettext(
                        "Quiz attempts reset for %(count)d learner; they were notified.",
                        "Quiz attempts reset for %(count)d learners; each was notified.",
                        n,
                    )
                    % {"count": n}
                ),
            ),
            page=lambda form: TemplateResponse(
                request,
                "training/admin/reset_attempts.html",
                confirmation_context(
                    self,
                    request,
                    title=_("Reset quiz attempts"),
                    action="reset_quiz_attempts",
                    form=form,
                    rows=self._reset_rows(enrollments, quizzes),
                    single_object=single,
                    cancel_url=self._change_url(single) if single is not None else request.get_full_path(),
                ),
            ),
        )

    def _reset_rows(self, enrollments: list[Enrollment], quizzes: dict[int, Quiz]) -> list[dict[str, Any]]:
        """What a reset would do to each selected enrollment, counted in one query."""
        expired = Q(
            attempts__submitted_at__isnull=True,
            attempts__deadline_at__lte=timezone.now() - services.GRACE,
        )
        counts = {
            row["pk"]: row
            for row in Enrollment.objects.filter(pk__in=[e.pk for e in enrollments])
            .annotate(
                passed_total=_counted(Q(attempts__passed=True)),
                failed_total=_counted(Q(attempts__passed=False)),
                open_total=_counted(Q(attempts__submitted_at__isnull=True)),
                expired_total=_counted(expired),
            )
            .values("pk", "passed_total", "failed_total", "open_total", "expired_total")
        }
        rows = []
        for enrollment in enrollments:
            quiz = quizzes.get(enrollment.course_id)
            count = counts[enrollment.pk]
            notes: list[tuple[str, str]] = []
            if quiz is None:
                notes.append(("error", gettext("This course has no quiz: nothing to reset.")))
            elif count["passed_total"]:
                notes.append(("error", gettext("Passed the quiz in this cycle: will not be reset.")))
            elif not (resettable := count["failed_total"] + count["expired_total"]):
                notes.append(("error", gettext("No used attempts: nothing to reset.")))
            else:
                notes.append(
                    (
                        "ok",
                        ngettext(
                            "%(count)d failed attempt will stop counting (it stays in the history).",
                            "%(count)d failed attempts will stop counting (they stay in the history).",
                            resettable,
                        )
                        % {"count": resettable},
                    )
                )
                if enrollment.used_total >= quiz.max_attempts:
                    # The attempt page reveals the right answers once no attempts are left.
                    notes.append(
                        (
                            "warning",
                            gettext(
                                "Used every attempt, so has seen the right answers of the graded "
                                "attempts; the questions stay the same."
                            ),
                        )
                    )
                if count["open_total"] > count["expired_total"]:
                    notes.append(
                        (
                            "warning",
                            gettext(
                                "An attempt is in progress: it keeps running and counts as one of "
                                "the fresh attempts."
                            ),
                        )
                    )
            rows.append(
                {
                    "enrollment": enrollment,
                    "quiz": quiz,
                    "used": enrollment.used_total,
                    "notes": notes,
                }
            )
        return rows
