"""prm.jinja2.page_gettext writes what kept_gettext (Jinja2's own newstyle gettext) writes: the
same text, escaping and formatting, with and without values, in each language of the portal."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.template import engines
from django.utils import translation

from prm.jinja2 import kept_gettext, page_gettext

TEMPLATE = (
    '{{ _("Deal reviews") }}|{{ _("Search") }}|{{ _("Deal reviews") }}|'
    '{{ _("%(since)s ago", since="<b>3 days</b>") }}|{{ gettext("No extension requests are waiting. '
    'Partners ask for one when an approved deal needs more time.") }}|{{ _("not a message & <i>") }}'
)


@pytest.mark.parametrize("language", [code for code, _ in settings.LANGUAGES])
def test_page_gettext_writes_what_kept_gettext_writes(language: str) -> None:
    template = engines["jinja2"].from_string(TEMPLATE)
    with translation.override(language):
        kept = template.render({"_": kept_gettext, "gettext": kept_gettext})
        for _ in range(2):  # the first render keeps the messages written, the second reuses them
            gettext = page_gettext()
            assert template.render({"_": gettext, "gettext": gettext}) == kept
    assert "&lt;b&gt;3 days&lt;/b&gt;" in kept and "not a message & <i>" in kept
