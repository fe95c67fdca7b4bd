"""prm.widgets.Select writes exactly the HTML of Django's Select, without its templates."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.utils.safestring import mark_safe

from partners.forms import ProfileChangeForm
from prm.widgets import Select

CHOICES = [
    ("", "---------"),
    ("a", "A & <b>"),
    ("Group <1>", [("x", "X"), ("y", "Y \"q'")]),
    (3, "three"),
    (None, mark_safe("<i>safe</i>")),
    ("", [("z", "Z")]),  # a group without a name: its options, no <optgroup>
]


class SelectMultiple(Select):
    allow_multiple_selected = True


@pytest.mark.parametrize("value", [None, "", "a", "y", "3", 3, "missing", ["a", "x"]])
@pytest.mark.parametrize("attrs", [{}, {"class": "c", "disabled": True, "data-x": 'a"b<', "hidden": False}])
@pytest.mark.parametrize(
    ("django_widget", "ours"), [(forms.Select, Select), (forms.SelectMultiple, SelectMultiple)]
)
def test_the_same_html_as_django(value: Any, attrs: dict, django_widget: type, ours: type) -> None:
    render = {"name": "n", "value": value, "attrs": {"id": "id_n", "required": True}}
    assert ours(attrs=attrs, choices=CHOICES).render(**render) == django_widget(
        attrs=attrs, choices=CHOICES
    ).render(**render)


@pytest.mark.parametrize("name", ["partner_type", "country", "region"])
def test_the_profile_change_form_renders_as_before(name: str) -> None:
    form = ProfileChangeForm(initial={"partner_type": "isv", "country": "DE", "region": "emea"})
    field = form.fields[name]
    assert isinstance(field.widget, Select)
    ours = str(form[name])
    field.widget = forms.Select(attrs=field.widget.attrs, choices=field.widget.choices)
    assert ours == str(ProfileChangeForm(initial=form.initial)[name].as_widget(widget=field.widget))
    assert form[name].widget_type == "select"
