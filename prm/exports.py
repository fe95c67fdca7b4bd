"""CSV exports built by Celery, never inside a request.

A page's "Export CSV" button posts to the page's export URL; :func:`start_export` records an
:class:`~prm.models.ExportJob` (who asked, which export, the page's filters) and sends the person to
"Your exports" (``/exports/``), where a progress bar follows the job and a link downloads the file
once it is ready. A notification says when it is.

Each app contributes its exports through the registry (:func:`register`, called from its
``AppConfig.ready``), so the kernel imports no app. An :class:`Export` says who may run it
(``allowed``) and how to build it (``build``): the header and the rows, streamed from the same
selector the page lists with (``iterator(chunk_size=...)``), in the actor's database scope.

The task (``prm.tasks.build_export``) starts from no scope (``prm.celery.EmptyScopeTask``):
it re-resolves the person from the user id (the ``actor_resolver`` an app names on its
``AppConfig``: partners resolves roles and memberships) and builds the file in that actor's scope,
so tenant isolation and row-level security bind it exactly as they bind the page. The download is
served only to that person, and only while their role may still run the export and their scope
still covers the one the file was built in; anyone else gets the same 404 as for a job that does
not exist.

Progress: the build runs in one transaction (the scope's settings are transaction-local), so what
it writes to the job row is invisible until it ends. The rows written so far go to the cache
instead, where the "Your exports" page reads them while the job runs.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from . import audit
from .errors import ApplicationError
from .i18n import gettext as _
from .models import ExportJob, User
from .notifications import notify
from .tenancy import Actor, Scope, system_scope, tenant_scope

logger = logging.getLogger(__name__)

# Rows between two progress reports (one cache write each).
PROGRESS_EVERY = 2000
# How long a progress report outlives a job that stopped reporting (a worker that died).
PROGRESS_TTL = 6 * 60 * 60


def safe_cell(cell: Any) -> Any:
    """Cells starting with = + - @, a tab or a carriage return run as formulas in spreadsheets
    (CSV injection), so they get a leading quote."""
    if isinstance(cell, str) and cell and cell[0] in "=+-@\t\r":
        return f"'{cell}"
    return cell


def write_csv(stream: Any, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterable[int]:
    """Write ``header`` and ``rows`` to ``stream``; yields the number of rows written so far after
    each row (the caller reports progress from it)."""
    writer = csv.writer(stream)
    writer.writerow(header)
    for written, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(cell) for cell in row])
        yield written


# --- The registry --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportFile:
    """What an export's ``build`` returns: the file's name, header and rows. ``total``, when the
    export can tell it cheaply (a count), lets the progress bar show a percentage."""

    filename: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]
    total: int | None = None


@dataclass(frozen=True)
class Export:
    """One CSV export a page offers.

    * ``name``: the registry key, ``"<app>.<export>"``; it is stored on the job.
    * ``label``: what "Your exports" calls it.
    * ``allowed(actor)``: whether the actor's role may run it (the page's own check); asked when
      the job starts, when it is built and on every download.
    * ``build(actor, query)``: the file, read in the actor's scope; ``query`` is the page's filter
      query string. Raises ``Http404`` for an object the actor cannot see.
    * ``check(actor, query)``: optional, run in the request before a job is queued, so a filter
      naming an object the actor cannot see is the page's 404 at once (not a failed job later).
    """

    name: str
    label: Any
    allowed: Callable[[Actor], bool]
    build: Callable[[Actor, QueryDict], ExportFile]
    check: Callable[[Actor, QueryDict], None] | None = None


_REGISTRY: dict[str, Export] = {}


def register(export: Export) -> Export:
    """Add an app's export; an app calls it from its ``AppConfig.ready``. Registering the same
    name again replaces it (a reloaded app)."""
    _REGISTRY[export.name] = export
    return export


def registered(name: str) -> Export:
    """The export called ``name``; an unknown name is a 404 (a job of an app since removed)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise Http404 from None


def export_label(name: str) -> Any:
    export = _REGISTRY.get(name)
    return export.label if export is not None else name


def registered_names() -> list[str]:
    return sorted(_REGISTRY)


def queryset_total(queryset: QuerySet) -> int:
    """The number of rows a queryset will stream (for the progress bar): one COUNT without the
    ordering, in the same scope and transaction as the rows themselves."""
    return queryset.order_by().count()


# --- Who is acting, in a task ---------------------------------------------------------------------
def resolve_actor(user: User) -> Actor:
    """The actor for ``user`` now, as a request would resolve it. The kernel does not know roles or
    memberships: the app that does names its resolver on its ``AppConfig`` (``actor_resolver``)."""
    for config in apps.get_app_configs():
        if path := getattr(config, "actor_resolver", None):
            return import_string(path)(user)
    raise LookupError("No installed app names an actor_resolver.")


