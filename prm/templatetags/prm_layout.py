"""``{% layout_part "name" %}``: one piece of the portal's chrome, rendered by Jinja2, in a Django page.

templates/base.html is the frame every Django page extends: its blocks (title, extra_head, main and
content, scripts) sit between these tags, and each tag prints the macro of
templates/jinja2/layout/chrome.html of that name (start, head, body, foot, end; prm.layout.render_part).
What the chrome prints about the request and the person (prm.layout.Chrome) is worked out once per
page, at the first tag, from the values the context processors put in the page's context.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from prm.layout import PARTS, Chrome, render_part

register = template.Library()


class _ChromeKey:
    """The page's Chrome in the render context (one per top-level render, shared by extends)."""


class LayoutPartNode(template.Node):
    def __init__(self, name: str) -> None:
        self.name = name

    def render(self, context: template.Context) -> SafeString:
        chrome = context.render_context.get(_ChromeKey)
        if chrome is None:
            chrome = context.render_context[_ChromeKey] = Chrome(context)
        return render_part(self.name, chrome)


@register.tag("layout_part")
def layout_part(parser: template.base.Parser, token: template.base.Token) -> LayoutPartNode:
    bits = token.split_contents()
    name = bits[1][1:-1] if len(bits) == 2 and bits[1][0] in "\"'" and bits[1][-1] == bits[1][0] else ""
    if name not in PARTS:
        names = ", ".join(PARTS)
        raise template.TemplateSyntaxError(f"Use {{% layout_part NAME %}}, NAME one of {names}")
    return LayoutPartNode(name)
