"""The user row every signed-in request reads (prm.auth_backends.AuthenticationBackend, issue 11):
one statement compiled once, the same user as the ORM's, and the same safety as Django's backend:
a deactivated user or a changed password ends the session at once."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import connection
from django.db.models.sql.compiler import SQLCompiler
from django.test import Client
from django.test.utils import CaptureQueriesContext

from partners.models import Partner, PartnerRole
from prm.auth_backends import AuthenticationBackend, LoadedUserState, loaded_state
from prm.models import User
from tests import factories
from tests.helpers import login

pytestmark = pytest.mark.django_db

BACKEND = "prm.auth_backends.AuthenticationBackend"
LOGIN_URL = "/accounts/login/"
PAGE = "/notifications/"  # any signed-in page


def signed_in_with_the_form(user: User) -> Client:
    """Signed in as a person is: allauth's login form, so the session stores what a sign-in stores."""
    client = Client()
    response = client.post(LOGIN_URL, {"login": user.email, "password": factories.PASSWORD})
    assert response.status_code == 302
    return client


def is_signed_in(client: Client, user: User) -> bool:
    response = client.get(PAGE)
    return response.status_code == 200 and response.wsgi_request.user.pk == user.pk


def field_values(user: User) -> dict[str, Any]:
    return {field.attname: getattr(user, field.attname) for field in User._meta.concrete_fields}


def test_it_comes_first_so_a_sign_in_stores_it_and_the_old_paths_stay_listed() -> None:
    assert settings.AUTHENTICATION_BACKENDS[0] == BACKEND
    assert "django.contrib.auth.backends.ModelBackend" in settings.AUTHENTICATION_BACKENDS
    assert "allauth.account.auth_backends.AuthenticationBackend" in settings.AUTHENTICATION_BACKENDS


def test_a_sign_in_through_allauth_stores_this_backend(partner_admin: User) -> None:
    client = signed_in_with_the_form(partner_admin)
    assert client.session[BACKEND_SESSION_KEY] == BACKEND
    assert is_signed_in(client, partner_admin)


def test_a_session_that_stored_django_s_backend_keeps_working(partner_admin: User) -> None:
    client = login(partner_admin)  # force_login with django.contrib.auth.backends.ModelBackend
    assert is_signed_in(client, partner_admin)


def test_a_deactivated_user_is_signed_out_at_once(partner: Partner, partner_admin: User) -> None:
    from partners import services

    sales = factories.partner_user(partner, role=PartnerRole.SALES, email="sam@acme.example")
    client = signed_in_with_the_form(sales)
    assert is_signed_in(client, sales)
    services.membership_deactivate(actor=factories.actor_for(partner_admin), membership=sales.membership)
    assert not User.objects.get(pk=sales.pk).is_active
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert AuthenticationBackend().get_user(sales.pk) is None


def test_a_password_change_ends_the_other_sessions(partner_admin: User) -> None:
    here = signed_in_with_the_form(partner_admin)
    elsewhere = signed_in_with_the_form(partner_admin)
    assert is_signed_in(elsewhere, partner_admin)
    new_password = "a-new-long-passphrase-42"
    response = here.post(
        "/accounts/password/change/",
        {"oldpassword": factories.PASSWORD, "password1": new_password, "password2": new_password},
    )
    assert response.status_code == 302
    partner_admin.refresh_from_db()
    assert partner_admin.check_password(new_password)
    assert is_signed_in(here, partner_admin)  # the session that changed it is kept (its new hash)
    response = elsewhere.get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert "_auth_user_id" not in elsewhere.session


def test_the_user_equals_the_orm_s(partner: Partner) -> None:
    user = factories.partner_user(
        partner,
        email="lea@acme.example",
        full_name="Léa Dupont",
        language="fr",
        notification_channels={"deal_approved": "in_app", "mdf_paid": "off"},
        notification_digest=True,
    )
    fast = AuthenticationBackend().get_user(user.pk)
    orm = User._default_manager.get(pk=user.pk)
    assert fast is not None
    assert field_values(fast) == field_values(orm)
    assert fast.notification_channels == {"deal_approved": "in_app", "mdf_paid": "off"}  # decoded JSON
    assert fast.get_deferred_fields() == set()  # a later save() writes every field, as the ORM's would
    assert fast._state.adding is False
    assert fast._state.db == orm._state.db
    assert fast.get_session_auth_hash() == orm.get_session_auth_hash()
    assert fast == orm


