from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _

from prm.kept import Kept

from .markup import escape
from .models import AuditEvent, ExchangeRate, Holiday, Notification, User
from .pagination import CappedPaginator


class DateRangeFilter(admin.DateFieldListFilter):
    """The date filter for changelists over big tables, instead of ``date_hierarchy``: its links
    (today, past 7 days, this month, this year) are ranges computed from today, where
    date_hierarchy reads every distinct year or month of the whole table to draw its links. It
    also takes date_hierarchy's parameters (``<field>__year``, ``__month``, ``__day``), so
    bookmarked links keep working."""

    def expected_parameters(self) -> list[str]:
        return [
            *super().expected_parameters(),
            *(f"{self.field_path}__{part}" for part in ("year", "month", "day")),
        ]


def admin_urls_by_app(site: admin.AdminSite) -> tuple[list[URLPattern | URLResolver], str, str]:
    """``site.urls`` with its models' URLs grouped by app: ``<app>/`` then ``<model>/``.

    Django tries an admin's patterns in order, one model's ``<app>/<model>/`` after the other: a
    page of the 45th model (the fund request changelist) failed 44 models' patterns first
    (~180 µs a request). Grouped, it fails the apps before its own and the models of its app
    before it. The same URLs resolve to the same views, names and routes (``admin/mdf/
    fundrequest/``): the models' prefixes are literal and none is a prefix of another, so
    which of them is tried first never changed what matched; the other patterns (index, login,
    app index, the final catch-all) keep their places around them."""
    patterns, app_name, namespace = site.urls
    model_routes = {
        f"{model._meta.app_label}/{model._meta.model_name}/": (model._meta.app_label, model._meta.model_name)
        for model in site._registry
    }
    grouped: list[URLPattern | URLResolver] = []
    apps: dict[str, list[URLPattern | URLResolver]] = {}
    for pattern in patterns:
        names = model_routes.get(str(pattern.pattern)) if isinstance(pattern, URLResolver) else None
        if names is None:
            grouped.append(pattern)
            continue
        app_label, model_name = names
        if app_label not in apps:
            apps[app_label] = []
            grouped.append(path(f"{app_label}/", include(apps[app_label])))
        apps[app_label].append(path(f"{model_name}/", include(pattern.url_patterns)))
    return grouped, app_name, namespace


# Users' app lists kept at most (per process); past it they are forgotten and built again.
APP_LIST_KEPT = 512


