"""Markup that used to be template code and is now built in Python (prm/templatetags/prm_pagination.py,
prm/templatetags/prm_forms.py, the pipeline table in deals/templatetags/deal_tags.py) is the markup
the templates made (the deal list's status chips and expiring box are now in its Jinja2 body:
tests/deals/test_list_markup.py compares the whole page): each is rendered beside the
template it replaced (kept in tests/prm/markup_before/) for the same input, in English and in
German, and compared as HTML (attributes, text, nesting; not the whitespace between tags)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django import forms
from django.conf import settings
from django.core.paginator import Paginator
from django.template import engines
from django.test import override_settings
from django.test.html import parse_html
from django.utils import timezone, translation
from django.utils.html import format_html

from prm.templatetags import prm_pagination

BEFORE = Path(__file__).parent / "markup_before"
LANGUAGES = ["en", "de"]


def old_template(name: str) -> Any:
    return engines["django"].from_string((BEFORE / name).read_text())


def new_template(text: str) -> Any:
    return engines["django"].from_string(text)


def assert_same_html(old: str, new: str) -> None:
    assert parse_html(old) == parse_html(new), f"\n--- before\n{old}\n--- now\n{new}"


class MorePaginator(Paginator):
    more = True  # prm.pagination: counted up to a cap, more rows beyond it


def pages() -> list[tuple[Paginator, int]]:
    cases: list[tuple[Paginator, int]] = [(Paginator([], 25), 1), (Paginator([1], 25), 1)]
    cases.append((Paginator(list(range(20)), 25), 1))
    for number in (1, 2, 3, 4, 7, 8, 9, 10):
        cases.append((Paginator(list(range(10 * 25 - 3)), 25), number))
    cases.append((Paginator(list(range(2 * 25)), 25), 2))
    cases.append((MorePaginator(list(range(12345)), 25), 3))
    return cases


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("querystring", ["", 'status=approved&q=a<b"c'])
def test_pagination_is_the_markup_the_template_made(language: str, querystring: str) -> None:
    through_include = new_template(
        '{% include "includes/pagination.html" with page=page querystring=querystring %}'
    )
    through_tag = new_template("{% load prm_pagination %}{% pagination page querystring %}")
    with translation.override(language):
        for paginator, number in pages():
            context = {"page": paginator.page(number), "querystring": querystring}
            old = old_template("pagination.html").render(context)
            assert_same_html(old, through_include.render(context))
            assert_same_html(old, through_tag.render(context))
            assert_same_html(old, through_tag.render(context))  # the markup kept for the same page


def test_kept_pagination_follows_the_number_format() -> None:
    """The markup is kept by language and page; a change of the numbers' format forgets it."""
    page = MorePaginator(list(range(123456)), 25).page(2000)
    with translation.override("de"):
        default = prm_pagination.pagination(page, "")
        assert prm_pagination.pagination(page, "") is default  # kept
        with override_settings(USE_THOUSAND_SEPARATOR=not settings.USE_THOUSAND_SEPARATOR):
            changed = prm_pagination.pagination(page, "")
            assert changed == prm_pagination._pagination(page, "") != default


class ExampleForm(forms.Form):
    name = forms.CharField(label="Name <b>", max_length=20, help_text="As on the <contract>")
    email = forms.EmailField(required=False, label="E-mail")
    agree = forms.BooleanField(label="I agree", help_text="Read it first")
    secret = forms.CharField(widget=forms.HiddenInput, required=False)
    region = forms.ChoiceField(choices=[("emea", "EMEA"), ("amer", "Americas")], label="Region")
    notes = forms.CharField(widget=forms.Textarea, required=False, label="Notes")
    nothing = forms.ChoiceField(choices=[], widget=forms.RadioSelect, required=False, label="Empty")


