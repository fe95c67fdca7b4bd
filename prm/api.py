"""The REST API's kernel: personal bearer tokens, their middleware, and how application errors
become responses.

Tokens are checked in a middleware, before ``partners.middleware.ActorMiddleware``, and not in a
DRF authentication class: the actor and its tenant scope (the row-level-security settings of the
request's transaction) are set up by that middleware from ``request.user``, so a token must have
turned into a user by then. DRF then only confirms what the middleware found.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, pagination, serializers, throttling
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from . import audit
from .errors import ApplicationError
from .models import ApiToken

TOKEN_PREFIX = "prm_"
API_PATH = "/api/"
# Recording every use would write a row per request; once a minute says enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_expiry_bounds() -> tuple[date, date, date]:
    """The first, the default and the last day a token issued today may expire on."""
    today = timezone.localdate()
    return (
        today + timedelta(days=1),
        today + timedelta(days=settings.PRM["API_TOKEN_DEFAULT_DAYS"]),
        today + timedelta(days=settings.PRM["API_TOKEN_MAX_DAYS"]),
    )


def token_issue(
    *, user: Any, name: str, partner_id: int | None = None, expires_on: date | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it with the secret, which is never stored or shown again.
    ``partner_id``: the user's partner, so the audit event lands in that partner's history.
    ``expires_on``: the day the token stops working (at its start, local time); by default
    PRM["API_TOKEN_DEFAULT_DAYS"] from today, at most PRM["API_TOKEN_MAX_DAYS"]."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("Name the token after what will use it, e.g. “CRM sync”."), field="name")
    if len(name) > 100:
        raise ApplicationError(_("A token name has at most 100 characters."), field="name")
    first, default, last = token_expiry_bounds()
    expires_on = expires_on or default
    if expires_on < first:
        raise ApplicationError(_("Choose an expiry date after today."), field="expires_on")
    if expires_on > last:
        raise ApplicationError(
            _("A token lives at most %(days)s days: choose a date until %(last)s.")
            % {"days": settings.PRM["API_TOKEN_MAX_DAYS"], "last": formats.date_format(last)},
            field="expires_on",
        )
    expires_at = timezone.make_aware(datetime.combine(expires_on, time.min))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, key_hash=_hash(secret), prefix=secret[:12], expires_at=expires_at
    )
    audit.record(
        actor=user,
        action="api_token.issued",
        target=token,
        after={"name": name, "expires_at": expires_at.isoformat()},
        partner_id=partner_id,
    )
    return token, secret


def token_revoke(*, user: Any, token: ApiToken, partner_id: int | None = None) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != user.pk:
        raise ApplicationError(_("You can only revoke your own tokens."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            actor=user,
            action="api_token.revoked",
            target=token,
            before={"name": token.name},
            partner_id=partner_id,
        )
    return token


def token_user(secret: str) -> tuple[Any, ApiToken]:
    """The active user behind a bearer secret; raises AuthenticationFailed saying why not."""
    token = None
    if secret.startswith(TOKEN_PREFIX):
        tokens = ApiToken.objects.select_related("user")
        token = tokens.filter(key_hash=_hash(secret), revoked_at=None).first()
    if token is None or not token.user.is_active:
        raise exceptions.AuthenticationFailed(_("Invalid or revoked API token."))
    now = timezone.now()
    if token.expires_at <= now:
        # Saying so (only to someone holding the secret) spares them guessing why it stopped.
        raise exceptions.AuthenticationFailed(
            _("This API token expired on %(when)s. Create a new one on the portal's API tokens page.")
            % {"when": formats.date_format(timezone.localtime(token.expires_at), "DATETIME_FORMAT")}
        )
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


class ApiTokenMiddleware:
    """Turns ``Authorization: Bearer <token>`` on an API path into ``request.user``. A header
    with a bad or expired token answers 401 at once, saying which, rather than carrying on as an
    anonymous request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        if request.path.startswith(API_PATH) and header[:7].lower() == "bearer ":
            try:
                request.user, request.api_token = token_user(header[7:].strip())
            except exceptions.AuthenticationFailed as refused:
                response = JsonResponse({"detail": str(refused.detail)}, status=401)
                response["WWW-Authenticate"] = 'Bearer realm="api"'
                return response
        return self.get_response(request)


