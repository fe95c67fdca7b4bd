"""The fund request changelist's result table and filters, written in Python with the admin's own
markup (admin/change_list_results.html, admin/filter.html and ``items_for_result``).

Through Django's admin a page of 50 requests cost 60-100 ms of CPU: per cell, ``items_for_result``
looks the column up again (a FieldDoesNotExist raised for each callable), reverses the row's link
(twice a row) and runs ``format_html``; then ``change_list_results.html`` prints 400 cells one
variable node at a time, and each filter's template its links. Here each column is looked up once
per page, the link is reversed once and given each row's id, the cells go through the same
``display_for_field`` / ``display_for_value`` and the same escaping, and the markup is joined as
strings. tests/mdf/test_admin_changelist_markup.py keeps it equal to Django's for sorted,
filtered, searched and empty lists. A changelist this does not cover (an editable list, a popup)
is left to Django.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from functools import partial
from html import escape as html_escape
from types import SimpleNamespace
from typing import Any

from django.contrib.admin.templatetags.admin_list import result_headers
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import (
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
)
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.urls import NoReverseMatch
from django.utils.encoding import iri_to_uri
from django.utils.safestring import SafeData, SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext

from prm.admin import django_text
from prm.markup import escape

SELECTED = ' class="selected"'
# Django admin's own messages, translated by Django's catalog: passed by name so that the project's
# message extraction leaves them to Django (as prm.admin.DJANGO_CHECKBOX_LABEL).
DJANGO_MESSAGES = {
    "priority": "Sorting priority: %(priority_number)s",
    "remove": "Remove from sorting",
    "toggle": "Toggle sorting",
    "by": " By %(filter_title)s ",
    "filter": "Filter",
    "hide_counts": "Hide counts",
    "show_counts": "Show counts",
    "clear": "Clear all filters",
}
# Translated and escaped (prm.admin.django_text).
_text = partial(django_text, DJANGO_MESSAGES)


# An id no row has, given to the link reversed once and replaced by each row's (prm.jinja2).
_ANY_PK = 4_611_686_018_427_387_904


def covered(cl: ChangeList) -> bool:
    """Whether this module renders ``cl``'s table: not an editable list or a popup (their inputs
    and popup links are Django's)."""
    return not cl.formset and not cl.is_popup


@dataclass
class _Column:
    name: str
    css: str  # "field-<name>"
    link: bool
    field: Any  # the model field, or None for a method / attribute
    attr: Any  # the ModelAdmin's method, or None (a model field, read from the row)
    empty: str
    site_empty: str  # what a cell shows when a related row is missing
    boolean: bool


def _columns(cl: ChangeList) -> list[_Column]:
    model_admin = cl.model_admin
    opts = cl.lookup_opts
    site_empty = model_admin.get_empty_value_display()
    columns = []
    for index, name in enumerate(cl.list_display):
        if callable(name):  # a bare function in list_display: Django's own path handles it
            raise _NotCovered
        try:
            field = _get_non_gfk_field(opts, name)
        except FieldDoesNotExist:
            field = None
        except Exception as error:  # FieldIsAForeignKeyColumnName and the like
            raise _NotCovered from error
        attr = None
        if field is not None and field.auto_created:
            raise _NotCovered  # Django shows these (the id) through display_for_value: its path
        if field is None:
            if not (hasattr(model_admin, name) and name != "__str__"):
                raise _NotCovered  # a model attribute or property: rare here, Django's path
            attr = getattr(model_admin, name)
        link = cl.list_display_links is not None and (
            (index == 0 and not cl.list_display_links) or name in cl.list_display_links
        )
        columns.append(
            _Column(
                name=name,
                css=f"field-{name}",
                link=link,
                field=field,
                attr=attr,
                empty=getattr(attr, "empty_value_display", site_empty) if attr is not None else site_empty,
                site_empty=site_empty,
                boolean=getattr(attr, "boolean", False),
            )
        )
    return columns


