"""CSV exports run in Celery, never in the request (prm.exports), shown with the deal exports.

The button posts the page's filters; a job is queued and built by the task in the asking person's
database scope (re-resolved from the user id, starting from no scope); "Your exports" follows it;
only that person downloads the file, and only while their role still sees the data. A second click
while the job waits reuses it; files go away after PRM["EXPORT_RETENTION_DAYS"].
"""

from __future__ import annotations

import copy
import csv
import io
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone

from deals.models import Deal
from partners.models import Membership, PartnerUserObjectPermission
from prm import exports
from prm.exports import build_export, sweep_exports
from prm.files import sweep_orphan_files
from prm.models import AuditEvent, ExportJob, Notification
from prm.roles import VendorRole
from prm.tenancy import Actor
from tests import factories
from tests.deals import factories as f
from tests.exports import download, start
from tests.helpers import login
from tests.isolation import built_once

pytestmark = pytest.mark.django_db

VENDOR_EXPORT = "deals:vendor_export"
PARTNER_EXPORT = "deals:export"


def rows_of(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


@built_once
def export_world() -> dict[str, Any]:
    """Two partners with a submitted deal each; a CAM of A only; the package's teams and program
    admin (tests/deals/conftest.py). Built once for the module (tests/isolation.py): each test runs
    in a savepoint of its own. It stores no file: each test's files go to its own folder."""
    team_a = f.team("Northwind Resellers", tier="Gold")
    team_b = f.team("Southwind Systems", tier="Silver")
    a_deal = f.submitted(team_a.sales_actor, customer="Initech", domain="initech.com")
    b_deal = f.submitted(team_b.sales_actor, customer="Umbrella Corp", domain="umbrella.com")
    return {
        "a_deal": a_deal,
        "b_deal": b_deal,
        "cam": f.cam_for(team_a.partner),
        "team_a": team_a,
        "team_b": team_b,
        "vendor_admin": factories.vendor_actor(VendorRole.PROGRAM_ADMIN),
    }


@pytest.fixture
def world(export_world: dict[str, Any]) -> dict[str, Any]:
    # A copy: what a test changes on the objects in memory (a login's last_login) must not reach
    # the next test.
    return copy.deepcopy(export_world)


def queue(client: Client, url_name: str, params: dict | None = None) -> Any:
    """Post the button without running the build (the job stays queued, as with a busy worker)."""
    return client.post(reverse(url_name) + (f"?{urlencode(params)}" if params else ""))


# --- the job end to end -------------------------------------------------------------------------------
def test_the_button_queues_a_job_the_task_builds_and_the_owner_downloads(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    client = login(vendor_admin.user)
    response, job_id = start(client, reverse(VENDOR_EXPORT), {"status": "submitted"})

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('exports')}#export-{job_id}"
    job = ExportJob.objects.get(pk=job_id)
    assert (job.user, job.export, job.params, job.status) == (
        vendor_admin.user,
        "deals.vendor_deals",
        {"status": ["submitted"]},
        ExportJob.Status.DONE,
    )
    assert job.row_count == job.total_rows == 2
    assert job.file.name.startswith(f"exports/{vendor_admin.user.pk}/") and job.file.name.endswith(
        "/deals.csv"
    )
    assert job.expires_at == job.finished_at + timedelta(days=7)
    assert AuditEvent.objects.filter(action="export.request", target_id=str(job.pk)).exists()
    notification = Notification.objects.get(recipient=vendor_admin.user, kind="export.ready")
    assert notification.url == reverse("exports")

    listing = client.get(reverse("exports"))
    assert f'id="export-{job_id}"' in listing.content.decode()
    assert reverse("export_download", args=[job_id]) in listing.content.decode()
    assert 'hx-trigger="every' not in listing.content.decode()  # nothing left to poll

    file = download(client, job_id)
    assert file.status_code == 200
    assert file["Content-Type"].startswith("text/csv")
    assert file["Content-Disposition"] == 'attachment; filename="deals.csv"'
    rows = rows_of(file)
    assert rows[0][:2] == ["reference", "partner"]
    assert sorted(row[0] for row in rows[1:]) == sorted(
        [world["a_deal"].reference, world["b_deal"].reference]
    )


def test_following_an_export_link_builds_nothing(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    response = login(vendor_admin.user).get(reverse(VENDOR_EXPORT), {"partner": world["a_deal"].partner_id})
    assert response.status_code == 200
    assert 'id="export-start"' in response.content.decode()
    assert f"?partner={world['a_deal'].partner_id}" in response.content.decode()
    assert not ExportJob.objects.exists()


def test_the_task_builds_in_the_askers_scope_even_if_the_rows_query_forgot_it(
    world: dict[str, Any], monkeypatch: Any
) -> None:
    """Row-level security binds the task as it binds the page: a CAM's file holds only the
    portfolio's rows even when the query behind it names no partner at all."""
    from deals import selectors

    monkeypatch.setattr(selectors, "deal_list", lambda *, actor, filters=None: Deal.objects.order_by("pk"))
    client = login(world["cam"].user)
    _response, job_id = start(client, reverse(VENDOR_EXPORT))
    references = [row[0] for row in rows_of(download(client, job_id))[1:]]
    assert references == [world["a_deal"].reference]


def test_progress_is_reported_while_the_file_is_written(world: dict[str, Any], monkeypatch: Any) -> None:
    vendor_admin = world["vendor_admin"]
    reports: list[tuple[int, int | None]] = []
    real_set = exports.cache.set

    def record(key: str, value: Any, *args: Any) -> None:
        if key.startswith("prm:export:"):
            reports.append(value)
        real_set(key, value, *args)

    monkeypatch.setattr(exports, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(exports.cache, "set", record)
    start(login(vendor_admin.user), reverse(VENDOR_EXPORT))
    assert reports == [(0, 2), (1, 2), (2, 2)]


def test_a_running_job_shows_its_progress_and_keeps_polling(vendor_admin: Actor) -> None:
    job = ExportJob.objects.create(
        user=vendor_admin.user, export="deals.vendor_deals", status=ExportJob.Status.RUNNING
    )
    exports.cache.set(exports.progress_key(job.pk), (400, 1000))
    row = login(vendor_admin.user).get(reverse("export_row", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in row and f'hx-get="{reverse("export_row", args=[job.pk])}"' in row
    assert 'aria-valuenow="40"' in row and "width: 40%" in row
    assert "400 of 1,000 rows" in row
    assert "export-download" not in row


def test_a_failed_build_says_so(world: dict[str, Any], monkeypatch: Any) -> None:
    vendor_admin = world["vendor_admin"]
    from deals import selectors

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(selectors, "deal_list", broken)
    client = login(vendor_admin.user)
    _response, job_id = start(client, reverse(VENDOR_EXPORT))
    job = ExportJob.objects.get(pk=job_id)
    assert job.status == ExportJob.Status.FAILED and "could not be prepared" in job.error
    assert not job.file
    assert client.get(reverse("export_download", args=[job_id])).status_code == 404
    assert "could not be prepared" in client.get(reverse("exports")).content.decode()


def test_the_task_is_idempotent(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    _response, job_id = start(login(vendor_admin.user), reverse(VENDOR_EXPORT))
    name = ExportJob.objects.get(pk=job_id).file.name
    assert build_export.delay(job_id).get() is False  # a redelivered task finds it built
    assert ExportJob.objects.get(pk=job_id).file.name == name


# --- duplicate clicks -------------------------------------------------------------------------------------
def test_a_second_click_while_queued_reuses_the_job(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    client = login(vendor_admin.user)
    first = queue(client, VENDOR_EXPORT, {"status": "submitted"})
    second = queue(client, VENDOR_EXPORT, {"status": "submitted"})
    assert first["Location"] == second["Location"]
    assert ExportJob.objects.count() == 1
    assert AuditEvent.objects.filter(action="export.request").count() == 1
    # Other filters are another export.
    third = queue(client, VENDOR_EXPORT, {"status": "approved"})
    assert third["Location"] != first["Location"] and ExportJob.objects.count() == 2


def test_a_click_after_the_file_is_ready_builds_a_new_one(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    client = login(vendor_admin.user)
    _response, first = start(client, reverse(VENDOR_EXPORT))
    _response, second = start(client, reverse(VENDOR_EXPORT))
    assert first != second


def test_at_most_a_few_exports_wait_per_person(world: dict[str, Any], settings: Any) -> None:
    vendor_admin = world["vendor_admin"]
    settings.PRM = {**settings.PRM, "EXPORT_MAX_ACTIVE": 2}
    client = login(vendor_admin.user)
    queue(client, VENDOR_EXPORT, {"status": "submitted"})
    queue(client, VENDOR_EXPORT, {"status": "approved"})
    refused = client.post(reverse(VENDOR_EXPORT) + "?status=won", follow=True)
    assert "exports being prepared" in refused.content.decode()
    assert ExportJob.objects.count() == 2


def test_nobody_else_reuses_a_queued_job(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    queue(login(vendor_admin.user), VENDOR_EXPORT)
    other_admin = factories.vendor_actor(VendorRole.PROGRAM_ADMIN)
    queue(login(other_admin.user), VENDOR_EXPORT)
    queue(login(world["cam"].user), VENDOR_EXPORT)
    assert sorted(ExportJob.objects.values_list("user_id", flat=True)) == sorted(
        [vendor_admin.user.pk, other_admin.user.pk, world["cam"].user.pk]
    )


# --- isolation --------------------------------------------------------------------------------------------
def test_a_partners_file_holds_only_its_own_rows_and_nobody_else_gets_it(world: dict[str, Any]) -> None:
    team_a, team_b, vendor_admin = world["team_a"], world["team_b"], world["vendor_admin"]
    owner = login(team_a.admin)
    _response, job_id = start(owner, reverse(PARTNER_EXPORT))
    rows = rows_of(download(owner, job_id))
    assert [row[0] for row in rows[1:]] == [world["a_deal"].reference]
    assert "Umbrella" not in str(rows)

    for intruder in (team_b.admin, team_a.sales, vendor_admin.user, world["cam"].user):
        client = login(intruder)
        for name in ("export_download", "export_row"):
            assert client.get(reverse(name, args=[job_id])).status_code == 404, (intruder, name)
        assert f'id="export-{job_id}"' not in client.get(reverse("exports")).content.decode()


def test_a_cam_outside_the_portfolio_cannot_see_or_download_a_vendor_export(world: dict[str, Any]) -> None:
    vendor_admin, team_b = world["vendor_admin"], world["team_b"]
    owner = login(vendor_admin.user)
    _response, job_id = start(owner, reverse(VENDOR_EXPORT))
    b_cam = login(f.cam_for(team_b.partner).user)
    assert b_cam.get(reverse("export_download", args=[job_id])).status_code == 404
    assert b_cam.get(reverse("export_row", args=[job_id])).status_code == 404
    # The CAM's own export holds the portfolio's rows only.
    _response, own = start(b_cam, reverse(VENDOR_EXPORT))
    assert [row[0] for row in rows_of(download(b_cam, own))[1:]] == [world["b_deal"].reference]


def test_the_download_rechecks_the_role(team_a: f.Team) -> None:
    client = login(team_a.admin)
    _response, job_id = start(client, reverse("incentives:earnings_export"))
    assert download(client, job_id).status_code == 200
    # Earnings are for partner admins: demoted, the person no longer gets the file.
    Membership.objects.filter(user=team_a.admin).update(role="sales")
    assert client.get(reverse("export_download", args=[job_id])).status_code == 404


def test_the_download_rechecks_the_cams_portfolio(world: dict[str, Any]) -> None:
    team_a = world["team_a"]
    cam = world["cam"]
    client = login(cam.user)
    _response, job_id = start(client, reverse(VENDOR_EXPORT))
    assert download(client, job_id).status_code == 200
    # The partner leaves the CAM's portfolio: the file holds rows the CAM may no longer see.
    PartnerUserObjectPermission.objects.filter(user=cam.user, content_object=team_a.partner).delete()
    assert client.get(reverse("export_download", args=[job_id])).status_code == 404


def test_a_role_that_may_not_run_the_export_gets_404_and_no_job(team_a: f.Team) -> None:
    response = login(team_a.sales).post(reverse("incentives:earnings_export"))
    assert response.status_code == 404
    assert not ExportJob.objects.exists()


def test_anonymous_people_reach_neither_the_page_nor_a_file(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    _response, job_id = start(login(vendor_admin.user), reverse(VENDOR_EXPORT))
    for url in (reverse("exports"), reverse("export_download", args=[job_id])):
        assert Client().get(url)["Location"].startswith(reverse("account_login"))


# --- retention ---------------------------------------------------------------------------------------------
def test_the_sweep_deletes_files_after_the_retention_days(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        client = login(vendor_admin.user)
        _response, job_id = start(client, reverse(VENDOR_EXPORT))
        name = ExportJob.objects.get(pk=job_id).file.name
        assert default_storage.exists(name)
    with time_machine.travel(now + timedelta(days=6, hours=23), tick=False):
        assert sweep_exports.delay().get() == 0
        assert default_storage.exists(name) and ExportJob.objects.filter(pk=job_id).exists()
    with time_machine.travel(now + timedelta(days=7, minutes=1), tick=False):
        assert sweep_exports.delay().get() == 1
        assert not default_storage.exists(name)
        assert not ExportJob.objects.filter(pk=job_id).exists()
        assert sweep_exports.delay().get() == 0


def test_a_file_whose_job_row_never_saved_is_swept_as_an_orphan(
    world: dict[str, Any],
    monkeypatch: Any,
) -> None:
    vendor_admin = world["vendor_admin"]
    client = login(vendor_admin.user)
    _response, kept_id = start(client, reverse(VENDOR_EXPORT))
    kept = ExportJob.objects.get(pk=kept_id).file.name

    def crash(**kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    # The file is written, then the transaction that saves the finished job rolls back.
    monkeypatch.setattr(exports, "notify", crash)
    queue(client, VENDOR_EXPORT, {"status": "submitted"})
    lost = ExportJob.objects.exclude(pk=kept_id).get()
    with pytest.raises(RuntimeError):
        build_export.delay(lost.pk).get()
    lost.refresh_from_db()
    assert lost.status != ExportJob.Status.DONE and not lost.file
    stored = [
        f"exports/{vendor_admin.user.pk}/{folder}/{name}"
        for folder in default_storage.listdir(f"exports/{vendor_admin.user.pk}")[0]
        for name in default_storage.listdir(f"exports/{vendor_admin.user.pk}/{folder}")[1]
    ]
    assert len(stored) == 2 and kept in stored
    # The export sweep deletes files with their rows; this file has none (prm.files does it).
    later = timezone.now() + timedelta(days=2)
    assert sweep_orphan_files(now=later).deleted == [name for name in stored if name != kept]
    assert default_storage.exists(kept)
    assert sweep_orphan_files(now=later).deleted == []


def test_the_sweep_fails_jobs_whose_worker_died(vendor_admin: Actor) -> None:
    now = timezone.now()
    with time_machine.travel(now - timedelta(hours=7), tick=False):
        stuck = ExportJob.objects.create(
            user=vendor_admin.user, export="deals.vendor_deals", status=ExportJob.Status.RUNNING
        )
    fresh = ExportJob.objects.create(user=vendor_admin.user, export="deals.vendor_deals")
    with time_machine.travel(now, tick=False):
        sweep_exports.delay().get()
    assert ExportJob.objects.get(pk=stuck.pk).status == ExportJob.Status.FAILED
    assert ExportJob.objects.get(pk=fresh.pk).status == ExportJob.Status.QUEUED


def test_an_expired_file_is_not_served_before_the_sweep(world: dict[str, Any]) -> None:
    vendor_admin = world["vendor_admin"]
    now = timezone.now()
    with time_machine.travel(now, tick=False):
        client = login(vendor_admin.user)
        _response, job_id = start(client, reverse(VENDOR_EXPORT))
    with time_machine.travel(now + timedelta(days=8), tick=False):
        client = login(vendor_admin.user)  # the old session has timed out
        assert client.get(reverse("export_download", args=[job_id])).status_code == 404


# --- the kernel's own rules -----------------------------------------------------------------------------
def test_scope_coverage() -> None:
    from prm.tenancy import Scope

    built = list(Scope.vendor(portfolio=[3, 7]).settings())
    assert exports.scope_covers(Scope.vendor(portfolio=[3, 7, 9]), built)
    assert exports.scope_covers(Scope.vendor(), built)
    assert not exports.scope_covers(Scope.vendor(portfolio=[3]), built)
    assert not exports.scope_covers(Scope.vendor(portfolio=[3, 7], money=False), built)
    assert not exports.scope_covers(Scope.vendor(portfolio=[3, 7, 9]), list(Scope.vendor().settings()))
    assert exports.scope_covers(Scope.partner(5), list(Scope.partner(5).settings()))
    assert not exports.scope_covers(Scope.partner(6), list(Scope.partner(5).settings()))
    assert not exports.scope_covers(Scope.vendor(), list(Scope.partner(5).settings()))
    assert not exports.scope_covers(None, built)


def test_every_export_url_is_registered() -> None:
    assert exports.registered_names() == [
        "content.usage",
        "deals.partner_deals",
        "deals.partner_leads",
        "deals.review_queue",
        "deals.vendor_deals",
        "deals.vendor_leads",
        "deals.vendor_pipeline",
        "incentives.earnings",
        "mdf.fund_requests",
        "mdf.vendor_report",
        "partners.partners",
        "partners.plans",
        "partners.scorecard_rankings",
        "partners.support_cases",
        "partners.team",
        "training.completion",
        "training.team_progress",
    ]


def test_export_params_leave_out_the_page_and_empty_values() -> None:
    from django.http import QueryDict

    assert exports.params_of(QueryDict("status=won&page=3&q=&partner=4&partner=5")) == {
        "partner": ["4", "5"],
        "status": ["won"],
    }


def test_on_commit_is_what_starts_the_build(world: dict[str, Any]) -> None:
    """Nothing leaves the process for a transaction that rolls back: the task is queued on commit."""
    vendor_admin = world["vendor_admin"]
    with TestCase.captureOnCommitCallbacks(execute=False) as callbacks:
        queue(login(vendor_admin.user), VENDOR_EXPORT)
    assert len(callbacks) == 1
    assert ExportJob.objects.get().status == ExportJob.Status.QUEUED
