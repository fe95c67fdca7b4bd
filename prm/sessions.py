"""How long a signed-in session lasts, by side.

Vendor staff see every partner's deals, funds and people, so their sessions are short: by default
12 hours from sign-in at most, and 30 minutes without a request ends them. Partner users keep long
sessions (two weeks, a week idle). Both pairs are settings (``PRM["VENDOR_SESSION_*"]``,
``PRM["PARTNER_SESSION_*"]``); an idle timeout of 0 turns that check off.

From the session's first write on (its first request a minute or more after signing in), the
absolute end is also the cookie's and the stored session's expiry. The idle timeout is checked here
rather than by letting the cookie lapse: then the person who comes back to an idle tab is told why
they must sign in again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

# Session keys: when this sign-in started, and when its last request came (epoch seconds).
STARTED_AT = "_prm_session_started_at"
LAST_SEEN_AT = "_prm_session_last_seen_at"
# The last-seen time is written at most this often, so that a busy page does not save the session
# on every request; the idle timeout is therefore exact to within this many seconds.
LAST_SEEN_RESOLUTION = 60


@dataclass(frozen=True)
class SessionLimits:
    max_age: int  # seconds from sign-in
    idle_timeout: int  # seconds without a request; 0: no idle timeout


def limits_for(user: object) -> SessionLimits:
    # Accounts that reach the admin count as vendor staff even without a vendor role.
    side = "VENDOR" if getattr(user, "vendor_role", "") or getattr(user, "is_staff", False) else "PARTNER"
    return SessionLimits(
        max_age=settings.PRM[f"{side}_SESSION_MAX_AGE"],
        idle_timeout=settings.PRM[f"{side}_SESSION_IDLE_TIMEOUT"],
    )


class SessionLifetimeMiddleware:
    """Ends sessions past their side's absolute or idle limit. Runs after authentication and
    messages, before the actor is resolved (a signed-out request is anonymous from there on)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        session = request.session
        # Only sessions that carry a sign-in; an API token request has its own authentication.
        if user is None or not user.is_authenticated or SESSION_KEY not in session:
            return self.get_response(request)
        if getattr(request, "api_token", None) is not None:
            return self.get_response(request)

        limits = limits_for(user)
        now = int(time.time())
        started_at = session.get(STARTED_AT)
        if started_at is None:
            # Until this session is first written (below), take the user's last login as its
            # start: Django records it at every sign-in, and this session began at that sign-in or
            # before it, so its age is never overestimated. Not writing on the first requests keeps
            # a page view right after signing in free of a session save.
            started_at = int(user.last_login.timestamp()) if user.last_login else now
        last_seen_at = session.get(LAST_SEEN_AT, started_at)

        if now - started_at >= limits.max_age:
            return self._sign_out(request, _("Your session has ended. Please sign in again."))
        if limits.idle_timeout and now - last_seen_at >= limits.idle_timeout:
            idle = timesince(
                datetime.fromtimestamp(now - limits.idle_timeout, tz=UTC), datetime.fromtimestamp(now, tz=UTC)
            )
            return self._sign_out(
                request,
                _("You were signed out after %(duration)s without activity. Please sign in again.")
                % {"duration": idle},
            )
        first_write_due = STARTED_AT not in session and user.last_login is None
        if now - last_seen_at >= LAST_SEEN_RESOLUTION or first_write_due:
            session[LAST_SEEN_AT] = now
            if STARTED_AT not in session:
                session[STARTED_AT] = started_at
                # Without "Remember me" the cookie ends with the browser; the limits still apply.
                if not session.get_expire_at_browser_close():
                    session.set_expiry(datetime.fromtimestamp(started_at + limits.max_age, tz=UTC))
        return self.get_response(request)

    def _sign_out(self, request: HttpRequest, message: str) -> HttpResponse:
        logout(request)
        messages.info(request, message)
        if request.path.startswith("/api/"):
            # An API client cannot follow a login page; it now is anonymous and is told so there.
            return self.get_response(request)
        login_url = resolve_url(settings.LOGIN_URL)
        if request.method == "GET":
            login_url = f"{login_url}?{urlencode({'next': request.get_full_path()})}"
        if request.headers.get("HX-Request") == "true":
            # A fragment request must move the whole page to the login form, not swap it into a box.
            return HttpResponseClientRedirect(login_url)
        return redirect(login_url)
