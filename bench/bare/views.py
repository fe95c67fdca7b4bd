"""The bare page: one indexed query over a 1,000,000-row table, 50 rows through a Django template.
What a plain Django page costs on this machine, the yardstick of the portal's pages."""

from __future__ import annotations

import random
from pathlib import Path

from django.db.transaction import non_atomic_requests
from django.http import HttpRequest, HttpResponse
from django.template import Context, Engine

from bench.bare.models import BareRow
from bench.bare.table import GROUPS, ROWS_PER_GROUP

# An engine of its own: the portal's has context processors (a plain page has none) and does not
# look in bench/. The template is lean on purpose, like TechEmpower's "Fortunes" (id and text):
# formatting every row's date and amount with filters would double its cost (measured: 50 dates
# through |date cost more than the query and the ORM together) and flatter the portal's ratios
# against issue 11's yardstick of ~2.3 ms a request.
ENGINE = Engine(dirs=[str(Path(__file__).resolve().parent / "templates")])
TEMPLATE = ENGINE.get_template("bench_bare/rows.html")


# A plain Django site has no ATOMIC_REQUESTS: the query runs in autocommit.
@non_atomic_requests
def bare_rows(request: HttpRequest) -> HttpResponse:
    try:
        bucket = int(request.GET["bucket"])
    except (KeyError, ValueError):
        bucket = random.randint(1, GROUPS)
    rows = list(BareRow.objects.filter(bucket=bucket).order_by("-created_at")[:ROWS_PER_GROUP])
    return HttpResponse(TEMPLATE.render(Context({"bucket": bucket, "rows": rows})))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The bare handler's 404 (bench/bare/urls.py): no template, as bare as the page."""
    return HttpResponse("Not found", status=404, content_type="text/plain")
