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
from tests.helpers import login

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
    tried = Holiday.objects.filter(name__in=["yes", "nope", "yes again"])
    assert sorted(tried.values_list("name", flat=True)) == ["yes", "yes again"]
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
    assert not Holiday.objects.filter(name="undone").exists()
    assert attempt(request, lambda: 42) == (True, 42)


class TwoFields(forms.Form):
    name = forms.CharField()
    date = forms.DateField()


def test_attempt_puts_a_refusal_on_the_posted_form_or_leaves_it_to_the_view() -> None:
    request = _request()
    stored: list[Any] = []
    request._messages = type(
        "Store", (), {"add": lambda self, level, message, extra_tags="": stored.append(message)}
    )()

    def refused() -> None:
        Holiday.objects.create(date=DAY, name="undone")
        raise ApplicationError("Taken.", field="date", extra={"needs_confirmation": True})

    form = TwoFields({"name": "x", "date": "2026-12-24"})
    assert form.is_valid()
    done, error = attempt(request, refused, form=form)
    assert done is False and form.errors["date"] == ["Taken."]

    quiet = TwoFields({"name": "x", "date": "2026-12-24"})
    assert quiet.is_valid()
    done, error = attempt(request, refused, form=quiet, report=False)
    assert done is False and error.extra == {"needs_confirmation": True}
    assert not quiet.errors
    assert stored == []  # neither way adds a message
    assert not Holiday.objects.exists()


def test_add_form_error_puts_the_error_on_the_named_field_or_on_the_form() -> None:
    form = TwoFields({"name": "x", "date": "2026-12-24"})
    assert form.is_valid()

    add_form_error(form, ApplicationError("Taken.", field="date"))
    add_form_error(form, ApplicationError("Closed.", field="not_a_field"))
    add_form_error(form, ApplicationError("Later."))

    assert form.errors["date"] == ["Taken."]
    assert form.non_field_errors() == ["Closed.", "Later."]


# --- Through the real admin views ------------------------------------------------------------------
def _messages_of(response: Any) -> list[str]:
    return [str(message.message) for message in response.context["messages"]]


def test_a_refused_partner_suspension_leaves_nothing_behind_and_the_others_stand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The partners admin used to call the service outside a savepoint: a refusal after a write
    kept the write (the request's transaction commits, the error was caught)."""
    from django.urls import reverse

    from partners import services as partner_services
    from partners.models import Partner, PartnerStatus
    from tests import factories

    refused = factories.PartnerFactory(legal_name="Refused Reseller")
    accepted = factories.PartnerFactory(legal_name="Accepted Reseller")
    suspend = partner_services.partner_suspend

    def suspend_or_refuse_after_writing(*, actor: Any, partner: Partner, reason: str) -> Partner:
        if partner.pk == refused.pk:
            Partner.objects.filter(pk=partner.pk).update(legal_name="Half-written")
            raise ApplicationError("Not this one.")
        return suspend(actor=actor, partner=partner, reason=reason)

    monkeypatch.setattr(partner_services, "partner_suspend", suspend_or_refuse_after_writing)

    response = login(factories.vendor_user(email="ada@prm.example")).post(
        reverse("admin:partners_partner_changelist"),
        {"action": "suspend_selected", "_selected_action": [refused.pk, accepted.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert _messages_of(response) == ["Refused Reseller: Not this one.", "1 partners updated."]
    refused.refresh_from_db()
    accepted.refresh_from_db()
    assert refused.legal_name == "Refused Reseller"
    assert accepted.status == PartnerStatus.SUSPENDED


def test_rejecting_deals_in_the_admin_asks_the_reason_then_rejects_each_and_reports_refusals() -> None:
    from django.urls import reverse

    from deals.models import DealStatus
    from tests import factories
    from tests.deals import factories as df

    northwind = df.team()
    waiting = df.submitted(northwind.sales_actor, customer="Initech", domain="initech.com")
    decided = df.approved(
        northwind.sales_actor,
        factories.vendor_actor(),
        customer="Globex",
        domain="globex.com",
    )
    client = login(factories.vendor_user(email="ada@prm.example"))
    selection = {"action": "reject_selected", "_selected_action": [waiting.pk, decided.pk]}

    page = client.post(reverse("admin:deals_deal_changelist"), selection)
    assert page.status_code == 200
    assert "deals/admin/reject_reason.html" in [t.name for t in page.templates]
    assert not page.context["form"].is_bound
    blank = client.post(reverse("admin:deals_deal_changelist"), {**selection, "apply": "1", "reason": ""})
    assert blank.context["form"].errors["reason"]

    done = client.post(
        reverse("admin:deals_deal_changelist"),
        {**selection, "apply": "1", "reason": "Registered by another partner."},
        follow=True,
    )

    texts = _messages_of(done)
    assert texts[-1] == "1 deal rejected."
    assert len(texts) == 2 and texts[0].startswith(f"{decided}: ")
    waiting.refresh_from_db()
    decided.refresh_from_db()
    assert (waiting.status, waiting.decision_reason) == (
        DealStatus.REJECTED,
        "Registered by another partner.",
    )
    assert decided.status == DealStatus.APPROVED
