"""The bell's unread count read in the statement that writes the request's scope
(partners.middleware.ActorMiddleware, prm.notifications.unread_count_read): the same number as a
count read on its own, row-level security included, and never stale after the request itself
writes a notification or marks one read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from partners.middleware import ActorMiddleware
from partners.models import Partner
from prm.context_processors import portal
from prm.models import Notification, User
from prm.notifications import forget_loaded_unread, mark_read, notify, notify_bulk, unread_count
from prm.tenancy import system_scope
from tests import factories

pytestmark = pytest.mark.django_db


def note(user: User, partner_id: int | None, title: str = "Note") -> Notification:
    with system_scope():
        notification = notify(recipient=user, kind="test", title=title, partner_id=partner_id, email=False)
    assert notification is not None
    return notification


def in_a_request(user: User, view: Callable[[HttpRequest], Any], path: str = "/company/") -> Any:
    """Run ``view`` inside ActorMiddleware (the request's scope and its count), as a page is."""
    request = RequestFactory().get(path)
    request.user = user
    seen: dict[str, Any] = {}

    def get_response(request: HttpRequest) -> HttpResponse:
        seen["value"] = view(request)
        return HttpResponse("ok")

    ActorMiddleware(get_response)(request)
    return seen["value"]


def bell(request: HttpRequest) -> int:
    return portal(request)["unread_notifications"]


def count_statements(request: HttpRequest) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as context:
        value = bell(request)
    return value, len(context.captured_queries)


def test_the_count_comes_with_the_scope_and_holds_the_partner_s_rows_only(
    partner: Partner, other_partner: Partner, partner_admin: User
) -> None:
    note(partner_admin, partner.pk)
    note(partner_admin, partner.pk)
    note(partner_admin, other_partner.pk)  # from another tenant: row-level security hides it
    note(partner_admin, None)  # no tenant: not in a partner's scope either
    assert in_a_request(partner_admin, count_statements) == (2, 0)


def test_a_channel_account_manager_counts_the_portfolio_s_rows_and_the_vendor_s(
    partner: Partner, other_partner: Partner, channel_manager: User, program_admin: User
) -> None:
    from partners.services import portfolio_grant

    portfolio_grant(actor=factories.actor_for(program_admin), partner=partner, manager=channel_manager)
    Notification.objects.filter(recipient=channel_manager).delete()  # the grant's own notice
    # notify() tags vendor staff's notifications with no partner; rows that name one (older data)
    # are held to the portfolio by row-level security like any tenant row.
    with system_scope():
        for partner_id in (None, partner.pk, other_partner.pk):
            Notification.objects.create(
                recipient=channel_manager, kind="test", title="t", partner_id=partner_id
            )
    assert in_a_request(channel_manager, count_statements) == (2, 0)

    def read_on_its_own(request: HttpRequest) -> int:
        forget_loaded_unread()
        return bell(request)

    assert in_a_request(channel_manager, read_on_its_own) == 2


def test_marked_read_in_the_same_request_the_bell_counts_what_is_left(
    partner: Partner, partner_admin: User
) -> None:
    first = note(partner_admin, partner.pk)
    note(partner_admin, partner.pk)

    def view(request: HttpRequest) -> tuple[int, int]:
        before = bell(request)
        mark_read(user=request.user, ids=[first.pk])
        return before, bell(request)

    assert in_a_request(partner_admin, view) == (2, 1)


def test_every_marked_read_in_the_same_request_shows_none(partner: Partner, partner_admin: User) -> None:
    note(partner_admin, partner.pk)

    def view(request: HttpRequest) -> tuple[int, int]:
        before = bell(request)
        mark_read(user=request.user, every=True)
        return before, bell(request)

    assert in_a_request(partner_admin, view) == (1, 0)


def test_notified_in_the_same_request_the_bell_counts_it(partner: Partner, partner_admin: User) -> None:
    note(partner_admin, partner.pk)

    def view(request: HttpRequest) -> tuple[int, int, int]:
        before = bell(request)
        # Another instance of the same user, as a service that looked the recipient up would have.
        notify(
            recipient=User.objects.get(pk=partner_admin.pk),
            kind="test",
            title="New",
            partner_id=partner.pk,
            email=False,
        )
        after_one = bell(request)
        notify_bulk([{"recipient": request.user, "kind": "test", "title": "Bulk", "partner_id": partner.pk}])
        return before, after_one, bell(request)

    assert in_a_request(partner_admin, view) == (1, 2, 3)


def test_a_notification_deleted_in_the_same_request_is_not_counted(
    partner: Partner, partner_admin: User
) -> None:
    gone = note(partner_admin, partner.pk)
    note(partner_admin, partner.pk)

    def view(request: HttpRequest) -> tuple[int, int]:
        before = bell(request)
        Notification.objects.get(pk=gone.pk).delete()  # the admin's way: a model delete
        return before, bell(request)

    assert in_a_request(partner_admin, view) == (2, 1)


def test_inside_a_scope_opened_in_the_request_the_count_is_read_there(
    partner: Partner, other_partner: Partner, partner_admin: User
) -> None:
    note(partner_admin, partner.pk)
    note(partner_admin, other_partner.pk)

    def view(request: HttpRequest) -> tuple[int, int]:
        with system_scope():  # the vendor-wide scope sees the other tenant's row too
            inside = unread_count(user=request.user)
        return inside, bell(request)

    assert in_a_request(partner_admin, view) == (2, 1)


def test_the_count_is_not_kept_after_the_request(partner: Partner, partner_admin: User) -> None:
    note(partner_admin, partner.pk)
    in_a_request(partner_admin, bell)
    note(partner_admin, partner.pk)
    with system_scope(), CaptureQueriesContext(connection) as context:
        assert unread_count(user=partner_admin) == 2
    assert any("prm_notification" in query["sql"] for query in context.captured_queries)


def test_another_user_s_count_is_never_the_loaded_one(partner: Partner, partner_admin: User) -> None:
    colleague = factories.partner_user(partner, email="colin@acme.example")
    note(partner_admin, partner.pk)
    note(colleague, partner.pk)
    note(colleague, partner.pk)

    def view(request: HttpRequest) -> int:
        return unread_count(user=colleague)

    assert in_a_request(partner_admin, view) == 2
