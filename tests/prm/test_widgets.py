"""prm.widgets.Select writes exactly the HTML of Django's Select, without its templates."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.utils import translation
from django.utils.safestring import mark_safe

from partners.forms import ProfileChangeForm
from prm.widgets import FixedChoices, Select, country_choices

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


@pytest.mark.parametrize("value", [None, "", "a", "3", "missing", ["a", "x"]])
@pytest.mark.parametrize(
    ("django_widget", "ours"), [(forms.Select, Select), (forms.SelectMultiple, SelectMultiple)]
)
def test_fixed_choices_render_the_same_html_each_time(value: Any, django_widget: type, ours: type) -> None:
    """Options of fixed choices are written once per selected value and reused: still Django's HTML,
    and the right option selected whatever was rendered before."""
    fixed = FixedChoices(CHOICES)
    render = {"name": "n", "value": value, "attrs": {"id": "id_n"}}
    expected = django_widget(choices=CHOICES).render(**render)
    for other in ("a", None, ["x"]):  # fill the cache with other selections first
        ours(choices=fixed).render(name="n", value=other)
    assert ours(choices=fixed).render(**render) == expected
    assert ours(choices=fixed).render(**render) == expected


def test_country_choices_follow_the_language() -> None:
    with translation.override("de"):
        german = dict(country_choices())
        german_select = str(ProfileChangeForm(initial={"country": "DE"})["country"])
    with translation.override("en"):
        english = dict(country_choices())
        english_select = str(ProfileChangeForm(initial={"country": "DE"})["country"])
    assert (german["DE"], english["DE"]) == ("Deutschland", "Germany")
    assert '<option value="DE" selected>Deutschland</option>' in german_select
    assert '<option value="DE" selected>Germany</option>' in english_select
    assert len(english) == len(german) > 240
    assert english[""] == "---------"


def test_country_choices_are_made_once_per_language() -> None:
    with translation.override("en"):
        assert country_choices() is country_choices()
        assert ProfileChangeForm().fields["country"].choices is country_choices()


def test_the_country_field_still_refuses_an_unknown_code() -> None:
    data = {"partner_type": "isv", "region": "emea", "message": "Moved"}
    assert ProfileChangeForm(data={**data, "country": "DE"}).is_valid()
    form = ProfileChangeForm(data={**data, "country": "XX"})
    assert not form.is_valid()
    assert "country" in form.errors
