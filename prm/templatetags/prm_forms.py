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

from typing import Any

from django import template
from django.forms import widgets
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from prm.markup import escape

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


# Django's own widget templates, django/forms/widgets/attrs.html and input.html, as Python: every
# text, e-mail, number, date or hidden input and every textarea went through three template
# includes and a ``{% for %}`` over its attributes (about 0.15 ms a field); templates/django/forms/
# widgets/ overrides the two with these tags (FORM_RENDERER renders widgets through TEMPLATES,
# where templates/ comes first). tests/prm/test_markup_in_python.py compares them with Django's.


def _attrs(attrs: dict) -> str:
    # {% if value is not False %} {{ name }}{% if value is not True %}="{{ value|stringformat:'s' }}"
    # (stringformat is an is_safe filter: a value already safe, such as the admin's action checkbox
    # label from format_html, stays as it is; anything else is escaped: prm.markup.escape)
    return "".join(
        f" {escape(name)}" if value is True else f' {escape(name)}="{escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


@register.simple_tag
def widget_attrs(widget: dict) -> SafeString:
    return mark_safe(_attrs(widget["attrs"]))  # noqa: S308 -- every name and value escaped


@register.simple_tag
def widget_input(widget: dict) -> SafeString:
    value = widget["value"]
    shown = "" if value is None else f' value="{escape(value)}"'
    return mark_safe(  # noqa: S308 -- every value escaped
        f'<input type="{escape(widget["type"])}" name="{escape(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>"
    )


# A whole form field's widget as Python, for pages whose body Jinja2 renders (``widget(field)``
# there, in place of ``{{ field }}``): through the form renderer each <select> of a filter bar was
# a Django template with an include per <option> (a product filter of 40 products: 80 template
# renders), a millisecond or more each. Selects and inputs are written here exactly as Django's
# templates (and the overrides above) write them; any other widget (the partner chooser, a
# textarea, checkboxes) still renders through the form renderer. tests/prm/test_markup_in_python.py
# compares the two.
def _select(widget: dict) -> str:
    options = []
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            options.append(f'\n  <optgroup label="{escape(group_name)}">')
        for option in group_choices:
            options.append(
                f'\n  <option value="{escape(option["value"])}"{_attrs(option["attrs"])}>'
                f"{escape(option['label'])}</option>\n"
            )
        if group_name:
            options.append("\n  </optgroup>")
    return f'<select name="{escape(widget["name"])}"{_attrs(widget["attrs"])}>{"".join(options)}\n</select>'


_SELECT_TEMPLATE = "django/forms/widgets/select.html"


def widget_html(field: Any) -> SafeString:
    """``str(field)`` (a BoundField, as ``as_widget`` renders it) without the template engine for
    a select or an input."""
    widget = field.field.widget
    template_name = getattr(widget, "template_name", "")
    is_input = isinstance(widget, widgets.Input) and template_name.startswith("django/forms/widgets/")
    if template_name != _SELECT_TEMPLATE and not is_input:
        return mark_safe(str(field))  # noqa: S308 -- the form renderer's output
    if field.field.localize:
        widget.is_localized = True
    attrs = field.build_widget_attrs({}, widget)
    if field.auto_id and "id" not in widget.attrs:
        attrs.setdefault("id", field.auto_id)
    context = widget.get_context(field.html_name, field.value(), attrs)["widget"]
    if is_input:
        return widget_input(context)
    return mark_safe(_select(context))  # noqa: S308 -- every name and value escaped
