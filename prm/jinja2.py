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

The portal's layout is Jinja2 too (prm/layout.py): ``static(path)``, the navigation cache and the
chrome's values are globals, and :func:`render_page` renders a whole page written in Jinja2
(``{% extends "layout/page.html" %}``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template import defaultfilters, engines
from django.template.context import Context as TemplateContext
from django.urls import reverse
from django.utils import dateformat, formats, timezone, translation
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from jinja2 import Environment, pass_context
from jinja2.ext import _make_new_gettext
from jinja2.runtime import Context
from markupsafe import Markup

from prm import layout


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
    """A date format looked up once (``date_format("DATE_FORMAT")``), for ``|date`` in a loop.

    It also remembers what it wrote for each value during the one render it is made for: a list's
    rows share their dates (the closing dates of a page of deals), and Django's date formatting is
    some 20 µs a call."""

    written: dict[Any, str]

    def __new__(cls, name: str) -> date_format:
        made = super().__new__(cls, formats.get_format(name))
        made.written = {}
        return made


def _date_in(value: Any, arg: str | date_format | None = None) -> str:
    if isinstance(arg, date_format) and value not in (None, ""):
        text = arg.written.get(value)
        if text is None:
            try:
                text = dateformat.format(timezone.template_localtime(value), arg)
            except AttributeError:
                text = ""  # as Django's filter does for a value that is not a date
            arg.written[value] = text
        return text
    return _date(value, arg)


_CENT = Decimal("0.01")


def _floatformat(value: Any, arg: Any = -1) -> str:
    """Django's ``floatformat``; ``|floatformat("2g")`` of a Decimal (an amount, once per row of a
    list) the short way: Django's filter rounds the same (ROUND_HALF_UP to two places) and hands the
    digits to the same ``number_format``, after a detour through strings and tuples that costs
    twice as much. tests/prm/test_markup_in_python.py compares the two."""
    if arg == "2g" and type(value) is Decimal and value.is_finite():
        try:
            rounded = value.quantize(_CENT, ROUND_HALF_UP)
        except InvalidOperation:  # more digits than the context holds: Django's way copes
            return defaultfilters.floatformat(value, arg)
        # Django's filter writes no sign on a zero ("-0.001" is "0.00").
        return mark_safe(  # noqa: S308 -- digits, separators and a sign only
            formats.number_format(rounded if rounded else abs(rounded), 2, use_l10n=True, force_grouping=True)
        )
    return defaultfilters.floatformat(value, arg)


@pass_context
def _layout_chrome(context: Context) -> layout.Chrome:
    """What templates/jinja2/layout/page.html prints about the request and the person."""
    return layout.Chrome(context)


def environment(**options: Any) -> Environment:
    options.setdefault("autoescape", True)
    env = Environment(extensions=["jinja2.ext.i18n"], **options)  # noqa: S701 -- autoescape is set above
    env.install_gettext_callables(translation.gettext, translation.ngettext, newstyle=True)
    env.globals["url"] = _url
    env.globals["date_format"] = date_format
    env.filters["date"] = _date_in
    env.filters["floatformat"] = _floatformat
    # The layout (prm/layout.py, templates/jinja2/layout/): static files' URLs as {% static %}
    # writes them, the navigation kept per role/page/language, the chrome of a Jinja2 page.
    env.globals["static"] = layout.static
    env.globals["layout_part"] = layout.render_part
    env.globals["layout_chrome"] = _layout_chrome
    return env


def render_page(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    content_type: str | None = None,
) -> HttpResponse:
    """A page written in Jinja2 (``{% extends "layout/page.html" %}``), as ``django.shortcuts.render``
    renders a Django page: the template gets what the context processors of settings.TEMPLATES give
    a Django page (``user``, ``perms``, ``messages``, ``LANGUAGE_CODE``, ``actor``,
    ``unread_notifications``, …; prm.layout.chrome_values), the Jinja2 backend's ``request``,
    ``csrf_token`` and ``csrf_input``, then ``context``, whose names win (``error_page``, say)."""
    values = layout.chrome_values(request)
    if context:
        values.update(context)
    template = engines["jinja2"].get_template(template_name)
    # What the Jinja2 backend's render() would add, but with the CSRF token masked once for the page
    # (as Django's csrf context processor gives it): the backend's lazy ``csrf_token`` and
    # ``csrf_input`` mask the secret anew each time they are printed or tested, four times a page
    # (the chrome's hx-headers, its test, the sign-out form, a form of the page), 30-40 µs each.
    token = get_token(request)
    values["request"] = request
    values["csrf_token"] = token
    values["csrf_input"] = format_html(layout.CSRF_INPUT, token)
    for processor in template.backend.template_context_processors:
        values.update(processor(request))
    # The test client records what a page rendered (``response.templates``, ``response.context``)
    # from django.test's ``template_rendered``, which Django's test set-up makes its own engine send;
    # Jinja2's backend sends none, so the page says it here. Outside tests django.test is not even
    # imported, and nothing listens.
    test_signals = sys.modules.get("django.test.signals")
    if test_signals is not None and test_signals.template_rendered.receivers:
        test_signals.template_rendered.send(
            sender=template, template=template.template, context=TemplateContext(values)
        )
    html = template.template.render(values)
    return HttpResponse(html, status=status, content_type=content_type)


# --- ``_()`` over translations kept per language ---------------------------------------------------
# A hot body writes 20-50 fixed messages through ``_()`` (Jinja2's i18n extension over Django's
# gettext: the active language, then the catalog's chain of fallbacks, 5-9 µs each). A message's
# translation is a pure function of the language (the catalogs are fixed for the process), so it
# is looked up once per language and message.
_messages: dict[tuple[str, str], str] = {}


# A fixed message as ``_()`` writes it without values (its translation as Markup, formatted), by
# language and message: see page_gettext.
_written: dict[tuple[str, str], Markup] = {}


@receiver(setting_changed)
def _forget_messages(*, setting: str, **kwargs: Any) -> None:
    if setting in {"LANGUAGES", "LANGUAGE_CODE", "LOCALE_PATHS"}:
        _messages.clear()
        _written.clear()


def _kept_translation(message: str) -> str:
    key = (translation.get_language() or "", message)
    text = _messages.get(key)
    if text is None:
        text = _messages[key] = translation.gettext(message)
    return text


# Jinja2's own newstyle ``gettext`` (the same escaping and formatting) over the kept translations:
# a body rendered with ``{"_": kept_gettext, "gettext": kept_gettext}`` writes what it wrote.
kept_gettext = _make_new_gettext(_kept_translation)


def page_gettext() -> Callable[..., Markup]:
    """``_()`` for one render, in the current language: what :data:`kept_gettext` writes (with
    autoescaping, as the environment always has it: the translation as Markup, formatted with the
    call's values), a message without values kept written per language. kept_gettext looks the
    language up and builds and formats the Markup on every call (3-4 µs: 26 calls a page of the
    review queue)."""
    language = translation.get_language() or ""

    def gettext(message: str, **variables: Any) -> Markup:
        if variables:
            return Markup(_kept_translation(message)) % variables  # noqa: S704 -- the catalog's own text, as Jinja2's
        key = (language, message)
        text = _written.get(key)
        if text is None:
            text = _written[key] = Markup(_kept_translation(message)) % {}  # noqa: S704 -- as above
        return text

    return gettext