def remembered_app_list(
    get_app_list: Callable[..., list[dict[str, Any]]],
) -> Callable[..., list[dict[str, Any]]]:
    """``AdminSite.get_app_list`` kept per process for a user's exact access.

    Every admin page builds the app list for its navigation sidebar (``each_context``): each of
    some sixty models asks four permissions through every authentication backend, reverses two
    URLs, and the apps and models are sorted by their translated names: a seventh of a
    changelist's CPU. What it shows follows from the user's permissions (all of them, in the key),
    their vendor role, staff and superuser flags (the ModelAdmins' own rules read those), and the
    language of the names; a change to any of them is a new key, so nobody sees another's list or
    a stale one. Only the whole list (the sidebar and the index), not one app's page."""
    kept: Kept[tuple[Any, ...], list[dict[str, Any]]] = Kept(APP_LIST_KEPT)

    def app_list(request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        user = getattr(request, "user", None)
        if app_label is not None or user is None or not user.is_authenticated:
            return get_app_list(request, app_label)
        key = (
            user.pk,
            # A superuser holds every permission (and asking for all of them is a query).
            frozenset() if user.is_superuser else frozenset(user.get_all_permissions()),
            getattr(user, "vendor_role", ""),
            user.is_superuser,
            user.is_staff,
            user.is_active,
            get_language(),
        )
        found = kept.get(key)
        if found is None:
            found = kept.keep(key, _names_translated(get_app_list(request, app_label)))
        return found

    return app_list


def django_text(messages: Mapping[str, str], name: str) -> str:
    """One of Django admin's own messages, ``messages[name]`` (a module's table of msgids, passed
    by name so that the project's message extraction leaves them to Django's catalog), translated
    in the active language and escaped: once per process and language, since the admin's markup
    written in Python (the navigation sidebar, the fund request changelist) prints the same few
    on every page."""
    return _django_text(messages[name], get_language())


@lru_cache(maxsize=256)
def _django_text(message: str, language: str | None) -> str:
    return escape(gettext(message))


def _names_translated(apps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The app list with its apps' and models' names as the text they translate to: the list is
    kept per language (in its key), and each lazy name was translated again on every page (some
    sixty gettext calls for the sidebar)."""
    for app in apps:
        app["name"] = str(app["name"])
        for model in app["models"]:
            model["name"] = str(model["name"])
    return apps


# Django admin's own message (ModelAdmin.action_checkbox), translated by Django's catalog: passed
# by name so that the project's message extraction leaves it to Django.
DJANGO_CHECKBOX_LABEL = "Select this object for an action - {}"


class DirectActionCheckboxMixin:
    """Each row's action checkbox as the markup Django's CheckboxInput renders, written directly:
    through the form renderer's template it was a quarter to a third of a changelist's time at
    50-100 rows (the partner and fund request changelists). tests/mdf/test_list_speed.py keeps it
    equal to Django's."""

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj: Any) -> SafeString:
        # format_html's markup, escaped without its wrappers (prm.markup), the label translated
        # once per language: once per row of a changelist.
        label = _checkbox_label(get_language()).format(escape(str(obj)))
        return mark_safe(  # noqa: S308 -- the values escaped; the label is Django's msgid
            f'<input type="checkbox" name="{_CHECKBOX_NAME}" value="{escape(str(obj.pk))}" '
            f'class="action-select" aria-label="{label}">'
        )


_CHECKBOX_NAME = escape(helpers.ACTION_CHECKBOX_NAME)


@lru_cache(maxsize=32)
def _checkbox_label(language: str | None) -> str:
    return gettext(DJANGO_CHECKBOX_LABEL)


class BigTableAdmin(admin.ModelAdmin):
    """Changelist defaults for tables that grow with the program (deals, fund requests, earnings,
    audit events): no second COUNT(*) over the unfiltered table for "N total", the paginator's
    count of the filtered rows capped (CappedPaginator), and no date_hierarchy (DateRangeFilter)."""

    show_full_result_count = False
    date_hierarchy = None
    # The paginator's count of the filtered rows stops at prm.pagination.COUNT_CAP: unfiltered,
    # it was a COUNT(*) over a million deals (templates/admin/pagination.html says "more than").
    paginator = CappedPaginator


def _row_name(form: Any) -> str:
    if form.instance.pk:
        return str(form.instance)
    index = (form.prefix or "").rsplit("-", 1)[-1]
    return _("new row %(number)s") % {"number": int(index) + 1} if index.isdigit() else _("new row")


def labelled_formset(formset_class: type) -> type:
    """``formset_class`` with every input of each row named by its column and its row ("Active:
    Firewall X"). Django's changelist (``list_editable``) and its tabular inlines render those
    inputs under a column heading, with no label of their own (axe-core ``label``, critical;
    issue 14). The delete box is added after the form is built, hence ``add_fields``."""

    class LabelledFormSet(formset_class):  # type: ignore[valid-type, misc]
        def add_fields(self, form: Any, index: int | None) -> None:
            super().add_fields(form, index)
            row = _row_name(form)
            for field in form.fields.values():
                name = _("%(column)s: %(row)s") % {"column": field.label or "", "row": row}
                # New dicts, not an update: the admin's RelatedFieldWidgetWrapper shares its attrs
                # with the form class's widget; the inner widget it wraps is the one rendered.
                widget = field.widget
                widget.attrs = {**widget.attrs, "aria-label": name}
                if inner := getattr(widget, "widget", None):
                    inner.attrs = {**inner.attrs, "aria-label": name}

    return LabelledFormSet


class LabelledListEditableMixin:
    """For an admin with ``list_editable``: its changelist's inputs are labelled (labelled_formset)."""

    def get_changelist_formset(self, request: HttpRequest, **kwargs: Any) -> type:
        return labelled_formset(super().get_changelist_formset(request, **kwargs))  # type: ignore[misc]


class LabelledTabularInline(admin.TabularInline):
    """A tabular inline whose rows' inputs are labelled (labelled_formset)."""

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> type:
        return labelled_formset(super().get_formset(request, obj, **kwargs))


class NotFoundAdminMixin:
    """For a row the actor may not see (outside a portfolio, by the queryset or by row-level
    security) or that does not exist, every object page answers the portal's plain 404."""

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> Any:
        # Django answers with a redirect to the index and "doesn't exist".
        raise Http404

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        self._visible_or_404(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        self._visible_or_404(request, object_id)
        return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]

    def _visible_or_404(self, request: HttpRequest, object_id: str | None) -> None:
        # Django checks the permission before it looks the row up: someone who may not save or
        # delete got a 403 for a row they cannot see (and for any id), where everything else
        # answers 404. Not visible is "does not exist", before any permission.
        if object_id is not None and self.get_object(request, unquote(object_id)) is None:  # type: ignore[attr-defined]
            raise Http404


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "vendor_role", "is_active", "is_staff", "last_login"]
    list_filter = ["vendor_role", "is_active", "is_staff"]
    search_fields = ["email", "full_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Person"), {"fields": ("full_name", "language", "email_notifications")}),
        (_("Access"), {"fields": ("vendor_role", "is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "full_name", "vendor_role", "password1", "password2")},
        ),
    )
    readonly_fields = ["last_login", "date_joined"]

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        # Vendor roles grant admin access; keep is_staff in step and audit the change.
        from . import audit

        obj.is_staff = bool(obj.vendor_role) or obj.is_superuser
        before = {}
        if change:
            previous = User.objects.get(pk=obj.pk)
            before = {
                "vendor_role": previous.vendor_role,
                "is_active": previous.is_active,
                "is_superuser": previous.is_superuser,
            }
        super().save_model(request, obj, form, change)
        after = {"vendor_role": obj.vendor_role, "is_active": obj.is_active, "is_superuser": obj.is_superuser}
        if before != after:
            audit.record(
                actor=request.user, action="user.access_changed", target=obj, before=before, after=after
            )


@admin.register(AuditEvent)
class AuditEventAdmin(BigTableAdmin):
    """Read-only: the trail is append-only (the database refuses updates and deletes)."""

    list_display = ["created_at", "actor_label", "action", "target_type", "target_repr", "partner_id"]
    list_filter = [("created_at", DateRangeFilter), "action", "target_type"]
    search_fields = ["actor_label", "target_repr", "action", "target_id"]
    list_select_related = ["target_type"]
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(NotFoundAdminMixin, BigTableAdmin):
    list_display = ["created_at", "recipient", "kind", "title", "read_at", "emailed_at"]
    list_filter = ["kind"]
    search_fields = ["recipient__email", "title"]
    list_select_related = ["recipient"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ["date", "name"]
    date_hierarchy = "date"
    search_fields = ["name"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "rate", "updated_at"]
    readonly_fields = ["updated_at"]
