"""``{% form_field %}``: one form field, Bootstrap-style — the markup of templates/includes/field.html
built in Python.

``{% include "includes/field.html" with field=form.email %}`` stays the way pages show a field; the
include now calls this tag, which reads the same names from the context (``field``, and the
optional ``class``, ``help``, ``hide_label``). Through the template engine the field's
``{% with %}``, ``{% if %}`` and ``{% for %}`` were about a fifth of a millisecond a field (the
company page shows eight); the widget itself (``{{ field }}``) still renders through the form
renderer, as before.
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_REQUIRED_MARK = mark_safe('<span class="required-mark" aria-hidden="true">*</span>')


@register.simple_tag(takes_context=True)
def form_field(context: template.Context) -> SafeString:
    field = context.get("field")
    if field is None or isinstance(field, str):  # no such field (a BoundField may be falsy: no subwidgets)
        return mark_safe("")
    if field.is_hidden:
        return format_html("{}", field)
    extra = context.get("class") or ""
    has_error = " has-error" if field.errors else ""
    help_text = context.get("help") or field.help_text
    help_html = format_html('<div class="form-text">{}</div>', help_text) if help_text else ""
    errors = format_html_join(
        "", '<div class="invalid-feedback d-block">{}</div>', ((e,) for e in field.errors)
    )
    if field.widget_type == "checkbox":
        return format_html(
            '\n<div class="form-check mb-3 {}{}">\n  {}\n'
            '  <label class="form-check-label" for="{}">{}</label>\n  {}\n  {}\n</div>\n',
            extra,
            has_error,
            field,
            field.id_for_label,
            field.label,
            help_html,
            errors,
        )
    return format_html(
        '\n<div class="mb-3 {}{}">\n'
        '  <label class="form-label{}" for="{}">{}{}</label>\n  {}\n  {}\n  {}\n</div>\n',
        extra,
        has_error,
        " visually-hidden" if context.get("hide_label") else "",
        field.id_for_label,
        field.label,
        _REQUIRED_MARK if field.field.required else "",
        field,
        help_html,
        errors,
    )
