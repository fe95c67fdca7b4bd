"""The Jinja2 environment for the few hot partials rendered by Jinja2 (templates/jinja2/).

Django's template engine costs about 0.3 ms per row of a list of 25 deals (a variable lookup, a
filter or a tag is a Python object call each); the same row as a compiled Jinja2 template costs a
fraction of it. Jinja2 renders only fragments (a list's rows) inside pages that stay Django
templates, so layouts, forms and CSRF tokens are all still Django's. What a fragment gets:

* autoescaping, always on; Django's safe strings (``format_html``, ``mark_safe``) stay unescaped
  (they carry ``__html__``), and what a fragment returns is safe in the Django page around it;
* ``_()`` / ``gettext`` / ``ngettext`` / ``{% trans %}``: Django's translations, in the request's
  language;
* ``url(name, *args)``: ``django.urls.reverse``;
* the ``date`` and ``floatformat`` filters: Django's own, with aware datetimes in the current time
  zone first, as Django's template engine passes them. ``date`` also takes a format already looked
  up (``date_format("DATE_FORMAT")``, once per fragment rather than once per row).
"""

from __future__ import annotations

from typing import Any

from django.template import defaultfilters
from django.urls import reverse
from django.utils import dateformat, formats, timezone, translation
from jinja2 import Environment


def _url(name: str, *args: Any, **kwargs: Any) -> str:
    return reverse(name, args=args or None, kwargs=kwargs or None)


# An id no row has, reversed in place of a real one and replaced by each row's.
_ANY_PK = 4_611_686_018_427_387_904


class url_with_pk:  # used like a function in templates
    """``reverse(name, args=[pk])`` for many pks: reversed once (``url_with_pk("deals:detail")``),
    then ``detail_url(deal.pk)`` per row."""

    def __init__(self, name: str) -> None:
        self.before, self.after = reverse(name, args=[_ANY_PK]).split(str(_ANY_PK))

    def __call__(self, pk: int) -> str:
        return f"{self.before}{int(pk)}{self.after}"


def _date(value: Any, arg: str | None = None) -> str:
    if value is None or value == "":
        return ""
    return defaultfilters.date(timezone.template_localtime(value), arg)


class date_format(str):  # used like a function in templates
    """A date format looked up once (``date_format("DATE_FORMAT")``), for ``|date`` in a loop."""

    def __new__(cls, name: str) -> date_format:
        return super().__new__(cls, formats.get_format(name))


def _date_in(value: Any, arg: str | date_format | None = None) -> str:
    if isinstance(arg, date_format) and value not in (None, ""):
        try:
            return dateformat.format(timezone.template_localtime(value), arg)
        except AttributeError:
            return ""  # as Django's filter does for a value that is not a date
    return _date(value, arg)


def environment(**options: Any) -> Environment:
    options.setdefault("autoescape", True)
    env = Environment(extensions=["jinja2.ext.i18n"], **options)  # noqa: S701 -- autoescape is set above
    env.install_gettext_callables(translation.gettext, translation.ngettext, newstyle=True)
    env.globals["url"] = _url
    env.globals["date_format"] = date_format
    env.filters["date"] = _date_in
    env.filters["floatformat"] = defaultfilters.floatformat
    return env
