"""A plain Django WSGI handler for the bare page: the same settings and database connection as the
portal in this process, but a minimal middleware list and a URLconf of its own."""

from __future__ import annotations

from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest
from django.test.utils import override_settings

# What a bare Django site keeps at the least; no session, authentication, CSRF, messages, actor or
# tenant transaction: the portal's cost of those is what the ratio to this page shows.
BARE_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
BARE_URLCONF = "bench.bare.urls"


class BareHandler(WSGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE; give it the bare list for the build
        # only (once, at start-up), leaving the settings the portal's handler reads untouched.
        with override_settings(MIDDLEWARE=BARE_MIDDLEWARE):
            super().load_middleware(is_async)

    def resolve_request(self, request: HttpRequest) -> object:
        # Django resets the thread's URLconf to ROOT_URLCONF at the start of every request, so
        # this one never leaks into the portal's requests.
        request.urlconf = BARE_URLCONF
        return super().resolve_request(request)
