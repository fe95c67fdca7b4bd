"""``{% home_cached "name" %}…{% endhome_cached %}``: a part of the partner home rendered once a
minute per partner, tier, type, region, role and language (partners.panels.home_cached) and kept
as HTML.

For the parts whose reads the home keeps already (the tier progress: ``home_cached(request,
"tier", …)`` in partners.views.home): their data are the same for that key for the minute, so
their markup is too, and rendering it again each request was a millisecond of the home's
template time. What goes inside may read only what that key names — the partner's own figures,
the role, the language — never the person (their name, e-mail, CSRF token) nor the request's
URL; tests/partners/test_home_cache.py checks that no other partner, role or language gets it.
"""

from __future__ import annotations

from django import template
from django.conf import settings

from partners.panels import home_cached

register = template.Library()


class HomeCachedNode(template.Node):
    def __init__(self, nodelist: template.NodeList, name: str) -> None:
        self.nodelist = nodelist
        self.name = name

    def render(self, context: template.Context) -> str:
        request = context.get("request")
        if settings.DEBUG or request is None or getattr(request, "actor", None) is None:
            return self.nodelist.render(context)
        return home_cached(
            request,
            f"{self.name}:html",
            lambda: str(self.nodelist.render(context)),
            partner=context.get("partner"),
        )


@register.tag("home_cached")
def home_cached_tag(parser: template.base.Parser, token: template.base.Token) -> HomeCachedNode:
    bits = token.split_contents()
    if len(bits) != 2 or bits[1][0] not in "\"'" or bits[1][-1] != bits[1][0]:
        raise template.TemplateSyntaxError('Use {% home_cached "name" %}')
    nodelist = parser.parse(("endhome_cached",))
    parser.delete_first_token()
    return HomeCachedNode(nodelist, bits[1][1:-1])
