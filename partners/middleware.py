"""Per-request identity and the gates every page sits behind.

``ActorMiddleware`` resolves who is acting (vendor role, or partner membership) and runs the rest
of the request inside :func:`prm.tenancy.request_transaction`: the request's one transaction, with
the transaction-local RLS settings of :func:`prm.tenancy.tenant_scope`, rolled back when the view
fails (Django's ATOMIC_REQUESTS is off: it would only add a savepoint to every request).
``AccessGateMiddleware`` then sends vendor staff without MFA to set it up, partner users whose
admin has not accepted the current agreement to the agreement page, and users of suspended or
terminated partners to a notice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from prm.auth_backends import loaded_state
from prm.notifications import forget_loaded_unread, keep_loaded_unread, unread_count_read
from prm.roles import VendorRole
from prm.tenancy import (
    ANONYMOUS,
    Actor,
    Side,
    mark_non_atomic,
    request_transaction,
    roll_back_request,
    system_scope,
)

from .actor_cache import cached_actor
from .models import Membership
from .policies import portfolio_partner_ids


def resolve_actor(user: object) -> Actor:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ANONYMOUS
    if user.vendor_role:
        portfolio = None
        if user.vendor_role == VendorRole.CHANNEL_ACCOUNT_MANAGER:
            # The database scope carries the portfolio, so row-level security holds a channel
            # account manager to it as the ORM does (one indexed query per request).
            with system_scope():
                portfolio = tuple(
                    portfolio_partner_ids(user_id=user.pk).values_list("content_object_id", flat=True)
                )
        return Actor(user=user, side=Side.VENDOR, vendor_role=user.vendor_role, portfolio=portfolio)
    # Identity resolution is the one place that reads a membership before the partner scope is
    # known; it fetches exactly this user's active membership. With it the partner's channel
    # account manager, whom the partner's home and notice pages name (else a second user query at
    # the end of those pages); cached with the actor, a renamed manager shows at most
    # PRM["ACTOR_CACHE_SECONDS"] late (a reassigned one at once: the partner row changes).
    with system_scope():
        membership = (
            Membership.objects.select_related("partner", "partner__tier", "partner__channel_account_manager")
            .filter(user=user, is_active=True)
            .first()
        )
    if membership is None:
        return Actor(user=user, side=Side.ANONYMOUS)
    return Actor(user=user, side=Side.PARTNER, partner=membership.partner, partner_role=membership.role)


# Requests that render no page with the navigation's bell: their scope is written without the
# unread count (prm.notifications.unread_count_read). Only a guess that saves work: a page under
# them that does show the bell reads the count on its own, as every page did before.
_NO_BELL = ("/api/", "/healthz", "/static/", "/media/", "/favicon.ico")


def _bell_read(request: HttpRequest, actor: Actor) -> tuple[str, Sequence[Any]] | None:
    """The bell's unread count, to be read in the statement that writes the request's scope, for a
    request that will likely show it (a page a signed-in user GETs); else None."""
    if actor.user is None or actor.scope is None or request.method not in ("GET", "HEAD"):
        return None
    if request.path.startswith(_NO_BELL):
        return None
    return unread_count_read(user=actor.user)


class ActorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # The user row is the database's (the authentication middleware loaded it); who that user
        # acts as comes from the cache while nothing it depends on changed (partners.actor_cache).
        actor = request.actor = cached_actor(getattr(request, "user", None), resolve=resolve_actor)
        bell = _bell_read(request, actor)
        try:
            with request_transaction(request, actor.scope, along=bell) as unread:
                if bell is not None and unread is not None:
                    keep_loaded_unread(user=actor.user, count=unread)
                return self.get_response(request)
        finally:
            if bell is not None:
                forget_loaded_unread()

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], view_args: Any, view_kwargs: Any
    ) -> None:
        mark_non_atomic(request, view_func)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        # The view (or its template response) raised: undo its writes now, before the error page
        # (404, 403, 500, ...) is rendered in the same transaction, as ATOMIC_REQUESTS's savepoint
        # did. Returning nothing lets Django answer the exception as before.
        roll_back_request(request)


def _roll_back_on_uncaught_exception(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    # Sent for every exception that becomes a 500, a middleware's inside the request transaction
    # included (which ATOMIC_REQUESTS never covered): nothing of such a request is committed.
    if request is not None:
        roll_back_request(request)


got_request_exception.connect(_roll_back_on_uncaught_exception, dispatch_uid="partners.request_transaction")


_API_GATE_MESSAGE = (
    "Sign in to the portal first: vendor staff need MFA, a partner needs the current agreement "
    "accepted and active portal access."
)

# Paths a gated user may still reach: signing out, setting up MFA, static files, the gate pages.
_ALWAYS_OPEN = (
    "/accounts/",
    "/static/",
    "/i18n/",
    "/account/language/",  # the language of the gate pages and of what the user is sent
    "/agreement/",
    "/access/",
    "/verify/",
    "/apply/",
    "/find-a-partner/",
    "/invitations/",
    "/favicon.ico",
    "/healthz",
)


def has_totp(user: Any) -> bool:
    """Whether ``user`` has a TOTP authenticator: as the user row read it
    (prm.auth_backends.loaded_state), else from the database."""
    loaded = loaded_state(user)
    if loaded is not None and loaded.has_totp is not None:
        return loaded.has_totp
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def partner_gate(actor: Actor) -> str:
    """Why a partner user may not use the portal yet: "suspended" (suspended or terminated),
    "agreement" (the current agreement is not accepted), or "" (nothing stands in the way)."""
    if not actor.is_partner:
        return ""
    if not actor.partner.has_portal_access:
        return "suspended"
    if not actor.partner.agreement_is_current:
        return "agreement"
    return ""


class AccessGateMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self._gate(request)
        if request.path.startswith("/api/") and (
            response.status_code in (301, 302)
            or (
                response.status_code == 403
                and not response.get("Content-Type", "").startswith("application/json")
            )
        ):
            # An API client cannot follow a page that asks a person to act: say what is missing.
            return JsonResponse({"detail": _API_GATE_MESSAGE}, status=403)
        return response

    def _gate(self, request: HttpRequest) -> HttpResponse:
        actor: Actor = request.actor
        path = request.path
        # What stands between a partner user and the portal, for the navigation (base.html shows
        # a gated user only what they can open): "suspended", "agreement" or "" (nothing).
        request.partner_gate = partner_gate(actor)
        if actor.user is None or path.startswith(_ALWAYS_OPEN):
            return self.get_response(request)
        if actor.is_vendor:
            if not has_totp(actor.user):
                return redirect(f"{reverse('mfa_activate_totp')}?next={path}")
            return self.get_response(request)
        if actor.is_partner:
            partner = actor.partner
            if not partner.has_portal_access:
                # The notice is the whole page: "Successfully signed in" (or any other message)
                # above it would contradict it. Reading the messages marks them shown.
                for _message in messages.get_messages(request):
                    pass
                return render(
                    request,
                    "partners/access_suspended.html",
                    {"partner": partner, "messages": ()},
                    status=403,
                )
            if not partner.agreement_is_current:
                return redirect("partners:agreement")
            return self.get_response(request)
        # Signed in, but neither vendor staff nor an active member of a partner.
        if path.startswith("/admin/"):
            return render(request, "partners/no_access.html", status=403)
        return render(request, "partners/no_access.html", status=403)