def test_a_vendor_user_equals_the_orm_s(program_admin: User) -> None:
    fast = AuthenticationBackend().get_user(program_admin.pk)
    assert fast is not None
    assert field_values(fast) == field_values(User._default_manager.get(pk=program_admin.pk))


def test_a_user_that_is_gone_is_none(partner_admin: User) -> None:
    assert AuthenticationBackend().get_user(partner_admin.pk + 10_000) is None


def test_one_statement_and_no_orm_compile(partner_admin: User) -> None:
    backend = AuthenticationBackend()
    backend.get_user(partner_admin.pk)  # compiles the statement for this connection, once
    with (
        mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("the ORM compiled a query")),
        CaptureQueriesContext(connection) as queries,
    ):
        user = backend.get_user(partner_admin.pk)
    assert user is not None and user.pk == partner_admin.pk
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert sql.startswith('SELECT "prm_user"."id", "prm_user"."password", ')
    assert sql.endswith(f'FROM "prm_user" WHERE "prm_user"."id" = {partner_admin.pk}')
    assert "ORDER BY" not in sql


def test_a_signed_in_request_reads_the_user_row_through_it(partner_admin: User, monkeypatch: Any) -> None:
    client = signed_in_with_the_form(partner_admin)
    calls: list[Any] = []
    original = AuthenticationBackend.get_user

    def spy(self: AuthenticationBackend, user_id: Any) -> User | None:
        calls.append(user_id)
        return original(self, user_id)

    monkeypatch.setattr(AuthenticationBackend, "get_user", spy)
    assert is_signed_in(client, partner_admin)
    assert calls == [partner_admin.pk]


def test_a_wrong_password_is_hashed_once_not_once_per_backend(rf: Any) -> None:
    """Django's and allauth's backends stay listed (older sessions name them), and they would check
    the same password again: the first backend's refusal ends it, so a wrong password costs the
    server one hash, as before this backend was added (not three)."""
    from django.contrib.auth import authenticate

    user = factories.partner_user()
    user.set_password("right horse battery")
    user.save()
    request = rf.post("/accounts/login/")
    checked = mock.patch.object(User, "check_password", autospec=True, side_effect=User.check_password)
    with checked as check_password:
        assert authenticate(request, email=user.email, password="wrong") is None
        assert authenticate(request, username=user.email, password="wrong") is None
    assert check_password.call_count == 2
    assert authenticate(request, email=user.email, password="right horse battery") == user


# --- What the row statement reads besides the row (prm.auth_backends.LoadedUserState) -------------
@pytest.mark.parametrize("totp", [True, False])
def test_the_row_carries_whether_vendor_staff_have_totp(totp: bool) -> None:
    vendor = factories.VendorUserFactory(email="mfa@prm.example", totp=totp)
    user = AuthenticationBackend().get_user(vendor.pk)
    assert loaded_state(user) == LoadedUserState(has_totp=totp)
    assert factories.has_totp(vendor) is totp


def test_a_partner_user_s_row_does_not_ask_about_totp(partner_admin: User) -> None:
    """The flag is read for vendor staff only (the MFA gate is theirs): None, not False, so
    nothing could take it for a missing authenticator."""
    assert loaded_state(AuthenticationBackend().get_user(partner_admin.pk)) == LoadedUserState(has_totp=None)


def test_a_user_the_orm_loads_has_no_loaded_state(program_admin: User) -> None:
    assert loaded_state(User.objects.get(pk=program_admin.pk)) is None


def test_an_authenticator_added_or_removed_drops_the_loaded_flag() -> None:
    from allauth.mfa.models import Authenticator
    from allauth.mfa.signals import authenticator_added, authenticator_removed

    vendor = factories.VendorUserFactory(email="mfa@prm.example", totp=False)
    for signal in (authenticator_added, authenticator_removed):
        user = AuthenticationBackend().get_user(vendor.pk)
        assert loaded_state(user) == LoadedUserState(has_totp=False)
        signal.send(sender=Authenticator, request=None, user=user, authenticator=None)
        assert loaded_state(user) is None


