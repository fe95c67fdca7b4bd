"""Partner admins connect their systems: webhook endpoints for deal and lead events, with the
delivery log and a way to send an event again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from prm import webhooks
from prm.errors import attempt
from prm.views import partner_required

from .webhooks import EVENTS


class EndpointForm(forms.Form):
    url = forms.CharField(label=gettext_lazy("URL"), max_length=500)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events (none ticked: all)"),
        choices=[(event, event) for event in EVENTS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def _admin_only(request: HttpRequest) -> None:
    if not webhooks.may_manage(request.actor):
        raise Http404


@partner_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    actor = request.actor
    form = EndpointForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            done, endpoint = attempt(
                request,
                lambda: webhooks.endpoint_create(
                    actor=actor,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                ),
                form=form,
            )
            if done:
                messages.success(
                    request,
                    _("Webhook added. Verify our signature with its secret, shown on the endpoint."),
                )
                return redirect(f"{request.path}#endpoint-{endpoint.pk}")
        status = 400
    endpoints = webhooks.endpoint_list(actor=actor)
    recent = webhooks.recent_deliveries(endpoints=endpoints)
    rows: list[dict[str, Any]] = [{"endpoint": e, "deliveries": recent[e.pk]} for e in endpoints]
    return render(request, "deals/webhooks.html", {"form": form, "rows": rows}, status=status)


@require_POST
@partner_required
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    webhooks.endpoint_delete(actor=request.actor, endpoint=webhooks.endpoint_get(actor=request.actor, pk=pk))
    messages.success(request, _("Webhook removed: nothing more is sent to it."))
    return redirect("deals:webhooks")


@require_POST
@partner_required
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    endpoint = webhooks.endpoint_rotate_secret(
        actor=request.actor, endpoint=webhooks.endpoint_get(actor=request.actor, pk=pk)
    )
    messages.success(request, _("New secret made: update your receiver, the old one no longer signs."))
    return redirect(f"{reverse('deals:webhooks')}#endpoint-{endpoint.pk}")


@require_POST
@partner_required
def webhook_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    delivery = webhooks.delivery_get(actor=request.actor, pk=pk)
    webhooks.redeliver(actor=request.actor, delivery=delivery)
    messages.success(request, _("The event is being sent again."))
    return redirect(f"{reverse('deals:webhooks')}#endpoint-{delivery.endpoint_id}")