class _NotCovered(Exception):
    pass


def _row_url(cl: ChangeList) -> tuple[str, str] | None:
    """The row link as (before the id, after it): ``url_for_result`` and ``add_preserved_filters``
    once for a row with an id no row has; None if that cannot be split cleanly."""
    try:
        url = cl.url_for_result(SimpleNamespace(**{cl.pk_attname: _ANY_PK}))
    except NoReverseMatch:
        return None
    url = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url)
    parts = url.split(str(_ANY_PK))
    return (parts[0], parts[1]) if len(parts) == 2 else None


def _cells(cl: ChangeList, result: Any, columns: list[_Column], url: tuple[str, str] | None) -> str:
    """``items_for_result(cl, result, None)``, joined."""
    html = []
    first = True
    for column in columns:
        classes = column.css
        empty = column.empty
        try:
            if column.field is None:
                value = column.attr(result)
                if column.name == "action_checkbox":
                    classes = "action-checkbox"
                if isinstance(value, str) and value.strip() == "":
                    value = ""
                shown = display_for_value(value, empty, column.boolean)
                if isinstance(value, (datetime.date, datetime.time)):
                    classes += " nowrap"
            else:
                field = column.field
                value = getattr(result, column.name)
                if isinstance(value, str) and value.strip() == "":
                    value = ""
                if isinstance(field.remote_field, models.ManyToOneRel):
                    shown = empty if value is None else value
                else:
                    shown = display_for_field(value, field, empty, avoid_link=column.link)
                if isinstance(field, (models.DateField, models.TimeField, models.ForeignKey)):
                    classes += " nowrap"
        except ObjectDoesNotExist:
            shown = column.site_empty
        text = escape(shown)
        if column.link:
            tag = "th" if first else "td"
            first = False
            if url is not None:
                pk = getattr(result, cl.pk_attname)
                href = escape(f"{url[0]}{pk}{url[1]}")
                text = f'<a href="{href}">{text}</a>'
            html.append(f'<{tag} class="{classes}">{text}</{tag}>')
        else:
            html.append(f'<td class="{classes}">{text}</td>')
    return "".join(html)


def _header(header: dict[str, Any], sorted_count: int) -> str:
    text = header["text"]
    title = capfirst(str(text))
    title = title if isinstance(text, SafeData) else html_escape(title)
    options = ""
    if header["sortable"] and header["sort_priority"] > 0:
        priority = ""
        if sorted_count > 1:
            label = gettext(DJANGO_MESSAGES["priority"]) % {"priority_number": header["sort_priority"]}
            priority = f'<span class="sortpriority" title="{escape(label)}">{header["sort_priority"]}</span>'
        toggle = "ascending" if header["ascending"] else "descending"
        options = (
            f'\n       <div class="sortoptions">\n'
            f'         <a class="sortremove" href="{escape(header["url_remove"])}" '
            f'title="{_text("remove")}"></a>\n'
            f"         {priority}\n"
            f'         <a href="{escape(header["url_toggle"])}" class="toggle {toggle}" '
            f'title="{_text("toggle")}"></a>\n'
            f"       </div>\n   "
        )
    if header["sortable"]:
        label = f'<a href="{escape(header["url_primary"])}">{title}</a>'
    else:
        label = f"<span>{title}</span>"
    return (
        f'\n<th scope="col"{header["class_attrib"]}>\n   {options}\n'
        f'   <div class="text">{label}</div>\n   <div class="clear"></div>\n</th>'
    )


def result_list(cl: ChangeList) -> SafeString | None:
    """admin/change_list_results.html for ``cl``, as ``{% result_list cl %}`` renders it; None when
    Django's tag should render it instead (see :func:`covered`)."""
    if not covered(cl):
        return None
    try:
        columns = _columns(cl)
    except _NotCovered:
        return None
    if not cl.result_list:
        return mark_safe("\n\n")  # the template prints nothing but its own line breaks
    url = _row_url(cl)
    return table(cl, "".join(f"\n<tr>{_cells(cl, result, columns, url)}</tr>\n" for result in cl.result_list))