class BearerTokenAuthentication(BaseAuthentication):
    """Confirms, for DRF, the user ``ApiTokenMiddleware`` authenticated (no CSRF for tokens)."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        token = getattr(request._request, "api_token", None)
        if token is None:
            return None
        return request._request.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


# --- Throttling ----------------------------------------------------------------------------------
class _RatesFromSettings:
    """DRF copies the rates onto the throttle class when it is imported, so neither a changed
    setting nor a test's override_settings would reach it: read them on every request instead."""

    scope: str

    def get_rate(self) -> str | None:
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError as exc:
            raise ImproperlyConfigured(f"No DEFAULT_THROTTLE_RATES for {self.scope!r}") from exc


class UserRateThrottle(_RatesFromSettings, throttling.UserRateThrottle):
    """Per user (a token counts as its user), at the "user" rate."""


class AnonRateThrottle(_RatesFromSettings, throttling.AnonRateThrottle):
    """Per address, for requests without credentials, at the "anon" rate."""


class ThrottleFirstMixin:
    """Throttles before permissions. DRF checks them after, so an anonymous caller, refused by the
    permission check with a 401, never counted against the anonymous rate at all."""

    def check_permissions(self, request: Request) -> None:
        super().check_throttles(request)  # type: ignore[misc]
        super().check_permissions(request)  # type: ignore[misc]

    def check_throttles(self, request: Request) -> None:
        """Already done, in check_permissions."""


# --- Request fields that take what the schema documents, and only that -------------------------
# DRF's fields coerce: a number for a text field, "2" or 2.0 for an integer, "" or "+5" or 1e2
# for an amount. The schema promises JSON types, so a client sending anything else has a bug
# worth a 400 that names the field, rather than a value the client did not mean.
# Python's whitespace, what CharField trims, spelled out: JSON Schema's \s is another set. With
# it, the schema says "not blank" (a pattern) in exactly the server's terms.
_WHITESPACE = "".join(f"\\u{code:04x}" for code in range(0x3001) if chr(code).isspace())
not_blank = RegexValidator(f"[^{_WHITESPACE}]", message=gettext_lazy("This field may not be blank."))


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(data)


class WritableChoiceField(serializers.ChoiceField):
    """A choice read back as any of ``choices`` but written only as one of ``writable`` (a deal's
    closed stages come with the won and lost transitions, never with a registration). The schema
    says so per direction (prm.api_schema.WritableChoiceFieldSchema), so a client is not offered a
    value the API refuses."""

    def __init__(self, *, writable: Any, **kwargs: Any) -> None:
        self.writable = [value for value, _label in writable]
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if value not in self.writable:
            self.fail("invalid_choice", input=data)
        return value


class AmountField(serializers.DecimalField):
    """A non-negative amount, sent as a string of digits with at most ``decimal_places`` decimals,
    e.g. "450.00": exactly the ``pattern`` the schema shows (prm.api_schema.AmountFieldSchema)."""

    default_error_messages = {
        "invalid": gettext_lazy("Send the amount as a string of digits, e.g. “450.00”."),
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=0, **kwargs)
        whole = self.max_digits - self.decimal_places
        self.pattern = rf"^\d{{1,{whole}}}(?:\.\d{{1,{self.decimal_places}}})?$"

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not re.fullmatch(self.pattern, data):
            self.fail("invalid")
        return super().to_internal_value(data)


class PageNumberPagination(pagination.PageNumberPagination):
    """DRF's page numbers, with the page a whole number from 1: anything else (0, -1, "abc", "last")
    is a 400 that says so, where DRF answered 404 "Invalid page." as if the page were merely past
    the end. A page past the end is still that documented 404."""

    def get_page_number(self, request: Request, paginator: Any) -> int:
        value = request.query_params.get(self.page_query_param)
        if value is None:
            return 1
        digits = value.lstrip("0")
        if not (value.isascii() and value.isdigit() and digits):
            raise exceptions.ValidationError({self.page_query_param: [_("A page is a whole number from 1.")]})
        if len(digits) > 18:  # far past the end (and Python refuses to parse thousands of digits)
            raise exceptions.NotFound(self.invalid_page_message)
        return int(digits)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Errors a client can cause are a 400 with the same words the portal shows, never a 500."""
    # Imported here: rest_framework.views reads the settings that name this module (a cycle).
    from rest_framework.views import exception_handler

    if isinstance(exc, ApplicationError):
        body: dict[str, Any] = {"detail": str(exc)}
        if getattr(exc, "field", None):
            body["field"] = exc.field
        problems = (getattr(exc, "extra", None) or {}).get("problems")
        if problems:
            body["problems"] = [str(problem) for problem in problems]
        return Response(body, status=400)
    if isinstance(exc, exceptions.NotAuthenticated):
        exc.detail = _("Send an API token: Authorization: Bearer prm_…")
    return exception_handler(exc, context)
