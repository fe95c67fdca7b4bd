"""The demo outbox page (prm.demo_urls; local settings only): the e-mails the portal sent, for
vendor staff trying the demo. A message's HTML is shown in a sandboxed frame: no script runs, no
form posts, and its markup cannot touch this page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import demo_outbox
from .views import vendor_required


@vendor_required
def outbox(request: HttpRequest) -> HttpResponse:
    messages = demo_outbox.kept_messages()
    wanted = request.GET.get("m") or (messages[0].name if messages else "")
    selected = demo_outbox.kept_message(wanted) if wanted else None
    return render(
        request,
        "prm/demo_outbox.html",
        {
            "outbox": messages,
            "selected": selected,
            "missing": bool(request.GET.get("m")) and selected is None,
        },
        status=404 if request.GET.get("m") and selected is None else 200,
    )
