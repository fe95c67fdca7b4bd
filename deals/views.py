"""Placeholder: replaced by the deals UI."""

from django.http import Http404


def deal_list(request, *a, **k):
    raise Http404


def deal_export(request, *a, **k):
    raise Http404


def deal_create(request, *a, **k):
    raise Http404


def deal_line_row(request, *a, **k):
    raise Http404


def pipeline(request, *a, **k):
    raise Http404


def deal_detail(request, *a, **k):
    raise Http404


def deal_edit(request, *a, **k):
    raise Http404


def deal_submit(request, *a, **k):
    raise Http404


def deal_request_extension(request, *a, **k):
    raise Http404


def deal_update_stage(request, *a, **k):
    raise Http404


def deal_mark_won(request, *a, **k):
    raise Http404


def deal_mark_lost(request, *a, **k):
    raise Http404


def lead_list(request, *a, **k):
    raise Http404


def lead_accept(request, *a, **k):
    raise Http404


def lead_decline(request, *a, **k):
    raise Http404
