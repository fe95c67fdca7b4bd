"""Form widgets whose HTML is written in Python.

Django renders a ``<select>`` through its widget templates, with one ``{% include %}`` and a dict of
attributes per option: a country list (250 options) costs ~10 ms of a page that way, more than all
of the page's queries. ``Select`` writes the very same HTML (attributes, ``selected``, option
groups, escaping; tests/prm/test_widgets.py compares the two) in a plain loop. The class name is
Django's, so ``BoundField.widget_type`` stays ``"select"``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.safestring import SafeData, SafeString, mark_safe

# django.utils.html.escape's table, applied without its lazy-string wrapper (called per option).
_ESCAPES = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#x27;"})


def _escape(value: Any) -> str:
    """conditional_escape: safe strings as they are, anything else as escaped text."""
    if isinstance(value, SafeData):
        return str(value)
    return str(value).translate(_ESCAPES)


def flat_attrs(attrs: dict[str, Any]) -> str:
    """As django/forms/widgets/attrs.html: ``False`` leaves an attribute out, ``True`` writes it
    bare, any other value is written as its string, escaped."""
    return "".join(
        f" {_escape(name)}" if value is True else f' {_escape(name)}="{_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


class Select(forms.Select):
    def render(self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None) -> SafeString:
        # The widget's own context without ChoiceWidget.optgroups(), which builds a dict per option.
        widget = forms.Widget.get_context(self, name, value, attrs)["widget"]
        if self.allow_multiple_selected:
            widget["attrs"]["multiple"] = True
        values = widget["value"]  # format_value(): a list of strings
        parts = [f'<select name="{_escape(name)}"{flat_attrs(widget["attrs"])}>']
        has_selected = False
        for option_value, option_label in self.choices:
            if option_value is None:
                option_value = ""
            if isinstance(option_label, list | tuple):
                group, choices = option_value, option_label
                if group:
                    parts.append(f'\n  <optgroup label="{_escape(group)}">')
            else:
                group, choices = None, [(option_value, option_label)]
            for value_, label in choices:
                text = str(value_)
                # As optgroups(): only the first matching option is selected unless multiple.
                selected = (not has_selected or self.allow_multiple_selected) and text in values
                has_selected |= selected
                mark = " selected" if selected else ""
                parts.append(f'\n  <option value="{_escape(text)}"{mark}>{_escape(label)}</option>\n')
            if group:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # noqa: S308 -- every value above is escaped
