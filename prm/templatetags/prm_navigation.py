"""``{% cached_navigation "name" %}…{% endcached_navigation %}``: a block of a Django template kept
per navigation key, in the store the Jinja2 layout uses (prm/navigation.py says what the key holds
and what a block may read)."""

from __future__ import annotations

from django import template

from prm.navigation import _fragments, clear, fragment, navigation_key_of

__all__ = ["_fragments", "clear", "fragment", "navigation_key", "navigation_key_of"]

register = template.Library()


def navigation_key(context: template.Context) -> tuple:
    return navigation_key_of(context.get("request"), context.get("actor"))


class CachedNavigationNode(template.Node):
    def __init__(self, nodelist: template.NodeList, name: str) -> None:
        self.nodelist = nodelist
        self.name = name

    def render(self, context: template.Context) -> str:
        return fragment(self.name, navigation_key(context), lambda: self.nodelist.render(context))


@register.tag("cached_navigation")
def cached_navigation(parser: template.base.Parser, token: template.base.Token) -> CachedNavigationNode:
    """``{% cached_navigation "name" %}…{% endcached_navigation %}``: each named block of links is
    kept apart (the main menu, the links of the user menu)."""
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError('Use {% cached_navigation "name" %}')
    nodelist = parser.parse(("endcached_navigation",))
    parser.delete_first_token()
    return CachedNavigationNode(nodelist, bits[1][1:-1])
