"""A user's inbox is theirs alone: it is read and marked read through the notifications kernel
(prm.notifications), which only ever touches the user's own rows, even where the database scope
would let it see a colleague's (the kernel calls below run in the user's own partner scope, as under
their request, and a colleague's rows are in that scope too). The notification pages go through the
same functions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.http import Http404
from django.urls import reverse

from partners.models import Partner, PartnerRole
from prm.models import Notification
from prm.notifications import inbox, mark_read, notification_get, notify
from prm.tenancy import system_scope
from tests import factories
from tests.helpers import login
from tests.scoping import acting

pytestmark = pytest.mark.django_db

EARLIER = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


@pytest.fixture
def colleague(partner: Partner) -> Any:
    """Another user of the same partner: the same tenant, so only the kernel's own filter keeps
    their notifications apart."""
    return factories.partner_user(partner, role=PartnerRole.SALES, email="colin@acme.example")


def note(user: Any, partner: Partner, title: str, **fields: Any) -> Notification:
    with system_scope():  # written by whatever service or task notifies
        notification = notify(recipient=user, kind="test", title=title, partner_id=partner.pk, email=False)
    if fields:
        Notification.objects.filter(pk=notification.pk).update(**fields)
        notification.refresh_from_db()
    return notification


def read_at(notification: Notification) -> datetime | None:
    return Notification.objects.get(pk=notification.pk).read_at


# --- the kernel functions -----------------------------------------------------------------------
def test_mark_read_by_ids_never_marks_another_users_rows(
    partner: Partner, partner_admin: Any, colleague: Any
) -> None:
    mine = note(partner_admin, partner, "Mine")
    theirs = note(colleague, partner, "Theirs")
    with acting(factories.actor_for(partner_admin)):
        assert mark_read(user=partner_admin, ids=[mine.pk, theirs.pk]) == 1
    assert read_at(mine) is not None
    assert read_at(theirs) is None
    with acting(factories.actor_for(partner_admin)):
        assert mark_read(user=partner_admin, ids=[theirs.pk]) == 0
    assert read_at(theirs) is None


def test_mark_every_one_read_marks_only_the_users_unread_rows(
    partner: Partner, partner_admin: Any, colleague: Any
) -> None:
    unread = [note(partner_admin, partner, f"Mine {n}") for n in range(3)]
    already = note(partner_admin, partner, "Read before", read_at=EARLIER)
    theirs = note(colleague, partner, "Theirs")
    with acting(factories.actor_for(partner_admin)):
        assert mark_read(user=partner_admin, every=True) == 3
    assert all(read_at(n) is not None for n in unread)
    assert read_at(already) == EARLIER  # the time it was first read stays
    assert read_at(theirs) is None
    with acting(factories.actor_for(partner_admin)):
        assert mark_read(user=partner_admin, every=True) == 0


@pytest.mark.parametrize("arguments", [{}, {"ids": [1], "every": True}])
def test_mark_read_takes_either_ids_or_every(partner_admin: Any, arguments: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="either ids or every"):
        mark_read(user=partner_admin, **arguments)


def test_the_inbox_and_one_notification_are_the_users_own(
    partner: Partner, partner_admin: Any, colleague: Any
) -> None:
    mine = note(partner_admin, partner, "Mine")
    theirs = note(colleague, partner, "Theirs")
    with acting(factories.actor_for(partner_admin)):
        assert list(inbox(user=partner_admin)) == [mine]
        assert notification_get(user=partner_admin, pk=mine.pk) == mine
        for pk in (theirs.pk, 0):  # not yours and does not exist: the same 404
            with pytest.raises(Http404):
                notification_get(user=partner_admin, pk=pk)


# --- the pages ----------------------------------------------------------------------------------
def test_opening_a_notification_marks_it_read_and_follows_its_link(
    partner: Partner, partner_admin: Any
) -> None:
    mine = note(partner_admin, partner, "Mine", url="/training/")
    response = login(partner_admin).get(reverse("notification_open", args=[mine.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/training/"
    assert read_at(mine) is not None


def test_opening_another_users_notification_is_a_404_and_changes_nothing(
    partner: Partner, partner_admin: Any, colleague: Any
) -> None:
    theirs = note(colleague, partner, "Theirs")
    response = login(partner_admin).get(reverse("notification_open", args=[theirs.pk]))
    assert response.status_code == 404
    assert read_at(theirs) is None


def test_mark_all_read_marks_only_the_users_own(partner: Partner, partner_admin: Any, colleague: Any) -> None:
    mine = [note(partner_admin, partner, f"Mine {n}") for n in range(2)]
    theirs = note(colleague, partner, "Theirs")
    response = login(partner_admin).post(reverse("notifications_read_all"), follow=True)
    assert response.redirect_chain == [(reverse("notifications"), 302)]
    assert [str(m) for m in response.context["messages"]] == ["2 notifications marked as read."]
    assert all(read_at(n) is not None for n in mine)
    assert read_at(theirs) is None
    assert [n.title for n in response.context["page"].object_list] == ["Mine 1", "Mine 0"]


def test_notify_bulk_writes_every_row_at_once_and_emails_only_after_the_commit(
    partner: Partner, partner_admin: Any, program_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from django.core import mail

    from prm.notifications import notify_bulk

    quiet = factories.partner_user(partner, role=PartnerRole.SALES, email_notifications=False)
    with django_capture_on_commit_callbacks() as callbacks, system_scope():
        notify_bulk(
            [
                {"recipient": partner_admin, "kind": "test", "title": "Yours", "partner_id": partner.pk},
                {"recipient": quiet, "kind": "test", "title": "Quiet", "partner_id": partner.pk},
                {"recipient": program_admin, "kind": "test", "title": "Vendor's", "partner_id": partner.pk},
            ]
        )
        assert mail.outbox == []  # nothing leaves before the commit
    rows = {n.title: n.partner_id for n in Notification.objects.filter(kind="test")}
    assert rows == {"Yours": partner.pk, "Quiet": partner.pk, "Vendor's": None}  # vendor rows: no tenant
    for callback in callbacks:
        callback()
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [partner_admin.email, program_admin.email]
    )


def test_the_inbox_page_lists_the_users_own_through_kept_statements(
    partner: Partner, partner_admin: Any, colleague: Any, settings: Any
) -> None:
    """The page's count and rows are statements kept compiled (prm.statements; each call checked
    against the ORM's own, PRM["VERIFY_STATEMENTS"]), and still only the user's own rows, newest
    first; an empty inbox is one empty page."""
    from prm.notifications import _INBOX_COUNT, _INBOX_ROWS
    from prm.tenancy import ANONYMOUS

    assert settings.PRM["VERIFY_STATEMENTS"]
    client = login(partner_admin)
    empty = client.get(reverse("notifications"))
    assert empty.status_code == 200 and list(empty.context["page"].object_list) == []
    older = note(partner_admin, partner, "Older", created_at=EARLIER)
    newer = note(partner_admin, partner, "Newer", i18n={"title": {"msgid": "Notifications"}})
    note(colleague, partner, "Theirs")
    response = client.get(reverse("notifications"))
    rows = response.context["page"].object_list
    assert [(row.pk, row.display_title) for row in rows] == [(newer.pk, "Notifications"), (older.pk, "Older")]
    assert response.context["page"].paginator.count == 2
    assert _INBOX_COUNT.is_kept(ANONYMOUS, user_id=partner_admin.pk)
    assert _INBOX_ROWS.is_kept(ANONYMOUS, user_id=partner_admin.pk, bottom=0, top=2)
    assert "Theirs" not in response.content.decode()
