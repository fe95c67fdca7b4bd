"""The partner home's translations for its Jinja2 renders (partners.views._home_body, _panel_html):
each message translated once per process and language, not on every visit.

Through Django's gettext each ``_()`` of the home's templates (about twenty a visit) costs a
lookup of the active translation in request-local storage and a walk down the catalogue's
fallbacks: about a millisecond of the home's CPU in all. The templates' messages are literals (a
fixed set, so the memo is bounded) and a language's catalogue does not change while the process
runs, so the translation found once is the one Django would find again.

The callables replace, for the renders given them, the environment's ``gettext`` / ``ngettext``
(``_()`` is an alias of ``gettext``, prm.jinja2): they behave as Jinja2's "newstyle" ones do (the
translation marked safe under autoescaping, then always formatted with the keyword values,
escaped)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import translation
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from prm.jinja2 import kept_gettext
from prm.kept import TRANSLATION_SETTINGS, Kept


def gettext_callables() -> dict[str, Callable[..., Any]]:
    """``_``, ``gettext`` and ``ngettext`` for one render, in the current language (and ``url``):
    ``_`` over translations looked up once per language and message (prm.jinja2.kept_gettext)."""

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        # Not kept: the form depends on the number (and the home prints three).
        variables.setdefault("num", num)
        found = translation.ngettext(singular, plural, num)
        rv: Any = Markup(found) if context.eval_ctx.autoescape else found  # noqa: S704 -- as Jinja2 does
        return rv % variables

    # ``url()`` too: the home's templates' links have no arguments but the logo's (home_url).
    return {"_": kept_gettext, "gettext": kept_gettext, "ngettext": ngettext, "url": home_url}


# Per language: a choices class's labels by value (the role names of the team card, the case
# statuses of the support panel); forgotten when the catalogues change.
_LABELS: Kept[tuple[str | None, type], dict[str, str]] = Kept(256, forget_on=TRANSLATION_SETTINGS)


def choice_labels(choices: Any) -> dict[str, str]:
    """``{value: label}`` of a TextChoices class in the current language, made once per language."""
    key = (translation.get_language(), choices)
    labels = _LABELS.get(key)
    if labels is None:
        labels = _LABELS.keep(key, {value: str(label) for value, label in choices.choices})
    return labels


# (URLconf, script prefix, name) -> the URL: reverse() without arguments, once per process.
_URLS: dict[tuple[Any, str, str], str] = {}


def home_url(name: str, *args: Any) -> str:
    """``reverse(name)`` for the home's links: a URL without arguments depends only on the URLconf
    and the script prefix, so it is reversed once per process (about 0.2 ms each, a dozen a
    visit); with arguments (the partner's logo) it is reversed each time."""
    if args:
        return reverse(name, args=args)
    # The URLconf in use: the request's, else the setting's (which tests may override).
    key = (get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), name)
    url = _URLS.get(key)
    if url is None:
        url = _URLS[key] = reverse(name)
    return url
