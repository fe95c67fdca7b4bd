"""Languages: each person's own, and messages kept so that each reader gets them in theirs.

* :func:`language_of` is the language the portal speaks to a user: the one they chose in their
  profile (``User.language``), else the portal's default. E-mails, notifications and PDFs meant
  for someone are rendered in it (``with for_user(user): ...``); pages follow the signed-in
  person's choice through :class:`UserLanguageMiddleware` (the browser's language when they chose
  none).
* A notification is stored once but read by people who speak different languages, and often
  caused by a third (a German partner admin's action tells an English channel manager). So its
  title and body keep what they were made of: :func:`gettext` / :func:`ngettext` here translate as
  Django's do, but answer a ``str`` that remembers its message id, and ``%`` with parameters keeps
  them too. ``prm.notifications.notify`` stores that (:func:`to_message`) beside the text, and the
  inbox, e-mails and the digest render it again in the reader's language (:func:`render_message`).
  A parameter that is itself such a message (or a ``gettext_lazy`` label, as a status's) is
  translated for the reader too; anything else (a company's name) is kept as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.functional import Promise

_MESSAGE = "__message__"
_DATE = "__date__"
_AMOUNT = "__amount__"


def language_of(user: Any) -> str:
    """The language to use for ``user`` (their choice, else the portal's default)."""
    language = getattr(user, "language", "") or ""
    if language and language in dict(settings.LANGUAGES):
        return language
    return settings.LANGUAGE_CODE


@contextmanager
def for_user(user: Any) -> Iterator[str]:
    """Translate, format dates and money in ``user``'s language inside the block."""
    language = language_of(user)
    with translation.override(language):
        yield language


class UserLanguageMiddleware:
    """After sign-in, the person's own language wins over the browser's (and the language cookie).

    Placed after ``AuthenticationMiddleware`` (and the API token's): it reads ``request.user``,
    which the actor's resolution loads in any case, so it costs no query. A user who chose no
    language keeps what ``LocaleMiddleware`` picked (cookie, then browser)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        language = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if language and language in dict(settings.LANGUAGES):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


# --- Messages that remember what they were made of -------------------------------------------------
class TranslatedStr(str):
    """A translated text that remembers its message id (and, after ``%``, its parameters)."""

    message: dict[str, Any]

    def __new__(cls, text: str, message: dict[str, Any] | None = None) -> TranslatedStr:
        # ``message`` has a default so that pickle (a cache, a broker) can rebuild one.
        made = super().__new__(cls, text)
        made.message = message or {}
        return made

    def __mod__(self, params: Any) -> TranslatedStr:  # type: ignore[override]
        text = str.__mod__(str(self), params)
        if isinstance(params, dict):
            kept: Any = {key: _param(value) for key, value in params.items()}
        elif isinstance(params, tuple):
            kept = [_param(value) for value in params]
        else:
            kept = [_param(params)]
        return TranslatedStr(text, {**self.message, "params": kept})


def gettext(message: str) -> TranslatedStr:
    """Django's ``gettext``, remembering ``message`` (use as ``_`` where notifications are made)."""
    return TranslatedStr(translation.gettext(message), {"msgid": message})


def ngettext(singular: str, plural: str, number: int) -> TranslatedStr:
    """Django's ``ngettext``, remembering the forms and the number."""
    return TranslatedStr(
        translation.ngettext(singular, plural, number), {"msgid": singular, "plural": plural, "n": number}
    )


def translated(text: Promise | str) -> str:
    """A ``gettext_lazy`` text (a table of titles, a choice's label) translated now, remembering
    its message id as :func:`gettext` does."""
    if isinstance(text, Promise) and (message := _lazy_msgid(text)) is not None:
        return TranslatedStr(str(text), message)
    return str(text)


class Localized(str):
    """A date or an amount written in the active language's conventions that remembers its value,
    so a notification naming it shows it in each reader's (:func:`localized_date`,
    :func:`localized_amount`)."""

    param: dict[str, Any]

    def __new__(cls, text: str, param: dict[str, Any] | None = None) -> Localized:
        made = super().__new__(cls, text)
        made.param = param or {}
        return made


def localized_date(value: date, fmt: str = "DATE_FORMAT") -> str:
    """``django.utils.formats.date_format(value, fmt)``, for a notification's parameters. A
    datetime is shown in the portal's time zone (``localized_datetime``)."""
    if isinstance(value, datetime):
        value = timezone.localtime(value)
    return Localized(date_format(value, fmt), {_DATE: value.isoformat(), "format": fmt})


def localized_datetime(value: datetime, fmt: str = "SHORT_DATETIME_FORMAT") -> str:
    """A moment in the reader's conventions ("12/06/2026 9:59 p.m.", "06.12.2026 21:59"):
    what ``strftime`` cannot do, as its month names are always English."""
    return localized_date(value, fmt)


def localized_amount(amount: Any, currency: str) -> str:
    """``prm.money.format_amount(amount, currency)``, for a notification's parameters."""
    from .money import format_amount

    return Localized(format_amount(amount, currency), {_AMOUNT: str(amount), "currency": currency})


def _lazy_msgid(value: Promise) -> dict[str, Any] | None:
    """The message id of a ``gettext_lazy`` / ``pgettext_lazy`` text (a choice's label)."""
    func, args, kwargs = value.__reduce__()[1][:3]
    if kwargs:
        return None
    if func is translation.gettext and len(args) == 1:
        return {"msgid": args[0]}
    if func is translation.pgettext and len(args) == 2:
        return {"context": args[0], "msgid": args[1]}
    return None


def _param(value: Any) -> Any:
    if isinstance(value, Localized):
        return value.param
    if isinstance(value, TranslatedStr):
        return {_MESSAGE: value.message}
    if isinstance(value, Promise):
        message = _lazy_msgid(value)
        return {_MESSAGE: message} if message is not None else str(value)
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def to_message(text: Any) -> dict[str, Any]:
    """What to store to render ``text`` again in another language: {} for a plain text."""
    if isinstance(text, TranslatedStr):
        return text.message
    if isinstance(text, Promise):
        return _lazy_msgid(text) or {}
    return {}


def _rendered(value: Any) -> Any:
    if isinstance(value, dict) and _MESSAGE in value:
        return render_message(value[_MESSAGE], "")
    if isinstance(value, dict) and _DATE in value:
        stored = value[_DATE]
        moment = datetime.fromisoformat(stored) if "T" in stored else date.fromisoformat(stored)
        return date_format(moment, value.get("format", "DATE_FORMAT"))
    if isinstance(value, dict) and _AMOUNT in value:
        from .money import format_amount

        return format_amount(Decimal(value[_AMOUNT]), value.get("currency", ""))
    return value


def render_message(message: dict[str, Any] | None, fallback: str) -> str:
    """``message`` (from :func:`to_message`) in the active language; ``fallback`` (the text as
    first written) when there is none or it no longer fits its parameters."""
    if not message or "msgid" not in message:
        return fallback
    try:
        if "plural" in message:
            text = translation.ngettext(message["msgid"], message["plural"], message["n"])
        elif "context" in message:
            text = translation.pgettext(message["context"], message["msgid"])
        else:
            text = translation.gettext(message["msgid"])
        params = message.get("params")
        if isinstance(params, dict):
            return text % {key: _rendered(value) for key, value in params.items()}
        if isinstance(params, list):
            return text % tuple(_rendered(value) for value in params)
        return text
    except (KeyError, TypeError, ValueError):
        # A translation whose placeholders do not match its parameters: the text as written.
        return fallback
