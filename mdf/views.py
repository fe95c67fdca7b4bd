"""Placeholder: replaced by the MDF UI."""

from django.http import Http404


def funds(request, *a, **k):
    raise Http404


def request_list(request, *a, **k):
    raise Http404


def request_export(request, *a, **k):
    raise Http404


def request_create(request, *a, **k):
    raise Http404


def request_detail(request, *a, **k):
    raise Http404


def request_edit(request, *a, **k):
    raise Http404


def request_submit(request, *a, **k):
    raise Http404


def claim_create(request, *a, **k):
    raise Http404


def proof_download(request, *a, **k):
    raise Http404


def vendor_report(request, *a, **k):
    raise Http404


def vendor_report_export(request, *a, **k):
    raise Http404