# --- Parameters ------------------------------------------------------------------------------------
def params_of(query: QueryDict) -> dict[str, list[str]]:
    """The page's filters as stored on a job: every non-empty value, without the page number, keys
    sorted, so two clicks on the same filtered page give equal parameters."""
    return {
        key: values
        for key in sorted(query)
        if key != "page" and (values := [value for value in query.getlist(key) if value])
    }


def query_of(params: dict[str, list[str]]) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in params.items():
        query.setlist(key, list(values))
    query._mutable = False
    return query


# --- Scope coverage ----------------------------------------------------------------------------------
def scope_covers(scope: Scope | None, built_in: Sequence[str]) -> bool:
    """Whether ``scope`` (the person's now) sees at least what ``built_in`` (the settings the file
    was built in) saw: the same partner; or the vendor side with money if the file had money and
    every partner of the file's portfolio."""
    if scope is None or len(built_in) != 4:
        return False
    kind, partner_id, portfolio, money = built_in
    now_kind, now_partner, now_portfolio, now_money = scope.settings()
    if kind != now_kind:
        return False
    if kind == "partner":
        return partner_id == now_partner
    if money and not now_money:
        return False
    if now_portfolio == "*":
        return True
    if portfolio == "*":
        return False
    return set(_ids(portfolio)) <= set(_ids(now_portfolio))


def _ids(portfolio: str) -> list[str]:
    return [pk for pk in portfolio.strip("{}").split(",") if pk]


# --- Services --------------------------------------------------------------------------------------------
def _retention() -> timedelta:
    return timedelta(days=settings.PRM["EXPORT_RETENTION_DAYS"])


def export_request(*, actor: Actor, name: str, query: QueryDict) -> tuple[ExportJob, bool]:
    """Queue ``name`` with the page's filters for ``actor``; returns (job, created).

    The same export with the same filters, still queued or running for the same person, is
    reused: a second click does not build the file twice. A person may have at most
    PRM["EXPORT_MAX_ACTIVE"] exports queued or running at once.
    """
    export = registered(name)
    if not actor.is_authenticated or actor.scope is None or not export.allowed(actor):
        raise Http404
    if export.check is not None:
        export.check(actor, query)
    params = params_of(query)
    # One person's starts are serialised on their user row, so two clicks arriving together
    # cannot both miss the job the other is creating.
    User.objects.select_for_update().filter(pk=actor.user.pk).first()
    active = ExportJob.objects.filter(
        user=actor.user, partner_id=actor.partner_id, status__in=ExportJob.ACTIVE
    )
    existing = active.filter(export=name, params=params).first()
    if existing is not None:
        return existing, False
    if active.count() >= settings.PRM["EXPORT_MAX_ACTIVE"]:
        raise ApplicationError(
            _("You already have %(count)s exports being prepared. Wait until one is ready.")
            % {"count": settings.PRM["EXPORT_MAX_ACTIVE"]}
        )
    job = ExportJob.objects.create(user=actor.user, partner_id=actor.partner_id, export=name, params=params)
    audit.record(
        actor=actor.user,
        action="export.request",
        target=job,
        after={"export": name, "params": params},
        partner_id=actor.partner_id,
    )
    transaction.on_commit(lambda: build_export.delay(job.pk))
    return job, True


def progress_key(job_id: int) -> str:
    return f"prm:export:{job_id}:progress"


def progress_of(job: ExportJob) -> tuple[int, int | None]:
    """(rows written, rows expected or None) of a job: from the cache while it runs."""
    if job.status == ExportJob.Status.RUNNING:
        written, total = cache.get(progress_key(job.pk)) or (0, job.total_rows)
        return written, total
    return job.row_count, job.total_rows


def percent(job: ExportJob) -> int | None:
    if job.status == ExportJob.Status.DONE:
        return 100
    written, total = progress_of(job)
    if not total:
        return None
    return min(99, written * 100 // total)


def _fail(job_id: int, message: str) -> None:
    with system_scope():
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJob.Status.FAILED, error=message[:300], finished_at=timezone.now()
        )


