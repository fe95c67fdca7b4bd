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
from prm.errors import ApplicationError
from prm.models import WebhookDelivery, WebhookEndpoint
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
    actor = request.actor
    if not (actor.is_partner and actor.partner_role == "admin"):
        raise Http404


def _endpoint(request: HttpRequest, pk: int) -> WebhookEndpoint:
    # Row-level security already hides other partners' endpoints; the filter says it in code too.
    endpoint = WebhookEndpoint.objects.filter(pk=pk, partner_id=request.actor.partner_id).first()
    if endpoint is None:
        raise Http404
    return endpoint


@partner_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    actor = request.actor
    form = EndpointForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                endpoint = webhooks.endpoint_create(
                    actor=actor,
                    url=form.cleaned_data["url"],
                    events=form.cleaned_data["events"],
                    description=form.cleaned_data["description"],
                )
            except ApplicationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(
                    request,
                    _("Webhook added. Verify our signature with its secret, shown on the endpoint."),
                )
                return redirect(f"{request.path}#endpoint-{endpoint.pk}")
        status = 400
    endpoints = list(WebhookEndpoint.objects.filter(partner_id=actor.partner_id))
    recent: dict[int, list[WebhookDelivery]] = {endpoint.pk: [] for endpoint in endpoints}
    for delivery in WebhookDelivery.objects.filter(endpoint__in=endpoints).order_by("-created_at")[:200]:
        if len(recent[delivery.endpoint_id]) < 10:
            recent[delivery.endpoint_id].append(delivery)
    rows: list[dict[str, Any]] = [{"endpoint": e, "deliveries": recent[e.pk]} for e in endpoints]
    return render(request, "deals/webhooks.html", {"form": form, "rows": rows}, status=status)


@require_POST
@partner_required
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    webhooks.endpoint_delete(actor=request.actor, endpoint=_endpoint(request, pk))
    messages.success(request, _("Webhook removed: nothing more is sent to it."))
    return redirect("deals:webhooks")


@require_POST
@partner_required
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    endpoint = webhooks.endpoint_rotate_secret(actor=request.actor, endpoint=_endpoint(request, pk))
    messages.success(request, _("New secret made: update your receiver, the old one no longer signs."))
    return redirect(f"{reverse('deals:webhooks')}#endpoint-{endpoint.pk}")


@require_POST
@partner_required
def webhook_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    delivery = WebhookDelivery.objects.filter(pk=pk, partner_id=request.actor.partner_id).first()
    if delivery is None:
        raise Http404
    webhooks.redeliver(actor=request.actor, delivery=delivery)
    messages.success(request, _("The event is being sent again."))
    return redirect(f"{reverse('deals:webhooks')}#endpoint-{delivery.endpoint_id}")
