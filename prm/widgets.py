"""Form widgets whose HTML is written in Python.

Django renders a ``<select>`` through its widget templates, with one ``{% include %}`` and a dict of
attributes per option: a country list (250 options) costs ~10 ms of a page that way, more than all
of the page's queries. ``Select`` writes the very same HTML (attributes, ``selected``, option
groups, escaping; tests/prm/test_widgets.py compares the two) in a plain loop. The class name is
Django's, so ``BoundField.widget_type`` stays ``"select"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django import forms
from django.utils.choices import BaseChoiceIterator
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
        head = f'<select name="{_escape(name)}"{flat_attrs(widget["attrs"])}>'
        choices = self.choices
        if isinstance(choices, FixedChoices):
            # The options of fixed choices depend on the selected values alone: written once each.
            key = (tuple(values), self.allow_multiple_selected)
            options = choices.rendered.get(key)
            if options is None:
                options = self._options(values)
                if len(choices.rendered) < FixedChoices.MAX_RENDERED:
                    choices.rendered[key] = options
            return mark_safe(head + options)  # noqa: S308 -- escaped in _options()
        return mark_safe(head + self._options(values))  # noqa: S308 -- escaped in _options()

    def _options(self, values: list[str]) -> str:
        parts = []
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
        return "".join(parts)


class FixedChoices(BaseChoiceIterator):
    """Choices made once and never changed: Django takes a ``BaseChoiceIterator`` as it is, where a
    list is normalised again (tuple by tuple, label by label) by the field and by its widget each
    time a form is made; copying a form's fields copies the reference."""

    MAX_RENDERED = 1024

    def __init__(self, choices: Iterable[tuple[str, str]]) -> None:
        self._choices = tuple(choices)
        # prm.widgets.Select's options HTML, by selected values.
        self.rendered: dict[tuple, str] = {}

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._choices)

    def __len__(self) -> int:
        return len(self._choices)

    def __deepcopy__(self, memo: dict) -> FixedChoices:
        return self


_COUNTRY_CHOICES: dict[str | None, FixedChoices] = {}


def country_choices() -> FixedChoices:
    """The blank choice and every country, ``(code, name)`` in the active language, in
    django-countries' order.

    django-countries translates and sorts its 250 names on every iteration of a country field's
    choices (about 2 ms, paid again by each page that shows the select); the list only changes with
    the language, so it is made once per language and process. Give it to the field:
    ``form.fields["country"].choices = country_choices()``.
    """
    from django.db.models import BLANK_CHOICE_DASH
    from django.utils import translation
    from django_countries import countries

    language = translation.get_language()
    found = _COUNTRY_CHOICES.get(language)
    if found is None:
        found = FixedChoices(
            [(str(code), str(label)) for code, label in BLANK_CHOICE_DASH]
            + [(str(code), str(name)) for code, name in countries]
        )
        _COUNTRY_CHOICES[language] = found
    return found