FIELD_OPTIONS = [
    {},
    {"class": "col-md-6"},
    {"help": "Overrides <the> help"},
    {"hide_label": True},
    {"class": "col-6", "help": "x", "hide_label": True},
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("bound", [False, True])
def test_a_form_field_is_the_markup_the_template_made(language: str, bound: bool) -> None:
    form = ExampleForm({"name": "x" * 30, "email": "nope", "region": "mars"} if bound else None)
    include = new_template('{% include "includes/field.html" with field=field %}')
    with translation.override(language):
        for name in form.fields:
            for options in FIELD_OPTIONS:
                context = {"field": form[name], **options}
                assert_same_html(old_template("field.html").render(context), include.render(context))


AMOUNTS = ["0", "0.00", "-0.001", "0.005", "-0.005", "1", "12.345", "999.995", "1234567.891", "-98765.4321"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rows_floatformat_is_djangos(language: str) -> None:
    """prm/jinja2.py's ``floatformat("2g")`` of a Decimal (an amount per row of the deal list) is
    Django's filter taken the short way: the same text for every amount, in every language."""
    from django.template.defaultfilters import floatformat

    from prm.jinja2 import _floatformat

    amounts = [Decimal(text) for text in AMOUNTS] + [Decimal("12345678901234.56"), Decimal("1E+3")]
    with translation.override(language):
        for amount in amounts:
            assert _floatformat(amount, "2g") == floatformat(amount, "2g"), amount
        assert _floatformat(3.5, "2g") == floatformat(3.5, "2g")  # not a Decimal: Django's own


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_rows_dates_are_djangos_and_never_another_renders(language: str) -> None:
    """A date format remembers what it wrote during one render only: another render (another
    language, another time zone) makes its own."""
    from django.template.defaultfilters import date

    from prm.jinja2 import _date_in, date_format

    day = datetime.date(2026, 5, 17)
    moment = datetime.datetime(2026, 5, 17, 23, 30, tzinfo=datetime.UTC)

    def django(value: Any) -> str:  # as a Django template writes {{ value|date:"DATE_FORMAT" }}
        return date(timezone.template_localtime(value), "DATE_FORMAT")

    with translation.override(language), timezone.override("UTC"):
        in_utc = date_format("DATE_FORMAT")
        assert _date_in(day, in_utc) == django(day)
        assert _date_in(moment, in_utc) == _date_in(moment, in_utc) == django(moment)
        with timezone.override("Asia/Tokyo"):  # a day later there
            in_tokyo = date_format("DATE_FORMAT")
            assert _date_in(moment, in_tokyo) == django(moment) != _date_in(moment, in_utc)
        assert _date_in(None, in_utc) == ""


class WidgetsForm(forms.Form):
    text = forms.CharField(
        max_length=20, widget=forms.TextInput(attrs={"placeholder": 'a "b" <c>', "autofocus": True})
    )
    email = forms.EmailField(required=False)
    number = forms.DecimalField(required=False, min_value=0)
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date", "disabled": False}))
    hidden = forms.CharField(required=False, widget=forms.HiddenInput)
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    password = forms.CharField(required=False, widget=forms.PasswordInput(render_value=True))
    region = forms.ChoiceField(choices=[("emea", "EMEA & <more>"), ("amer", "Americas")], required=False)
    agree = forms.BooleanField(required=False)
    many = forms.MultipleChoiceField(
        choices=[("a", "A"), ("b", "B")], required=False, widget=forms.CheckboxSelectMultiple
    )


def test_form_widgets_are_the_markup_of_djangos_templates() -> None:
    """templates/django/forms/widgets/attrs.html and input.html (prm_forms' widget tags) write what
    Django's own widget templates write, for every kind of widget and value."""
    import django.forms
    from django.forms.renderers import DjangoTemplates

    djangos = DjangoTemplates()  # Django's widget templates only (django/forms/templates/)
    assert Path(django.forms.__file__).parent.joinpath("templates").is_dir()
    values = {
        "text": 'x"<y>&z',
        "email": "a@b.example",
        "number": "12.50",
        "day": "2026-03-04",
        "hidden": "h&i",
        "notes": "line <1>\nline 2",
        "password": "p'w",
        "region": "emea",
        "agree": "on",
        "many": ["a", "b"],
    }
    for overridden in ("attrs.html", "input.html"):  # ours render them, not Django's
        origin = WidgetsForm().renderer.get_template(f"django/forms/widgets/{overridden}").origin.name
        assert origin.startswith(str(settings.BASE_DIR / "templates"))
    for data in (None, values, {"text": "", "number": "oops"}):
        ours, theirs = WidgetsForm(data), WidgetsForm(data, renderer=djangos)
        for name in ours.fields:
            assert_same_html(str(theirs[name]), str(ours[name]))
            assert str(theirs[name]) == str(ours[name])  # byte for byte, too
    # An attribute value already safe (the admin's action checkbox label, built by format_html) is
    # not escaped a second time, as Django's stringformat filter (is_safe) keeps it.
    checkbox = django.forms.CheckboxInput(attrs={"aria-label": format_html("Pick {}", 'x <"y"> & z')})
    assert checkbox.render("pick", "1", renderer=djangos) == checkbox.render("pick", "1")
    assert "&amp;lt;" not in checkbox.render("pick", "1")


PIPELINE_ROWS = [
    {"label": "Approved <&>", "count": 1234, "value": Decimal("1234567.50"), "won": Decimal("0")},
    {"label": "Submitted", "count": 0, "value": Decimal("0"), "won": None},
    {"label": "Won", "count": 3, "value": Decimal("99.5"), "won": Decimal("12000.49")},
    SimpleNamespace(label="An object's row", count=2, value=7, won=Decimal("1.5")),
]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("show_won", [True, False, None])
@pytest.mark.parametrize("rows", [PIPELINE_ROWS, []])
def test_a_pipeline_table_is_the_markup_the_template_made(language: str, show_won: Any, rows: list) -> None:
    include = new_template(
        '{% include "deals/_pipeline_table.html" with rows=rows title=title show_won=show_won %}'
        if show_won is not None
        else '{% include "deals/_pipeline_table.html" with rows=rows title=title %}'
    )
    with translation.override(language):
        context = {"rows": rows, "title": "Status <b>", "show_won": show_won}
        if show_won is None:
            del context["show_won"]
        old = old_template("pipeline_table.html").render(context)
        assert_same_html(old, include.render(context))
