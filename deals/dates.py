"""Dates as the vendor's deal lists write them, remembered from one request to the next.

A page of a list shows the same deals on every request, and so the same dates; writing one through
Django's ``date`` filter costs 20-130 µs (the month's name and "a.m." go through gettext each time):
six dates on each of 25 rows of the review queue were a fifth of the page's CPU. What a date is
written as depends only on the language, the time zone, the format and the moment, all of them
in the key; nothing tenant-specific is kept, only the text of a moment."""

from __future__ import annotations

from typing import Any

from django.utils import dateformat, formats, timezone, translation

from prm.kept import Kept

# Enough for many pages of many lists in every language; past it, the memory starts again.
KEPT = 20_000
_written: Kept[tuple[Any, ...], str] = Kept(KEPT)


class Dates:
    """``dates(value, format)``: Django's ``{{ value|date:format }}``, in the language and time zone
    current when the object was made (one per render). ``format``: a format name
    ("DATE_FORMAT") or a format ("c", "N j, Y")."""

    def __init__(self) -> None:
        self.language = translation.get_language()
        self.zone = timezone.get_current_timezone_name()

    def __call__(self, value: Any, format_name: str) -> str:
        if value is None or value == "":
            return ""
        key = (self.language, self.zone, format_name, type(value), value)
        text = _written.get(key)
        if text is None:
            try:
                text = dateformat.format(timezone.template_localtime(value), formats.get_format(format_name))
            except AttributeError:
                text = ""  # as Django's filter does for a value that is not a date
            _written.keep(key, text)
        return text
