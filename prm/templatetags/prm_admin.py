"""``{% admin_nav_sidebar %}``: the admin's navigation sidebar (Django's admin/nav_sidebar.html and
admin/app_list.html), the same markup written in Python.

Every admin page draws it: some sixty models, each a table row of a dozen template nodes
(``{% with %}``, three ``{% if %}`` on ``request.path|urlencode``, ``{% translate %}``), a quarter
of a changelist's CPU. templates/admin/base_site.html prints this instead;
tests/prm/test_admin_nav_sidebar.py keeps it equal to Django's templates.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext

from prm.admin import django_text
from prm.kept import Kept
from prm.markup import escape

register = template.Library()

# Django admin's own messages, translated by Django's catalog: passed by name so that the project's
# message extraction leaves them to Django (as prm.admin.DJANGO_CHECKBOX_LABEL).
DJANGO_MESSAGES = {
    "toggle": "Toggle navigation",
    "sidebar": "Sidebar",
    "start": "Start typing to filter…",
    "filter": "Filter navigation items",
    "none": "You don’t have permission to view or edit anything.",
    "add": "Add",
    "model_name": "Model name",
    "add_link": "Add link",
    "change_link": "Change or view list link",
    "models_in": "Models in the %(name)s application",
}
# Translated and escaped (prm.admin.django_text).
_text = partial(django_text, DJANGO_MESSAGES)


def _model_row(app_label: str, model: dict[str, Any], path: str, add_label: str) -> str:
    model_name = escape(str(model["object_name"]).lower())
    row_id = f"{escape(app_label)}-{model_name}"
    current = bool(model.get("admin_url")) and str(model["admin_url"]) in path
    name = escape(model["name"])
    if model.get("admin_url"):
        aria = ' aria-current="page"' if current else ""
        link = (
            f'\n                  <a href="{escape(model["admin_url"])}"{aria}>{name}</a>\n                '
        )
    else:
        link = f"\n                  {name}\n                "
    if model.get("add_url"):
        add = (
            f'\n                <td><a href="{escape(model["add_url"])}" class="addlink" '
            f'aria-describedby="{row_id}">{add_label}</a></td>\n              '
        )
    else:
        add = "\n                <td></td>\n              "
    return (
        f'\n          \n            <tr class="model-{model_name}{" current-model" if current else ""}">\n'
        f'              <th scope="row" id="{row_id}">\n                {link}\n              </th>\n\n'
        f"              {add}\n\n              \n            </tr>\n          \n        "
    )


def app_list(apps: list[dict[str, Any]], path: str) -> str:
    """admin/app_list.html with ``show_changelinks=False`` (the sidebar's); ``path``: the request's
    path, as ``request.path|urlencode``."""
    if not apps:
        return f"\n\n\n  <p>{_text('none')}</p>\n\n"
    add_label = _text("add")
    head = (
        '\n        <thead class="visually-hidden">\n          <tr>\n'
        f'            <th scope="col">{_text("model_name")}</th>\n'
        f'            <th scope="col">{_text("add_link")}</th>\n'
        f'            <th scope="col">{_text("change_link")}</th>\n'
        "          </tr>\n        </thead>\n        "
    )
    html = []
    for app in apps:
        label = str(app["app_label"])
        current = " current-app" if str(app["app_url"]) in path else ""
        # {% blocktranslate %}: the name escaped, the sentence as it is.
        title = gettext(DJANGO_MESSAGES["models_in"]) % {"name": escape(app["name"])}
        rows = "".join(_model_row(label, model, path, add_label) for model in app["models"])
        html.append(
            f'\n    <div class="app-{escape(label)} module{current}">\n      <table>\n        <caption>\n'
            f'          <a href="{escape(app["app_url"])}" class="section" title="{title}">'
            f"{escape(app['name'])}</a>\n        </caption>{head}{rows}\n      </table>\n    </div>\n  "
        )
    return "\n\n\n  " + "".join(html) + "\n\n"


# Sidebars drawn, by (the app list's id, path, language): the app list kept per user's access
# (prm.admin.remembered_app_list) is the same list object on each of their pages, and so is what it
# draws on the same page. The entry holds the list itself, so its id is never another's while kept.
SIDEBARS_KEPT = 1024
_sidebars: Kept[tuple[int, str, str | None], tuple[list[dict[str, Any]], str]] = Kept(SIDEBARS_KEPT)


def _remembered_app_list(apps: list[dict[str, Any]], path: str) -> str:
    key = (id(apps), path, get_language())
    found = _sidebars.get(key)
    if found is not None and found[0] is apps:
        return found[1]
    html = app_list(apps, path)
    if apps:  # an empty list is a new object each time
        _sidebars.keep(key, (apps, html))
    return html


@register.simple_tag(takes_context=True)
def admin_nav_sidebar(context: template.Context) -> SafeString:
    """admin/nav_sidebar.html, its app list from ``available_apps`` (AdminSite.each_context)."""
    path = quote(context["request"].path, safe="/")  # request.path|urlencode
    return mark_safe(  # noqa: S308 -- every value escaped (prm.markup.escape)
        f'\n<button class="sticky toggle-nav-sidebar" id="toggle-nav-sidebar" '
        f'aria-label="{_text("toggle")}"></button>\n'
        f'<nav class="sticky" id="nav-sidebar" aria-label="{_text("sidebar")}">\n'
        f'  <input type="search" id="nav-filter"\n'
        f'         placeholder="{_text("start")}"\n'
        f'         aria-label="{_text("filter")}">\n'
        f"  {_remembered_app_list(context.get('available_apps') or [], path)}\n</nav>\n"
    )
