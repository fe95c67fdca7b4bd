"""Small helpers every app's thin views share, and the kernel's own pages."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .errors import ApplicationError
from .notifications import inbox, mark_read, notification_get
from .tenancy import Actor

PAGE_SIZE = 25


def vendor_required(view: Callable) -> Callable:
    """Vendor-console pages: signed in with a vendor role (MFA is enforced by the access gate)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.actor.is_vendor:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def partner_required(view: Callable) -> Callable:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.actor.is_partner:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def paginate(
    request: HttpRequest, queryset: Any, per_page: int = PAGE_SIZE, *, count: int | None = None
) -> Page:
    paginator = Paginator(queryset, per_page)
    if count is not None:
        # The caller already knows the total (e.g. from per-status counts it shows anyway):
        # setting the cached property saves the paginator's COUNT(*) over the whole list.
        paginator.count = count
    return paginator.get_page(request.GET.get("page"))


def querystring_without_page(request: HttpRequest) -> str:
    """The current filters, so pagination links and exports keep them."""
    params = [
        (key, value) for key, values in request.GET.lists() for value in values if key != "page" and value
    ]
    return urlencode(params)


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        # Cells starting with = + - @, a tab or a carriage return run as formulas in spreadsheets
        # (CSV injection), so they get a leading quote.
        writer.writerow(
            [f"'{cell}" if isinstance(cell, str) and cell and cell[0] in "=+-@\t\r" else cell for cell in row]
        )
    return response


def actor_of(request: HttpRequest) -> Actor:
    return request.actor


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, inbox(user=request.user))
    return render(request, "prm/notifications.html", {"page": page})


@require_POST
@login_required
def notification_mark_all_read(request: HttpRequest) -> HttpResponse:
    count = mark_read(user=request.user, every=True)
    messages.success(request, _("%(count)s notifications marked as read.") % {"count": count})
    return redirect("notifications")


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    notification = notification_get(user=request.user, pk=pk)
    if notification.read_at is None:
        mark_read(user=request.user, ids=[notification.pk])
    return redirect(notification.url or "notifications")


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


# --- API tokens -------------------------------------------------------------------------------
def _may_use_api(actor: Actor) -> bool:
    # The API serves partner deal work today; the page says so to everyone else.
    return actor.is_partner and actor.partner_role in {"admin", "sales"}


def _expiry_date(value: str) -> date | None:
    """The form's expiry date, None when left empty (the service's default)."""
    if not value.strip():
        return None
    try:
        parsed = parse_date(value.strip())
    except ValueError:  # well-formed but impossible, e.g. 2026-02-30
        parsed = None
    if parsed is None:
        raise ApplicationError(_("Enter the expiry as a date, e.g. 2026-12-31."), field="expires_on")
    return parsed


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    from .api import token_expiry_bounds, token_issue

    actor = actor_of(request)
    secret = ""
    error = ""
    error_field = ""
    if request.method == "POST" and _may_use_api(actor):
        try:
            _token, secret = token_issue(
                user=request.user,
                name=request.POST.get("name", ""),
                partner_id=actor.partner_id,
                expires_on=_expiry_date(request.POST.get("expires_on", "")),
            )
        except ApplicationError as exc:
            error = str(exc)
            error_field = getattr(exc, "field", "") or "name"
    tokens = request.user.api_tokens.all()
    first_expiry, default_expiry, last_expiry = token_expiry_bounds()
    return render(
        request,
        "prm/api_tokens.html",
        {
            "tokens": tokens,
            "secret": secret,
            "error": error,
            "error_field": error_field,
            "may_use_api": _may_use_api(actor),
            "name": request.POST.get("name", "") if error else "",
            "expires_on": request.POST.get("expires_on", "") if error else default_expiry.isoformat(),
            "first_expiry": first_expiry,
            "last_expiry": last_expiry,
        },
        status=400 if error else 200,
    )


@require_POST
@login_required
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    from .api import token_revoke

    # Only the user's own tokens: another user's id is the same 404 as a missing one.
    token = request.user.api_tokens.filter(pk=pk).first()
    if token is None:
        raise Http404
    token_revoke(user=request.user, token=token, partner_id=actor_of(request).partner_id)
    messages.success(request, _("Token “%(name)s” revoked: it no longer works.") % {"name": token.name})
    return redirect("api_tokens")
