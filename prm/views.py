"""Small helpers every app's thin views share, and the kernel's own pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .errors import ApplicationError, attempt
from .exports import (
    export_label,
    export_request,
    job_for_download,
    job_get,
    jobs_of,
    percent,
    progress_of,
    registered,
    write_csv,
)
from .forms import LanguageForm, NotificationSettingsForm
from .notification_kinds import kinds_for
from .notifications import (
    inbox_pages,
    mark_read,
    notification_get,
    notification_settings,
    save_notification_settings,
)
from .pagination import CappedPaginator, page_bounds, planner
from .profile import save_language
from .search import LIVE_LIMIT, MAX_CHARS, PAGE_LIMIT
from .search import search as run_search
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


class KeysFirstPaginator(Paginator):
    """Reads a page as its primary keys first, then those rows.

    For a tenant's list under row-level security: the policy's condition makes PostgreSQL
    estimate a handful of rows for any tenant, so for the full rows (joins included) it reads every
    row of the tenant and sorts them, even to show 25 (all 20,000 deals of the largest partner, 250
    ms or more). The keys alone, ordered by an index that holds the sort columns and the key, are
    an index-only scan that stops after the page; the rows then come by primary key, through the
    same queryset (its scope, filters and joins). The list's ordering must end with the key (or
    another unique column) for pages to be stable, as any paginated ordering should.
    """

    def page_keys(self, bottom: int, top: int) -> list[Any]:
        return list(self.object_list.values_list("pk", flat=True)[bottom:top])

    def page(self, number: Any) -> Page:
        number, bottom, top = page_bounds(self, number)
        keys = self.page_keys(bottom, top)
        rows = {row.pk: row for row in self.object_list.filter(pk__in_ids=keys).order_by()} if keys else {}
        return self._get_page([rows[key] for key in keys if key in rows], number, self)


class CappedKeysFirstPaginator(KeysFirstPaginator, CappedPaginator):
    """Both: a page's keys first, and a count that stops at the cap (the vendor's lists over
    every partner, where row-level security made PostgreSQL join every matching deal to its
    partner, tier and user before sorting them: 3 s for the review queue's 150,000 deals)."""

    # False when the list is filtered down to a few rows (a search, one partner): reading those
    # and sorting them is then the better plan, and walking the ordering index the worse.
    walk_index = True

    def page_keys(self, bottom: int, top: int) -> list[Any]:
        if not self.walk_index:
            return super().page_keys(bottom, top)
        # Row-level security makes PostgreSQL expect a handful of rows, so it would rather read
        # every matching key in parallel and sort them (0.7 s for the vendor's 900,000 deals, 1.6 s
        # with a product chosen) than walk the index that holds the list's order and stop after
        # the page. Sorting is made its last resort for this one statement (SET LOCAL, set back
        # right after): where an index gives the order it is used; where none does, it still sorts.
        with planner(enable_sort="off"):
            return super().page_keys(bottom, top)


def paginate(
    request: HttpRequest,
    queryset: Any,
    per_page: int = PAGE_SIZE,
    *,
    count: int | None = None,
    keys_first: bool = False,
    capped: bool = False,
    selective: bool = False,
) -> Page:
    """A page of ``queryset`` for the ``page`` parameter. ``keys_first``: see KeysFirstPaginator
    (for a tenant's long list whose ordering an index covers, key included). ``capped``: count
    at most prm.pagination.COUNT_CAP rows (a list over the whole program, e.g. the vendor's deals)."""
    kind: type[Paginator] = Paginator
    if keys_first and capped:
        kind = CappedKeysFirstPaginator
    elif keys_first:
        kind = KeysFirstPaginator
    elif capped:
        kind = CappedPaginator
    paginator = kind(queryset, per_page)
    if selective:
        paginator.walk_index = False  # see CappedKeysFirstPaginator
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
    """A small CSV built in the request. Lists that grow with the program go through
    :func:`start_export` instead (prm.exports), which builds them in Celery."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    for _count in write_csv(response, header, rows):
        pass
    return response


def actor_of(request: HttpRequest) -> Actor:
    return request.actor


# --- Exports (prm.exports) ---------------------------------------------------------------------
def start_export(request: HttpRequest, name: str) -> HttpResponse:
    """What a page's export URL does. POST (the page's "Export CSV" button, with the page's
    filters in the query string) queues the export, or finds the same one already queued, and
    sends the person to "Your exports". GET (an old bookmark) asks first: nothing is built for a
    link that was merely followed."""
    actor = actor_of(request)
    export = registered(name)
    if not actor.is_authenticated or not export.allowed(actor):
        raise Http404
    if request.method != "POST":
        if export.check is not None:
            export.check(actor, request.GET)
        return render(
            request,
            "prm/export_start.html",
            {"export": export, "querystring": querystring_without_page(request)},
        )
    done, result = attempt(request, lambda: export_request(actor=actor, name=name, query=request.GET))
    if not done:
        return redirect("exports")
    job, created = result
    if created:
        messages.success(request, _("Your export is being prepared. It will appear here when it is ready."))
    else:
        messages.info(request, _("This export is already being prepared."))
    return redirect(f"{reverse('exports')}#export-{job.pk}")


def _job_row(job: Any) -> Any:
    job.progress_rows, job.progress_total = progress_of(job)
    job.percent = percent(job)
    job.label = export_label(job.export)
    # The filters as the person set them: a chooser's typed name rather than the id it stands for.
    params = job.params or {}
    job.shown_params = [
        (key.removesuffix("_name"), ", ".join(values))
        for key, values in params.items()
        if f"{key}_name" not in params
    ]
    return job


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, jobs_of(actor=actor_of(request)))
    for job in page.object_list:
        _job_row(job)
    return render(
        request,
        "prm/exports.html",
        {"page": page, "export_retention_days": settings.PRM["EXPORT_RETENTION_DAYS"]},
    )


@login_required
def export_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One job's row, polled by htmx while the job is queued or running."""
    job = _job_row(job_get(actor=actor_of(request), pk=pk))
    return render(request, "prm/_export_row.html", {"job": job})