def build(*, job_id: int) -> ExportJob | None:
    """Build the file of a queued job (the Celery task's body). Idempotent: a job that is not
    queued any more (built, failed, or being built by a redelivered task) is left alone."""
    with system_scope():
        job = ExportJob.objects.select_for_update().select_related("user").filter(pk=job_id).first()
        if job is None or job.status != ExportJob.Status.QUEUED:
            return None
        job.status = ExportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])
    try:
        export = registered(job.export)
        actor = resolve_actor(job.user)
        scope = actor.scope
        # The person may have lost the role, or moved to another partner, since they clicked.
        if scope is None or actor.partner_id != job.partner_id or not export.allowed(actor):
            raise Http404
        with tempfile.TemporaryFile() as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            written = 0
            with tenant_scope(scope):
                data = export.build(actor, query_of(job.params))
                cache.set(progress_key(job.pk), (0, data.total), PROGRESS_TTL)
                for written in write_csv(text, data.header, data.rows):
                    if written % PROGRESS_EVERY == 0:
                        cache.set(progress_key(job.pk), (written, data.total), PROGRESS_TTL)
            text.flush()
            raw.seek(0)
            job.file.save(data.filename, File(raw, name=data.filename), save=False)
            text.detach()
    except Http404:
        _fail(job_id, _("You can no longer export this."))
        return None
    except Exception:
        logger.exception("Export %s (job %s) failed", job.export, job_id)
        _fail(job_id, _("The export could not be prepared. Try again; if it fails again, tell us."))
        return None
    finally:
        cache.delete(progress_key(job_id))
    now = timezone.now()
    with system_scope():
        job.status = ExportJob.Status.DONE
        job.filename = data.filename
        job.row_count = written
        job.total_rows = written
        job.scope = list(scope.settings())
        job.finished_at = now
        job.expires_at = now + _retention()
        job.save(
            update_fields=[
                "status",
                "filename",
                "file",
                "row_count",
                "total_rows",
                "scope",
                "finished_at",
                "expires_at",
            ]
        )
        notify(
            recipient=job.user,
            kind="export.ready",
            title=_("Your export %(name)s is ready") % {"name": data.filename},
            body=_("%(count)s rows. It can be downloaded until %(date)s.")
            % {"count": written, "date": job.expires_at.date().isoformat()},
            url=reverse("exports"),
            partner_id=job.partner_id,
            email=False,
        )
    return job


# --- Reads --------------------------------------------------------------------------------------------------
def jobs_of(*, actor: Actor) -> QuerySet[ExportJob]:
    """The person's own export jobs (as the acting partner, for a partner user), newest first."""
    if not actor.is_authenticated:
        return ExportJob.objects.none()
    return ExportJob.objects.filter(user=actor.user, partner_id=actor.partner_id).order_by(
        "-created_at", "-id"
    )


def job_get(*, actor: Actor, pk: Any) -> ExportJob:
    """One of the person's own jobs; anyone else's is the same 404 as one that does not exist."""
    job = jobs_of(actor=actor).filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


def job_for_download(*, actor: Actor, pk: Any) -> ExportJob:
    """A finished job the person may still download: theirs, not expired, and their role may still
    run the export in a scope that covers the one the file was built in."""
    job = job_get(actor=actor, pk=pk)
    if (
        job.status != ExportJob.Status.DONE
        or not job.file
        or (job.expires_at and job.expires_at <= timezone.now())
    ):
        raise Http404
    export = registered(job.export)
    if not export.allowed(actor) or not scope_covers(actor.scope, job.scope):
        raise Http404
    return job


# --- Housekeeping -------------------------------------------------------------------------------------------
# A job queued or running this long lost its worker (the task's time limit is far shorter).
STALE_AFTER = timedelta(hours=6)


def sweep(*, now: Any = None) -> int:
    """Delete finished jobs past their expiry with their files, and fail jobs whose worker died.
    Returns how many jobs were deleted. Running it twice deletes nothing more."""
    now = now or timezone.now()
    deleted = 0
    with system_scope():
        ExportJob.objects.filter(status__in=ExportJob.ACTIVE, created_at__lt=now - STALE_AFTER).update(
            status=ExportJob.Status.FAILED,
            error=_("The export could not be prepared. Try again; if it fails again, tell us."),
            finished_at=now,
        )
        expired = ExportJob.objects.filter(expires_at__lte=now) | ExportJob.objects.filter(
            status=ExportJob.Status.FAILED, finished_at__lt=now - _retention()
        )
        for job in expired.iterator(chunk_size=500):
            if job.file:
                job.file.delete(save=False)
            job.delete()
            deleted += 1
    return deleted


# --- Tasks (named as kernel tasks; PrmConfig.ready imports this module, registering them) ---
# A large export takes longer than the default task time limit (CELERY_TASK_TIME_LIMIT).
EXPORT_TIME_LIMIT = 60 * 60


@shared_task(
    name="prm.tasks.build_export",
    acks_late=True,
    time_limit=EXPORT_TIME_LIMIT + 60,
    soft_time_limit=EXPORT_TIME_LIMIT,
)
def build_export(job_id: int) -> bool:
    """Build a queued CSV export in its person's scope (:func:`build` opens it)."""
    return build(job_id=job_id) is not None


@shared_task(name="prm.tasks.sweep_exports")
def sweep_exports() -> int:
    """Hourly: delete exports past PRM["EXPORT_RETENTION_DAYS"] with their files."""
    return sweep()
