"""The fund request changelist's result table and filters in Python (mdf/admin/changelist.py),
with Django's own tags for what that does not cover."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.admin.templatetags.admin_list import admin_list_filter
from django.contrib.admin.templatetags.admin_list import result_list as django_result_list
from django.contrib.admin.views.main import ChangeList
from django.template.loader import select_template
from django.utils.safestring import SafeString, mark_safe

from mdf.admin import changelist

register = template.Library()


@register.simple_tag
def mdf_result_list(cl: ChangeList) -> SafeString:
    """``{% result_list cl %}``."""
    html = changelist.result_list(cl)
    if html is not None:
        return html
    opts = cl.opts
    names = [
        f"admin/{opts.app_label}/{opts.model_name}/change_list_results.html",
        f"admin/{opts.app_label}/change_list_results.html",
        "admin/change_list_results.html",
    ]
    return mark_safe(select_template(names).render(django_result_list(cl)))  # noqa: S308 -- Django's template


@register.simple_tag
def mdf_list_filter(cl: ChangeList, spec: Any) -> SafeString:
    """``{% admin_list_filter cl spec %}``."""
    html = changelist.list_filter(cl, spec)
    return html if html is not None else mark_safe(admin_list_filter(cl, spec))  # noqa: S308 -- Django's template


@register.simple_tag
def mdf_filters(cl: ChangeList) -> SafeString:
    """admin/change_list.html's ``filters`` block."""
    return changelist.filters(cl)
