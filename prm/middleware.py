"""The portal's own middleware: the Content-Security-Policy header (below), and the answer to a
request whose upload ``prm.files.UploadLimitHandler`` stopped reading.

Such a request has only part of its form: fields after the oversized file never arrived. No view
may act on it, so the form is parsed here, before any view (and before the CSRF check, which would
otherwise refuse it for a token that was never read), and the person is sent back to the page they
came from with a message saying what was too large. (A view can therefore not swap
``request.upload_handlers`` for a multipart POST; none does.)
"""

from __future__ import annotations

import http.client
from collections.abc import Callable
from typing import Any

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.signals import setting_changed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from .files import UploadRefused, refused_upload
from .tenancy import roll_back_request

# --- Content-Security-Policy ------------------------------------------------------------------
# django-csp builds both headers from the settings on every response (a deep copy of the policy
# parts and of each directive: about a tenth of what a request with a session costs before its view,
# issue 11). The portal's policy is the settings' alone unless a view overrides it, so each header
# is built once per process, with a placeholder where a request's nonce goes.
_NONCE_PLACEHOLDER = "prm-csp-nonce-placeholder"
_PER_RESPONSE = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
_built: dict[tuple[bool, bool], str] = {}


def _policy(*, report_only: bool, nonce: str | None) -> str:
    """What ``csp.utils.build_policy(nonce=nonce, report_only=report_only)`` returns."""
    key = (report_only, bool(nonce))
    built = _built.get(key)
    if built is None:
        built = build_policy(nonce=_NONCE_PLACEHOLDER if nonce else None, report_only=report_only)
        _built[key] = built
    return built.replace(_NONCE_PLACEHOLDER, nonce) if nonce else built


def _forget_policies(setting: str, **kwargs: Any) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY") or setting == "DEBUG":
        _built.clear()


setting_changed.connect(_forget_policies, dispatch_uid="prm.middleware.csp")


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's ``CSPMiddleware`` with the headers built once (above); a response a view gave
    a policy of its own (``@csp_update`` and the like) goes through django-csp unchanged."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if any(getattr(response, name, None) is not None for name in _PER_RESPONSE):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (
            http.client.INTERNAL_SERVER_ERROR,
            http.client.NOT_FOUND,
        ):
            return response  # Django's debug pages, as django-csp leaves them
        nonce = getattr(request, "_csp_nonce", None)
        for header, report_only, exempt, setting in (
            (HEADER, False, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, True, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        ):
            policy = _policy(report_only=report_only, nonce=nonce)
            if not policy or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = policy
        if nonce is None:
            # As django-csp does: a nonce asked for after the header was written would not be in it.
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


def refusal_message(refusal: UploadRefused) -> str:
    limit = filesizeformat(refusal.limit)
    if refusal.name:
        return _("%(name)s is more than %(limit)s; files may be at most %(limit)s.") % {
            "name": refusal.name,
            "limit": limit,
        }
    if refusal.declared_size:
        return _("The upload is %(size)s; at most %(limit)s may be sent at once.") % {
            "size": filesizeformat(refusal.declared_size),
            "limit": limit,
        }
    return _("The files are more than %(limit)s together; at most %(limit)s may be sent at once.") % {
        "limit": limit
    }


class UploadLimitMiddleware:
    """Listed before ``CsrfViewMiddleware``: its ``process_view`` runs first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if request.method != "POST" or request.content_type != "multipart/form-data":
            return None
        if request.path.startswith("/api/"):
            # The API takes JSON only; reading the body here would hide a multipart body from
            # DRF's parser, which answers it with 415.
            return None
        try:
            request.FILES  # noqa: B018 -- parse now, through the upload handlers
        except OSError:
            return None  # the client went away mid-upload: the CSRF check refuses it, as before
        refusal = refused_upload(request)
        if refusal is None:
            return None
        # Only a message is stored, nothing else changes: answering before the CSRF check is safe.
        messages.error(request, refusal_message(refusal))
        back = request.headers.get("Referer", "")
        if not url_has_allowed_host_and_scheme(
            back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            back = request.path
        if request.headers.get("HX-Request") == "true":
            return HttpResponseClientRedirect(back)
        return redirect(back)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]: ``prm.api.api_exception_handler``, plus the rollback
    DRF's own handler asks for only under ATOMIC_REQUESTS (which is off: the request's one
    transaction is ``partners.middleware.ActorMiddleware``'s). The same errors as DRF's roll back:
    those its handler answers (API errors, not found, permission denied); an ``ApplicationError``
    answered with a 400 keeps what was written before it, as it did."""
    # Imported here: rest_framework.views reads the settings that name this module (a cycle).
    from rest_framework.exceptions import APIException

    from .api import api_exception_handler as answer

    response = answer(exc, context)
    if response is not None and isinstance(exc, (APIException, Http404, PermissionDenied)):
        request = context.get("request")
        roll_back_request(getattr(request, "_request", request))
    return response