@login_required
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    job = job_for_download(actor=actor_of(request), pk=pk)
    response = FileResponse(
        job.file.open("rb"), as_attachment=True, filename=job.filename, content_type="text/csv; charset=utf-8"
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, inbox_pages(user=request.user))
    return render(request, "prm/notifications.html", {"page": page})


@login_required
def search_page(request: HttpRequest) -> HttpResponse:
    """The one search box (prm.search): the results page, or, asked by htmx as the person types,
    the live results under the navigation's box (``live=1``) or the results page's own list
    (``live=page``). Text that cannot be searched gets a message, never a 500."""
    text = request.GET.get("q", "")
    mode = request.GET.get("live") if getattr(request, "htmx", False) else None
    live = mode == "1"
    context: dict[str, Any] = {"q": text[: MAX_CHARS * 2], "max_chars": MAX_CHARS, "live": live}
    if "q" in request.GET and (text.strip() or mode is None):
        try:
            context["results"] = run_search(actor_of(request), text, limit=LIVE_LIMIT if live else PAGE_LIMIT)
        except ApplicationError as exc:
            context["error"] = exc.message
    template = "prm/_search_results.html" if mode in {"1", "page"} else "prm/search.html"
    return render(request, template, context)


@require_POST
@login_required
def notification_mark_all_read(request: HttpRequest) -> HttpResponse:
    count = mark_read(user=request.user, every=True)
    messages.success(request, _("%(count)s notifications marked as read.") % {"count": count})
    return redirect("notifications")


@login_required
def notification_settings_page(request: HttpRequest) -> HttpResponse:
    """The user's own choices: per kind of notification, in the portal and by e-mail, in the portal
    only, or off; and the daily digest. Mandatory kinds are shown locked, with why."""
    actor = actor_of(request)
    channels, digest = notification_settings(actor=actor)
    form = NotificationSettingsForm(
        request.POST or None,
        kinds=kinds_for(request.user, actor.partner_role),
        channels=channels,
        initial={"digest": digest},
    )
    if request.method == "POST" and form.is_valid():
        ok, _user = attempt(
            request,
            lambda: save_notification_settings(
                actor=actor, channels=form.channels(), digest=form.cleaned_data["digest"]
            ),
            form=form,
        )
        if ok:
            messages.success(request, _("Your notification settings were saved."))
            return redirect("notification_settings")
    return render(
        request, "prm/notification_settings.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def language_settings_page(request: HttpRequest) -> HttpResponse:
    """The user's own language: the portal's pages once signed in, and what is made for them
    (e-mails, notifications, PDFs). Saved, it is also the language cookie, so the sign-in page
    speaks it after signing out."""
    form = LanguageForm(request.POST or None, initial={"language": request.user.language})
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        ok, _user = attempt(
            request, lambda: save_language(actor=actor_of(request), language=language), form=form
        )
        if ok:
            with translation.override(language or translation.get_language_from_request(request)):
                messages.success(request, _("Your language was saved."))
            response = redirect("language_settings")
            if language:
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    language,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    path=settings.LANGUAGE_COOKIE_PATH,
                    domain=settings.LANGUAGE_COOKIE_DOMAIN,
                    secure=settings.LANGUAGE_COOKIE_SECURE,
                    httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                )
            else:
                response.delete_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    path=settings.LANGUAGE_COOKIE_PATH,
                    domain=settings.LANGUAGE_COOKIE_DOMAIN,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                )
            return response
    return render(request, "prm/language_settings.html", {"form": form}, status=400 if form.errors else 200)


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


# --- the portal's own error pages ----------------------------------------------------------------
# Each renders templates/<status>.html in the base layout with the navigation of the user's role.
# ``error_page`` keeps the company's and the person's names out of it (base.html): a 404 answers
# for another partner's id exactly as for a missing one, with nothing that tells the two apart.
ERROR_CONTEXT = {"error_page": True}


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404."""
    return render(request, "404.html", ERROR_CONTEXT, status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403 (the admin's refusals included)."""
    return render(request, "403.html", ERROR_CONTEXT, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the portal's page with the user's navigation; if rendering with the request fails
    too (the database is what broke), the same page without it, never Django's bare text."""
    from django.template import loader

    try:
        return render(request, "500.html", ERROR_CONTEXT, status=500)
    except Exception:  # the page about an error must not raise one
        return HttpResponse(loader.get_template("500.html").render(ERROR_CONTEXT), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: say the form expired and offer to reload it; the reason (a developer's
    detail) is not shown."""
    from django.utils.http import url_has_allowed_host_and_scheme

    referer = request.headers.get("Referer", "")
    same_site = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()})
    retry_url = referer if referer and same_site else request.path
    return render(request, "403_csrf.html", {**ERROR_CONTEXT, "retry_url": retry_url}, status=403)


def rate_limited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler429 (allauth's sign-in, sign-up and password-reset limits answer through it)."""
    return render(request, "429.html", ERROR_CONTEXT, status=429)
