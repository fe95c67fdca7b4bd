"""Admin actions that call a service for each selected row, and the intermediate page some of them
ask a reason (or amounts, or a reference) on first. Every app's admin uses these, so a refusal is
reported the same way everywhere: per row, in the admin's messages, never a 500, and never undoing
the rows that went through."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from .errors import ApplicationError


def prefixed(label: str, message: str) -> str:
    """Service messages often start with the row's reference already; never say it twice."""
    return message if message.startswith(label) else f"{label}: {message}"


def run_each(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[Any],
    call: Callable[[Any, Any], Any],
    *,
    label: Callable[[Any], str] = str,
    done_message: Callable[[int], str] | None = None,
    row_done_message: Callable[[Any], str] | None = None,
    error_level: int = messages.ERROR,
) -> list[Any]:
    """Call ``call(actor, obj)`` for each object in its own savepoint, so a refusal undoes only
    that object's writes and the others stand. Each refusal becomes a message naming the row
    (``label``); ``row_done_message`` reports each success, ``done_message`` the count of them.
    Returns what the successful calls returned, in order."""
    actor = request.actor
    results = []
    for obj in objects:
        try:
            with transaction.atomic():
                result = call(actor, obj)
        except ApplicationError as exc:
            modeladmin.message_user(request, prefixed(str(label(obj)), exc.message), error_level)
            continue
        results.append(result)
        if row_done_message is not None:
            modeladmin.message_user(request, row_done_message(obj), messages.SUCCESS)
    if results and done_message is not None:
        modeladmin.message_user(request, done_message(len(results)), messages.SUCCESS)
    return results


def confirm_then_run(
    request: HttpRequest,
    *,
    form: Callable[[Any], forms.Form],
    submit_name: str,
    run: Callable[[Any], Any],
    page: Callable[[Any], HttpResponse],
) -> HttpResponse | None:
    """An action with an intermediate page: the first post (from the change list) shows
    ``page(form)``; the page posts back with ``submit_name`` and, once the form is valid,
    ``run(form)`` does the work and the admin returns to the change list. ``form`` makes the form
    from the posted data (None until the page is submitted): a form class, or a function."""
    posted = submit_name in request.POST
    form = form(request.POST if posted else None)
    if posted and form.is_valid():
        run(form)
        return None
    return page(form)


def confirmation_context(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    title: Any,
    action: str,
    form: forms.Form | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """What every intermediate page needs to post the selection back to the same action."""
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "action": action,
    }
    if form is not None:
        context["form"] = form
        context["media"] = modeladmin.media + form.media
    context.update(extra)
    return context
