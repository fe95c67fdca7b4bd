"""The shared helpers behind every service-backed admin action and every view that turns an
ApplicationError into something the user reads."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django import forms
from django.contrib import messages
from django.test import RequestFactory

from prm.admin_actions import confirm_then_run, prefixed, run_each
from prm.errors import ApplicationError, add_form_error, attempt
from prm.models import Holiday

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 24)


class RecordingAdmin:
    """Stands in for a ModelAdmin: keeps what message_user was told."""

    def __init__(self) -> None:
        self.messages: list[tuple[int, str]] = []

    def message_user(self, request: Any, message: str, level: int = messages.INFO) -> None:
        self.messages.append((level, str(message)))


def _request(data: dict[str, str] | None = None) -> Any:
    request = RequestFactory().post("/admin/", data or {})
    request.actor = "the actor"
    return request


def _add_holiday_unless_refused(actor: Any, name: str) -> Holiday:
    assert actor == "the actor"
    holiday = Holiday.objects.create(date=DAY + datetime.timedelta(days=len(name)), name=name)
    if name.startswith("no"):
        raise ApplicationError(f"{name} is refused.")
    return holiday


def test_run_each_keeps_the_rows_that_went_through_and_reports_each_refusal() -> None:
    admin = RecordingAdmin()

    done = run_each(
        admin,
        _request(),
        ["yes", "nope", "yes again"],
        _add_holiday_unless_refused,
        label=lambda name: f"Row {name}",
        done_message=lambda n: f"{n} done.",
    )

    assert [holiday.name for holiday in done] == ["yes", "yes again"]
    # The refused row's write is undone (its own savepoint); the others stand.
    assert sorted(Holiday.objects.values_list("name", flat=True)) == ["yes", "yes again"]
    assert admin.messages == [
        (messages.ERROR, "Row nope: nope is refused."),
        (messages.SUCCESS, "2 done."),
    ]


def test_run_each_reports_each_success_when_asked_and_no_count_when_nothing_went_through() -> None:
    admin = RecordingAdmin()

    run_each(admin, _request(), ["yes"], _add_holiday_unless_refused, row_done_message=lambda n: f"{n} ok.")
    run_each(
        admin,
        _request(),
        ["no"],
        _add_holiday_unless_refused,
        label=lambda name: f"Row {name}",
        done_message=lambda n: "never said",
        error_level=messages.WARNING,
    )

    assert admin.messages == [(messages.SUCCESS, "yes ok."), (messages.WARNING, "Row no: no is refused.")]


def test_a_refusal_that_names_the_row_already_is_not_prefixed_twice() -> None:
    assert prefixed("MDF-1", "MDF-1 is closed.") == "MDF-1 is closed."
    assert prefixed("MDF-1", "Closed.") == "MDF-1: Closed."


class ReasonForm(forms.Form):
    reason = forms.CharField()


def test_confirm_then_run_shows_the_page_until_the_form_is_posted_valid() -> None:
    ran: list[str] = []

    def confirm(data: dict[str, str]) -> Any:
        return confirm_then_run(
            _request(data),
            form=ReasonForm,
            submit_name="apply",
            run=lambda form: ran.append(form.cleaned_data["reason"]),
            page=lambda form: form,
        )

    first = confirm({"action": "x"})  # from the change list: an unbound form, no errors yet
    assert not first.is_bound
    invalid = confirm({"apply": "1", "reason": ""})
    assert invalid.errors["reason"]
    assert confirm({"apply": "1", "reason": "Duplicate"}) is None
    assert ran == ["Duplicate"]


def test_attempt_turns_a_refusal_into_a_message_and_undoes_its_writes() -> None:
    request = _request()
    stored: list[Any] = []
    request._messages = type(
        "Store", (), {"add": lambda self, level, message, extra_tags="": stored.append(message)}
    )()

    def refused() -> None:
        Holiday.objects.create(date=DAY, name="undone")
        raise ApplicationError("Not now.")

    assert attempt(request, refused)[0] is False
    assert stored == ["Not now."]
    assert not Holiday.objects.exists()
    assert attempt(request, lambda: 42) == (True, 42)


class TwoFields(forms.Form):
    name = forms.CharField()
    date = forms.DateField()


def test_add_form_error_puts_the_error_on_the_named_field_or_on_the_form() -> None:
    form = TwoFields({"name": "x", "date": "2026-12-24"})
    assert form.is_valid()

    add_form_error(form, ApplicationError("Taken.", field="date"))
    add_form_error(form, ApplicationError("Closed.", field="not_a_field"))
    add_form_error(form, ApplicationError("Later."))

    assert form.errors["date"] == ["Taken."]
    assert form.non_field_errors() == ["Closed.", "Later."]
