"""Languages (issue 14): each user's own language wins after sign-in whatever the browser says; the
sign-in page offers a switch; notifications and their e-mails are read in the reader's language
whoever caused them; money and dates follow each language's conventions; a change to two-factor
authentication is a security notice that cannot be turned off.

The German words come from a tiny catalog compiled for the test (tests/i18n.py) and from Django's
own German, never from the translators' catalogs in prm/locale."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.formats import date_format

from partners.models import Membership, Partner, PartnerRole
from prm.audit import AuditEvent
from prm.i18n import gettext, render_message, to_message
from prm.models import Notification, User
from prm.money import format_amount, format_money
from prm.notifications import notify, send_digest
from prm.tenancy import system_scope
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db


def sign_in(user: Any, **client_kwargs: Any) -> Client:
    """Sign in through the real sign-in form (as a person would), with the client's headers."""
    client = Client(**client_kwargs)
    response = client.post(reverse("account_login"), {"login": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def set_language(user: Any, language: str) -> None:
    User.objects.filter(pk=user.pk).update(language=language)
    user.refresh_from_db()


# --- each user's own language ------------------------------------------------------------------------
def test_a_german_user_reads_german_after_signing_in_whatever_the_browser_says(
    german: dict, partner_admin: User
) -> None:
    set_language(partner_admin, "de")
    client = sign_in(partner_admin, HTTP_ACCEPT_LANGUAGE="fr")
    client.cookies["django_language"] = "es"  # even a cookie from the sign-in page's switch
    response = client.get(reverse("notifications"))
    assert response.status_code == 200
    assert response["Content-Language"] == "de"
    assert "Benachrichtigungseinstellungen" in response.content.decode()
    assert '<html lang="de"' in response.content.decode()


def test_without_a_choice_the_browser_decides_and_an_english_choice_beats_a_german_browser(
    german: dict, partner_admin: User
) -> None:
    browser_german = sign_in(partner_admin, HTTP_ACCEPT_LANGUAGE="de")
    assert "Benachrichtigungseinstellungen" in browser_german.get(reverse("notifications")).content.decode()
    set_language(partner_admin, "en")
    page = browser_german.get(reverse("notifications"))
    assert page["Content-Language"] == "en"
    assert "Notification settings" in page.content.decode()
    assert "Benachrichtigungseinstellungen" not in page.content.decode()


def test_the_sign_in_page_switch_changes_the_page_language(german: dict, db: Any) -> None:
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    login_url = reverse("account_login")
    page = client.get(login_url).content.decode()
    assert "Sign in to the partner portal" in page
    switch = re.search(
        r'<form method="post" action="([^"]+)"[^>]*id="login-language">(.*?)</form>', page, re.S
    )
    assert switch and switch.group(1) == reverse("set_language")
    assert 'name="csrfmiddlewaretoken"' in switch.group(2)
    assert re.search(r'<option value="de" lang="de">Deutsch</option>', switch.group(2))
    token = client.cookies["csrftoken"].value
    refused = Client(enforce_csrf_checks=True).post(
        reverse("set_language"), {"language": "de", "next": login_url}
    )
    assert refused.status_code == 403  # no CSRF token, no switch
    response = client.post(
        reverse("set_language"), {"language": "de", "next": login_url, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302 and response["Location"] == login_url
    german_page = client.get(login_url)
    assert german_page["Content-Language"] == "de"
    assert "Im Partnerportal anmelden" in german_page.content.decode()
    assert re.search(r'<option value="de" lang="de" selected>', german_page.content.decode())


def test_the_language_page_saves_the_choice_audited_and_refuses_a_bad_one(
    german: dict, partner_admin: User
) -> None:
    client = login(partner_admin)
    page = client.get(reverse("language_settings"))
    assert page.status_code == 200 and 'id="nav-language"' in page.content.decode()
    saved = client.post(reverse("language_settings"), {"language": "de"})
    assert saved.status_code == 302
    assert saved.cookies["django_language"].value == "de"  # the sign-in page speaks it after sign-out
    partner_admin.refresh_from_db()
    assert partner_admin.language == "de"
    assert "Ihre Sprache wurde gespeichert." in client.get(saved["Location"]).content.decode()
    event = AuditEvent.objects.get(action="user.language_changed", target_id=str(partner_admin.pk))
    assert event.before == {"language": ""} and event.after == {"language": "de"}
    assert event.partner_id == Membership.objects.get(user=partner_admin).partner_id

    bad = client.post(reverse("language_settings"), {"language": "xx"})
    assert bad.status_code == 400
    assert 'class="invalid-feedback d-block"' in bad.content.decode()
    partner_admin.refresh_from_db()
    assert partner_admin.language == "de"

    client.post(reverse("language_settings"), {"language": ""})
    partner_admin.refresh_from_db()
    assert partner_admin.language == ""  # back to the browser's


def test_the_language_page_needs_a_login_and_csrf(partner_admin: User) -> None:
    assert Client().get(reverse("language_settings")).status_code == 302
    client = Client(enforce_csrf_checks=True)
    client.force_login(partner_admin, backend="django.contrib.auth.backends.ModelBackend")
    assert client.post(reverse("language_settings"), {"language": "de"}).status_code == 403
    partner_admin.refresh_from_db()
    assert partner_admin.language == ""


# --- recipients read in their own language -----------------------------------------------------------
def test_a_notification_an_english_admin_causes_reads_german_for_a_german_member(
    german: dict, partner: Partner, partner_admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    member = factories.partner_user(partner, role=PartnerRole.SALES, full_name="Klara Schmidt")
    set_language(member, "de")
    membership = Membership.objects.get(user=member)
    admin = login(partner_admin, HTTP_ACCEPT_LANGUAGE="en")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("partners:member_role", args=[membership.pk]), {"role": "marketing"})
    assert response.status_code == 302
    notice = Notification.objects.get(recipient=member, kind="membership.role_changed")
    assert notice.title == "Ihre Rolle ist jetzt Marketingteam"  # stored in the recipient's language
    with translation.override("en"):
        assert notice.display_title == "Your role is now Marketing"  # and kept re-renderable
    # Her inbox, whatever her browser says; her e-mail.
    inbox = login(member, HTTP_ACCEPT_LANGUAGE="en").get(reverse("notifications")).content.decode()
    assert "Ihre Rolle ist jetzt Marketingteam" in inbox
    sent = [m for m in mail.outbox if m.to == [member.email]]
    assert [m.subject for m in sent] == ["[PRM] Ihre Rolle ist jetzt Marketingteam"]
    assert "Hallo Klara," in sent[0].body
    assert "Ihre Rolle ist jetzt Marketingteam" in sent[0].alternatives[0][0]


def test_the_same_notification_reads_in_each_readers_language(
    german: dict, partner: Partner, partner_admin: User
) -> None:
    """A row read later after the reader changed language follows the new language."""
    with system_scope():
        notice = notify(
            recipient=partner_admin,
            kind="account.password_changed",
            title=gettext("Your password was changed"),
            partner_id=partner.pk,
        )
    assert notice.title == "Your password was changed"
    set_language(partner_admin, "de")
    page = login(partner_admin).get(reverse("notifications")).content.decode()
    assert "Ihr Passwort wurde geändert" in page


def test_rows_from_before_and_plain_titles_still_display(german: dict, partner_admin: User) -> None:
    old = Notification(
        recipient=partner_admin, kind="deal.approved", title="Deal D-1 approved", body="Old body"
    )
    with translation.override("de"):
        assert (old.display_title, old.display_body) == ("Deal D-1 approved", "Old body")
    # A message whose translation does not fit its parameters falls back to the stored text.
    broken = {"msgid": "Your role is now %(role)s", "params": {"other": "x"}}
    with translation.override("de"):
        assert render_message(broken, "as written") == "as written"
    assert to_message("plain text") == {}


def test_the_daily_digest_is_in_the_recipients_language(german: dict, partner_admin: User) -> None:
    User.objects.filter(pk=partner_admin.pk).update(notification_digest=True, language="de")
    partner_admin.refresh_from_db()
    with translation.override("en"), system_scope():
        notify(recipient=partner_admin, kind="deal.approved", title=gettext("Your password was changed"))
    with time_machine.travel(datetime(2026, 3, 10, 7, 0, tzinfo=UTC), tick=False):
        assert send_digest(user_id=partner_admin.pk) == 1
    (digest,) = mail.outbox
    assert "Hallo" in digest.body and "Ihr Passwort wurde geändert" in digest.body


# --- money and dates per language --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "eur", "usd", "jpy_amount"),
    [
        ("en", "1,234.50\N{NO-BREAK SPACE}EUR", "1,234,567.50\N{NO-BREAK SPACE}USD", "5,000"),
        ("de", "1.234,50\N{NO-BREAK SPACE}€", "1.234.567,50\N{NO-BREAK SPACE}$", "5.000"),
        ("fr", "1\N{NARROW NO-BREAK SPACE}234,50\N{NO-BREAK SPACE}€", None, "5\N{NARROW NO-BREAK SPACE}000"),
        ("es", "1.234,50\N{NO-BREAK SPACE}€", None, "5.000"),
    ],
)
def test_money_follows_the_languages_conventions(
    language: str, eur: str, usd: str | None, jpy_amount: str
) -> None:
    with translation.override(language):
        assert format_money(Decimal("1234.5"), "EUR") == eur
        if usd:
            assert format_money(Decimal("1234567.5"), "USD") == usd
        assert format_amount(Decimal("5000"), "JPY") == jpy_amount
        assert format_money(None, "EUR") == "—"


def test_dates_follow_the_languages_conventions() -> None:
    day = date(2026, 3, 5)
    formatted = {}
    for language in ("en", "de", "fr", "es"):
        with translation.override(language):
            formatted[language] = date_format(day, "DATE_FORMAT")
    assert formatted == {
        "en": "March 5, 2026",
        "de": "5. März 2026",
        "fr": "5 mars 2026",
        "es": "5 de marzo de 2026",
    }


# --- a change to two-factor authentication is a security notice ---------------------------------------
def _recently_authenticated(client: Client, user: User) -> None:
    """The session allauth's reauthentication check reads, as a password sign-in leaves it."""
    session = client.session
    session["account_authentication_methods_user"] = str(user.pk)
    session["account_authentication_methods"] = [
        {"method": "password", "at": time.time(), "email": user.email, "reauthenticated": True}
    ]
    session.save()


def test_changing_two_factor_authentication_sends_a_notice_that_cannot_be_turned_off(
    partner_admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    User.objects.filter(pk=partner_admin.pk).update(
        notification_channels={"account.mfa_changed": "off"}, email_notifications=False
    )
    partner_admin.refresh_from_db()
    TOTP.activate(partner_admin, generate_totp_secret())
    RecoveryCodes.activate(partner_admin)
    client = login(partner_admin)
    _recently_authenticated(client, partner_admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_generate_recovery_codes"))
    assert response.status_code == 302
    notices = Notification.objects.filter(recipient=partner_admin, kind="account.mfa_changed")
    assert [n.title for n in notices] == ["New recovery codes were made for your account"]
    assert notices[0].partner_id == Membership.objects.get(user=partner_admin).partner_id
    ours = [m.subject for m in mail.outbox if m.subject.startswith("[PRM]")]  # not allauth's own
    assert ours == ["[PRM] New recovery codes were made for your account"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=partner_admin, type=Authenticator.Type.TOTP).exists()
    assert notices.order_by("-id").first().title == "A two-factor authenticator was removed from your account"
    assert [m.subject for m in mail.outbox if m.subject.startswith("[PRM]")][1:] == [
        "[PRM] A two-factor authenticator was removed from your account"
    ]

    # Adding one again (through the page, with a code from the app): one notice, not one more for
    # the recovery codes that come with it.
    client.get(reverse("mfa_activate_totp"))
    secret = client.session[SECRET_SESSION_KEY]
    counters = list(yield_hotp_counters_from_time())  # the current step is the middle one
    code = format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_activate_totp"), {"code": code})
    assert response.status_code == 302, re.findall(
        r'class="[^"]*invalid-feedback[^"]*"[^>]*>([^<]*)', response.content.decode()
    )
    assert Authenticator.objects.filter(user=partner_admin, type=Authenticator.Type.TOTP).exists()
    assert [n.title for n in notices.order_by("id")][2:] == [
        "A new two-factor authenticator was added to your account"
    ]

    # The settings page shows it locked: "Always sent".
    page = login(partner_admin).get(reverse("notification_settings")).content.decode()
    locked = re.search(
        r'<li class="list-group-item py-3" id="kind-accountmfa_changed">(.*?)</li>', page, re.S
    )
    assert locked and "Always sent" in locked.group(1) and "disabled" in locked.group(1)


def test_the_mfa_notice_is_in_the_users_language(
    german: dict, partner_admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    set_language(partner_admin, "de")
    TOTP.activate(partner_admin, generate_totp_secret())
    RecoveryCodes.activate(partner_admin)
    client = login(partner_admin, HTTP_ACCEPT_LANGUAGE="en")
    _recently_authenticated(client, partner_admin)
    with django_capture_on_commit_callbacks(execute=True):  # allauth signals after the commit
        response = client.post(reverse("mfa_generate_recovery_codes"))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_view_recovery_codes")
    notice = Notification.objects.get(recipient=partner_admin, kind="account.mfa_changed")
    assert notice.title == "Für Ihr Konto wurden neue Wiederherstellungscodes erstellt"


def test_the_users_language_costs_no_query(german: dict, partner_admin: User) -> None:
    """The middleware reads the user row the request loads anyway: a page costs the same queries
    with and without a language chosen."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        client = login(partner_admin, HTTP_ACCEPT_LANGUAGE="en")
        client.get(reverse("notifications"))  # warm the per-process caches (actor, navigation)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("notifications")).status_code == 200
        return len(captured)

    browser = queries()
    set_language(partner_admin, "de")
    assert queries() == browser


def test_an_invitation_goes_out_in_its_senders_language_subject_and_body_alike(
    german: dict, partner: Partner, partner_admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    """An address with no account has no language: the invitation speaks its sender's, and its
    body (rendered by the worker) the same language as its subject."""
    set_language(partner_admin, "de")
    with django_capture_on_commit_callbacks(execute=True):
        response = login(partner_admin).post(
            reverse("partners:team_invite"), {"email": "neu@acme.example", "role": "sales"}
        )
    assert response.status_code == 302
    (invitation,) = mail.outbox
    assert invitation.subject == "[PRM] Sie sind zum Partnerportal von Acme Networks eingeladen"
    assert invitation.body.startswith("Hallo")


def test_a_page_shows_money_in_the_readers_conventions(german: dict) -> None:
    from tests.deals import factories as deal_factories
    from tests.helpers import body_text

    team = deal_factories.team()
    deal = deal_factories.submitted(team.sales_actor)  # 2 x 500.00 USD
    url = reverse("deals:detail", args=[deal.pk])
    assert "1,000.00 USD" in body_text(login(team.sales).get(url))  # English keeps its look
    set_language(team.sales, "de")
    page = body_text(login(team.sales).get(url))
    assert "1.000,00\N{NO-BREAK SPACE}$" in page and "1,000.00 USD" not in page
    set_language(team.sales, "fr")
    assert "1\N{NARROW NO-BREAK SPACE}000,00\N{NO-BREAK SPACE}$US" in body_text(login(team.sales).get(url))


@time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)
def test_dates_and_amounts_in_a_notification_follow_each_readers_language(german: dict) -> None:
    """An English reviewer approves; the German marketer reads the amount and the deadline her way,
    and the same row still reads the English way in English."""
    from tests.mdf import factories as m

    team = m.team()
    set_language(team.marketing, "de")
    m.fund(team.partner, m.budget())
    fund_request = m.approved(team.marketing_actor, m.program_admin(), amount="4000.00")
    notice = Notification.objects.get(kind="mdf.request_approved", recipient=team.marketing)
    with translation.override("de"):
        deadline = date_format(fund_request.claim_deadline, "DATE_FORMAT")
    assert (
        notice.title
        == f"MDF-Antrag {fund_request.reference} genehmigt: 4.000,00 USD. Nachweis bis {deadline}."
    )
    with translation.override("en"):
        english = date_format(fund_request.claim_deadline, "DATE_FORMAT")
        assert notice.display_title == (
            f"MDF request {fund_request.reference} approved: 4,000.00 USD. Claim by {english}."
        )


def test_a_remembered_message_survives_pickling_and_plural_forms_render_per_reader(german: dict) -> None:
    import pickle

    from prm.i18n import localized_date, ngettext

    text = gettext("Your role is now %(role)s") % {"role": localized_date(date(2026, 3, 5))}
    again = pickle.loads(pickle.dumps(text))  # a cache or a broker may carry one
    assert again == "Your role is now March 5, 2026" and again.message == text.message
    with translation.override("de"):
        assert render_message(to_message(again), "") == "Ihre Rolle ist jetzt 5. März 2026"
    plural = ngettext("%(n)s attempt left", "%(n)s attempts left", 2) % {"n": 2}
    assert render_message(to_message(plural), "") == "2 attempts left"


def test_a_moment_in_a_notification_reads_in_each_readers_conventions(german: dict) -> None:
    """Times in messages came from strftime (English month names, one order): now each reader's
    format, the stored notification rendered again for another language."""
    from prm.i18n import localized_datetime

    moment = datetime(2026, 12, 6, 21, 5, tzinfo=UTC)
    with translation.override("de"):
        text = gettext("Your role is now %(role)s") % {"role": localized_datetime(moment)}
        assert "06.12.2026 21:05" in text
        assert "Dec" not in text
    with translation.override("fr"):
        assert "06/12/2026 21:05" in render_message(text.message, "")
    with translation.override("en"):
        assert "12/06/2026 9:05 p.m." in render_message(text.message, "")
