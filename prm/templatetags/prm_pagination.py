"""``{% pagination page querystring %}``: a list's pagination, the markup of
templates/includes/pagination.html built in Python.

Every list page showed it through ``{% include %}``: two dozen ``{% if %}``, a few
``{% blocktranslate %}`` and a dozen lookups of ``page.…`` through the template engine, about
half a millisecond of a page. The wording is the same msgids the template had, so the
translations stay; ``querystring`` comes from prm.views.querystring_without_page (already a URL
query string, escaped here as the template escaped it).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.core.paginator import Page
from django.template.defaultfilters import floatformat
from django.utils.formats import localize
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, ngettext

from prm.kept import TRANSLATION_SETTINGS, Kept

register = template.Library()


def _translated(wording: str, **values: Any) -> SafeString:
    """``{% blocktranslate with … %}``: each value localized and escaped, the sentence not."""
    return mark_safe(  # noqa: S308 -- the values are escaped; the sentence is our own msgid
        wording % {name: conditional_escape(localize(value)) for name, value in values.items()}
    )


def _link(href: SafeString, number: int, text: Any = None, label: str = "") -> SafeString:
    aria = format_html(' aria-label="{}"', label) if label else ""
    return format_html(
        '<li class="page-item"><a class="page-link" href="{}page={}"{}>{}</a></li>',
        href,
        number,
        aria,
        localize(number) if text is None else text,
    )


_PREVIOUS_ICON = mark_safe('<i class="bi bi-chevron-left" aria-hidden="true"></i>')
_NEXT_ICON = mark_safe('<i class="bi bi-chevron-right" aria-hidden="true"></i>')
_GAP = mark_safe('<li class="page-item disabled"><span class="page-link">…</span></li>')


# The markup by everything that decides it: the language (the wording, the numbers' format), the
# query string, the page's number, the list's length, its pages, the page's first and last row and
# whether the length is capped. A list's first pages are the same markup for every request until
# the list changes; written, it was 0.1 ms a page. Bounded: emptied when full.
WRITTEN_KEPT = 5_000
_written: Kept[tuple[Any, ...], SafeString] = Kept(
    WRITTEN_KEPT,
    forget_on=TRANSLATION_SETTINGS
    | {
        "FORMAT_MODULE_PATH",
        "USE_THOUSAND_SEPARATOR",
        "NUMBER_GROUPING",
        "THOUSAND_SEPARATOR",
        "DECIMAL_SEPARATOR",
    },
)


@register.simple_tag
def pagination(page: Page, querystring: str = "") -> SafeString:
    paginator = page.paginator
    key = (
        get_language(),
        querystring,
        page.number,
        paginator.count,
        paginator.num_pages,
        page.start_index(),
        page.end_index(),
        bool(getattr(paginator, "more", False)),
    )
    markup = _written.get(key)
    if markup is None:
        markup = _written.keep(key, _pagination(page, querystring))
    return markup


def _pagination(page: Page, querystring: str) -> SafeString:
    paginator = page.paginator
    num_pages = paginator.num_pages
    if num_pages <= 1:
        if not paginator.count:
            return mark_safe("")
        return format_html(
            '<div class="small text-body-secondary">\n  {}\n</div>',
            _translated(
                ngettext("Showing %(total)s result", "Showing all %(total)s results", paginator.count),
                total=paginator.count,
            ),
        )
    # As the template wrote it: the query string escaped, the "&" before page= as it is.
    href = mark_safe(f"?{conditional_escape(querystring)}&" if querystring else "?")  # noqa: S308
    if getattr(paginator, "more", False):
        showing = _translated(
            gettext("Showing %(start)s–%(end)s of more than %(total)s: filter to narrow them"),
            start=page.start_index(),
            end=page.end_index(),
            total=floatformat(paginator.count, "0g"),
        )
    else:
        showing = _translated(
            gettext("Showing %(start)s–%(end)s of %(total)s"),
            start=page.start_index(),
            end=page.end_index(),
            total=paginator.count,
        )
    items: list[SafeString] = []
    if page.has_previous():
        previous = page.previous_page_number()
        items.append(_link(href, previous, _PREVIOUS_ICON, gettext("Previous page")))
        if previous > 1:
            items.append(_link(href, 1))
            if previous > 2:
                items.append(_GAP)
        items.append(_link(href, previous))
    else:
        items.append(
            format_html(
                '<li class="page-item disabled"><span class="page-link">{}</span></li>', _PREVIOUS_ICON
            )
        )
    items.append(
        format_html(
            '<li class="page-item active" aria-current="page"><span class="page-link">{}</span></li>',
            localize(page.number),
        )
    )
    if page.has_next():
        following = page.next_page_number()
        items.append(_link(href, following))
        if following < num_pages:
            if following < num_pages - 1:
                items.append(_GAP)
            items.append(_link(href, num_pages))
        items.append(_link(href, following, _NEXT_ICON, gettext("Next page")))
    else:
        items.append(
            format_html('<li class="page-item disabled"><span class="page-link">{}</span></li>', _NEXT_ICON)
        )
    return format_html(
        '<nav class="d-flex flex-wrap align-items-center justify-content-between gap-2" aria-label="{}">\n'
        '  <div class="small text-body-secondary">\n    {}\n  </div>\n'
        '  <ul class="pagination pagination-sm">\n    {}\n  </ul>\n</nav>',
        gettext("Pagination"),
        showing,
        mark_safe("\n    ".join(items)),  # noqa: S308 -- each item built by format_html
    )