def table_head(cl: ChangeList) -> str:
    """The result table's column heads (``result_headers``), each ``<th>``, joined."""
    headers = list(result_headers(cl))
    sorted_count = sum(1 for header in headers if header["sortable"] and header["sorted"])
    return "".join(_header(header, sorted_count) for header in headers)


def table(cl: ChangeList, rows: str, head: str | None = None) -> SafeString:
    """The result table of ``cl`` (its column heads, or ``head`` if given: :func:`table_head`'s)
    around ``rows``, the ``<tr>`` of each row."""
    if head is None:
        head = table_head(cl)
    return mark_safe(  # noqa: S308 -- every value escaped (prm.markup.escape) or Django's safe markup
        f'\n\n<div class="results">\n<table id="result_list">\n<thead>\n<tr>{head}\n</tr>\n</thead>\n'
        f"<tbody>{rows}</tbody>\n</table>\n</div>\n"
    )


def list_filter(cl: ChangeList, spec: Any) -> SafeString | None:
    """``{% admin_list_filter cl spec %}`` for a filter drawn by admin/filter.html (every filter of
    the fund request changelist); None for another template (Django's tag renders it)."""
    if spec.template != "admin/filter.html":
        return None
    # {% blocktranslate %}: the title escaped, the sentence as it is.
    title = gettext(DJANGO_MESSAGES["by"]) % {"filter_title": escape(spec.title)}
    choices = "".join(
        f"\n    <li{SELECTED if choice['selected'] else ''}>\n"
        f'    <a href="{escape(iri_to_uri(choice["query_string"]))}">{escape(choice["display"])}</a></li>\n  '
        for choice in spec.choices(cl)
    )
    return mark_safe(  # noqa: S308 -- every value escaped (prm.markup.escape)
        f'\n<details data-filter-title="{escape(spec.title)}" open>\n  <summary>\n    {title}\n  </summary>\n'
        f"  <ul>\n  {choices}\n  </ul>\n</details>\n"
    )


def filters(cl: ChangeList) -> SafeString:
    """The changelist's filter sidebar: admin/change_list.html's ``filters`` block, each filter
    through :func:`list_filter` (or Django's tag for another template)."""
    from django.contrib.admin.templatetags.admin_list import admin_list_filter

    if not cl.has_filters:
        return mark_safe("\n        \n")
    extra = ""
    if cl.is_facets_optional or cl.has_active_filters:
        facets = clear = ""
        if cl.is_facets_optional:
            if cl.add_facets:
                link = (
                    f'<a href="{escape(cl.remove_facet_link)}" class="hidelink">{_text("hide_counts")}</a>\n'
                )
            else:
                link = f'<a href="{escape(cl.add_facet_link)}" class="viewlink">{_text("show_counts")}</a>'
            facets = f"<h3>\n                {link}\n              </h3>"
        if cl.has_active_filters:
            clear_link = f'<a href="{escape(cl.clear_all_filters_qs)}">&#10006; {_text("clear")}</a>'
            clear = f"<h3>\n                {clear_link}\n              </h3>"
        extra = (
            '<div id="changelist-filter-extra-actions">\n'
            f"              {facets}\n              {clear}\n            </div>"
        )
    specs = "".join(str(list_filter(cl, spec) or admin_list_filter(cl, spec)) for spec in cl.filter_specs)
    return mark_safe(  # noqa: S308 -- every value escaped (prm.markup.escape) or Django's markup
        '\n        \n          <nav id="changelist-filter" aria-labelledby="changelist-filter-header">\n'
        f'            <h2 id="changelist-filter-header">{_text("filter")}</h2>\n'
        f"            {extra}\n            {specs}\n          </nav>\n        \n"
    )