# --- Whether vendor staff hold permissions of their own (ModelBackend's reads) -------------------
ADMIN_PAGE = "/admin/mdf/fundrequest/"
# How ModelBackend's reads of a user's own and group permissions begin.
MODEL_BACKEND_READ = 'SELECT "django_content_type"."app_label" AS "content_type__app_label", "auth_'
# A permission no vendor role gives (VendorRoleBackend): only ModelBackend can grant it.
OWN_PERMISSION = ("auth", "change_group")


def own_permission() -> Any:
    from django.contrib.auth.models import Permission

    app_label, codename = OWN_PERMISSION
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def granted(user: User) -> User:
    """``user`` as a signed-in request loads it (this backend's row statement)."""
    loaded = AuthenticationBackend().get_user(user.pk)
    assert loaded is not None
    return loaded


def test_a_vendor_user_s_direct_permission_is_still_granted(channel_manager: User) -> None:
    channel_manager.user_permissions.add(own_permission())
    user = granted(channel_manager)
    assert user.has_perm("auth.change_group")
    assert user.has_perm("mdf.view_fundrequest")  # the role's
    assert not user.has_perm("auth.delete_group")


def test_a_vendor_user_s_group_permission_is_still_granted(channel_manager: User) -> None:
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="Group editors")
    group.permissions.add(own_permission())
    channel_manager.groups.add(group)
    user = granted(channel_manager)
    assert user.has_perm("auth.change_group")
    assert "auth.change_group" in user.get_group_permissions()
    assert not user.has_perm("auth.delete_group")


def test_a_vendor_user_without_own_permissions_gets_the_same_answers_without_a_statement(
    channel_manager: User,
) -> None:
    orm = User.objects.get(pk=channel_manager.pk)
    user = granted(channel_manager)
    asked = ["auth.change_group", "mdf.view_fundrequest", "mdf.change_fundrequest", "mdf.delete_fundrequest"]
    with CaptureQueriesContext(connection) as queries:
        answers = [user.has_perm(perm) for perm in asked]
        everything = user.get_all_permissions()
        modules = [user.has_module_perms(label) for label in ("auth", "mdf")]
    assert len(queries) == 0
    assert answers == [orm.has_perm(perm) for perm in asked] == [False, True, True, False]
    assert everything == orm.get_all_permissions()
    assert modules == [orm.has_module_perms(label) for label in ("auth", "mdf")]


def test_a_partner_user_s_permissions_are_read_as_django_reads_them(partner_admin: User) -> None:
    """Not vendor staff: the row statement does not ask, ModelBackend reads (none here)."""
    user = granted(partner_admin)
    with CaptureQueriesContext(connection) as queries:
        assert not user.has_perm("auth.change_group")
    assert len(queries) == 2


def test_a_vendor_superuser_keeps_every_permission(channel_manager: User) -> None:
    channel_manager.is_superuser = True
    channel_manager.save(update_fields=["is_superuser"])
    user = granted(channel_manager)
    assert user.has_perm("auth.change_group")
    assert "auth.change_group" in user.get_all_permissions()


@pytest.mark.parametrize("role", ["program_admin", "channel_manager"])
def test_an_admin_page_sends_two_statements_fewer_for_vendor_staff_without_own_permissions(
    role: str, request: Any
) -> None:
    from django.contrib.auth.models import Group

    user = request.getfixturevalue(role)
    client = Client()
    client.force_login(user, backend=BACKEND)

    def page_statements() -> list[str]:
        assert client.get(ADMIN_PAGE).status_code == 200  # the page's frame kept (fast_changelist)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(ADMIN_PAGE).status_code == 200
        return [query["sql"] for query in queries]

    without = page_statements()
    assert not [sql for sql in without if sql.startswith(MODEL_BACKEND_READ)]
    # Any group, even one that grants nothing: ModelBackend reads both, as Django does.
    user.groups.add(Group.objects.create(name="Nothing granted"))
    with_group = page_statements()
    assert len([sql for sql in with_group if sql.startswith(MODEL_BACKEND_READ)]) == 2
    assert len(with_group) == len(without) + 2
