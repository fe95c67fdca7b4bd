"""Notification settings (issue 14): per kind of notification, in the portal and by e-mail, in the
portal only, or off, and a daily digest e-mail instead of single e-mails. notify() obeys them;
mandatory (security) kinds ignore "off"; the digest goes once a day whatever reruns or races; the
registry names every kind the apps send."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from partners.models import Membership, Partner, PartnerRole
from prm.audit import AuditEvent
from prm.models import Notification, NotificationDigest, User
from prm.notification_kinds import Channel, kind_registry
from prm.notifications import (
    channel_for,
    notify,
    save_notification_settings,
    send_digest,
    send_notification_digests,
)
from prm.roles import VendorRole
from prm.tenancy import system_scope
from tests import factories
from tests.helpers import login, race
from tests.scoping import acting

ROOT = Path(__file__).resolve().parents[2]
APPS = ["prm", "partners", "deals", "mdf", "training", "content", "incentives"]
EVENING = datetime(2026, 3, 9, 18, 0, tzinfo=UTC)
DIGEST_TIME = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


def tell(
    user: Any, partner: Partner | None, kind: str = "deal.approved", title: str = "Deal approved"
) -> Any:
    with system_scope():
        return notify(
            recipient=user, kind=kind, title=title, url="/deals/1/", partner_id=partner and partner.pk
        )


def choose(user: Any, digest: bool = False, **channels: str) -> Any:
    """Save settings as the user's own request would (``deal__approved=`` is ``deal.approved``)."""
    actor = factories.actor_for(user)
    with acting(actor):
        return save_notification_settings(
            actor=actor,
            channels={key.replace("__", "."): value for key, value in channels.items()},
            digest=digest,
        )


