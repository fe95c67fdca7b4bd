"""Run a page's CSV export as a person does: post the "Export CSV" button (the page's filters in
the query string), let the queued Celery task build the file (eager; its on-commit scheduling is
run here, as a committed request would), and download the finished file from "Your exports".

``exported()`` returns the download as a plain response, so a test reads ``.content``,
``["Content-Type"]`` and ``.status_code`` as it did when the export was built in the request.
When the post is refused (the page's 404) that response comes back instead.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from django.db import connection
from django.http import HttpResponse
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

JOB_IN_LOCATION = re.compile(r"#export-(\d+)$")


def _url(url: str, params: dict | None) -> str:
    if not params:
        return url
    return url + ("&" if "?" in url else "?") + urlencode(params, doseq=True)


def start(client: Client, url: str, params: dict | None = None) -> tuple[Any, int | None]:
    """Post the export button and run what the request scheduled on commit (the build task).
    Returns the response and the job id it sent the person to (None when refused)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(_url(url, params))
    if response.status_code != 302:
        return response, None
    match = JOB_IN_LOCATION.search(response["Location"])
    assert match, response["Location"]
    return response, int(match.group(1))


def download(client: Client, job_id: int) -> Any:
    response = client.get(reverse("export_download", args=[job_id]))
    if not getattr(response, "streaming", False):
        return response
    plain = HttpResponse(b"".join(response.streaming_content), status=response.status_code)
    for header, value in response.items():
        plain[header] = value
    return plain


def exported(client: Client, url: str, params: dict | None = None) -> Any:
    """The export's file as a response (status 200), or the refusal of the post (a 404)."""
    response, job_id = start(client, url, params)
    if job_id is None:
        return response
    return download(client, job_id)


def exported_with_queries(client: Client, url: str, params: dict | None = None) -> tuple[int, Any]:
    """(queries the build task ran, the file as a response): for the query-count tests, which
    check that building the file does not run a query per row."""
    # Left in reverse order: the request, then the build it scheduled on commit, then the total.
    with (
        CaptureQueriesContext(connection) as everything,
        TestCase.captureOnCommitCallbacks(execute=True),
        CaptureQueriesContext(connection) as request,
    ):
        response = client.post(_url(url, params))
    assert response.status_code == 302, response
    job_id = int(JOB_IN_LOCATION.search(response["Location"]).group(1))
    built = download(client, job_id)
    assert built.status_code == 200, built
    return len(everything.captured_queries) - len(request.captured_queries), built


def is_export(url: str, params: dict | None = None) -> bool:
    """Whether ``url`` (with ``params``) is an export button's target rather than a page."""
    return url.split("?")[0].endswith(".csv") or (params or {}).get("format") == "csv"


def get_or_export(client: Client, url: str, params: dict | None = None) -> Any:
    """A page (GET), or an export's file when ``url`` is an export button's target: for the tables
    of tests that check pages and exports alike."""
    return exported(client, url, params) if is_export(url, params) else client.get(url, params or {})
