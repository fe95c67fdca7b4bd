"""The one error type for things a user can cause, and the two ways a view or an admin page turns
it into something the user reads (a message, or an error on the form they posted), never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest


class ApplicationError(Exception):
    def __init__(self, message: str, *, field: str | None = None, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra or {}

    def __str__(self) -> str:
        return str(self.message)


def attempt(
    request: HttpRequest, call: Callable[[], Any], *, form: Any = None, report: bool = True
) -> tuple[bool, Any]:
    """Run a service call in a savepoint; an ApplicationError undoes whatever the call had written
    and becomes what the user reads: an error message, or, given the ``form`` they posted, an
    error on that form (:func:`add_form_error`). With ``report=False`` the view says it itself
    (a message of its own, a confirmation to ask for). Returns (True, what the call returned) or
    (False, the error)."""
    try:
        with transaction.atomic():
            return True, call()
    except ApplicationError as exc:
        if report and form is not None:
            add_form_error(form, exc)
        elif report:
            messages.error(request, exc.message)
        return False, exc


def add_form_error(form: Any, exc: ApplicationError) -> None:
    """Put the error on the field the service named when the form has that field, else on the
    form as a whole, so the user sees it next to what they typed."""
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