# --- notify() obeys the choice ---------------------------------------------------------------------
@pytest.mark.django_db
def test_the_default_is_todays_behaviour_in_the_portal_and_by_email(
    partner_admin: Any, partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    assert partner_admin.notification_channels == {} and partner_admin.notification_digest is False
    with django_capture_on_commit_callbacks(execute=True):
        notification = tell(partner_admin, partner)
    assert Notification.objects.filter(pk=notification.pk).exists()
    assert [m.subject for m in mail.outbox] == ["[PRM] Deal approved"]


@pytest.mark.django_db
def test_off_sends_nothing_at_all(
    partner_admin: Any, partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    choose(partner_admin, deal__approved=Channel.OFF)
    partner_admin.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert tell(partner_admin, partner) is None
        other = tell(partner_admin, partner, kind="deal.rejected", title="Rejected")  # another kind
    assert callbacks and other is not None
    assert list(Notification.objects.filter(recipient=partner_admin).values_list("kind", flat=True)) == [
        "deal.rejected"
    ]
    assert [m.subject for m in mail.outbox] == ["[PRM] Rejected"]


@pytest.mark.django_db
def test_in_app_only_keeps_the_row_and_sends_no_email(
    partner_admin: Any, partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    choose(partner_admin, deal__approved=Channel.IN_APP)
    partner_admin.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = tell(partner_admin, partner)
    assert callbacks == [] and mail.outbox == []
    assert Notification.objects.get(pk=notification.pk).emailed_at is None


@pytest.mark.django_db
def test_notify_bulk_obeys_each_recipients_choice_as_notify_does(
    partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    """The tier evaluation tells thousands of people at once (notify_bulk): off leaves the row out,
    portal-only sends no e-mail, the digest holds the e-mail back, the default sends it."""
    from prm.notifications import notify_bulk

    people = {
        name: factories.partner_user(partner, email=f"{name}@bulk.example")
        for name in ("default", "off", "in_app", "digest")
    }
    choose(people["off"], tier__grace_started=Channel.OFF)
    choose(people["in_app"], tier__grace_started=Channel.IN_APP)
    choose(people["digest"], digest=True)
    for user in people.values():
        user.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True), system_scope():
        notify_bulk(
            [
                {
                    "recipient": user,
                    "kind": "tier.grace_started",
                    "title": f"To {name}",
                    "partner_id": partner.pk,
                }
                for name, user in people.items()
            ]
        )
    rows = {n.title: n.digest_pending for n in Notification.objects.filter(kind="tier.grace_started")}
    assert rows == {"To default": False, "To in_app": False, "To digest": True}
    assert [m.to for m in mail.outbox] == [["default@bulk.example"]]


@pytest.mark.django_db
def test_mandatory_kinds_ignore_off_and_the_digest(
    partner_admin: Any, partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    assert kind_registry()["membership.role_changed"].mandatory
    # Stored behind the service's back (an old row, a hand edit): notify still sends it.
    User.objects.filter(pk=partner_admin.pk).update(
        notification_channels={"membership.role_changed": "off"}, notification_digest=True
    )
    partner_admin.refresh_from_db()
    assert channel_for(partner_admin, "membership.role_changed") == Channel.EMAIL
    with django_capture_on_commit_callbacks(execute=True):
        notification = tell(partner_admin, partner, kind="membership.role_changed", title="Your role changed")
    assert notification is not None and notification.digest_pending is False
    assert [m.subject for m in mail.outbox] == ["[PRM] Your role changed"]


@pytest.mark.django_db
def test_the_service_refuses_to_turn_a_mandatory_kind_off_or_an_unknown_kind(partner_admin: Any) -> None:
    from prm.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        choose(partner_admin, account__password_changed=Channel.OFF)
    assert refused.value.field == "account.password_changed"
    with pytest.raises(ApplicationError) as refused:
        choose(partner_admin, deal__submitted=Channel.OFF)  # a reviewer's kind, not a partner's
    assert refused.value.field == "deal.submitted"
    with pytest.raises(ApplicationError):
        choose(partner_admin, deal__approved="fax")


@pytest.mark.django_db
def test_saving_is_audited_and_stores_only_what_differs_from_the_default(partner_admin: Any) -> None:
    choose(partner_admin, digest=True, deal__approved=Channel.IN_APP, deal__rejected=Channel.EMAIL)
    partner_admin.refresh_from_db()
    assert partner_admin.notification_channels == {"deal.approved": "in_app"}
    assert partner_admin.notification_digest is True
    event = AuditEvent.objects.get(action="notifications.settings_changed")
    assert event.actor == partner_admin
    assert event.after == {"channels": {"deal.approved": "in_app"}, "digest": True}
    choose(partner_admin, digest=True, deal__approved=Channel.IN_APP)  # nothing changed: no event
    assert AuditEvent.objects.filter(action="notifications.settings_changed").count() == 1


@pytest.mark.django_db
def test_a_password_change_is_a_notice_that_cannot_be_turned_off(
    partner_admin: Any, django_capture_on_commit_callbacks: Any
) -> None:
    User.objects.filter(pk=partner_admin.pk).update(notification_channels={"account.password_changed": "off"})
    partner_admin.set_password("old-Secret-123!")
    partner_admin.save()
    client = login(partner_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_change_password"),
            {
                "oldpassword": "old-Secret-123!",
                "password1": "new-Secret-456!",
                "password2": "new-Secret-456!",
            },
        )
    assert response.status_code == 302
    notice = Notification.objects.get(recipient=partner_admin, kind="account.password_changed")
    assert notice.partner_id == Membership.objects.get(user=partner_admin).partner_id  # the user's own inbox
    assert "[PRM] Your password was changed" in [m.subject for m in mail.outbox]


# --- the daily digest ------------------------------------------------------------------------------
@pytest.mark.django_db
def test_digest_holds_back_single_emails_and_sends_one_summary_once(
    partner_admin: Any, partner: Partner, django_capture_on_commit_callbacks: Any
) -> None:
    choose(partner_admin, digest=True)
    partner_admin.refresh_from_db()
    with time_machine.travel(EVENING, tick=False), django_capture_on_commit_callbacks(execute=True):
        tell(partner_admin, partner, title="Deal one approved")
        tell(partner_admin, partner, kind="deal.rejected", title="Deal two rejected")
    assert mail.outbox == []  # nothing one by one
    assert Notification.objects.filter(recipient=partner_admin, digest_pending=True).count() == 2

    with time_machine.travel(DIGEST_TIME, tick=False):
        assert send_notification_digests() == 1
        assert send_notification_digests() == 0  # a rerun the same day sends nothing
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [partner_admin.email]
    assert "Deal one approved" in message.body and "Deal two rejected" in message.body
    assert "2 notifications" in message.subject
    assert not Notification.objects.filter(recipient=partner_admin, emailed_at__isnull=True).exists()
    assert NotificationDigest.objects.get(user=partner_admin).day == date(2026, 3, 10)

    # What happens later waits for the next morning's digest.
    with time_machine.travel(DIGEST_TIME.replace(hour=9), tick=False):
        tell(partner_admin, partner, title="Deal three approved")
        assert send_notification_digests() == 0
    with time_machine.travel(DIGEST_TIME.replace(day=11), tick=False):
        assert send_notification_digests() == 1
    assert len(mail.outbox) == 2 and "Deal three approved" in mail.outbox[1].body
    assert "Deal one approved" not in mail.outbox[1].body


@pytest.mark.django_db
def test_no_digest_when_nothing_happened_and_in_app_kinds_stay_out(
    partner_admin: Any, partner: Partner
) -> None:
    choose(partner_admin, digest=True, deal__approved=Channel.IN_APP)
    partner_admin.refresh_from_db()
    tell(partner_admin, partner)
    with time_machine.travel(DIGEST_TIME, tick=False):
        assert send_notification_digests() == 0
    assert mail.outbox == [] and not NotificationDigest.objects.exists()


@pytest.mark.django_db
def test_digest_is_rendered_in_the_users_language(
    partner_admin: Any, partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest is rendered in the user's own language (User.language), else the portal's
    default language (tests/prm/test_languages.py checks the words themselves)."""
    choose(partner_admin, digest=True)
    User.objects.filter(pk=partner_admin.pk).update(language="de")
    partner_admin.refresh_from_db()
    tell(partner_admin, partner)
    seen: list[str] = []
    real = translation.override

    def spy(language: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(language)
        return real(language, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr("prm.notifications.translation.override", spy)
        with time_machine.travel(DIGEST_TIME, tick=False):
            assert send_notification_digests() == 1
    assert seen == ["de"]
    User.objects.filter(pk=partner_admin.pk).update(language="")
    partner_admin.refresh_from_db()
    tell(partner_admin, partner)
    with monkeypatch.context() as patched:
        patched.setattr("prm.notifications.translation.override", spy)
        with time_machine.travel(DIGEST_TIME.replace(day=11), tick=False):
            assert send_notification_digests() == 1
    assert seen == ["de", settings.LANGUAGE_CODE]


@pytest.mark.django_db(transaction=True)
def test_two_digest_runs_at_once_send_one_email() -> None:
    partner = factories.PartnerFactory(legal_name="Racing Ltd")
    user = factories.partner_user(partner, email="racer@racing.example")
    choose(user, digest=True)
    user.refresh_from_db()
    tell(user, partner)
    tell(user, partner, title="Another")
    with time_machine.travel(DIGEST_TIME, tick=False):
        results = race([lambda: send_digest(user_id=user.pk)] * 2)
    assert sorted(value for _kind, value in results) == [0, 2], results
    assert len(mail.outbox) == 1
    assert NotificationDigest.objects.filter(user=user).count() == 1


def test_the_digest_runs_daily_from_beat() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["notifications-daily-digest"]
    assert entry["task"] == "prm.tasks.send_notification_digests"
    assert entry["schedule"].hour == {7} and entry["schedule"].minute == {0}


# --- the registry names every kind the apps send ----------------------------------------------------
KIND = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
# Helpers that pass one of their own arguments on as the kind, and which argument.
PASS_THROUGH = {("partners/services.py", "_transition"): "action"}


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def kinds_in_source() -> tuple[set[str], set[str]]:
    """The kinds the apps' code passes to notify() or to a helper that notifies (``_notify_*``,
    ``_tell*``): ``kind=`` literals and kind-like literals given to those helpers; and the fixed
    prefixes of kinds built with an f-string (``f"lead.{outcome}"``)."""
    exact: set[str] = set()
    prefixes: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = _name(node)
                notifying = name in {"notify", "notify_many"} or name.startswith(
                    ("_notify", "_tell", "tell_")
                )
                values = [k.value for k in node.keywords if k.arg == "kind" and notifying]
                if passed_on := PASS_THROUGH.get((str(path.relative_to(ROOT)), name)):
                    values += [k.value for k in node.keywords if k.arg == passed_on]
                if notifying:
                    values += list(node.args)
                for value in values:
                    if (
                        isinstance(value, ast.Constant)
                        and isinstance(value.value, str)
                        and KIND.match(value.value)
                    ):
                        exact.add(value.value)
                    elif isinstance(value, ast.JoinedStr) and isinstance(value.values[0], ast.Constant):
                        prefixes.add(value.values[0].value)
    return exact, prefixes


def test_every_kind_the_apps_send_is_registered() -> None:
    exact, prefixes = kinds_in_source()
    registered = set(kind_registry())
    # The scan does find the apps' calls (a broken scan would pass vacuously).
    assert {"deal.approved", "mdf.claim_paid", "support.opened", "partner.suspended", "export.ready"} <= exact
    assert exact - registered == set(), "register these kinds in the app's notifications.KINDS"
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in registered), prefix
    assert {
        "lead.declined",
        "lead.timed_out",
        "profile_change.approved",
        "profile_change.rejected",
    } <= registered


def test_every_kind_explains_itself() -> None:
    for entry in kind_registry().values():
        assert str(entry.label) and str(entry.description), entry.key
        assert entry.audiences and entry.audiences <= {"partner", "vendor"}, entry.key
        assert not entry.mandatory or str(entry.mandatory_reason), entry.key
        assert entry.default in Channel.values


# --- the page ------------------------------------------------------------------------------------
PERSONAS = [
    ("partner_admin", PartnerRole.ADMIN, None),
    ("partner_sales", PartnerRole.SALES, None),
    ("program_admin", None, VendorRole.PROGRAM_ADMIN),
    ("channel_manager", None, VendorRole.CHANNEL_ACCOUNT_MANAGER),
    ("finance", None, VendorRole.FINANCE),
]


def _persona(partner: Partner, role: str | None, vendor_role: str | None) -> Any:
    if vendor_role:
        return factories.vendor_user(vendor_role)
    return factories.partner_user(partner, role=role)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "role", "vendor_role"), PERSONAS)
def test_the_page_for_each_role(
    partner: Partner, name: str, role: str | None, vendor_role: str | None
) -> None:
    user = _persona(partner, role, vendor_role)
    client = login(user)
    home = client.get(reverse("notifications"))
    assert reverse("notification_settings") in home.content.decode()  # in the user menu
    response = client.get(reverse("notification_settings"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your password was changed" in html and "Always sent" in html
    if vendor_role:
        assert "Deal submitted for review" in html and "Deal approved" not in html
    else:
        assert "Deal approved" in html and "Deal submitted for review" not in html
        # A kind shows to the partner roles its service tells: funds to admins and marketing,
        # the company's status to its admins.
        assert ("Fund claim paid" in html) == (role == PartnerRole.ADMIN)
        assert ("Partnership suspended" in html) == (role == PartnerRole.ADMIN)
    # The mandatory kind's choices are locked.
    assert re.search(r'<input[^>]*name="account.password_changed"[^>]*disabled', html)


@pytest.mark.django_db
def test_saving_from_the_page(partner_admin: Any) -> None:
    client = login(partner_admin)
    response = client.post(
        reverse("notification_settings"),
        {
            "digest": "on",
            "deal.approved": "in_app",
            "deal.rejected": "off",
            "account.password_changed": "off",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Your notification settings were saved." in response.content.decode()
    partner_admin.refresh_from_db()
    assert partner_admin.notification_digest is True
    # Kinds not posted keep their default; the locked kind's posted "off" is ignored.
    assert partner_admin.notification_channels == {"deal.approved": "in_app", "deal.rejected": "off"}
    assert channel_for(partner_admin, "account.password_changed") == Channel.EMAIL
    page = client.get(reverse("notification_settings")).content.decode()
    assert re.search(r'<input[^>]*name="deal.rejected"[^>]*value="off"[^>]*checked', page)


@pytest.mark.django_db
def test_bad_input_is_a_field_error_not_a_500(partner_admin: Any) -> None:
    client = login(partner_admin, raise_request_exception=False)
    response = client.post(reverse("notification_settings"), {"deal.approved": "carrier-pigeon"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Select a valid choice" in html and "Nothing was saved" in html
    partner_admin.refresh_from_db()
    assert partner_admin.notification_channels == {}


@pytest.mark.django_db
def test_the_page_needs_csrf_and_a_login(partner_admin: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(partner_admin, backend="django.contrib.auth.backends.ModelBackend")
    assert client.post(reverse("notification_settings"), {"deal.approved": "off"}).status_code == 403
    partner_admin.refresh_from_db()
    assert partner_admin.notification_channels == {}
    anonymous = Client().get(reverse("notification_settings"))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


@pytest.mark.django_db
def test_the_page_reads_a_bounded_number_of_queries(partner_admin: Any, partner: Partner) -> None:
    client = login(partner_admin)
    client.get(reverse("notification_settings"))  # warm

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("notification_settings")).status_code == 200
        return len(queries)

    few = count()
    choose(
        partner_admin,
        digest=True,
        **{k.replace(".", "__"): Channel.IN_APP for k in ("deal.approved", "deal.rejected")},
    )
    for index in range(30):
        tell(partner_admin, partner, title=f"Note {index}")
    assert count() == few
    assert few <= 20
