"""Placeholder: replaced by the deals UI."""

from django.http import Http404


def review_queue(request, *a, **k):
    raise Http404


def review_queue_export(request, *a, **k):
    raise Http404


def vendor_deal_list(request, *a, **k):
    raise Http404


def vendor_deal_export(request, *a, **k):
    raise Http404


def review_detail(request, *a, **k):
    raise Http404


def deal_approve(request, *a, **k):
    raise Http404


def deal_reject(request, *a, **k):
    raise Http404


def deal_return(request, *a, **k):
    raise Http404


def conflict_resolve(request, *a, **k):
    raise Http404


def extension_decide(request, *a, **k):
    raise Http404


def pipeline(request, *a, **k):
    raise Http404


def pipeline_export(request, *a, **k):
    raise Http404


def lead_list(request, *a, **k):
    raise Http404


def lead_export(request, *a, **k):
    raise Http404


def lead_create(request, *a, **k):
    raise Http404


def lead_import(request, *a, **k):
    raise Http404


def lead_detail(request, *a, **k):
    raise Http404


def lead_distribute(request, *a, **k):
    raise Http404


def lead_assign(request, *a, **k):
    raise Http404
